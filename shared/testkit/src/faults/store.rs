//! [`FaultyStore`]: a [`HandoffStore`] that fails chosen calls of a real store, and
//! [`FaultyThreads`]: the same for the [`ThreadIndex`] the store also is. Every fault is a
//! `StoreError::Unavailable` (transient) whose message says "injected fault"; an error after
//! the write has the inner store write first.
//!
//! ```text
//! let store = FaultyStore::new(real_store);
//! store.fail_next("set_account_owner", 1);
//! ```
//!
//! A store update names its step after the timeline entry it records (`notified`, `assigned`,
//! `crm_progress`), so a plan can tell the save that records a sent notification from the others.

use super::plan::{Call, FaultKind, FaultPlan, Port};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use handoff_domain::ids::{CompanyDomain, EmailAddress, HandoffId, RepId};
use handoff_domain::lifecycle::{HandoffRecord, TimelineEntry};
use handoff_domain::ports::{
    Assignment, AvailabilityOverride, CreateOutcome, DuePage, HandoffStore, HandoffSummary,
    OutboundThread, StoreError, ThreadIndex,
};
use handoff_domain::privacy::Erasure;
use handoff_domain::routing::FairnessCounters;
use std::collections::BTreeMap;
use std::sync::Arc;

fn unavailable(_: FaultKind, message: String) -> StoreError {
    StoreError::Unavailable(message)
}

fn read<'a>(method: &'static str, handoff: Option<&'a HandoffId>) -> Call<'a> {
    Call {
        port: Port::Store,
        method,
        step: None,
        writes: false,
        handoff,
    }
}

fn write<'a>(method: &'static str, handoff: Option<&'a HandoffId>) -> Call<'a> {
    Call {
        writes: true,
        ..read(method, handoff)
    }
}

/// A store that fails chosen calls (see the module docs).
pub struct FaultyStore {
    inner: Arc<dyn HandoffStore>,
    plan: Arc<FaultPlan>,
}

impl FaultyStore {
    /// Wraps `inner` with a plan of its own; nothing fails until [`FaultyStore::fail_next`]
    /// says so.
    pub fn new(inner: Arc<dyn HandoffStore>) -> Self {
        Self::with_plan(inner, Arc::new(FaultPlan::quiet()))
    }

    /// Wraps `inner`, failing what `plan` says (shared with the other ports' wrappers).
    pub fn with_plan(inner: Arc<dyn HandoffStore>, plan: Arc<FaultPlan>) -> Self {
        Self { inner, plan }
    }

    /// The plan this store consults.
    pub fn plan(&self) -> &Arc<FaultPlan> {
        &self.plan
    }

    /// Makes the next `times` calls of `method` (the trait method's name) fail as unavailable
    /// (a server error).
    pub fn fail_next(&self, method: &'static str, times: usize) {
        self.fail_next_with(method, FaultKind::ServerError, times);
    }

    /// Makes the next `times` calls of `method` fail with `kind`.
    pub fn fail_next_with(&self, method: &'static str, kind: FaultKind, times: usize) {
        self.plan.script(Port::Store, method, kind, times);
    }

    /// How many calls of `method` failed on purpose so far.
    pub fn failures(&self, method: &'static str) -> usize {
        self.plan.failures(Port::Store, method)
    }

    /// What was injected at the store (this one and any other sharing the plan), by method
    /// and kind.
    pub fn injected(&self) -> BTreeMap<(&'static str, FaultKind), usize> {
        self.plan.counts(Port::Store)
    }
}

