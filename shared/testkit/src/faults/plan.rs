//! The [`FaultPlan`] every faulty wrapper consults before a call: what may fail (scripted faults
//! first, then seeded odds per port), and the log of what was injected, per port, method, kind
//! and handoff.

use super::rng;
use handoff_domain::ids::HandoffId;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

/// Which port a call goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Port {
    /// The handoff store (and the thread index it also is).
    Store,
    /// The stage queues.
    Queue,
    Crm,
    Notifier,
    /// The provider secrets.
    Secrets,
    /// Not an adapter: the campaign's queue consumer, which may crash between running a stage
    /// and answering its delivery.
    Consumer,
}

impl Port {
    /// Every port, in report order.
    pub const ALL: [Port; 6] = [
        Port::Store,
        Port::Queue,
        Port::Crm,
        Port::Notifier,
        Port::Secrets,
        Port::Consumer,
    ];

    /// The port in a sentence ("the store").
    pub fn describe(self) -> &'static str {
        match self {
            Port::Store => "store",
            Port::Queue => "queue",
            Port::Crm => "CRM",
            Port::Notifier => "notifier",
            Port::Secrets => "secret store",
            Port::Consumer => "consumer",
        }
    }
}

/// What an injected fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    /// The service refused for rate (HTTP 429, `ThrottlingException`): transient.
    Throttled,
    /// No answer in time, nothing written: transient.
    TimedOut,
    /// A 5xx-like failure, nothing written: transient.
    ServerError,
    /// The CRM or notifier refused the request for good (a 4xx that retrying cannot fix).
    Rejected,
    /// The call did its work, then failed before answering (a lost answer, a timeout after the
    /// write): transient, and the caller cannot tell whether it happened.
    ErrorAfterWrite,
    /// The consumer died after the stage ran and before it answered the delivery (ack,
    /// postpone or dead letter): the message comes back after its visibility timeout.
    CrashBeforeAnswer,
}

impl FaultKind {
    /// Every kind, in report order.
    pub const ALL: [FaultKind; 6] = [
        FaultKind::Throttled,
        FaultKind::TimedOut,
        FaultKind::ServerError,
        FaultKind::Rejected,
        FaultKind::ErrorAfterWrite,
        FaultKind::CrashBeforeAnswer,
    ];

    /// The kind as a report row names it.
    pub fn describe(self) -> &'static str {
        match self {
            FaultKind::Throttled => "throttled",
            FaultKind::TimedOut => "timed out",
            FaultKind::ServerError => "server error (5xx)",
            FaultKind::Rejected => "rejected for good",
            FaultKind::ErrorAfterWrite => "error after the write succeeded",
            FaultKind::CrashBeforeAnswer => "crash before the answer",
        }
    }

    /// What happened to the call, completing "the store's update call …".
    fn outcome(self) -> &'static str {
        match self {
            FaultKind::Throttled => "was throttled",
            FaultKind::TimedOut => "timed out",
            FaultKind::ServerError => "failed with a server error",
            FaultKind::Rejected => "was rejected for good",
            FaultKind::ErrorAfterWrite => "did its work, then failed before answering",
            FaultKind::CrashBeforeAnswer => "crashed before answering",
        }
    }

    /// Whether `port` can fail this way: a permanent rejection only at the CRM and the
    /// notifier, a crash only at the consumer, an error after a write nowhere the port only
    /// reads (the secrets).
    pub fn applies_to(self, port: Port) -> bool {
        match self {
            FaultKind::Throttled | FaultKind::TimedOut | FaultKind::ServerError => {
                port != Port::Consumer
            }
            FaultKind::Rejected => matches!(port, Port::Crm | Port::Notifier),
            FaultKind::ErrorAfterWrite => {
                matches!(port, Port::Store | Port::Queue | Port::Crm | Port::Notifier)
            }
            FaultKind::CrashBeforeAnswer => port == Port::Consumer,
        }
    }

    /// Whether the caller should retry (everything but a rejection).
    pub fn is_transient(self) -> bool {
        self != FaultKind::Rejected
    }
}

