//! Conformance cases for the outward side effects: [`Crm`] and [`Notifier`].
//!
//! The CRM cases hold every adapter to the exactly-once contract of [`Crm::sync`]: the domain
//! saves the refs after every [`CrmStep::Progress`], so an adapter resumed from any recorded
//! refs (a crash after that save) must finish without creating anything twice, and an owner
//! change must update the owner and add exactly one note, never a second package or task.
//! The cases observe the CRM through an inspection closure the caller provides (files on disk
//! for the file CRM, the objects a local API stand-in holds for HubSpot and Salesforce).

use crate::fixtures;
use handoff_domain::ids::HandoffId;
use handoff_domain::ports::{Crm, CrmRefs, CrmStep, CrmWrite, Notifier};

/// What a CRM holds for one handoff, as the inspection closure sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrmSeen {
    /// Contacts / leads created or updated for the buyer (at most one per buyer).
    pub contacts: usize,
    /// Notes or descriptions holding the six-part package.
    pub packages: usize,
    /// Tasks for the owner.
    pub tasks: usize,
    /// Notes about owner changes.
    pub change_notes: usize,
    /// The owner the CRM names on the task (in the CRM's own ids), `None` when unassigned.
    pub owner: Option<String>,
}

/// Gives an inspection closure its expected signature (so its parameter types are inferred).
pub fn inspector<S, F, T>(_subject: &S, inspect: F) -> F
where
    F: Fn(&S, &HandoffId) -> T,
{
    inspect
}

/// Calls `sync` until it reports done, recording every step's refs like the domain does.
/// Returns every refs recorded (the last one is the final state). Panics after 20 steps.
pub async fn converge(crm: &dyn Crm, write: &CrmWrite, from: &CrmRefs) -> Vec<CrmRefs> {
    let mut refs = from.clone();
    let mut recorded = Vec::new();
    for _ in 0..20 {
        match crm.sync(write, &refs).await.expect("CRM sync succeeds") {
            CrmStep::Progress(next) => {
                assert_ne!(next, refs, "a progress step must record something new");
                refs = next;
                recorded.push(refs.clone());
            }
            CrmStep::Done(done) => {
                recorded.push(done);
                return recorded;
            }
        }
    }
    panic!("CRM sync did not finish in 20 steps");
}

fn last(steps: &[CrmRefs]) -> CrmRefs {
    steps.last().cloned().expect("at least one step")
}

/// A fresh handoff ends with one contact, one package, one task owned by the owner; syncing
/// again with the final refs creates nothing.
pub async fn case_crm_sync_writes_everything_once(
    crm: &dyn Crm,
    seen: &dyn Fn(&HandoffId) -> CrmSeen,
) {
    let (record, _) = fixtures::record("crm-once");
    let write = fixtures::crm_write(&fixtures::package(&record));
    assert_eq!(seen(&record.id), CrmSeen::default());

    let steps = converge(crm, &write, &CrmRefs::default()).await;
    let done = last(&steps);
    assert!(!done.system.is_empty(), "the refs name the CRM");
    assert!(done.contact.is_some(), "the contact is recorded");
    let after = seen(&record.id);
    assert!(after.contacts <= 1, "{after:?}");
    assert_eq!(after.packages, 1, "{after:?}");
    assert_eq!(after.tasks, 1, "{after:?}");
    assert_eq!(after.change_notes, 0, "{after:?}");
    assert!(after.owner.is_some(), "the task names the owner: {after:?}");
    assert_eq!(after.owner, done.owner, "the refs record the owner written");

    let again = converge(crm, &write, &done).await;
    assert_eq!(again.len(), 1, "a synced CRM is done in one call");
    assert_eq!(seen(&record.id), after, "a replay creates nothing");
}

/// A crash after any recorded step: a new sync from those refs finishes with one of each.
pub async fn case_crm_resumes_after_every_step(
    crm: &dyn Crm,
    seen: &dyn Fn(&HandoffId) -> CrmSeen,
) {
    // Learn how many steps a full write takes, on a handoff of its own.
    let (probe, _) = fixtures::record("crm-probe");
    let probe_steps = converge(
        crm,
        &fixtures::crm_write(&fixtures::package(&probe)),
        &CrmRefs::default(),
    )
    .await
    .len();
    for crash_after in 0..probe_steps {
        let (record, _) = fixtures::record(&format!("crm-crash-{crash_after}"));
        let write = fixtures::crm_write(&fixtures::package(&record));
        let mut refs = CrmRefs::default();
        for _ in 0..crash_after {
            match crm.sync(&write, &refs).await.expect("CRM sync succeeds") {
                CrmStep::Progress(next) | CrmStep::Done(next) => refs = next,
            }
        }
        let done = last(&converge(crm, &write, &refs).await);
        let after = seen(&record.id);
        assert_eq!(
            (after.packages, after.tasks, after.change_notes),
            (1, 1, 0),
            "resumed after step {crash_after}: {after:?}"
        );
        assert_eq!(after.owner, done.owner);
    }
}

