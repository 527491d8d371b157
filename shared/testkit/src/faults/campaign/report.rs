//! What a fault campaign found: each event's outcome (processed exactly once, dead-lettered with
//! a reason, lost, duplicated), the faults that hit it, the report table the issue asks for (one
//! row per port and fault kind) and the campaign's verdict.

use super::events::Expect;
use crate::faults::fakes::CrmLedger;
use crate::faults::plan::{FaultKind, Injection, Port};
use handoff_domain::ids::HandoffId;
use handoff_domain::lifecycle::State;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

/// What became of one accepted event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Notified exactly once, or closed without handoff and never notified, as expected.
    ExactlyOnce,
    /// Not done, but its stage message sits in a dead-letter queue with this reason.
    DeadLettered(String),
    /// None of the above: not done, no dead letter (or one without a reason).
    Lost,
    /// Notified more than once (or notified although it should have been closed).
    /// `explained`: every extra notification is matched by a notifier call that failed after
    /// delivering (an ambiguous outside call: Slack and mail take no idempotency key).
    Duplicated { explained: bool },
}

/// One event as the campaign saw it end.
#[derive(Debug, Clone)]
pub struct EventResult {
    pub handoff_id: HandoffId,
    pub template: &'static str,
    pub expect: Expect,
    /// Provider tries until intake answered Ok (`None`: the provider gave up).
    pub accepted_after: Option<usize>,
    /// The stored record's state at the end (`None`: never stored).
    pub state: Option<State>,
    /// "Assigned" notifications delivered.
    pub notifications: usize,
    /// Notifier calls that failed after delivering, for this handoff.
    pub notified_then_failed: usize,
    /// CRM objects created more often than needed, and CRM calls that failed after creating.
    pub crm_created_twice: usize,
    pub crm_created_then_failed: usize,
    /// Dead-letter reasons of its stage messages.
    pub dead_letters: Vec<String>,
    /// The faults that hit it (port and kind).
    pub faults: BTreeSet<(Port, FaultKind)>,
    /// Each fault as it happened: "store update (closed_without_handoff): timed out".
    pub fault_calls: Vec<String>,
    pub outcome: Outcome,
}

impl EventResult {
    /// Judges one event from what the adapters hold at the end.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn judge(
        handoff_id: HandoffId,
        template: &'static str,
        expect: Expect,
        accepted_after: Option<usize>,
        state: Option<State>,
        notifications: usize,
        crm: &CrmLedger,
        dead_letters: Vec<String>,
        injections: &[&Injection],
    ) -> Self {
        let failed_after = |port| {
            injections
                .iter()
                .filter(|i| i.port == port && i.kind == FaultKind::ErrorAfterWrite)
                .count()
        };
        let notified_then_failed = failed_after(Port::Notifier);
        let with_reason = dead_letters.iter().find(|r| !r.trim().is_empty());
        let outcome = match (expect, notifications) {
            (Expect::Notified, 1) => Outcome::ExactlyOnce,
            (Expect::Notified, 0) | (Expect::ClosedWithoutHandoff, 0) => {
                if expect == Expect::ClosedWithoutHandoff
                    && state == Some(State::ClosedWithoutHandoff)
                {
                    Outcome::ExactlyOnce
                } else if let Some(reason) = with_reason {
                    Outcome::DeadLettered(reason.clone())
                } else {
                    Outcome::Lost
                }
            }
            (Expect::ClosedWithoutHandoff, _) => Outcome::Duplicated { explained: false },
            (Expect::Notified, n) => Outcome::Duplicated {
                explained: n - 1 <= notified_then_failed,
            },
        };
        Self {
            handoff_id,
            template,
            expect,
            accepted_after,
            state,
            notifications,
            notified_then_failed,
            crm_created_twice: crm.created_twice(),
            crm_created_then_failed: failed_after(Port::Crm),
            dead_letters,
            faults: injections.iter().map(|i| (i.port, i.kind)).collect(),
            fault_calls: injections
                .iter()
                .map(|i| {
                    let step = i
                        .step
                        .as_ref()
                        .map(|s| format!(" ({s})"))
                        .unwrap_or_default();
                    format!(
                        "{} {}{step}: {}",
                        i.port.describe(),
                        i.method.replace('_', " "),
                        i.kind.describe()
                    )
                })
                .collect(),
            outcome,
        }
    }

    pub fn accepted(&self) -> bool {
        self.accepted_after.is_some()
    }

    /// Whether the record says it is done although the outcome is right (a notification sent
    /// whose record still waits for it, e.g. after its message was dead-lettered).
    pub fn record_behind(&self) -> bool {
        let done = match self.expect {
            Expect::Notified => State::Notified,
            Expect::ClosedWithoutHandoff => State::ClosedWithoutHandoff,
        };
        self.outcome == Outcome::ExactlyOnce && self.state != Some(done)
    }

    /// One line for a failure message: id, example, state, notifications, faults.
    fn describe(&self) -> String {
        format!(
            "{} ({}): state {}, notified {} time(s), {} notifier call(s) failed after delivering, dead letters [{}], faults [{}]",
            self.handoff_id,
            self.template,
            self.state.map(State::as_str).unwrap_or("never stored"),
            self.notifications,
            self.notified_then_failed,
            self.dead_letters.join("; "),
            self.fault_calls.join(", ")
        )
    }
}

