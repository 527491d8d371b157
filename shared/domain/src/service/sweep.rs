//! The failover sweep: reroute every handoff whose SLA passed while unclaimed, and re-drive
//! every handoff the pipeline still owes a stage past that stage's deadline (a failed enqueue
//! after a save, a crash between a write and its enqueue, a lost or dead-lettered message):
//! the record is marked `redriven` with a later deadline, then the stage message is sent again,
//! which the stages absorb if the original turns up after all. A handoff whose failover or
//! re-drive fails stays due for the next sweep; the report says which and why.

use super::reassign::OwnerChange;
use super::stages::system;
use super::{ServiceError, Services};
use crate::ids::HandoffId;
use crate::lifecycle::{HandoffRecord, RerouteReason};
use crate::ports::StageMessage;
use futures_util::stream::{self, StreamExt};
use serde::Serialize;

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Due handoffs found.
    pub due: usize,
    /// Moved to another rep.
    pub rerouted: usize,
    /// Sent to a team lead or the shared queue.
    pub escalated: usize,
    /// Owed a stage past its deadline: the stage message was sent again.
    #[serde(default)]
    pub redriven: usize,
    /// Found already claimed or moved by someone else.
    pub skipped: usize,
    /// Failed (left due; the next sweep retries them).
    pub failed: usize,
    /// Why they failed, one entry per failure up to [`MAX_FAILURES_KEPT`] (the count is in
    /// `failed`): the binaries log each one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<SweepFailure>,
    /// Stored items read by the due queries.
    pub items_read: usize,
    pub pages: usize,
    /// True when the sweep stopped before the last page because its time budget ran out
    /// (what is left stays due and the next scheduled sweep takes it).
    pub stopped_early: bool,
}

/// How many failure causes one sweep report keeps.
pub const MAX_FAILURES_KEPT: usize = 20;

/// One due handoff the sweep could not fail over, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SweepFailure {
    pub handoff_id: HandoffId,
    /// `transient` (the next sweep will likely succeed) or `permanent`.
    pub fault: &'static str,
    /// The error, as the service reported it (ids and reasons, no buyer data).
    pub error: String,
}

/// What happened to one due handoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailoverOutcome {
    Rerouted,
    Escalated,
    /// The pipeline still owed the handoff a stage past its deadline: it was sent again (the
    /// sweep only).
    Redriven,
    Skipped,
}

impl Services {
    /// Sweeps due handoffs page by page (`page_size` each), failing over up to `concurrency` at once.
    pub async fn sweep(
        &self,
        page_size: usize,
        concurrency: usize,
    ) -> Result<SweepReport, ServiceError> {
        self.sweep_while(page_size, concurrency, &|| true).await
    }

