//! Who can take a handoff now, and why not.
//!
//! A rep is **blocked** (never routed to by the layers) when they are inactive, excluded (they
//! already held this handoff), marked away by a run-time override, on time off, at their daily
//! cap, or would go on time off before the SLA runs out. An unblocked rep is **available now**
//! inside their working hours and **available later** outside them (the round robin only uses
//! the latter when nobody in the pool works now).
//!
//! Overrides: the most recent [`AvailabilityOverride`] of a rep (by `set_at`) applies from
//! `from` (at once when unset) while `until` is unset or in the future. `available: false` blocks the rep; `available: true`
//! cancels the configured time-off period that contains today (up to the override's `until`
//! date when it has one). Overrides do not change working hours or org holidays.

use crate::config::{Rep, Rules, TimeOff};
use crate::ids::RepId;
use crate::ports::AvailabilityOverride;
use crate::sla::{
    add_business_minutes, has_working_time_after, is_working_at, next_working_moment, Calendar,
};
use chrono::{DateTime, Days, NaiveDate, Utc};
use std::collections::BTreeMap;
use std::fmt;

/// Why a rep cannot take a handoff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Blocked {
    Inactive,
    /// Already held this handoff (missed it, declined it, or asked for re-qualification).
    Excluded,
    /// A run-time override says they are away.
    Away {
        until: Option<DateTime<Utc>>,
    },
    /// On time off today, or from `date` before the SLA would run out.
    TimeOff {
        date: NaiveDate,
        today: bool,
    },
    /// Reached the daily cap.
    Capped {
        load: u32,
        cap: u32,
    },
    /// No working time in the search horizon.
    NoWorkingTime,
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Blocked::Inactive => f.write_str("inactive"),
            Blocked::Excluded => f.write_str("already held it"),
            Blocked::Away { until: Some(u) } => {
                write!(f, "away until {}", u.format("%Y-%m-%d %H:%M UTC"))
            }
            Blocked::Away { until: None } => f.write_str("away"),
            Blocked::TimeOff { today: true, .. } => f.write_str("out of office today"),
            Blocked::TimeOff { date, today: false } => {
                write!(f, "out of office from {date}, before the SLA would end")
            }
            Blocked::Capped { load, cap } => write!(f, "daily cap reached ({load}/{cap})"),
            Blocked::NoWorkingTime => f.write_str("no working time ahead"),
        }
    }
}

/// What routing needs to know about every rep at `now`.
#[derive(Debug, Clone)]
pub(crate) struct RepStatus<'r> {
    pub rep: &'r Rep,
    holidays: &'r [NaiveDate],
    /// Configured time off minus what an active `available: true` override cancels.
    time_off: Vec<TimeOff>,
    /// Handoffs assigned today (the rep's local date).
    pub load: u32,
    pub blocked: Option<Blocked>,
    pub working_now: bool,
    /// The first working moment at or after now (now itself when working).
    pub next_shift: DateTime<Utc>,
}

impl<'r> RepStatus<'r> {
    /// The rep's calendar as routing sees it (cancelled time off removed).
    pub fn calendar(&self) -> Calendar<'_> {
        Calendar::new(
            self.rep.timezone,
            &self.rep.working_hours,
            &self.time_off,
            self.holidays,
        )
    }

    /// Unblocked and inside working hours.
    pub fn is_available_now(&self) -> bool {
        self.blocked.is_none() && self.working_now
    }

    /// Unblocked but outside working hours (starts at `next_shift`).
    pub fn is_available_later(&self) -> bool {
        self.blocked.is_none() && !self.working_now
    }

    /// Whether the rep may take an escalation as a team lead: leads are not capped and working
    /// hours do not matter, but inactive, excluded and away leads are skipped.
    pub fn can_lead(&self) -> bool {
        matches!(self.blocked, None | Some(Blocked::Capped { .. }))
    }
}

/// Everything that decides availability, borrowed from the routing input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AvailabilityInputs<'a> {
    pub rules: &'a Rules,
    pub now: DateTime<Utc>,
    pub loads: &'a BTreeMap<RepId, u32>,
    pub overrides: &'a [AvailabilityOverride],
    pub excluded: &'a [RepId],
    /// The SLA this handoff will get, to spot reps who leave before it runs out.
    pub sla_minutes: u32,
}

/// The status of every rep in the roster, in roster order.
#[derive(Debug, Clone)]
pub(crate) struct Roster<'r> {
    statuses: Vec<RepStatus<'r>>,
}

impl<'r> Roster<'r> {
    /// Assesses every rep.
    pub fn assess(inputs: &AvailabilityInputs<'r>) -> Self {
        Self {
            statuses: inputs
                .rules
                .reps
                .iter()
                .map(|rep| assess(rep, inputs))
                .collect(),
        }
    }

    /// The status of a rep, if they are in the roster.
    pub fn status(&self, id: &RepId) -> Option<&RepStatus<'r>> {
        self.statuses.iter().find(|s| &s.rep.id == id)
    }
}