/// A reroute updates the task's owner and adds one note; it never duplicates the package or
/// the task. A second reroute adds a second note; replays add nothing.
pub async fn case_crm_reroute_updates_owner_and_adds_one_note(
    crm: &dyn Crm,
    seen: &dyn Fn(&HandoffId) -> CrmSeen,
) {
    let (record, _) = fixtures::record("crm-reroute");
    let first = fixtures::crm_write(&fixtures::package(&record));
    let written = last(&converge(crm, &first, &CrmRefs::default()).await);
    let before = seen(&record.id);

    let moved = fixtures::crm_write_moved(&first, Some("max"), "the SLA passed unclaimed");
    let rerouted = last(&converge(crm, &moved, &written).await);
    let after = seen(&record.id);
    assert_eq!(
        after.packages, 1,
        "the package is not duplicated: {after:?}"
    );
    assert_eq!(after.tasks, 1, "the task is not duplicated: {after:?}");
    assert_eq!(
        after.change_notes, 1,
        "one note says who missed it: {after:?}"
    );
    assert_ne!(after.owner, before.owner, "the task changed owner");
    assert_eq!(after.owner, rerouted.owner);
    assert_eq!(rerouted.change_notes, 1);

    let replay = converge(crm, &moved, &rerouted).await;
    assert_eq!(replay.len(), 1);
    assert_eq!(seen(&record.id), after, "a replayed reroute adds nothing");

    let twice = fixtures::crm_write_moved(&moved, Some("lena"), "they reported the wrong owner");
    let back = last(&converge(crm, &twice, &rerouted).await);
    let end = seen(&record.id);
    assert_eq!(
        (end.packages, end.tasks, end.change_notes),
        (1, 1, 2),
        "{end:?}"
    );
    assert_eq!(end.owner, back.owner);
    assert_eq!(end.owner, before.owner, "back with the first owner");
}

/// A handoff escalated to the shared queue names no owner; the rep who picks it up becomes
/// the owner of the task, with one note.
pub async fn case_crm_queue_pickup_sets_the_owner(
    crm: &dyn Crm,
    seen: &dyn Fn(&HandoffId) -> CrmSeen,
) {
    let (record, _) = fixtures::record("crm-queue");
    let assigned = fixtures::crm_write(&fixtures::package(&record));
    let queued = fixtures::crm_write_moved(&assigned, None, "every rep missed it");
    let in_queue = last(&converge(crm, &queued, &CrmRefs::default()).await);
    let queue_seen = seen(&record.id);
    assert_eq!(
        (queue_seen.packages, queue_seen.tasks),
        (1, 1),
        "{queue_seen:?}"
    );
    assert_eq!(queue_seen.owner, None, "the shared queue has no CRM owner");

    let picked =
        fixtures::crm_write_moved(&queued, Some("lena"), "picked up from the shared queue");
    let done = last(&converge(crm, &picked, &in_queue).await);
    let after = seen(&record.id);
    assert_eq!(
        (after.packages, after.tasks, after.change_notes),
        (1, 1, 2),
        "{after:?}"
    );
    assert!(after.owner.is_some(), "the picker owns the task now");
    assert_eq!(after.owner, done.owner);
}

/// Each notification is delivered once per call with its own non-empty receipt; the "it
/// moved" notice to the previous owner (replacing their message) is delivered too; other
/// handoffs are kept apart.
///
/// `targets` are two targets of the channel(s) the notifier serves: the first for `lena`, the
/// second for `max` (`("slack:@lena", "slack:@max")`, `("email:lena@…", "email:max@…")`).
pub async fn case_notify_delivers_each_call(
    notifier: &dyn Notifier,
    effects: &dyn Fn(&HandoffId) -> usize,
    targets: (&str, &str),
) {
    let (first, second_target) = targets;
    let id = fixtures::handoff_id("notify-1");
    let to_lena = fixtures::notification(&id, first, "crm:notify-1");
    assert_eq!(effects(&id), 0);

    let receipt = notifier.notify(&to_lena).await.unwrap();
    assert!(!receipt.is_empty());
    assert_eq!(effects(&id), 1);

    let to_max = fixtures::notification(&id, second_target, "crm:notify-1");
    let second = notifier.notify(&to_max).await.unwrap();
    assert!(!second.is_empty());
    assert_ne!(second, receipt);
    assert_eq!(effects(&id), 2);

    let moved = fixtures::moved_notification(&id, first, Some(receipt));
    let third = notifier.notify(&moved).await.unwrap();
    assert!(!third.is_empty());
    assert_eq!(effects(&id), 3, "the previous owner is told it moved");

    let other = fixtures::handoff_id("notify-2");
    notifier
        .notify(&fixtures::notification(&other, first, "crm:notify-2"))
        .await
        .unwrap();
    assert_eq!(effects(&other), 1);
    assert_eq!(effects(&id), 3);
}
