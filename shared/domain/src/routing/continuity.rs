//! Continuity layers: keep a handoff with the rep who already knows the buyer (the owner of the
//! contact's previous handoff) or owns the account, before any round robin.
//!
//! While a contact's handoff is open, a new event of theirs joins it instead of opening another
//! (`service::attach`); so a new handoff for the same contact means the previous one was
//! accepted or closed, and its rep owner — the owner of the contact's most recent handoff that
//! had one — is the existing-owner candidate.
//!
//! A continuity owner is kept when they are unblocked (see [`super::eligibility`]) and either
//! inside working hours, or outside them while nobody in the narrowed pool works now either —
//! after hours the buyer waits for the rep who knows them rather than for a stranger who happens
//! to start a little earlier.
//!
//! Exceptions, where the owner stays informed through the trace but does not take it:
//! - a **human-only lane** goes to a rep who holds that lane (a closer); an owner who holds it
//!   keeps it;
//! - a **re-qualification** goes to the re-qualification role; an account owner of another role
//!   does not take it. (The existing-owner layer only runs on the first assignment.)

use super::eligibility::{RepStatus, Roster};
use super::role::role_label;
use super::RouteMode;
use crate::config::{Role, Rules};
use crate::ids::RepId;
use crate::package::HumanLane;

/// Which continuity layer is asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layer {
    ExistingOwner,
    AccountOwner,
}

impl Layer {
    /// The trace layer name.
    pub fn name(self) -> &'static str {
        match self {
            Layer::ExistingOwner => "existing_owner",
            Layer::AccountOwner => "account_owner",
        }
    }
}

/// What a continuity layer decided.
#[derive(Debug, Clone)]
pub(crate) enum Decision<'s, 'r> {
    /// This rep keeps it.
    Keep(&'s RepStatus<'r>, String),
    /// Routing continues; why.
    Pass(String),
}

/// What the continuity layers need besides the candidate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Situation {
    pub mode: RouteMode,
    pub role: Role,
    pub lane: Option<HumanLane>,
    /// Whether someone in the narrowed pool is available now.
    pub pool_working_now: bool,
}

