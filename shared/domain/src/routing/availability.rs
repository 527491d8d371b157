//! Every rep's availability at one instant, for people: `handoff rep list`.
//!
//! [`availability_report`] asks the same [`Roster::assess`] that routing asks (with nobody
//! excluded and an SLA of 0 minutes, so only "now" counts), then words the answer: available,
//! off shift, away (with the reason given), out of office, inactive or at the daily cap; today's
//! load against the cap; and the next working hour in the rep's own time zone. Nothing here
//! decides availability on its own: a rule change in `eligibility` shows up here unchanged.
//!
//! An override scheduled for later (`from` in the future) leaves the rep available now and is
//! reported as upcoming.

use super::eligibility::{latest_override, AvailabilityInputs, Blocked, RepStatus, Roster};
use crate::config::Rules;
use crate::ids::{RepId, TeamId};
use crate::ports::AvailabilityOverride;
use crate::sla::{has_working_time_after, next_working_moment, MAX_IDLE_DAYS};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use std::collections::BTreeMap;

/// One rep's availability at the report's instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepAvailability {
    pub rep: RepId,
    pub name: String,
    pub team: TeamId,
    /// The teams whose lead this rep is (the end of their failover chain).
    pub leads: Vec<TeamId>,
    /// Takes handoffs only as a team lead (a failover target), never from the round robin.
    pub failover_only: bool,
    pub timezone: Tz,
    /// What routing would make of the rep now.
    pub availability: Availability,
    /// [`Self::availability`] in words ("away until Thu 26 Nov 17:00 UTC (dentist)").
    pub availability_text: String,
    /// An away override that starts later; the rep is available until then.
    pub upcoming_away: Option<ScheduledAway>,
    /// Handoffs assigned on the rep's local today.
    pub load: u32,
    pub daily_cap: u32,
    /// The working hours in force now or next.
    pub shift: Shift,
    /// [`Self::shift`] in words ("working now until 17:30 CEST", "next shift Thu 09:00 CET").
    pub shift_text: String,
}

/// Whether routing would give the rep a handoff now, and if not, why.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Availability {
    /// Unblocked and inside working hours.
    Available,
    /// Unblocked, outside working hours until `until` (routed to only when nobody works now).
    OffShift { until: DateTime<Utc> },
    /// Marked away at run time (`handoff rep away`); `until: None` lasts until `rep back`.
    Away {
        until: Option<DateTime<Utc>>,
        reason: Option<String>,
    },
    /// On configured time off today, through `through` (the last day off, a local date).
    OutOfOffice { through: NaiveDate },
    /// Marked inactive in the roster.
    Inactive,
    /// The daily cap is reached.
    AtDailyCap { load: u32, cap: u32 },
    /// No working hours within the calendar's search horizon.
    NoWorkingTime,
}

/// A run-time away override that has not started yet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduledAway {
    pub from: DateTime<Utc>,
    pub until: Option<DateTime<Utc>>,
    pub reason: Option<String>,
}

/// The rep's working hours around the report's instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Shift {
    /// Inside working hours until `until`.
    WorkingNow { until: DateTime<Utc> },
    /// The next working hours start at `at`.
    Next { at: DateTime<Utc> },
    /// Away with no end set: the next shift is whenever they are marked back.
    WhenBack,
    /// Inactive, or no working hours ahead.
    None,
}

/// The availability of every rep in the roster at `now`, in roster order. `loads` are the
/// handoffs assigned on each rep's local today (missing = 0); `overrides` are the run-time
/// availability overrides, as routing gets them.
pub fn availability_report(
    rules: &Rules,
    now: DateTime<Utc>,
    loads: &BTreeMap<RepId, u32>,
    overrides: &[AvailabilityOverride],
) -> Vec<RepAvailability> {
    let roster = Roster::assess(&AvailabilityInputs {
        rules,
        now,
        loads,
        overrides,
        excluded: &[],
        sla_minutes: 0,
    });
    rules
        .reps
        .iter()
        .filter_map(|rep| roster.status(&rep.id))
        .map(|status| report_for(rules, status, now, overrides))
        .collect()
}

