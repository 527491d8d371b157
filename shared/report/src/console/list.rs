//! The handoff list (`/`): one row per handoff of the period, newest first, with its state,
//! owner, SLA countdown, motion, trigger and risk flags; filters by state, owner and risk flag
//! are plain links and a GET form, so a filtered list is a URL one can share.

use super::{buyer_text, countdown, state_text, when, Section, STATES};
use chrono::{DateTime, Utc};
use handoff_domain::lifecycle::{HandoffRecord, State};
use handoff_domain::package::RiskFlag;
use handoff_domain::render::prose;
use handoff_domain::render::words::count;
use maud::html;

/// The owner filter: a rep, the shared queue, or nobody yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerFilter {
    Rep(String),
    /// Sits in a queue (an owner without a rep: the shared queue or a team's queue).
    Queue,
    /// Not assigned (yet or ever).
    Nobody,
}

/// What the list shows: the period (days back from now) and the filters in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListFilter {
    pub days: u32,
    pub state: Option<State>,
    pub owner: Option<OwnerFilter>,
    pub flag: Option<RiskFlag>,
}

/// The period when none is asked for.
pub const DEFAULT_DAYS: u32 = 30;
/// The longest period the list reads.
pub const MAX_DAYS: u32 = 366;

impl Default for ListFilter {
    fn default() -> Self {
        Self {
            days: DEFAULT_DAYS,
            state: None,
            owner: None,
            flag: None,
        }
    }
}

impl ListFilter {
    /// The filter from the query's fields (`state`, `owner`, `flag`, `days`; empty = any).
    /// Values it does not know are left out, each with a sentence saying so.
    pub fn parse(
        state: Option<&str>,
        owner: Option<&str>,
        flag: Option<&str>,
        days: Option<&str>,
    ) -> (Self, Vec<String>) {
        let mut filter = ListFilter::default();
        let mut ignored = Vec::new();
        if let Some(s) = given(state) {
            match STATES.iter().find(|st| st.as_str() == s) {
                Some(st) => filter.state = Some(*st),
                None => ignored.push(format!("There is no state called “{}”.", buyer_text(s))),
            }
        }
        if let Some(o) = given(owner) {
            filter.owner = Some(match o {
                "queue" => OwnerFilter::Queue,
                "nobody" => OwnerFilter::Nobody,
                rep => OwnerFilter::Rep(rep.to_string()),
            });
        }
        if let Some(f) = given(flag) {
            match RiskFlag::from_label(f) {
                Some(flag) => filter.flag = Some(flag),
                None => ignored.push(format!("There is no risk flag called “{}”.", buyer_text(f))),
            }
        }
        if let Some(d) = given(days) {
            match d.parse::<u32>() {
                Ok(n) if (1..=MAX_DAYS).contains(&n) => filter.days = n,
                _ => ignored.push(format!(
                    "The period must be a number of days from 1 to {MAX_DAYS}; showing {DEFAULT_DAYS}."
                )),
            }
        }
        (filter, ignored)
    }

    /// Whether a handoff passes every filter (the period is the caller's read).
    pub fn matches(&self, record: &HandoffRecord) -> bool {
        if self.state.is_some_and(|s| s != record.state) {
            return false;
        }
        if let Some(owner) = &self.owner {
            let ok = match (owner, &record.owner) {
                (OwnerFilter::Rep(id), Some(o)) => o.rep.as_ref().is_some_and(|r| r.as_str() == id),
                (OwnerFilter::Queue, Some(o)) => o.rep.is_none(),
                (OwnerFilter::Nobody, None) => true,
                _ => false,
            };
            if !ok {
                return false;
            }
        }
        if let Some(flag) = self.flag {
            let raised = record
                .classification
                .as_ref()
                .is_some_and(|c| c.has_flag(flag));
            if !raised {
                return false;
            }
        }
        true
    }
}

