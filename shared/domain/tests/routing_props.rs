//! Properties of routing on random rosters of 2–12 reps (weights, caps, loads, time zones,
//! working hours, time off, away overrides).
//!
//! An independent oracle, written from the rules in the routing docs with only the public SLA
//! functions, says which reps can take a handoff; the properties check `route` against it.

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
use handoff_domain::routing::{route, RouteMode, RoutingDecision, RoutingInput};
use handoff_domain::sla::{
    add_business_minutes, business_minutes_between, has_working_time_after, is_working_at,
    next_working_moment, Calendar,
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
        }],
        reps,
        crm: Default::default(),
        notify: Default::default(),
        judge: Default::default(),
        accounts: Vec::new(),
        routing: vec![RouteRule {
            name: "everything to an AE".into(),
            motion: None,
            human_decision: None,
            qualification: Vec::new(),
            triggers: Vec::new(),
            flags: Vec::new(),
            role: Role::Ae,
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
    RoutingInput {
        rules,
        classification: c,
        now,
        mode: RouteMode::Initial,
        existing_owner: None,
        account_owner: None,
        loads: BTreeMap::new(),
        overrides: Vec::new(),
        exclude: Vec::new(),
        current_owner: None,
        cursor: 0,
        failover_attempts: 0,
    }
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

    /// With equal availability, assigning N handoffs one after another converges to the weights
    /// with the greedy bound: for every rep, w·(N−n)/W ≤ load ≤ w·N/W + 1.
    #[test]
    fn round_robin_converges_to_the_weights(
        weights in prop::collection::vec(1u32..=10, 2..=12),
        zone in 0..ZONES.len(),
        assignments in 1u32..300,
    ) {
        let tz = ZONES[zone];
        // Everyone on the same hours in the same zone, 10:00 local on Wednesday 2026-06-03.
        let now = tz.with_ymd_and_hms(2026, 6, 3, 10, 0, 0).unwrap().with_timezone(&Utc);
        let specs: Vec<RepSpec> = weights
            .iter()
            .map(|&weight| RepSpec {
                zone,
                start: 8 * 60,
                length: 9 * 60,
                days: vec![0, 1, 2, 3, 4],
                weight,
                cap: 10_000,
                load: 0,
                active: true,
                time_off: None,
                away: None,
            })
            .collect();
        let roster = build(&specs, now);
        let rules = rules_for(roster.reps, None);
        let c = demo_request();
        let mut loads: BTreeMap<RepId, u32> = BTreeMap::new();
        for cursor in 0..u64::from(assignments) {
            let mut i = input(&rules, &c, now);
            i.loads = loads.clone();
            i.cursor = cursor;
            let d = route(&i);
            *loads.entry(owner(&d).unwrap().clone()).or_default() += 1;
        }
        let total_weight: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let n = weights.len() as u64;
        let count = u64::from(assignments);
        for (k, &w) in weights.iter().enumerate() {
            let load = u64::from(loads.get(&rep_id(k)).copied().unwrap_or(0));
            let w = u64::from(w);
            prop_assert!(load * total_weight <= w * count + total_weight, "rep {k} (weight {w}) got {load} of {count}: {loads:?}");
            prop_assert!(load * total_weight >= w * count.saturating_sub(n), "rep {k} (weight {w}) got {load} of {count}: {loads:?}");
        }
    }

    /// A rep back from an away override is not handed the backlog. Whenever they are chosen —
    /// in a burst at the moment of return or later — their pace before the pick (handoffs per
    /// weighted available minute today, their first minute counting as one) is not above any
    /// colleague's. Hence of a burst at the moment of return they take one, unless every colleague
    /// already averages at least one handoff per minute ÷ the returner's weight.
    #[test]
    fn a_returning_rep_is_not_flooded(
        weights in prop::collection::vec(1u32..=5, 2..=8),
        away_minutes in 30i64..360,
        morning_gap in 1i64..30,
        burst in 1u32..30,
        later_gap in 0i64..20,
        later in 1u32..40,
    ) {
        // Everyone in Berlin, 08:00–18:00; rep 0 is away from 08:00 until the return.
        let tz = chrono_tz::Europe::Berlin;
        let opening = tz.with_ymd_and_hms(2026, 6, 3, 8, 0, 0).unwrap().with_timezone(&Utc);
        let closing = opening + Duration::minutes(600);
        let back = opening + Duration::minutes(away_minutes);
        let specs: Vec<RepSpec> = weights
            .iter()
            .map(|&weight| RepSpec {
                zone: 0,
                start: 8 * 60,
                length: 10 * 60,
                days: vec![0, 1, 2, 3, 4],
                weight,
                cap: 10_000,
                load: 0,
                active: true,
                time_off: None,
                away: None,
            })
            .collect();
        let roster = build(&specs, opening);
        let rules = rules_for(roster.reps, None);
        let overrides = vec![AvailabilityOverride {
            rep: rep_id(0),
            available: false,
            from: None,
            until: Some(back),
            reason: None,
            set_at: opening,
        }];
        let c = demo_request();
        let cal = Calendar::for_rep(&rules.reps[0], &rules);
        // Handoffs per weighted available minute of rep k at `at`, as a fraction.
        let pace = |k: usize, at: DateTime<Utc>, loads: &BTreeMap<RepId, u32>| {
            let from = if k == 0 { back } else { opening };
            let minutes = u64::from(business_minutes_between(from, at, &cal).max(1));
            (u64::from(loads.get(&rep_id(k)).copied().unwrap_or(0)), u64::from(weights[k]) * minutes)
        };
        let mut loads: BTreeMap<RepId, u32> = BTreeMap::new();
        let mut cursor = 0u64;
        let mut assign = |at: DateTime<Utc>, loads: &mut BTreeMap<RepId, u32>| -> Result<bool, TestCaseError> {
            let mut i = input(&rules, &c, at);
            i.loads = loads.clone();
            i.overrides = overrides.clone();
            i.cursor = cursor;
            cursor += 1;
            let chosen = owner(&route(&i)).unwrap().clone();
            let returner = chosen == rep_id(0);
            if returner {
                prop_assert!(at >= back, "chosen while away at {at}");
                let (own_load, own_time) = pace(0, at, loads);
                for k in 1..weights.len() {
                    let (load, time) = pace(k, at, loads);
                    prop_assert!(own_load * time <= load * own_time, "at {at}: returner {own_load}/{own_time} above rep {k} {load}/{time}");
                }
            }
            *loads.entry(chosen).or_default() += 1;
            Ok(returner)
        };
        let mut t = opening;
        while t < back {
            assign(t, &mut loads)?;
            t += Duration::minutes(morning_gap);
        }
        let mut in_burst = 0;
        for _ in 0..burst {
            in_burst += u32::from(assign(back, &mut loads)?);
        }
        let colleagues_all_busy = (1..weights.len()).all(|k| {
            let (load, time) = pace(k, back, &loads);
            load * u64::from(weights[0]) >= time
        });
        prop_assert!(in_burst <= 1 || colleagues_all_busy, "the returner took {in_burst} of a burst of {burst}: {loads:?}");
        for step in 1..=i64::from(later) {
            let at = back + Duration::minutes(step * later_gap);
            if at >= closing {
                break;
            }
            assign(at, &mut loads)?;
        }
    }
}

/// Days off do not pile up: loads are per local day, so on the first day back a rep who was on
/// time off competes level — the first handoffs of the day are shared by weight, not sent to
/// them to catch up.
#[test]
fn a_rep_back_from_days_off_starts_level() {
    let tz = chrono_tz::Europe::Berlin;
    let now = tz
        .with_ymd_and_hms(2026, 6, 8, 9, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    let specs: Vec<RepSpec> = (0..3)
        .map(|k| RepSpec {
            zone: 0,
            start: 8 * 60,
            length: 9 * 60,
            days: vec![0, 1, 2, 3, 4],
            weight: 1,
            cap: 100,
            load: 0,
            active: true,
            // Rep 0 was off all last week.
            time_off: (k == 0).then_some((-7, 6)),
            away: None,
        })
        .collect();
    let roster = build(&specs, now);
    let rules = rules_for(roster.reps, None);
    let c = demo_request();
    let mut loads: BTreeMap<RepId, u32> = BTreeMap::new();
    for cursor in 0..9 {
        let mut i = input(&rules, &c, now);
        i.loads = loads.clone();
        i.cursor = cursor;
        *loads.entry(owner(&route(&i)).unwrap().clone()).or_default() += 1;
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