fn report_for(
    rules: &Rules,
    status: &RepStatus<'_>,
    now: DateTime<Utc>,
    overrides: &[AvailabilityOverride],
) -> RepAvailability {
    let rep = status.rep;
    let latest = latest_override(overrides, &rep.id);
    let availability = availability_of(status, latest);
    let upcoming_away = latest
        .filter(|o| !o.available && o.from.is_some_and(|from| from > now))
        .map(|o| ScheduledAway {
            from: o.from.unwrap_or(now),
            until: o.until,
            reason: o.reason.clone(),
        });
    let shift = shift_of(status, &availability, now);
    let tz = rep.timezone;
    let mut availability_text = availability_words(&availability, tz, now);
    if let Some(away) = &upcoming_away {
        availability_text.push_str("; ");
        availability_text.push_str(&scheduled_words(away, now));
    }
    RepAvailability {
        rep: rep.id.clone(),
        name: rep.name.clone(),
        team: rep.team.clone(),
        leads: rules
            .teams
            .iter()
            .filter(|t| t.lead.as_ref() == Some(&rep.id))
            .map(|t| t.id.clone())
            .collect(),
        failover_only: rep.failover_only,
        timezone: tz,
        availability_text,
        availability,
        upcoming_away,
        load: status.load,
        daily_cap: rep.daily_cap,
        shift_text: shift_words(&shift, tz, now),
        shift,
    }
}

fn availability_of(status: &RepStatus<'_>, latest: Option<&AvailabilityOverride>) -> Availability {
    match &status.blocked {
        None if status.working_now => Availability::Available,
        None => Availability::OffShift {
            until: status.next_shift,
        },
        Some(Blocked::Inactive) => Availability::Inactive,
        Some(Blocked::Away { until }) => Availability::Away {
            until: *until,
            reason: latest.and_then(|o| o.reason.clone()),
        },
        Some(Blocked::TimeOff { date, .. }) => {
            let calendar = status.calendar();
            let through = date
                .iter_days()
                .take(MAX_IDLE_DAYS as usize)
                .take_while(|d| calendar.is_time_off(*d))
                .last()
                .unwrap_or(*date);
            Availability::OutOfOffice { through }
        }
        Some(Blocked::Capped { load, cap }) => Availability::AtDailyCap {
            load: *load,
            cap: *cap,
        },
        Some(Blocked::NoWorkingTime) => Availability::NoWorkingTime,
        // Nobody is excluded in a report; read as available if that ever changes.
        Some(Blocked::Excluded) => Availability::Available,
    }
}

fn shift_of(status: &RepStatus<'_>, availability: &Availability, now: DateTime<Utc>) -> Shift {
    let calendar = status.calendar();
    match availability {
        Availability::Inactive | Availability::NoWorkingTime => Shift::None,
        Availability::Away { until: None, .. } => Shift::WhenBack,
        Availability::Away {
            until: Some(until), ..
        } => {
            let back = (*until).max(now);
            if has_working_time_after(back, &calendar) {
                Shift::Next {
                    at: next_working_moment(back, &calendar),
                }
            } else {
                Shift::None
            }
        }
        _ if status.working_now => {
            let today = calendar.local_date(now);
            let end = [today.pred_opt(), Some(today)]
                .into_iter()
                .flatten()
                .filter_map(|d| calendar.working_window(d))
                .find(|(start, end)| *start <= now && now < *end)
                .map_or(status.next_shift, |(_, end)| end);
            Shift::WorkingNow { until: end }
        }
        _ => Shift::Next {
            at: status.next_shift,
        },
    }
}

fn availability_words(availability: &Availability, tz: Tz, now: DateTime<Utc>) -> String {
    match availability {
        Availability::Available => "available".into(),
        Availability::OffShift { until } => {
            format!("off shift until {}", local_moment(*until, tz, now))
        }
        Availability::Away { until, reason } => {
            let mut words = match until {
                Some(u) => format!("away until {}", utc_moment(*u, now)),
                None => "away until marked back".into(),
            };
            if let Some(reason) = reason.as_deref().filter(|r| !r.trim().is_empty()) {
                words.push_str(&format!(" ({})", reason.trim()));
            }
            words
        }
        Availability::OutOfOffice { through } => format!("out of office through {through}"),
        Availability::Inactive => "inactive".into(),
        Availability::AtDailyCap { .. } => "at daily cap".into(),
        Availability::NoWorkingTime => "no working hours ahead".into(),
    }
}

