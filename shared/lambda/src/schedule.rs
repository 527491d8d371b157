//! Scheduled work — the failover sweep (every minute) and the weekly audit — and its metrics.
//!
//! EventBridge Scheduler invokes both with an `Input` shaped like an EventBridge event
//! (`{"version":"0","id":…,"detail-type":"Scheduled Event","source":"aws.scheduler","time":…,
//! "detail":{}}`); [`scheduled_event`] also takes anything else (a misconfigured `{}`) as "now".
//!
//! The audit ([`audit`]) computes the week's report with the week before as its trend, logs it,
//! and [`publish_audit`] writes the same JSON and HTML page to the stack's report bucket
//! (`audits/<yyyy-mm-dd>/report.json`, `…/report.html`) and posts a short summary with a link
//! to Slack when the rules have `[notify.slack]` and a channel is configured. Its variables
//! ([`AuditPublishing`]):
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `HANDOFF_AUDIT_BUCKET` | the bucket the reports are written to | unset: the report is only logged |
//! | `HANDOFF_AUDIT_SLACK_CHANNEL` | where the summary goes (`#sales-leads`, a channel id) | unset: no Slack post |
//! | `HANDOFF_SECRETS_PREFIX` | Secrets Manager prefix of the Slack bot token (`<prefix>slack_bot_token`) | unset: no Slack post |

use crate::env::Vars;
use crate::metrics::Metric;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use handoff_aws::calls::Clients;
use handoff_aws::s3::{console_url, report_key, s3_client, ReportBucket, S3Calls, LINK_LIFETIME};
use handoff_aws::SecretsManagerSource;
use handoff_connectors::outbound::http::HttpPolicy;
use handoff_connectors::outbound::slack::{escape_mrkdwn, SlackNotifier};
use handoff_connectors::secrets::SecretSource;
use handoff_domain::audit::gather::audit_report;
use handoff_domain::audit::AuditReport;
use handoff_domain::service::sweep::SweepReport;
use handoff_domain::service::{ServiceError, Services};
use handoff_report::audit::{audit_page, figure_text, AuditLinks};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Due handoffs fetched per page.
pub const SWEEP_PAGE: usize = 200;
/// Failovers run at once.
pub const SWEEP_CONCURRENCY: usize = 16;

/// Time kept in reserve before the invocation's deadline: no new page starts after it.
pub const SWEEP_MARGIN: Duration = Duration::from_secs(10);

/// The scheduled event in a scheduled invocation's input. Input that is not an EventBridge
/// event (Scheduler sends the target's `Input` as is, `{}` when misconfigured) gives an event
/// without a time — the work then runs as of now — keeping `time` if it has a valid one.
pub fn scheduled_event(input: Value) -> EventBridgeEvent {
    if let Ok(event) = serde_json::from_value::<EventBridgeEvent>(input.clone()) {
        return event;
    }
    tracing::warn!("the scheduled input is not an EventBridge event; running as of now");
    let text = |key: &str| input.get(key).and_then(Value::as_str).map(str::to_string);
    let mut event = EventBridgeEvent::default();
    event.time = input
        .get("time")
        .and_then(|t| serde_json::from_value(t.clone()).ok());
    event.detail_type = text("detail-type").unwrap_or_else(|| "Scheduled Event".into());
    event.source = text("source").unwrap_or_default();
    event
}

/// Runs one failover sweep for a scheduled event, starting new pages only until `deadline`
/// minus [`SWEEP_MARGIN`]; what is left stays due for the next scheduled run.
pub async fn sweep(
    services: &Services,
    event: &EventBridgeEvent,
    deadline: Option<Instant>,
) -> Result<SweepReport, ServiceError> {
    tracing::info!(detail_type = %event.detail_type, source = %event.source, "failover sweep started");
    let stop_at = deadline.map(|d| d.checked_sub(SWEEP_MARGIN).unwrap_or(d));
    let keep_going = move || stop_at.is_none_or(|t| Instant::now() < t);
    let report = services
        .sweep_while(SWEEP_PAGE, SWEEP_CONCURRENCY, &keep_going)
        .await?;
    tracing::info!(
        due = report.due,
        rerouted = report.rerouted,
        escalated = report.escalated,
        redriven = report.redriven,
        skipped = report.skipped,
        failed = report.failed,
        items_read = report.items_read,
        stopped_early = report.stopped_early,
        "failover sweep finished"
    );
    log_failures(&report);
    Ok(report)
}