/// Runs one continuity layer for `candidate`.
pub(crate) fn consider<'s, 'r>(
    layer: Layer,
    candidate: Option<&RepId>,
    rules: &Rules,
    roster: &'s Roster<'r>,
    situation: Situation,
) -> Decision<'s, 'r> {
    let who = match layer {
        Layer::ExistingOwner => "owner of this contact's previous handoff",
        Layer::AccountOwner => "account owner",
    };
    if layer == Layer::ExistingOwner && situation.mode != RouteMode::Initial {
        return Decision::Pass(
            "skipped: the previous handoff's owner is kept on first assignment only".into(),
        );
    }
    let Some(id) = candidate else {
        return Decision::Pass(format!("no {who}"));
    };
    let Some(status) = roster.status(id) else {
        return Decision::Pass(format!("{who} {id} is not in the roster"));
    };
    if let Some(lane) = situation.lane {
        if !status.rep.lanes.contains(&lane) {
            return Decision::Pass(format!(
                "{who} {id} stays informed; the {} lane goes to a rep who holds it",
                lane.phrase()
            ));
        }
    }
    if layer == Layer::AccountOwner && situation.mode == RouteMode::Requalify {
        let role = rules.role_of(status.rep);
        if role != Some(situation.role) {
            return Decision::Pass(format!(
                "{who} {id} stays informed; re-qualification goes to role {}",
                role_label(situation.role)
            ));
        }
    }
    if let Some(blocked) = &status.blocked {
        return Decision::Pass(format!("{who} {id} is unavailable: {blocked}"));
    }
    let continuity = match layer {
        Layer::ExistingOwner => format!(
            "owner continuity: {} owned this contact's previous handoff and keeps the buyer",
            status.rep.name
        ),
        Layer::AccountOwner => format!("{id} owns the account"),
    };
    if status.working_now {
        return Decision::Keep(status, continuity);
    }
    if situation.pool_working_now {
        return Decision::Pass(format!(
            "{who} {id} is outside working hours while others in the pool work now"
        ));
    }
    let starts = status.next_shift.format("%Y-%m-%d %H:%M UTC");
    Decision::Keep(
        status,
        format!("{continuity} (starts {starts}; nobody in the pool works now)"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::eligibility::AvailabilityInputs;
    use crate::routing::testing::{at, example_rules, rep_id};
    use std::collections::BTreeMap;

    fn decide(
        layer: Layer,
        candidate: &str,
        now: &str,
        situation: Situation,
        loads: &[(&str, u32)],
    ) -> Result<String, String> {
        let rules = example_rules();
        let loads: BTreeMap<RepId, u32> = loads.iter().map(|(r, n)| (rep_id(r), *n)).collect();
        let inputs = AvailabilityInputs {
            rules: &rules,
            now: at(now),
            loads: &loads,
            overrides: &[],
            excluded: &[],
            sla_minutes: 30,
        };
        let roster = Roster::assess(&inputs);
        let candidate = RepId::parse(candidate).unwrap();
        match consider(layer, Some(&candidate), &rules, &roster, situation) {
            Decision::Keep(s, _) => Ok(s.rep.id.to_string()),
            Decision::Pass(why) => Err(why),
        }
    }

    const NOON_BERLIN: &str = "2026-06-03T10:00:00Z";
    const NIGHT: &str = "2026-06-03T22:00:00Z";

    fn situation(
        mode: RouteMode,
        role: Role,
        lane: Option<HumanLane>,
        pool_working_now: bool,
    ) -> Situation {
        Situation {
            mode,
            role,
            lane,
            pool_working_now,
        }
    }

    /// Name, layer, candidate, now, situation, loads, expected owner or a fragment of why not.
    type ContinuityCase<'a> = (
        &'a str,
        Layer,
        &'a str,
        &'a str,
        Situation,
        &'a [(&'a str, u32)],
        Result<&'a str, &'a str>,
    );

    #[test]
    fn the_previous_owner_is_named_in_the_trace() {
        let rules = example_rules();
        let loads = BTreeMap::new();
        let inputs = AvailabilityInputs {
            rules: &rules,
            now: at(NOON_BERLIN),
            loads: &loads,
            overrides: &[],
            excluded: &[],
            sla_minutes: 30,
        };
        let roster = Roster::assess(&inputs);
        let lena = rep_id("lena");
        let situation = situation(RouteMode::Initial, Role::Ae, None, true);
        match consider(
            Layer::ExistingOwner,
            Some(&lena),
            &rules,
            &roster,
            situation,
        ) {
            Decision::Keep(s, why) => {
                assert_eq!(s.rep.id, lena);
                assert_eq!(
                    why,
                    "owner continuity: Lena Fischer owned this contact's previous handoff and \
                     keeps the buyer"
                );
            }
            Decision::Pass(why) => panic!("passed: {why}"),
        }
        let capped = BTreeMap::from([(lena.clone(), 99)]);
        let roster = Roster::assess(&AvailabilityInputs {
            loads: &capped,
            ..inputs
        });
        match consider(
            Layer::ExistingOwner,
            Some(&lena),
            &rules,
            &roster,
            situation,
        ) {
            Decision::Pass(why) => assert!(
                why.starts_with("owner of this contact's previous handoff lena is unavailable"),
                "{why}"
            ),
            Decision::Keep(..) => panic!("a capped previous owner keeps it"),
        }
    }

    #[test]
    fn continuity_table() {
        use Layer::*;
        use RouteMode::*;
        let ae = |mode| situation(mode, Role::Ae, None, true);
        let cases: &[ContinuityCase<'_>] = &[
            (
                "available owner keeps it",
                ExistingOwner,
                "lena",
                NOON_BERLIN,
                ae(Initial),
                &[],
                Ok("lena"),
            ),
            (
                "regardless of role",
                ExistingOwner,
                "jonas",
                NOON_BERLIN,
                ae(Initial),
                &[],
                Ok("jonas"),
            ),
            (
                "only on first assignment",
                ExistingOwner,
                "lena",
                NOON_BERLIN,
                ae(Failover),
                &[],
                Err("first assignment only"),
            ),
            (
                "capped owner passes",
                AccountOwner,
                "greta",
                NOON_BERLIN,
                ae(Initial),
                &[("greta", 6)],
                Err("daily cap"),
            ),
            (
                "unknown owner",
                AccountOwner,
                "nobody",
                NOON_BERLIN,
                ae(Initial),
                &[],
                Err("not in the roster"),
            ),
            (
                "asleep while others work",
                AccountOwner,
                "sam",
                NOON_BERLIN,
                ae(Initial),
                &[],
                Err("outside working hours"),
            ),
            (
                "asleep and so is the pool",
                AccountOwner,
                "sam",
                NIGHT,
                situation(Initial, Role::Ae, None, false),
                &[],
                Ok("sam"),
            ),
            (
                "lane needs a closer",
                AccountOwner,
                "sam",
                NOON_BERLIN,
                situation(Initial, Role::Closer, Some(HumanLane::Pricing), true),
                &[],
                Err("stays informed"),
            ),
            (
                "closer with the lane keeps it",
                AccountOwner,
                "nadia",
                NOON_BERLIN,
                situation(Initial, Role::Closer, Some(HumanLane::Pricing), true),
                &[],
                Ok("nadia"),
            ),
            (
                "requalify skips an AE owner",
                AccountOwner,
                "lena",
                NOON_BERLIN,
                situation(Requalify, Role::Sdr, None, true),
                &[],
                Err("re-qualification"),
            ),
            (
                "requalify keeps an SDR owner",
                AccountOwner,
                "jonas",
                NOON_BERLIN,
                situation(Requalify, Role::Sdr, None, true),
                &[],
                Ok("jonas"),
            ),
        ];
        for (name, layer, candidate, now, situation, loads, expected) in cases {
            match (decide(*layer, candidate, now, *situation, loads), expected) {
                (Ok(got), Ok(want)) => assert_eq!(&got, want, "{name}"),
                (Err(got), Err(want)) => assert!(got.contains(want), "{name}: {got}"),
                (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
            }
        }
    }
}
