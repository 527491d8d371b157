//! Outside calls happen once: the assign stage's lease, and results recorded before anything
//! else.
//!
//! The assign stage calls the CRM and the notifier, and neither takes an idempotency key. Two
//! risks follow, and this module closes both:
//!
//! - **Two runs at once.** A re-drive and a late original, SQS handing one message to two
//!   consumers, or a consumer overrunning its visibility timeout would each call before the
//!   other recorded the result. So an outside call is made only by the run of the stage that
//!   holds the record's [`StageLease`] (a token unique to the run, [`Worker`]). Every save the
//!   run makes while it still owes outside work renews the lease for [`STAGE_LEASE`], and the
//!   last save releases it. On the usual path (classify, then one assign run) that costs no
//!   write of its own: the routing save takes the lease. A run that finds outside work with no
//!   live lease takes it with one conditional write (`taken_up`: after a reroute, a new touch,
//!   a re-drive, an accept before the CRM write). A run that finds another's live lease fails as
//!   transient and comes back later. A run that fails gives its lease up (`attempt_failed`,
//!   with the reason), so the retry need not wait for it to lapse; one that dies holding it
//!   (a crash, a store that is down) holds it until [`STAGE_LEASE`] after its last save. Other
//!   writers (the sweep, claims, a new touch) keep the lease as they found it, and their
//!   changes reach the holder through the version check on its next save.
//! - **A result that was not recorded.** Once an outside call succeeded, its result (the
//!   receipt, the CRM ids) is saved before anything else. A transient store fault is retried
//!   within the call ([`RECORD_RETRIES`]). When another writer won a version race (the sweep's
//!   re-drive mark, an accept, a new touch), the result is applied again to the fresh record,
//!   as long as the lease is still ours and the result is not there already. Only a store that
//!   stays down past those retries leaves a result unrecorded. The stage then fails as
//!   transient, and a later run repeats the call: at least once, never lost.

use super::stages::system;
use super::{ServiceError, Services};
use crate::lifecycle::{HandoffRecord, StageLease, TimelineEntry, STAGE_LEASE};
use crate::ports::StoreError;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// How often the save recording an outside call's result is retried within the call after a
/// transient store fault, and the waits between tries (50 ms doubling: 1.55 s in all).
pub const RECORD_RETRIES: u32 = 5;
const FIRST_RECORD_WAIT: Duration = Duration::from_millis(50);
/// How often a version race is re-applied before giving up (each race is another writer's
/// real change, so this bounds a livelock, not a fault).
const MAX_RACES: u32 = 16;

/// One run of the assign stage, as a lease holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Worker {
    pub holder: String,
}

impl Worker {
    /// A run with a token of its own ([`crate::ids::unique_token`]).
    pub(crate) fn new() -> Self {
        Self {
            holder: crate::ids::unique_token(),
        }
    }
}

/// What [`Services::hold_lease`] found.
pub(crate) enum Lease {
    /// This run holds it: go on with the outside call.
    Held,
    /// Another writer changed the record first: here it is again, look at it afresh.
    Changed(Box<HandoffRecord>),
}

