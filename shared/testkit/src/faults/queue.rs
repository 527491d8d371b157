//! [`FaultyQueue`]: a [`StageQueue`] that fails chosen calls of a real queue. Every fault is a
//! `QueueError::Unavailable` (the queue port has no permanent failure). An error after the
//! write has the inner queue act first: a send that enqueued, an ack that deleted, a receive
//! whose messages are now hidden although the consumer never saw them.

use super::plan::{Call, FaultKind, FaultPlan, Port};
use async_trait::async_trait;
use handoff_domain::ids::HandoffId;
use handoff_domain::ports::{DeadLetter, Delivery, QueueError, Stage, StageMessage, StageQueue};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

fn unavailable(_: FaultKind, message: String) -> QueueError {
    QueueError::Unavailable(message)
}

/// A call at a stage's queue; it writes unless it only reads dead letters.
fn call<'a>(method: &'static str, stage: Stage, handoff: Option<&'a HandoffId>) -> Call<'a> {
    Call {
        port: Port::Queue,
        method,
        step: Some(stage.as_str()),
        writes: method != "dead_letters",
        handoff,
    }
}

/// A queue that fails chosen calls (see the module docs).
pub struct FaultyQueue {
    inner: Arc<dyn StageQueue>,
    plan: Arc<FaultPlan>,
}

impl FaultyQueue {
    /// Wraps `inner`, failing what `plan` says.
    pub fn with_plan(inner: Arc<dyn StageQueue>, plan: Arc<FaultPlan>) -> Self {
        Self { inner, plan }
    }

    /// Makes the next `times` calls of `method` (`send`, `receive`, `ack`, `postpone`,
    /// `dead_letter`, …) fail with `kind`.
    pub fn fail_next_with(&self, method: &'static str, kind: FaultKind, times: usize) {
        self.plan.script(Port::Queue, method, kind, times);
    }

    /// What was injected at the queue, by method and kind.
    pub fn injected(&self) -> BTreeMap<(&'static str, FaultKind), usize> {
        self.plan.counts(Port::Queue)
    }
}

