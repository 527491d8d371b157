//! Table-driven tests of the condition language: evaluation of every attribute, combinators,
//! ranges and missing attributes; the facts read from events; parse errors with their line; the
//! prose of a match (the keys of a TOML table arrive in alphabetical order, so its clauses are
//! explained in that order).

use super::*;
use crate::config::{Rules, RulesError};
use crate::event::IntakeEvent;
use crate::package::{HumanLane, Motion, Qualification, ReplyClass, RiskFlag, TriggerKind};
use crate::routing::testing::{classification, example_rules};
use serde::Deserialize;

#[derive(Deserialize)]
struct Wrapper {
    when: Condition,
}

/// Parses `when = <toml>`.
fn condition(toml_value: &str) -> Condition {
    toml::from_str::<Wrapper>(&format!("when = {toml_value}"))
        .unwrap_or_else(|e| panic!("{toml_value}: {e}"))
        .when
}

/// A US inbound demo request from a 150-person company, qualified, from the website form.
fn base(rules: &Rules) -> RoutingFacts {
    let mut c = classification(Motion::Inbound, TriggerKind::DemoRequest);
    c.buyer.country = Some("us".into());
    c.buyer.employees = Some(150);
    c.product_line = Some("insights".into());
    RoutingFacts::of(rules, &c, None)
}

type Change = fn(&mut RoutingFacts);

fn none(_: &mut RoutingFacts) {}
fn outbound_positive(f: &mut RoutingFacts) {
    f.motion = Motion::Outbound;
    f.trigger = TriggerKind::PositiveReply;
    f.reply_class = Some(ReplyClass::Positive);
    f.channel = crate::event::Channel::Email;
    f.source = "vera".into();
}
fn no_country(f: &mut RoutingFacts) {
    f.country = None;
}
fn german(f: &mut RoutingFacts) {
    f.country = Some("DE".into());
}
fn japanese(f: &mut RoutingFacts) {
    f.country = Some("JP".into());
}
fn no_size(f: &mut RoutingFacts) {
    f.employees = None;
}
fn enterprise_size(f: &mut RoutingFacts) {
    f.employees = Some(5000);
}
fn size_200(f: &mut RoutingFacts) {
    f.employees = Some(200);
}
fn forty_seats(f: &mut RoutingFacts) {
    f.seats = Some(40);
}
fn pricing_lane(f: &mut RoutingFacts) {
    f.lane = Some(HumanLane::Pricing);
}
fn flagged(f: &mut RoutingFacts) {
    f.flags = vec![RiskFlag::Enterprise, RiskFlag::Pricing];
}
fn spring_launch(f: &mut RoutingFacts) {
    f.form
        .insert("utm_campaign".into(), " Spring-Launch ".into());
    f.form.insert("utm_source".into(), "google".into());
}
fn customer(f: &mut RoutingFacts) {
    f.existing_customer = true;
}
fn strategic(f: &mut RoutingFacts) {
    outbound_positive(f);
    f.strategic_account = true;
}
fn partially(f: &mut RoutingFacts) {
    f.qualification = Qualification::PartiallyQualified;
}
fn no_product(f: &mut RoutingFacts) {
    f.product_line = None;
}