/// One call a wrapper is about to make, as the plan sees it.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub port: Port,
    /// The port trait's method name (`update`, `send`, `notify`).
    pub method: &'static str,
    /// A finer step within the method, when the wrapper knows it: the timeline event a store
    /// update records (`notified`), the stage a message goes to, the provider of a secret.
    pub step: Option<&'a str>,
    /// Whether the call changes anything (only those can fail after their write).
    pub writes: bool,
    /// The handoff the call is about, when its arguments say (otherwise [`on_behalf_of`]'s).
    pub handoff: Option<&'a HandoffId>,
}

impl Call<'_> {
    /// The message of an injected fault: "injected fault: the store's update call timed out".
    pub fn message(&self, kind: FaultKind) -> String {
        format!(
            "injected fault: the {}'s {} call {}",
            self.port.describe(),
            self.method.replace('_', " "),
            kind.outcome()
        )
    }
}

/// One injected fault, as logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Injection {
    pub port: Port,
    pub method: &'static str,
    pub step: Option<String>,
    pub kind: FaultKind,
    /// The handoff it hit, when known.
    pub handoff: Option<HandoffId>,
}

/// How often one port fails at random, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct PortOdds {
    pub port: Port,
    /// The probability that one call fails (0 to 1).
    pub per_call: f64,
    /// The kinds a failing call takes, with relative weights; kinds that do not apply to the
    /// port, or to a call that writes nothing ([`FaultKind::ErrorAfterWrite`]), are skipped.
    pub kinds: Vec<(FaultKind, u32)>,
}

/// Calls the seeded odds leave alone: every call of `method` at `port`, or only those of one
/// step, and every kind of fault or only one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Spared {
    port: Port,
    method: &'static str,
    step: Option<&'static str>,
    kind: Option<FaultKind>,
}

tokio::task_local! {
    static ON_BEHALF_OF: HandoffId;
}

/// Runs `work` as work on handoff `id`: an injection during it whose call names no handoff of
/// its own is logged against `id` (a routing read, a load count, a queue ack).
pub async fn on_behalf_of<F: Future>(id: HandoffId, work: F) -> F::Output {
    ON_BEHALF_OF.scope(id, work).await
}

fn handoff_in_scope() -> Option<HandoffId> {
    ON_BEHALF_OF.try_with(|id| id.clone()).ok()
}

