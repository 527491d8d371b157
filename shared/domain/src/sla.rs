//! Business-minute arithmetic on a rep's calendar (time zone, working hours, time off, holidays).
//!
//! # Model
//!
//! A [`Calendar`] has at most one **working window** per local date: `[start, end)` of the
//! working hours on a working weekday that is neither an org holiday nor a time-off date (dates
//! are read in the calendar's own time zone). Windows are computed on the local wall clock and
//! converted to UTC instants with the time zone, so a day on which the clocks change is as long
//! as it really is.
//!
//! Wall-clock times that do not map to exactly one instant are resolved like this:
//!
//! - **Nonexistent** (the spring-forward gap, e.g. 02:30 in Berlin on the last Sunday of
//!   March): the first instant after the gap (03:00 local). A window that starts or ends in the
//!   gap is shortened by the part that never happened.
//! - **Ambiguous** (the fall-back hour, e.g. 02:30 in Berlin on the last Sunday of October):
//!   a window *starts* at the earlier instant and *ends* at the later one, so a window spanning
//!   the repeated hour includes it twice — as long as the rep's clock says they worked.
//!
//! Windows are half-open: the end instant itself is not working time. A deadline that uses up
//! the last minute of a window therefore lands exactly *on* the window's end; see
//! [`add_business_minutes`].
//!
//! # Termination
//!
//! Every search walks forward one local date at a time. If it finds no working window for
//! [`MAX_IDLE_DAYS`] consecutive dates (a calendar that is all time off for over a year), it
//! gives up and falls back as each function documents (wall-clock minutes, or the input instant).

use crate::config::{Rep, Rules, TimeOff, WorkingHours};
use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone,
    Timelike, Utc,
};
use chrono_tz::Tz;

/// How many consecutive dates without working time a search accepts before it gives up.
pub const MAX_IDLE_DAYS: u32 = 400;

/// The longest spring-forward gap the resolver walks through (Samoa skipped a whole day in 2011).
const MAX_GAP_MINUTES: i64 = 2 * 24 * 60;

/// A rep's working calendar: time zone, weekly hours, personal time off and org holidays.
///
/// It borrows everything, so building one is free; see [`Calendar::for_rep`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calendar<'a> {
    tz: Tz,
    hours: Hours<'a>,
    time_off: &'a [TimeOff],
    holidays: &'a [NaiveDate],
}

/// The weekly pattern of a calendar.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Hours<'a> {
    /// Configured working hours on configured weekdays.
    Weekly(&'a WorkingHours),
    /// Every minute of every day (used when nobody's hours apply, e.g. an empty shared queue).
    AroundTheClock,
}

impl<'a> Calendar<'a> {
    /// A calendar from its parts: `time_off` periods and `holidays` are dates in `tz`.
    pub fn new(
        tz: Tz,
        hours: &'a WorkingHours,
        time_off: &'a [TimeOff],
        holidays: &'a [NaiveDate],
    ) -> Self {
        Self {
            tz,
            hours: Hours::Weekly(hours),
            time_off,
            holidays,
        }
    }

    /// The calendar of a rep: their time zone, working hours and time off, plus org holidays.
    pub fn for_rep(rep: &'a Rep, rules: &'a Rules) -> Self {
        Self::new(
            rep.timezone,
            &rep.working_hours,
            &rep.out_of_office,
            &rules.org.holidays,
        )
    }

