//! What a queue consumer (the local worker or an SQS-triggered Lambda) does with one message:
//! the stage's answer ([`Disposition`]), then the retry policy's action ([`Action`]).
//!
//! Transient is not poison: a transient failure postpones the message with exponential backoff
//! and jitter ([`RetryPolicy`]) and, where the backend can tell (SQLite), does not count toward
//! the dead-letter budget, which is kept for deliveries that never got an answer (a crash, a
//! timeout). Only after [`RetryPolicy::max_attempts`] (about six hours of backoff with
//! [`RetryPolicy::STANDARD`]) does a still-failing message go to the dead-letter queue, with the
//! last error as its reason; the handoff itself still owes the stage, so the failover sweep
//! re-drives it from the record (see [`crate::lifecycle::HandoffRecord::owed_stage`]) and nothing
//! accepted is lost. A permanent failure goes to the dead-letter queue at once.

use super::stages::StageOutcome;
use super::{ServiceError, Services};
use crate::ports::{Delivery, Fault, QueueError, Stage, StageMessage};
use std::hash::{Hash, Hasher};
use std::time::Duration;

/// The stage's verdict for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Done (or already done): delete the message.
    Ack(StageOutcome),
    /// A transient failure: worth another attempt later (the [`RetryPolicy`] says when).
    Retry(String),
    /// It can never succeed: move it to the dead-letter queue with this reason.
    DeadLetter(String),
}

/// What the consumer does with a delivery, once the retry policy has weighed the disposition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Delete the message.
    Ack(StageOutcome),
    /// Make it visible again after `after` (SQS: `ChangeMessageVisibility`).
    Postpone { after: Duration, reason: String },
    /// Move it to the dead-letter queue with this reason.
    DeadLetter(String),
}

/// How transient failures are retried: exponential backoff from `first`, doubling up to `cap`,
/// with equal jitter (half of each delay fixed, half spread by a hash of the delivery's receipt
/// so that messages failing together do not come back together), for at most `max_attempts`
/// deliveries of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub first: Duration,
    pub cap: Duration,
    /// Deliveries after which a message still failing transiently is dead-lettered with its
    /// last error. SQS counts every delivery towards its own `maxReceiveCount`, so there the
    /// queue's count must stay above this (see [`RetryPolicy::within`]).
    pub max_attempts: u32,
}

impl RetryPolicy {
    /// The policy of the local runner and the functions: 2 s doubling to 15 min, 40 attempts
    /// (between about 3.9 and 7.8 hours of backoff, 5.8 hours on average).
    pub const STANDARD: RetryPolicy = RetryPolicy {
        first: Duration::from_secs(2),
        cap: Duration::from_secs(15 * 60),
        max_attempts: 40,
    };

    /// This policy on a queue that dead-letters by itself after `max_receives` deliveries (an
    /// SQS redrive policy): the policy gives up one delivery earlier, so the message reaches the
    /// dead-letter queue with its reason rather than silently.
    pub fn within(self, max_receives: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts.min(max_receives.saturating_sub(1).max(1)),
            ..self
        }
    }

    /// The delay after the `attempt`-th delivery (1-based) failed transiently: `first ·
    /// 2^(attempt−1)` capped at `cap`; half of it fixed, half spread by `salt`.
    pub fn delay(&self, attempt: u32, salt: &str) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        let base = self
            .first
            .saturating_mul(1u32 << exponent)
            .min(self.cap)
            .as_millis() as u64;
        let half = base / 2;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (salt, attempt).hash(&mut hasher);
        let spread = hasher.finish() % (base - half + 1);
        Duration::from_millis(half + spread)
    }

    /// Total backoff, without jitter, a message gets before it is dead-lettered (the upper bound
    /// of its retries; equal jitter makes the real total between half of this and all of it).
    pub fn total_backoff(&self) -> Duration {
        (1..self.max_attempts)
            .map(|a| {
                self.first
                    .saturating_mul(1u32 << a.saturating_sub(1).min(30))
                    .min(self.cap)
            })
            .sum()
    }

    /// What to do with `delivery` after the stage answered `disposition`.
    pub fn action(&self, disposition: Disposition, delivery: &Delivery) -> Action {
        match disposition {
            Disposition::Ack(outcome) => Action::Ack(outcome),
            Disposition::DeadLetter(reason) => Action::DeadLetter(reason),
            Disposition::Retry(reason) if delivery.receive_count >= self.max_attempts => {
                Action::DeadLetter(format!(
                    "still failing after {} attempts: {reason}",
                    delivery.receive_count
                ))
            }
            Disposition::Retry(reason) => Action::Postpone {
                after: self.delay(delivery.receive_count, &delivery.receipt),
                reason,
            },
        }
    }
}