#[derive(Default)]
struct PlanState {
    scripted: BTreeMap<(Port, &'static str), VecDeque<FaultKind>>,
    /// Scripted for one step of a method only ([`FaultPlan::script_step`]).
    scripted_steps: BTreeMap<(Port, &'static str, String), VecDeque<FaultKind>>,
    /// Calls seen so far per call key (port, method, step, handoff): the draw of the n-th call
    /// with one key depends only on the seed, the key and n, not on how tasks interleave.
    calls: HashMap<u64, u64>,
    /// Every call the plan was asked about, by port and method.
    made: BTreeMap<(Port, &'static str), usize>,
    /// Time spent in the inner adapters' calls, by port and method.
    spent: BTreeMap<(Port, &'static str), Duration>,
    injected: Vec<Injection>,
}

/// What may fail, and what did (see the module docs of [`crate::faults`]).
pub struct FaultPlan {
    seed: u64,
    odds: Vec<PortOdds>,
    spared: Vec<Spared>,
    timeout_delay: Duration,
    state: Mutex<PlanState>,
}

impl std::fmt::Debug for FaultPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultPlan")
            .field("seed", &self.seed)
            .field("odds", &self.odds)
            .finish_non_exhaustive()
    }
}

impl FaultPlan {
    /// Nothing fails unless scripted.
    pub fn quiet() -> Self {
        Self::seeded(0, Vec::new())
    }

    /// Calls fail at random with `odds`, drawn from `seed` (scripted faults still come first).
    pub fn seeded(seed: u64, odds: Vec<PortOdds>) -> Self {
        for o in &odds {
            assert!(
                (0.0..=1.0).contains(&o.per_call),
                "the {} fails {} of its calls: a probability is between 0 and 1",
                o.port.describe(),
                o.per_call
            );
        }
        Self {
            seed,
            odds,
            spared: Vec::new(),
            timeout_delay: Duration::ZERO,
            state: Mutex::new(PlanState::default()),
        }
    }

    /// Leaves every call of `method` at `port` (only those of `step`, when given) alone at
    /// random; scripted faults still apply.
    pub fn sparing(self, port: Port, method: &'static str, step: Option<&'static str>) -> Self {
        self.sparing_kind(port, method, step, None)
    }

    /// Like [`FaultPlan::sparing`], but only spares the fault `kind` when given (the call may
    /// still fail at random in other ways).
    pub fn sparing_kind(
        mut self,
        port: Port,
        method: &'static str,
        step: Option<&'static str>,
        kind: Option<FaultKind>,
    ) -> Self {
        self.spared.push(Spared {
            port,
            method,
            step,
            kind,
        });
        self
    }

    /// Makes an injected timeout take this long before it fails (default: at once), so that
    /// timeouts also shift how concurrent work interleaves.
    pub fn with_timeout_delay(mut self, delay: Duration) -> Self {
        self.timeout_delay = delay;
        self
    }

    /// The seed of the random odds.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The random odds, as configured.
    pub fn odds(&self) -> &[PortOdds] {
        &self.odds
    }

    /// Makes the next `times` calls of `method` at `port` fail with `kind` (replacing what was
    /// scripted for that method before; 0 clears it).
    ///
    /// # Panics
    /// When `port` cannot fail that way (see [`FaultKind::applies_to`]): a mistake in the test.
    pub fn script(&self, port: Port, method: &'static str, kind: FaultKind, times: usize) {
        assert!(
            kind.applies_to(port),
            "the {} cannot fail with \"{}\"",
            port.describe(),
            kind.describe()
        );
        self.lock()
            .scripted
            .insert((port, method), std::iter::repeat_n(kind, times).collect());
    }

    /// Makes the next `times` calls of `method` at `port` for `step` (a store update recording
    /// `notified`, say) fail with `kind`; other steps of the method go on as before.
    ///
    /// # Panics
    /// When `port` cannot fail that way (see [`FaultKind::applies_to`]): a mistake in the test.
    pub fn script_step(
        &self,
        port: Port,
        method: &'static str,
        step: &str,
        kind: FaultKind,
        times: usize,
    ) {
        assert!(
            kind.applies_to(port),
            "the {} cannot fail with \"{}\"",
            port.describe(),
            kind.describe()
        );
        self.lock().scripted_steps.insert(
            (port, method, step.to_string()),
            std::iter::repeat_n(kind, times).collect(),
        );
    }

    /// Whether `call` fails, and how; logs the injection.
    pub fn decide(&self, call: &Call<'_>) -> Option<FaultKind> {
        let handoff = call.handoff.cloned().or_else(handoff_in_scope);
        let mut state = self.lock();
        *state.made.entry((call.port, call.method)).or_default() += 1;
        let for_step = call.step.and_then(|step| {
            state
                .scripted_steps
                .get_mut(&(call.port, call.method, step.to_string()))
                .and_then(VecDeque::pop_front)
        });
        let scripted = for_step.or_else(|| {
            state
                .scripted
                .get_mut(&(call.port, call.method))
                .and_then(VecDeque::pop_front)
        });
        let kind = match scripted {
            Some(kind) => Some(kind),
            None => self.draw(&mut state, call, handoff.as_ref()),
        }?;
        state.injected.push(Injection {
            port: call.port,
            method: call.method,
            step: call.step.map(str::to_string),
            kind,
            handoff,
        });
        Some(kind)
    }

    fn draw(
        &self,
        state: &mut PlanState,
        call: &Call<'_>,
        handoff: Option<&HandoffId>,
    ) -> Option<FaultKind> {
        let odds = self.odds.iter().find(|o| o.port == call.port)?;
        if odds.per_call <= 0.0 {
            return None;
        }
        let key = rng::key(&[
            call.port.describe(),
            call.method,
            call.step.unwrap_or(""),
            handoff.map(HandoffId::as_str).unwrap_or(""),
        ]);
        let n = state.calls.entry(key).or_default();
        *n += 1;
        let draw = rng::splitmix64(self.seed ^ key ^ n.wrapping_mul(0xA076_1D64_78BD_642F));
        if rng::unit(draw) >= odds.per_call {
            return None;
        }
        let kinds: Vec<(FaultKind, u32)> = odds
            .kinds
            .iter()
            .copied()
            .filter(|(kind, weight)| {
                *weight > 0
                    && kind.applies_to(call.port)
                    && (call.writes || *kind != FaultKind::ErrorAfterWrite)
            })
            .collect();
        let total: u64 = kinds.iter().map(|(_, w)| u64::from(*w)).sum();
        if total == 0 {
            return None;
        }
        // A spared kind keeps its share of the draw, so sparing one changes no other call's fate.
        let mut pick = rng::splitmix64(draw) % total;
        for (kind, weight) in kinds {
            let weight = u64::from(weight);
            if pick < weight {
                return (!self.is_spared(call, kind)).then_some(kind);
            }
            pick -= weight;
        }
        None
    }

    fn is_spared(&self, call: &Call<'_>, kind: FaultKind) -> bool {
        self.spared.iter().any(|s| {
            s.port == call.port
                && s.method == call.method
                && s.step.is_none_or(|step| call.step == Some(step))
                && s.kind.is_none_or(|k| k == kind)
        })
    }

    /// Runs one call of an inner adapter under the plan: at once when nothing fails; an error
    /// (built by `error` from the kind and its message) instead of the call; or, for an error
    /// after the write, the call and then the error (the call's own error, if it failed).
    pub async fn around<T, E, Fut>(
        &self,
        call: Call<'_>,
        error: impl FnOnce(FaultKind, String) -> E,
        run: impl FnOnce() -> Fut,
    ) -> Result<T, E>
    where
        Fut: Future<Output = Result<T, E>>,
    {
        let timed = || async {
            let began = std::time::Instant::now();
            let out = run().await;
            *self
                .lock()
                .spent
                .entry((call.port, call.method))
                .or_default() += began.elapsed();
            out
        };
        match self.decide(&call) {
            None => timed().await,
            Some(FaultKind::ErrorAfterWrite) => {
                timed().await?;
                Err(error(
                    FaultKind::ErrorAfterWrite,
                    call.message(FaultKind::ErrorAfterWrite),
                ))
            }
            Some(kind) => {
                if kind == FaultKind::TimedOut && !self.timeout_delay.is_zero() {
                    tokio::time::sleep(self.timeout_delay).await;
                }
                Err(error(kind, call.message(kind)))
            }
        }
    }

    /// Every injection so far, in order.
    pub fn injections(&self) -> Vec<Injection> {
        self.lock().injected.clone()
    }

    /// Every call the plan was asked about (failed or not), by port and method.
    pub fn calls_made(&self) -> BTreeMap<(Port, &'static str), usize> {
        self.lock().made.clone()
    }

    /// Time spent in the inner adapters' calls, by port and method (calls that failed before
    /// reaching the adapter spent none).
    pub fn time_spent(&self) -> BTreeMap<(Port, &'static str), Duration> {
        self.lock().spent.clone()
    }

    /// Injections at `port`, by method and kind.
    pub fn counts(&self, port: Port) -> BTreeMap<(&'static str, FaultKind), usize> {
        let mut out = BTreeMap::new();
        for i in self.lock().injected.iter().filter(|i| i.port == port) {
            *out.entry((i.method, i.kind)).or_default() += 1;
        }
        out
    }

    /// How many calls of `method` at `port` failed on purpose (any kind).
    pub fn failures(&self, port: Port, method: &str) -> usize {
        self.lock()
            .injected
            .iter()
            .filter(|i| i.port == port && i.method == method)
            .count()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PlanState> {
        // A panic while the lock was held leaves the log usable: recover it.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(port: Port, method: &'static str, writes: bool) -> Call<'static> {
        Call {
            port,
            method,
            step: None,
            writes,
            handoff: None,
        }
    }

    fn odds(port: Port, per_call: f64, kinds: &[(FaultKind, u32)]) -> PortOdds {
        PortOdds {
            port,
            per_call,
            kinds: kinds.to_vec(),
        }
    }

    #[test]
    fn scripted_faults_come_first_then_stop() {
        let plan = FaultPlan::quiet();
        plan.script(Port::Store, "update", FaultKind::TimedOut, 2);
        let update = call(Port::Store, "update", true);
        assert_eq!(plan.decide(&update), Some(FaultKind::TimedOut));
        assert_eq!(plan.decide(&call(Port::Store, "get", false)), None);
        assert_eq!(plan.decide(&update), Some(FaultKind::TimedOut));
        assert_eq!(plan.decide(&update), None);
        assert_eq!(plan.failures(Port::Store, "update"), 2);
        assert_eq!(
            plan.calls_made(),
            BTreeMap::from([((Port::Store, "get"), 1), ((Port::Store, "update"), 3)])
        );
        assert_eq!(
            plan.counts(Port::Store),
            BTreeMap::from([(("update", FaultKind::TimedOut), 2)])
        );
    }

    #[test]
    fn a_new_script_replaces_the_old_one() {
        let plan = FaultPlan::quiet();
        let send = call(Port::Queue, "send", true);
        plan.script(Port::Queue, "send", FaultKind::Throttled, 5);
        plan.script(Port::Queue, "send", FaultKind::ServerError, 1);
        assert_eq!(plan.decide(&send), Some(FaultKind::ServerError));
        assert_eq!(plan.decide(&send), None);
    }

    #[test]
    #[should_panic(expected = "the store cannot fail with \"rejected for good\"")]
    fn a_kind_the_port_cannot_have_is_a_mistake() {
        FaultPlan::quiet().script(Port::Store, "update", FaultKind::Rejected, 1);
    }

    #[test]
    fn kinds_apply_to_the_ports_that_can_fail_that_way() {
        // (kind, ports it applies to)
        let table = [
            (FaultKind::Throttled, &Port::ALL[..5]),
            (FaultKind::TimedOut, &Port::ALL[..5]),
            (FaultKind::ServerError, &Port::ALL[..5]),
            (FaultKind::Rejected, &[Port::Crm, Port::Notifier][..]),
            (
                FaultKind::ErrorAfterWrite,
                &[Port::Store, Port::Queue, Port::Crm, Port::Notifier][..],
            ),
            (FaultKind::CrashBeforeAnswer, &[Port::Consumer][..]),
        ];
        for (kind, ports) in table {
            for port in Port::ALL {
                assert_eq!(
                    kind.applies_to(port),
                    ports.contains(&port),
                    "{} at the {}",
                    kind.describe(),
                    port.describe()
                );
            }
        }
    }

    #[test]
    fn seeded_odds_hit_about_the_configured_share_and_repeat_with_the_seed() {
        let kinds = [(FaultKind::Throttled, 1), (FaultKind::ErrorAfterWrite, 1)];
        let run = |seed| {
            let plan = FaultPlan::seeded(seed, vec![odds(Port::Queue, 0.1, &kinds)]);
            (0..10_000)
                .map(|_| plan.decide(&call(Port::Queue, "send", true)))
                .collect::<Vec<_>>()
        };
        let first = run(11);
        assert_eq!(first, run(11), "the same seed, the same faults");
        assert_ne!(first, run(12));
        let failed = first.iter().flatten().count();
        assert!((850..1_150).contains(&failed), "{failed} of 10000 failed");
        let after_write = first
            .iter()
            .filter(|k| **k == Some(FaultKind::ErrorAfterWrite))
            .count();
        assert!(after_write > failed / 3 && after_write < failed * 2 / 3);
    }

    #[test]
    fn a_read_never_fails_after_a_write_and_other_ports_are_untouched() {
        let plan = FaultPlan::seeded(
            3,
            vec![odds(
                Port::Store,
                1.0,
                &[(FaultKind::ErrorAfterWrite, 1), (FaultKind::TimedOut, 1)],
            )],
        );
        for _ in 0..200 {
            assert_eq!(
                plan.decide(&call(Port::Store, "get", false)),
                Some(FaultKind::TimedOut)
            );
            assert_eq!(plan.decide(&call(Port::Queue, "send", true)), None);
        }
    }

    #[test]
    fn spared_calls_fail_only_when_scripted() {
        let plan = FaultPlan::seeded(
            5,
            vec![odds(Port::Store, 1.0, &[(FaultKind::ServerError, 1)])],
        )
        .sparing(Port::Store, "update", Some("notified"));
        let with_step = |step| Call {
            step: Some(step),
            ..call(Port::Store, "update", true)
        };
        assert_eq!(plan.decide(&with_step("notified")), None);
        assert_eq!(
            plan.decide(&with_step("classified")),
            Some(FaultKind::ServerError)
        );
        plan.script(Port::Store, "update", FaultKind::TimedOut, 1);
        assert_eq!(
            plan.decide(&with_step("notified")),
            Some(FaultKind::TimedOut)
        );
    }

    #[test]
    fn sparing_one_kind_leaves_the_others_and_every_other_call_as_they_were() {
        let kinds = [(FaultKind::ErrorAfterWrite, 1), (FaultKind::TimedOut, 1)];
        let update = Call {
            step: Some("classified"),
            ..call(Port::Store, "update", true)
        };
        let draws = |plan: &FaultPlan| (0..2_000).map(|_| plan.decide(&update)).collect::<Vec<_>>();
        let all = draws(&FaultPlan::seeded(9, vec![odds(Port::Store, 0.5, &kinds)]));
        let spared = draws(
            &FaultPlan::seeded(9, vec![odds(Port::Store, 0.5, &kinds)]).sparing_kind(
                Port::Store,
                "update",
                Some("classified"),
                Some(FaultKind::ErrorAfterWrite),
            ),
        );
        assert!(all.contains(&Some(FaultKind::ErrorAfterWrite)));
        assert!(!spared.contains(&Some(FaultKind::ErrorAfterWrite)));
        for (a, s) in all.iter().zip(&spared) {
            match a {
                Some(FaultKind::ErrorAfterWrite) => assert_eq!(*s, None),
                other => assert_eq!(s, other),
            }
        }
    }

    #[tokio::test]
    async fn injections_name_the_handoff_of_the_call_or_of_the_work() {
        let plan = FaultPlan::quiet();
        plan.script(Port::Store, "next_counter", FaultKind::Throttled, 2);
        let id = crate::fixtures::handoff_id("scoped");
        on_behalf_of(id.clone(), async {
            plan.decide(&call(Port::Store, "next_counter", true));
        })
        .await;
        plan.decide(&call(Port::Store, "next_counter", true));
        let handoffs: Vec<_> = plan.injections().into_iter().map(|i| i.handoff).collect();
        assert_eq!(handoffs, vec![Some(id), None]);
    }

    #[tokio::test]
    async fn around_writes_before_an_error_after_the_write() {
        let plan = FaultPlan::quiet();
        let wrote = std::sync::atomic::AtomicUsize::new(0);
        let write = || async {
            wrote.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok::<_, String>(())
        };
        let as_text = |_: FaultKind, m: String| m;
        let send = call(Port::Queue, "send", true);

        plan.script(Port::Queue, "send", FaultKind::ServerError, 1);
        let refused = plan.around(send, as_text, write).await;
        assert_eq!(
            refused,
            Err("injected fault: the queue's send call failed with a server error".into())
        );
        assert_eq!(wrote.load(std::sync::atomic::Ordering::SeqCst), 0);

        plan.script(Port::Queue, "send", FaultKind::ErrorAfterWrite, 1);
        let ambiguous = plan.around(send, as_text, write).await;
        assert!(ambiguous.is_err());
        assert_eq!(wrote.load(std::sync::atomic::Ordering::SeqCst), 1);

        assert_eq!(plan.around(send, as_text, write).await, Ok(()));
        assert_eq!(wrote.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}
