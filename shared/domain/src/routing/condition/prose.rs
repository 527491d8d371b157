//! Conditions in prose: why a condition matched one handoff ("inbound; 150 employees, below
//! 200; country US in amer", for the trace's `rule` step) and what a condition says without a
//! handoff ("employees at least 500 and below 200", for `rules check` and the lint).

use super::{Clause, Condition, LaneTest, NumberRange, OneOf, RoutingFacts};
use crate::config::{Rules, Segment};
use crate::package::Qualification;
use crate::render::prose;

impl Condition {
    /// Why a condition that holds matched, one phrase per clause ("inbound", "150 employees,
    /// below 200", "country US in amer"); empty for a condition with no clause.
    pub fn explain(&self, facts: &RoutingFacts, rules: &Rules) -> Vec<String> {
        self.clauses
            .iter()
            .flat_map(|c| c.explain(facts, rules))
            .collect()
    }

    /// The condition in prose, without a handoff: "inbound; employees below 200".
    pub fn describe(&self) -> String {
        if self.clauses.is_empty() {
            return "any handoff".to_string();
        }
        self.clauses
            .iter()
            .map(Clause::describe)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl Clause {
    /// Why this clause held, in prose (see [`Condition::explain`]).
    fn explain(&self, f: &RoutingFacts, rules: &Rules) -> Vec<String> {
        let one = |s: String| vec![s];
        match self {
            Clause::All(cs) => cs.iter().flat_map(|c| c.explain(f, rules)).collect(),
            Clause::Any(cs) => cs
                .iter()
                .find(|c| c.holds(f, rules))
                .map(|c| c.explain(f, rules))
                .unwrap_or_default(),
            Clause::Not(c) => one(format!("not {}", parenthesised(c))),
            Clause::Motion(_) => one(f.motion.to_string()),
            Clause::Trigger(_) => one(format!("trigger {}", prose(f.trigger.as_str()))),
            Clause::ReplyClass(_) => one(match f.reply_class {
                Some(r) => format!("reply class {}", prose(r.as_str())),
                None => "no reply class".to_string(),
            }),
            Clause::Qualification(_) => one(qualification_prose(f.qualification)),
            Clause::Flags(v) => {
                let raised: Vec<String> = v
                    .values()
                    .iter()
                    .filter(|flag| f.has_flag(**flag))
                    .map(|flag| prose(flag.as_str()))
                    .collect();
                let noun = if raised.len() == 1 { "flag" } else { "flags" };
                one(format!("{noun} {} raised", raised.join(", ")))
            }
            Clause::Lane(_) => one(match f.lane {
                Some(l) => format!("human-only lane {}", prose(l.as_str())),
                None => "no human-only lane".to_string(),
            }),
            Clause::Country(_) => one(format!("country {}", country_prose(f))),
            Clause::Territory(_) => one(territory_prose(f, rules)),
            Clause::Segment(_) => one(match (f.employees, f.segment(rules)) {
                (Some(n), Some(s)) => format!("{n} employees, {}", segment_prose(s)),
                _ => "company size unknown".to_string(),
            }),
            Clause::Employees(r) => one(number_prose(f.employees, "employees", r)),
            Clause::Seats(r) => one(number_prose(f.seats, "seats", r)),
            Clause::ProductLine(_) => one(format!(
                "product line {}",
                f.product_line.as_deref().unwrap_or("unknown")
            )),
            Clause::Source(_) => one(format!("source {}", f.source)),
            Clause::Channel(_) => one(format!("channel {}", prose(f.channel.as_str()))),
            Clause::Form(fields) => fields
                .keys()
                .map(|name| match f.form_value(name) {
                    Some(value) => format!("form field {name} is {value}"),
                    None => format!("no form field {name}"),
                })
                .collect(),
            Clause::ExistingCustomer(_) => one(if f.existing_customer {
                "an existing customer".to_string()
            } else {
                "not an existing customer".to_string()
            }),
            Clause::StrategicAccount(_) => one(if f.strategic_account {
                "a strategic account".to_string()
            } else {
                "not a strategic account".to_string()
            }),
        }
    }

    /// The clause in prose, without a handoff.
    pub fn describe(&self) -> String {
        match self {
            Clause::All(cs) => format!(
                "all of {}",
                cs.iter().map(parenthesised).collect::<Vec<_>>().join(", ")
            ),
            Clause::Any(cs) => format!(
                "any of {}",
                cs.iter().map(parenthesised).collect::<Vec<_>>().join(", ")
            ),
            Clause::Not(c) => format!("not {}", parenthesised(c)),
            Clause::Motion(v) => either(v.values().iter().map(|m| m.to_string())),
            Clause::Trigger(v) => format!("trigger {}", labels(v, |t| t.as_str())),
            Clause::ReplyClass(v) => format!("reply class {}", labels(v, |r| r.as_str())),
            Clause::Qualification(v) => either(v.values().iter().map(|q| qualification_prose(*q))),
            Clause::Flags(v) => format!("flag {} raised", labels(v, |f| f.as_str())),
            Clause::Lane(LaneTest::Has(true)) => "a human-only lane".to_string(),
            Clause::Lane(LaneTest::Has(false)) => "no human-only lane".to_string(),
            Clause::Lane(LaneTest::In(v)) => {
                format!("human-only lane {}", labels(v, |l| l.as_str()))
            }
            Clause::Country(v) => format!(
                "country {}",
                either(v.values().iter().map(|c| c.as_str().to_string()))
            ),
            Clause::Territory(v) => format!("territory {}", either(v.values().iter().cloned())),
            Clause::Segment(v) => format!(
                "segment {}",
                either(v.values().iter().map(|s| segment_prose(*s)))
            ),
            Clause::Employees(r) => format!("employees {}", r.text()),
            Clause::Seats(r) => format!("seats {}", r.text()),
            Clause::ProductLine(v) => {
                format!("product line {}", either(v.values().iter().cloned()))
            }
            Clause::Source(v) => format!("source {}", either(v.values().iter().cloned())),
            Clause::Channel(v) => format!("channel {}", labels(v, |c| c.as_str())),
            Clause::Form(fields) => fields
                .iter()
                .map(|(name, v)| {
                    format!(
                        "form field {name} is {}",
                        either(v.values().iter().cloned())
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            Clause::ExistingCustomer(true) => "an existing customer".to_string(),
            Clause::ExistingCustomer(false) => "not an existing customer".to_string(),
            Clause::StrategicAccount(true) => "a strategic account".to_string(),
            Clause::StrategicAccount(false) => "not a strategic account".to_string(),
        }
    }
}

fn parenthesised(c: &Condition) -> String {
    format!("({})", c.describe())
}

/// "a", "a or b", "a, b or c".
fn either(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    match items.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    }
}

fn labels<T>(v: &OneOf<T>, label: impl Fn(&T) -> &'static str) -> String {
    either(v.values().iter().map(|x| prose(label(x))))
}

fn qualification_prose(q: Qualification) -> String {
    match q {
        Qualification::NeedsConfirmation => "qualification needs confirmation".to_string(),
        other => prose(other.as_str()),
    }
}

/// A segment as a person reads it: "smb", "mid-market", "enterprise".
pub fn segment_prose(s: Segment) -> String {
    match s {
        Segment::Smb => "smb".to_string(),
        Segment::MidMarket => "mid-market".to_string(),
        Segment::Enterprise => "enterprise".to_string(),
    }
}

fn country_prose(f: &RoutingFacts) -> String {
    f.country.clone().unwrap_or_else(|| "unknown".to_string())
}

fn territory_prose(f: &RoutingFacts, rules: &Rules) -> String {
    let Some(t) = f.territory(rules) else {
        return "no territory".to_string();
    };
    match f.country.as_deref() {
        Some(c) if t.countries.iter().any(|x| x.eq_ignore_ascii_case(c)) => {
            format!("country {c} in {}", t.id)
        }
        Some(c) => format!("country {c}, default territory {}", t.id),
        None => format!("no country, default territory {}", t.id),
    }
}

fn number_prose(value: Option<u32>, noun: &str, range: &NumberRange) -> String {
    match value {
        Some(n) => format!("{n} {noun}, {}", range.text()),
        None => format!("{noun} unknown"),
    }
}
