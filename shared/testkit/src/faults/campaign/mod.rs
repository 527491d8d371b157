//! The seeded fault campaign: the whole pipeline on a given store and queues, with every port
//! behind a faulty wrapper sharing one seeded [`FaultPlan`], judged at the end: every accepted
//! event processed exactly once or dead-lettered with a reason — none lost, and no duplicate
//! notification that an ambiguous outside call does not explain.
//!
//! How a run goes ([`run`]):
//! 1. A provider sends the events ([`events`]), a few at once. Each try reads the provider's
//!    secret (as the intake edge does) and calls intake; a failed try is retried, up to
//!    [`Settings::provider_tries`] times, like a webhook sender. An event is *accepted* once
//!    intake answered Ok.
//! 2. Meanwhile consumers poll each stage's queue and hand every delivery to
//!    `Services::consume` with a fast retry policy — or, when the plan says the consumer
//!    crashes, run the stage and leave the delivery unanswered (it comes back after its
//!    visibility timeout). Several consumers per stage and no lock per handoff: two messages
//!    of one handoff (a re-send, a re-drive) are often worked on at once, which the stage's
//!    lease must handle. Like any consumer, they leave alone a delivery whose visibility
//!    timeout ran out while it waited its turn in a batch.
//! 3. Once no delivery is in hand and the queues stay quiet for longer than a message stays
//!    hidden, the clock moves [`Settings::sweep_step`] and the sweep runs, as production's timer
//!    does (it re-drives every handoff still owed a stage past its deadline, a dead-lettered one
//!    included); again and again (at least [`Settings::min_sweep_rounds`], at most
//!    [`Settings::max_sweep_rounds`]) until every accepted event is done.
//! 4. The consumers stop and the verdict is read from the real adapters, past the faults: the
//!    records, the dead-letter queues, and what the recording CRM and notifier received.
//!
//! The campaign's rules ([`RULES`]) have one team working around the clock with SLAs of about
//! ten weeks, so every escalated event is assigned and notified at once and the sweep never
//! reroutes one: "notified exactly once" means one notification per escalated event.

mod events;
mod report;
mod workers;

pub use events::{events, CampaignEvent, Expect, RULES};
pub use report::{CampaignReport, EventResult, Outcome, Row, SweepTally};

use super::fakes::{RecordingCrm, RecordingNotifier};
use super::plan::{FaultKind, FaultPlan, Port, PortOdds};
use super::{FaultyCrm, FaultyNotifier, FaultyQueue, FaultySecrets, FaultyStore, FaultyThreads};
use chrono::{DateTime, TimeZone, Utc};
use handoff_connectors::secrets::{SecretSource, StaticSecrets};
use handoff_domain::claim_link::ClaimSigner;
use handoff_domain::config::Rules;
use handoff_domain::ids::HandoffId;
use handoff_domain::lifecycle::{HandoffRecord, State};
use handoff_domain::ports::{
    HandoffStore, ManualClock, NoJudge, Stage, StageQueue, StaticRules, ThreadIndex,
};
use handoff_domain::service::delivery::RetryPolicy;
use handoff_domain::service::Services;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use workers::{provide, spawn_consumers, Activity};

/// The environment variable that overrides the seed.
pub const SEED_VAR: &str = "HANDOFF_CAMPAIGN_SEED";
/// The seed when [`SEED_VAR`] is unset.
pub const DEFAULT_SEED: u64 = 20_261_126;
/// The seed from [`SEED_VAR`] (decimal, or hexadecimal with `0x`), else [`DEFAULT_SEED`].
///
/// # Panics
/// When the variable is set to something that is not a number.
pub fn seed_from_env() -> u64 {
    match std::env::var(SEED_VAR) {
        Err(_) => DEFAULT_SEED,
        Ok(raw) if raw.trim().is_empty() => DEFAULT_SEED,
        Ok(raw) => {
            let raw = raw.trim();
            let parsed = match raw.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => raw.parse(),
            };
            parsed.unwrap_or_else(|_| panic!("{SEED_VAR}={raw:?} is not a seed: use a number"))
        }
    }
}

