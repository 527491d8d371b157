//! `handoff simulate` (the real binary and its library functions) on a data directory filled by
//! the real pipeline under the embedded rules:
//! - the replay under the same rules reproduces every recorded first owner (no drift);
//! - new rules that take a rep off the roster, lengthen the hot inbound SLA and add a rule
//!   nothing reaches move that rep's handoffs, every hot deadline and report the rule;
//! - the JSON and the page say the same; `--handoff` shows both traces;
//! - nothing is written: the replay runs on a store that panics on any write, and the binary
//!   leaves every record and timeline as it was.

mod support;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use handoff_cli::runtime::RulesChoice;
use handoff_cli::simulate_cmd::{simulate_handoff, simulate_period};
use handoff_domain::config::Rules;
use handoff_domain::event::IntakeEvent;
use handoff_domain::ids::{CompanyDomain, EmailAddress, HandoffId, ProviderEventId, RepId};
use handoff_domain::lifecycle::{HandoffRecord, TimelineEntry};
use handoff_domain::ports::{
    Assignment, AvailabilityOverride, CreateOutcome, DuePage, HandoffStore, HandoffSummary,
    ManualClock, StoreError,
};
use handoff_domain::privacy::Erasure;
use handoff_domain::routing::FairnessCounters;
use handoff_domain::simulate::Period;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

const FORM: &str = include_str!("../../examples/events/01-form-demo-request.json");
const QUALIFIED: &str = include_str!("../../examples/events/02-ai-qualified-lead.json");
const EXAMPLE_RULES: &str = include_str!("../../examples/handoff.toml");

/// A store that reads through to `inner` and panics on any write.
struct ReadOnly(Arc<dyn HandoffStore>);

fn wrote(what: &str) -> ! {
    panic!("the simulation wrote to the store: {what}")
}

#[async_trait]
impl HandoffStore for ReadOnly {
    async fn create(
        &self,
        _: &HandoffRecord,
        _: &TimelineEntry,
    ) -> Result<CreateOutcome, StoreError> {
        wrote("create")
    }
    async fn get(&self, id: &HandoffId) -> Result<Option<HandoffRecord>, StoreError> {
        self.0.get(id).await
    }
    async fn update(&self, _: &HandoffRecord, _: &TimelineEntry) -> Result<(), StoreError> {
        wrote("update")
    }
    async fn timeline(&self, id: &HandoffId) -> Result<Vec<TimelineEntry>, StoreError> {
        self.0.timeline(id).await
    }
    async fn due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<DuePage, StoreError> {
        self.0.due(now, limit, cursor).await
    }
    async fn by_contact(
        &self,
        email: &EmailAddress,
        limit: usize,
    ) -> Result<Vec<HandoffSummary>, StoreError> {
        self.0.by_contact(email, limit).await
    }
    async fn by_domain(
        &self,
        domain: &CompanyDomain,
        limit: usize,
    ) -> Result<Vec<HandoffSummary>, StoreError> {
        self.0.by_domain(domain, limit).await
    }
    async fn created_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<HandoffRecord>, StoreError> {
        self.0.created_between(from, to).await
    }
    async fn account_owner(&self, domain: &CompanyDomain) -> Result<Option<RepId>, StoreError> {
        self.0.account_owner(domain).await
    }
    async fn set_account_owner(&self, _: &CompanyDomain, _: &RepId) -> Result<(), StoreError> {
        wrote("set_account_owner")
    }
    async fn rep_load(&self, rep: &RepId, day: NaiveDate) -> Result<u32, StoreError> {
        self.0.rep_load(rep, day).await
    }
    async fn rep_loads(&self, wanted: &[(RepId, NaiveDate)]) -> Result<Vec<u32>, StoreError> {
        self.0.rep_loads(wanted).await
    }
    async fn add_rep_load(&self, _: &RepId, _: NaiveDate) -> Result<u32, StoreError> {
        wrote("add_rep_load")
    }
    async fn fairness(&self, reps: &[RepId]) -> Result<Vec<FairnessCounters>, StoreError> {
        self.0.fairness(reps).await
    }
    async fn record_assignment(&self, _: &Assignment) -> Result<Option<u32>, StoreError> {
        wrote("record_assignment")
    }
    async fn next_counter(&self, _: &str) -> Result<u64, StoreError> {
        wrote("next_counter")
    }
    async fn availability(&self) -> Result<Vec<AvailabilityOverride>, StoreError> {
        self.0.availability().await
    }
    async fn set_availability(&self, _: &AvailabilityOverride) -> Result<(), StoreError> {
        wrote("set_availability")
    }
    async fn expires_at(&self, id: &HandoffId) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.0.expires_at(id).await
    }
    async fn erase_contact(&self, _: &EmailAddress) -> Result<Erasure, StoreError> {
        wrote("erase_contact")
    }
}

