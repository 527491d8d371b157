//! Table-driven tests of the routing lint on a small two-territory roster.

use super::samples::trigger_motions;
use super::*;
use crate::classify::{classify, MatchContext};
use crate::event::IntakeEvent;
use crate::routing::testing::example_rules;

/// Two territories (amer is the default), an SDR and an AE team in each, a failover-only lead.
const ROSTER: &str = r#"
[org]
name = "Lint"

[[territories]]
id = "emea"
countries = ["DE", "FR"]

[[territories]]
id = "amer"
countries = ["US", "CA"]
default = true

[[teams]]
id = "emea-sdr"
name = "EMEA SDRs"
role = "sdr"
territory = "emea"

[[teams]]
id = "amer-ae"
name = "AMER AEs"
role = "ae"
territory = "amer"
lead = "boss"

[[teams]]
id = "managers"
name = "Managers"
role = "ae"

[[reps]]
id = "jo"
name = "Jo"
email = "jo@x.example"
team = "emea-sdr"
timezone = "Europe/Berlin"
notify = "crm_task"

[[reps]]
id = "sam"
name = "Sam"
email = "sam@x.example"
team = "amer-ae"
timezone = "America/New_York"
notify = "crm_task"

[[reps]]
id = "boss"
name = "Boss"
email = "boss@x.example"
team = "managers"
timezone = "America/New_York"
notify = "crm_task"
failover_only = true

[[pools]]
id = "ae-pool"
name = "AE pool"
reps = ["sam"]

[sla]
human_decision_minutes = 60
reroute_minutes = 30
[sla.inbound]
hot = 30
standard = 120
[sla.outbound]
hot = 60
standard = 240

[failover]
max_reps = 1
shared_queue = "queue"
shared_queue_notify = "crm_task"
"#;

/// The roster with these `[[routing]]` rules (`name`, then the rest of the block).
fn rules_with(rules: &[(&str, &str)]) -> Rules {
    let mut text = ROSTER.to_string();
    for (name, body) in rules {
        text.push_str(&format!("\n[[routing]]\nname = {name:?}\n{body}\n"));
    }
    Rules::from_toml("lint.toml", &text).unwrap_or_else(|e| panic!("{e}"))
}

/// (rule number from 1, kind) of every finding.
fn findings(rules: &Rules) -> Vec<(usize, WarningKind)> {
    lint(rules).iter().map(|w| (w.rule + 1, w.kind)).collect()
}

use WarningKind::{EmptyTarget, NeverMatches, NotChecked, Shadowed};

