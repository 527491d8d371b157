//! Representative handoffs for the lint: one per class of handoffs the compared rules cannot
//! tell apart (see the parent module), limited to combinations a real handoff can have.

use super::MAX_SAMPLES;
use crate::config::{RouteRule, Rules};
use crate::event::Channel;
use crate::package::{HumanLane, Motion, Qualification, ReplyClass, RiskFlag, TriggerKind};
use crate::routing::condition::{rule_condition, Clause, LaneTest, RoutingFacts};
use std::collections::BTreeMap;

/// Every channel, in declaration order.
const CHANNELS: [Channel; 8] = [
    Channel::WebForm,
    Channel::Email,
    Channel::Chat,
    Channel::Phone,
    Channel::Meeting,
    Channel::Whatsapp,
    Channel::Sms,
    Channel::Linkedin,
];

/// The motions a trigger occurs with, as classification assigns them (`classify/inbound.rs`,
/// `classify/outbound.rs`): demo requests, meetings booked/cancelled/missed, the qualification
/// threshold and enterprise fit are inbound; meeting requests, referrals, positive replies,
/// product questions, complex objections and strategic account engagement are outbound
/// replies; pricing, the reviews, procurement, needs-judgment and none occur in both.
pub(crate) fn trigger_motions(trigger: TriggerKind) -> &'static [Motion] {
    use TriggerKind as T;
    match trigger {
        T::DemoRequest
        | T::MeetingBooked
        | T::MeetingCancelled
        | T::MeetingNoShow
        | T::QualificationThreshold
        | T::EnterpriseFit => &[Motion::Inbound],
        T::MeetingRequest
        | T::Referral
        | T::PositiveReply
        | T::ProductQuestion
        | T::ComplexObjection
        | T::StrategicAccountEngagement => &[Motion::Outbound],
        T::PricingRequest
        | T::SecurityReview
        | T::LegalReview
        | T::ProcurementRequest
        | T::NeedsJudgment
        | T::None => &[Motion::Inbound, Motion::Outbound],
    }
}

fn push<T: PartialEq>(list: &mut Vec<T>, value: T) {
    if !list.contains(&value) {
        list.push(value);
    }
}

/// What the compared rules mention: which attributes, and the values and bounds they name.
#[derive(Debug, Default)]
pub(crate) struct Mentions {
    triggers: Vec<TriggerKind>,
    reply_classes: Vec<ReplyClass>,
    qualifications: Vec<Qualification>,
    flags: Vec<RiskFlag>,
    lane: bool,
    lanes: Vec<HumanLane>,
    country: bool,
    countries: Vec<String>,
    territory: bool,
    employees: bool,
    employee_bounds: Vec<u32>,
    segment: bool,
    seats: bool,
    seat_bounds: Vec<u32>,
    product_lines: Option<Vec<String>>,
    sources: Option<Vec<String>>,
    channels: Vec<Channel>,
    form: BTreeMap<String, Vec<String>>,
    existing_customer: bool,
    strategic_account: bool,
}

impl Mentions {
    /// What these rules' conditions (top-level keys and `when`) mention.
    pub fn of<'a>(rules: impl IntoIterator<Item = &'a RouteRule>) -> Self {
        let mut m = Mentions::default();
        for rule in rules {
            rule_condition(rule).visit(&mut |clause| m.add(clause));
        }
        m
    }

    fn add(&mut self, clause: &Clause) {
        match clause {
            Clause::All(_) | Clause::Any(_) | Clause::Not(_) | Clause::Motion(_) => {}
            Clause::Trigger(v) => v.values().iter().for_each(|t| push(&mut self.triggers, *t)),
            Clause::ReplyClass(v) => v
                .values()
                .iter()
                .for_each(|r| push(&mut self.reply_classes, *r)),
            Clause::Qualification(v) => v
                .values()
                .iter()
                .for_each(|q| push(&mut self.qualifications, *q)),
            Clause::Flags(v) => v.values().iter().for_each(|f| push(&mut self.flags, *f)),
            Clause::Lane(test) => {
                self.lane = true;
                if let LaneTest::In(v) = test {
                    v.values().iter().for_each(|l| push(&mut self.lanes, *l));
                }
            }
            Clause::Country(v) => {
                self.country = true;
                v.values()
                    .iter()
                    .for_each(|c| push(&mut self.countries, c.as_str().to_string()));
            }
            Clause::Territory(_) => self.territory = true,
            Clause::Segment(_) => self.segment = true,
            Clause::Employees(r) => {
                self.employees = true;
                r.bounds()
                    .into_iter()
                    .for_each(|b| push(&mut self.employee_bounds, b));
            }
            Clause::Seats(r) => {
                self.seats = true;
                r.bounds()
                    .into_iter()
                    .for_each(|b| push(&mut self.seat_bounds, b));
            }
            Clause::ProductLine(v) => {
                let list = self.product_lines.get_or_insert_with(Vec::new);
                v.values().iter().for_each(|l| push(list, l.clone()));
            }
            Clause::Source(v) => {
                let list = self.sources.get_or_insert_with(Vec::new);
                v.values()
                    .iter()
                    .for_each(|s| push(list, s.trim().to_ascii_lowercase()));
            }
            Clause::Channel(v) => v.values().iter().for_each(|c| push(&mut self.channels, *c)),
            Clause::Form(fields) => {
                for (field, values) in fields {
                    let list = self.form.entry(field.clone()).or_default();
                    values
                        .values()
                        .iter()
                        .for_each(|v| push(list, v.trim().to_ascii_lowercase()));
                }
            }
            Clause::ExistingCustomer(_) => self.existing_customer = true,
            Clause::StrategicAccount(_) => self.strategic_account = true,
        }
    }
}

