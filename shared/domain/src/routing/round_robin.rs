//! Weighted round robin over the narrowed pool: deficit counters with calibration.
//!
//! **Who competes.** Reps available now (unblocked, inside working hours). If nobody in the pool
//! works now (after hours, weekends, holidays), the unblocked reps whose next shift starts
//! soonest: the handoff goes to whoever will see it first, never to someone blocked (away, on
//! time off, capped, excluded, or leaving on time off before the SLA runs out).
//!
//! **Who wins.** Every rep carries two growing counters ([`FairnessCounters`]): `owed`, the fair
//! shares of the decisions they competed in, and `won`, the decisions they won. A decision among
//! the candidates S owes each candidate `weight / Σ weight of S` of one handoff (in millionths,
//! summing to exactly one), and the candidate furthest behind — the largest deficit
//! `owed − won` *including this decision's share* — gets it. Ties go to the tied rep at
//! `cursor mod n` in id order, so an atomic counter rotates them. The decision carries its
//! [`FairShare`] for the service to add to the counters (with the load, in one store call).
//!
//! This is smooth weighted round robin (nginx's algorithm, normalised so the counters can be
//! added up by a store without reading them first): with a fixed set of candidates every rep's
//! count stays within about one handoff of its weighted share at every point, and picks
//! interleave (2:1 gives a, b, a, a, b, a, …, not a, a, b). Comparing the deficit *before* the
//! share, or the deficit per weight, converges too but drifts further from the weights (in a
//! simulation of random rosters, weights 1–10: up to 1.11 handoffs before the share and 2.67
//! per weight, against 1.07 for this key).
//!
//! **Why not a pace per day.** The previous model compared handoffs today per weighted minute
//! since the start of each rep's own shift. Two reps in different time zones sharing a pool then
//! drifted from their weights: the one whose day started earlier had a lower pace during the
//! overlap (more minutes) and took most of the shared hours' leads. Deficits count only
//! decisions a rep competed in, so time zones, shift starts and the length of anyone's day do
//! not matter: during the overlap the split follows the weights; alone, a rep takes everything
//! and their deficit does not move (they are owed the whole handoff and win it).
//!
//! **Calibration, without bookkeeping.** A rep who cannot take a handoff (off shift, away, on
//! time off, capped, excluded, or simply not in the pool) is not a candidate, so they are owed
//! nothing meanwhile: back from an absence they compete with the deficit they left with (under
//! about one handoff either way), not with a backlog. A rep added to the roster starts at zero,
//! which is the average (all deficits sum to zero). So neither is flooded: of the next N
//! handoffs they take at most their weighted share plus one, plus whatever they were still owed
//! when they left. Deficits stay bounded (the property tests check ±2 on random rosters).
//!
//! Only round-robin decisions move the counters: continuity (existing owner, account owner) and
//! escalations (team lead, queue) count against the daily cap only.

use super::eligibility::{RepStatus, Roster};
use super::fairness::{split, FairShare, FairnessCounters, ONE_HANDOFF};
use crate::config::Rep;
use crate::ids::RepId;
use std::collections::BTreeMap;

/// The chosen rep, the trace line explaining the choice, and what the choice adds to the
/// fairness counters.
#[derive(Debug, Clone)]
pub(crate) struct Choice<'s, 'r> {
    pub status: &'s RepStatus<'r>,
    pub outcome: String,
    pub fair_share: FairShare,
}

/// Picks a rep from `pool` by the reps' `fairness` counters (missing = zeros), or says why
/// nobody can take it.
pub(crate) fn choose<'s, 'r>(
    pool: &[&'r Rep],
    roster: &'s Roster<'r>,
    fairness: &BTreeMap<RepId, FairnessCounters>,
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
    let (mut candidates, situation) = if working.is_empty() {
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
            "nobody in the pool works now; first to start ({})",
            soonest.format("%Y-%m-%d %H:%M UTC")
        );
        (first, situation)
    } else {
        (working, "working now".to_string())
    };
    candidates.sort_by(|a, b| a.rep.id.cmp(&b.rep.id));
    candidates.dedup_by(|a, b| a.rep.id == b.rep.id);
    let standings = Standings::of(&candidates, fairness);
    let best = standings.keys.iter().copied().max().unwrap_or_default();
    let tied: Vec<usize> = (0..candidates.len())
        .filter(|&i| standings.keys[i] == best)
        .collect();
    let index = usize::try_from(cursor % tied.len() as u64).unwrap_or(0);
    let winner = candidates[tied[index]];
    let why = if tied.len() > 1 {
        let names: Vec<&str> = tied
            .iter()
            .map(|&i| candidates[i].rep.id.as_str())
            .collect();
        format!(
            "tie between {} broken by rotation (cursor {cursor})",
            names.join(", ")
        )
    } else {
        "furthest short of their fair share".to_string()
    };
    Ok(Choice {
        status: winner,
        outcome: format!(
            "{situation}: {}{skipped} → {}: {why}",
            describe(&candidates, &standings.keys),
            winner.rep.id
        ),
        fair_share: FairShare {
            shares: standings.shares,
            winner: winner.rep.id.clone(),
        },
    })
}

