//! Properties of routing on random rosters of 2–12 reps (weights, caps, loads, time zones,
//! working hours, time off, away overrides).
//!
//! An independent oracle, written from the rules in the routing docs with only the public SLA
//! functions, says which reps can take a handoff; the properties check `route` against it.
//!
//! The fairness tests run routing as the service does ([`Desk`]): each decision's load and fair
//! share are recorded before the next, across time zones, absences and a rep joining mid-day.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use handoff_domain::config::{
    Failover, Org, QualificationPolicy, Rep, Role, RouteRule, Rules, SegmentBounds, SlaPolicy,
    SlaTiers, Team, TimeOff, WorkingHours,
};
use handoff_domain::event::{Channel, MeetingStatus, Urgency};
use handoff_domain::ids::{EmailAddress, RepId, SourceName, TeamId};
use handoff_domain::package::{
    BuyerContext, Classification, Motion, MotionFields, NextAction, NextStep, Qualification,
    TriggerKind,
};
use handoff_domain::ports::AvailabilityOverride;
use handoff_domain::routing::{route, RouteMode, RoutingDecision, RoutingFacts, RoutingInput};
use handoff_domain::routing::{FairShare, FairnessCounters, ONE_HANDOFF};
use handoff_domain::sla::{
    add_business_minutes, has_working_time_after, is_working_at, next_working_moment, Calendar,
};
use proptest::prelude::*;
use std::collections::BTreeMap;

/// The SLA of the handoffs in these tests: inbound demo request → inbound/hot.
const SLA_MINUTES: u32 = 30;

const ZONES: &[Tz] = &[
    chrono_tz::Europe::Berlin,
    chrono_tz::Europe::London,
    chrono_tz::America::New_York,
    chrono_tz::America::Los_Angeles,
    chrono_tz::Asia::Kolkata,
    chrono_tz::UTC,
];

const WEEK: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

// ---- building inputs by hand ----------------------------------------------------------------

fn rep_id(i: usize) -> RepId {
    RepId::parse(format!("rep-{i:02}")).unwrap()
}

fn team_id(s: &str) -> TeamId {
    TeamId::parse(s).unwrap()
}

fn minute_of_day(m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(m / 60, m % 60, 0).unwrap()
}

/// An inbound, qualified demo request with no country, size or product line.
fn demo_request() -> Classification {
    let source = SourceName::parse("website").unwrap();
    Classification {
        motion: Motion::Inbound,
        trigger: TriggerKind::DemoRequest,
        reply_class: None,
        qualification: Qualification::Qualified,
        risk_flags: Vec::new(),
        human_decision: None,
        escalate: true,
        next_step: NextStep {
            action: NextAction::CallToday,
            detail: "call today".into(),
        },
        buyer: BuyerContext {
            email: EmailAddress::parse("dana@acme.example").unwrap(),
            name: Some("Dana".into()),
            company: Some("Acme".into()),
            company_domain: None,
            role: None,
            country: None,
            employees: None,
            source: source.clone(),
            channel: Channel::WebForm,
            problem_statement: "wants a demo".into(),
        },
        motion_fields: MotionFields::Inbound {
            source,
            channel: Channel::WebForm,
            qualification_answers: Vec::new(),
            urgency: Urgency::Unknown,
            meeting_status: MeetingStatus::NotOffered,
            routing_reason: String::new(),
        },
        automation: None,
        product_line: None,
        evidence: Vec::new(),
        needs_confirmation: None,
    }
}

/// One AE team (no territory) holding `reps`, led by `lead`.
fn rules_for(reps: Vec<Rep>, lead: Option<RepId>) -> Rules {
    Rules {
        org: Org {
            name: "Test".into(),
            product_names: Vec::new(),
            competitors: Vec::new(),
            product_lines: BTreeMap::new(),
            holidays: Vec::new(),
        },
        territories: Vec::new(),
        segments: SegmentBounds::default(),
        teams: vec![Team {
            id: team_id("ae"),
            name: "Account Executives".into(),
            role: Role::Ae,
            territory: None,
            lead,
            max_reps: None,
            queue: None,
            queue_notify: None,
        }],
        reps,
        crm: Default::default(),
        notify: Default::default(),
        judge: Default::default(),
        pools: Vec::new(),
        accounts: Vec::new(),
        routing: vec![RouteRule {
            name: "everything to an AE".into(),
            motion: None,
            human_decision: None,
            qualification: Vec::new(),
            triggers: Vec::new(),
            flags: Vec::new(),
            when: None,
            role: Some(Role::Ae),
            team: None,
            pool: None,
        }],
        sla: SlaPolicy {
            inbound: SlaTiers {
                hot: SLA_MINUTES,
                standard: 120,
            },
            outbound: SlaTiers {
                hot: 60,
                standard: 240,
            },
            human_decision_minutes: 60,
            reroute_minutes: SLA_MINUTES,
        },
        failover: Failover {
            max_reps: 2,
            shared_queue: "queue".into(),
            shared_queue_notify: "slack:#queue".into(),
            requalify_role: Role::Sdr,
        },
        qualification: QualificationPolicy::default(),
    }
}