/// One warning per handoff the sweep could not fail over, with the cause (ids and reasons only).
pub fn log_failures(report: &SweepReport) {
    for f in &report.failures {
        tracing::warn!(handoff_id = %f.handoff_id, fault = f.fault, error = %f.error, "failover or re-drive failed; the handoff stays due");
    }
    if report.failed > report.failures.len() {
        tracing::warn!(
            more = report.failed - report.failures.len(),
            "more failovers failed than are listed"
        );
    }
}

/// The sweep's metrics, all with the dimension set `[["stage"]]` (the template's alarms on
/// `SlaBreaches` and `FailoverFailures` use exactly that set).
///
/// `SlaBreaches` counts the handoffs this sweep found past their SLA deadline while unclaimed:
/// the due index's hits (`due`) less those found claimed or moved on re-reading (`skipped`: the
/// index lagged a claim or a concurrent sweep) and those due because the pipeline still owed
/// them a stage (`StageRedrives`: a failed enqueue, a lost or dead-lettered message, re-driven). A handoff that was failed over gets a new SLA, so each
/// missed deadline counts once; one whose failover fails stays due and counts again on the next
/// sweep (that is what `FailoverFailures` alarms on).
pub fn sweep_metrics(report: &SweepReport) -> Vec<Metric> {
    vec![
        Metric::count("DueHandoffs", report.due),
        Metric::count(
            "SlaBreaches",
            report
                .due
                .saturating_sub(report.skipped)
                .saturating_sub(report.redriven),
        ),
        Metric::count("StageRedrives", report.redriven),
        Metric::count("Failovers", report.rerouted + report.escalated),
        Metric::count("Escalations", report.escalated),
        Metric::count("FailoverFailures", report.failed),
        Metric::count("SweepItemsRead", report.items_read),
    ]
}

/// The audited window: the week before the event's time (now when it has none).
pub fn audit_window(
    event: &EventBridgeEvent,
    now: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let to = event.time.unwrap_or(now);
    (to - chrono::Duration::days(7), to)
}

/// Computes the audit of the week before the event's time — with the week before that as the
/// trend, the reps' names and caps from the current rules — and logs it (ids only): the whole
/// report as JSON, so the log line also carries the breakdowns (per reply class, rep, rule,
/// source, trigger) that [`audit_metrics`] does not turn into metrics.
pub async fn audit(
    services: &Services,
    event: &EventBridgeEvent,
) -> Result<AuditReport, ServiceError> {
    let (from, to) = audit_window(event, services.clock.now());
    let rules = match services.rules.current().await {
        Ok(rules) => Some(rules),
        Err(e) => {
            tracing::warn!(error = %e, "no rules to name reps and caps in the audit");
            None
        }
    };
    let report = audit_report(services.store.as_ref(), rules.as_deref(), from, to).await?;
    tracing::info!(metrics = %serde_json::to_string(&report).unwrap_or_default(), "weekly handoff audit");
    Ok(report)
}

/// Where the audit goes besides the log, from the audit function's variables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditPublishing {
    /// `HANDOFF_AUDIT_BUCKET`.
    pub bucket: Option<String>,
    /// `HANDOFF_AUDIT_SLACK_CHANNEL`.
    pub slack_channel: Option<String>,
    /// `HANDOFF_SECRETS_PREFIX` (the Slack bot token is `<prefix>slack_bot_token`).
    pub secrets_prefix: Option<String>,
}