#[async_trait]
impl HandoffStore for FaultyStore {
    async fn create(
        &self,
        record: &HandoffRecord,
        entry: &TimelineEntry,
    ) -> Result<CreateOutcome, StoreError> {
        let call = Call {
            step: Some(entry.event.as_str()),
            ..write("create", Some(&record.id))
        };
        self.plan
            .around(call, unavailable, || self.inner.create(record, entry))
            .await
    }
    async fn get(&self, id: &HandoffId) -> Result<Option<HandoffRecord>, StoreError> {
        self.plan
            .around(read("get", Some(id)), unavailable, || self.inner.get(id))
            .await
    }
    async fn update(
        &self,
        record: &HandoffRecord,
        entry: &TimelineEntry,
    ) -> Result<(), StoreError> {
        let call = Call {
            step: Some(entry.event.as_str()),
            ..write("update", Some(&record.id))
        };
        self.plan
            .around(call, unavailable, || self.inner.update(record, entry))
            .await
    }
    async fn timeline(&self, id: &HandoffId) -> Result<Vec<TimelineEntry>, StoreError> {
        self.plan
            .around(read("timeline", Some(id)), unavailable, || {
                self.inner.timeline(id)
            })
            .await
    }
    async fn due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<DuePage, StoreError> {
        self.plan
            .around(read("due", None), unavailable, || {
                self.inner.due(now, limit, cursor)
            })
            .await
    }
    async fn by_contact(
        &self,
        email: &EmailAddress,
        limit: usize,
    ) -> Result<Vec<HandoffSummary>, StoreError> {
        self.plan
            .around(read("by_contact", None), unavailable, || {
                self.inner.by_contact(email, limit)
            })
            .await
    }
    async fn by_domain(
        &self,
        domain: &CompanyDomain,
        limit: usize,
    ) -> Result<Vec<HandoffSummary>, StoreError> {
        self.plan
            .around(read("by_domain", None), unavailable, || {
                self.inner.by_domain(domain, limit)
            })
            .await
    }
    async fn created_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<HandoffRecord>, StoreError> {
        self.plan
            .around(read("created_between", None), unavailable, || {
                self.inner.created_between(from, to)
            })
            .await
    }
    async fn account_owner(&self, domain: &CompanyDomain) -> Result<Option<RepId>, StoreError> {
        self.plan
            .around(read("account_owner", None), unavailable, || {
                self.inner.account_owner(domain)
            })
            .await
    }
    async fn set_account_owner(
        &self,
        domain: &CompanyDomain,
        rep: &RepId,
    ) -> Result<(), StoreError> {
        self.plan
            .around(write("set_account_owner", None), unavailable, || {
                self.inner.set_account_owner(domain, rep)
            })
            .await
    }
    async fn rep_load(&self, rep: &RepId, day: NaiveDate) -> Result<u32, StoreError> {
        self.plan
            .around(read("rep_load", None), unavailable, || {
                self.inner.rep_load(rep, day)
            })
            .await
    }
    async fn rep_loads(&self, wanted: &[(RepId, NaiveDate)]) -> Result<Vec<u32>, StoreError> {
        self.plan
            .around(read("rep_loads", None), unavailable, || {
                self.inner.rep_loads(wanted)
            })
            .await
    }
    async fn fairness(&self, reps: &[RepId]) -> Result<Vec<FairnessCounters>, StoreError> {
        self.plan
            .around(read("fairness", None), unavailable, || {
                self.inner.fairness(reps)
            })
            .await
    }
    async fn record_assignment(&self, assignment: &Assignment) -> Result<Option<u32>, StoreError> {
        self.plan
            .around(write("record_assignment", None), unavailable, || {
                self.inner.record_assignment(assignment)
            })
            .await
    }
    async fn next_counter(&self, name: &str) -> Result<u64, StoreError> {
        self.plan
            .around(write("next_counter", None), unavailable, || {
                self.inner.next_counter(name)
            })
            .await
    }
    async fn availability(&self) -> Result<Vec<AvailabilityOverride>, StoreError> {
        self.plan
            .around(read("availability", None), unavailable, || {
                self.inner.availability()
            })
            .await
    }
    async fn set_availability(&self, value: &AvailabilityOverride) -> Result<(), StoreError> {
        self.plan
            .around(write("set_availability", None), unavailable, || {
                self.inner.set_availability(value)
            })
            .await
    }
    async fn expires_at(&self, id: &HandoffId) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.plan
            .around(read("expires_at", Some(id)), unavailable, || {
                self.inner.expires_at(id)
            })
            .await
    }
    async fn erase_contact(&self, email: &EmailAddress) -> Result<Erasure, StoreError> {
        self.plan
            .around(write("erase_contact", None), unavailable, || {
                self.inner.erase_contact(email)
            })
            .await
    }
}

/// A [`ThreadIndex`] that fails chosen calls; it counts as the store (the adapters that hold
/// outbound threads are the stores).
pub struct FaultyThreads {
    inner: Arc<dyn ThreadIndex>,
    plan: Arc<FaultPlan>,
}

impl FaultyThreads {
    /// Wraps `inner`, failing what `plan` says.
    pub fn with_plan(inner: Arc<dyn ThreadIndex>, plan: Arc<FaultPlan>) -> Self {
        Self { inner, plan }
    }
}