fn input<'a>(rules: &'a Rules, c: &'a Classification, now: DateTime<Utc>) -> RoutingInput<'a> {
    RoutingInput::first_assignment(rules, c, RoutingFacts::of(rules, c, None), now)
}

// ---- random rosters ---------------------------------------------------------------------------

/// A random rep, with time off and an override relative to `now`.
#[derive(Debug, Clone)]
struct RepSpec {
    zone: usize,
    start: u32,
    length: u32,
    days: Vec<usize>,
    weight: u32,
    cap: u32,
    load: u32,
    active: bool,
    /// Time off: (first day relative to today, length in days).
    time_off: Option<(i64, u64)>,
    /// Away override: (set minutes before now, until minutes relative to now or none).
    away: Option<(i64, Option<i64>)>,
}

fn rep_spec() -> impl Strategy<Value = RepSpec> {
    (
        (
            0..ZONES.len(),
            0u32..1200,
            60u32..720,
            prop::collection::btree_set(0usize..7, 1..=7),
        ),
        (1u32..=10, 1u32..=15, 0u32..=17, prop::bool::weighted(0.9)),
        prop::option::weighted(0.3, (-5i64..=3, 0u64..5)),
        prop::option::weighted(0.2, (1i64..600, prop::option::of(-300i64..300))),
    )
        .prop_map(
            |((zone, start, length, days), (weight, cap, load, active), time_off, away)| RepSpec {
                zone,
                start,
                length: length.min(1439 - start),
                days: days.into_iter().collect(),
                weight,
                cap,
                load,
                active,
                time_off,
                away,
            },
        )
}

/// A roster of 2–12 reps at `now`: the reps, their loads and their overrides.
#[derive(Debug, Clone)]
struct Roster {
    reps: Vec<Rep>,
    loads: BTreeMap<RepId, u32>,
    overrides: Vec<AvailabilityOverride>,
}

fn build(specs: &[RepSpec], now: DateTime<Utc>) -> Roster {
    let mut reps = Vec::new();
    let mut loads = BTreeMap::new();
    let mut overrides = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        let tz = ZONES[s.zone];
        let today = now.with_timezone(&tz).date_naive();
        let id = rep_id(i);
        reps.push(Rep {
            hubspot_owner_id: None,
            salesforce_user_id: None,
            slack_user_id: None,
            failover_only: false,
            id: id.clone(),
            name: format!("Rep {i}"),
            email: format!("rep{i}@example.com"),
            team: team_id("ae"),
            timezone: tz,
            working_hours: WorkingHours {
                start: minute_of_day(s.start),
                end: minute_of_day(s.start + s.length),
                days: s.days.iter().map(|d| WEEK[*d]).collect(),
            },
            segments: Vec::new(),
            products: Vec::new(),
            lanes: Vec::new(),
            out_of_office: s
                .time_off
                .map(|(from, len)| {
                    let from = today + Duration::days(from);
                    vec![TimeOff {
                        from,
                        to: from + Duration::days(len as i64),
                    }]
                })
                .unwrap_or_default(),
            weight: s.weight,
            daily_cap: s.cap,
            notify: format!("slack:@rep{i}"),
            active: s.active,
        });
        loads.insert(id.clone(), s.load);
        if let Some((set_before, until)) = s.away {
            overrides.push(AvailabilityOverride {
                rep: id,
                available: false,
                from: None,
                until: until.map(|m| now + Duration::minutes(m)),
                reason: None,
                set_at: now - Duration::minutes(set_before),
            });
        }
    }
    Roster {
        reps,
        loads,
        overrides,
    }
}

fn roster_and_now() -> impl Strategy<Value = (Vec<RepSpec>, DateTime<Utc>)> {
    (prop::collection::vec(rep_spec(), 2..=12), now())
}

/// An instant from March to November 2026 (both DST changes), on a whole minute.
fn now() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..270 * 1440)
        .prop_map(|m| Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap() + Duration::minutes(m))
}

// ---- the oracle -----------------------------------------------------------------------------