    /// A calendar on which every minute is working time (no holidays, no time off).
    pub fn around_the_clock(tz: Tz) -> Calendar<'static> {
        Calendar {
            tz,
            hours: Hours::AroundTheClock,
            time_off: &[],
            holidays: &[],
        }
    }

    /// The same calendar with other time off (e.g. with a period a rep cancelled, or none).
    pub fn with_time_off<'b>(&self, time_off: &'b [TimeOff]) -> Calendar<'b>
    where
        'a: 'b,
    {
        Calendar {
            tz: self.tz,
            hours: self.hours,
            time_off,
            holidays: self.holidays,
        }
    }

    /// The calendar's time zone.
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The local date of an instant in this calendar's time zone.
    pub fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }

    /// The first instant of a local date (after the gap if midnight is skipped that day).
    pub fn start_of_day(&self, date: NaiveDate) -> DateTime<Utc> {
        self.resolve(date.and_time(NaiveTime::MIN), Pick::Earliest)
    }

    /// Whether `date` falls in one of the time-off periods.
    pub fn is_time_off(&self, date: NaiveDate) -> bool {
        self.time_off
            .iter()
            .any(|off| off.from <= date && date <= off.to)
    }

    /// Whether `date` is an org holiday.
    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        self.holidays.contains(&date)
    }

    /// The working window of a local date as UTC instants `[start, end)`, if it has one.
    pub fn working_window(&self, date: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if self.is_holiday(date) || self.is_time_off(date) {
            return None;
        }
        let (start, end) = match self.hours {
            Hours::Weekly(h) => {
                if !h.days.contains(&date.weekday()) || h.start >= h.end {
                    return None;
                }
                (date.and_time(h.start), date.and_time(h.end))
            }
            Hours::AroundTheClock => (
                date.and_time(NaiveTime::MIN),
                date.succ_opt()?.and_time(NaiveTime::MIN),
            ),
        };
        let start = self.resolve(start, Pick::Earliest);
        let end = self.resolve(end, Pick::Latest);
        (start < end).then_some((start, end))
    }

    /// The instant a wall-clock time stands for (see the module docs for gaps and overlaps).
    fn resolve(&self, local: NaiveDateTime, pick: Pick) -> DateTime<Utc> {
        match self.tz.from_local_datetime(&local) {
            LocalResult::Single(t) => t.with_timezone(&Utc),
            LocalResult::Ambiguous(early, late) => match pick {
                Pick::Earliest => early.with_timezone(&Utc),
                Pick::Latest => late.with_timezone(&Utc),
            },
            LocalResult::None => self.first_instant_after_gap(local),
        }
    }

    /// For a wall-clock time inside a spring-forward gap: the instant the gap ends.
    ///
    /// Transitions happen on whole minutes, so the first whole local minute after `local` that
    /// exists is the end of the gap.
    fn first_instant_after_gap(&self, local: NaiveDateTime) -> DateTime<Utc> {
        let minute = local
            .with_second(0)
            .and_then(|t| t.with_nanosecond(0))
            .unwrap_or(local);
        (1..=MAX_GAP_MINUTES)
            .find_map(|k| {
                self.tz
                    .from_local_datetime(&(minute + Duration::minutes(k)))
                    .earliest()
            })
            .map(|t| t.with_timezone(&Utc))
            // Unreachable with the tz database; read the wall clock as UTC rather than panic.
            .unwrap_or_else(|| Utc.from_utc_datetime(&local))
    }

    /// Working windows in time order, starting with the one that may contain `from`.
    ///
    /// Stops after [`MAX_IDLE_DAYS`] consecutive dates without a window (yielding `None` once so
    /// callers can tell "gave up" from "ran out of dates").
    fn windows_from(&self, from: DateTime<Utc>) -> Windows<'_, 'a> {
        Windows {
            calendar: self,
            // A window belongs to its local date but may end after local midnight (around the
            // clock) or overlap the next date's window (a fall-back at midnight): start a day early.
            date: self.local_date(from).pred_opt(),
            idle_days: 0,
        }
    }
}

/// Which of two instants an ambiguous wall-clock time resolves to.
#[derive(Debug, Clone, Copy)]
enum Pick {
    Earliest,
    Latest,
}

/// The iterator behind [`Calendar::windows_from`]: `Some(Some(window))` per working window,
/// `Some(None)` once when the idle limit is reached, then `None`.
struct Windows<'c, 'a> {
    calendar: &'c Calendar<'a>,
    date: Option<NaiveDate>,
    idle_days: u32,
}

impl Iterator for Windows<'_, '_> {
    type Item = Option<(DateTime<Utc>, DateTime<Utc>)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let date = self.date?;
            if self.idle_days > MAX_IDLE_DAYS {
                self.date = None;
                return Some(None);
            }
            self.date = date.succ_opt();
            match self.calendar.working_window(date) {
                Some(window) => {
                    self.idle_days = 0;
                    return Some(Some(window));
                }
                None => self.idle_days += 1,
            }
        }
    }
}