impl AuditPublishing {
    /// Reads the variables (all optional).
    pub fn from_vars(vars: &Vars<'_>) -> Self {
        Self {
            bucket: vars.get("HANDOFF_AUDIT_BUCKET"),
            slack_channel: vars.get("HANDOFF_AUDIT_SLACK_CHANNEL"),
            secrets_prefix: vars.get("HANDOFF_SECRETS_PREFIX"),
        }
    }

    /// The bucket and the Slack summary's channel and token source, built once per cold start
    /// on `clients` (`s3_calls`: where the S3 client records its calls, for the IAM check).
    pub fn outputs(&self, clients: &Clients, s3_calls: Option<S3Calls>) -> AuditOutputs {
        let bucket = self.bucket.as_ref().map(|name| {
            ReportBucket::new(
                s3_client(clients.sdk(), s3_calls.clone()),
                name,
                s3_calls.clone(),
            )
        });
        let slack = match (&self.slack_channel, &self.secrets_prefix) {
            (Some(channel), Some(prefix)) => Some((
                channel.clone(),
                Arc::new(SecretsManagerSource::new(clients.secretsmanager(), prefix))
                    as Arc<dyn SecretSource>,
            )),
            _ => None,
        };
        AuditOutputs {
            bucket,
            slack,
            region: clients
                .sdk()
                .region()
                .map_or_else(|| "us-east-1".to_string(), |r| r.to_string()),
        }
    }
}

/// Where [`publish_audit`] writes and posts.
#[derive(Clone)]
pub struct AuditOutputs {
    pub bucket: Option<ReportBucket>,
    /// The channel and where its bot token is read.
    pub slack: Option<(String, Arc<dyn SecretSource>)>,
    /// The region, for the S3 console link.
    pub region: String,
}

impl std::fmt::Debug for AuditOutputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditOutputs")
            .field("bucket", &self.bucket.as_ref().map(ReportBucket::name))
            .field("slack_channel", &self.slack.as_ref().map(|s| &s.0))
            .field("region", &self.region)
            .finish()
    }
}

/// What [`publish_audit`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Published {
    /// The keys written (JSON, then HTML).
    pub keys: Vec<String>,
    /// The Slack message's receipt (`slack:<channel>:<ts>`).
    pub slack: Option<String>,
}

/// Writes the report's JSON and page to the bucket (when there is one), then posts the summary
/// to Slack (when the rules have `[notify.slack]` and a channel is configured).
///
/// A failed write fails the run (the scheduler retries it; the same keys are written again). A
/// failed Slack post is logged and counted ([`publish_metrics`]) but does not fail the run: the
/// report is safe in the bucket, and a retry would write it again and post twice.
pub async fn publish_audit(
    services: &Services,
    report: &AuditReport,
    outputs: &AuditOutputs,
) -> Result<Published, ServiceError> {
    let mut published = Published::default();
    let mut link = None;
    let mut console = None;
    if let Some(bucket) = &outputs.bucket {
        let json_key = report_key(report.to, "report.json");
        let html_key = report_key(report.to, "report.html");
        let json = serde_json::to_string_pretty(report)
            .map_err(|e| ServiceError::Permanent(format!("cannot encode the audit: {e}")))?;
        let page = audit_page(report, &AuditLinks::default());
        for (key, body, content_type) in [
            (&json_key, json, "application/json"),
            (&html_key, page, "text/html; charset=utf-8"),
        ] {
            bucket
                .put(key, body, content_type)
                .await
                .map_err(|e| ServiceError::Transient(e.to_string()))?;
            published.keys.push(key.clone());
        }
        tracing::info!(bucket = bucket.name(), keys = ?published.keys, "audit report written");
        match bucket.link(&html_key).await {
            Ok(url) => link = Some(url),
            Err(e) => tracing::warn!(error = %e, "no link to the audit report"),
        }
        console = Some(console_url(&outputs.region, bucket.name(), &html_key));
    }
    let Some((channel, secrets)) = &outputs.slack else {
        return Ok(published);
    };
    let settings = match services.rules.current().await {
        Ok(rules) => rules.notify.slack.clone(),
        Err(e) => {
            tracing::warn!(error = %e, "no rules: the audit summary is not posted");
            None
        }
    };
    let Some(settings) = settings else {
        tracing::info!("the rules have no [notify.slack]: the audit summary is not posted");
        return Ok(published);
    };
    let text = audit_summary(report, link.as_deref(), console.as_deref());
    let posted = match SlackNotifier::new(settings, secrets.clone(), HttpPolicy::default()) {
        Ok(slack) => slack.post_message(channel, &text, &[]).await,
        Err(e) => Err(e),
    };
    match posted {
        Ok(p) => published.slack = Some(p.receipt()),
        Err(e) => {
            tracing::error!(error = %e, channel = %channel, "the audit summary could not be posted to Slack")
        }
    }
    Ok(published)
}