#[async_trait]
impl ThreadIndex for FaultyThreads {
    async fn put_thread(&self, thread: &OutboundThread) -> Result<(), StoreError> {
        self.plan
            .around(write("put_thread", None), unavailable, || {
                self.inner.put_thread(thread)
            })
            .await
    }
    async fn find_thread(&self, keys: &[String]) -> Result<Option<OutboundThread>, StoreError> {
        self.plan
            .around(read("find_thread", None), unavailable, || {
                self.inner.find_thread(keys)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use handoff_domain::lifecycle::Transition;
    use handoff_domain::ports::Fault;
    use handoff_local::SqliteStore;

    fn faulty() -> (FaultyStore, Arc<SqliteStore>) {
        let real = Arc::new(SqliteStore::open_in_memory().unwrap());
        (FaultyStore::new(real.clone()), real)
    }

    #[tokio::test]
    async fn every_scripted_kind_is_a_transient_unavailable_store() {
        let (store, _) = faulty();
        let (record, entry) = fixtures::record("faulty-store-kinds");
        for kind in [
            FaultKind::Throttled,
            FaultKind::TimedOut,
            FaultKind::ServerError,
            FaultKind::ErrorAfterWrite,
        ] {
            store.fail_next_with("get", kind, 1);
            let e = store.get(&record.id).await.unwrap_err();
            assert!(
                matches!(&e, StoreError::Unavailable(m) if m.starts_with("injected fault: the store's get call")),
                "{}: {e}",
                kind.describe()
            );
            assert_eq!(e.fault(), Fault::Transient, "{}", kind.describe());
        }
        assert_eq!(store.failures("get"), 4);
        store.create(&record, &entry).await.unwrap();
        assert!(store.get(&record.id).await.unwrap().is_some(), "recovered");
    }

    #[tokio::test]
    async fn a_fault_before_the_write_changes_nothing() {
        let (store, real) = faulty();
        let (record, entry) = fixtures::record("faulty-store-before");
        store.fail_next("create", 1);
        assert!(store.create(&record, &entry).await.is_err());
        assert_eq!(real.get(&record.id).await.unwrap(), None);
    }

    #[tokio::test]
    async fn an_error_after_the_write_really_wrote() {
        let (store, real) = faulty();
        let (mut record, entry) = fixtures::record("faulty-store-after");
        store.create(&record, &entry).await.unwrap();
        let entry = record
            .apply(
                Transition::Classify,
                handoff_domain::lifecycle::Actor::System("test".into()),
                fixtures::at(1),
                "classified",
            )
            .unwrap();
        store.fail_next_with("update", FaultKind::ErrorAfterWrite, 1);
        let e = store.update(&record, &entry).await.unwrap_err();
        assert!(e.to_string().contains("did its work, then failed"), "{e}");
        let stored = real.get(&record.id).await.unwrap().unwrap();
        assert_eq!(stored.version, record.version, "the update was written");
        assert_eq!(
            store.injected(),
            BTreeMap::from([(("update", FaultKind::ErrorAfterWrite), 1)])
        );
        let steps: Vec<_> = store
            .plan()
            .injections()
            .into_iter()
            .map(|i| (i.step, i.handoff))
            .collect();
        assert_eq!(
            steps,
            vec![(Some("classified".to_string()), Some(record.id.clone()))]
        );
    }

    #[tokio::test]
    async fn the_thread_index_fails_as_the_store() {
        let real = Arc::new(SqliteStore::open_in_memory().unwrap());
        let plan = Arc::new(FaultPlan::quiet());
        let threads = FaultyThreads::with_plan(real.clone(), plan.clone());
        let thread = OutboundThread {
            thread_id: "thread-1".into(),
            keys: vec!["<m1@x.example>".into()],
            buyer_email: None,
            sequence: None,
            account: None,
            outreach_history: Vec::new(),
        };
        plan.script(Port::Store, "put_thread", FaultKind::ErrorAfterWrite, 1);
        let e = threads.put_thread(&thread).await.unwrap_err();
        assert_eq!(e.fault(), Fault::Transient);
        let found = real.find_thread(&["m1@x.example".into()]).await.unwrap();
        assert_eq!(found.map(|t| t.thread_id), Some("thread-1".into()));
        plan.script(Port::Store, "find_thread", FaultKind::Throttled, 1);
        assert!(threads.find_thread(&["m1@x.example".into()]).await.is_err());
        assert!(threads
            .find_thread(&["m1@x.example".into()])
            .await
            .unwrap()
            .is_some());
    }
}