#[test]
fn rules_that_never_match_are_shadowed_or_send_to_nobody_are_found() {
    type Case<'a> = (
        &'a str,
        &'a [(&'a str, &'a str)],
        &'a [(usize, WarningKind)],
    );
    let cases: &[Case<'_>] = &[
        (
            "a clean split by size",
            &[
                ("small", "role = \"sdr\"\nwhen = { employees = { below = 200 } }"),
                ("the rest", "role = \"ae\""),
            ],
            &[],
        ),
        (
            "contradictory range",
            &[
                ("never", "role = \"sdr\"\nwhen = { employees = { at_least = 500, below = 200 } }"),
                ("the rest", "role = \"ae\""),
            ],
            &[(1, NeverMatches)],
        ),
        (
            "inbound with a reply class",
            &[("never", "motion = \"inbound\"\nrole = \"sdr\"\nwhen = { reply_class = \"positive\" }")],
            &[(1, NeverMatches)],
        ),
        (
            "a trigger of the other motion",
            &[("never", "motion = \"inbound\"\ntriggers = [\"positive_reply\", \"referral\"]\nrole = \"sdr\"")],
            &[(1, NeverMatches)],
        ),
        (
            "a trigger of both motions is fine",
            &[("pricing", "motion = \"outbound\"\ntriggers = [\"pricing_request\"]\nrole = \"ae\"")],
            &[],
        ),
        (
            "all of two motions",
            &[("never", "role = \"sdr\"\nwhen = { all = [{ motion = \"inbound\" }, { motion = \"outbound\" }] }")],
            &[(1, NeverMatches)],
        ),
        (
            "a strategic inbound account",
            &[("never", "motion = \"inbound\"\nrole = \"ae\"\nwhen = { strategic_account = true }")],
            &[(1, NeverMatches)],
        ),
        (
            "form fields on an outbound reply",
            &[("never", "role = \"ae\"\nwhen = { motion = \"outbound\", form = { utm_campaign = \"x\" } }")],
            &[(1, NeverMatches)],
        ),
        (
            "a flag and its negation",
            &[("never", "flags = [\"existing_customer\"]\nrole = \"ae\"\nwhen = { existing_customer = false }")],
            &[(1, NeverMatches)],
        ),
        (
            "a narrower range after a wider one",
            &[
                ("small", "role = \"sdr\"\nwhen = { employees = { below = 500 } }"),
                ("tiny", "role = \"ae\"\nwhen = { employees = { below = 100 } }"),
            ],
            &[(2, Shadowed)],
        ),
        (
            "a wider range after a narrower one",
            &[
                ("tiny", "role = \"sdr\"\nwhen = { employees = { below = 100 } }"),
                ("small", "role = \"ae\"\nwhen = { employees = { below = 500 } }"),
            ],
            &[],
        ),
        (
            "shadowed by two rules together",
            &[
                ("inbound", "motion = \"inbound\"\nrole = \"sdr\""),
                ("outbound", "motion = \"outbound\"\nrole = \"ae\""),
                ("the rest", "team = \"emea-sdr\""),
            ],
            &[(3, Shadowed)],
        ),
        (
            "a country inside an earlier territory",
            &[
                ("amer", "role = \"ae\"\nwhen = { territory = \"amer\" }"),
                ("us", "role = \"sdr\"\nwhen = { country = \"us\" }"),
            ],
            &[(2, Shadowed)],
        ),
        (
            "an unlisted country lands in the default territory",
            &[
                ("amer", "role = \"ae\"\nwhen = { territory = \"amer\" }"),
                ("japan", "role = \"sdr\"\nwhen = { country = \"JP\" }"),
            ],
            &[(2, Shadowed)],
        ),
        (
            "no country is the default territory too",
            &[
                ("amer", "role = \"ae\"\nwhen = { territory = \"amer\" }"),
                ("no emea", "role = \"sdr\"\nwhen = { not = { territory = \"emea\" } }"),
            ],
            &[(2, Shadowed)],
        ),
        (
            "a country of the other territory",
            &[
                ("amer", "role = \"ae\"\nwhen = { territory = \"amer\" }"),
                ("france", "role = \"sdr\"\nwhen = { country = \"fr\" }"),
            ],
            &[],
        ),
        (
            "employees inside an earlier segment",
            &[
                ("smb", "role = \"sdr\"\nwhen = { segment = \"smb\" }"),
                ("tiny", "role = \"ae\"\nwhen = { employees = { at_most = 200 } }"),
            ],
            &[(2, Shadowed)],
        ),
        (
            "employees across a segment bound",
            &[
                ("smb", "role = \"sdr\"\nwhen = { segment = \"smb\" }"),
                ("small", "role = \"ae\"\nwhen = { employees = { at_most = 201 } }"),
            ],
            &[],
        ),
        (
            "a lane list after any lane",
            &[
                ("human", "human_decision = true\nrole = \"ae\""),
                ("pricing", "role = \"sdr\"\nwhen = { lane = \"pricing\" }"),
            ],
            &[(2, Shadowed)],
        ),
        (
            "form values: wider after narrower is fine, narrower after wider is shadowed",
            &[
                ("webinar", "role = \"ae\"\nwhen = { form = { utm_campaign = \"webinar\" } }"),
                ("campaigns", "role = \"sdr\"\nwhen = { form = { utm_campaign = [\"WEBINAR\", \"launch\"] } }"),
                ("launch", "team = \"emea-sdr\"\nwhen = { form = { utm_campaign = \"launch\" } }"),
            ],
            &[(3, Shadowed)],
        ),
        (
            "a configured customer account has no flag",
            &[
                ("flag", "flags = [\"existing_customer\"]\nrole = \"ae\""),
                ("customer", "role = \"sdr\"\nwhen = { existing_customer = true }"),
            ],
            &[],
        ),
        (
            "the flag implies a customer",
            &[
                ("customer", "role = \"sdr\"\nwhen = { existing_customer = true }"),
                ("flag", "flags = [\"existing_customer\"]\nrole = \"ae\""),
            ],
            &[(2, Shadowed)],
        ),
        (
            "a team of only a failover-only rep",
            &[("managers", "team = \"managers\"")],
            &[(1, EmptyTarget)],
        ),
        (
            "a pool and a role with reps",
            &[
                ("pool", "pool = \"ae-pool\"\nwhen = { seats = { at_least = 10 } }"),
                ("role", "role = \"sdr\""),
            ],
            &[],
        ),
        (
            "too many combinations to check",
            &[(
                "fields",
                "role = \"sdr\"\nwhen = { form = { a = [\"1\", \"2\"], b = [\"1\", \"2\"], c = [\"1\", \"2\"], d = [\"1\", \"2\"], e = [\"1\", \"2\"], f = [\"1\", \"2\"], g = [\"1\", \"2\"], h = [\"1\", \"2\"], i = [\"1\", \"2\"] } }",
            )],
            &[(1, NotChecked)],
        ),
    ];
    for (name, routing, expected) in cases {
        let rules = rules_with(routing);
        assert_eq!(findings(&rules), *expected, "{name}: {:#?}", lint(&rules));
    }
}