#[test]
fn every_attribute_evaluates() {
    let rules = example_rules();
    let cases: &[(&str, &str, Change, bool)] = &[
        // motion, trigger, qualification
        ("motion", r#"{ motion = "inbound" }"#, none, true),
        ("motion, other", r#"{ motion = "outbound" }"#, none, false),
        (
            "motion list",
            r#"{ motion = ["outbound", "inbound"] }"#,
            none,
            true,
        ),
        (
            "explicit in",
            r#"{ motion = { in = ["inbound"] } }"#,
            none,
            true,
        ),
        ("trigger", r#"{ trigger = "demo_request" }"#, none, true),
        (
            "trigger list",
            r#"{ trigger = ["pricing_request", "referral"] }"#,
            none,
            false,
        ),
        (
            "qualification",
            r#"{ qualification = "qualified" }"#,
            none,
            true,
        ),
        (
            "qualification, other",
            r#"{ qualification = "qualified" }"#,
            partially,
            false,
        ),
        // reply class: only outbound replies have one
        (
            "reply class",
            r#"{ reply_class = "positive" }"#,
            outbound_positive,
            true,
        ),
        (
            "reply class missing",
            r#"{ reply_class = "positive" }"#,
            none,
            false,
        ),
        (
            "not reply class missing",
            r#"{ not = { reply_class = "positive" } }"#,
            none,
            true,
        ),
        // flags: any listed flag raised
        (
            "flags any",
            r#"{ flags = ["legal_review", "pricing"] }"#,
            flagged,
            true,
        ),
        ("flags none raised", r#"{ flags = "pricing" }"#, none, false),
        // lane
        ("lane true", "{ lane = true }", pricing_lane, true),
        ("lane true, none", "{ lane = true }", none, false),
        ("lane false", "{ lane = false }", none, true),
        (
            "lane list",
            r#"{ lane = ["pricing", "negotiation"] }"#,
            pricing_lane,
            true,
        ),
        ("lane list, none", r#"{ lane = ["pricing"] }"#, none, false),
        // country, case-insensitive; missing never matches
        ("country", r#"{ country = "US" }"#, none, true),
        (
            "country lowercase",
            r#"{ country = ["de", "us"] }"#,
            none,
            true,
        ),
        ("country, other", r#"{ country = "DE" }"#, none, false),
        (
            "country missing",
            r#"{ country = "US" }"#,
            no_country,
            false,
        ),
        (
            "not country missing",
            r#"{ not = { country = "US" } }"#,
            no_country,
            true,
        ),
        // territory, derived like the territory layer (default territory included)
        ("territory", r#"{ territory = "amer" }"#, none, true),
        ("territory emea", r#"{ territory = "emea" }"#, german, true),
        (
            "territory default, unlisted",
            r#"{ territory = "amer" }"#,
            japanese,
            true,
        ),
        (
            "territory default, no country",
            r#"{ territory = "amer" }"#,
            no_country,
            true,
        ),
        ("territory, other", r#"{ territory = "emea" }"#, none, false),
        // segment, derived from employees
        ("segment", r#"{ segment = "smb" }"#, none, true),
        (
            "segment enterprise",
            r#"{ segment = ["mid_market", "enterprise"] }"#,
            enterprise_size,
            true,
        ),
        (
            "segment unknown size",
            r#"{ segment = "smb" }"#,
            no_size,
            false,
        ),
        // employees and seats ranges
        ("below", "{ employees = { below = 200 } }", none, true),
        (
            "below, at bound",
            "{ employees = { below = 200 } }",
            size_200,
            false,
        ),
        (
            "at least, at bound",
            "{ employees = { at_least = 200 } }",
            size_200,
            true,
        ),
        (
            "at most, at bound",
            "{ employees = { at_most = 200 } }",
            size_200,
            true,
        ),
        (
            "above, at bound",
            "{ employees = { above = 200 } }",
            size_200,
            false,
        ),
        (
            "two bounds",
            "{ employees = { above = 100, at_most = 150 } }",
            none,
            true,
        ),
        (
            "two bounds, outside",
            "{ employees = { above = 100, at_most = 150 } }",
            enterprise_size,
            false,
        ),
        (
            "employees unknown",
            "{ employees = { below = 200 } }",
            no_size,
            false,
        ),
        (
            "not employees unknown",
            "{ not = { employees = { below = 200 } } }",
            no_size,
            true,
        ),
        ("seats", "{ seats = { at_least = 10 } }", forty_seats, true),
        (
            "seats unknown",
            "{ seats = { at_least = 10 } }",
            none,
            false,
        ),
        // product line, source, channel
        (
            "product line",
            r#"{ product_line = ["platform", "insights"] }"#,
            none,
            true,
        ),
        (
            "product line missing",
            r#"{ product_line = "insights" }"#,
            no_product,
            false,
        ),
        ("source, any case", r#"{ source = "WebSite" }"#, none, true),
        ("source, other", r#"{ source = "typeform" }"#, none, false),
        ("channel", r#"{ channel = "web_form" }"#, none, true),
        (
            "channel, other",
            r#"{ channel = ["email", "chat"] }"#,
            none,
            false,
        ),
        // form fields: values ignore case and surrounding spaces; every field must hold
        (
            "form",
            r#"{ form = { utm_campaign = ["spring-launch", "webinar"] } }"#,
            spring_launch,
            true,
        ),
        (
            "form two fields",
            r#"{ form = { utm_campaign = "spring-launch", utm_source = "google" } }"#,
            spring_launch,
            true,
        ),
        (
            "form, other value",
            r#"{ form = { utm_source = "linkedin" } }"#,
            spring_launch,
            false,
        ),
        (
            "form field missing",
            r#"{ form = { utm_campaign = "webinar" } }"#,
            none,
            false,
        ),
        (
            "not form field missing",
            r#"{ not = { form = { utm_campaign = "webinar" } } }"#,
            none,
            true,
        ),
        // booleans
        (
            "existing customer",
            "{ existing_customer = true }",
            customer,
            true,
        ),
        (
            "not a customer",
            "{ existing_customer = false }",
            none,
            true,
        ),
        ("strategic", "{ strategic_account = true }", strategic, true),
        ("not strategic", "{ strategic_account = false }", none, true),
        // combinators and the implicit all
        (
            "implicit all",
            r#"{ motion = "inbound", employees = { below = 200 }, territory = "amer" }"#,
            none,
            true,
        ),
        (
            "implicit all, one fails",
            r#"{ motion = "inbound", territory = "emea" }"#,
            none,
            false,
        ),
        (
            "all",
            r#"{ all = [{ motion = "inbound" }, { country = "US" }] }"#,
            none,
            true,
        ),
        (
            "all of two motions",
            r#"{ all = [{ motion = "inbound" }, { motion = "outbound" }] }"#,
            none,
            false,
        ),
        (
            "any",
            r#"{ any = [{ country = "DE" }, { employees = { below = 200 } }] }"#,
            none,
            true,
        ),
        (
            "any, none holds",
            r#"{ any = [{ country = "DE" }, { trigger = "referral" }] }"#,
            none,
            false,
        ),
        ("not", r#"{ not = { motion = "outbound" } }"#, none, true),
        (
            "nested",
            r#"{ any = [{ not = { segment = "smb" } }, { all = [{ country = "US" }, { lane = false }] }] }"#,
            none,
            true,
        ),
        ("empty table", "{}", none, true),
    ];
    for (name, toml_value, change, expected) in cases {
        let mut facts = base(&rules);
        change(&mut facts);
        let c = condition(toml_value);
        assert_eq!(c.holds(&facts, &rules), *expected, "{name}: {toml_value}");
    }
}

#[test]
fn a_match_is_explained_in_prose() {
    let rules = example_rules();
    let cases: &[(&str, Change, &str)] = &[
        (
            r#"{ motion = "inbound", employees = { below = 200 }, territory = "amer" }"#,
            none,
            "150 employees, below 200; inbound; country US in amer",
        ),
        (
            r#"{ territory = "amer" }"#,
            japanese,
            "country JP, default territory amer",
        ),
        (
            r#"{ territory = "amer" }"#,
            no_country,
            "no country, default territory amer",
        ),
        (
            r#"{ trigger = "demo_request", segment = "smb", qualification = "qualified" }"#,
            none,
            "qualified; 150 employees, smb; trigger demo request",
        ),
        (
            r#"{ form = { utm_campaign = ["spring-launch", "webinar"] }, seats = { at_least = 10 } }"#,
            |f| {
                spring_launch(f);
                forty_seats(f);
            },
            "form field utm_campaign is Spring-Launch; 40 seats, at least 10",
        ),
        (
            r#"{ any = [{ country = "DE" }, { lane = ["pricing"] }], flags = ["pricing", "legal_review"] }"#,
            |f| {
                pricing_lane(f);
                flagged(f);
            },
            "human-only lane pricing; flag pricing raised",
        ),
        (
            r#"{ not = { employees = { at_least = 200, below = 2000 } }, existing_customer = false }"#,
            none,
            "not an existing customer; not (employees at least 200 and below 2000)",
        ),
        (
            r#"{ reply_class = "positive", strategic_account = true, channel = "email" }"#,
            strategic,
            "channel email; reply class positive; a strategic account",
        ),
    ];
    for (toml_value, change, expected) in cases {
        let mut facts = base(&rules);
        change(&mut facts);
        let c = condition(toml_value);
        assert!(c.holds(&facts, &rules), "{toml_value}");
        assert_eq!(
            c.explain(&facts, &rules).join("; "),
            *expected,
            "{toml_value}"
        );
    }
}

#[test]
fn a_condition_is_described_without_a_handoff() {
    for (toml_value, expected) in [
        ("{}", "any handoff"),
        (
            r#"{ motion = ["inbound", "outbound"], trigger = ["demo_request", "pricing_request", "referral"] }"#,
            "inbound or outbound; trigger demo request, pricing request or referral",
        ),
        (
            r#"{ any = [{ segment = "mid_market" }, { lane = true }], not = { country = "de" } }"#,
            "any of (segment mid-market), (a human-only lane); not (country DE)",
        ),
        (
            "{ employees = { at_least = 500, below = 200 } }",
            "employees at least 500 and below 200",
        ),
    ] {
        assert_eq!(condition(toml_value).describe(), expected, "{toml_value}");
    }
}

#[test]
fn a_condition_writes_back_as_it_reads() {
    let text = r#"{ motion = "inbound", trigger = ["demo_request", "referral"], lane = false, employees = { below = 200 }, form = { utm_campaign = ["a", "b"] }, any = [{ country = "us" }, { not = { strategic_account = true } }] }"#;
    let c = condition(text);
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "motion": "inbound",
            "trigger": ["demo_request", "referral"],
            "lane": false,
            "employees": { "below": 200 },
            "form": { "utm_campaign": ["a", "b"] },
            "any": [{ "country": "US" }, { "not": { "strategic_account": true } }]
        })
    );
    let again: Condition = serde_json::from_value(json).unwrap();
    assert_eq!(again, c);
}

fn event(json: serde_json::Value) -> IntakeEvent {
    serde_json::from_value(json).expect("event")
}

#[test]
fn facts_come_from_the_classification_and_the_event() {
    let rules = example_rules();
    let buyer = serde_json::json!({ "email": "dana@globex.com", "country": " de " });
    let form = event(serde_json::json!({
        "type": "form_lead", "source": "website", "channel": "web_form",
        "provider_event_id": "f-1", "received_at": "2026-06-03T10:00:00Z",
        "buyer": buyer, "seats": 40, "fields": { "utm_campaign": "webinar" }
    }));
    let lead = event(serde_json::json!({
        "type": "qualified_lead", "source": "alim", "channel": "chat",
        "provider_event_id": "q-1", "received_at": "2026-06-03T10:00:00Z",
        "buyer": buyer, "agent": "alim", "seats": 12
    }));
    let reply = event(serde_json::json!({
        "type": "email_reply", "source": "vera", "channel": "email",
        "provider_event_id": "r-1", "received_at": "2026-06-03T10:00:00Z",
        "buyer": { "email": "dana@initech.de" }, "text": "yes", "thread_id": "t",
        "account": { "name": "Initech", "strategic": true }
    }));
    let c = classification(Motion::Inbound, TriggerKind::DemoRequest);
    let mut with_country = c.clone();
    with_country.buyer.country = Some(" de ".into());

    let f = RoutingFacts::of(&rules, &with_country, Some(&form));
    assert_eq!(f.seats, Some(40));
    assert_eq!(
        f.form.get("utm_campaign").map(String::as_str),
        Some("webinar")
    );
    assert_eq!(f.country.as_deref(), Some("DE"), "trimmed and uppercase");
    assert!(
        f.existing_customer,
        "globex.com is a configured customer account"
    );
    assert!(!f.strategic_account);

    let f = RoutingFacts::of(&rules, &c, Some(&lead));
    assert_eq!((f.seats, f.form.len()), (Some(12), 0));
    assert!(f.existing_customer);

    let f = RoutingFacts::of(&rules, &c, Some(&reply));
    assert!(f.strategic_account);
    assert!(
        !f.existing_customer,
        "initech.de is an account but not a customer"
    );
    assert_eq!(f.seats, None);

    let mut flagged = c.clone();
    flagged.risk_flags = vec![RiskFlag::ExistingCustomer];
    let f = RoutingFacts::of(&rules, &flagged, None);
    assert!(f.existing_customer, "the flag alone says so");
    assert_eq!((f.seats, f.form.len(), f.country.clone()), (None, 0, None));
}

/// The example with one more routing rule, written as `block`, placed first.
fn with_rule(block: &str) -> (String, Result<Rules, RulesError>) {
    let example = include_str!("../../../../../examples/handoff.toml");
    let marker = "[[routing]]\nname = \"human-only decisions go to the deal desk\"";
    assert!(example.contains(marker));
    let text = example.replacen(marker, &format!("{block}\n\n{marker}"), 1);
    let rules = Rules::from_toml("f.toml", &text);
    (text, rules)
}

fn line_containing(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in the text"))
        + 1
}

#[test]
fn malformed_conditions_name_the_line_and_what_was_expected() {
    let rule = |when: &str| format!("[[routing]]\nname = \"probe\"\nrole = \"sdr\"\n{when}");
    let cases: &[(&str, &str, &str)] = &[
        (
            r#"when = { motion = "inboun" }"#,
            "when =",
            "unknown variant `inboun`, expected `inbound` or `outbound`",
        ),
        (
            "when = { employes = { below = 200 } }",
            "when =",
            "unknown condition attribute `employes`; use one of all, any, not, motion",
        ),
        (
            "when = { employees = 200 }",
            "when =",
            "expected a range such as { below = 200 }",
        ),
        (
            "when = { employees = { under = 200 } }",
            "when =",
            "unknown bound `under`",
        ),
        ("when = { employees = {} }", "when =", "no bound"),
        (
            r#"when = { employees = { below = "200" } }"#,
            "when =",
            "invalid type: string \"200\", expected u32",
        ),
        (
            "when = { motion = 1 }",
            "when =",
            "expected a value, a list of values or { in = [...] }",
        ),
        (
            "when = { motion = [] }",
            "when =",
            "an empty list matches nothing",
        ),
        (
            r#"when = { motion = { of = ["inbound"] } }"#,
            "when =",
            "unknown key `of`",
        ),
        (
            r#"when = { country = "USA" }"#,
            "when =",
            "country \"USA\" is not an ISO 3166-1 alpha-2 code",
        ),
        (
            r#"when = { lane = "lunch" }"#,
            "when =",
            "unknown variant `lunch`",
        ),
        (
            "when = { lane = 3 }",
            "when =",
            "expected true, false, a lane, a list of lanes or { in = [...] }",
        ),
        (
            "when = { any = [] }",
            "when =",
            "an empty list of conditions",
        ),
        (
            r#"when = { not = "inbound" }"#,
            "when =",
            "expected a condition table",
        ),
        (
            r#"when = { existing_customer = "yes" }"#,
            "when =",
            "expected a boolean",
        ),
        ("when = { form = {} }", "when =", "name at least one field"),
        (
            r#"when = { form = "webinar" }"#,
            "when =",
            "a table of form fields and their values",
        ),
        (
            "[routing.when]\nmotion = \"inbound\"\nsegment = \"large\"",
            "segment = \"large\"",
            "unknown variant `large`, expected one of `smb`, `mid_market`, `enterprise`",
        ),
        (
            "[routing.when]\nall = [{ trigger = \"demo_request\" }, { channel = \"fax\" }]",
            "all = [",
            "unknown variant `fax`",
        ),
    ];
    for (when, line_with, says) in cases {
        let (text, result) = with_rule(&rule(when));
        match result {
            Err(RulesError::Parse {
                file,
                line,
                message,
                ..
            }) => {
                assert_eq!(file, "f.toml");
                assert_eq!(line, line_containing(&text, line_with), "{when}: {message}");
                assert!(message.contains(says), "{when}: {message}");
            }
            other => panic!("{when}: {other:?}"),
        }
    }
}

#[test]
fn a_when_sub_table_reads_like_an_inline_one() {
    let (_, inline) = with_rule(
        "[[routing]]\nname = \"probe\"\nrole = \"sdr\"\nwhen = { employees = { below = 50 }, country = \"us\" }",
    );
    let (_, table) = with_rule(
        "[[routing]]\nname = \"probe\"\nrole = \"sdr\"\n[routing.when]\nemployees = { below = 50 }\ncountry = \"us\"",
    );
    let (inline, table) = (inline.unwrap(), table.unwrap());
    assert_eq!(inline.routing[0], table.routing[0]);
    assert_eq!(
        inline.routing[0]
            .when
            .as_ref()
            .map(Condition::describe)
            .as_deref(),
        Some("country US; employees below 50")
    );
}