impl Services {
    /// Makes sure `worker` holds the lease on `record` before an outside call: nothing to do
    /// when it already does, a transient failure while someone else holds it, else one
    /// conditional write that takes it.
    pub(crate) async fn hold_lease(
        &self,
        record: &mut HandoffRecord,
        worker: &Worker,
        now: DateTime<Utc>,
    ) -> Result<Lease, ServiceError> {
        if record.holds_lease(&worker.holder, now) {
            return Ok(Lease::Held);
        }
        if let Some(until) = record.leased_to_other(&worker.holder, now) {
            return Err(ServiceError::Transient(format!(
                "another delivery is working on handoff {} until {}",
                record.id,
                until.format("%H:%M:%S UTC")
            )));
        }
        let note = match &record.lease {
            Some(lapsed) if lapsed.holder != worker.holder => format!(
                "the assign stage took it up again (the delivery working on it stopped answering at {})",
                lapsed.until.format("%Y-%m-%d %H:%M UTC")
            ),
            _ => "the assign stage took it up".to_string(),
        };
        let entry = record.progress("taken_up", system("assign"), now, note);
        record.lease = Some(StageLease {
            holder: worker.holder.clone(),
            until: now + STAGE_LEASE,
        });
        match self.store.update(record, &entry).await {
            Ok(()) => Ok(Lease::Held),
            Err(StoreError::VersionConflict { .. }) => {
                Ok(Lease::Changed(Box::new(self.load(&record.id).await?)))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Saves a step of the assign stage, renewing `worker`'s lease while outside work is still
    /// owed and releasing it when none is.
    pub(crate) async fn save_step(
        &self,
        record: &mut HandoffRecord,
        entry: &TimelineEntry,
        worker: &Worker,
    ) -> Result<(), ServiceError> {
        record.renew_lease(&worker.holder, entry.at);
        self.save(record, entry).await
    }

    /// Records the result of an outside call that succeeded. `apply` writes the result into a
    /// record and returns its timeline entry, or `None` when the record already holds it (an
    /// earlier try that reported an error had in fact saved) or no longer wants it (the owner
    /// changed meanwhile). It runs on `record` first, then on the fresh record after each lost
    /// version race while the lease is still `worker`'s. Transient store faults are retried
    /// [`RECORD_RETRIES`] times. On return, `record` is the stored record as this run knows it.
    pub(crate) async fn record_result<F>(
        &self,
        record: &mut HandoffRecord,
        worker: &Worker,
        now: DateTime<Utc>,
        mut apply: F,
    ) -> Result<(), ServiceError>
    where
        F: FnMut(&mut HandoffRecord, DateTime<Utc>) -> Result<Option<TimelineEntry>, ServiceError>,
    {
        let mut races = 0;
        let mut faults = 0;
        let mut candidate = record.clone();
        let Some(mut entry) = apply(&mut candidate, now)? else {
            return Ok(());
        };
        loop {
            candidate.renew_lease(&worker.holder, now);
            match self.store.update(&candidate, &entry).await {
                Ok(()) => {
                    *record = candidate;
                    return Ok(());
                }
                Err(StoreError::VersionConflict { .. }) if races < MAX_RACES => races += 1,
                Err(e)
                    if e.fault() == crate::ports::Fault::Transient && faults < RECORD_RETRIES =>
                {
                    pause(FIRST_RECORD_WAIT * 2u32.pow(faults)).await;
                    faults += 1;
                }
                Err(e @ StoreError::VersionConflict { .. }) => {
                    return Err(ServiceError::Raced(e.to_string()))
                }
                Err(e) => return Err(e.into()),
            }
            // Look again: the save may have landed (an error after the write) or lost a race.
            let fresh = loop {
                match self.store.get(&record.id).await {
                    Ok(Some(fresh)) => break fresh,
                    Ok(None) => return Err(ServiceError::NotFound(record.id.clone())),
                    Err(e)
                        if e.fault() == crate::ports::Fault::Transient
                            && faults < RECORD_RETRIES =>
                    {
                        pause(FIRST_RECORD_WAIT * 2u32.pow(faults)).await;
                        faults += 1;
                    }
                    Err(e) => return Err(e.into()),
                }
            };
            let ours = fresh
                .lease
                .as_ref()
                .is_none_or(|l| l.holder == worker.holder);
            *record = fresh;
            if !ours {
                // Someone else took over after our lease ran out: they decide from here.
                return Ok(());
            }
            candidate = record.clone();
            match apply(&mut candidate, now)? {
                Some(next) => entry = next,
                None => return Ok(()),
            }
        }
    }

    /// After a run of the assign stage failed with `error`: gives up the run's lease, if it
    /// holds one, so the retry need not wait for it to lapse ([`HandoffRecord::release_lease`]).
    /// Best effort: when this write fails too (the store is down), the lease lapses by itself.
    pub(crate) async fn give_up_lease(
        &self,
        id: &crate::ids::HandoffId,
        worker: &Worker,
        error: &ServiceError,
    ) {
        let Ok(Some(mut record)) = self.store.get(id).await else {
            return;
        };
        let note = format!(
            "the assign stage failed: {}",
            crate::render::escape::fit_line(&error.to_string(), 300)
        );
        if let Some(entry) = record.release_lease(&worker.holder, self.clock.now(), note) {
            let _ = self.store.update(&record, &entry).await;
        }
    }
}

/// Waits `wait` without tying the domain to an async runtime: a helper thread sleeps and then
/// wakes the task. Used only on the rare retry of a save after a store fault.
fn pause(wait: Duration) -> Pause {
    let shared = std::sync::Arc::new(std::sync::Mutex::new(PauseState::default()));
    let timer = shared.clone();
    std::thread::spawn(move || {
        std::thread::sleep(wait);
        let mut state = timer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.done = true;
        if let Some(waker) = state.waker.take() {
            waker.wake();
        }
    });
    Pause { shared }
}

#[derive(Default)]
struct PauseState {
    done: bool,
    waker: Option<std::task::Waker>,
}

struct Pause {
    shared: std::sync::Arc<std::sync::Mutex<PauseState>>,
}

impl std::future::Future for Pause {
    type Output = ();

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        let mut state = self
            .shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if state.done {
            std::task::Poll::Ready(())
        } else {
            state.waker = Some(cx.waker().clone());
            std::task::Poll::Pending
        }
    }
}