/// Where the campaign runs: the store, the thread index and the queues (fresh and empty), and
/// the timing they allow.
pub struct Backend {
    /// Named in the report ("SQLite", "DynamoDB and SQS").
    pub name: &'static str,
    pub store: Arc<dyn HandoffStore>,
    pub threads: Arc<dyn ThreadIndex>,
    pub queue: Arc<dyn StageQueue>,
    /// How long a received message stays hidden (SQS: whole seconds).
    pub visibility: Duration,
    /// The longest a postponed message stays hidden with the campaign's policy (SQS rounds a
    /// postponement up to a whole second).
    pub longest_postponement: Duration,
    /// Messages per receive: few enough that a consumer answers them all within the visibility
    /// timeout.
    pub batch: usize,
    /// Consumers per stage.
    pub consumers: usize,
    /// How long a consumer waits after an empty receive.
    pub poll_pause: Duration,
    /// The consumers' retry policy (on SQS, within the queue's `maxReceiveCount`).
    pub policy: RetryPolicy,
}

/// How a campaign is run.
#[derive(Debug, Clone)]
pub struct Settings {
    pub seed: u64,
    /// Which part of a campaign split over several backends this is ([`Settings::split`]):
    /// each part sends events of its own, so their ids and faults differ.
    pub part: usize,
    /// Events the provider sends.
    pub events: usize,
    /// Events in intake at once.
    pub intake_at_once: usize,
    /// Tries of one event before the provider gives up.
    pub provider_tries: usize,
    pub odds: Vec<PortOdds>,
    pub sweep_step: chrono::Duration,
    pub min_sweep_rounds: usize,
    pub max_sweep_rounds: usize,
}

impl Settings {
    /// The campaign the tests run: 1,050 events, 8 at once, six provider tries, the
    /// [`standard_odds`] and sweeps every 10 minutes of clock, 1 to 12 rounds.
    pub fn standard(seed: u64) -> Self {
        Self {
            seed,
            part: 0,
            events: 1_050,
            intake_at_once: 8,
            provider_tries: 6,
            odds: standard_odds(),
            sweep_step: chrono::Duration::minutes(10),
            min_sweep_rounds: 1,
            max_sweep_rounds: 12,
        }
    }

    /// These settings as `parts` campaigns of their own (run each on a fresh backend, then
    /// [`CampaignReport::merge`]), together sending at least as many events.
    pub fn split(&self, parts: usize) -> Vec<Settings> {
        let parts = parts.max(1);
        (0..parts)
            .map(|part| Settings {
                part,
                events: self.events.div_ceil(parts),
                ..self.clone()
            })
            .collect()
    }
}

/// The policy of the campaign's consumers: 1 ms doubling to 20 ms, 40 attempts.
pub const FAST_POLICY: RetryPolicy = RetryPolicy {
    first: Duration::from_millis(1),
    cap: Duration::from_millis(20),
    max_attempts: 40,
};

/// The odds the tests run with: every call of the store fails with a chance of 4 %, the queue
/// 4 %, the CRM and notifier 6 % (a permanent rejection in about one failure in twenty), a
/// secret read 5 %, and the consumer crashes before 4 % of its answers.
pub fn standard_odds() -> Vec<PortOdds> {
    let transient = |after_write: u32| {
        vec![
            (FaultKind::Throttled, 30),
            (FaultKind::TimedOut, 20),
            (FaultKind::ServerError, 20),
            (FaultKind::ErrorAfterWrite, after_write),
        ]
    };
    let outside = {
        let mut kinds = transient(30);
        kinds.push((FaultKind::Rejected, 5));
        kinds
    };
    vec![
        PortOdds {
            port: Port::Store,
            per_call: 0.04,
            kinds: transient(30),
        },
        PortOdds {
            port: Port::Queue,
            per_call: 0.04,
            kinds: transient(30),
        },
        PortOdds {
            port: Port::Crm,
            per_call: 0.06,
            kinds: outside.clone(),
        },
        PortOdds {
            port: Port::Notifier,
            per_call: 0.06,
            kinds: outside,
        },
        PortOdds {
            port: Port::Secrets,
            per_call: 0.05,
            kinds: transient(0),
        },
        PortOdds {
            port: Port::Consumer,
            per_call: 0.04,
            kinds: vec![(FaultKind::CrashBeforeAnswer, 1)],
        },
    ]
}

