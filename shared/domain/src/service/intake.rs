//! Intake: make the event durable, then hand it to classification.

use super::{ServiceError, Services};
use crate::event::IntakeEvent;
use crate::ids::HandoffId;
use crate::lifecycle::{HandoffRecord, State};
use crate::ports::{CreateOutcome, Stage, StageMessage};
use serde::Serialize;

/// What intake answers once the event is durable and enqueued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntakeReceipt {
    pub handoff_id: HandoffId,
    /// True when this event was seen before (a provider retry or replay).
    pub duplicate: bool,
}

impl Services {
    /// Stores the event as a new handoff (create-if-absent on its deterministic id) and enqueues
    /// classification. A replay of an event still in `received` is enqueued again, so a crash
    /// between the write and the send loses nothing; classification is idempotent.
    pub async fn intake(&self, event: IntakeEvent) -> Result<IntakeReceipt, ServiceError> {
        let now = self.clock.now();
        let (record, entry) = HandoffRecord::received(event, now);
        let id = record.id.clone();
        let outcome = self.store.create(&record, &entry).await?;
        let duplicate = match outcome {
            CreateOutcome::Created => false,
            CreateOutcome::AlreadyExists(state) => {
                if state != State::Received {
                    return Ok(IntakeReceipt {
                        handoff_id: id,
                        duplicate: true,
                    });
                }
                true
            }
        };
        self.queue
            .send(
                Stage::Classify,
                &[StageMessage {
                    handoff_id: id.clone(),
                    stage: Stage::Classify,
                }],
            )
            .await?;
        Ok(IntakeReceipt {
            handoff_id: id,
            duplicate,
        })
    }
}