/// What the routing rules say about one rep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fit {
    /// Inactive, excluded, away, on time off (today or before the SLA ends), no working time, or capped.
    Blocked,
    /// Can take it and works now.
    Now,
    /// Can take it and starts at this instant.
    Later(DateTime<Utc>),
}

fn fit(
    rules: &Rules,
    rep: &Rep,
    now: DateTime<Utc>,
    loads: &BTreeMap<RepId, u32>,
    overrides: &[AvailabilityOverride],
    excluded: &[RepId],
) -> Fit {
    let today = now.with_timezone(&rep.timezone).date_naive();
    let away = overrides
        .iter()
        .filter(|o| o.rep == rep.id)
        .max_by_key(|o| o.set_at)
        .is_some_and(|o| !o.available && o.until.is_none_or(|u| now < u));
    let cal = Calendar::for_rep(rep, rules);
    let on_time_off_today = rep
        .out_of_office
        .iter()
        .any(|o| o.from <= today && today <= o.to);
    let leaves_before_sla = add_business_minutes(now, SLA_MINUTES, &cal)
        != add_business_minutes(now, SLA_MINUTES, &cal.with_time_off(&[]));
    let capped = loads.get(&rep.id).copied().unwrap_or(0) >= rep.daily_cap;
    if !rep.active
        || excluded.contains(&rep.id)
        || away
        || on_time_off_today
        || !has_working_time_after(now, &cal)
        || leaves_before_sla
        || capped
    {
        Fit::Blocked
    } else if is_working_at(now, &cal) {
        Fit::Now
    } else {
        Fit::Later(next_working_moment(now, &cal))
    }
}

fn fits(
    rules: &Rules,
    now: DateTime<Utc>,
    loads: &BTreeMap<RepId, u32>,
    overrides: &[AvailabilityOverride],
    excluded: &[RepId],
) -> BTreeMap<RepId, Fit> {
    rules
        .reps
        .iter()
        .map(|r| (r.id.clone(), fit(rules, r, now, loads, overrides, excluded)))
        .collect()
}

fn owner(d: &RoutingDecision) -> Option<&RepId> {
    d.owner.rep.as_ref()
}

