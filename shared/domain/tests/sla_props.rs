//! Properties of business-minute arithmetic, on random calendars in time zones with and without
//! DST (including 30-minute and midnight transitions), plus worked examples across both DST
//! changes in Europe/Berlin and America/New_York.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use handoff_domain::config::{TimeOff, WorkingHours};
use handoff_domain::sla::{
    add_business_minutes, business_minutes_between, is_working_at, next_working_moment, Calendar,
};
use proptest::prelude::*;

const ZONES: &[Tz] = &[
    chrono_tz::Europe::Berlin,
    chrono_tz::America::New_York,
    chrono_tz::UTC,
    chrono_tz::Asia::Kolkata,
    chrono_tz::Australia::Lord_Howe,
    chrono_tz::America::Havana,
    chrono_tz::Pacific::Chatham,
    chrono_tz::America::Sao_Paulo,
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

/// Everything a [`Calendar`] borrows.
#[derive(Debug, Clone)]
struct Parts {
    tz: Tz,
    hours: WorkingHours,
    time_off: Vec<TimeOff>,
    holidays: Vec<NaiveDate>,
}

impl Parts {
    fn calendar(&self) -> Calendar<'_> {
        Calendar::new(self.tz, &self.hours, &self.time_off, &self.holidays)
    }
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
}

fn day(offset: u64) -> NaiveDate {
    epoch() + Duration::days(offset as i64)
}

fn minute_of_day(m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(m / 60, m % 60, 0).unwrap()
}

fn parts() -> impl Strategy<Value = Parts> {
    (
        0..ZONES.len(),
        (0u32..1380).prop_flat_map(|start| (Just(start), start + 1..1440)),
        prop::collection::btree_set(0usize..7, 1..=7),
        prop::collection::vec((0u64..420, 0u64..20), 0..3),
        prop::collection::vec(0u64..420, 0..6),
    )
        .prop_map(|(zone, (start, end), days, time_off, holidays)| Parts {
            tz: ZONES[zone],
            hours: WorkingHours {
                start: minute_of_day(start),
                end: minute_of_day(end),
                days: days.into_iter().map(|d| WEEK[d]).collect(),
            },
            time_off: time_off
                .into_iter()
                .map(|(from, len)| TimeOff {
                    from: day(from),
                    to: day(from + len),
                })
                .collect(),
            holidays: holidays.into_iter().map(day).collect(),
        })
}

/// An instant in 2026 (both DST changes of every zone), to the second.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..380 * 86_400).prop_map(|s| {
        Utc.from_utc_datetime(&epoch().and_hms_opt(0, 0, 0).unwrap()) + Duration::seconds(s)
    })
}