/// An example event with its own id, buyer and company (so no two join one handoff).
fn event(example: &str, n: usize) -> IntakeEvent {
    let mut e: IntakeEvent = serde_json::from_str(example).unwrap();
    e.provider_event_id = ProviderEventId::parse(format!("simulate-{n}")).unwrap();
    let buyer = e.kind.buyer_mut();
    buyer.email = EmailAddress::parse(format!("buyer{n}@firm{n}.de")).unwrap();
    buyer.name = Some(format!("Buyer Number{n}"));
    e
}

fn handoff(args: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_handoff"))
        .args(args)
        .output()
        .expect("run handoff");
    assert!(
        out.status.success(),
        "handoff {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The example rules with `rep` off the roster, the hot inbound SLA at 45 minutes and a rule
/// no handoff reaches (every outbound reply is taken by the rule before it).
fn new_rules(rep: &str) -> String {
    let id_line = format!("id = \"{rep}\"\n");
    assert!(EXAMPLE_RULES.contains(&id_line));
    EXAMPLE_RULES
        .replacen(&id_line, &format!("{id_line}active = false\n"), 1)
        .replacen("[sla.inbound]\nhot = 30\n", "[sla.inbound]\nhot = 45\n", 1)
        .replacen(
            "\n[sla]\n",
            "\n[[routing]]\nname = \"a rule nothing reaches\"\nmotion = \"outbound\"\nrole = \"ae\"\n\n[sla]\n",
            1,
        )
}

/// Every record with its version and timeline length.
async fn snapshot(store: &dyn HandoffStore, ids: &[HandoffId]) -> Vec<(u64, usize)> {
    let mut out = Vec::new();
    for id in ids {
        let record = store.get(id).await.unwrap().unwrap();
        out.push((record.version, store.timeline(id).await.unwrap().len()));
    }
    out
}

/// The text of `data-figure="key"` on the page.
fn figure<'a>(html: &'a str, key: &str) -> &'a str {
    let marker = format!("data-figure=\"{key}\">");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {key} in the page"))
        + marker.len();
    &html[start..start + html[start..].find('<').unwrap()]
}

