//! The routing condition language: what a `[[routing]]` rule can test about a handoff, how a
//! condition is evaluated against the [`RoutingFacts`] of one handoff, and how a match is told
//! in prose for the trace.
//!
//! A condition is a table and every key in it must hold. `all = [c, …]`, `any = [c, …]` and
//! `not = c` combine conditions. An attribute takes a value, a list of values (any of them) or
//! `{ in = [...] }`; `employees` and `seats` take a range (`{ at_least, at_most, below, above }`,
//! every given bound must hold); `lane`, `existing_customer` and `strategic_account` take
//! `true`/`false` (and `lane` also a list of lanes); `form` takes a table of form field →
//! value(s).
//!
//! **Missing attributes.** An attribute the handoff does not have (unknown employees, no country,
//! no reply class on an inbound lead, no such form field, no product line) never satisfies a
//! positive test; `not` of that test therefore holds. `territory` is derived from the country
//! like the territory layer does, so a buyer with no or an unlisted country is in the default
//! territory when there is one.
//!
//! A rule's top-level `motion`, `human_decision`, `qualification`, `triggers` and `flags` keys
//! are the same tests, ANDed with its `when` table ([`rule_condition`]).
//!
//! Parsing, serialisation and the JSON Schema of the language are in `syntax`; the prose of a
//! condition and of a match in `prose`.

mod prose;
mod syntax;
#[cfg(test)]
mod tests;

use crate::config::{Rules, Segment, Territory};
use crate::event::{Channel, EventKind, IntakeEvent};
use crate::package::{
    Classification, HumanLane, Motion, Qualification, ReplyClass, RiskFlag, TriggerKind,
};
use std::collections::BTreeMap;

/// A condition: every clause must hold (an empty condition holds for every handoff).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Condition {
    pub clauses: Vec<Clause>,
}

/// One key of a condition table.
#[derive(Debug, Clone, PartialEq)]
pub enum Clause {
    /// `all = [c, …]`: every condition holds.
    All(Vec<Condition>),
    /// `any = [c, …]`: at least one condition holds.
    Any(Vec<Condition>),
    /// `not = c`: the condition does not hold.
    Not(Box<Condition>),
    Motion(OneOf<Motion>),
    Trigger(OneOf<TriggerKind>),
    /// Only outbound replies have a reply class.
    ReplyClass(OneOf<ReplyClass>),
    Qualification(OneOf<Qualification>),
    /// Holds when any of the listed flags is raised.
    Flags(OneOf<RiskFlag>),
    Lane(LaneTest),
    Country(OneOf<CountryCode>),
    /// A territory id, derived from the buyer's country (default territory included).
    Territory(OneOf<String>),
    /// Derived from the employee count with `[segments]`.
    Segment(OneOf<Segment>),
    Employees(NumberRange),
    Seats(NumberRange),
    ProductLine(OneOf<String>),
    /// The provider or source the event came from, ignoring case.
    Source(OneOf<String>),
    Channel(OneOf<Channel>),
    /// Form field → accepted values; every named field must hold one of its values.
    Form(BTreeMap<String, OneOf<String>>),
    ExistingCustomer(bool),
    StrategicAccount(bool),
}

/// A non-empty set of accepted values: one value, a list, or `{ in = [...] }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneOf<T>(Vec<T>);

impl<T> OneOf<T> {
    /// The accepted values; `None` when `values` is empty (an empty set matches nothing).
    pub fn new(values: Vec<T>) -> Option<Self> {
        (!values.is_empty()).then_some(Self(values))
    }

    /// The accepted values, in the order written.
    pub fn values(&self) -> &[T] {
        &self.0
    }
}

impl<T: PartialEq> OneOf<T> {
    /// Whether `value` is accepted.
    pub fn contains(&self, value: &T) -> bool {
        self.0.contains(value)
    }
}

/// The `lane` test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaneTest {
    /// `true`: the handoff has a human-only lane; `false`: it has none.
    Has(bool),
    /// The handoff's human-only lane is one of these.
    In(OneOf<HumanLane>),
}

