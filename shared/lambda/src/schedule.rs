//! EventBridge-scheduled work: the failover sweep (every minute) and the weekly audit.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use handoff_domain::audit::AuditReport;
use handoff_domain::service::sweep::SweepReport;
use handoff_domain::service::{ServiceError, Services};
use std::time::{Duration, Instant};

/// Due handoffs fetched per page.
pub const SWEEP_PAGE: usize = 200;
/// Failovers run at once.
pub const SWEEP_CONCURRENCY: usize = 16;

/// Time kept in reserve before the invocation's deadline: no new page starts after it.
pub const SWEEP_MARGIN: Duration = Duration::from_secs(10);

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
        skipped = report.skipped,
        failed = report.failed,
        items_read = report.items_read,
        stopped_early = report.stopped_early,
        "failover sweep finished"
    );
    crate::metrics::emit(
        "handoff-failover",
        &[
            ("DueHandoffs", report.due as f64, "Count"),
            ("Rerouted", report.rerouted as f64, "Count"),
            ("Escalated", report.escalated as f64, "Count"),
            ("FailoverFailures", report.failed as f64, "Count"),
            ("SweepItemsRead", report.items_read as f64, "Count"),
        ],
    );
    Ok(report)
}

/// Computes the audit of the week before the event's time and logs the metrics (ids only).
pub async fn audit(
    services: &Services,
    event: &EventBridgeEvent,
) -> Result<AuditReport, ServiceError> {
    let to = event.time.unwrap_or_else(|| services.clock.now());
    let report = services.audit(to - chrono::Duration::days(7), to).await?;
    tracing::info!(metrics = %serde_json::to_string(&report).unwrap_or_default(), "weekly handoff audit");
    let rate = |v: Option<f64>| v.unwrap_or(0.0) * 100.0;
    crate::metrics::emit(
        "handoff-audit",
        &[
            ("Handoffs", report.handoffs as f64, "Count"),
            ("AcceptanceRate", rate(report.acceptance_rate), "Percent"),
            ("WrongOwnerRate", rate(report.wrong_owner_rate), "Percent"),
            (
                "RequalificationRate",
                rate(report.requalification_rate),
                "Percent",
            ),
            (
                "CrmFieldCompleteness",
                rate(report.crm_field_completeness),
                "Percent",
            ),
            ("NoShowRate", rate(report.no_show_rate), "Percent"),
            ("NoFollowUpRate", rate(report.no_follow_up_rate), "Percent"),
            (
                "MedianMinutesToFirstHumanAction",
                report.median_minutes_to_first_human_action.unwrap_or(0.0),
                "None",
            ),
        ],
    );
    Ok(report)
}