/// What [`Services::consume`] did with a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Consumed {
    Acked(StageOutcome),
    Postponed { after: Duration, reason: String },
    DeadLettered(String),
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

    /// Handles one delivery end to end, as a polling consumer does: runs the stage, weighs the
    /// answer with `policy`, then acks, postpones or dead-letters the message. An error means the
    /// queue refused that last call: the message then comes back after its visibility timeout
    /// (at least once), which the stages absorb.
    pub async fn consume(
        &self,
        stage: Stage,
        delivery: &Delivery,
        policy: &RetryPolicy,
    ) -> Result<Consumed, QueueError> {
        let disposition = self.handle_message(stage, &delivery.body).await;
        match policy.action(disposition, delivery) {
            Action::Ack(outcome) => {
                self.queue.ack(stage, &delivery.receipt).await?;
                Ok(Consumed::Acked(outcome))
            }
            Action::Postpone { after, reason } => {
                self.queue.postpone(stage, delivery, after).await?;
                Ok(Consumed::Postponed { after, reason })
            }
            Action::DeadLetter(reason) => {
                self.queue.dead_letter(stage, delivery, &reason).await?;
                Ok(Consumed::DeadLettered(reason))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::State;

    fn delivery(receive_count: u32, receipt: &str) -> Delivery {
        Delivery {
            body: "{}".into(),
            receipt: receipt.into(),
            receive_count,
        }
    }

    #[test]
    fn delays_grow_exponentially_with_equal_jitter_up_to_the_cap() {
        let p = RetryPolicy::STANDARD;
        for attempt in 1..=45 {
            let base = (2_000u64 << (attempt - 1).min(30)).min(900_000);
            for salt in ["a", "b", "12.3", ""] {
                let d = p.delay(attempt, salt).as_millis() as u64;
                assert!(
                    d >= base / 2 && d <= base,
                    "attempt {attempt}: {d} vs {base}"
                );
            }
        }
        assert_eq!(
            p.delay(1, "x"),
            p.delay(1, "x"),
            "deterministic per receipt"
        );
    }

    #[test]
    fn jitter_spreads_messages_that_fail_together() {
        let p = RetryPolicy::STANDARD;
        let delays: std::collections::BTreeSet<_> =
            (0..100).map(|i| p.delay(6, &format!("{i}.6"))).collect();
        assert!(delays.len() > 80, "only {} distinct delays", delays.len());
    }

    #[test]
    fn the_standard_policy_rides_out_hours_not_seconds() {
        let total = RetryPolicy::STANDARD.total_backoff();
        assert_eq!(total, Duration::from_secs(1_022 + 30 * 900), "{total:?}");
    }

    #[test]
    fn transient_failures_postpone_until_the_attempts_run_out() {
        let p = RetryPolicy::STANDARD;
        for n in 1..40 {
            match p.action(
                Disposition::Retry("store unavailable".into()),
                &delivery(n, "r"),
            ) {
                Action::Postpone { after, reason } => {
                    assert_eq!(after, p.delay(n, "r"));
                    assert_eq!(reason, "store unavailable");
                }
                other => panic!("attempt {n}: {other:?}"),
            }
        }
        assert_eq!(
            p.action(
                Disposition::Retry("store unavailable".into()),
                &delivery(40, "r")
            ),
            Action::DeadLetter("still failing after 40 attempts: store unavailable".into())
        );
    }

    #[test]
    fn permanent_failures_and_successes_pass_straight_through() {
        let p = RetryPolicy::STANDARD;
        let d = delivery(1, "r");
        assert_eq!(
            p.action(Disposition::DeadLetter("bad".into()), &d),
            Action::DeadLetter("bad".into())
        );
        let done = StageOutcome::AlreadyDone(State::Notified);
        assert_eq!(
            p.action(Disposition::Ack(done.clone()), &d),
            Action::Ack(done)
        );
    }

    #[test]
    fn within_a_redrive_policy_the_policy_gives_up_one_delivery_earlier() {
        let p = RetryPolicy::STANDARD;
        assert_eq!(p.within(50).max_attempts, 40);
        assert_eq!(p.within(41).max_attempts, 40);
        assert_eq!(p.within(5).max_attempts, 4);
        assert_eq!(p.within(1).max_attempts, 1);
        assert_eq!(p.within(0).max_attempts, 1);
    }
}