    /// Like [`Services::sweep`], but starts another page only while `keep_going()` says so
    /// (a Lambda passes "more than a safety margin left before my deadline").
    pub async fn sweep_while(
        &self,
        page_size: usize,
        concurrency: usize,
        keep_going: &(dyn Fn() -> bool + Sync),
    ) -> Result<SweepReport, ServiceError> {
        let now = self.clock.now();
        let mut report = SweepReport::default();
        let mut cursor = None;
        loop {
            if !keep_going() {
                report.stopped_early = true;
                break;
            }
            let page = self.store.due(now, page_size, cursor).await?;
            report.pages += 1;
            report.items_read += page.items_read;
            report.due += page.items.len();
            let outcomes: Vec<_> = stream::iter(page.items)
                .map(|due| async move {
                    let outcome = self.sweep_one(&due.id).await;
                    (due.id, outcome)
                })
                .buffer_unordered(concurrency.max(1))
                .collect()
                .await;
            for (id, outcome) in outcomes {
                match outcome {
                    Ok(FailoverOutcome::Rerouted) => report.rerouted += 1,
                    Ok(FailoverOutcome::Escalated) => report.escalated += 1,
                    Ok(FailoverOutcome::Redriven) => report.redriven += 1,
                    Ok(FailoverOutcome::Skipped) => report.skipped += 1,
                    Err(e) => {
                        report.failed += 1;
                        if report.failures.len() < MAX_FAILURES_KEPT {
                            report.failures.push(SweepFailure {
                                handoff_id: id,
                                fault: match e.fault() {
                                    crate::ports::Fault::Transient => "transient",
                                    crate::ports::Fault::Permanent => "permanent",
                                },
                                error: e.to_string(),
                            });
                        }
                    }
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Ok(report)
    }

    /// What the sweep does with one due handoff, decided on a fresh read (and again after a
    /// lost race): re-drive an overdue owed stage, else fail over a missed SLA, else nothing.
    async fn sweep_one(&self, id: &HandoffId) -> Result<FailoverOutcome, ServiceError> {
        self.retry_races(|| async {
            let record = self.store.get(id).await?;
            match record {
                Some(mut record) if record.redrive_due(self.clock.now()) => {
                    self.redrive(&mut record).await
                }
                record => {
                    self.fail_over_record(record, RerouteReason::SlaMissed, None)
                        .await
                }
            }
        })
        .await
    }

    /// Marks the re-drive on the record (conditional on its version, so two sweeps never both
    /// send), then sends the owed stage's message. If the send fails the record already carries
    /// the next deadline: the next re-drive comes then.
    async fn redrive(&self, record: &mut HandoffRecord) -> Result<FailoverOutcome, ServiceError> {
        let now = self.clock.now();
        let Some(entry) = record.redrive(now, system("sweep")) else {
            return Ok(FailoverOutcome::Skipped);
        };
        let Some(stage) = record.owed_stage() else {
            return Ok(FailoverOutcome::Skipped);
        };
        self.save(record, &entry).await?;
        self.queue
            .send(stage, &[StageMessage::new(record.id.clone(), stage)])
            .await?;
        Ok(FailoverOutcome::Redriven)
    }

    /// Moves one handoff to the next owner in the failover chain. For an SLA miss the handoff must
    /// still be due; for a wrong-owner claim, `by` must be the current owner.
    ///
    /// Losing a race (the owner accepted, another sweep moved it) is decided again on the fresh
    /// record: usually "skipped", never a transient failure.
    pub async fn fail_over(
        &self,
        id: &HandoffId,
        reason: RerouteReason,
        by: Option<crate::ids::RepId>,
    ) -> Result<FailoverOutcome, ServiceError> {
        self.retry_races(|| async {
            let record = self.store.get(id).await?;
            self.fail_over_record(record, reason, by.clone()).await
        })
        .await
    }

    async fn fail_over_record(
        &self,
        record: Option<crate::lifecycle::HandoffRecord>,
        reason: RerouteReason,
        by: Option<crate::ids::RepId>,
    ) -> Result<FailoverOutcome, ServiceError> {
        let now = self.clock.now();
        let Some(mut record) = record else {
            return Ok(FailoverOutcome::Skipped);
        };
        let id = &record.id.clone();
        let current = record.owner.as_ref().and_then(|o| o.rep.clone());
        match reason {
            RerouteReason::SlaMissed => {
                if !record.sla_missed(now) {
                    return Ok(FailoverOutcome::Skipped);
                }
            }
            // The caller names who said so, or who could not be told.
            RerouteReason::WrongOwner | RerouteReason::Unreachable => {
                if !record.state.awaits_owner() || current != by {
                    return Err(ServiceError::Conflict(format!(
                        "handoff {id} is not awaiting {}",
                        by.map(|b| b.to_string()).unwrap_or_default()
                    )));
                }
            }
        }
        let rules = self.rules().await?;
        let change = OwnerChange::Failover {
            reason,
            by,
            why: None,
        };
        let escalated = self
            .reassign(&mut record, &rules, change, now)
            .await?
            .escalated;
        Ok(if escalated {
            FailoverOutcome::Escalated
        } else {
            FailoverOutcome::Rerouted
        })
    }
}