/// Each candidate's share of this decision and their key: the deficit including that share.
struct Standings {
    shares: Vec<(RepId, u64)>,
    keys: Vec<i128>,
}

impl Standings {
    fn of(candidates: &[&RepStatus<'_>], fairness: &BTreeMap<RepId, FairnessCounters>) -> Self {
        let weights: Vec<(&RepId, u32)> = candidates
            .iter()
            .map(|s| (&s.rep.id, s.rep.weight))
            .collect();
        let shares = split(&weights);
        let keys = shares
            .iter()
            .map(|(rep, share)| {
                let counters = fairness.get(rep).copied().unwrap_or_default();
                counters.deficit() + i128::from(*share)
            })
            .collect();
        Self { shares, keys }
    }
}

fn describe(candidates: &[&RepStatus<'_>], keys: &[i128]) -> String {
    candidates
        .iter()
        .zip(keys)
        .map(|(s, key)| {
            format!(
                "{} {}/{} today (weight {}, {})",
                s.rep.id,
                s.load,
                s.rep.daily_cap,
                s.rep.weight,
                standing(*key)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A key in words, to the hundredth of a handoff.
fn standing(key: i128) -> String {
    let hundredths =
        (key * 100 + key.signum() * i128::from(ONE_HANDOFF) / 2) / i128::from(ONE_HANDOFF);
    let amount = format!("{}.{:02}", hundredths.abs() / 100, hundredths.abs() % 100);
    match hundredths.signum() {
        1 => format!("short of fair share by {amount}"),
        -1 => format!("ahead of fair share by {amount}"),
        _ => "at fair share".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::AvailabilityOverride;
    use crate::routing::eligibility::AvailabilityInputs;
    use crate::routing::testing::{at, example_rules, rep_id};

    /// Counters as (rep, owed in handoffs × 1000, won).
    type Counters<'a> = &'a [(&'a str, u64, u64)];

    fn counters(list: Counters<'_>) -> BTreeMap<RepId, FairnessCounters> {
        list.iter()
            .map(|(r, owed_thousandths, won)| {
                (
                    rep_id(r),
                    FairnessCounters {
                        owed: owed_thousandths * 1000,
                        won: *won,
                    },
                )
            })
            .collect()
    }

    struct Pick<'a> {
        rules: &'a crate::config::Rules,
        now: &'a str,
        pool: &'a [&'a str],
        loads: &'a [(&'a str, u32)],
        overrides: &'a [AvailabilityOverride],
        fairness: &'a BTreeMap<RepId, FairnessCounters>,
        cursor: u64,
    }

    impl Pick<'_> {
        fn run(&self) -> Result<(String, FairShare, String), String> {
            let loads: BTreeMap<RepId, u32> =
                self.loads.iter().map(|(r, n)| (rep_id(r), *n)).collect();
            let inputs = AvailabilityInputs {
                rules: self.rules,
                now: at(self.now),
                loads: &loads,
                overrides: self.overrides,
                excluded: &[],
                sla_minutes: 30,
            };
            let roster = Roster::assess(&inputs);
            let pool: Vec<&Rep> = self
                .pool
                .iter()
                .map(|id| self.rules.rep(&rep_id(id)).unwrap())
                .collect();
            choose(&pool, &roster, self.fairness, self.cursor)
                .map(|c| (c.status.rep.id.to_string(), c.fair_share, c.outcome))
        }

        fn winner(&self) -> Result<String, String> {
            self.run().map(|(w, _, _)| w)
        }
    }

    // Wednesday 2026-06-03 10:00 UTC: 12:00 Berlin, 11:00 London, 06:00 New York.
    const NOON_BERLIN: &str = "2026-06-03T10:00:00Z";

    /// Name, pool, counters, loads, cursor, expected rep.
    type ChoiceCase<'a> = (
        &'a str,
        &'a [&'a str],
        Counters<'a>,
        &'a [(&'a str, u32)],
        u64,
        &'a str,
    );

