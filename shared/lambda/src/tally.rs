//! Counts what a stage function did during one invocation, for its metrics: the transitions its
//! store wrote (`HandoffsClassified` by class, `HandoffsAssigned`, `CrmWrites`), the
//! notifications its notifier sent (`Notifications` by kind), and the judge's calls
//! (`JudgeCalls` by outcome, and `JudgeCostUsd`: `[judge] cost_per_call_usd` for each call the
//! model answered, well-formed or not).
//!
//! A stage's outcome only names the state a handoff ended in (`Advanced(Notified)` after an
//! assign that may or may not have routed or written the CRM in this call), so the counts come
//! from the adapters instead: [`observe`] wraps the `Services`' store and notifier, and the
//! domain stays unaware. Only successful writes and sends count, so a retried message never
//! counts twice what it did once. The SQS handler drains the tally after each batch (Lambda runs
//! one invocation at a time per execution environment).

use crate::metrics::Metric;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use handoff_domain::ids::{CompanyDomain, EmailAddress, HandoffId, RepId};
use handoff_domain::lifecycle::{HandoffRecord, TimelineEntry, Transition};
use handoff_domain::package::TriggerKind;
use handoff_domain::ports::Assignment;
use handoff_domain::ports::{
    AvailabilityOverride, CreateOutcome, DeliveryError, DuePage, HandoffStore, HandoffSummary,
    Judge, JudgeError, JudgeOpinion, JudgeRequest, Notification, NotificationKind, Notifier,
    RulesSource, StoreError,
};
use handoff_domain::privacy::Erasure;
use handoff_domain::routing::FairnessCounters;
use handoff_domain::service::Services;
use std::sync::{Arc, Mutex};

/// The metrics counted since the last [`Tally::drain`].
#[derive(Debug, Default)]
pub struct Tally(Mutex<Vec<Metric>>);

impl Tally {
    pub(crate) fn add(&self, metric: Metric) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(metric);
    }

    /// What was counted, leaving the tally empty.
    pub fn drain(&self) -> Vec<Metric> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// `services` with a store, a notifier and a judge that count into `tally`.
pub fn observe(mut services: Services, tally: &Arc<Tally>) -> Services {
    services.judge = Arc::new(CountingJudge {
        inner: services.judge,
        rules: services.rules.clone(),
        tally: tally.clone(),
    });
    services.store = Arc::new(CountingStore {
        inner: services.store,
        tally: tally.clone(),
    });
    services.notifier = Arc::new(CountingNotifier {
        inner: services.notifier,
        tally: tally.clone(),
    });
    services
}

/// The metric a successfully stored timeline entry counts for, if any (`trigger`: the
/// classification's, the class of a classified handoff).
pub fn transition_metric(event: &str, trigger: Option<TriggerKind>) -> Option<Metric> {
    // `crm_synced`: the CRM brought in line for a handoff accepted before its CRM write.
    if event == Transition::RecordCrmWrite.label() || event == "crm_synced" {
        Some(Metric::count("CrmWrites", 1))
    } else if event == Transition::Assign.label() {
        Some(Metric::count("HandoffsAssigned", 1))
    } else if event == Transition::Classify.label() {
        let class = trigger.map_or("unknown", TriggerKind::as_str);
        Some(Metric::count("HandoffsClassified", 1).by("class", class))
    } else {
        None
    }
}

/// The metrics of one judge call: `JudgeCalls` by `outcome`, and `JudgeCostUsd` when the model
/// answered (an opinion or a malformed answer; a throttled, timed-out or refused call is not
/// billed per answer).
pub fn judge_metrics(
    answer: &Result<JudgeOpinion, JudgeError>,
    cost_per_call_usd: f64,
) -> Vec<Metric> {
    let outcome = match answer {
        Ok(_) => "opinion",
        Err(JudgeError::Throttled) => "throttled",
        Err(JudgeError::Timeout) => "timeout",
        Err(JudgeError::Malformed(_)) => "malformed",
        Err(JudgeError::Unavailable(_)) => "unavailable",
        Err(JudgeError::DailyLimit(_)) => "daily_limit",
    };
    let mut out = vec![Metric::count("JudgeCalls", 1).by("outcome", outcome)];
    if matches!(answer, Ok(_) | Err(JudgeError::Malformed(_))) {
        out.push(Metric::new("JudgeCostUsd", cost_per_call_usd, "None"));
    }
    out
}

struct CountingJudge {
    inner: Arc<dyn Judge>,
    rules: Arc<dyn RulesSource>,
    tally: Arc<Tally>,
}

#[async_trait]
impl Judge for CountingJudge {
    async fn opinion(&self, request: &JudgeRequest) -> Result<JudgeOpinion, JudgeError> {
        let answer = self.inner.opinion(request).await;
        let cost = match self.rules.current().await {
            Ok(rules) => rules.judge.cost_per_call_usd,
            Err(_) => 0.0,
        };
        for metric in judge_metrics(&answer, cost) {
            self.tally.add(metric);
        }
        answer
    }
}

struct CountingNotifier {
    inner: Arc<dyn Notifier>,
    tally: Arc<Tally>,
}

#[async_trait]
impl Notifier for CountingNotifier {
    async fn notify(&self, notification: &Notification) -> Result<String, DeliveryError> {
        let receipt = self.inner.notify(notification).await?;
        let kind = match notification.kind {
            NotificationKind::Assigned => "assigned",
            NotificationKind::MovedAway { .. } => "moved_away",
            NotificationKind::NewTouch { .. } => "new_touch",
        };
        self.tally
            .add(Metric::count("Notifications", 1).by("kind", kind));
        Ok(receipt)
    }
}