/// A query field's value, when it holds more than blanks.
fn given(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// A rep the owner filter offers: id and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepChoice {
    pub id: String,
    pub name: String,
}

/// The list page: `records` are the period's handoffs (any order; filtered and sorted here).
pub fn page(
    records: &[HandoffRecord],
    filter: &ListFilter,
    ignored: &[String],
    reps: &[RepChoice],
    now: DateTime<Utc>,
) -> String {
    let mut shown: Vec<&HandoffRecord> = records.iter().filter(|r| filter.matches(r)).collect();
    shown.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
    let subtitle = format!(
        "{} of {} created in the last {} · {}",
        shown.len(),
        count(records.len(), "handoff"),
        count(filter.days as usize, "day"),
        when(now)
    );
    let body = html! {
        form method="get" action="/" class="filters" {
            label { "State " select name="state" {
                option value="" { "any" }
                @for s in STATES {
                    option value=(s.as_str()) selected[filter.state == Some(s)] { (state_text(s)) }
                }
            } }
            " "
            label { "Owner " select name="owner" {
                option value="" { "anyone" }
                @for r in reps {
                    option value=(r.id) selected[filter.owner == Some(OwnerFilter::Rep(r.id.clone()))] { (r.name) }
                }
                option value="queue" selected[filter.owner == Some(OwnerFilter::Queue)] { "a queue" }
                option value="nobody" selected[filter.owner == Some(OwnerFilter::Nobody)] { "nobody yet" }
            } }
            " "
            label { "Risk flag " select name="flag" {
                option value="" { "any" }
                @for f in RiskFlag::ALL {
                    option value=(f.as_str()) selected[filter.flag == Some(*f)] { (prose(f.as_str())) }
                }
            } }
            " "
            label { "Days " input type="number" name="days" min="1" max=(MAX_DAYS) value=(filter.days); }
            " "
            button type="submit" { "Filter" }
            " "
            a href="/" { "Clear" }
        }
        @for line in ignored {
            p.bad { (line) }
        }
        @if shown.is_empty() {
            p.muted { "No handoff matches." }
        } @else {
            table #handoffs {
                thead { tr {
                    th { "Handoff" } th { "State" } th { "Owner" } th { "SLA" }
                    th { "Motion" } th { "Trigger" } th { "Risk flags" } th { "Created" }
                } }
                tbody {
                    @for r in &shown {
                        (row(r, now))
                    }
                }
            }
        }
    };
    super::page("Handoffs", &subtitle, Section::Handoffs, body)
}

/// Who the buyer is, in one line: their name (or email) and company.
pub fn buyer_label(record: &HandoffRecord) -> String {
    let buyer = record.event.buyer();
    let who = buyer
        .name
        .as_deref()
        .map(buyer_text)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| buyer_text(record.contact_email.as_str()));
    match buyer
        .company
        .as_deref()
        .map(buyer_text)
        .filter(|c| !c.is_empty())
    {
        Some(company) => format!("{who}, {company}"),
        None => who,
    }
}