    #[test]
    fn deficit_choice_table() {
        // Lena weight 2 (Berlin), Oliver weight 1 (London), Jonas and Chloé weight 1.
        let cases: &[ChoiceCase<'_>] = &[
            (
                "fresh counters: the heavier share wins (2/3 against 1/3)",
                &["lena", "oliver"],
                &[],
                &[],
                0,
                "lena",
            ),
            (
                "the rep further behind wins whatever the weights",
                &["lena", "oliver"],
                &[("lena", 2000, 2), ("oliver", 1000, 0)],
                &[],
                0,
                "oliver",
            ),
            (
                "a small deficit is outweighed by the heavier share",
                &["lena", "oliver"],
                &[("oliver", 300, 0)],
                &[],
                0,
                "lena",
            ),
            (
                "ahead of the share loses",
                &["lena", "oliver"],
                &[("lena", 1333, 2), ("oliver", 667, 0)],
                &[],
                0,
                "oliver",
            ),
            (
                "loads today do not matter, only the counters",
                &["lena", "oliver"],
                &[("lena", 1000, 0)],
                &[("lena", 9), ("oliver", 0)],
                0,
                "lena",
            ),
            (
                "tie, cursor 0 → first id",
                &["jonas", "chloe"],
                &[],
                &[],
                0,
                "chloe",
            ),
            (
                "tie, cursor 1 → second id",
                &["jonas", "chloe"],
                &[],
                &[],
                1,
                "jonas",
            ),
            (
                "tie, cursor 5 → second id",
                &["jonas", "chloe"],
                &[("jonas", 4000, 4), ("chloe", 4000, 4)],
                &[],
                5,
                "jonas",
            ),
            (
                "a capped rep is not a candidate",
                &["oliver", "greta"],
                &[("greta", 5000, 0)],
                &[("greta", 6)],
                0,
                "oliver",
            ),
            (
                "missing counters count as zero, the average",
                &["jonas", "chloe"],
                &[("jonas", 500, 1)],
                &[],
                0,
                "chloe",
            ),
        ];
        let rules = example_rules();
        for (name, pool, list, loads, cursor, expected) in cases {
            let fairness = counters(list);
            let pick = Pick {
                rules: &rules,
                now: NOON_BERLIN,
                pool,
                loads,
                overrides: &[],
                fairness: &fairness,
                cursor: *cursor,
            };
            assert_eq!(pick.winner().as_deref(), Ok(*expected), "{name}");
        }
    }

    #[test]
    fn the_fair_share_names_every_candidate_and_nobody_else() {
        let rules = example_rules();
        let fairness = BTreeMap::new();
        // Noon Berlin: Lena and Oliver work, Sam (New York) does not, Greta is capped.
        let pick = Pick {
            rules: &rules,
            now: NOON_BERLIN,
            pool: &["sam", "oliver", "lena", "greta"],
            loads: &[("greta", 6)],
            overrides: &[],
            fairness: &fairness,
            cursor: 0,
        };
        let (winner, share, outcome) = pick.run().unwrap();
        assert_eq!(winner, "lena");
        assert_eq!(
            share,
            FairShare {
                shares: vec![(rep_id("lena"), 666_667), (rep_id("oliver"), 333_333)],
                winner: rep_id("lena"),
            }
        );
        assert_eq!(
            outcome,
            "working now: lena 0/12 today (weight 2, short of fair share by 0.67), \
             oliver 0/15 today (weight 1, short of fair share by 0.33); not eligible: \
             greta (daily cap reached (6/6)) → lena: furthest short of their fair share"
        );
    }

    #[test]
    fn standings_in_words() {
        let cases: &[(i128, &str)] = &[
            (0, "at fair share"),
            (4_000, "at fair share"),
            (5_000, "short of fair share by 0.01"),
            (666_667, "short of fair share by 0.67"),
            (1_250_000, "short of fair share by 1.25"),
            (-333_333, "ahead of fair share by 0.33"),
            (-2_000_000, "ahead of fair share by 2.00"),
        ];
        for (key, expected) in cases {
            assert_eq!(standing(*key), *expected, "{key}");
        }
    }

    #[test]
    fn off_hours_reps_wait_while_someone_works() {
        // 06:00 in New York: Sam is asleep, Lena works, even far ahead of her share.
        let rules = example_rules();
        let fairness = counters(&[("lena", 0, 9), ("sam", 9000, 0)]);
        let pick = Pick {
            rules: &rules,
            now: NOON_BERLIN,
            pool: &["lena", "sam"],
            loads: &[("lena", 9)],
            overrides: &[],
            fairness: &fairness,
            cursor: 0,
        };
        let (winner, share, _) = pick.run().unwrap();
        assert_eq!(winner, "lena");
        // Alone, she is owed the whole handoff and wins it: her deficit does not move.
        assert_eq!(share.shares, vec![(rep_id("lena"), ONE_HANDOFF)]);
    }

