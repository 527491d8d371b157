//! The narrowing layers: the rule target's pool (a role's, a team's or a named pool's active
//! reps, never `failover_only` ones), then human-only lane, territory, segment, product line.
//!
//! Each layer keeps the reps that fit. A layer that would leave nobody is skipped and says so in
//! the trace: a buyer from an uncovered country still reaches a rep of the right role. The layers
//! narrow the *roster* (who covers what), not availability: reps of the right territory who are
//! all away escalate to their lead rather than spill into another territory.

use super::step;
use crate::config::{Rep, RuleTarget, Rules};
use crate::package::{Classification, HumanLane, TraceStep};
use crate::render::words::count;

/// The reps left after the layers, and the trace of each layer.
#[derive(Debug, Clone)]
pub(crate) struct Narrowed<'r> {
    /// The target's active reps before any layer.
    pub role_pool: usize,
    /// The remaining reps, in roster order.
    pub reps: Vec<&'r Rep>,
    pub steps: Vec<TraceStep>,
}

/// Runs the pool, human-lane, territory, segment and product-line layers.
pub(crate) fn narrow<'r>(
    rules: &'r Rules,
    c: &Classification,
    target: RuleTarget<'_>,
) -> Narrowed<'r> {
    let role_pool = rules.target_reps(target);
    let mut steps = Vec::new();
    let mut pool = role_pool.clone();
    if let Some(lane) = c.human_decision {
        pool = human_lane(pool, lane, &mut steps);
    }
    pool = territory(rules, c, pool, &mut steps);
    pool = segment(rules, c, pool, &mut steps);
    pool = product_line(c, pool, &mut steps);
    Narrowed {
        role_pool: role_pool.len(),
        reps: pool,
        steps,
    }
}

/// "1 of 6 reps", "3 of 6 reps", "1 of 1 rep".
fn of_total(kept: usize, total: usize) -> String {
    format!("{kept} of {}", count(total, "rep"))
}

/// "3 of 6 reps remain", "1 of 6 reps remains".
fn remain(kept: usize, total: usize) -> String {
    let verb = if kept == 1 { "remains" } else { "remain" };
    format!("{} {verb}", of_total(kept, total))
}

/// The reps that fit, or `None` when nobody would remain.
fn keep<'r>(pool: &[&'r Rep], fits: impl Fn(&Rep) -> bool) -> Option<Vec<&'r Rep>> {
    let kept: Vec<&Rep> = pool.iter().copied().filter(|r| fits(r)).collect();
    (!kept.is_empty()).then_some(kept)
}

fn human_lane<'r>(pool: Vec<&'r Rep>, lane: HumanLane, steps: &mut Vec<TraceStep>) -> Vec<&'r Rep> {
    let total = pool.len();
    match keep(&pool, |r| r.lanes.contains(&lane)) {
        Some(kept) => {
            steps.push(step(
                "human_lane",
                format!(
                    "lane {}: {} {}",
                    lane.phrase(),
                    of_total(kept.len(), total),
                    if kept.len() == 1 {
                        "holds it"
                    } else {
                        "hold it"
                    }
                ),
            ));
            kept
        }
        None => {
            steps.push(step(
                "human_lane",
                format!(
                    "lane {}: nobody in the pool holds it; falling back to {} of the pool",
                    lane.phrase(),
                    if total == 1 {
                        "the 1 rep".to_string()
                    } else {
                        format!("all {total} reps")
                    }
                ),
            ));
            pool
        }
    }
}