/// Counts of one report row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Row {
    /// Calls that failed on purpose (all of them, attributed to an event or not).
    pub injected: usize,
    pub accepted: usize,
    pub exactly_once: usize,
    pub dead_lettered: usize,
    pub lost: usize,
    /// Duplicates explained by a notifier call that failed after delivering.
    pub duplicated_after_write: usize,
    pub duplicated_otherwise: usize,
}

impl Row {
    fn add(&mut self, e: &EventResult) {
        self.accepted += 1;
        match e.outcome {
            Outcome::ExactlyOnce => self.exactly_once += 1,
            Outcome::DeadLettered(_) => self.dead_lettered += 1,
            Outcome::Lost => self.lost += 1,
            Outcome::Duplicated { explained: true } => self.duplicated_after_write += 1,
            Outcome::Duplicated { explained: false } => self.duplicated_otherwise += 1,
        }
    }
}

/// What the sweep rounds did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepTally {
    pub rounds: usize,
    pub clock_advanced_minutes: i64,
    /// Due handoffs the sweeps found, and how many of them were re-driven (their owed stage sent
    /// again), failed over, or failed.
    pub due: usize,
    pub redriven: usize,
    pub moved: usize,
    pub failed: usize,
    /// Sweeps that failed as a whole (their first read failed).
    pub sweeps_failed: usize,
}