// ---- properties -----------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Never an away, out-of-office, off-hours or capped rep while someone works now; after
    /// hours only the reps who start first; nobody → escalation.
    #[test]
    fn only_eligible_reps_get_handoffs((specs, now) in roster_and_now(), cursor in 0u64..1000) {
        let roster = build(&specs, now);
        let rules = rules_for(roster.reps.clone(), None);
        let c = demo_request();
        let mut i = input(&rules, &c, now);
        i.loads = roster.loads.clone();
        i.overrides = roster.overrides.clone();
        i.cursor = cursor;
        let d = route(&i);
        let fits = fits(&rules, now, &roster.loads, &roster.overrides, &[]);
        let working: Vec<&RepId> = fits.iter().filter(|(_, f)| **f == Fit::Now).map(|(id, _)| id).collect();
        let soonest = fits.values().filter_map(|f| match f { Fit::Later(t) => Some(*t), _ => None }).min();
        if !working.is_empty() {
            prop_assert!(!d.escalated, "{:?}", d.trace);
            prop_assert!(working.contains(&owner(&d).unwrap()), "{:?} not in {working:?}: {:?}", d.owner, d.trace);
        } else if let Some(soonest) = soonest {
            prop_assert!(!d.escalated, "{:?}", d.trace);
            prop_assert_eq!(fits[owner(&d).unwrap()], Fit::Later(soonest), "{:?}", d.trace);
            prop_assert!(d.sla.deadline > soonest);
        } else {
            prop_assert!(d.escalated);
            prop_assert_eq!(owner(&d), None, "no lead configured: shared queue");
        }
        prop_assert!(d.sla.deadline > now);
        prop_assert_eq!(d.trace.last().map(|t| t.layer.as_str()), Some("sla"));
    }

    /// The account owner wins whenever they can take it now; otherwise someone who can.
    #[test]
    fn the_account_owner_wins_when_available((specs, now) in roster_and_now(), pick in any::<prop::sample::Index>()) {
        let roster = build(&specs, now);
        let rules = rules_for(roster.reps.clone(), None);
        let c = demo_request();
        let account_owner = rep_id(pick.index(specs.len()));
        let mut i = input(&rules, &c, now);
        i.loads = roster.loads.clone();
        i.overrides = roster.overrides.clone();
        i.account_owner = Some(account_owner.clone());
        let d = route(&i);
        let fits = fits(&rules, now, &roster.loads, &roster.overrides, &[]);
        let anyone_working = fits.values().any(|f| *f == Fit::Now);
        match fits[&account_owner] {
            Fit::Now => prop_assert_eq!(owner(&d), Some(&account_owner), "{:?}", d.trace),
            // After hours, continuity beats "who starts first".
            Fit::Later(_) if !anyone_working => prop_assert_eq!(owner(&d), Some(&account_owner), "{:?}", d.trace),
            _ => prop_assert_ne!(owner(&d), Some(&account_owner), "{:?}", d.trace),
        }
    }

    /// A reroute never goes back to a rep who held the handoff, nor to the current owner; past
    /// `max_reps` it always escalates.
    #[test]
    fn failover_never_returns_to_an_excluded_rep(
        (specs, now) in roster_and_now(),
        excluded_mask in prop::collection::vec(any::<bool>(), 12),
        lead in any::<prop::sample::Index>(),
        current in any::<prop::sample::Index>(),
        attempts in 0u32..4,
        max_reps in 0u32..3,
        cursor in 0u64..100,
    ) {
        let roster = build(&specs, now);
        let lead = rep_id(lead.index(specs.len()));
        let mut rules = rules_for(roster.reps.clone(), Some(lead.clone()));
        rules.failover.max_reps = max_reps;
        let c = demo_request();
        let current = rep_id(current.index(specs.len()));
        let exclude: Vec<RepId> = (0..specs.len()).filter(|&k| excluded_mask[k]).map(rep_id).collect();
        let mut i = input(&rules, &c, now);
        i.mode = RouteMode::Failover;
        i.loads = roster.loads.clone();
        i.overrides = roster.overrides.clone();
        i.exclude = exclude.clone();
        i.current_owner = Some(current.clone());
        i.failover_attempts = attempts;
        i.cursor = cursor;
        let d = route(&i);
        if let Some(rep) = owner(&d) {
            prop_assert!(!exclude.contains(rep), "{rep} was excluded: {:?}", d.trace);
            prop_assert_ne!(rep, &current, "{:?}", d.trace);
        }
        if attempts >= max_reps {
            prop_assert!(d.escalated, "{:?}", d.trace);
        }
        if d.escalated {
            prop_assert!(owner(&d).is_none_or(|r| *r == lead), "{:?}", d.trace);
        } else {
            let mut all_excluded = exclude.clone();
            all_excluded.push(current.clone());
            let fits = fits(&rules, now, &roster.loads, &roster.overrides, &all_excluded);
            prop_assert_ne!(fits[owner(&d).unwrap()], Fit::Blocked, "{:?}", d.trace);
        }
    }

    /// With one set of candidates, assigning N handoffs one after another (each decision's fair
    /// share recorded before the next, as the service does) converges to the weights: no rep is
    /// ever more than one handoff above its weighted share, nor two below.
    #[test]
    fn round_robin_converges_to_the_weights(
        weights in prop::collection::vec(1u32..=10, 2..=12),
        zone in 0..ZONES.len(),
        assignments in 1u32..300,
    ) {
        let tz = ZONES[zone];
        // Everyone on the same hours in the same zone, 10:00 local on Wednesday 2026-06-03.
        let now = tz.with_ymd_and_hms(2026, 6, 3, 10, 0, 0).unwrap().with_timezone(&Utc);
        let specs: Vec<RepSpec> = weights.iter().map(|&w| office(zone, 8 * 60, 9 * 60, w)).collect();
        let rules = rules_for(build(&specs, now).reps, None);
        let mut desk = Desk::new(&rules);
        let mut loads: BTreeMap<RepId, u64> = BTreeMap::new();
        let total_weight: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        for count in 1..=u64::from(assignments) {
            *loads.entry(desk.assign(now, &[]).unwrap()).or_default() += 1;
            for (k, &w) in weights.iter().enumerate() {
                let load = loads.get(&rep_id(k)).copied().unwrap_or(0);
                let w = u64::from(w);
                prop_assert!(load * total_weight <= w * count + total_weight, "rep {k} (weight {w}) got {load} of {count}: {loads:?}");
                prop_assert!(load * total_weight + 2 * total_weight > w * count, "rep {k} (weight {w}) got {load} of {count}: {loads:?}");
            }
        }
    }

    /// Whatever the candidates of each decision (reps coming and going at random), every
    /// decision moves one handoff of fairness, so the deficits of all reps sum to zero, and none
    /// drifts: every deficit stays within two handoffs of the weighted share.
    #[test]
    fn deficits_stay_bounded_and_sum_to_zero(
        weights in prop::collection::vec(1u32..=10, 2..=8),
        present in prop::collection::vec(prop::collection::vec(prop::bool::weighted(0.6), 8), 1..300),
    ) {
        let tz = ZONES[0];
        let now = tz.with_ymd_and_hms(2026, 6, 3, 10, 0, 0).unwrap().with_timezone(&Utc);
        let specs: Vec<RepSpec> = weights.iter().map(|&w| office(0, 8 * 60, 9 * 60, w)).collect();
        let rules = rules_for(build(&specs, now).reps, None);
        let mut desk = Desk::new(&rules);
        for mask in &present {
            let away: Vec<RepId> = (0..weights.len()).filter(|&k| !mask[k]).map(rep_id).collect();
            let owner = desk.assign(now, &away);
            if away.len() == weights.len() {
                prop_assert_eq!(owner, None);
                continue;
            }
            let owner = owner.unwrap();
            prop_assert!(!away.contains(&owner));
            let deficits: Vec<i128> = (0..weights.len()).map(|k| desk.deficit(&rep_id(k))).collect();
            prop_assert_eq!(deficits.iter().sum::<i128>(), 0);
            prop_assert!(deficits.iter().all(|d| d.abs() < 2 * i128::from(ONE_HANDOFF)), "{deficits:?}");
        }
    }

    /// A rep back from an away override is not handed the backlog: while away they are never
    /// chosen and accrue nothing, and from their return on, of every run of the next N handoffs
    /// they take at most their weighted share plus one, plus whatever they were still owed when
    /// they left (under one handoff).
    #[test]
    fn a_returning_rep_is_not_flooded(
        weights in prop::collection::vec(1u32..=5, 2..=8),
        before in 0u32..40,
        away_minutes in 30i64..360,
        gap in 1i64..10,
        after in 1u32..60,
    ) {
        // Everyone in Berlin, 08:00–18:00; rep 0 is away from `leaves` until `back`.
        let tz = chrono_tz::Europe::Berlin;
        let opening = tz.with_ymd_and_hms(2026, 6, 3, 8, 0, 0).unwrap().with_timezone(&Utc);
        let leaves = opening + Duration::minutes(i64::from(before) * gap);
        let back = leaves + Duration::minutes(away_minutes);
        let specs: Vec<RepSpec> = weights.iter().map(|&w| office(0, 8 * 60, 10 * 60, w)).collect();
        let rules = rules_for(build(&specs, opening).reps, None);
        let mut desk = Desk::new(&rules);
        desk.overrides.push(AvailabilityOverride {
            rep: rep_id(0),
            available: false,
            from: Some(leaves),
            until: Some(back),
            reason: None,
            set_at: opening,
        });
        let mut t = opening;
        while t < leaves {
            desk.assign(t, &[]);
            t += Duration::minutes(gap);
        }
        let owed_when_leaving = desk.deficit(&rep_id(0));
        while t < back {
            prop_assert_ne!(desk.assign(t, &[]), Some(rep_id(0)), "chosen while away at {}", t);
            t += Duration::minutes(gap);
        }
        prop_assert_eq!(desk.deficit(&rep_id(0)), owed_when_leaving, "accrued while away");
        let total_weight = i128::from(weights.iter().sum::<u32>());
        let weight = i128::from(weights[0]);
        let one = i128::from(ONE_HANDOFF);
        let mut taken = 0i128;
        for n in 1..=i128::from(after) {
            taken += i128::from(desk.assign(back, &[]) == Some(rep_id(0)));
            // taken ≤ n·w/W + 1 + owed⁺, in millionths.
            let bound = n * weight * one / total_weight + one + owed_when_leaving.max(0);
            prop_assert!(taken * one <= bound, "took {} of the next {}: {:?}", taken, n, desk.fairness);
        }
    }

    /// A rep added mid-day (counters at zero, the average, while everyone else's are in the
    /// hundreds) takes at most their weighted share plus one of every run of the next handoffs.
    #[test]
    fn a_rep_added_mid_day_is_not_flooded(
        weights in prop::collection::vec(1u32..=5, 1..=6),
        newcomer_weight in 1u32..=5,
        before in 100u32..400,
        after in 1u32..60,
    ) {
        let tz = chrono_tz::Europe::Berlin;
        let now = tz.with_ymd_and_hms(2026, 6, 3, 12, 0, 0).unwrap().with_timezone(&Utc);
        let mut specs: Vec<RepSpec> = weights.iter().map(|&w| office(0, 8 * 60, 10 * 60, w)).collect();
        let rules = rules_for(build(&specs, now).reps, None);
        let mut desk = Desk::new(&rules);
        for _ in 0..before {
            desk.assign(now, &[]);
        }
        specs.push(office(0, 8 * 60, 10 * 60, newcomer_weight));
        let newcomer = rep_id(weights.len());
        let grown = rules_for(build(&specs, now).reps, None);
        let mut desk = desk.with_rules(&grown);
        let total_weight = u64::from(weights.iter().sum::<u32>() + newcomer_weight);
        let mut taken = 0u64;
        for n in 1..=u64::from(after) {
            taken += u64::from(desk.assign(now, &[]) == Some(newcomer.clone()));
            prop_assert!(taken * total_weight <= n * u64::from(newcomer_weight) + total_weight, "took {} of the next {}", taken, n);
        }
    }
}

