//! The second opinion inside the classify stage: the [`Judge`](crate::ports::Judge) is asked
//! only when `[judge]` names one and the rules are unsure, at most `max_calls_per_day` times a
//! UTC day (a store counter, `judge-<date>`), and its answer goes through [`crate::judge`].
//!
//! The judge never makes a message fail: its errors, and a store that cannot count today's
//! calls, keep the rules' classification with one evidence entry saying why. A replayed message
//! may ask again (the classification is stored only with the transition), which costs one more
//! call and changes nothing else.

use super::Services;
use crate::config::Rules;
use crate::judge;
use crate::lifecycle::HandoffRecord;
use crate::package::Classification;
use crate::ports::JudgeError;
use chrono::{DateTime, Utc};

impl Services {
    /// The classification after a second opinion (unchanged when none is asked).
    pub(crate) async fn second_opinion(
        &self,
        record: &HandoffRecord,
        classification: Classification,
        rules: &Rules,
        now: DateTime<Utc>,
    ) -> Classification {
        let settings = &rules.judge;
        if !judge::should_ask(settings, &classification) {
            return classification;
        }
        let model = settings.model();
        if let Some(max) = settings.max_calls_per_day {
            let counter = format!("judge-{}", now.date_naive());
            let refused = match self.store.next_counter(&counter).await {
                Ok(n) if n > u64::from(max) => Some(JudgeError::DailyLimit(max)),
                Ok(_) => None,
                Err(_) => Some(JudgeError::Unavailable(
                    "today's call count could not be read".into(),
                )),
            };
            if let Some(e) = refused {
                return judge::without_opinion(classification, &e, model);
            }
        }
        let request = judge::request(&record.event, &classification);
        let answer = self.judge.opinion(&request).await;
        judge::apply(classification, &answer, model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claim_link::ClaimSigner;
    use crate::ids::{CompanyDomain, EmailAddress, HandoffId, RepId};
    use crate::lifecycle::TimelineEntry;
    use crate::package::{NextAction, ReplyClass, TriggerKind};
    use crate::ports::{
        AvailabilityOverride, CreateOutcome, Crm, CrmRefs, CrmStep, CrmWrite, DeadLetter, Delivery,
        DeliveryError, DuePage, HandoffStore, HandoffSummary, Judge, JudgeOpinion, JudgeRequest,
        ManualClock, Notification, Notifier, OutboundThread, QueueError, Stage, StageMessage,
        StageQueue, StaticRules, StoreError, ThreadIndex,
    };
    use crate::privacy::Erasure;
    use async_trait::async_trait;
    use chrono::NaiveDate;
    use futures_util::FutureExt;
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    /// A judge that answers from a script and remembers what it was asked.
    #[derive(Default)]
    struct FakeJudge {
        answer: Mutex<Option<Result<JudgeOpinion, JudgeError>>>,
        asked: Mutex<Vec<JudgeRequest>>,
    }

    impl FakeJudge {
        fn answering(answer: Result<JudgeOpinion, JudgeError>) -> Arc<Self> {
            Arc::new(Self {
                answer: Mutex::new(Some(answer)),
                asked: Mutex::default(),
            })
        }
        fn asked(&self) -> Vec<JudgeRequest> {
            self.asked.lock().unwrap().clone()
        }
    }

    #[async_trait]
    impl Judge for FakeJudge {
        async fn opinion(&self, request: &JudgeRequest) -> Result<JudgeOpinion, JudgeError> {
            self.asked.lock().unwrap().push(request.clone());
            self.answer
                .lock()
                .unwrap()
                .clone()
                .expect("a scripted answer")
        }
    }

    /// The ports this use case does not touch, except the store's counters.
    #[derive(Default)]
    struct Counters {
        counters: Mutex<BTreeMap<String, u64>>,
        fail: bool,
    }

    #[async_trait]
    impl HandoffStore for Counters {
        async fn next_counter(&self, name: &str) -> Result<u64, StoreError> {
            if self.fail {
                return Err(StoreError::Unavailable("throttled".into()));
            }
            let mut c = self.counters.lock().unwrap();
            let n = c.entry(name.to_string()).or_default();
            *n += 1;
            Ok(*n)
        }
        async fn create(
            &self,
            _: &HandoffRecord,
            _: &TimelineEntry,
        ) -> Result<CreateOutcome, StoreError> {
            unreachable!()
        }
        async fn get(&self, _: &HandoffId) -> Result<Option<HandoffRecord>, StoreError> {
            unreachable!()
        }
        async fn update(&self, _: &HandoffRecord, _: &TimelineEntry) -> Result<(), StoreError> {
            unreachable!()
        }
        async fn timeline(&self, _: &HandoffId) -> Result<Vec<TimelineEntry>, StoreError> {
            unreachable!()
        }
        async fn due(
            &self,
            _: DateTime<Utc>,
            _: usize,
            _: Option<String>,
        ) -> Result<DuePage, StoreError> {
            unreachable!()
        }
        async fn by_contact(
            &self,
            _: &EmailAddress,
            _: usize,
        ) -> Result<Vec<HandoffSummary>, StoreError> {
            unreachable!()
        }
        async fn by_domain(
            &self,
            _: &CompanyDomain,
            _: usize,
        ) -> Result<Vec<HandoffSummary>, StoreError> {
            unreachable!()
        }
        async fn created_between(
            &self,
            _: DateTime<Utc>,
            _: DateTime<Utc>,
        ) -> Result<Vec<HandoffRecord>, StoreError> {
            unreachable!()
        }
        async fn account_owner(&self, _: &CompanyDomain) -> Result<Option<RepId>, StoreError> {
            unreachable!()
        }
        async fn set_account_owner(&self, _: &CompanyDomain, _: &RepId) -> Result<(), StoreError> {
            unreachable!()
        }
        async fn rep_load(&self, _: &RepId, _: NaiveDate) -> Result<u32, StoreError> {
            unreachable!()
        }
        async fn fairness(
            &self,
            _: &[RepId],
        ) -> Result<Vec<crate::routing::FairnessCounters>, StoreError> {
            unreachable!()
        }
        async fn record_assignment(
            &self,
            _: &crate::ports::Assignment,
        ) -> Result<Option<u32>, StoreError> {
            unreachable!()
        }
        async fn availability(&self) -> Result<Vec<AvailabilityOverride>, StoreError> {
            unreachable!()
        }
        async fn set_availability(&self, _: &AvailabilityOverride) -> Result<(), StoreError> {
            unreachable!()
        }
        async fn expires_at(&self, _: &HandoffId) -> Result<Option<DateTime<Utc>>, StoreError> {
            unreachable!()
        }
        async fn erase_contact(&self, _: &EmailAddress) -> Result<Erasure, StoreError> {
            unreachable!()
        }
    }

    struct Untouched;

    #[async_trait]
    impl StageQueue for Untouched {
        async fn send(&self, _: Stage, _: &[StageMessage]) -> Result<(), QueueError> {
            unreachable!()
        }
        async fn receive(
            &self,
            _: Stage,
            _: usize,
            _: Duration,
        ) -> Result<Vec<Delivery>, QueueError> {
            unreachable!()
        }
        async fn ack(&self, _: Stage, _: &str) -> Result<(), QueueError> {
            unreachable!()
        }
        async fn dead_letter(&self, _: Stage, _: &Delivery, _: &str) -> Result<(), QueueError> {
            unreachable!()
        }
        async fn postpone(&self, _: Stage, _: &Delivery, _: Duration) -> Result<(), QueueError> {
            unreachable!()
        }
        async fn dead_letters(&self, _: Stage, _: usize) -> Result<Vec<DeadLetter>, QueueError> {
            unreachable!()
        }
    }

    #[async_trait]
    impl ThreadIndex for Untouched {
        async fn put_thread(&self, _: &OutboundThread) -> Result<(), StoreError> {
            unreachable!()
        }
        async fn find_thread(&self, _: &[String]) -> Result<Option<OutboundThread>, StoreError> {
            unreachable!()
        }
    }

    #[async_trait]
    impl Crm for Untouched {
        async fn sync(&self, _: &CrmWrite, _: &CrmRefs) -> Result<CrmStep, DeliveryError> {
            unreachable!()
        }
    }

    #[async_trait]
    impl Notifier for Untouched {
        async fn notify(&self, _: &Notification) -> Result<String, DeliveryError> {
            unreachable!()
        }
    }

    const MODEL: &str = "anthropic.claude-3-haiku-20240307-v1:0";

    fn rules(block: &str) -> Rules {
        let text = format!(
            "{}\n{block}\n",
            include_str!("../../../../examples/handoff.toml")
        );
        Rules::from_toml("rules.toml", &text).unwrap()
    }

    fn bedrock(extra: &str) -> Rules {
        rules(&format!(
            "[judge]\nkind = \"bedrock\"\nmodel_id = \"{MODEL}\"\n{extra}"
        ))
    }

    fn services(judge: Arc<dyn Judge>, store: Counters, rules: &Rules) -> Services {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-24T14:05:00Z")
            .unwrap()
            .with_timezone(&Utc);
        Services {
            store: Arc::new(store),
            queue: Arc::new(Untouched),
            threads: Arc::new(Untouched),
            crm: Arc::new(Untouched),
            notifier: Arc::new(Untouched),
            clock: Arc::new(ManualClock::new(now)),
            rules: Arc::new(StaticRules(Arc::new(rules.clone()))),
            judge,
            claims: ClaimSigner::new(vec![7; 32]),
            public_url: String::new(),
            claim_link_ttl: chrono::Duration::days(7),
        }
    }

    /// The out-of-office example as the rules classified it, made unsure (or sure).
    fn case(unsure: bool) -> (HandoffRecord, Classification) {
        let event = serde_json::from_str(include_str!(
            "../../../../examples/events/06-out-of-office.json"
        ))
        .unwrap();
        let (record, _) = HandoffRecord::received(event, Utc::now());
        let mut c = crate::classify::classify(
            &record.event,
            &crate::classify::MatchContext::default(),
            &rules(""),
        );
        assert!(!c.escalate, "the away notice is handled by the automation");
        c.needs_confirmation = unsure.then(|| "out_of_office or meeting_request".to_string());
        (record, c)
    }

    /// Runs a use case whose ports never wait.
    fn run<T>(f: impl std::future::Future<Output = T>) -> T {
        f.now_or_never().expect("the fakes answer at once")
    }

    fn ask(services: &Services, rules: &Rules, unsure: bool) -> (Classification, Classification) {
        let (record, before) = case(unsure);
        let now = services.clock.now();
        let after = run(services.second_opinion(&record, before.clone(), rules, now));
        (before, after)
    }

    fn meeting(escalate: bool) -> Result<JudgeOpinion, JudgeError> {
        Ok(JudgeOpinion {
            reply_class: ReplyClass::MeetingRequest,
            escalate,
            reason: "The buyer asks to meet when back.".into(),
        })
    }

    #[test]
    fn an_unsure_quiet_case_goes_to_a_human_when_the_judge_says_so() {
        let judge = FakeJudge::answering(meeting(true));
        let rules = bedrock("");
        let s = services(judge.clone(), Counters::default(), &rules);
        let (before, after) = ask(&s, &rules, true);
        assert_eq!(judge.asked().len(), 1);
        let asked = &judge.asked()[0];
        assert!(
            asked.words.starts_with("Thank you for your message."),
            "{}",
            asked.words
        );
        assert_eq!(asked.unsure_because, "out_of_office or meeting_request");
        assert!(!before.escalate);
        assert!(after.escalate);
        assert_eq!(after.automation, None);
        assert_eq!(after.trigger, TriggerKind::NeedsJudgment);
        assert_eq!(after.reply_class, Some(ReplyClass::MeetingRequest));
        assert_eq!(after.next_step.action, NextAction::ProposeMeetingTimes);
        assert!(after
            .evidence
            .iter()
            .any(|e| e.supports == "judge:escalate:true" && e.source == format!("judge:{MODEL}")));
    }

    #[test]
    fn a_confident_case_never_calls_the_judge() {
        let judge = FakeJudge::answering(meeting(true));
        let rules = bedrock("");
        let s = services(judge.clone(), Counters::default(), &rules);
        let (before, after) = ask(&s, &rules, false);
        assert!(judge.asked().is_empty());
        assert_eq!(after, before);
    }

    #[test]
    fn no_judge_is_asked_while_the_rules_name_none() {
        let judge = FakeJudge::answering(meeting(true));
        let rules = rules("");
        let s = services(judge.clone(), Counters::default(), &rules);
        let (before, after) = ask(&s, &rules, true);
        assert!(judge.asked().is_empty());
        assert_eq!(after, before);
    }

    #[test]
    fn a_failing_judge_keeps_the_rules_classification() {
        for error in [
            JudgeError::Throttled,
            JudgeError::Timeout,
            JudgeError::Malformed("no toolUse block".into()),
        ] {
            let judge = FakeJudge::answering(Err(error.clone()));
            let rules = bedrock("");
            let s = services(judge, Counters::default(), &rules);
            let (before, after) = ask(&s, &rules, true);
            assert_eq!(after.evidence.len(), before.evidence.len() + 1, "{error}");
            let mut rest = after.clone();
            let last = rest.evidence.pop().unwrap();
            assert_eq!(rest, before, "{error}");
            assert_eq!(last.supports, judge::UNAVAILABLE);
            assert!(
                last.excerpt.starts_with(&error.to_string()),
                "{}",
                last.excerpt
            );
        }
    }

    #[test]
    fn the_daily_limit_stops_calling_and_says_so() {
        let judge = FakeJudge::answering(meeting(false));
        let rules = bedrock("max_calls_per_day = 2");
        let s = services(judge.clone(), Counters::default(), &rules);
        for _ in 0..2 {
            let (_, after) = ask(&s, &rules, true);
            assert_eq!(
                after.evidence.last().unwrap().supports,
                "judge:escalate:false"
            );
        }
        let (before, after) = ask(&s, &rules, true);
        assert_eq!(
            judge.asked().len(),
            2,
            "the third case of the day is not sent"
        );
        assert!(!after.escalate);
        assert_eq!(after.evidence.len(), before.evidence.len() + 1);
        assert_eq!(
            after.evidence.last().unwrap().excerpt,
            "daily limit of 2 calls reached; the rules' classification stands"
        );
    }

    #[test]
    fn a_store_that_cannot_count_keeps_the_rules_classification() {
        let judge = FakeJudge::answering(meeting(true));
        let rules = bedrock("max_calls_per_day = 10");
        let store = Counters {
            fail: true,
            ..Counters::default()
        };
        let s = services(judge.clone(), store, &rules);
        let (before, after) = ask(&s, &rules, true);
        assert!(judge.asked().is_empty());
        assert!(!after.escalate);
        assert_eq!(after.evidence.len(), before.evidence.len() + 1);
        assert_eq!(after.evidence.last().unwrap().supports, judge::UNAVAILABLE);
    }

    #[test]
    fn the_judge_kind_is_read_from_the_rules_in_force() {
        // The same services, other rules: kind none asks nobody.
        let judge = FakeJudge::answering(meeting(true));
        let on = bedrock("");
        let s = services(judge.clone(), Counters::default(), &on);
        let (record, c) = case(true);
        let off = rules("");
        let now = s.clock.now();
        let after = run(s.second_opinion(&record, c.clone(), &off, now));
        assert_eq!(after, c);
        assert!(judge.asked().is_empty());
    }
}