/// A campaign's findings (see the module docs); `Display` prints the report table.
#[derive(Debug, Clone)]
pub struct CampaignReport {
    /// Which store and queues ran it.
    pub backend: &'static str,
    /// How many campaigns of their own, each on a fresh backend, this report adds up.
    pub parts: usize,
    pub seed: u64,
    pub events: Vec<EventResult>,
    /// Every injected fault, by port, method and kind.
    pub injected: BTreeMap<(Port, &'static str, FaultKind), usize>,
    /// Every call made through the faulty wrappers, by port and method, and the time the real
    /// adapters took for them.
    pub calls: BTreeMap<(Port, &'static str), usize>,
    pub time_spent: BTreeMap<(Port, &'static str), Duration>,
    /// Injections that named no handoff.
    pub unattributed: usize,
    pub sweep: SweepTally,
    /// Notifications other than "assigned" (the campaign's rules never move a handoff).
    pub other_notifications: usize,
    /// When each phase of the run ended, from its start.
    pub phases: Vec<(String, Duration)>,
    pub wall: Duration,
}

impl CampaignReport {
    /// One report of `parts` run on fresh backends of the same kind, `wall` long in all: their
    /// events side by side, counts added up, each phase as the slowest part ended it.
    ///
    /// # Panics
    /// Without parts, or with parts of different seeds.
    pub fn merge(parts: Vec<CampaignReport>, wall: Duration) -> CampaignReport {
        let mut parts = parts.into_iter();
        let mut all = parts.next().expect("a campaign in no parts");
        for part in parts {
            assert_eq!(part.seed, all.seed, "parts of one campaign share its seed");
            all.parts += part.parts;
            all.events.extend(part.events);
            for (key, n) in part.injected {
                *all.injected.entry(key).or_default() += n;
            }
            for (key, n) in part.calls {
                *all.calls.entry(key).or_default() += n;
            }
            for (key, spent) in part.time_spent {
                *all.time_spent.entry(key).or_default() += spent;
            }
            all.unattributed += part.unattributed;
            all.other_notifications += part.other_notifications;
            all.sweep = SweepTally {
                rounds: all.sweep.rounds.max(part.sweep.rounds),
                clock_advanced_minutes: all
                    .sweep
                    .clock_advanced_minutes
                    .max(part.sweep.clock_advanced_minutes),
                due: all.sweep.due + part.sweep.due,
                redriven: all.sweep.redriven + part.sweep.redriven,
                moved: all.sweep.moved + part.sweep.moved,
                failed: all.sweep.failed + part.sweep.failed,
                sweeps_failed: all.sweep.sweeps_failed + part.sweep.sweeps_failed,
            };
            for (what, at) in part.phases {
                match all.phases.iter_mut().find(|(w, _)| *w == what) {
                    Some((_, slowest)) => *slowest = (*slowest).max(at),
                    None => all.phases.push((what, at)),
                }
            }
        }
        all.wall = wall;
        all
    }

    fn accepted(&self) -> impl Iterator<Item = &EventResult> {
        self.events.iter().filter(|e| e.accepted())
    }

    /// The report's rows: one per port and fault kind that hit something, then events no
    /// fault hit, then every accepted event.
    pub fn rows(&self) -> Vec<(String, Row)> {
        let mut by_fault: BTreeMap<(Port, FaultKind), Row> = BTreeMap::new();
        for ((port, _, kind), n) in &self.injected {
            by_fault.entry((*port, *kind)).or_default().injected += n;
        }
        let mut untouched = Row::default();
        let mut total = Row {
            injected: self.injected.values().sum(),
            ..Row::default()
        };
        for e in self.accepted() {
            total.add(e);
            if e.faults.is_empty() {
                untouched.add(e);
            }
            for fault in &e.faults {
                by_fault.entry(*fault).or_default().add(e);
            }
        }
        let mut rows: Vec<(String, Row)> = by_fault
            .into_iter()
            .map(|((port, kind), row)| (format!("{}: {}", port.describe(), kind.describe()), row))
            .collect();
        rows.push(("no fault".into(), untouched));
        rows.push(("all accepted events".into(), total));
        rows
    }

    /// The last row: every accepted event.
    pub fn totals(&self) -> Row {
        self.rows().pop().map(|(_, row)| row).unwrap_or_default()
    }

    /// Checks the campaign's promise: at least `min_accepted` events accepted, none lost, every
    /// duplicate notification explained by a notifier call that failed after delivering, every
    /// CRM object created twice explained by a CRM call that failed after creating, and every
    /// fault kind the odds name for a port (a permanent rejection aside: it is rare on purpose)
    /// injected at least once.
    ///
    /// # Panics
    /// With the report and the offending events, when any of that does not hold.
    pub fn assert_sound(&self, min_accepted: usize, odds: &[crate::faults::PortOdds]) {
        let mut problems = Vec::new();
        let totals = self.totals();
        if totals.accepted < min_accepted {
            problems.push(format!(
                "only {} events were accepted; the campaign needs {min_accepted}",
                totals.accepted
            ));
        }
        let offending = |pick: &dyn Fn(&EventResult) -> bool, what: &str| {
            let hits: Vec<String> = self
                .accepted()
                .filter(|e| pick(e))
                .map(EventResult::describe)
                .collect();
            (!hits.is_empty()).then(|| {
                let shown: Vec<_> = hits.iter().take(20).cloned().collect();
                format!(
                    "{} {what}:\n  {}{}",
                    hits.len(),
                    shown.join("\n  "),
                    if hits.len() > 20 { "\n  …" } else { "" }
                )
            })
        };
        problems.extend(offending(
            &|e| e.outcome == Outcome::Lost,
            "accepted events lost (neither done nor dead-lettered with a reason)",
        ));
        problems.extend(offending(
            &|e| e.outcome == Outcome::Duplicated { explained: false },
            "events notified more often than failed notifier calls explain",
        ));
        problems.extend(offending(
            &|e| e.crm_created_twice > e.crm_created_then_failed,
            "events with more CRM objects created twice than failed CRM calls explain",
        ));
        if self.other_notifications > 0 {
            problems.push(format!(
                "{} notifications other than the owner's first: the campaign's rules never move a handoff",
                self.other_notifications
            ));
        }
        for o in odds.iter().filter(|o| o.per_call > 0.0) {
            for (kind, weight) in &o.kinds {
                if *weight == 0 || *kind == FaultKind::Rejected || !kind.applies_to(o.port) {
                    continue;
                }
                let seen: usize = self
                    .injected
                    .iter()
                    .filter(|((p, _, k), _)| *p == o.port && k == kind)
                    .map(|(_, n)| n)
                    .sum();
                if seen == 0 {
                    problems.push(format!(
                        "the {} never failed with \"{}\": the campaign did not test it",
                        o.port.describe(),
                        kind.describe()
                    ));
                }
            }
        }
        assert!(
            problems.is_empty(),
            "{self}\nthe fault campaign on {} (seed {}) failed:\n{}",
            self.backend,
            self.seed,
            problems.join("\n")
        );
    }
}

impl fmt::Display for CampaignReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sent = self.events.len();
        let totals = self.totals();
        let refused: Vec<&EventResult> = self.events.iter().filter(|e| !e.accepted()).collect();
        let refused_but_done = refused
            .iter()
            .filter(|e| e.notifications > 0 || e.state == Some(State::ClosedWithoutHandoff))
            .count();
        let parts = if self.parts > 1 {
            format!(", in {} parts each on a fresh backend", self.parts)
        } else {
            String::new()
        };
        writeln!(
            f,
            "fault campaign on {}{parts} (seed {}; {} to rerun it): {sent} events sent, {} accepted, {} refused by intake on every provider try ({refused_but_done} of them processed anyway); wall time {:.1} s",
            self.backend,
            self.seed,
            format_args!("{}={}", super::SEED_VAR, self.seed),
            totals.accepted,
            refused.len(),
            self.wall.as_secs_f64()
        )?;
        writeln!(
            f,
            "{:<42} {:>8} {:>8} {:>12} {:>13} {:>5} {:>24} {:>18}",
            "fault",
            "injected",
            "accepted",
            "exactly once",
            "dead-lettered",
            "lost",
            "duplicated (after write)",
            "duplicated (other)"
        )?;
        for (name, row) in self.rows() {
            writeln!(
                f,
                "{:<42} {:>8} {:>8} {:>12} {:>13} {:>5} {:>24} {:>18}",
                name,
                row.injected,
                row.accepted,
                row.exactly_once,
                row.dead_lettered,
                row.lost,
                row.duplicated_after_write,
                row.duplicated_otherwise
            )?;
        }
        writeln!(
            f,
            "an event hit by several faults counts in each of their rows; {} injected faults concerned no one event (queue receives, the sweep's reads of due handoffs)",
            self.unattributed
        )?;
        let mut by_call: BTreeMap<(Port, &'static str), Vec<String>> = BTreeMap::new();
        for ((port, method, kind), n) in &self.injected {
            by_call
                .entry((*port, method))
                .or_default()
                .push(format!("{} {n}", kind.describe()));
        }
        writeln!(f, "calls made, and failed on purpose, by port and method:")?;
        let methods: BTreeSet<(Port, &'static str)> =
            self.calls.keys().chain(by_call.keys()).copied().collect();
        for (port, method) in methods {
            let failed = by_call
                .get(&(port, method))
                .map(|kinds| kinds.join(", "))
                .unwrap_or_else(|| "none failed".into());
            let calls = self.calls.get(&(port, method)).copied().unwrap_or(0);
            let spent = self
                .time_spent
                .get(&(port, method))
                .copied()
                .unwrap_or_default();
            writeln!(
                f,
                "  {} {}: {calls} calls, {:.1} s in the adapter; {failed}",
                port.describe(),
                method.replace('_', " "),
                spent.as_secs_f64()
            )?;
        }
        let reasons: BTreeSet<String> = self
            .accepted()
            .filter_map(|e| match &e.outcome {
                Outcome::DeadLettered(r) => Some(r.clone()),
                _ => None,
            })
            .collect();
        for reason in reasons {
            writeln!(f, "dead-lettered with the reason: {reason}")?;
        }
        let repaired = self
            .accepted()
            .filter(|e| !e.dead_letters.is_empty() && e.outcome == Outcome::ExactlyOnce)
            .count();
        writeln!(
            f,
            "events done although a message of theirs sits in a dead-letter queue (the sweep re-drove them from their record): {repaired}"
        )?;
        let crm_twice: usize = self.accepted().map(|e| e.crm_created_twice).sum();
        let behind = self.accepted().filter(|e| e.record_behind()).count();
        writeln!(
            f,
            "CRM objects created twice: {crm_twice}; handoffs done whose record does not say so: {behind}"
        )?;
        writeln!(
            f,
            "sweep: {} rounds, the clock moved {} minutes; {} due found, {} re-driven, {} failed over, {} failed; {} sweeps failed as a whole",
            self.sweep.rounds,
            self.sweep.clock_advanced_minutes,
            self.sweep.due,
            self.sweep.redriven,
            self.sweep.moved,
            self.sweep.failed,
            self.sweep.sweeps_failed
        )?;
        let phases: Vec<String> = self
            .phases
            .iter()
            .map(|(what, at)| format!("{what} at {:.1} s", at.as_secs_f64()))
            .collect();
        if !phases.is_empty() {
            writeln!(f, "timing: {}", phases.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    fn injection(port: Port, kind: FaultKind) -> Injection {
        Injection {
            port,
            method: "notify",
            step: None,
            kind,
            handoff: None,
        }
    }

    /// (expect, state, notifications, dead letters, injections, outcome)
    type Case<'a> = (
        Expect,
        Option<State>,
        usize,
        Vec<String>,
        Vec<&'a Injection>,
        Outcome,
    );

    #[test]
    fn outcomes_follow_what_was_expected_and_what_happened() {
        let after_write = injection(Port::Notifier, FaultKind::ErrorAfterWrite);
        let throttled = injection(Port::Notifier, FaultKind::Throttled);
        let dead = || vec!["permanent failure: rejected".to_string()];
        let table: Vec<Case<'_>> = vec![
            (
                Expect::Notified,
                Some(State::Notified),
                1,
                vec![],
                vec![],
                Outcome::ExactlyOnce,
            ),
            (
                Expect::Notified,
                Some(State::CrmWritten),
                0,
                dead(),
                vec![],
                Outcome::DeadLettered(dead()[0].clone()),
            ),
            (
                Expect::Notified,
                Some(State::CrmWritten),
                0,
                vec![" ".into()],
                vec![],
                Outcome::Lost,
            ),
            (
                Expect::Notified,
                Some(State::Received),
                0,
                vec![],
                vec![],
                Outcome::Lost,
            ),
            (Expect::Notified, None, 0, vec![], vec![], Outcome::Lost),
            (
                Expect::Notified,
                Some(State::Notified),
                2,
                vec![],
                vec![&after_write],
                Outcome::Duplicated { explained: true },
            ),
            (
                Expect::Notified,
                Some(State::Notified),
                3,
                vec![],
                vec![&after_write],
                Outcome::Duplicated { explained: false },
            ),
            (
                Expect::Notified,
                Some(State::Notified),
                2,
                vec![],
                vec![&throttled],
                Outcome::Duplicated { explained: false },
            ),
            (
                Expect::ClosedWithoutHandoff,
                Some(State::ClosedWithoutHandoff),
                0,
                vec![],
                vec![],
                Outcome::ExactlyOnce,
            ),
            (
                Expect::ClosedWithoutHandoff,
                Some(State::Received),
                0,
                dead(),
                vec![],
                Outcome::DeadLettered(dead()[0].clone()),
            ),
            (
                Expect::ClosedWithoutHandoff,
                Some(State::Received),
                0,
                vec![],
                vec![],
                Outcome::Lost,
            ),
            (
                Expect::ClosedWithoutHandoff,
                Some(State::Notified),
                1,
                vec![],
                vec![&after_write],
                Outcome::Duplicated { explained: false },
            ),
        ];
        for (i, (expect, state, notifications, dead_letters, injections, outcome)) in
            table.into_iter().enumerate()
        {
            let e = EventResult::judge(
                fixtures::handoff_id("judged"),
                "example",
                expect,
                Some(1),
                state,
                notifications,
                &CrmLedger::default(),
                dead_letters,
                &injections,
            );
            assert_eq!(e.outcome, outcome, "row {i}");
        }
    }

    fn report(events: Vec<EventResult>) -> CampaignReport {
        CampaignReport {
            backend: "test",
            parts: 1,
            seed: 1,
            events,
            injected: BTreeMap::from([((Port::Notifier, "notify", FaultKind::ErrorAfterWrite), 1)]),
            calls: BTreeMap::from([((Port::Notifier, "notify"), 3)]),
            time_spent: BTreeMap::from([((Port::Notifier, "notify"), Duration::from_millis(250))]),
            unattributed: 0,
            sweep: SweepTally::default(),
            other_notifications: 0,
            phases: vec![(
                "the provider sent every event".into(),
                Duration::from_millis(700),
            )],
            wall: Duration::from_millis(1500),
        }
    }

    fn judged(id: &str, notifications: usize, injections: &[&Injection]) -> EventResult {
        EventResult::judge(
            fixtures::handoff_id(id),
            "example",
            Expect::Notified,
            Some(1),
            Some(State::Notified),
            notifications,
            &CrmLedger::default(),
            Vec::new(),
            injections,
        )
    }

    #[test]
    fn rows_count_events_per_fault_and_in_total() {
        let after_write = injection(Port::Notifier, FaultKind::ErrorAfterWrite);
        let r = report(vec![judged("a", 1, &[]), judged("b", 2, &[&after_write])]);
        let rows = r.rows();
        let names: Vec<&str> = rows.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "notifier: error after the write succeeded",
                "no fault",
                "all accepted events"
            ]
        );
        assert_eq!(rows[0].1.duplicated_after_write, 1);
        assert_eq!(rows[1].1.exactly_once, 1);
        assert_eq!(r.totals().accepted, 2);
        let text = r.to_string();
        assert!(text.contains("2 events sent, 2 accepted"), "{text}");
        assert!(
            text.contains(
                "notifier notify: 3 calls, 0.2 s in the adapter; error after the write succeeded 1"
            ),
            "{text}"
        );
        r.assert_sound(2, &[]);
    }

    #[test]
    fn parts_merge_into_one_report() {
        let after_write = injection(Port::Notifier, FaultKind::ErrorAfterWrite);
        let mut slow = report(vec![judged("p1", 2, &[&after_write])]);
        slow.phases = vec![("the queues were quiet".into(), Duration::from_secs(9))];
        let fast = report(vec![judged("p2", 1, &[])]);
        let all = CampaignReport::merge(vec![fast, slow], Duration::from_secs(10));
        assert_eq!(all.parts, 2);
        assert_eq!(all.totals().accepted, 2);
        assert_eq!(all.totals().duplicated_after_write, 1);
        assert_eq!(
            all.injected[&(Port::Notifier, "notify", FaultKind::ErrorAfterWrite)],
            2
        );
        assert_eq!(all.calls[&(Port::Notifier, "notify")], 6);
        assert_eq!(all.wall, Duration::from_secs(10));
        let phase = |what: &str| all.phases.iter().find(|(w, _)| w == what).map(|p| p.1);
        assert_eq!(
            phase("the provider sent every event"),
            Some(Duration::from_millis(700))
        );
        assert_eq!(phase("the queues were quiet"), Some(Duration::from_secs(9)));
        assert!(all
            .to_string()
            .contains("in 2 parts each on a fresh backend"));
    }

    #[test]
    #[should_panic(expected = "1 events notified more often than failed notifier calls explain")]
    fn an_unexplained_duplicate_fails_the_campaign() {
        report(vec![judged("dup", 2, &[])]).assert_sound(1, &[]);
    }

    #[test]
    #[should_panic(expected = "the store never failed with \"timed out\"")]
    fn a_kind_that_never_fired_fails_the_campaign() {
        let odds = crate::faults::PortOdds {
            port: Port::Store,
            per_call: 0.1,
            kinds: vec![(FaultKind::TimedOut, 1), (FaultKind::Rejected, 1)],
        };
        report(vec![judged("ok", 1, &[])]).assert_sound(1, &[odds]);
    }
}