/// The instant `minutes` business minutes after `start` on `cal`.
///
/// If `start` is outside working time the clock starts at the next working moment, so
/// `add_business_minutes(t, 0, cal) == next_working_moment(t, cal)`.
///
/// **End boundary:** when the minutes run out exactly at the end of a window the result is that
/// end instant (which is not itself working time) rather than the next window's start. Precisely:
/// for `minutes >= 1`, the second before the result is always working time.
///
/// **Fallback:** if the calendar has no working time for [`MAX_IDLE_DAYS`] consecutive days
/// before the minutes are used up, the result is `start + minutes` on the wall clock.
pub fn add_business_minutes(
    start: DateTime<Utc>,
    minutes: u32,
    cal: &Calendar<'_>,
) -> DateTime<Utc> {
    let mut remaining = Duration::minutes(i64::from(minutes));
    let mut cursor = start;
    for window in cal.windows_from(start) {
        let Some((window_start, window_end)) = window else {
            break;
        };
        let from = window_start.max(cursor);
        if from >= window_end {
            continue;
        }
        let available = window_end - from;
        if remaining <= available {
            return from + remaining;
        }
        remaining -= available;
        cursor = window_end;
    }
    start + Duration::minutes(i64::from(minutes))
}

/// Whole business minutes on `cal` in `[a, b)`; 0 when `b <= a`. Used by the audit and by
/// round-robin fairness. Seconds are summed exactly and truncated once at the end.
pub fn business_minutes_between(a: DateTime<Utc>, b: DateTime<Utc>, cal: &Calendar<'_>) -> u32 {
    if b <= a {
        return 0;
    }
    let mut total = Duration::zero();
    let mut cursor = a;
    for window in cal.windows_from(a) {
        let Some((window_start, window_end)) = window else {
            break;
        };
        if window_start >= b {
            break;
        }
        let from = window_start.max(cursor);
        let to = window_end.min(b);
        if from < to {
            total += to - from;
            cursor = to;
        }
    }
    u32::try_from(total.num_minutes()).unwrap_or(u32::MAX)
}

/// Whether `t` is working time on `cal` (inside a window; window ends are not).
pub fn is_working_at(t: DateTime<Utc>, cal: &Calendar<'_>) -> bool {
    let date = cal.local_date(t);
    [date.pred_opt(), Some(date), date.succ_opt()]
        .into_iter()
        .flatten()
        .filter_map(|d| cal.working_window(d))
        .any(|(start, end)| start <= t && t < end)
}

/// The first working instant at or after `t`: `t` itself when it is working time.
///
/// If the calendar has no working time in the next [`MAX_IDLE_DAYS`] days, returns `t` (callers
/// that must not treat such a rep as available check [`has_working_time_after`]).
pub fn next_working_moment(t: DateTime<Utc>, cal: &Calendar<'_>) -> DateTime<Utc> {
    first_working_moment(t, cal).unwrap_or(t)
}

/// Whether the calendar has any working time at or after `t` within the search horizon.
pub fn has_working_time_after(t: DateTime<Utc>, cal: &Calendar<'_>) -> bool {
    first_working_moment(t, cal).is_some()
}

