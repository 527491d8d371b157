//! Recording fakes of the outside systems, for the fault wrappers' tests and the campaign: a
//! [`RecordingCrm`] that creates a contact, a package note, a task and one note per owner change
//! or touch, one object per `sync` call, the way the real adapters step; and a
//! [`RecordingNotifier`] that keeps every notification it was asked to deliver. Both say what
//! they did per handoff, so a test can count deliveries and objects created twice.

use async_trait::async_trait;
use handoff_domain::ids::HandoffId;
use handoff_domain::ports::{
    Crm, CrmRefs, CrmStep, CrmWrite, DeliveryError, Notification, NotificationKind, Notifier,
};
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The kinds of object the fake CRM creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CrmObject {
    Contact,
    /// The note holding the package.
    PackageNote,
    Task,
    /// One note per change of owner or new touch.
    ChangeNote,
}

/// What the fake CRM created for one handoff.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrmLedger {
    /// Objects created, in order.
    pub created: Vec<CrmObject>,
    /// How many change notes the writes asked for, at most (each should be created once).
    pub changes_asked: usize,
    /// `sync` calls that found the CRM already in line.
    pub done: usize,
}

impl CrmLedger {
    /// Objects created more often than the handoff needs them: a contact, a package note or a
    /// task more than once, or more change notes than changes.
    pub fn created_twice(&self) -> usize {
        let count = |kind| self.created.iter().filter(|o| **o == kind).count();
        let extra = |n: usize| n.saturating_sub(1);
        extra(count(CrmObject::Contact))
            + extra(count(CrmObject::PackageNote))
            + extra(count(CrmObject::Task))
            + count(CrmObject::ChangeNote).saturating_sub(self.changes_asked)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A CRM that records what it creates (see the module docs).
#[derive(Debug, Default)]
pub struct RecordingCrm {
    ledgers: Mutex<BTreeMap<HandoffId, CrmLedger>>,
    next_id: Mutex<u64>,
}

impl RecordingCrm {
    pub fn new() -> Self {
        Self::default()
    }

    /// What it did for `id` (empty when never called).
    pub fn ledger(&self, id: &HandoffId) -> CrmLedger {
        lock(&self.ledgers).get(id).cloned().unwrap_or_default()
    }

    /// Every handoff's ledger.
    pub fn ledgers(&self) -> BTreeMap<HandoffId, CrmLedger> {
        lock(&self.ledgers).clone()
    }

    fn create(&self, id: &HandoffId, object: CrmObject, changes: usize) -> String {
        let n = {
            let mut next = lock(&self.next_id);
            *next += 1;
            *next
        };
        let mut ledgers = lock(&self.ledgers);
        let ledger = ledgers.entry(id.clone()).or_default();
        ledger.created.push(object);
        ledger.changes_asked = ledger.changes_asked.max(changes);
        n.to_string()
    }
}

#[async_trait]
impl Crm for RecordingCrm {
    async fn sync(&self, write: &CrmWrite, refs: &CrmRefs) -> Result<CrmStep, DeliveryError> {
        let id = &write.package.handoff_id;
        let changes = write.changes.len();
        let mut next = refs.for_system("recording");
        if next.contact.is_none() {
            next.contact = Some(self.create(id, CrmObject::Contact, changes));
            return Ok(CrmStep::Progress(next));
        }
        if next.note.is_none() {
            next.note = Some(self.create(id, CrmObject::PackageNote, changes));
            return Ok(CrmStep::Progress(next));
        }
        if next.task.is_none() {
            next.task = Some(self.create(id, CrmObject::Task, changes));
            return Ok(CrmStep::Progress(next));
        }
        if (next.change_notes as usize) < changes {
            self.create(id, CrmObject::ChangeNote, changes);
            next.change_notes += 1;
            return Ok(CrmStep::Progress(next));
        }
        // Owner and due date are idempotent updates: no step of their own.
        next.owner = Some(write.owner_display.clone());
        next.due = write.package.sla.as_ref().map(|s| s.deadline);
        lock(&self.ledgers).entry(id.clone()).or_default().done += 1;
        Ok(CrmStep::Done(next))
    }
}

/// One notification as the fake notifier received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub handoff_id: HandoffId,
    /// `assigned`, `moved away` or `new touch`.
    pub kind: &'static str,
    pub target: String,
    /// The receipt it answered.
    pub receipt: String,
}

/// A notifier that records every notification (see the module docs).
#[derive(Debug, Default)]
pub struct RecordingNotifier {
    delivered: Mutex<Vec<Delivered>>,
}

impl RecordingNotifier {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every notification so far, in order.
    pub fn delivered(&self) -> Vec<Delivered> {
        lock(&self.delivered).clone()
    }

