//! What a queue consumer (the local worker or an SQS-triggered Lambda) does with one message.

use super::stages::StageOutcome;
use super::{ServiceError, Services};
use crate::ports::{Fault, Stage, StageMessage};

/// The consumer's verdict for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Done (or already done): delete the message.
    Ack(StageOutcome),
    /// Let it come back after the visibility timeout (SQS: report a batch item failure).
    Retry(String),
    /// It can never succeed: move it to the dead-letter queue with this reason.
    DeadLetter(String),
}

impl Services {
    /// Parses and runs one stage message received from `stage`'s queue.
    pub async fn handle_message(&self, stage: Stage, body: &str) -> Disposition {
        let message: StageMessage = match serde_json::from_str(body) {
            Ok(m) => m,
            Err(e) => return Disposition::DeadLetter(format!("unreadable stage message: {e}")),
        };
        if message.stage != stage {
            return Disposition::DeadLetter(format!(
                "message for stage {} arrived on the {} queue",
                message.stage.as_str(),
                stage.as_str()
            ));
        }
        match self.run_stage(&message).await {
            Ok(outcome) => Disposition::Ack(outcome),
            Err(e @ ServiceError::NotFound(_)) => Disposition::DeadLetter(e.to_string()),
            Err(e) if e.fault() == Fault::Transient => Disposition::Retry(e.to_string()),
            Err(e) => Disposition::DeadLetter(e.to_string()),
        }
    }
}
