//! Reads a period's handoffs and timelines through the store port and computes the report, with
//! the period before it for the trend — what `handoff audit` (local or `--table`) and the audit
//! function run.

use super::{AuditInput, AuditReport};
use crate::config::Rules;
use crate::lifecycle::{HandoffRecord, TimelineEntry};
use crate::ports::{HandoffStore, StoreError};
use chrono::{DateTime, Utc};

/// The handoffs created in `[from, to)` with their timelines.
pub async fn handoffs_between(
    store: &dyn HandoffStore,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(HandoffRecord, Vec<TimelineEntry>)>, StoreError> {
    let records = store.created_between(from, to).await?;
    let mut out = Vec::with_capacity(records.len());
    for r in records {
        let t = store.timeline(&r.id).await?;
        out.push((r, t));
    }
    Ok(out)
}

/// The report over `[from, to)`, its trend over the period of the same length just before, and
/// the per-rep caps and rule names of `rules`.
pub async fn audit_report(
    store: &dyn HandoffStore,
    rules: Option<&Rules>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<AuditReport, StoreError> {
    let handoffs = handoffs_between(store, from, to).await?;
    let previous = handoffs_between(store, from - (to - from), from).await?;
    Ok(AuditReport::build(AuditInput {
        from,
        to,
        handoffs: &handoffs,
        previous: Some(&previous),
        rules,
    }))
}
