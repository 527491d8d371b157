//! `rules_toml`: a rules document (the input as lossy UTF-8) through everything that reads one:
//! `Rules::from_toml` (a refusal is rendered, so its line and column lookups run too), then on
//! a valid document what `handoff rules check` prints (the routing lint with each finding's
//! line, the cloud problems and notes, each rule's condition and target) and what the pipeline
//! does under those rules: classify, route (first assignment, failover, re-qualification) and
//! render a few example events (`pipeline`). Nothing may panic; `rules push` and every stage
//! run these rules, so a panic here is a pipeline that cannot run.
#![no_main]

mod pipeline;

use handoff_domain::config::{entry_line, Rules};
use handoff_domain::lifecycle::HandoffRecord;
use handoff_domain::routing::condition::rule_condition;
use handoff_domain::routing::lint::lint;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let rules = match Rules::from_toml("fuzz.toml", &text) {
        Ok(rules) => rules,
        Err(e) => {
            std::hint::black_box(e.to_string());
            return;
        }
    };
    for warning in lint(&rules) {
        std::hint::black_box(entry_line(&text, "routing", warning.rule, None));
        std::hint::black_box(&warning.message);
    }
    std::hint::black_box(rules.cloud_problems());
    std::hint::black_box(rules.cloud_notes());
    for rule in &rules.routing {
        std::hint::black_box(rule_condition(rule));
        if let Some(target) = rule.target() {
            std::hint::black_box(rules.target_reps(target));
            std::hint::black_box(rules.target_text(target));
        }
    }
    for event in pipeline::example_events() {
        let (record, _) = HandoffRecord::received(event.clone(), pipeline::now());
        pipeline::classify_route_render(&rules, record);
    }
});
