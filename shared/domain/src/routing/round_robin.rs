//! Weighted round robin over the narrowed pool.
//!
//! **Who competes.** Reps available now (unblocked, inside working hours). If nobody in the pool
//! works now (after hours, weekends, holidays), the unblocked reps whose next shift starts
//! soonest: the handoff goes to whoever will see it first, never to someone blocked (away, on
//! time off, or leaving on time off before the SLA runs out) and never over a daily cap.
//!
//! **Who wins.** The lowest *pace*: handoffs today per weighted minute available today,
//! compared exactly as `load_a × weight_b × minutes_b < load_b × weight_a × minutes_a` (minutes
//! count from 1). When everyone has been available equally long — the usual case inside one
//! shift — this is exactly the lowest load per weight (`load_a × weight_b < load_b × weight_a`),
//! and shares converge to the weights. Ties go to the tied rep at `cursor mod n` in id order, so
//! an atomic counter rotates them.
//!
//! **No backlog after time away.** Loads are counted per local day, so a rep back from days off
//! starts the day level with everyone else. Within a day, "available minutes" leave out the time
//! before the rep's shift started and the time an `available: false` override kept them away, so
//! a rep who arrives later is not handed the morning's backlog in one go: at the moment they come
//! back they take at most one handoff of a burst (their pace jumps to one per minute), and after
//! that they are picked only while their pace is below every colleague's.
//!
//! What this does *not* guarantee: colleagues' pace includes the busy time before the return, so
//! with steady arrivals the returner takes more than their weighted share for a while (a partial
//! catch-up: about 65% rather than 50% of the next 40 handoffs with two equal reps after a
//! three-hour absence, where plain load per weight gives them 95%). A strict "fair share + 1" for
//! every later window needs state routing does not get — each rep's load at the moment they
//! returned.

use super::eligibility::{RepStatus, Roster};
use crate::config::Rep;
use std::cmp::Ordering;

/// The chosen rep and the trace line explaining the choice.
#[derive(Debug, Clone)]
pub(crate) struct Choice<'s, 'r> {
    pub status: &'s RepStatus<'r>,
    pub outcome: String,
}