/// A numeric range; every given bound must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NumberRange {
    pub at_least: Option<u32>,
    pub at_most: Option<u32>,
    pub below: Option<u32>,
    pub above: Option<u32>,
}

impl NumberRange {
    /// Whether `n` is inside every bound.
    pub fn contains(&self, n: u32) -> bool {
        self.at_least.is_none_or(|b| n >= b)
            && self.at_most.is_none_or(|b| n <= b)
            && self.below.is_none_or(|b| n < b)
            && self.above.is_none_or(|b| n > b)
    }

    /// The bounds that are set, in prose: "at least 200 and below 500".
    pub fn text(&self) -> String {
        let parts: Vec<String> = [
            ("at least", self.at_least),
            ("above", self.above),
            ("at most", self.at_most),
            ("below", self.below),
        ]
        .into_iter()
        .filter_map(|(word, bound)| bound.map(|b| format!("{word} {b}")))
        .collect();
        parts.join(" and ")
    }

    /// Every bound that is set.
    pub fn bounds(&self) -> Vec<u32> {
        [self.at_least, self.at_most, self.below, self.above]
            .into_iter()
            .flatten()
            .collect()
    }
}

/// An ISO 3166-1 alpha-2 country code, uppercase.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CountryCode(String);

impl CountryCode {
    /// Two ASCII letters, any case.
    pub fn parse(raw: &str) -> Option<Self> {
        let code = raw.trim();
        (code.len() == 2 && code.chars().all(|c| c.is_ascii_alphabetic()))
            .then(|| Self(code.to_ascii_uppercase()))
    }

    /// The uppercase code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The condition keys, as written in TOML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Attribute {
    All,
    Any,
    Not,
    Motion,
    Trigger,
    ReplyClass,
    Qualification,
    Flags,
    Lane,
    Country,
    Territory,
    Segment,
    Employees,
    Seats,
    ProductLine,
    Source,
    Channel,
    Form,
    ExistingCustomer,
    StrategicAccount,
}

impl Attribute {
    /// Every key, in the order the docs list them.
    pub const ALL: &'static [Attribute] = &[
        Attribute::All,
        Attribute::Any,
        Attribute::Not,
        Attribute::Motion,
        Attribute::Trigger,
        Attribute::ReplyClass,
        Attribute::Qualification,
        Attribute::Flags,
        Attribute::Lane,
        Attribute::Country,
        Attribute::Territory,
        Attribute::Segment,
        Attribute::Employees,
        Attribute::Seats,
        Attribute::ProductLine,
        Attribute::Source,
        Attribute::Channel,
        Attribute::Form,
        Attribute::ExistingCustomer,
        Attribute::StrategicAccount,
    ];

    /// The TOML key.
    pub fn key(self) -> &'static str {
        match self {
            Attribute::All => "all",
            Attribute::Any => "any",
            Attribute::Not => "not",
            Attribute::Motion => "motion",
            Attribute::Trigger => "trigger",
            Attribute::ReplyClass => "reply_class",
            Attribute::Qualification => "qualification",
            Attribute::Flags => "flags",
            Attribute::Lane => "lane",
            Attribute::Country => "country",
            Attribute::Territory => "territory",
            Attribute::Segment => "segment",
            Attribute::Employees => "employees",
            Attribute::Seats => "seats",
            Attribute::ProductLine => "product_line",
            Attribute::Source => "source",
            Attribute::Channel => "channel",
            Attribute::Form => "form",
            Attribute::ExistingCustomer => "existing_customer",
            Attribute::StrategicAccount => "strategic_account",
        }
    }

    /// The attribute a TOML key names.
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|a| a.key() == key)
    }
}