/// An instant in 2026 on a whole minute.
fn minute_instant() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..380 * 1440).prop_map(|m| {
        Utc.from_utc_datetime(&epoch().and_hms_opt(0, 0, 0).unwrap()) + Duration::minutes(m)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The deadline is working time, except that it may sit exactly on the end of a window:
    /// precisely, for m = 0 the result is working time, and for m ≥ 1 the second before the result
    /// is working time (the last business second was spent inside a window).
    #[test]
    fn the_deadline_never_lands_outside_working_time(p in parts(), start in instant(), minutes in 0u32..3000) {
        let cal = p.calendar();
        let deadline = add_business_minutes(start, minutes, &cal);
        prop_assert!(deadline >= start);
        if minutes == 0 {
            prop_assert!(is_working_at(deadline, &cal), "{deadline} is not working time");
        } else {
            let last_second = deadline - Duration::seconds(1);
            prop_assert!(is_working_at(last_second, &cal), "{last_second} is not working time");
            let local = last_second.with_timezone(&p.tz).date_naive();
            prop_assert!(!p.holidays.contains(&local), "used a holiday: {local}");
            prop_assert!(!p.time_off.iter().any(|o| o.from <= local && local <= o.to), "used time off: {local}");
            prop_assert!(p.hours.days.contains(&local.weekday()), "used a day off: {local}");
        }
    }

    /// More minutes, strictly later deadline.
    #[test]
    fn deadlines_grow_with_minutes(p in parts(), start in instant(), a in 0u32..3000, b in 0u32..3000) {
        let cal = p.calendar();
        let (low, high) = (a.min(b), a.max(b));
        let early = add_business_minutes(start, low, &cal);
        let late = add_business_minutes(start, high, &cal);
        if low == high {
            prop_assert_eq!(early, late);
        } else {
            prop_assert!(early < late, "{low} → {early}, {high} → {late}");
        }
    }

    /// Counting the business minutes back gives exactly what was added, from any start.
    #[test]
    fn between_inverts_add(p in parts(), start in instant(), minutes in 0u32..3000) {
        let cal = p.calendar();
        let deadline = add_business_minutes(start, minutes, &cal);
        prop_assert_eq!(business_minutes_between(start, deadline, &cal), minutes);
    }

    /// The next working moment is working time, not before `t`, with no working time in between.
    #[test]
    fn next_working_moment_is_the_first_working_instant(p in parts(), t in instant()) {
        let cal = p.calendar();
        let next = next_working_moment(t, &cal);
        prop_assert!(next >= t);
        prop_assert!(is_working_at(next, &cal));
        prop_assert_eq!(business_minutes_between(t, next, &cal), 0);
        prop_assert_eq!(is_working_at(t, &cal), next == t);
    }

    /// Business minutes add up over consecutive spans (on whole minutes, so nothing truncates).
    #[test]
    fn between_is_additive(p in parts(), a in minute_instant(), x in 0i64..20_000, y in 0i64..20_000) {
        let cal = p.calendar();
        let b = a + Duration::minutes(x);
        let c = b + Duration::minutes(y);
        prop_assert_eq!(
            business_minutes_between(a, c, &cal),
            business_minutes_between(a, b, &cal) + business_minutes_between(b, c, &cal)
        );
    }
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn local(tz: Tz, s: &str) -> DateTime<Utc> {
    let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
    tz.from_local_datetime(&naive)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

#[test]
fn friday_afternoon_in_berlin_rolls_to_monday_morning() {
    let office = WorkingHours::default();
    let cal = Calendar::new(chrono_tz::Europe::Berlin, &office, &[], &[]);
    // Friday 2026-06-05 16:45 Berlin (14:45 UTC) + 30 → Monday 09:15 Berlin (07:15 UTC).
    let start = local(chrono_tz::Europe::Berlin, "2026-06-05 16:45");
    assert_eq!(start, utc("2026-06-05T14:45:00Z"));
    assert_eq!(
        add_business_minutes(start, 30, &cal),
        utc("2026-06-08T07:15:00Z")
    );
    // The same wall-clock times in winter are an hour later in UTC.
    let start = local(chrono_tz::Europe::Berlin, "2026-01-16 16:45");
    assert_eq!(
        add_business_minutes(start, 30, &cal),
        utc("2026-01-19T08:15:00Z")
    );
}

#[test]
fn across_both_dst_changes() {
    let office = WorkingHours::default();
    let berlin = chrono_tz::Europe::Berlin;
    let new_york = chrono_tz::America::New_York;
    let berlin_cal = Calendar::new(berlin, &office, &[], &[]);
    let new_york_cal = Calendar::new(new_york, &office, &[], &[]);
    let cases = [
        // Berlin springs forward on Sunday 2026-03-29: Friday UTC+1, Monday UTC+2.
        (
            &berlin_cal,
            local(berlin, "2026-03-27 16:30"),
            60,
            local(berlin, "2026-03-30 09:30"),
            "2026-03-30T07:30:00Z",
        ),
        // Berlin falls back on Sunday 2026-10-25: Friday UTC+2, Monday UTC+1.
        (
            &berlin_cal,
            local(berlin, "2026-10-23 16:30"),
            60,
            local(berlin, "2026-10-26 09:30"),
            "2026-10-26T08:30:00Z",
        ),
        // New York springs forward on Sunday 2026-03-08.
        (
            &new_york_cal,
            local(new_york, "2026-03-06 16:00"),
            90,
            local(new_york, "2026-03-09 09:30"),
            "2026-03-09T13:30:00Z",
        ),
        // New York falls back on Sunday 2026-11-01.
        (
            &new_york_cal,
            local(new_york, "2026-10-30 16:00"),
            90,
            local(new_york, "2026-11-02 09:30"),
            "2026-11-02T14:30:00Z",
        ),
    ];
    for (cal, start, minutes, expected_local, expected_utc) in cases {
        let got = add_business_minutes(start, minutes, cal);
        assert_eq!(got, expected_local, "from {start}");
        assert_eq!(got, utc(expected_utc), "from {start}");
    }
}

#[test]
fn working_through_the_night_of_a_dst_change() {
    let every_day = WEEK.to_vec();
    let night = WorkingHours {
        start: minute_of_day(60),
        end: minute_of_day(240),
        days: every_day,
    };
    let cases = [
        // 01:00–04:00 on the spring-forward night is two real hours…
        (
            chrono_tz::Europe::Berlin,
            "2026-03-29T00:00:00Z",
            "2026-03-29T02:00:00Z",
            120,
        ),
        (
            chrono_tz::America::New_York,
            "2026-03-08T06:00:00Z",
            "2026-03-08T08:00:00Z",
            120,
        ),
        // …and four on the fall-back night.
        (
            chrono_tz::Europe::Berlin,
            "2026-10-24T23:00:00Z",
            "2026-10-25T03:00:00Z",
            240,
        ),
        (
            chrono_tz::America::New_York,
            "2026-11-01T05:00:00Z",
            "2026-11-01T09:00:00Z",
            240,
        ),
    ];
    for (tz, from, to, minutes) in cases {
        let cal = Calendar::new(tz, &night, &[], &[]);
        assert_eq!(
            business_minutes_between(utc(from), utc(to), &cal),
            minutes,
            "{tz}"
        );
        assert_eq!(
            add_business_minutes(utc(from), minutes, &cal),
            utc(to),
            "{tz}"
        );
        assert!(
            !is_working_at(utc(to), &cal),
            "{tz}: the window ends at {to}"
        );
    }
}

#[test]
fn wall_clock_times_in_a_gap_or_an_overlap() {
    let berlin = chrono_tz::Europe::Berlin;
    let every_day = WEEK.to_vec();
    let cases = [
        // A window ending at 02:30 on the spring-forward night ends when the gap ends (03:00 CEST).
        (60, 150, "2026-03-29T00:00:00Z", 60),
        // One starting at 02:30 starts at 03:00 CEST.
        (150, 300, "2026-03-29T01:00:00Z", 120),
        // On the fall-back night 02:30 happens twice: a window ends at the later one…
        (60, 150, "2026-10-24T23:00:00Z", 150),
        // …and starts at the earlier one.
        (150, 300, "2026-10-25T00:30:00Z", 210),
    ];
    for (start, end, opens, minutes) in cases {
        let hours = WorkingHours {
            start: minute_of_day(start),
            end: minute_of_day(end),
            days: every_day.clone(),
        };
        let cal = Calendar::new(berlin, &hours, &[], &[]);
        let opens = utc(opens);
        assert_eq!(
            next_working_moment(opens - Duration::minutes(1), &cal),
            opens,
            "{start}–{end} from {opens}"
        );
        let closes = add_business_minutes(opens, minutes, &cal);
        assert!(
            is_working_at(closes - Duration::seconds(1), &cal),
            "{start}–{end}"
        );
        assert!(
            !is_working_at(closes, &cal),
            "{start}–{end}: the window is {minutes} minutes long"
        );
    }
}

#[test]
fn holidays_and_time_off_are_skipped() {
    let office = WorkingHours::default();
    let holidays = [date("2026-12-25"), date("2026-12-28")];
    let vacation = [TimeOff {
        from: date("2026-12-29"),
        to: date("2026-12-31"),
    }];
    let cal = Calendar::new(chrono_tz::Europe::Berlin, &office, &vacation, &holidays);
    // Thursday 24th 16:30 Berlin: 30 minutes that day, then Fri 25th holiday, weekend, Mon 28th
    // holiday, Tue–Thu time off, Friday 2027-01-01 is a working day here (no holiday configured).
    let start = local(chrono_tz::Europe::Berlin, "2026-12-24 16:30");
    assert_eq!(
        add_business_minutes(start, 60, &cal),
        local(chrono_tz::Europe::Berlin, "2027-01-01 09:30")
    );
    assert_eq!(
        business_minutes_between(
            start,
            local(chrono_tz::Europe::Berlin, "2027-01-01 09:30"),
            &cal
        ),
        60
    );
}