/// Days off do not pile up: a rep on time off last week was no candidate, so they were owed
/// nothing; on the first day back they compete level and the day's first handoffs are shared by
/// weight, not sent to them to catch up.
#[test]
fn a_rep_back_from_days_off_starts_level() {
    let tz = chrono_tz::Europe::Berlin;
    let monday = tz
        .with_ymd_and_hms(2026, 6, 8, 9, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    let specs: Vec<RepSpec> = (0..3)
        .map(|k| RepSpec {
            // Rep 0 was off all last week.
            time_off: (k == 0).then_some((-7, 6)),
            ..office(0, 8 * 60, 9 * 60, 1)
        })
        .collect();
    let rules = rules_for(build(&specs, monday).reps, None);
    let mut desk = Desk::new(&rules);
    // Last week, Monday to Friday: ten handoffs a day for the two who worked.
    for day in 0..5 {
        for _ in 0..10 {
            let owner = desk.assign(monday - Duration::days(7 - day), &[]);
            assert_ne!(owner, Some(rep_id(0)));
        }
    }
    let mut loads: BTreeMap<RepId, u32> = BTreeMap::new();
    for _ in 0..9 {
        *loads.entry(desk.assign(monday, &[]).unwrap()).or_default() += 1;
    }
    assert_eq!(loads.values().copied().collect::<Vec<_>>(), [3, 3, 3]);
}

#[test]
fn the_shared_queue_sla_runs_on_the_teams_hours() {
    let tz = chrono_tz::America::New_York;
    let now = tz
        .with_ymd_and_hms(2026, 6, 3, 16, 45, 0)
        .unwrap()
        .with_timezone(&Utc);
    let specs = vec![
        RepSpec {
            zone: 2,
            start: 9 * 60,
            length: 8 * 60,
            days: vec![0, 1, 2, 3, 4],
            weight: 1,
            cap: 1,
            load: 1,
            active: true,
            time_off: None,
            away: None,
        };
        2
    ];
    let roster = build(&specs, now);
    let rules = rules_for(roster.reps, None);
    let c = demo_request();
    let mut i = input(&rules, &c, now);
    i.loads = roster.loads;
    let d = route(&i);
    assert!(d.escalated);
    assert_eq!(d.owner.display, "shared queue: queue");
    assert_eq!(d.owner.notify, "slack:#queue");
    // 15 minutes left today in New York, 15 more on Thursday from 09:00.
    let expected = tz
        .with_ymd_and_hms(2026, 6, 4, 9, 15, 0)
        .unwrap()
        .with_timezone(&Utc);
    assert_eq!(d.sla.deadline, expected);
    let _: NaiveDate = now.date_naive();
}

// ---- fairness across time zones and absences ---------------------------------------------------

/// A rep in `zone` working `length` minutes from `start` (local), Monday to Friday, with
/// `weight` and no cap to speak of.
fn office(zone: usize, start: u32, length: u32, weight: u32) -> RepSpec {
    RepSpec {
        zone,
        start,
        length,
        days: vec![0, 1, 2, 3, 4],
        weight,
        cap: 10_000,
        load: 0,
        active: true,
        time_off: None,
        away: None,
    }
}

/// Routing as the service runs it: every decision reads the loads (per rep-local day) and the
/// fairness counters so far, and its load and fair share are recorded before the next one.
struct Desk<'r> {
    rules: &'r Rules,
    classification: Classification,
    loads: BTreeMap<(RepId, NaiveDate), u32>,
    fairness: BTreeMap<RepId, FairnessCounters>,
    overrides: Vec<AvailabilityOverride>,
    cursor: u64,
}