impl Clause {
    /// The key this clause is written under.
    pub fn attribute(&self) -> Attribute {
        match self {
            Clause::All(_) => Attribute::All,
            Clause::Any(_) => Attribute::Any,
            Clause::Not(_) => Attribute::Not,
            Clause::Motion(_) => Attribute::Motion,
            Clause::Trigger(_) => Attribute::Trigger,
            Clause::ReplyClass(_) => Attribute::ReplyClass,
            Clause::Qualification(_) => Attribute::Qualification,
            Clause::Flags(_) => Attribute::Flags,
            Clause::Lane(_) => Attribute::Lane,
            Clause::Country(_) => Attribute::Country,
            Clause::Territory(_) => Attribute::Territory,
            Clause::Segment(_) => Attribute::Segment,
            Clause::Employees(_) => Attribute::Employees,
            Clause::Seats(_) => Attribute::Seats,
            Clause::ProductLine(_) => Attribute::ProductLine,
            Clause::Source(_) => Attribute::Source,
            Clause::Channel(_) => Attribute::Channel,
            Clause::Form(_) => Attribute::Form,
            Clause::ExistingCustomer(_) => Attribute::ExistingCustomer,
            Clause::StrategicAccount(_) => Attribute::StrategicAccount,
        }
    }
}

/// What a condition can read about one handoff: the classification's labels and buyer, and what
/// only the intake event carries (form fields, seats, an outbound account's strategic mark).
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingFacts {
    pub motion: Motion,
    pub trigger: TriggerKind,
    /// Only outbound replies have one.
    pub reply_class: Option<ReplyClass>,
    pub qualification: Qualification,
    pub flags: Vec<RiskFlag>,
    /// The human-only lane, if any.
    pub lane: Option<HumanLane>,
    /// The buyer's country, trimmed and uppercase; `None` when unknown.
    pub country: Option<String>,
    pub employees: Option<u32>,
    /// Seats a form or an AI-qualified lead mentions.
    pub seats: Option<u32>,
    pub product_line: Option<String>,
    /// The source name (lowercase slug).
    pub source: String,
    pub channel: Channel,
    /// A form lead's remaining fields (UTM, hidden fields) by name.
    pub form: BTreeMap<String, String>,
    /// The `existing_customer` flag is raised, or the company is a configured customer account.
    pub existing_customer: bool,
    /// The outbound reply's account context says strategic; false for every other handoff.
    pub strategic_account: bool,
}

impl RoutingFacts {
    /// The facts of a classified handoff; `event` adds form fields, seats and the account
    /// context (without it they are unknown, and `strategic_account` is false).
    pub fn of(rules: &Rules, c: &Classification, event: Option<&IntakeEvent>) -> Self {
        let (seats, form, strategic_account) = match event.map(|e| &e.kind) {
            Some(EventKind::FormLead(f)) => (f.seats, f.fields.clone(), false),
            Some(EventKind::QualifiedLead(q)) => (q.seats, BTreeMap::new(), false),
            Some(EventKind::EmailReply(r)) => (
                None,
                BTreeMap::new(),
                r.account.as_ref().is_some_and(|a| a.strategic),
            ),
            _ => (None, BTreeMap::new(), false),
        };
        let domain = c
            .buyer
            .company_domain
            .clone()
            .or_else(|| event.and_then(IntakeEvent::company_domain));
        let configured_customer = domain
            .and_then(|d| rules.account(&d).map(|a| a.customer))
            .unwrap_or(false);
        Self {
            motion: c.motion,
            trigger: c.trigger,
            reply_class: c.reply_class,
            qualification: c.qualification,
            flags: c.risk_flags.clone(),
            lane: c.human_decision,
            country: c
                .buyer
                .country
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_ascii_uppercase),
            employees: c.buyer.employees,
            seats,
            product_line: c.product_line.clone(),
            source: c.buyer.source.as_str().to_string(),
            channel: c.buyer.channel,
            form,
            existing_customer: configured_customer || c.has_flag(RiskFlag::ExistingCustomer),
            strategic_account,
        }
    }

    /// The buyer's territory: the one listing their country, else the default territory.
    pub fn territory<'r>(&self, rules: &'r Rules) -> Option<&'r Territory> {
        rules.territory_of(self.country.as_deref())
    }

    /// The company's segment, when its size is known.
    pub fn segment(&self, rules: &Rules) -> Option<Segment> {
        self.employees.map(|e| rules.segments.segment_of(e))
    }

    fn has_flag(&self, flag: RiskFlag) -> bool {
        self.flags.contains(&flag)
    }

    fn form_value(&self, field: &str) -> Option<&str> {
        self.form.get(field).map(|v| v.trim())
    }
}