/// When the campaign's clock starts: a Tuesday afternoon.
fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 15, 0, 0)
        .single()
        .expect("a valid start time")
}

/// The claim-link key (claim links are signed into notifications; nobody clicks them here).
const CLAIM_KEY: &[u8] = b"fault-campaign-claim-link-key-of-more-than-32-bytes";

/// Runs a campaign on `backend` (see the module docs) and reports what became of every event.
///
/// # Panics
/// When the campaign cannot be set up or read at the end (the real adapters fail outside the
/// injected faults): that is a broken environment, not a finding.
pub async fn run(backend: Backend, settings: Settings) -> CampaignReport {
    let started = Instant::now();
    let plan = FaultPlan::seeded(settings.seed, settings.odds.clone())
        .with_timeout_delay(Duration::from_millis(2));
    let plan = Arc::new(plan);
    let crm = Arc::new(RecordingCrm::new());
    let notifier = Arc::new(RecordingNotifier::new());
    let clock = Arc::new(ManualClock::new(start()));
    let rules = Rules::from_toml("the fault campaign's rules", RULES)
        .expect("the campaign's rules are valid");
    let services = Arc::new(Services {
        store: Arc::new(FaultyStore::with_plan(backend.store.clone(), plan.clone())),
        queue: Arc::new(FaultyQueue::with_plan(backend.queue.clone(), plan.clone())),
        threads: Arc::new(FaultyThreads::with_plan(
            backend.threads.clone(),
            plan.clone(),
        )),
        crm: Arc::new(FaultyCrm::with_plan(crm.clone(), plan.clone())),
        notifier: Arc::new(FaultyNotifier::with_plan(notifier.clone(), plan.clone())),
        clock: clock.clone(),
        rules: Arc::new(StaticRules(Arc::new(rules))),
        judge: Arc::new(NoJudge),
        claims: ClaimSigner::new(CLAIM_KEY.to_vec()),
        public_url: "http://claims.campaign.invalid".into(),
        claim_link_ttl: chrono::Duration::days(7),
    });
    let run_tag = format!("{:x}-{}", settings.seed, settings.part);
    let sent = events(&run_tag, settings.part * settings.events, settings.events);
    let secrets: Arc<dyn SecretSource> = Arc::new(FaultySecrets::with_plan(
        Arc::new(StaticSecrets(
            sent.iter()
                .map(|e| {
                    (
                        e.event.source.as_str().to_string(),
                        "campaign-secret".into(),
                    )
                })
                .collect(),
        )),
        plan.clone(),
    ));

    let activity = Arc::new(Activity::new());
    let stop = Arc::new(AtomicBool::new(false));
    let consumers = spawn_consumers(&backend, &services, &plan, &activity, &stop);

    let mut phases = Vec::new();
    let accepted_after = provide(&sent, &services, &secrets, &settings).await;
    phases.push((
        "the provider sent every event".to_string(),
        started.elapsed(),
    ));
    activity.touch();

    let quiet = backend.visibility + backend.longest_postponement + Duration::from_millis(300);
    let mut sweep = SweepTally::default();
    loop {
        activity.quiet_for(quiet).await;
        if sweep.rounds == 0 {
            phases.push(("the queues were quiet".to_string(), started.elapsed()));
        }
        let enough = sweep.rounds >= settings.min_sweep_rounds;
        if sweep.rounds >= settings.max_sweep_rounds
            || (enough && settled(&backend, &sent, &accepted_after).await)
        {
            break;
        }
        clock.advance(settings.sweep_step);
        sweep.rounds += 1;
        sweep.clock_advanced_minutes += settings.sweep_step.num_minutes();
        match services.sweep(100, 4).await {
            Ok(r) => {
                sweep.due += r.due;
                sweep.redriven += r.redriven;
                sweep.moved += r.rerouted + r.escalated;
                sweep.failed += r.failed;
            }
            Err(_) => sweep.sweeps_failed += 1,
        }
        activity.touch();
    }
    phases.push(("the last sweep round ended".to_string(), started.elapsed()));
    stop.store(true, Ordering::SeqCst);
    for consumer in consumers {
        consumer.await.expect("a consumer panicked");
    }

    let records = records(&backend).await;
    let dead_letters = dead_letters(&backend).await;
    let assigned = notifier.count_by_handoff("assigned");
    let other_notifications = notifier
        .delivered()
        .iter()
        .filter(|d| d.kind != "assigned")
        .count();
    let injections = plan.injections();
    let mut by_handoff: HashMap<&HandoffId, Vec<&super::Injection>> = HashMap::new();
    let mut unattributed = 0;
    let mut injected = BTreeMap::new();
    for i in &injections {
        *injected.entry((i.port, i.method, i.kind)).or_default() += 1;
        match &i.handoff {
            Some(id) => by_handoff.entry(id).or_default().push(i),
            None => unattributed += 1,
        }
    }
    let results = sent
        .iter()
        .zip(&accepted_after)
        .map(|(e, accepted)| {
            EventResult::judge(
                e.handoff_id.clone(),
                e.template,
                e.expect,
                *accepted,
                records.get(&e.handoff_id).map(|r| r.state),
                assigned.get(&e.handoff_id).copied().unwrap_or(0),
                &crm.ledger(&e.handoff_id),
                dead_letters.get(&e.handoff_id).cloned().unwrap_or_default(),
                by_handoff
                    .get(&e.handoff_id)
                    .map(Vec::as_slice)
                    .unwrap_or_default(),
            )
        })
        .collect();
    CampaignReport {
        backend: backend.name,
        parts: 1,
        seed: settings.seed,
        events: results,
        injected,
        calls: plan.calls_made(),
        time_spent: plan.time_spent(),
        unattributed,
        sweep,
        other_notifications,
        phases,
        wall: started.elapsed(),
    }
}