#[async_trait]
impl StageQueue for FaultyQueue {
    async fn send(&self, stage: Stage, messages: &[StageMessage]) -> Result<(), QueueError> {
        // A batch of one names its handoff; a larger batch is logged against the work's.
        let handoff = match messages {
            [one] => Some(&one.handoff_id),
            _ => None,
        };
        self.plan
            .around(call("send", stage, handoff), unavailable, || {
                self.inner.send(stage, messages)
            })
            .await
    }
    async fn receive(
        &self,
        stage: Stage,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<Delivery>, QueueError> {
        self.plan
            .around(call("receive", stage, None), unavailable, || {
                self.inner.receive(stage, max, visibility)
            })
            .await
    }
    async fn ack(&self, stage: Stage, receipt: &str) -> Result<(), QueueError> {
        self.plan
            .around(call("ack", stage, None), unavailable, || {
                self.inner.ack(stage, receipt)
            })
            .await
    }
    async fn dead_letter(
        &self,
        stage: Stage,
        delivery: &Delivery,
        reason: &str,
    ) -> Result<(), QueueError> {
        let handoff = StageMessage::handoff_in(&delivery.body);
        self.plan
            .around(
                call("dead_letter", stage, handoff.as_ref()),
                unavailable,
                || self.inner.dead_letter(stage, delivery, reason),
            )
            .await
    }
    async fn postpone(
        &self,
        stage: Stage,
        delivery: &Delivery,
        delay: Duration,
    ) -> Result<(), QueueError> {
        let handoff = StageMessage::handoff_in(&delivery.body);
        self.plan
            .around(
                call("postpone", stage, handoff.as_ref()),
                unavailable,
                || self.inner.postpone(stage, delivery, delay),
            )
            .await
    }
    async fn dead_letters(&self, stage: Stage, max: usize) -> Result<Vec<DeadLetter>, QueueError> {
        self.plan
            .around(call("dead_letters", stage, None), unavailable, || {
                self.inner.dead_letters(stage, max)
            })
            .await
    }
    async fn redrive(&self, stage: Stage, which: Option<&HandoffId>) -> Result<usize, QueueError> {
        self.plan
            .around(call("redrive", stage, which), unavailable, || {
                self.inner.redrive(stage, which)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use handoff_local::SqliteQueue;

    const SHORT: Duration = Duration::from_millis(30);

    fn faulty() -> (FaultyQueue, Arc<SqliteQueue>) {
        let real = Arc::new(SqliteQueue::open_in_memory(5).unwrap());
        let queue = FaultyQueue::with_plan(real.clone(), Arc::new(FaultPlan::quiet()));
        (queue, real)
    }

    #[tokio::test]
    async fn a_scripted_fault_is_unavailable_and_sends_nothing() {
        let (queue, real) = faulty();
        let message = fixtures::stage_message("faulty-queue-send", Stage::Classify);
        for kind in [
            FaultKind::Throttled,
            FaultKind::TimedOut,
            FaultKind::ServerError,
        ] {
            queue.fail_next_with("send", kind, 1);
            let e = queue
                .send(Stage::Classify, std::slice::from_ref(&message))
                .await
                .unwrap_err();
            assert!(
                matches!(&e, QueueError::Unavailable(m) if m.starts_with("injected fault: the queue's send call")),
                "{}: {e}",
                kind.describe()
            );
        }
        assert!(real
            .receive(Stage::Classify, 10, SHORT)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            queue.injected().values().sum::<usize>(),
            3,
            "{:?}",
            queue.injected()
        );
    }

    #[tokio::test]
    async fn a_send_that_fails_after_the_write_enqueued_the_message() {
        let (queue, real) = faulty();
        let message = fixtures::stage_message("faulty-queue-after", Stage::Assign);
        queue.fail_next_with("send", FaultKind::ErrorAfterWrite, 1);
        assert!(queue
            .send(Stage::Assign, std::slice::from_ref(&message))
            .await
            .is_err());
        let got = real.receive(Stage::Assign, 10, SHORT).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(
            StageMessage::handoff_in(&got[0].body),
            Some(message.handoff_id.clone())
        );
        let logged = queue.plan.injections();
        assert_eq!(logged[0].handoff, Some(message.handoff_id));
        assert_eq!(logged[0].step.as_deref(), Some("assign"));
    }

    #[tokio::test]
    async fn a_receive_whose_answer_was_lost_hides_the_message_until_its_timeout() {
        let (queue, _) = faulty();
        let message = fixtures::stage_message("faulty-queue-receive", Stage::Classify);
        queue.send(Stage::Classify, &[message]).await.unwrap();
        queue.fail_next_with("receive", FaultKind::ErrorAfterWrite, 1);
        assert!(queue.receive(Stage::Classify, 10, SHORT).await.is_err());
        assert!(queue
            .receive(Stage::Classify, 10, SHORT)
            .await
            .unwrap()
            .is_empty());
        tokio::time::sleep(SHORT * 2).await;
        let again = queue.receive(Stage::Classify, 10, SHORT).await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].receive_count, 2);
    }

    #[tokio::test]
    async fn an_ack_that_fails_after_the_write_deleted_the_message() {
        let (queue, real) = faulty();
        let message = fixtures::stage_message("faulty-queue-ack", Stage::Classify);
        queue.send(Stage::Classify, &[message]).await.unwrap();
        let got = queue.receive(Stage::Classify, 10, SHORT).await.unwrap();
        queue.fail_next_with("ack", FaultKind::ErrorAfterWrite, 1);
        assert!(queue.ack(Stage::Classify, &got[0].receipt).await.is_err());
        tokio::time::sleep(SHORT * 2).await;
        assert!(real
            .receive(Stage::Classify, 10, SHORT)
            .await
            .unwrap()
            .is_empty());
    }
}