fn first_working_moment(t: DateTime<Utc>, cal: &Calendar<'_>) -> Option<DateTime<Utc>> {
    cal.windows_from(t)
        .map_while(|w| w)
        .find(|&(_, end)| end > t)
        .map(|(start, _)| start.max(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday;

    fn hours(start: &str, end: &str, days: &[Weekday]) -> WorkingHours {
        WorkingHours {
            start: NaiveTime::parse_from_str(start, "%H:%M").unwrap(),
            end: NaiveTime::parse_from_str(end, "%H:%M").unwrap(),
            days: days.to_vec(),
        }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    const ALL_DAYS: &[Weekday] = &[
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];

    #[test]
    fn table_of_additions() {
        let office = WorkingHours::default();
        let night = hours("01:00", "04:00", ALL_DAYS);
        let holidays = [date("2026-12-25")];
        let vacation = [TimeOff {
            from: date("2026-06-08"),
            to: date("2026-06-10"),
        }];
        let berlin = Calendar::new(chrono_tz::Europe::Berlin, &office, &[], &holidays);
        let berlin_night = Calendar::new(chrono_tz::Europe::Berlin, &night, &[], &[]);
        let new_york = Calendar::new(chrono_tz::America::New_York, &office, &vacation, &[]);
        let new_york_night = Calendar::new(chrono_tz::America::New_York, &night, &[], &[]);
        let cases: &[(&str, &Calendar<'_>, &str, u32, &str)] = &[
            (
                "inside a window",
                &berlin,
                "2026-06-03T08:00:00Z",
                30,
                "2026-06-03T08:30:00Z",
            ),
            (
                "before opening",
                &berlin,
                "2026-06-03T05:00:00Z",
                15,
                "2026-06-03T07:15:00Z",
            ),
            (
                "zero minutes after hours",
                &berlin,
                "2026-06-03T18:00:00Z",
                0,
                "2026-06-04T07:00:00Z",
            ),
            (
                "exactly to closing",
                &berlin,
                "2026-06-03T14:00:00Z",
                60,
                "2026-06-03T15:00:00Z",
            ),
            (
                "Friday 16:45 Berlin + 30",
                &berlin,
                "2026-06-05T14:45:00Z",
                30,
                "2026-06-08T07:15:00Z",
            ),
            (
                "holiday skipped",
                &berlin,
                "2026-12-24T15:30:00Z",
                60,
                "2026-12-28T08:30:00Z",
            ),
            (
                "Berlin spring forward weekend",
                &berlin,
                "2026-03-27T15:30:00Z",
                60,
                "2026-03-30T07:30:00Z",
            ),
            (
                "Berlin fall back weekend",
                &berlin,
                "2026-10-23T14:30:00Z",
                60,
                "2026-10-26T08:30:00Z",
            ),
            // 01:00 CET = 00:00Z; 02:00–03:00 never happens; 04:00 CEST = 02:00Z: two real hours.
            (
                "Berlin night window in the gap",
                &berlin_night,
                "2026-03-29T00:00:00Z",
                120,
                "2026-03-29T02:00:00Z",
            ),
            (
                "Berlin gap spills to next night",
                &berlin_night,
                "2026-03-29T00:00:00Z",
                121,
                "2026-03-29T23:01:00Z",
            ),
            // 01:00 CEST = 23:00Z the day before; 04:00 CET = 03:00Z: four real hours.
            (
                "Berlin night window in the overlap",
                &berlin_night,
                "2026-10-24T23:00:00Z",
                240,
                "2026-10-25T03:00:00Z",
            ),
            (
                "time off skipped",
                &new_york,
                "2026-06-05T20:45:00Z",
                30,
                "2026-06-11T13:15:00Z",
            ),
            (
                "New York spring forward weekend",
                &new_york,
                "2026-03-06T21:00:00Z",
                90,
                "2026-03-09T13:30:00Z",
            ),
            (
                "New York fall back weekend",
                &new_york,
                "2026-10-30T20:00:00Z",
                90,
                "2026-11-02T14:30:00Z",
            ),
            // 01:00 EST = 06:00Z; 04:00 EDT = 08:00Z.
            (
                "New York night in the gap",
                &new_york_night,
                "2026-03-08T06:00:00Z",
                120,
                "2026-03-08T08:00:00Z",
            ),
            // 01:00 EDT = 05:00Z; 04:00 EST = 09:00Z.
            (
                "New York night in the overlap",
                &new_york_night,
                "2026-11-01T05:00:00Z",
                240,
                "2026-11-01T09:00:00Z",
            ),
        ];
        for (name, cal, start, minutes, expected) in cases {
            let got = add_business_minutes(utc(start), *minutes, cal);
            assert_eq!(got, utc(expected), "{name}");
            assert_eq!(
                business_minutes_between(utc(start), got, cal),
                *minutes,
                "{name}: round trip"
            );
        }
    }

    #[test]
    fn dst_edges_resolve_as_documented() {
        let berlin = chrono_tz::Europe::Berlin;
        // (hours, date, window start, window end, minutes)
        let cases = [
            // Spring forward 2026-03-29, 02:00–03:00 never happens.
            (
                "01:00",
                "02:30",
                "2026-03-29",
                "2026-03-29T00:00:00Z",
                "2026-03-29T01:00:00Z",
                60,
            ),
            (
                "02:30",
                "05:00",
                "2026-03-29",
                "2026-03-29T01:00:00Z",
                "2026-03-29T03:00:00Z",
                120,
            ),
            // Fall back 2026-10-25, 02:00–03:00 happens twice: start early, end late.
            (
                "01:00",
                "02:30",
                "2026-10-25",
                "2026-10-24T23:00:00Z",
                "2026-10-25T01:30:00Z",
                150,
            ),
            (
                "02:30",
                "05:00",
                "2026-10-25",
                "2026-10-25T00:30:00Z",
                "2026-10-25T04:00:00Z",
                210,
            ),
        ];
        for (start, end, date_s, from, to, minutes) in cases {
            let h = hours(start, end, ALL_DAYS);
            let cal = Calendar::new(berlin, &h, &[], &[]);
            let window = cal.working_window(date(date_s)).unwrap();
            assert_eq!(window, (utc(from), utc(to)), "{start}–{end} on {date_s}");
            assert_eq!(business_minutes_between(window.0, window.1, &cal), minutes);
        }
    }

    #[test]
    fn working_moments() {
        let office = WorkingHours::default();
        let cal = Calendar::new(chrono_tz::Europe::Berlin, &office, &[], &[]);
        let cases = [
            ("2026-06-03T06:59:59Z", false, "2026-06-03T07:00:00Z"),
            ("2026-06-03T07:00:00Z", true, "2026-06-03T07:00:00Z"),
            ("2026-06-03T14:59:59Z", true, "2026-06-03T14:59:59Z"),
            ("2026-06-03T15:00:00Z", false, "2026-06-04T07:00:00Z"),
            ("2026-06-06T10:00:00Z", false, "2026-06-08T07:00:00Z"),
        ];
        for (t, working, next) in cases {
            assert_eq!(is_working_at(utc(t), &cal), working, "{t}");
            assert_eq!(next_working_moment(utc(t), &cal), utc(next), "{t}");
        }
    }

    #[test]
    fn between_counts_only_working_time() {
        let office = WorkingHours::default();
        let cal = Calendar::new(chrono_tz::Europe::Berlin, &office, &[], &[]);
        // Friday 12:00 Berlin to Monday 12:00 Berlin: 5 hours Friday + 3 hours Monday.
        assert_eq!(
            business_minutes_between(
                utc("2026-06-05T10:00:00Z"),
                utc("2026-06-08T10:00:00Z"),
                &cal
            ),
            8 * 60
        );
        assert_eq!(
            business_minutes_between(
                utc("2026-06-08T10:00:00Z"),
                utc("2026-06-05T10:00:00Z"),
                &cal
            ),
            0
        );
    }

    #[test]
    fn around_the_clock_is_wall_clock() {
        let cal = Calendar::around_the_clock(chrono_tz::UTC);
        let start = utc("2026-06-05T23:59:30Z");
        assert_eq!(
            add_business_minutes(start, 1440, &cal),
            start + Duration::minutes(1440)
        );
        assert!(is_working_at(start, &cal));
    }

    #[test]
    fn a_calendar_without_working_time_falls_back_to_wall_clock() {
        let office = WorkingHours::default();
        let forever = [TimeOff {
            from: date("2026-01-01"),
            to: date("2030-12-31"),
        }];
        let cal = Calendar::new(chrono_tz::Europe::Berlin, &office, &forever, &[]);
        let start = utc("2026-06-03T08:00:00Z");
        assert_eq!(
            add_business_minutes(start, 30, &cal),
            start + Duration::minutes(30)
        );
        assert_eq!(next_working_moment(start, &cal), start);
        assert!(!has_working_time_after(start, &cal));
        assert!(!is_working_at(start, &cal));
    }

    #[test]
    fn time_off_only_in_the_future_keeps_today() {
        let office = WorkingHours::default();
        let later = [TimeOff {
            from: date("2026-06-04"),
            to: date("2026-06-04"),
        }];
        let cal = Calendar::new(chrono_tz::Europe::Berlin, &office, &later, &[]);
        assert!(is_working_at(utc("2026-06-03T08:00:00Z"), &cal));
        assert_eq!(
            next_working_moment(utc("2026-06-03T16:00:00Z"), &cal),
            utc("2026-06-05T07:00:00Z")
        );
    }
}