fn territory<'r>(
    rules: &'r Rules,
    c: &Classification,
    pool: Vec<&'r Rep>,
    steps: &mut Vec<TraceStep>,
) -> Vec<&'r Rep> {
    let country = c
        .buyer
        .country
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let source = match country {
        Some(code) => format!("buyer country {}", code.to_ascii_uppercase()),
        None => "no buyer country".to_string(),
    };
    let Some(territory) = rules.territory_of(country) else {
        steps.push(step(
            "territory",
            format!("{source} → no territory and no default; layer skipped"),
        ));
        return pool;
    };
    let via_default = country.is_none_or(|code| {
        !territory
            .countries
            .iter()
            .any(|c| c.eq_ignore_ascii_case(code))
    });
    let arrow = if via_default {
        "→ default territory"
    } else {
        "→"
    };
    let total = pool.len();
    let fits = |r: &Rep| {
        rules
            .team(&r.team)
            .is_some_and(|t| t.territory.as_deref().is_none_or(|x| x == territory.id))
    };
    match keep(&pool, fits) {
        Some(kept) => {
            steps.push(step(
                "territory",
                format!(
                    "{source} {arrow} {}; {}",
                    territory.id,
                    remain(kept.len(), total)
                ),
            ));
            kept
        }
        None => {
            steps.push(step(
                "territory",
                format!(
                    "{source} {arrow} {}, but no rep in the pool covers it; layer skipped",
                    territory.id
                ),
            ));
            pool
        }
    }
}

fn segment<'r>(
    rules: &Rules,
    c: &Classification,
    pool: Vec<&'r Rep>,
    steps: &mut Vec<TraceStep>,
) -> Vec<&'r Rep> {
    let Some(employees) = c.buyer.employees else {
        steps.push(step("segment", "company size unknown; layer skipped"));
        return pool;
    };
    let segment = rules.segments.segment_of(employees);
    let total = pool.len();
    match keep(&pool, |r| {
        r.segments.is_empty() || r.segments.contains(&segment)
    }) {
        Some(kept) => {
            steps.push(step(
                "segment",
                format!(
                    "{employees} employees → {segment}; {}",
                    remain(kept.len(), total)
                ),
            ));
            kept
        }
        None => {
            steps.push(step(
                "segment",
                format!(
                    "{employees} employees → {segment}, but no rep in the pool covers it; layer skipped",
                ),
            ));
            pool
        }
    }
}

