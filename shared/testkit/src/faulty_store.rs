//! A [`HandoffStore`] that fails chosen calls: wraps a real store and answers
//! `StoreError::Unavailable` for the next N calls of a named method, so a use case can be driven
//! through a fault at exactly one step (and a test can check that a retry repairs it).
//!
//! ```text
//! let store = FaultyStore::new(real_store);
//! store.fail_next("set_account_owner", 1);
//! ```

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use handoff_domain::ids::{CompanyDomain, EmailAddress, HandoffId, RepId};
use handoff_domain::lifecycle::{HandoffRecord, TimelineEntry};
use handoff_domain::ports::{
    Assignment, AvailabilityOverride, CreateOutcome, DuePage, HandoffStore, HandoffSummary,
    StoreError,
};
use handoff_domain::privacy::Erasure;
use handoff_domain::routing::FairnessCounters;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// A store that fails the next calls of chosen methods (see the module docs).
pub struct FaultyStore {
    inner: Arc<dyn HandoffStore>,
    /// Method name → how many more calls fail.
    planned: Mutex<BTreeMap<&'static str, usize>>,
    /// Method name → how many calls failed so far.
    failed: Mutex<BTreeMap<&'static str, usize>>,
}

impl FaultyStore {
    /// Wraps `inner`; nothing fails until [`FaultyStore::fail_next`] says so.
    pub fn new(inner: Arc<dyn HandoffStore>) -> Self {
        Self {
            inner,
            planned: Mutex::new(BTreeMap::new()),
            failed: Mutex::new(BTreeMap::new()),
        }
    }

    /// Makes the next `times` calls of `method` (the trait method's name) fail as unavailable.
    pub fn fail_next(&self, method: &'static str, times: usize) {
        self.planned
            .lock()
            .expect("plan lock")
            .insert(method, times);
    }

    /// How many calls of `method` failed on purpose so far.
    pub fn failures(&self, method: &'static str) -> usize {
        self.failed
            .lock()
            .expect("failed lock")
            .get(method)
            .copied()
            .unwrap_or(0)
    }

    fn check(&self, method: &'static str) -> Result<(), StoreError> {
        let mut planned = self.planned.lock().expect("plan lock");
        match planned.get_mut(method) {
            Some(left) if *left > 0 => {
                *left -= 1;
                *self
                    .failed
                    .lock()
                    .expect("failed lock")
                    .entry(method)
                    .or_default() += 1;
                Err(StoreError::Unavailable(format!(
                    "injected fault in {method}"
                )))
            }
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl HandoffStore for FaultyStore {
    async fn create(
        &self,
        record: &HandoffRecord,
        entry: &TimelineEntry,
    ) -> Result<CreateOutcome, StoreError> {
        self.check("create")?;
        self.inner.create(record, entry).await
    }
    async fn get(&self, id: &HandoffId) -> Result<Option<HandoffRecord>, StoreError> {
        self.check("get")?;
        self.inner.get(id).await
    }
    async fn update(
        &self,
        record: &HandoffRecord,
        entry: &TimelineEntry,
    ) -> Result<(), StoreError> {
        self.check("update")?;
        self.inner.update(record, entry).await
    }
    async fn timeline(&self, id: &HandoffId) -> Result<Vec<TimelineEntry>, StoreError> {
        self.check("timeline")?;
        self.inner.timeline(id).await
    }
    async fn due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<DuePage, StoreError> {
        self.check("due")?;
        self.inner.due(now, limit, cursor).await
    }
    async fn by_contact(
        &self,
        email: &EmailAddress,
        limit: usize,
    ) -> Result<Vec<HandoffSummary>, StoreError> {
        self.check("by_contact")?;
        self.inner.by_contact(email, limit).await
    }
    async fn by_domain(
        &self,
        domain: &CompanyDomain,
        limit: usize,
    ) -> Result<Vec<HandoffSummary>, StoreError> {
        self.check("by_domain")?;
        self.inner.by_domain(domain, limit).await
    }
    async fn created_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<HandoffRecord>, StoreError> {
        self.check("created_between")?;
        self.inner.created_between(from, to).await
    }
    async fn account_owner(&self, domain: &CompanyDomain) -> Result<Option<RepId>, StoreError> {
        self.check("account_owner")?;
        self.inner.account_owner(domain).await
    }
    async fn set_account_owner(
        &self,
        domain: &CompanyDomain,
        rep: &RepId,
    ) -> Result<(), StoreError> {
        self.check("set_account_owner")?;
        self.inner.set_account_owner(domain, rep).await
    }
    async fn rep_load(&self, rep: &RepId, day: NaiveDate) -> Result<u32, StoreError> {
        self.check("rep_load")?;
        self.inner.rep_load(rep, day).await
    }
    async fn rep_loads(&self, wanted: &[(RepId, NaiveDate)]) -> Result<Vec<u32>, StoreError> {
        self.check("rep_loads")?;
        self.inner.rep_loads(wanted).await
    }
    async fn fairness(&self, reps: &[RepId]) -> Result<Vec<FairnessCounters>, StoreError> {
        self.check("fairness")?;
        self.inner.fairness(reps).await
    }
    async fn record_assignment(&self, assignment: &Assignment) -> Result<Option<u32>, StoreError> {
        self.check("record_assignment")?;
        self.inner.record_assignment(assignment).await
    }
    async fn next_counter(&self, name: &str) -> Result<u64, StoreError> {
        self.check("next_counter")?;
        self.inner.next_counter(name).await
    }
    async fn availability(&self) -> Result<Vec<AvailabilityOverride>, StoreError> {
        self.check("availability")?;
        self.inner.availability().await
    }
    async fn set_availability(&self, value: &AvailabilityOverride) -> Result<(), StoreError> {
        self.check("set_availability")?;
        self.inner.set_availability(value).await
    }
    async fn expires_at(&self, id: &HandoffId) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.check("expires_at")?;
        self.inner.expires_at(id).await
    }
    async fn erase_contact(&self, email: &EmailAddress) -> Result<Erasure, StoreError> {
        self.check("erase_contact")?;
        self.inner.erase_contact(email).await
    }
}