#[test]
fn warnings_name_the_rule_and_why() {
    let rules = rules_with(&[
        ("inbound", "motion = \"inbound\"\nrole = \"sdr\""),
        ("outbound", "motion = \"outbound\"\nrole = \"ae\""),
        ("the rest", "team = \"managers\""),
        (
            "never",
            "role = \"sdr\"\nwhen = { employees = { at_least = 500, below = 200 } }",
        ),
    ]);
    let messages: Vec<String> = lint(&rules).into_iter().map(|w| w.message).collect();
    assert_eq!(
        messages,
        [
            "rule 3 \"the rest\" sends to team Managers, which has no active rep that is not failover-only: its handoffs go straight to the failover chain",
            "rule 3 \"the rest\" is shadowed: every handoff it matches is taken first by rule 1 \"inbound\" and rule 2 \"outbound\"",
            "rule 4 \"never\" can never match: no handoff meets its conditions (employees at least 500 and below 200)",
        ]
    );
}

#[test]
fn the_shipped_example_is_clean() {
    let rules = example_rules();
    assert_eq!(lint(&rules), Vec::new());
}

#[test]
fn the_trigger_motions_agree_with_classification() {
    let rules = example_rules();
    for (name, json) in [
        (
            "01",
            include_str!("../../../../../examples/events/01-form-demo-request.json"),
        ),
        (
            "02",
            include_str!("../../../../../examples/events/02-ai-qualified-lead.json"),
        ),
        (
            "03",
            include_str!("../../../../../examples/events/03-positive-reply.json"),
        ),
        (
            "04",
            include_str!("../../../../../examples/events/04-pricing-and-soc2.json"),
        ),
        (
            "05",
            include_str!("../../../../../examples/events/05-angry-objection.json"),
        ),
        (
            "06",
            include_str!("../../../../../examples/events/06-out-of-office.json"),
        ),
        (
            "07",
            include_str!("../../../../../examples/events/07-referral.json"),
        ),
        (
            "08",
            include_str!("../../../../../examples/events/08-enterprise-security.json"),
        ),
        (
            "09",
            include_str!("../../../../../examples/events/09-channel-switch-form.json"),
        ),
        (
            "10",
            include_str!("../../../../../examples/events/10-meeting-booked.json"),
        ),
        (
            "11",
            include_str!("../../../../../examples/events/11-meeting-no-show.json"),
        ),
        (
            "12",
            include_str!("../../../../../examples/events/12-unsubscribe.json"),
        ),
        (
            "13",
            include_str!("../../../../../examples/events/13-ambiguous-chat-lead.json"),
        ),
    ] {
        let event: IntakeEvent = serde_json::from_str(json).expect(name);
        let c = classify(&event, &MatchContext::default(), &rules);
        assert!(
            trigger_motions(c.trigger).contains(&c.motion),
            "{name}: {} with {}",
            c.trigger,
            c.motion
        );
        assert_eq!(
            c.reply_class.is_some(),
            c.motion == crate::package::Motion::Outbound,
            "{name}"
        );
    }
}