/// The candidate values of every attribute; their consistent combinations are the samples.
#[derive(Debug)]
pub(crate) struct Space {
    triggers: Vec<TriggerKind>,
    reply_classes: Vec<Option<ReplyClass>>,
    qualifications: Vec<Qualification>,
    flag_sets: Vec<Vec<RiskFlag>>,
    lanes: Vec<Option<HumanLane>>,
    countries: Vec<Option<String>>,
    employees: Vec<Option<u32>>,
    seats: Vec<Option<u32>>,
    product_lines: Vec<Option<String>>,
    sources: Vec<String>,
    channels: Vec<Channel>,
    forms: Vec<BTreeMap<String, String>>,
    existing_customer: Vec<bool>,
    strategic_account: Vec<bool>,
}

/// The named values, plus the first value of `all` they do not name (if any).
fn named_and_other<T: Copy + PartialEq>(named: &[T], all: &[T]) -> Vec<T> {
    let mut out = named.to_vec();
    if let Some(other) = all.iter().find(|v| !named.contains(v)) {
        out.push(*other);
    }
    out
}

/// A string none of `named` equals, ignoring case.
fn other_string(named: &[String], base: &str) -> String {
    (0..)
        .map(|i| format!("{base}-{i}"))
        .find(|s| !named.iter().any(|n| n.eq_ignore_ascii_case(s)))
        .unwrap_or_default()
}

/// Unknown, zero, the largest count, and every bound with its neighbours.
fn numbers(mentioned: bool, bounds: &[u32]) -> Vec<Option<u32>> {
    let mut out = vec![None];
    if mentioned {
        for n in [0, u32::MAX] {
            push(&mut out, Some(n));
        }
        for &b in bounds {
            for n in [b.saturating_sub(1), b, b.saturating_add(1)] {
                push(&mut out, Some(n));
            }
        }
    }
    out
}