fn scheduled_words(away: &ScheduledAway, now: DateTime<Utc>) -> String {
    let mut words = format!("away from {}", utc_moment(away.from, now));
    if let Some(until) = away.until {
        words.push_str(&format!(" until {}", utc_moment(until, now)));
    }
    if let Some(reason) = away.reason.as_deref().filter(|r| !r.trim().is_empty()) {
        words.push_str(&format!(" ({})", reason.trim()));
    }
    words
}

fn shift_words(shift: &Shift, tz: Tz, now: DateTime<Utc>) -> String {
    match shift {
        Shift::WorkingNow { until } => format!(
            "working now until {}",
            until.with_timezone(&tz).format("%H:%M %Z")
        ),
        Shift::Next { at } => format!("next shift {}", local_moment(*at, tz, now)),
        Shift::WhenBack => "next shift when marked back".into(),
        Shift::None => "no shift ahead".into(),
    }
}

/// "Thu 09:00 CET" within the coming week, "Thu 3 Dec 09:00 CET" later, with the year when it
/// is not this year's.
fn local_moment(t: DateTime<Utc>, tz: Tz, now: DateTime<Utc>) -> String {
    let local = t.with_timezone(&tz);
    if t - now < Duration::days(6) {
        local.format("%a %H:%M %Z").to_string()
    } else if local.year() == now.with_timezone(&tz).year() {
        local.format("%a %-d %b %H:%M %Z").to_string()
    } else {
        local.format("%a %-d %b %Y %H:%M %Z").to_string()
    }
}