/// The override in force for a rep's history: the most recently set one.
pub(crate) fn latest_override<'o>(
    overrides: &'o [AvailabilityOverride],
    rep: &RepId,
) -> Option<&'o AvailabilityOverride> {
    overrides
        .iter()
        .filter(|o| &o.rep == rep)
        .max_by_key(|o| o.set_at)
}

fn is_active_at(o: &AvailabilityOverride, now: DateTime<Utc>) -> bool {
    o.from.is_none_or(|from| from <= now) && o.until.is_none_or(|until| now < until)
}

fn assess<'r>(rep: &'r Rep, inputs: &AvailabilityInputs<'r>) -> RepStatus<'r> {
    let now = inputs.now;
    let today = now.with_timezone(&rep.timezone).date_naive();
    let latest = latest_override(inputs.overrides, &rep.id);
    let active = latest.filter(|o| is_active_at(o, now));
    let time_off = match active {
        Some(o) if o.available => cancel_time_off(
            &rep.out_of_office,
            today,
            o.until.map(|u| u.with_timezone(&rep.timezone).date_naive()),
        ),
        _ => rep.out_of_office.clone(),
    };
    let mut status = RepStatus {
        rep,
        holidays: &inputs.rules.org.holidays,
        time_off,
        load: inputs.loads.get(&rep.id).copied().unwrap_or(0),
        blocked: None,
        working_now: false,
        next_shift: now,
    };
    let calendar = status.calendar();
    let working_now = is_working_at(now, &calendar);
    let next_shift = next_working_moment(now, &calendar);
    let blocked = if !rep.active {
        Some(Blocked::Inactive)
    } else if inputs.excluded.contains(&rep.id) {
        Some(Blocked::Excluded)
    } else if let Some(o) = active.filter(|o| !o.available) {
        Some(Blocked::Away { until: o.until })
    } else if calendar.is_time_off(today) {
        Some(Blocked::TimeOff {
            date: today,
            today: true,
        })
    } else if !has_working_time_after(now, &calendar) {
        Some(Blocked::NoWorkingTime)
    } else if let Some(date) = time_off_before_deadline(&calendar, now, inputs.sla_minutes) {
        Some(Blocked::TimeOff { date, today: false })
    } else if status.load >= rep.daily_cap {
        // Checked last, so a capped rep is otherwise fit to take an escalation as a lead.
        Some(Blocked::Capped {
            load: status.load,
            cap: rep.daily_cap,
        })
    } else {
        None
    };
    status.working_now = working_now;
    status.next_shift = next_shift;
    status.blocked = blocked;
    status
}

/// Configured time off with the period containing `today` cut short: removed entirely when
/// the override has no end, or resumed the day after the override's last date.
fn cancel_time_off(
    configured: &[TimeOff],
    today: NaiveDate,
    until: Option<NaiveDate>,
) -> Vec<TimeOff> {
    configured
        .iter()
        .filter_map(|off| {
            if !(off.from <= today && today <= off.to) {
                return Some(off.clone());
            }
            let resume = until?.checked_add_days(Days::new(1))?;
            (resume <= off.to).then(|| TimeOff {
                from: resume.max(off.from),
                to: off.to,
            })
        })
        .collect()
}