impl Space {
    /// The candidates for what `m` mentions; `None` when their combinations exceed
    /// [`MAX_SAMPLES`].
    pub fn new(rules: &Rules, m: &Mentions) -> Option<Self> {
        let triggers = if m.triggers.is_empty() {
            vec![TriggerKind::NeedsJudgment]
        } else {
            let mut out = m.triggers.clone();
            for motion in [Motion::Inbound, Motion::Outbound] {
                if let Some(other) = TriggerKind::ALL
                    .iter()
                    .find(|t| !m.triggers.contains(t) && trigger_motions(**t).contains(&motion))
                {
                    push(&mut out, *other);
                }
            }
            out
        };
        let mut reply_classes = vec![None];
        let named = named_and_other(&m.reply_classes, ReplyClass::ALL);
        reply_classes.extend(named.into_iter().map(Some));
        let qualifications = if m.qualifications.is_empty() {
            vec![Qualification::Qualified]
        } else {
            named_and_other(&m.qualifications, Qualification::ALL)
        };
        if m.flags.len() > 16 {
            return None;
        }
        let flag_sets: Vec<Vec<RiskFlag>> = (0..1usize << m.flags.len())
            .map(|bits| {
                m.flags
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| bits & (1 << i) != 0)
                    .map(|(_, f)| *f)
                    .collect()
            })
            .collect();
        let mut lanes = vec![None];
        if m.lane {
            lanes.extend(
                named_and_other(&m.lanes, HumanLane::ALL)
                    .into_iter()
                    .map(Some),
            );
        }
        let countries = Self::countries(rules, m);
        let mut employee_bounds = m.employee_bounds.clone();
        if m.segment {
            employee_bounds.extend([
                rules.segments.smb_max_employees,
                rules.segments.mid_market_max_employees,
            ]);
        }
        let employees = numbers(m.employees || m.segment, &employee_bounds);
        let seats = numbers(m.seats, &m.seat_bounds);
        let product_lines = match &m.product_lines {
            None => vec![None],
            Some(named) => {
                let mut out = vec![None];
                out.extend(named.iter().cloned().map(Some));
                out.push(Some(other_string(named, "another-line")));
                out
            }
        };
        let sources = match &m.sources {
            None => vec!["website".to_string()],
            Some(named) => {
                let mut out = named.clone();
                out.push(other_string(named, "another-source"));
                out
            }
        };
        let channels = if m.channels.is_empty() {
            vec![Channel::WebForm]
        } else {
            named_and_other(&m.channels, &CHANNELS)
        };
        let existing_customer =
            if m.existing_customer || m.flags.contains(&RiskFlag::ExistingCustomer) {
                vec![false, true]
            } else {
                vec![false]
            };
        let strategic_account = if m.strategic_account {
            vec![false, true]
        } else {
            vec![false]
        };
        let space = Space {
            triggers,
            reply_classes,
            qualifications,
            flag_sets,
            lanes,
            countries,
            employees,
            seats,
            product_lines,
            sources,
            channels,
            forms: Self::forms(m),
            existing_customer,
            strategic_account,
        };
        (space.size()? <= MAX_SAMPLES).then_some(space)
    }

    /// Unknown, every named country, a country of each territory that no rule names, and a
    /// country no territory lists (which lands in the default territory).
    fn countries(rules: &Rules, m: &Mentions) -> Vec<Option<String>> {
        let mut out = vec![None];
        if !(m.country || m.territory) {
            return out;
        }
        for c in &m.countries {
            push(&mut out, Some(c.clone()));
        }
        if m.territory {
            for t in &rules.territories {
                if let Some(c) = t
                    .countries
                    .iter()
                    .find(|c| !m.countries.iter().any(|n| n.eq_ignore_ascii_case(c)))
                {
                    push(&mut out, Some(c.to_ascii_uppercase()));
                }
            }
        }
        let listed = |code: &str| {
            m.countries.iter().any(|c| c == code)
                || rules
                    .territories
                    .iter()
                    .any(|t| t.countries.iter().any(|c| c.eq_ignore_ascii_case(code)))
        };
        let unlisted = ('A'..='Z')
            .flat_map(|a| ('A'..='Z').map(move |b| format!("{a}{b}")))
            .find(|code| !listed(code));
        if let Some(code) = unlisted {
            push(&mut out, Some(code));
        }
        out
    }

    /// Every combination of, per named form field: missing, each named value, another value.
    fn forms(m: &Mentions) -> Vec<BTreeMap<String, String>> {
        let mut out = vec![BTreeMap::new()];
        for (field, named) in &m.form {
            let mut options: Vec<Option<String>> = vec![None];
            options.extend(named.iter().cloned().map(Some));
            options.push(Some(other_string(named, "another-value")));
            out = out
                .into_iter()
                .flat_map(|form| {
                    options.iter().map(move |option| {
                        let mut form = form.clone();
                        if let Some(v) = option {
                            form.insert(field.clone(), v.clone());
                        }
                        form
                    })
                })
                .collect();
            if out.len() > MAX_SAMPLES {
                break;
            }
        }
        out
    }

    fn lens(&self) -> [usize; 15] {
        [
            2,
            self.triggers.len(),
            self.reply_classes.len(),
            self.qualifications.len(),
            self.flag_sets.len(),
            self.lanes.len(),
            self.countries.len(),
            self.employees.len(),
            self.seats.len(),
            self.product_lines.len(),
            self.sources.len(),
            self.channels.len(),
            self.forms.len(),
            self.existing_customer.len(),
            self.strategic_account.len(),
        ]
    }

    /// How many combinations there are (before dropping impossible ones).
    fn size(&self) -> Option<usize> {
        self.lens()
            .iter()
            .try_fold(1usize, |acc, n| acc.checked_mul(*n))
    }

    /// Calls `visit` on every possible combination until it returns false.
    pub fn for_each(&self, visit: &mut dyn FnMut(&RoutingFacts) -> bool) {
        let lens = self.lens();
        let mut at = [0usize; 15];
        loop {
            if let Some(facts) = self.facts(&at) {
                if !visit(&facts) {
                    return;
                }
            }
            let mut i = 0;
            loop {
                if i == lens.len() {
                    return;
                }
                at[i] += 1;
                if at[i] < lens[i] {
                    break;
                }
                at[i] = 0;
                i += 1;
            }
        }
    }

    /// The handoff at these indices, when a real one could look like it.
    fn facts(&self, at: &[usize; 15]) -> Option<RoutingFacts> {
        let motion = [Motion::Inbound, Motion::Outbound][at[0]];
        let outbound = motion == Motion::Outbound;
        let trigger = self.triggers[at[1]];
        let reply_class = self.reply_classes[at[2]];
        let flags = &self.flag_sets[at[4]];
        let seats = self.seats[at[8]];
        let form = &self.forms[at[12]];
        let existing_customer = self.existing_customer[at[13]];
        let strategic_account = self.strategic_account[at[14]];
        let possible = trigger_motions(trigger).contains(&motion)
            && reply_class.is_some() == outbound
            && (!strategic_account || outbound)
            && (seats.is_none() || !outbound)
            && (form.is_empty() || !outbound)
            && (existing_customer || !flags.contains(&RiskFlag::ExistingCustomer));
        possible.then(|| RoutingFacts {
            motion,
            trigger,
            reply_class,
            qualification: self.qualifications[at[3]],
            flags: flags.clone(),
            lane: self.lanes[at[5]],
            country: self.countries[at[6]].clone(),
            employees: self.employees[at[7]],
            seats,
            product_line: self.product_lines[at[9]].clone(),
            source: self.sources[at[10]].clone(),
            channel: self.channels[at[11]],
            form: form.clone(),
            existing_customer,
            strategic_account,
        })
    }
}