impl<'r> Desk<'r> {
    fn new(rules: &'r Rules) -> Self {
        Self {
            rules,
            classification: demo_request(),
            loads: BTreeMap::new(),
            fairness: BTreeMap::new(),
            overrides: Vec::new(),
            cursor: 0,
        }
    }

    /// The same counters, loads and overrides on another roster (a rep joined).
    fn with_rules<'g>(self, rules: &'g Rules) -> Desk<'g> {
        Desk {
            rules,
            classification: self.classification,
            loads: self.loads,
            fairness: self.fairness,
            overrides: self.overrides,
            cursor: self.cursor,
        }
    }

    /// Routes one handoff at `now` without the `excluded` reps and records it; the rep chosen.
    fn assign(&mut self, now: DateTime<Utc>, excluded: &[RepId]) -> Option<RepId> {
        let mut i = input(self.rules, &self.classification, now);
        i.loads = self
            .rules
            .reps
            .iter()
            .map(|r| {
                let day = now.with_timezone(&r.timezone).date_naive();
                let load = self.loads.get(&(r.id.clone(), day)).copied();
                (r.id.clone(), load.unwrap_or(0))
            })
            .collect();
        i.fairness = self.fairness.clone();
        i.overrides = self.overrides.clone();
        i.exclude = excluded.to_vec();
        i.cursor = self.cursor;
        self.cursor += 1;
        let d = route(&i);
        let chosen = owner(&d).cloned();
        if let Some(rep) = chosen.as_ref().and_then(|id| self.rules.rep(id)) {
            let day = now.with_timezone(&rep.timezone).date_naive();
            *self.loads.entry((rep.id.clone(), day)).or_default() += 1;
        }
        let share: Option<&FairShare> = d.fair_share.as_ref();
        if let Some(share) = share {
            share.apply(&mut self.fairness);
        }
        chosen
    }

    /// A rep's deficit in millionths of a handoff.
    fn deficit(&self, rep: &RepId) -> i128 {
        self.fairness
            .get(rep)
            .copied()
            .unwrap_or_default()
            .deficit()
    }
}