/// The first time-off date that would push the SLA deadline out, if any: the deadline on the
/// rep's calendar differs from the one on the same calendar without time off.
fn time_off_before_deadline(
    calendar: &Calendar<'_>,
    now: DateTime<Utc>,
    minutes: u32,
) -> Option<NaiveDate> {
    let deadline = add_business_minutes(now, minutes, calendar);
    let without_time_off = calendar.with_time_off(&[]);
    if deadline == add_business_minutes(now, minutes, &without_time_off) {
        return None;
    }
    let today = calendar.local_date(now);
    let last = calendar.local_date(deadline);
    today
        .iter_days()
        .take_while(|d| *d <= last)
        .find(|d| calendar.is_time_off(*d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::testing::{at, day, example_rules, rep_id};

    fn status_of<'r>(
        rules: &'r Rules,
        now: &str,
        loads: &'r BTreeMap<RepId, u32>,
        overrides: &'r [AvailabilityOverride],
        rep: &str,
    ) -> RepStatus<'r> {
        let inputs = AvailabilityInputs {
            rules,
            now: at(now),
            loads,
            overrides,
            excluded: &[],
            sla_minutes: 30,
        };
        Roster::assess(&inputs)
            .status(&rep_id(rep))
            .cloned()
            .unwrap()
    }

    fn away(rep: &str, set_at: &str, until: Option<&str>, available: bool) -> AvailabilityOverride {
        AvailabilityOverride {
            rep: rep_id(rep),
            available,
            from: None,
            until: until.map(at),
            reason: None,
            set_at: at(set_at),
        }
    }

    #[test]
    fn eligibility_rules() {
        let mut rules = example_rules();
        rules
            .reps
            .iter_mut()
            .find(|r| r.id.as_str() == "oliver")
            .unwrap()
            .active = false;
        // Wednesday 2026-06-03, 10:00 UTC = 12:00 Berlin, 06:00 New York.
        let now = "2026-06-03T10:00:00Z";
        let loads = BTreeMap::from([(rep_id("greta"), 6), (rep_id("lena"), 11)]);
        let overrides = [
            away(
                "jonas",
                "2026-06-03T09:00:00Z",
                Some("2026-06-03T14:00:00Z"),
                false,
            ),
            away(
                "chloe",
                "2026-06-03T08:00:00Z",
                Some("2026-06-03T09:00:00Z"),
                false,
            ),
        ];
        let mut with_time_off = rules.clone();
        with_time_off
            .reps
            .iter_mut()
            .find(|r| r.id.as_str() == "lena")
            .unwrap()
            .out_of_office = vec![TimeOff {
            from: day("2026-06-03"),
            to: day("2026-06-05"),
        }];
        let cases: &[(&Rules, &str, Option<&str>, bool)] = &[
            (&rules, "lena", None, true),
            (&rules, "greta", Some("daily cap reached (6/6)"), true),
            (&rules, "oliver", Some("inactive"), true),
            (
                &rules,
                "jonas",
                Some("away until 2026-06-03 14:00 UTC"),
                true,
            ),
            (&rules, "chloe", None, true),
            (&rules, "ava", None, false),
            (&with_time_off, "lena", Some("out of office today"), false),
        ];
        for (rules, rep, blocked, working) in cases {
            let s = status_of(rules, now, &loads, &overrides, rep);
            assert_eq!(
                s.blocked.as_ref().map(|b| b.to_string()).as_deref(),
                *blocked,
                "{rep}"
            );
            assert_eq!(s.working_now, *working, "{rep}");
        }
    }

    #[test]
    fn excluded_reps_are_blocked() {
        let rules = example_rules();
        let loads = BTreeMap::new();
        let excluded = [rep_id("lena")];
        let inputs = AvailabilityInputs {
            rules: &rules,
            now: at("2026-06-03T10:00:00Z"),
            loads: &loads,
            overrides: &[],
            excluded: &excluded,
            sla_minutes: 30,
        };
        let roster = Roster::assess(&inputs);
        assert_eq!(
            roster.status(&rep_id("lena")).unwrap().blocked,
            Some(Blocked::Excluded)
        );
        assert!(roster.status(&rep_id("oliver")).unwrap().is_available_now());
    }

    #[test]
    fn leaving_on_time_off_before_the_deadline_blocks() {
        let mut rules = example_rules();
        rules
            .reps
            .iter_mut()
            .find(|r| r.id.as_str() == "lena")
            .unwrap()
            .out_of_office = vec![TimeOff {
            from: day("2026-06-04"),
            to: day("2026-06-12"),
        }];
        let loads = BTreeMap::new();
        // 17:15 Berlin: 15 minutes left today, the 30-minute SLA would run into the vacation.
        let s = status_of(&rules, "2026-06-03T15:15:00Z", &loads, &[], "lena");
        assert_eq!(
            s.blocked,
            Some(Blocked::TimeOff {
                date: day("2026-06-04"),
                today: false
            })
        );
        // 12:00 Berlin: the SLA ends today.
        assert_eq!(
            status_of(&rules, "2026-06-03T10:00:00Z", &loads, &[], "lena").blocked,
            None
        );
    }

    #[test]
    fn an_available_override_cancels_configured_time_off() {
        let mut rules = example_rules();
        rules
            .reps
            .iter_mut()
            .find(|r| r.id.as_str() == "lena")
            .unwrap()
            .out_of_office = vec![TimeOff {
            from: day("2026-06-01"),
            to: day("2026-06-12"),
        }];
        let loads = BTreeMap::new();
        let back = [away("lena", "2026-06-03T09:00:00Z", None, true)];
        let s = status_of(&rules, "2026-06-03T10:00:00Z", &loads, &back, "lena");
        assert_eq!(s.blocked, None);
        assert!(s.working_now);
        // Back only until tonight: the vacation resumes tomorrow, so a long SLA is blocked.
        let until_tonight = [away(
            "lena",
            "2026-06-03T09:00:00Z",
            Some("2026-06-03T20:00:00Z"),
            true,
        )];
        let s = status_of(
            &rules,
            "2026-06-03T10:00:00Z",
            &loads,
            &until_tonight,
            "lena",
        );
        assert_eq!(s.blocked, None);
        assert!(s.calendar().is_time_off(day("2026-06-04")));
        // An override that ended restores the configured time off.
        let ended = [away(
            "lena",
            "2026-06-02T09:00:00Z",
            Some("2026-06-02T20:00:00Z"),
            true,
        )];
        let s = status_of(&rules, "2026-06-03T10:00:00Z", &loads, &ended, "lena");
        assert!(matches!(
            s.blocked,
            Some(Blocked::TimeOff { today: true, .. })
        ));
    }

    #[test]
    fn the_most_recent_override_applies() {
        let overrides = [
            away("lena", "2026-06-03T08:00:00Z", None, false),
            away("lena", "2026-06-03T09:00:00Z", None, true),
        ];
        assert!(
            latest_override(&overrides, &rep_id("lena"))
                .unwrap()
                .available
        );
        assert!(latest_override(&overrides, &rep_id("sam")).is_none());
    }
}