/// "Thu 26 Nov 17:00 UTC" (with the year when it is not this year's): run-time overrides are
/// set in UTC, so they read back in UTC.
fn utc_moment(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    if t.year() == now.year() {
        t.format("%a %-d %b %H:%M UTC").to_string()
    } else {
        t.format("%a %-d %b %Y %H:%M UTC").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TimeOff;
    use crate::routing::testing::{at, day, example_rules, rep_id};

    /// Wednesday 2026-06-03 10:00 UTC: 12:00 Berlin, 11:00 London, 06:00 New York.
    const NOON_BERLIN: &str = "2026-06-03T10:00:00Z";

    fn away(
        rep: &str,
        from: Option<&str>,
        until: Option<&str>,
        reason: Option<&str>,
    ) -> AvailabilityOverride {
        AvailabilityOverride {
            rep: rep_id(rep),
            available: false,
            from: from.map(at),
            until: until.map(at),
            reason: reason.map(str::to_string),
            set_at: at("2026-06-03T09:00:00Z"),
        }
    }

    #[test]
    fn the_report_words_every_state() {
        let mut rules = example_rules();
        for r in &mut rules.reps {
            match r.id.as_str() {
                "oliver" => {
                    r.out_of_office = vec![TimeOff {
                        from: day("2026-06-01"),
                        to: day("2026-06-05"),
                    }]
                }
                "riley" => r.active = false,
                _ => {}
            }
        }
        let loads = BTreeMap::from([(rep_id("lena"), 3), (rep_id("greta"), 6)]);
        let overrides = [
            away("jonas", None, Some("2026-06-03T14:00:00Z"), Some("dentist")),
            away(
                "chloe",
                Some("2026-06-04T07:00:00Z"),
                Some("2026-06-04T12:00:00Z"),
                Some("offsite"),
            ),
            away("diego", None, None, None),
            // Over: Sam is available again.
            away(
                "sam",
                Some("2026-06-02T07:00:00Z"),
                Some("2026-06-02T12:00:00Z"),
                None,
            ),
        ];
        let report = availability_report(&rules, at(NOON_BERLIN), &loads, &overrides);
        let cases: &[(&str, &str, &str, &str)] = &[
            ("lena", "available", "3/12", "working now until 17:30 CEST"),
            (
                "ava",
                "off shift until Wed 08:30 EDT",
                "0/30",
                "next shift Wed 08:30 EDT",
            ),
            (
                "jonas",
                "away until Wed 3 Jun 14:00 UTC (dentist)",
                "0/30",
                "next shift Wed 16:00 CEST",
            ),
            (
                "chloe",
                "available; away from Thu 4 Jun 07:00 UTC until Thu 4 Jun 12:00 UTC (offsite)",
                "0/30",
                "working now until 18:00 CEST",
            ),
            (
                "diego",
                "away until marked back",
                "0/30",
                "next shift when marked back",
            ),
            (
                "oliver",
                "out of office through 2026-06-05",
                "0/15",
                "next shift Mon 09:00 BST",
            ),
            (
                "greta",
                "at daily cap",
                "6/6",
                "working now until 16:30 CEST",
            ),
            ("riley", "inactive", "0/15", "no shift ahead"),
            (
                "sam",
                "off shift until Wed 09:00 EDT",
                "0/12",
                "next shift Wed 09:00 EDT",
            ),
        ];
        for (id, availability, load, shift) in cases {
            let r = report
                .iter()
                .find(|r| r.rep.as_str() == *id)
                .unwrap_or_else(|| panic!("{id} is in the report"));
            assert_eq!(r.availability_text, *availability, "{id}");
            assert_eq!(format!("{}/{}", r.load, r.daily_cap), *load, "{id}");
            assert_eq!(r.shift_text, *shift, "{id}");
        }
        let flagged: Vec<&str> = report
            .iter()
            .filter(|r| r.failover_only)
            .map(|r| r.rep.as_str())
            .collect();
        assert_eq!(flagged, ["harper"], "the example's failover-only lead");
        assert_eq!(report.len(), rules.reps.len(), "every rep, in roster order");
        assert_eq!(report[0].rep, rules.reps[0].id);
    }

    #[test]
    fn states_are_structured_too() {
        let rules = example_rules();
        let loads = BTreeMap::new();
        let overrides = [
            away("jonas", None, Some("2026-06-03T14:00:00Z"), Some("dentist")),
            away("chloe", Some("2026-06-04T07:00:00Z"), None, None),
        ];
        let report = availability_report(&rules, at(NOON_BERLIN), &loads, &overrides);
        let of = |id: &str| report.iter().find(|r| r.rep.as_str() == id).unwrap();
        let cases: &[(&str, Availability, Option<ScheduledAway>)] = &[
            (
                "jonas",
                Availability::Away {
                    until: Some(at("2026-06-03T14:00:00Z")),
                    reason: Some("dentist".into()),
                },
                None,
            ),
            (
                "chloe",
                Availability::Available,
                Some(ScheduledAway {
                    from: at("2026-06-04T07:00:00Z"),
                    until: None,
                    reason: None,
                }),
            ),
            (
                "ava",
                Availability::OffShift {
                    until: at("2026-06-03T12:30:00Z"),
                },
                None,
            ),
        ];
        for (id, availability, upcoming) in cases {
            assert_eq!(&of(id).availability, availability, "{id}");
            assert_eq!(&of(id).upcoming_away, upcoming, "{id}");
        }
        // Greta leads both EMEA teams; Lena leads none.
        let leads: Vec<&str> = of("greta").leads.iter().map(TeamId::as_str).collect();
        assert_eq!(leads, ["emea-sdr", "emea-ae"]);
        assert!(of("lena").leads.is_empty());
        let json = serde_json::to_value(of("jonas")).unwrap();
        assert_eq!(json["availability"]["state"], "away");
        assert_eq!(json["availability"]["reason"], "dentist");
        assert_eq!(json["shift"]["state"], "next");
        assert_eq!(json["timezone"], "Europe/Berlin");
    }

    #[test]
    fn dates_far_off_and_in_another_year_say_so() {
        let now = at("2026-12-30T10:00:00Z");
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let cases: &[(&str, &str, &str)] = &[
            (
                "2026-12-31T08:00:00Z",
                "Thu 09:00 CET",
                "Thu 31 Dec 08:00 UTC",
            ),
            (
                "2027-01-04T08:00:00Z",
                "Mon 09:00 CET",
                "Mon 4 Jan 2027 08:00 UTC",
            ),
            (
                "2027-01-11T08:00:00Z",
                "Mon 11 Jan 2027 09:00 CET",
                "Mon 11 Jan 2027 08:00 UTC",
            ),
        ];
        for (t, local, utc) in cases {
            assert_eq!(local_moment(at(t), berlin, now), *local, "{t}");
            assert_eq!(utc_moment(at(t), now), *utc, "{t}");
        }
        assert_eq!(
            local_moment(
                at("2026-12-14T08:00:00Z"),
                berlin,
                at("2026-12-01T08:00:00Z")
            ),
            "Mon 14 Dec 09:00 CET"
        );
    }
}