/// Who got how many.
fn tally(owners: impl IntoIterator<Item = Option<RepId>>) -> BTreeMap<RepId, u32> {
    let mut counts = BTreeMap::new();
    for rep in owners.into_iter().flatten() {
        *counts.entry(rep).or_default() += 1;
    }
    counts
}

/// Every rep k got its weighted share of `counts` within `tolerance` (a fraction of the share).
fn assert_split(counts: &BTreeMap<RepId, u32>, weights: &[u32], tolerance: f64) {
    let total: u32 = counts.values().sum();
    let total_weight: u32 = weights.iter().sum();
    for (k, &w) in weights.iter().enumerate() {
        let share = f64::from(total) * f64::from(w) / f64::from(total_weight);
        let got = f64::from(counts.get(&rep_id(k)).copied().unwrap_or(0));
        assert!(
            (got - share).abs() <= tolerance * share,
            "rep {k} (weight {w}) got {got} of {total}, share {share:.1}: {counts:?}"
        );
    }
}

/// Wednesday 2026-06-03 at `h:m` UTC (Berlin is UTC+2, London UTC+1, New York UTC−4).
fn june_3(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 3, h, m, 0).unwrap()
}

/// Berlin (zone 0) and New York (zone 2), both 09:00–17:30 local, weights 2:1: Berlin works
/// alone 07:00–13:00 UTC, together 13:00–15:30 UTC. The earlier start does not matter: the 300
/// leads of the overlap split 2:1.
#[test]
fn two_time_zones_share_their_overlap_by_weight() {
    let specs = [office(0, 9 * 60, 510, 2), office(2, 9 * 60, 510, 1)];
    let rules = rules_for(build(&specs, june_3(0, 0)).reps, None);
    let mut desk = Desk::new(&rules);
    let morning = tally((0..60).map(|k| desk.assign(june_3(7, 0) + Duration::minutes(6 * k), &[])));
    assert_eq!(
        morning.get(&rep_id(0)),
        Some(&60),
        "alone, Berlin takes the morning"
    );
    let overlap =
        tally((0..300).map(|k| desk.assign(june_3(13, 0) + Duration::seconds(30 * k), &[])));
    assert_split(&overlap, &[2, 1], 0.10);
}