fn product_line<'r>(
    c: &Classification,
    pool: Vec<&'r Rep>,
    steps: &mut Vec<TraceStep>,
) -> Vec<&'r Rep> {
    let Some(line) = c.product_line.as_deref() else {
        steps.push(step("product_line", "no product line; layer skipped"));
        return pool;
    };
    let total = pool.len();
    match keep(&pool, |r| {
        r.products.is_empty() || r.products.iter().any(|p| p == line)
    }) {
        Some(kept) => {
            steps.push(step(
                "product_line",
                format!("product line {line}; {}", remain(kept.len(), total)),
            ));
            kept
        }
        None => {
            steps.push(step(
                "product_line",
                format!("product line {line}, but no rep in the pool covers it; layer skipped"),
            ));
            pool
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Role;
    use crate::package::{Motion, TriggerKind};
    use crate::routing::testing::{classification, example_rules};

    fn ids(n: &Narrowed<'_>) -> Vec<String> {
        n.reps.iter().map(|r| r.id.to_string()).collect()
    }

    #[test]
    fn layers_narrow_the_pool() {
        let rules = example_rules();
        type Case<'a> = (
            &'a str,
            Role,
            Option<&'a str>,
            Option<u32>,
            Option<&'a str>,
            Option<HumanLane>,
            &'a [&'a str],
        );
        let cases: &[Case<'_>] = &[
            (
                "DE AE, no size",
                Role::Ae,
                Some("DE"),
                None,
                None,
                None,
                &["lena", "oliver", "greta"],
            ),
            (
                "lowercase country",
                Role::Ae,
                Some("de"),
                None,
                None,
                None,
                &["lena", "oliver", "greta"],
            ),
            (
                "US AE",
                Role::Ae,
                Some("US"),
                None,
                None,
                None,
                &["sam", "riley", "marcus"],
            ),
            (
                "unknown country → default amer",
                Role::Ae,
                Some("JP"),
                None,
                None,
                None,
                &["sam", "riley", "marcus"],
            ),
            (
                "no country → default amer",
                Role::Sdr,
                None,
                None,
                None,
                None,
                &["ava", "diego"],
            ),
            (
                "DE enterprise",
                Role::Ae,
                Some("DE"),
                Some(5000),
                None,
                None,
                &["lena", "greta"],
            ),
            (
                "DE smb",
                Role::Ae,
                Some("DE"),
                Some(50),
                None,
                None,
                &["oliver"],
            ),
            (
                "DE mid-market platform",
                Role::Ae,
                Some("DE"),
                Some(500),
                Some("platform"),
                None,
                &["lena"],
            ),
            (
                "DE smb platform: product layer skipped",
                Role::Ae,
                Some("DE"),
                Some(50),
                Some("platform"),
                None,
                &["oliver"],
            ),
            (
                "closers: global team",
                Role::Closer,
                Some("DE"),
                Some(5000),
                None,
                None,
                &["nadia", "tom"],
            ),
            (
                "legal lane",
                Role::Closer,
                Some("US"),
                None,
                None,
                Some(HumanLane::LegalReview),
                &["nadia"],
            ),
            (
                "pricing lane",
                Role::Closer,
                None,
                None,
                None,
                Some(HumanLane::Pricing),
                &["nadia", "tom"],
            ),
        ];
        for (name, role, country, employees, product, lane, expected) in cases {
            let mut c = classification(Motion::Inbound, TriggerKind::DemoRequest);
            c.buyer.country = country.map(str::to_string);
            c.buyer.employees = *employees;
            c.product_line = product.map(str::to_string);
            c.human_decision = *lane;
            let n = narrow(&rules, &c, RuleTarget::Role(*role));
            assert_eq!(ids(&n), *expected, "{name}: {:?}", n.steps);
        }
    }

    #[test]
    fn a_layer_that_would_empty_the_pool_is_skipped() {
        let mut rules = example_rules();
        for r in rules
            .reps
            .iter_mut()
            .filter(|r| r.team.as_str() == "emea-ae")
        {
            r.segments = vec![crate::config::Segment::Enterprise];
        }
        let mut c = classification(Motion::Inbound, TriggerKind::DemoRequest);
        c.buyer.country = Some("DE".into());
        c.buyer.employees = Some(10);
        let n = narrow(&rules, &c, RuleTarget::Role(Role::Ae));
        assert_eq!(ids(&n), ["lena", "oliver", "greta"]);
        let seg = n.steps.iter().find(|s| s.layer == "segment").unwrap();
        assert!(seg.outcome.contains("layer skipped"), "{}", seg.outcome);
    }

    #[test]
    fn lane_without_holder_falls_back_to_the_role() {
        let mut rules = example_rules();
        for r in &mut rules.reps {
            r.lanes.retain(|l| *l != HumanLane::SecurityReview);
        }
        let mut c = classification(Motion::Inbound, TriggerKind::SecurityReview);
        c.human_decision = Some(HumanLane::SecurityReview);
        let n = narrow(&rules, &c, RuleTarget::Role(Role::Closer));
        assert_eq!(ids(&n), ["nadia", "tom"]);
        assert!(
            n.steps[0].outcome.contains("falling back"),
            "{}",
            n.steps[0].outcome
        );
    }

    #[test]
    fn trace_names_the_territory() {
        let rules = example_rules();
        let mut c = classification(Motion::Inbound, TriggerKind::DemoRequest);
        c.buyer.country = Some("DE".into());
        let n = narrow(&rules, &c, RuleTarget::Role(Role::Ae));
        let t = n.steps.iter().find(|s| s.layer == "territory").unwrap();
        assert_eq!(t.outcome, "buyer country DE → emea; 3 of 6 reps remain");
        c.buyer.country = None;
        let n = narrow(&rules, &c, RuleTarget::Role(Role::Ae));
        let t = n.steps.iter().find(|s| s.layer == "territory").unwrap();
        assert_eq!(
            t.outcome,
            "no buyer country → default territory amer; 3 of 6 reps remain"
        );
    }
}