/// Delegates every call; counts the transitions `update` stored.
struct CountingStore {
    inner: Arc<dyn HandoffStore>,
    tally: Arc<Tally>,
}

#[async_trait]
impl HandoffStore for CountingStore {
    async fn update(
        &self,
        record: &HandoffRecord,
        entry: &TimelineEntry,
    ) -> Result<(), StoreError> {
        self.inner.update(record, entry).await?;
        let trigger = record.classification.as_ref().map(|c| c.trigger);
        if let Some(metric) = transition_metric(&entry.event, trigger) {
            self.tally.add(metric);
        }
        Ok(())
    }

    async fn create(
        &self,
        record: &HandoffRecord,
        entry: &TimelineEntry,
    ) -> Result<CreateOutcome, StoreError> {
        self.inner.create(record, entry).await
    }
    async fn get(&self, id: &HandoffId) -> Result<Option<HandoffRecord>, StoreError> {
        self.inner.get(id).await
    }
    async fn timeline(&self, id: &HandoffId) -> Result<Vec<TimelineEntry>, StoreError> {
        self.inner.timeline(id).await
    }
    async fn due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<DuePage, StoreError> {
        self.inner.due(now, limit, cursor).await
    }
    async fn by_contact(
        &self,
        email: &EmailAddress,
        limit: usize,
    ) -> Result<Vec<HandoffSummary>, StoreError> {
        self.inner.by_contact(email, limit).await
    }
    async fn by_domain(
        &self,
        domain: &CompanyDomain,
        limit: usize,
    ) -> Result<Vec<HandoffSummary>, StoreError> {
        self.inner.by_domain(domain, limit).await
    }
    async fn created_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<HandoffRecord>, StoreError> {
        self.inner.created_between(from, to).await
    }
    async fn account_owner(&self, domain: &CompanyDomain) -> Result<Option<RepId>, StoreError> {
        self.inner.account_owner(domain).await
    }
    async fn set_account_owner(
        &self,
        domain: &CompanyDomain,
        rep: &RepId,
    ) -> Result<(), StoreError> {
        self.inner.set_account_owner(domain, rep).await
    }
    async fn rep_load(&self, rep: &RepId, day: NaiveDate) -> Result<u32, StoreError> {
        self.inner.rep_load(rep, day).await
    }
    async fn rep_loads(&self, wanted: &[(RepId, NaiveDate)]) -> Result<Vec<u32>, StoreError> {
        self.inner.rep_loads(wanted).await
    }
    async fn add_rep_load(&self, rep: &RepId, day: NaiveDate) -> Result<u32, StoreError> {
        self.inner.add_rep_load(rep, day).await
    }
    async fn fairness(&self, reps: &[RepId]) -> Result<Vec<FairnessCounters>, StoreError> {
        self.inner.fairness(reps).await
    }
    async fn record_assignment(&self, assignment: &Assignment) -> Result<Option<u32>, StoreError> {
        self.inner.record_assignment(assignment).await
    }
    async fn next_counter(&self, name: &str) -> Result<u64, StoreError> {
        self.inner.next_counter(name).await
    }
    async fn availability(&self) -> Result<Vec<AvailabilityOverride>, StoreError> {
        self.inner.availability().await
    }
    async fn set_availability(&self, value: &AvailabilityOverride) -> Result<(), StoreError> {
        self.inner.set_availability(value).await
    }
    async fn expires_at(&self, id: &HandoffId) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.inner.expires_at(id).await
    }
    async fn erase_contact(&self, email: &EmailAddress) -> Result<Erasure, StoreError> {
        self.inner.erase_contact(email).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_transitions_count_for_their_metric() {
        let classified = transition_metric("classified", Some(TriggerKind::DemoRequest)).unwrap();
        assert_eq!(
            classified,
            Metric::count("HandoffsClassified", 1).by("class", "demo_request")
        );
        assert_eq!(
            transition_metric("assigned", None),
            Some(Metric::count("HandoffsAssigned", 1))
        );
        for crm in ["crm_written", "crm_synced"] {
            assert_eq!(
                transition_metric(crm, None),
                Some(Metric::count("CrmWrites", 1))
            );
        }
        for other in [
            "crm_progress",
            "notified",
            "escalated",
            "accepted",
            "received",
        ] {
            assert_eq!(transition_metric(other, None), None, "{other}");
        }
    }

    #[test]
    fn judge_calls_count_by_outcome_and_answers_cost() {
        let opinion = Ok(JudgeOpinion {
            reply_class: handoff_domain::package::ReplyClass::Positive,
            escalate: true,
            reason: "r".into(),
        });
        assert_eq!(
            judge_metrics(&opinion, 0.0004),
            [
                Metric::count("JudgeCalls", 1).by("outcome", "opinion"),
                Metric::new("JudgeCostUsd", 0.0004, "None")
            ]
        );
        assert_eq!(
            judge_metrics(&Err(JudgeError::Malformed("x".into())), 0.001).len(),
            2,
            "a malformed answer was still an answer"
        );
        for (e, outcome) in [
            (JudgeError::Throttled, "throttled"),
            (JudgeError::Timeout, "timeout"),
            (JudgeError::Unavailable("x".into()), "unavailable"),
        ] {
            assert_eq!(
                judge_metrics(&Err(e), 0.001),
                [Metric::count("JudgeCalls", 1).by("outcome", outcome)]
            );
        }
    }

    #[test]
    fn draining_empties_the_tally() {
        let tally = Tally::default();
        tally.add(Metric::count("HandoffsAssigned", 1));
        assert_eq!(tally.drain().len(), 1);
        assert!(tally.drain().is_empty());
    }
}
