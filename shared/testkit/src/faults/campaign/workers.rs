//! The campaign's moving parts: the consumers that poll each stage's queue (crashing before
//! an answer when the plan says so), the provider that sends every event until intake accepts
//! it, and what tells the campaign that the queues are quiet.

use super::{Backend, CampaignEvent, Settings};
use crate::faults::plan::{on_behalf_of, Call, FaultPlan, Port};
use handoff_connectors::secrets::SecretSource;
use handoff_domain::ports::{Stage, StageMessage};
use handoff_domain::service::Services;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the consumers are doing: how many deliveries are in hand, and when one was last
/// received or finished (quiet queues are judged from both).
pub(super) struct Activity {
    /// (deliveries received and not yet finished, when that last changed)
    state: Mutex<(usize, Instant)>,
}

impl Activity {
    pub(super) fn new() -> Self {
        Self {
            state: Mutex::new((0, Instant::now())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (usize, Instant)> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Something happened now (the provider finished, a sweep sent messages).
    pub(super) fn touch(&self) {
        self.lock().1 = Instant::now();
    }

    /// A consumer took `n` deliveries in hand.
    fn received(&self, n: usize) {
        let mut state = self.lock();
        *state = (state.0 + n, Instant::now());
    }

    /// A consumer finished one delivery.
    fn finished(&self) {
        let mut state = self.lock();
        *state = (state.0.saturating_sub(1), Instant::now());
    }

    /// Waits until no delivery is in hand and none was received or finished for `quiet`:
    /// longer than a hidden message (a crash, a postponement) stays hidden, so nothing is left.
    pub(super) async fn quiet_for(&self, quiet: Duration) {
        loop {
            let (in_hand, since) = {
                let state = self.lock();
                (state.0, state.1.elapsed())
            };
            if in_hand == 0 && since >= quiet {
                return;
            }
            tokio::time::sleep(quiet.saturating_sub(since).max(Duration::from_millis(50))).await;
        }
    }
}

/// Starts `backend.consumers` consumers per stage; they stop when `stop` is set.
pub(super) fn spawn_consumers(
    backend: &Backend,
    services: &Arc<Services>,
    plan: &Arc<FaultPlan>,
    activity: &Arc<Activity>,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut handles = Vec::new();
    for stage in Stage::ALL {
        for _ in 0..backend.consumers.max(1) {
            let (services, plan, activity, stop) = (
                services.clone(),
                plan.clone(),
                activity.clone(),
                stop.clone(),
            );
            let (visibility, batch, pause, policy) = (
                backend.visibility,
                backend.batch.max(1),
                backend.poll_pause,
                backend.policy,
            );
            handles.push(tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let received = Instant::now();
                    let deliveries = match services.queue.receive(stage, batch, visibility).await {
                        Ok(d) if !d.is_empty() => d,
                        // Nothing there, or the receive failed: try again in a moment.
                        _ => {
                            tokio::time::sleep(pause).await;
                            continue;
                        }
                    };
                    activity.received(deliveries.len());
                    for delivery in deliveries {
                        // As any consumer must: a delivery whose visibility timeout ran out
                        // while it waited its turn in the batch belongs to the queue again
                        // (another consumer may hold it now), so it is left alone.
                        if received.elapsed() >= visibility / 2 {
                            activity.finished();
                            continue;
                        }
                        let Some(id) = StageMessage::handoff_in(&delivery.body) else {
                            let _ = services.consume(stage, &delivery, &policy).await;
                            activity.finished();
                            continue;
                        };
                        let crash = Call {
                            port: Port::Consumer,
                            method: "answer",
                            step: Some(stage.as_str()),
                            writes: true,
                            handoff: Some(&id),
                        };
                        let work = async {
                            if plan.decide(&crash).is_some() {
                                // The stage runs; the consumer dies before it answers.
                                let _ = services.handle_message(stage, &delivery.body).await;
                            } else {
                                // A refused answer is like a crash: the message comes back.
                                let _ = services.consume(stage, &delivery, &policy).await;
                            }
                        };
                        on_behalf_of(id.clone(), work).await;
                        activity.finished();
                    }
                }
            }));
        }
    }
    handles
}

/// The provider: sends every event, `intake_at_once` at a time, each until intake answers Ok or
/// the tries run out. Returns, per event, the try that was accepted.
pub(super) async fn provide(
    sent: &[CampaignEvent],
    services: &Arc<Services>,
    secrets: &Arc<dyn SecretSource>,
    settings: &Settings,
) -> Vec<Option<usize>> {
    let gate = Arc::new(tokio::sync::Semaphore::new(settings.intake_at_once.max(1)));
    let mut tasks = Vec::with_capacity(sent.len());
    for e in sent {
        let (services, secrets, gate) = (services.clone(), secrets.clone(), gate.clone());
        let (event, id, tries) = (
            e.event.clone(),
            e.handoff_id.clone(),
            settings.provider_tries,
        );
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.expect("the gate stays open");
            for attempt in 1..=tries {
                let one_try = async {
                    // The intake edge reads the provider's secret first (503 when it cannot).
                    secrets
                        .secrets(event.source.as_str())
                        .await
                        .map_err(|e| e.to_string())?;
                    services
                        .intake(event.clone())
                        .await
                        .map_err(|e| e.to_string())
                };
                if on_behalf_of(id.clone(), one_try).await.is_ok() {
                    return Some(attempt);
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            None
        }));
    }
    let mut accepted = Vec::with_capacity(tasks.len());
    for task in tasks {
        accepted.push(task.await.expect("a provider task panicked"));
    }
    accepted
}