    #[test]
    fn after_hours_the_first_to_start_takes_it() {
        // 22:00 UTC: Berlin/London asleep; Greta (Stockholm) starts 08:00 = 06:00 UTC, before
        // Lena (09:00 Berlin = 07:00 UTC) and Oliver (09:00 London = 08:00 UTC).
        let rules = example_rules();
        let fairness = counters(&[("lena", 5000, 0)]);
        let mut pick = Pick {
            rules: &rules,
            now: "2026-06-03T22:00:00Z",
            pool: &["lena", "oliver", "greta"],
            loads: &[],
            overrides: &[],
            fairness: &fairness,
            cursor: 0,
        };
        let (winner, share, outcome) = pick.run().unwrap();
        assert_eq!(winner, "greta");
        assert_eq!(share.shares, vec![(rep_id("greta"), ONE_HANDOFF)]);
        assert!(
            outcome.starts_with("nobody in the pool works now; first to start"),
            "{outcome}"
        );
        // …unless she is capped.
        pick.loads = &[("greta", 6)];
        assert_eq!(pick.winner().as_deref(), Ok("lena"));
    }

    #[test]
    fn nobody_eligible_says_why() {
        let rules = example_rules();
        let fairness = BTreeMap::new();
        let mut pick = Pick {
            rules: &rules,
            now: NOON_BERLIN,
            pool: &["greta"],
            loads: &[("greta", 6)],
            overrides: &[],
            fairness: &fairness,
            cursor: 0,
        };
        assert_eq!(
            pick.winner().unwrap_err(),
            "no eligible rep among 1; not eligible: greta (daily cap reached (6/6))"
        );
        pick.pool = &[];
        assert_eq!(pick.winner().unwrap_err(), "no active rep in the pool");
    }

    #[test]
    fn a_rep_back_from_an_override_competes_with_the_deficit_they_left_with() {
        // Jonas and Chloé (EMEA SDRs, weight 1). Chloé was away 07:00–10:00 UTC; Jonas took
        // every handoff alone meanwhile, which leaves both deficits where they were (level).
        let overrides = [AvailabilityOverride {
            rep: rep_id("chloe"),
            available: false,
            from: None,
            until: Some(at("2026-06-03T10:00:00Z")),
            reason: None,
            set_at: at("2026-06-03T07:00:00Z"),
        }];
        let rules = example_rules();
        let mut fairness = counters(&[("jonas", 3000, 3), ("chloe", 3000, 3)]);
        let decide = |now: &str, cursor: u64, fairness: &mut BTreeMap<_, _>| {
            let pick = Pick {
                rules: &rules,
                now,
                pool: &["jonas", "chloe"],
                loads: &[],
                overrides: &overrides,
                fairness,
                cursor,
            };
            let (winner, share, _) = pick.run().unwrap();
            share.apply(fairness);
            winner
        };
        for cursor in 0..6 {
            assert_eq!(
                decide("2026-06-03T09:00:00Z", cursor, &mut fairness),
                "jonas"
            );
        }
        assert_eq!(fairness[&rep_id("jonas")].deficit(), 0);
        // Back at 10:00: a burst of ten is shared, five each, instead of her catching up on six.
        let burst: Vec<String> = (0..10)
            .map(|cursor| decide("2026-06-03T10:00:00Z", cursor, &mut fairness))
            .collect();
        assert_eq!(burst.iter().filter(|w| *w == "chloe").count(), 5);
        assert_eq!(burst[..2], ["chloe", "jonas"]);
    }

    #[test]
    fn a_later_shift_start_does_not_matter() {
        // Noon Berlin: Lena (weight 2) has worked three hours, Oliver (London, weight 1) two.
        // Level counters → the weights decide, however long anyone has been at work.
        let rules = example_rules();
        let fairness = counters(&[("lena", 4000, 4), ("oliver", 2000, 2)]);
        let pick = Pick {
            rules: &rules,
            now: NOON_BERLIN,
            pool: &["lena", "oliver"],
            loads: &[("lena", 4), ("oliver", 2)],
            overrides: &[],
            fairness: &fairness,
            cursor: 1,
        };
        assert_eq!(pick.winner().as_deref(), Ok("lena"));
    }
}