    /// How many notifications of `kind` (`assigned`, …) were delivered per handoff.
    pub fn count_by_handoff(&self, kind: &str) -> BTreeMap<HandoffId, usize> {
        let mut out = BTreeMap::new();
        for d in lock(&self.delivered).iter().filter(|d| d.kind == kind) {
            *out.entry(d.handoff_id.clone()).or_default() += 1;
        }
        out
    }
}

/// The notification kind in the words [`Delivered::kind`] uses.
pub fn kind_of(n: &Notification) -> &'static str {
    match n.kind {
        NotificationKind::Assigned => "assigned",
        NotificationKind::MovedAway { .. } => "moved away",
        NotificationKind::NewTouch { .. } => "new touch",
    }
}

#[async_trait]
impl Notifier for RecordingNotifier {
    async fn notify(&self, notification: &Notification) -> Result<String, DeliveryError> {
        let mut delivered = lock(&self.delivered);
        let receipt = format!("recorded:{}", delivered.len() + 1);
        delivered.push(Delivered {
            handoff_id: notification.handoff_id.clone(),
            kind: kind_of(notification),
            target: notification.target.clone(),
            receipt: receipt.clone(),
        });
        Ok(receipt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[tokio::test]
    async fn the_crm_creates_one_object_per_step_then_is_done() {
        let crm = RecordingCrm::new();
        let (record, _) = fixtures::record("recording-crm");
        let write = fixtures::crm_write(&fixtures::package(&record));
        let mut refs = CrmRefs::default();
        let mut steps = 0;
        let done = loop {
            match crm.sync(&write, &refs).await.unwrap() {
                CrmStep::Progress(next) => refs = next,
                CrmStep::Done(done) => break done,
            }
            steps += 1;
            assert!(steps < 10, "the CRM never finished");
        };
        let ledger = crm.ledger(&record.id);
        assert_eq!(
            ledger.created,
            vec![CrmObject::Contact, CrmObject::PackageNote, CrmObject::Task]
        );
        assert_eq!(ledger.created_twice(), 0);
        assert_eq!(done.owner.as_deref(), Some(write.owner_display.as_str()));
        // Syncing again from the recorded refs creates nothing; from stale refs, it does.
        crm.sync(&write, &done).await.unwrap();
        crm.sync(&write, &CrmRefs::default()).await.unwrap();
        assert_eq!(crm.ledger(&record.id).created_twice(), 1);
    }

    #[tokio::test]
    async fn the_notifier_records_every_delivery_by_handoff() {
        let notifier = RecordingNotifier::new();
        let id = fixtures::handoff_id("recording-notifier");
        let n = fixtures::notification(&id, "slack:@lena", "crm");
        let first = notifier.notify(&n).await.unwrap();
        let second = notifier.notify(&n).await.unwrap();
        assert_ne!(first, second);
        assert_eq!(
            notifier.count_by_handoff("assigned"),
            BTreeMap::from([(id, 2)])
        );
        assert_eq!(notifier.delivered()[0].target, "slack:@lena");
    }
}