fn row(r: &HandoffRecord, now: DateTime<Utc>) -> maud::Markup {
    let c = r.classification.as_ref();
    let sla = match (&r.sla, r.state.awaits_owner()) {
        (Some(sla), true) => countdown(sla.deadline, now),
        (Some(_), false) => "stopped".to_string(),
        (None, _) => "not set".to_string(),
    };
    let overdue = r.state.awaits_owner() && r.sla.as_ref().is_some_and(|s| s.deadline < now);
    html! {
        tr data-state=(r.state.as_str()) {
            td { a href=(format!("/handoffs/{}", r.id)) { (buyer_label(r)) } }
            td { (state_text(r.state)) }
            td { (r.owner.as_ref().map(|o| buyer_text(&o.display)).unwrap_or_else(|| "nobody yet".into())) }
            td class=[overdue.then_some("bad")] { (sla) }
            td { (c.map(|c| c.motion.as_str()).unwrap_or("not classified yet")) }
            td { (c.map(|c| prose(c.trigger.as_str())).unwrap_or_default()) }
            td { (c.map(|c| c.risk_flags.iter().map(|f| prose(f.as_str())).collect::<Vec<_>>().join(", ")).unwrap_or_default()) }
            td { (when(r.created_at)) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use handoff_domain::package::RiskFlag;
    use handoff_testkit::fixtures;

    /// Three handoffs: lena's with a pricing flag, max's without flags, one still received.
    fn records() -> Vec<HandoffRecord> {
        let (mut lena, _) = fixtures::record("list-lena");
        fixtures::to_awaiting(&mut lena, "lena", fixtures::at(60), fixtures::t0());
        let mut c = fixtures::package(&lena).classification;
        c.risk_flags = vec![RiskFlag::Pricing];
        lena.classification = Some(c);
        let (mut max, _) = fixtures::record("list-max");
        fixtures::to_awaiting(&mut max, "max", fixtures::at(-5), fixtures::t0());
        max.classification = Some(fixtures::package(&max).classification);
        let (fresh, _) = fixtures::record("list-fresh");
        vec![lena, max, fresh]
    }

    fn shown(filter: &ListFilter) -> Vec<String> {
        records()
            .iter()
            .filter(|r| filter.matches(r))
            .map(|r| r.event.provider_event_id.to_string())
            .collect()
    }

    /// State, owner and flag asked for, and the handoffs (by event id) the list shows.
    type FilterCase = (
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
        &'static [&'static str],
    );

    #[test]
    fn filters_pick_by_state_owner_and_flag() {
        let cases: [FilterCase; 7] = [
            (None, None, None, &["list-lena", "list-max", "list-fresh"]),
            (Some("assigned"), None, None, &["list-lena", "list-max"]),
            (Some("received"), None, None, &["list-fresh"]),
            (None, Some("max"), None, &["list-max"]),
            (None, Some("nobody"), None, &["list-fresh"]),
            (None, None, Some("pricing"), &["list-lena"]),
            (Some("assigned"), Some("lena"), Some("angry_buyer"), &[]),
        ];
        for (state, owner, flag, expected) in cases {
            let (filter, ignored) = ListFilter::parse(state, owner, flag, None);
            assert!(ignored.is_empty(), "{ignored:?}");
            assert_eq!(shown(&filter), expected, "{state:?} {owner:?} {flag:?}");
        }
    }

    #[test]
    fn unknown_filter_values_are_named_and_left_out() {
        let (filter, ignored) =
            ListFilter::parse(Some("sleeping"), Some(" "), Some("<b>"), Some("0"));
        assert_eq!(filter, ListFilter::default());
        assert_eq!(ignored.len(), 3, "{ignored:?}");
        let html = page(&records(), &filter, &ignored, &[], fixtures::t0());
        assert!(
            html.contains("There is no state called “sleeping”."),
            "{html}"
        );
        assert!(
            html.contains("There is no risk flag called “&lt;b&gt;”."),
            "{html}"
        );
    }

    #[test]
    fn the_page_lists_newest_first_with_countdowns_and_escapes_buyer_names() {
        let mut all = records();
        all[1].created_at = fixtures::at(10);
        all[0].event.kind.buyer_mut().name = Some("<img src=x onerror=alert(1)>\u{1b}[2K".into());
        let html = page(&all, &ListFilter::default(), &[], &[], fixtures::t0());
        assert!(!html.contains("<img"), "{html}");
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt;[2K"),
            "{html}"
        );
        assert!(!html.contains('\u{1b}'));
        assert!(html.contains("overdue by 5 min"), "{html}");
        assert!(html.contains("due in 1 h"), "{html}");
        let first_max = html
            .find(&fixtures::handoff_id("list-max").to_string())
            .unwrap();
        let first_lena = html
            .find(&fixtures::handoff_id("list-lena").to_string())
            .unwrap();
        assert!(first_max < first_lena, "newest first");
    }
}