/// Three reps weighted 1:1:2 in Berlin, London and New York (09:00–17:30 local each): after a
/// morning of Berlin alone and then Berlin with London, the 300 leads of the hours all three
/// share (13:00–15:30 UTC) split 1:1:2.
#[test]
fn three_time_zones_share_their_overlap_by_weight() {
    let specs = [
        office(0, 9 * 60, 510, 1),
        office(1, 9 * 60, 510, 1),
        office(2, 9 * 60, 510, 2),
    ];
    let rules = rules_for(build(&specs, june_3(0, 0)).reps, None);
    let mut desk = Desk::new(&rules);
    for k in 0..72 {
        desk.assign(june_3(7, 0) + Duration::minutes(5 * k), &[]);
    }
    let overlap =
        tally((0..300).map(|k| desk.assign(june_3(13, 0) + Duration::seconds(30 * k), &[])));
    assert_split(&overlap, &[1, 1, 2], 0.10);
}

/// A whole day of leads, one every two minutes around the clock, for Berlin (weight 2) and New
/// York (weight 1): each rep's solo hours are theirs, the overlap splits 2:1, and while nobody
/// works the handoff waits for whoever starts first (Berlin, 07:00 UTC).
#[test]
fn a_full_day_across_time_zones() {
    let specs = [office(0, 9 * 60, 510, 2), office(2, 9 * 60, 510, 1)];
    let rules = rules_for(build(&specs, june_3(0, 0)).reps, None);
    let calendars: Vec<Calendar<'_>> = rules
        .reps
        .iter()
        .map(|r| Calendar::for_rep(r, &rules))
        .collect();
    let mut desk = Desk::new(&rules);
    let mut overlap = Vec::new();
    for k in 0..720 {
        let t = june_3(0, 0) + Duration::minutes(2 * k);
        let working: Vec<bool> = calendars.iter().map(|c| is_working_at(t, c)).collect();
        let owner = desk.assign(t, &[]);
        match working[..] {
            [true, true] => overlap.push(owner),
            [true, false] => assert_eq!(owner, Some(rep_id(0)), "Berlin alone at {t}"),
            [false, true] => assert_eq!(owner, Some(rep_id(1)), "New York alone at {t}"),
            _ => assert_eq!(owner, Some(rep_id(0)), "Berlin starts first after {t}"),
        }
    }
    assert_eq!(overlap.len(), 75);
    assert_split(&tally(overlap), &[2, 1], 0.10);
}

/// Three Berlin reps weighted 1:1:2 share leads from 09:00; rep 0 is away 10:00–13:00. Back, they
/// take no more than their weighted share + 1 of every run of the next 60 leads, and are not
/// starved either.
#[test]
fn a_rep_back_from_three_hours_away_takes_their_share() {
    let specs = [
        office(0, 9 * 60, 510, 1),
        office(0, 9 * 60, 510, 1),
        office(0, 9 * 60, 510, 2),
    ];
    let rules = rules_for(build(&specs, june_3(0, 0)).reps, None);
    let mut desk = Desk::new(&rules);
    desk.overrides.push(AvailabilityOverride {
        rep: rep_id(0),
        available: false,
        from: Some(june_3(8, 0)),
        until: Some(june_3(11, 0)),
        reason: Some("dentist".into()),
        set_at: june_3(6, 0),
    });
    let mut t = june_3(7, 0);
    while t < june_3(11, 0) {
        desk.assign(t, &[]);
        t += Duration::minutes(4);
    }
    let mut taken = 0u32;
    for n in 1..=60u32 {
        taken += u32::from(desk.assign(t, &[]) == Some(rep_id(0)));
        t += Duration::minutes(1);
        assert!(4 * taken <= n + 4, "took {taken} of the next {n}");
    }
    assert!(taken >= 14, "took {taken} of 60");
}

/// A rep added at noon, with zero counters while the other two have hundreds of decisions
/// behind them, takes no more than their weighted share + 1 of every run of the next 60 leads.
#[test]
fn a_rep_added_mid_day_takes_their_share() {
    let mut specs = vec![office(0, 9 * 60, 510, 2), office(0, 9 * 60, 510, 1)];
    let rules = rules_for(build(&specs, june_3(0, 0)).reps, None);
    let mut desk = Desk::new(&rules);
    for k in 0..300 {
        desk.assign(june_3(7, 0) + Duration::seconds(60 * k), &[]);
    }
    assert!(desk.fairness[&rep_id(0)].won >= 199);
    specs.push(office(0, 9 * 60, 510, 1));
    let grown = rules_for(build(&specs, june_3(0, 0)).reps, None);
    let mut desk = desk.with_rules(&grown);
    let mut taken = 0u32;
    for n in 1..=60u32 {
        taken += u32::from(desk.assign(june_3(12, 0), &[]) == Some(rep_id(2)));
        assert!(4 * taken <= n + 4, "took {taken} of the next {n}");
    }
    assert!(taken >= 14, "took {taken} of 60");
}
