//! Scheduled work — the failover sweep (every minute) and the weekly audit — and its metrics.
//!
//! EventBridge Scheduler invokes both with an `Input` shaped like an EventBridge event
//! (`{"version":"0","id":…,"detail-type":"Scheduled Event","source":"aws.scheduler","time":…,
//! "detail":{}}`); [`scheduled_event`] also takes anything else (a misconfigured `{}`) as "now".

use crate::metrics::Metric;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use handoff_domain::audit::AuditReport;
use handoff_domain::service::sweep::SweepReport;
use handoff_domain::service::{ServiceError, Services};
use serde_json::Value;
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

/// Computes the audit of the week before the event's time and logs the metrics (ids only) —
/// the whole report as JSON, so the log line also carries the per-reply-class re-qualification
/// breakdown (`requalification_by_reply_class`) that [`audit_metrics`] does not turn into metrics.
pub async fn audit(
    services: &Services,
    event: &EventBridgeEvent,
) -> Result<AuditReport, ServiceError> {
    let (from, to) = audit_window(event, services.clock.now());
    let report = services.audit(from, to).await?;
    tracing::info!(metrics = %serde_json::to_string(&report).unwrap_or_default(), "weekly handoff audit");
    Ok(report)
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