/// The Slack summary (mrkdwn): the period, the headline figures inbound and outbound, the
/// cases to read, and the links.
pub fn audit_summary(report: &AuditReport, link: Option<&str>, console: Option<&str>) -> String {
    let day = |t: DateTime<Utc>| t.format("%-d %b %Y").to_string();
    let rate = |v: Option<f64>| figure_text("acceptance_rate", v);
    let (i, o) = (&report.inbound, &report.outbound);
    let handoffs = |n: usize| match n {
        1 => "1 handoff".to_string(),
        n => format!("{n} handoffs"),
    };
    let cases = match report.messy_cases.len() {
        0 => "No case to read by hand".to_string(),
        1 => "1 case to read by hand".to_string(),
        n => format!("{n} cases to read by hand"),
    };
    let mut text = format!(
        "*Weekly handoff audit*, {} to {}: {} ({} inbound, {} outbound).\n\
         Acceptance: {} inbound, {} outbound. Median time to first human action: {} inbound, {} outbound.\n\
         Wrong owner {}, re-qualification {}, SLA missed {}, no follow-up {}, CRM completeness {}, no-shows {}.\n\
         {cases}.",
        day(report.from),
        day(report.to),
        handoffs(report.handoffs),
        i.handoffs,
        o.handoffs,
        rate(i.acceptance_rate),
        rate(o.acceptance_rate),
        figure_text("p50", i.time_to_first_human_action.p50),
        figure_text("p50", o.time_to_first_human_action.p50),
        rate(report.wrong_owner_rate),
        rate(report.requalification_rate),
        rate(report.sla_miss_rate),
        rate(report.no_follow_up_rate),
        rate(report.crm_field_completeness),
        rate(report.no_show_rate),
    );
    if let Some(url) = link {
        text.push_str(&format!(
            "\n<{}|Open the report> (the link works for up to {} hours)",
            escape_mrkdwn(url),
            LINK_LIFETIME.as_secs() / 3600
        ));
    }
    if let Some(url) = console {
        text.push_str(&format!(
            "\n<{}|The report in the S3 console> (AWS login)",
            escape_mrkdwn(url)
        ));
    }
    text
}

/// The audit run's publishing metrics: `AuditReportsWritten` (0 or 1) and, when a summary
/// channel is configured, `AuditSummaryFailures` (1 when nothing was posted there).
pub fn publish_metrics(published: &Published, outputs: &AuditOutputs) -> Vec<Metric> {
    let mut v = vec![Metric::count(
        "AuditReportsWritten",
        usize::from(!published.keys.is_empty()),
    )];
    if outputs.slack.is_some() {
        v.push(Metric::count(
            "AuditSummaryFailures",
            usize::from(published.slack.is_none()),
        ));
    }
    v
}

