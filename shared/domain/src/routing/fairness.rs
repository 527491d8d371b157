//! Fairness counters: what the weighted round robin remembers between decisions.
//!
//! Every rep has two counters that only ever grow: `owed`, the fair shares of round-robin
//! decisions they were a candidate in (in millionths of a handoff), and `won`, the decisions they
//! won. Their difference, the **deficit** `owed − won × 1,000,000`, says how far the rep is behind
//! (positive) or ahead of (negative) their weighted share. Each decision splits exactly one
//! handoff among its candidates and gives exactly one to the winner, so the deficits of all reps
//! always sum to zero, and a rep who was never a candidate (new in the roster) sits at zero: the
//! average.
//!
//! Routing reads the counters ([`crate::routing::RoutingInput::fairness`]) and says what a
//! decision adds ([`FairShare`], on the decision); the service records it with the load
//! ([`crate::ports::HandoffStore::record_assignment`]). Stores keep the counters as commutative
//! additions, so concurrent decisions never conflict and none is lost. Why the round robin
//! compares these deficits is explained in `round_robin.rs`.

use crate::ids::RepId;
use std::collections::BTreeMap;

/// One handoff in the units of [`FairnessCounters::owed`].
pub const ONE_HANDOFF: u64 = 1_000_000;

/// A rep's fairness counters (both zero for a rep never counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FairnessCounters {
    /// Fair shares of every round-robin decision the rep was a candidate in, in millionths.
    pub owed: u64,
    /// Round-robin decisions the rep won.
    pub won: u64,
}

impl FairnessCounters {
    /// `owed − won × 1,000,000`: positive while the rep has received less than their share.
    pub fn deficit(&self) -> i128 {
        i128::from(self.owed) - i128::from(self.won) * i128::from(ONE_HANDOFF)
    }
}

/// What one round-robin decision adds to the counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FairShare {
    /// Every candidate with their share of this decision in millionths, in rep id order; the
    /// shares sum to exactly [`ONE_HANDOFF`].
    pub shares: Vec<(RepId, u64)>,
    /// The candidate who got the handoff (their `won` goes up by one).
    pub winner: RepId,
}

impl FairShare {
    /// Adds this decision to `counters`, as a store does.
    pub fn apply(&self, counters: &mut BTreeMap<RepId, FairnessCounters>) {
        for (rep, share) in &self.shares {
            let c = counters.entry(rep.clone()).or_default();
            c.owed = c.owed.saturating_add(*share);
        }
        let winner = counters.entry(self.winner.clone()).or_default();
        winner.won = winner.won.saturating_add(1);
    }

    /// The share of `rep` in this decision (0 when they were not a candidate).
    pub fn share_of(&self, rep: &RepId) -> u64 {
        self.shares
            .iter()
            .find(|(r, _)| r == rep)
            .map_or(0, |(_, share)| *share)
    }
}

/// Splits one handoff among `candidates` (rep, weight) in proportion to their weights, in
/// millionths that sum to exactly [`ONE_HANDOFF`] (largest remainder; equal remainders favour
/// the candidate listed first). Weights below 1 count as 1. Empty in, empty out.
pub(crate) fn split(candidates: &[(&RepId, u32)]) -> Vec<(RepId, u64)> {
    let total: u64 = candidates.iter().map(|(_, w)| u64::from((*w).max(1))).sum();
    if total == 0 {
        return Vec::new();
    }
    let exact: Vec<(u64, u64)> = candidates
        .iter()
        .map(|(_, w)| {
            let scaled = u64::from((*w).max(1)) * ONE_HANDOFF;
            (scaled / total, scaled % total)
        })
        .collect();
    let mut shares: Vec<u64> = exact.iter().map(|(quota, _)| *quota).collect();
    let left = ONE_HANDOFF - shares.iter().sum::<u64>();
    let mut by_remainder: Vec<usize> = (0..candidates.len()).collect();
    by_remainder.sort_by(|&a, &b| exact[b].1.cmp(&exact[a].1).then(a.cmp(&b)));
    for &i in by_remainder.iter().take(usize::try_from(left).unwrap_or(0)) {
        shares[i] += 1;
    }
    candidates
        .iter()
        .zip(shares)
        .map(|((rep, _), share)| ((*rep).clone(), share))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::testing::rep_id;

    /// Name, candidates (rep, weight), expected shares in millionths.
    type SplitCase<'a> = (&'a str, Vec<(&'a RepId, u32)>, Vec<u64>);

    #[test]
    fn shares_follow_the_weights_and_sum_to_one_handoff() {
        let (a, b, c) = (rep_id("a"), rep_id("b"), rep_id("c"));
        let cases: &[SplitCase<'_>] = &[
            ("alone", vec![(&a, 3)], vec![1_000_000]),
            ("two to one", vec![(&a, 2), (&b, 1)], vec![666_667, 333_333]),
            (
                "thirds: the first listed gets the spare millionth",
                vec![(&a, 1), (&b, 1), (&c, 1)],
                vec![333_334, 333_333, 333_333],
            ),
            (
                "one, one, two",
                vec![(&a, 1), (&b, 1), (&c, 2)],
                vec![250_000, 250_000, 500_000],
            ),
            (
                "sevenths: largest remainders first",
                vec![(&a, 1), (&b, 2), (&c, 4)],
                vec![142_857, 285_714, 571_429],
            ),
            (
                "weight 0 counts as 1",
                vec![(&a, 0), (&b, 1)],
                vec![500_000, 500_000],
            ),
            ("nobody", vec![], vec![]),
        ];
        for (name, candidates, expected) in cases {
            let shares: Vec<u64> = split(candidates).into_iter().map(|(_, s)| s).collect();
            assert_eq!(&shares, expected, "{name}");
            if !shares.is_empty() {
                assert_eq!(shares.iter().sum::<u64>(), ONE_HANDOFF, "{name}");
            }
        }
    }

    #[test]
    fn applying_a_decision_keeps_the_deficits_summing_to_zero() {
        let (a, b) = (rep_id("a"), rep_id("b"));
        let decision = FairShare {
            shares: split(&[(&a, 2), (&b, 1)]),
            winner: a.clone(),
        };
        let mut counters = BTreeMap::new();
        decision.apply(&mut counters);
        decision.apply(&mut counters);
        assert_eq!(
            counters[&a],
            FairnessCounters {
                owed: 1_333_334,
                won: 2
            }
        );
        assert_eq!(counters[&a].deficit(), -666_666);
        assert_eq!(counters[&b].deficit(), 666_666);
        assert_eq!(decision.share_of(&b), 333_333);
        assert_eq!(decision.share_of(&rep_id("c")), 0);
    }
}