/// The whole condition of a rule: its top-level `motion`, `human_decision`, `qualification`,
/// `triggers` and `flags` keys, then its `when` table, all of which must hold.
pub fn rule_condition(rule: &crate::config::RouteRule) -> Condition {
    let mut clauses = Vec::new();
    if let Some(m) = rule.motion {
        clauses.push(Clause::Motion(OneOf(vec![m])));
    }
    if let Some(wanted) = rule.human_decision {
        clauses.push(Clause::Lane(LaneTest::Has(wanted)));
    }
    if let Some(q) = OneOf::new(rule.qualification.clone()) {
        clauses.push(Clause::Qualification(q));
    }
    if let Some(t) = OneOf::new(rule.triggers.clone()) {
        clauses.push(Clause::Trigger(t));
    }
    if let Some(f) = OneOf::new(rule.flags.clone()) {
        clauses.push(Clause::Flags(f));
    }
    if let Some(when) = &rule.when {
        clauses.extend(when.clauses.iter().cloned());
    }
    Condition { clauses }
}

impl Condition {
    /// Whether every clause holds for this handoff.
    pub fn holds(&self, facts: &RoutingFacts, rules: &Rules) -> bool {
        self.clauses.iter().all(|c| c.holds(facts, rules))
    }

    /// Every clause, nested ones included (for the lint).
    pub fn visit(&self, f: &mut impl FnMut(&Clause)) {
        for clause in &self.clauses {
            f(clause);
            match clause {
                Clause::All(cs) | Clause::Any(cs) => cs.iter().for_each(|c| c.visit(f)),
                Clause::Not(c) => c.visit(f),
                _ => {}
            }
        }
    }
}

fn any_of_strings(accepted: &OneOf<String>, value: Option<&str>) -> bool {
    value.is_some_and(|v| accepted.values().iter().any(|a| a == v))
}

fn any_ignoring_case(accepted: &OneOf<String>, value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        accepted
            .values()
            .iter()
            .any(|a| a.trim().eq_ignore_ascii_case(v.trim()))
    })
}

impl Clause {
    /// Whether the clause holds (see the module docs for missing attributes).
    pub fn holds(&self, f: &RoutingFacts, rules: &Rules) -> bool {
        match self {
            Clause::All(cs) => cs.iter().all(|c| c.holds(f, rules)),
            Clause::Any(cs) => cs.iter().any(|c| c.holds(f, rules)),
            Clause::Not(c) => !c.holds(f, rules),
            Clause::Motion(v) => v.contains(&f.motion),
            Clause::Trigger(v) => v.contains(&f.trigger),
            Clause::ReplyClass(v) => f.reply_class.is_some_and(|r| v.contains(&r)),
            Clause::Qualification(v) => v.contains(&f.qualification),
            Clause::Flags(v) => v.values().iter().any(|flag| f.has_flag(*flag)),
            Clause::Lane(LaneTest::Has(wanted)) => f.lane.is_some() == *wanted,
            Clause::Lane(LaneTest::In(v)) => f.lane.is_some_and(|l| v.contains(&l)),
            Clause::Country(v) => f
                .country
                .as_deref()
                .is_some_and(|c| v.values().iter().any(|x| x.as_str() == c)),
            Clause::Territory(v) => any_of_strings(v, f.territory(rules).map(|t| t.id.as_str())),
            Clause::Segment(v) => f.segment(rules).is_some_and(|s| v.contains(&s)),
            Clause::Employees(r) => f.employees.is_some_and(|n| r.contains(n)),
            Clause::Seats(r) => f.seats.is_some_and(|n| r.contains(n)),
            Clause::ProductLine(v) => any_of_strings(v, f.product_line.as_deref()),
            Clause::Source(v) => any_ignoring_case(v, Some(&f.source)),
            Clause::Channel(v) => v.contains(&f.channel),
            Clause::Form(fields) => fields
                .iter()
                .all(|(name, v)| any_ignoring_case(v, f.form_value(name))),
            Clause::ExistingCustomer(wanted) => f.existing_customer == *wanted,
            Clause::StrategicAccount(wanted) => f.strategic_account == *wanted,
        }
    }
}