/// The audit's metrics (`[["stage"]]`); a rate without data (no handoffs to compute it on) is
/// left out rather than reported as 0.
///
/// The re-qualification rate per reply class is not a metric: a breakdown ([`Metric::by`]) also
/// feeds its value into the stage-only series of the same name, which suits counts (they add
/// up) but would average each class's rate into `RequalificationRate`. It is in the logged
/// report instead (see [`audit`]).
pub fn audit_metrics(report: &AuditReport) -> Vec<Metric> {
    let percent = |name, v: Option<f64>| v.map(|v| Metric::new(name, v * 100.0, "Percent"));
    [
        Some(Metric::count("AuditsCompleted", 1)),
        Some(Metric::count("Handoffs", report.handoffs)),
        percent("AcceptanceRate", report.acceptance_rate),
        percent("WrongOwnerRate", report.wrong_owner_rate),
        percent("RequalificationRate", report.requalification_rate),
        percent("CrmFieldCompleteness", report.crm_field_completeness),
        percent("NoShowRate", report.no_show_rate),
        percent("NoFollowUpRate", report.no_follow_up_rate),
        report
            .median_minutes_to_first_human_action
            .map(|m| Metric::new("MedianMinutesToFirstHumanAction", m, "None")),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::documents;
    use crate::metrics::tests::declared;
    use serde_json::json;

    const SCHEDULER_INPUT: &str = r#"{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"Scheduled Event","source":"aws.scheduler","account":"123456789012","time":"2026-11-23T07:00:00Z","region":"us-east-1","resources":["arn:aws:scheduler:us-east-1:123456789012:schedule/default/handoff-prod-audit"],"detail":{}}"#;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn the_scheduler_input_is_an_eventbridge_event_and_the_audit_ends_at_its_time() {
        let typed: EventBridgeEvent = serde_json::from_str(SCHEDULER_INPUT).unwrap();
        assert_eq!(typed.detail_type, "Scheduled Event");
        assert_eq!(typed.source, "aws.scheduler");
        let event = scheduled_event(serde_json::from_str(SCHEDULER_INPUT).unwrap());
        assert_eq!(event, typed);
        let (from, to) = audit_window(&event, at("2030-01-01T00:00:00Z"));
        assert_eq!(to, at("2026-11-23T07:00:00Z"));
        assert_eq!(from, at("2026-11-16T07:00:00Z"));
    }

    #[test]
    fn other_input_runs_as_of_now() {
        let now = at("2026-11-24T08:30:00Z");
        let event = scheduled_event(json!({}));
        assert_eq!(event.time, None);
        assert_eq!(event.detail_type, "Scheduled Event");
        assert_eq!(audit_window(&event, now).1, now);
        let event = scheduled_event(json!({"time": "2026-11-23T07:00:00Z"}));
        assert_eq!(audit_window(&event, now).1, at("2026-11-23T07:00:00Z"));
        let event = scheduled_event(json!("not an object"));
        assert_eq!(audit_window(&event, now).1, now);
    }

    #[test]
    fn sweep_metrics_match_the_report_with_the_stage_only_set() {
        let report = SweepReport {
            due: 5,
            rerouted: 2,
            escalated: 1,
            redriven: 0,
            skipped: 1,
            failed: 1,
            failures: Vec::new(),
            items_read: 7,
            pages: 1,
            stopped_early: false,
        };
        let docs = documents(
            "handoff-failover",
            "prod",
            &sweep_metrics(&report),
            Utc::now(),
            "INFO",
        );
        assert_eq!(docs.len(), 1);
        let declared = declared(&docs[0]);
        for (_, _, sets) in &declared {
            assert_eq!(*sets, json!([["stage"]]));
        }
        let value = |n: &str| declared.iter().find(|d| d.0 == n).unwrap().1;
        assert_eq!(value("DueHandoffs"), 5.0);
        assert_eq!(value("SlaBreaches"), 4.0);
        assert_eq!(value("Failovers"), 3.0);
        assert_eq!(value("Escalations"), 1.0);
        assert_eq!(value("FailoverFailures"), 1.0);
        assert_eq!(value("SweepItemsRead"), 7.0);
    }

    #[test]
    fn audit_metrics_leave_out_rates_without_data() {
        let empty =
            AuditReport::compute(at("2026-11-16T07:00:00Z"), at("2026-11-23T07:00:00Z"), &[]);
        let names: Vec<&str> = audit_metrics(&empty).iter().map(|m| m.name).collect();
        assert_eq!(names, ["AuditsCompleted", "Handoffs"]);
    }

    #[test]
    fn the_slack_summary_reads_as_prose_with_both_links() {
        let mut report =
            AuditReport::compute(at("2026-11-16T07:00:00Z"), at("2026-11-23T07:00:00Z"), &[]);
        report.handoffs = 1;
        report.inbound.handoffs = 1;
        report.inbound.acceptance_rate = Some(2.0 / 3.0);
        report.inbound.time_to_first_human_action.p50 = Some(95.0);
        report.wrong_owner_rate = Some(0.25);
        let text = audit_summary(
            &report,
            Some(
                "https://b.s3.amazonaws.com/audits/x.html?X-Amz-Expires=43200&X-Amz-Signature=a<b",
            ),
            Some("https://console.example/s3?region=r&prefix=p"),
        );
        assert!(
            text.starts_with("*Weekly handoff audit*, 16 Nov 2026 to 23 Nov 2026: 1 handoff (1 inbound, 0 outbound)."),
            "{text}"
        );
        assert!(
            text.contains("Acceptance: 66.7 % inbound, — outbound."),
            "{text}"
        );
        assert!(
            text.contains("Median time to first human action: 1.6 h inbound"),
            "{text}"
        );
        assert!(text.contains("Wrong owner 25.0 %"), "{text}");
        assert!(text.contains("No case to read by hand."), "{text}");
        // Slack's mrkdwn: & and < escaped inside the link, one link per line.
        assert!(
            text.contains("<https://b.s3.amazonaws.com/audits/x.html?X-Amz-Expires=43200&amp;X-Amz-Signature=a&lt;b|Open the report> (the link works for up to 12 hours)"),
            "{text}"
        );
        assert!(
            text.contains("|The report in the S3 console> (AWS login)"),
            "{text}"
        );
        assert!(!text.contains("Some(") && !text.contains("None"), "{text}");
    }

    #[test]
    fn audit_publishing_reads_its_variables_and_nothing_is_required() {
        let none = AuditPublishing::from_vars(&Vars::from_fn(|_| None));
        assert_eq!(none, AuditPublishing::default());
        let all = AuditPublishing::from_vars(&Vars::from_fn(|name| {
            Some(match name {
                "HANDOFF_AUDIT_BUCKET" => "reports".to_string(),
                "HANDOFF_AUDIT_SLACK_CHANNEL" => "#sales-leads".to_string(),
                "HANDOFF_SECRETS_PREFIX" => "handoff-prod/providers/".to_string(),
                _ => return None,
            })
        }));
        assert_eq!(all.bucket.as_deref(), Some("reports"));
        assert_eq!(all.slack_channel.as_deref(), Some("#sales-leads"));
        assert_eq!(
            all.secrets_prefix.as_deref(),
            Some("handoff-prod/providers/")
        );
    }

    #[test]
    fn the_reply_class_breakdown_is_logged_not_a_metric() {
        use handoff_domain::audit::ReplyClassRequalification;
        use handoff_domain::package::ReplyClass;
        let mut report =
            AuditReport::compute(at("2026-11-16T07:00:00Z"), at("2026-11-23T07:00:00Z"), &[]);
        report.owned = 4;
        report.requalification_rate = Some(0.25);
        report.requalification_by_reply_class = [(
            ReplyClass::Positive,
            ReplyClassRequalification {
                owned: 4,
                requalified: 1,
                rate: 0.25,
            },
        )]
        .into();
        // What `audit` logs and the function returns.
        let logged = serde_json::to_value(&report).unwrap();
        assert_eq!(
            logged["requalification_by_reply_class"],
            json!({"positive": {"owned": 4, "requalified": 1, "rate": 0.25}})
        );
        // One stage-wide RequalificationRate, no breakdown dimension.
        let metrics = audit_metrics(&report);
        assert!(metrics.iter().all(|m| m.by.is_none()), "{metrics:?}");
        let rates: Vec<f64> = metrics
            .iter()
            .filter(|m| m.name == "RequalificationRate")
            .map(|m| m.value)
            .collect();
        assert_eq!(rates, [25.0]);
    }
}