/// Picks a rep from `pool`, or says why nobody can take it.
pub(crate) fn choose<'s, 'r>(
    pool: &[&'r Rep],
    roster: &'s Roster<'r>,
    cursor: u64,
) -> Result<Choice<'s, 'r>, String> {
    let statuses: Vec<&RepStatus<'r>> = pool.iter().filter_map(|r| roster.status(&r.id)).collect();
    let blocked: Vec<String> = statuses
        .iter()
        .filter_map(|s| s.blocked.as_ref().map(|b| format!("{} ({b})", s.rep.id)))
        .collect();
    let skipped = if blocked.is_empty() {
        String::new()
    } else {
        format!("; not eligible: {}", blocked.join(", "))
    };
    let working: Vec<&RepStatus<'r>> = statuses
        .iter()
        .copied()
        .filter(|s| s.is_available_now())
        .collect();
    let (candidates, situation) = if working.is_empty() {
        let later: Vec<&RepStatus<'r>> = statuses
            .iter()
            .copied()
            .filter(|s| s.is_available_later())
            .collect();
        let Some(soonest) = later.iter().map(|s| s.next_shift).min() else {
            return Err(if statuses.is_empty() {
                "no active rep in the pool".to_string()
            } else {
                format!("no eligible rep among {}{skipped}", statuses.len())
            });
        };
        let first: Vec<&RepStatus<'r>> = later
            .into_iter()
            .filter(|s| s.next_shift == soonest)
            .collect();
        let situation = format!(
            "nobody in the pool works now; first to start ({}): {}",
            soonest.format("%Y-%m-%d %H:%M UTC"),
            describe(&first)
        );
        (first, situation)
    } else {
        let situation = format!("working now: {}", describe(&working));
        (working, situation)
    };
    let fairness = Fairness::of(&candidates);
    let mut tied: Vec<&RepStatus<'r>> = (0..candidates.len())
        .filter(|&i| (0..candidates.len()).all(|j| fairness.compare(i, j) != Ordering::Greater))
        .map(|i| candidates[i])
        .collect();
    tied.sort_by(|a, b| a.rep.id.cmp(&b.rep.id));
    let index = usize::try_from(cursor % tied.len() as u64).unwrap_or(0);
    let winner = tied[index];
    let why = if tied.len() > 1 {
        let names: Vec<&str> = tied.iter().map(|s| s.rep.id.as_str()).collect();
        format!(
            "tie between {} broken by rotation (cursor {cursor})",
            names.join(", ")
        )
    } else {
        "fewest handoffs per weighted available minute".to_string()
    };
    Ok(Choice {
        status: winner,
        outcome: format!("{situation}{skipped} → {}: {why}", winner.rep.id),
    })
}

fn describe(statuses: &[&RepStatus<'_>]) -> String {
    statuses
        .iter()
        .map(|s| {
            format!(
                "{} {}/{} today in {} min (weight {})",
                s.rep.id, s.load, s.rep.daily_cap, s.available_minutes_today, s.rep.weight
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Exact pace keys `load / (weight × available minutes)` over one set of competitors.
#[derive(Debug, Clone)]
pub(crate) struct Fairness {
    /// Per competitor: numerator and denominator of the key.
    keys: Vec<(u128, u128)>,
}

impl Fairness {
    /// The keys of `candidates` (see the module docs).
    pub fn of(candidates: &[&RepStatus<'_>]) -> Self {
        let keys = candidates
            .iter()
            .map(|s| {
                let weight = u128::from(s.rep.weight.max(1));
                let minutes = u128::from(s.available_minutes_today.max(1));
                (u128::from(s.load), weight * minutes)
            })
            .collect();
        Self { keys }
    }

    /// Orders competitor `a` against `b` by key (lower is fairer to pick).
    pub fn compare(&self, a: usize, b: usize) -> Ordering {
        let (num_a, den_a) = self.keys[a];
        let (num_b, den_b) = self.keys[b];
        (num_a * den_b).cmp(&(num_b * den_a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::RepId;
    use crate::ports::AvailabilityOverride;
    use crate::routing::eligibility::AvailabilityInputs;
    use crate::routing::testing::{at, example_rules, rep_id};
    use std::collections::BTreeMap;

    fn pick(
        now: &str,
        pool: &[&str],
        loads: &[(&str, u32)],
        overrides: &[AvailabilityOverride],
        cursor: u64,
    ) -> Result<String, String> {
        pick_in(&example_rules(), now, pool, loads, overrides, cursor)
    }

    /// The example roster with every rep on Berlin time, 09:00–17:30: equal available minutes.
    fn same_hours() -> crate::config::Rules {
        let mut rules = example_rules();
        let lena = rules.rep(&rep_id("lena")).unwrap().clone();
        for r in &mut rules.reps {
            r.timezone = lena.timezone;
            r.working_hours = lena.working_hours.clone();
        }
        rules
    }

    fn pick_in(
        rules: &crate::config::Rules,
        now: &str,
        pool: &[&str],
        loads: &[(&str, u32)],
        overrides: &[AvailabilityOverride],
        cursor: u64,
    ) -> Result<String, String> {
        let loads: BTreeMap<RepId, u32> = loads.iter().map(|(r, n)| (rep_id(r), *n)).collect();
        let inputs = AvailabilityInputs {
            rules,
            now: at(now),
            loads: &loads,
            overrides,
            excluded: &[],
            sla_minutes: 30,
        };
        let roster = Roster::assess(&inputs);
        let pool: Vec<&Rep> = pool
            .iter()
            .map(|id| rules.rep(&rep_id(id)).unwrap())
            .collect();
        choose(&pool, &roster, cursor).map(|c| c.status.rep.id.to_string())
    }

    // Wednesday 2026-06-03 10:00 UTC: 12:00 Berlin, 11:00 London, 06:00 New York.
    const NOON_BERLIN: &str = "2026-06-03T10:00:00Z";

    /// Name, now, pool, loads, cursor, expected rep.
    type ChoiceCase<'a> = (
        &'a str,
        &'a str,
        &'a [&'a str],
        &'a [(&'a str, u32)],
        u64,
        &'a str,
    );

    #[test]
    fn weighted_choice_table() {
        let cases: &[ChoiceCase<'_>] = &[
            (
                "fewest per weight: lena 2/2 < oliver 2/1",
                NOON_BERLIN,
                &["lena", "oliver"],
                &[("lena", 2), ("oliver", 2)],
                0,
                "lena",
            ),
            (
                "weight 1 at 1 beats weight 2 at 3",
                NOON_BERLIN,
                &["lena", "oliver"],
                &[("lena", 3), ("oliver", 1)],
                0,
                "oliver",
            ),
            (
                "weight 2 at 3 beats weight 1 at 2",
                NOON_BERLIN,
                &["lena", "oliver"],
                &[("lena", 3), ("oliver", 2)],
                0,
                "lena",
            ),
            (
                "tie, cursor 0 → first id",
                NOON_BERLIN,
                &["oliver", "lena"],
                &[("lena", 2), ("oliver", 1)],
                0,
                "lena",
            ),
            (
                "tie, cursor 1 → second id",
                NOON_BERLIN,
                &["oliver", "lena"],
                &[("lena", 2), ("oliver", 1)],
                1,
                "oliver",
            ),
            (
                "tie, cursor 5 → second id",
                NOON_BERLIN,
                &["oliver", "lena"],
                &[("lena", 2), ("oliver", 1)],
                5,
                "oliver",
            ),
            (
                "capped rep skipped",
                NOON_BERLIN,
                &["lena", "greta"],
                &[("lena", 5), ("greta", 6)],
                0,
                "lena",
            ),
            (
                "missing load counts as 0",
                NOON_BERLIN,
                &["lena", "oliver"],
                &[("lena", 1)],
                0,
                "oliver",
            ),
        ];
        let rules = same_hours();
        for (name, now, pool, loads, cursor, expected) in cases {
            assert_eq!(
                pick_in(&rules, now, pool, loads, &[], *cursor).as_deref(),
                Ok(*expected),
                "{name}"
            );
        }
    }

    #[test]
    fn off_hours_reps_wait_while_someone_works() {
        // 06:00 in New York: Sam is asleep, Lena works, even with far more handoffs today.
        assert_eq!(
            pick(NOON_BERLIN, &["lena", "sam"], &[("lena", 9)], &[], 0).as_deref(),
            Ok("lena")
        );
    }

    #[test]
    fn after_hours_the_first_to_start_takes_it() {
        // 22:00 UTC: Berlin/London asleep; Greta (Stockholm) starts 08:00 = 06:00 UTC, before
        // Lena (09:00 Berlin = 07:00 UTC) and Oliver (09:00 London = 08:00 UTC).
        let chosen = pick(
            "2026-06-03T22:00:00Z",
            &["lena", "oliver", "greta"],
            &[],
            &[],
            0,
        );
        assert_eq!(chosen.as_deref(), Ok("greta"));
        // …unless she is capped.
        let chosen = pick(
            "2026-06-03T22:00:00Z",
            &["lena", "oliver", "greta"],
            &[("greta", 6)],
            &[],
            0,
        );
        assert_eq!(chosen.as_deref(), Ok("lena"));
    }

    #[test]
    fn nobody_eligible_says_why() {
        let err = pick(NOON_BERLIN, &["greta"], &[("greta", 6)], &[], 0).unwrap_err();
        assert_eq!(
            err,
            "no eligible rep among 1; not eligible: greta (daily cap reached (6/6))"
        );
        assert_eq!(
            pick(NOON_BERLIN, &[], &[], &[], 0).unwrap_err(),
            "no active rep in the pool"
        );
    }

    #[test]
    fn a_rep_back_from_an_override_takes_one_of_a_burst() {
        // Jonas and Chloé (EMEA SDRs, weight 1). Chloé was away 07:00–10:00 UTC; Jonas took 6.
        let overrides = [AvailabilityOverride {
            rep: rep_id("chloe"),
            available: false,
            from: None,
            until: Some(at("2026-06-03T10:00:00Z")),
            reason: None,
            set_at: at("2026-06-03T07:00:00Z"),
        }];
        let mut loads = vec![("jonas", 6), ("chloe", 0)];
        let mut chloe = 0;
        for cursor in 0..10 {
            let chosen = pick(
                "2026-06-03T10:00:00Z",
                &["jonas", "chloe"],
                &loads,
                &overrides,
                cursor,
            )
            .unwrap();
            loads.iter_mut().find(|(r, _)| *r == chosen).unwrap().1 += 1;
            chloe += u32::from(chosen == "chloe");
        }
        // Plain load per weight would give her the first six.
        assert_eq!(chloe, 1);
        // Ten minutes later her pace (1 in 10 min) is above Jonas's (15 in 220 min)…
        let loads = [("jonas", 15), ("chloe", 1)];
        assert_eq!(
            pick(
                "2026-06-03T10:10:00Z",
                &["jonas", "chloe"],
                &loads,
                &overrides,
                0
            )
            .as_deref(),
            Ok("jonas")
        );
        // …an hour later it is below (1 in 60 min < 15 in 270 min).
        assert_eq!(
            pick(
                "2026-06-03T11:00:00Z",
                &["jonas", "chloe"],
                &loads,
                &overrides,
                0
            )
            .as_deref(),
            Ok("chloe")
        );
    }

    #[test]
    fn a_later_shift_is_judged_by_its_own_hours() {
        // Noon Berlin: Lena (weight 2) has worked 180 min with 4 → 4/360; Oliver (London,
        // weight 1) 120 min with 2 → 2/120. Plain load per weight would tie (2 vs 2).
        assert_eq!(
            pick(
                NOON_BERLIN,
                &["lena", "oliver"],
                &[("lena", 4), ("oliver", 2)],
                &[],
                1
            )
            .as_deref(),
            Ok("lena")
        );
        // Oliver with 1 → 1/120 < 4/360.
        assert_eq!(
            pick(
                NOON_BERLIN,
                &["lena", "oliver"],
                &[("lena", 4), ("oliver", 1)],
                &[],
                0
            )
            .as_deref(),
            Ok("oliver")
        );
    }

    #[test]
    fn fairness_keys_are_load_per_weight_without_absence() {
        let rules = example_rules();
        let loads = BTreeMap::from([(rep_id("lena"), 3), (rep_id("oliver"), 2)]);
        let inputs = AvailabilityInputs {
            rules: &rules,
            now: at("2026-06-03T12:00:00Z"),
            loads: &loads,
            overrides: &[],
            excluded: &[],
            sla_minutes: 30,
        };
        let roster = Roster::assess(&inputs);
        let lena = roster.status(&rep_id("lena")).unwrap();
        let lena_twin = lena.clone();
        let f = Fairness::of(&[lena, &lena_twin]);
        assert_eq!(f.compare(0, 1), Ordering::Equal);
    }
}