/// Every stored record, read past the faults. Records are created while the campaign's clock
/// runs (a few hours from [`start`]); the window stays narrow because DynamoDB reads the created
/// index one day at a time.
async fn records(backend: &Backend) -> HashMap<HandoffId, HandoffRecord> {
    let from = start() - chrono::Duration::days(1);
    let to = start() + chrono::Duration::days(2);
    backend
        .store
        .created_between(from, to)
        .await
        .expect("the store answers the campaign's final read")
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect()
}

/// The dead-letter reasons of every handoff, both stages, read past the faults.
async fn dead_letters(backend: &Backend) -> HashMap<HandoffId, Vec<String>> {
    let mut out: HashMap<HandoffId, Vec<String>> = HashMap::new();
    for stage in Stage::ALL {
        let letters = backend
            .queue
            .dead_letters(stage, 100_000)
            .await
            .expect("the queue lists its dead letters");
        for letter in letters {
            if let Some(id) = letter.handoff_id {
                out.entry(id).or_default().push(format!(
                    "{} stage: {}",
                    stage.as_str(),
                    letter.reason
                ));
            }
        }
    }
    out
}

/// Whether every accepted event is done. One whose message was dead-lettered is not: the
/// sweep re-drives it from its record, so more rounds may still finish it.
async fn settled(backend: &Backend, sent: &[CampaignEvent], accepted: &[Option<usize>]) -> bool {
    let records = records(backend).await;
    sent.iter().zip(accepted).all(|(e, accepted)| {
        let done = match e.expect {
            Expect::Notified => State::Notified,
            Expect::ClosedWithoutHandoff => State::ClosedWithoutHandoff,
        };
        accepted.is_none() || records.get(&e.handoff_id).map(|r| r.state) == Some(done)
    })
}