fn assert_prose(text: &str) {
    for bad in ["{", "}", "Some(", "None", "_"] {
        // Handoff ids (h_…) are the one place an underscore belongs.
        let hits = text
            .split_whitespace()
            .filter(|w| {
                w.contains(bad)
                    && !w
                        .trim_matches(|c: char| !c.is_alphanumeric() && c != '_')
                        .starts_with("h_")
            })
            .collect::<Vec<_>>();
        assert!(hits.is_empty(), "{bad} in the output: {hits:?}\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rules_change_is_replayed_on_recorded_handoffs_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_string();
    // Two hours ago, so that `--since 1d` (wall clock) covers the handoffs.
    let clock = Arc::new(ManualClock::new(Utc::now() - chrono::Duration::hours(2)));
    let pipeline = support::open(dir.path(), clock.clone()).await;
    let store = pipeline.services.store.clone();
    let mut ids = Vec::new();
    for (n, example) in [FORM, FORM, FORM, QUALIFIED, FORM, QUALIFIED]
        .iter()
        .enumerate()
    {
        ids.push(
            pipeline
                .services
                .intake(event(example, n))
                .await
                .unwrap()
                .handoff_id,
        );
        clock.advance(chrono::Duration::minutes(3));
    }
    pipeline.drain().await.unwrap();
    let mut owners = Vec::new();
    for id in &ids {
        let record = store.get(id).await.unwrap().unwrap();
        owners.push(
            record
                .owner
                .and_then(|o| o.rep)
                .expect("a rep owns each handoff"),
        );
    }
    let gone = owners[0].clone();
    let moved_away = owners.iter().filter(|o| **o == gone).count();
    let rules_path = dir.path().join("new.toml");
    std::fs::write(&rules_path, new_rules(gone.as_str())).unwrap();
    let current = RulesChoice::Embedded.load().unwrap();
    let proposed = Rules::from_toml("new.toml", &new_rules(gone.as_str())).unwrap();

    // The library on a store that panics on any write.
    let read_only = ReadOnly(store.clone());
    let now = Utc::now();
    let period = Period {
        from: now - chrono::Duration::days(1),
        to: now,
    };
    let sim = simulate_period(&read_only, &current, &proposed, period)
        .await
        .unwrap();
    assert_eq!(sim.replayed, ids.len());
    assert!(
        sim.drift.is_empty(),
        "the replay differs from the pipeline: {:?}",
        sim.drift
    );
    let one = simulate_handoff(
        &read_only,
        &current,
        &proposed,
        &ids[0],
        chrono::Duration::days(1),
    )
    .await
    .unwrap();
    assert_eq!(one.before.owner.rep.as_ref(), Some(&gone));
    assert_ne!(one.after.owner.rep.as_ref(), Some(&gone));
    let before = snapshot(store.as_ref(), &ids).await;
    drop(pipeline);

    // The binary: prose on stdout, JSON and HTML files.
    let json_path = dir.path().join("diff.json");
    let html_path = dir.path().join("diff.html");
    let rules_arg = rules_path.to_str().unwrap();
    let (out, _) = handoff(&[
        "simulate",
        "--rules",
        rules_arg,
        "--since",
        "1d",
        "--data",
        &data,
        "--json",
        json_path.to_str().unwrap(),
        "--html",
        html_path.to_str().unwrap(),
    ]);
    assert!(out.starts_with("What if the rules were "), "{out}");
    assert!(out.contains("Nothing was written."), "{out}");
    assert!(out.contains("“a rule nothing reaches”"), "{out}");
    assert!(
        out.contains(" → not active"),
        "the removed rep's cap: {out}"
    );
    assert_prose(&out);

    let json: Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(json["replayed"], ids.len());
    assert_eq!(json["drift"].as_array().map(Vec::len), Some(0), "{json}");
    // Every handoff the removed rep had moves, and nothing else does.
    assert_eq!(json["owner_changes"], moved_away, "{json}");
    let moves = json["moves"].as_array().unwrap();
    assert!(
        moves.iter().all(|m| m["from"]["rep"] == gone.as_str()),
        "{json}"
    );
    let load = json["loads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rep"] == gone.as_str())
        .unwrap();
    assert_eq!(load["total_before"], moved_away);
    assert_eq!(load["total_after"], 0);
    // Every hot inbound deadline moves from 30 to 45 business minutes.
    let hot = json["handoffs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["before"]["sla"]["policy"] == "inbound/hot")
        .count();
    assert!(hot > 0, "{json}");
    let sla_moves = json["sla_moves"].as_array().unwrap();
    assert_eq!(sla_moves.len(), hot, "{json}");
    for m in sla_moves {
        assert_eq!(
            (
                m["before"]["business_minutes"].as_u64(),
                m["after"]["business_minutes"].as_u64()
            ),
            (Some(30), Some(45))
        );
        assert!(m["shift_minutes"].as_i64().unwrap() >= 15, "{m}");
    }
    assert!(json["never_matched"]
        .as_array()
        .unwrap()
        .contains(&Value::from("a rule nothing reaches")));

    // The page says what the JSON says.
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("<script"));
    for key in ["replayed", "owner_changes"] {
        assert_eq!(figure(&html, key), json[key].to_string(), "{key}");
    }
    assert_eq!(figure(&html, "sla_moves"), sla_moves.len().to_string());
    assert_eq!(
        figure(&html, "never_matched"),
        json["never_matched"].as_array().unwrap().len().to_string()
    );
    assert_eq!(figure(&html, "drift"), "0");
    assert_eq!(
        figure(&html, "in_a_queue"),
        format!(
            "{} → {}",
            json["in_a_queue"]["before"], json["in_a_queue"]["after"]
        )
    );
    assert_eq!(html.matches("data-move=\"\"").count(), moves.len());
    for m in moves {
        let row = format!(
            "<td>{}</td><td>{}</td><td class=\"num\">{}</td>",
            m["from"]["display"].as_str().unwrap(),
            m["to"]["display"].as_str().unwrap(),
            m["handoffs"]
        );
        assert!(html.contains(&row), "{row}");
    }
    let rep_row = format!("data-rep=\"{gone}\"");
    assert!(html.contains(&rep_row));
    assert!(html.contains("<svg"));

    // One handoff: both traces, layer by layer.
    let one_json = dir.path().join("one.json");
    let one_html = dir.path().join("one.html");
    let (out, _) = handoff(&[
        "simulate",
        "--rules",
        rules_arg,
        "--handoff",
        ids[0].as_str(),
        "--since",
        "1d",
        "--data",
        &data,
        "--json",
        one_json.to_str().unwrap(),
        "--html",
        one_html.to_str().unwrap(),
    ]);
    assert!(out.starts_with(&format!("Handoff {}: ", ids[0])), "{out}");
    assert!(out.contains("The owner changes."), "{out}");
    assert!(
        out.contains("    current: ") && out.contains("    new:     "),
        "{out}"
    );
    assert!(out.contains("round robin"), "{out}");
    assert_prose(&out);
    let one: Value = serde_json::from_str(&std::fs::read_to_string(&one_json).unwrap()).unwrap();
    assert_eq!(one["before"]["owner"]["rep"], gone.as_str());
    let page = std::fs::read_to_string(&one_html).unwrap();
    assert!(page.contains("class=\"side-by-side\""));
    assert!(page.contains(one["after"]["owner"]["display"].as_str().unwrap()));

    // Nothing written by the binary either.
    let reopened =
        handoff_local::SqliteStore::open(Path::new(&data).join("handoff.sqlite")).unwrap();
    assert_eq!(snapshot(&reopened, &ids).await, before);
}

#[test]
fn a_missing_store_or_a_bad_period_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("new.toml");
    std::fs::write(&rules, EXAMPLE_RULES).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_handoff"))
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&[
        "simulate",
        "--rules",
        rules.to_str().unwrap(),
        "--data",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no local store in"));
    let out = run(&[
        "simulate",
        "--rules",
        rules.to_str().unwrap(),
        "--since",
        "7 days",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a period"));
}
