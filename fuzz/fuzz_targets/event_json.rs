//! `event_json`: the body of `POST /v1/events` and `POST /v1/threads` as raw bytes, without the
//! signature layer the `agent` target spends its input on. The bytes are parsed the way the
//! agent API parses them (the `agent` provider's `parse`; `OutboundThread` for threads); every
//! event accepted is then taken through what the pipeline does with it (`pipeline`): the stored
//! record must read back equal, and classification, routing and rendering under the example
//! rules must not panic. A thread must read back equal and its keys normalise.
#![no_main]

mod pipeline;

use handoff_connectors::{registry, RawRequest};
use handoff_domain::ports::{thread_key, OutboundThread};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let agent = registry::by_name("agent").expect("the agent provider is registered");
    let request = RawRequest {
        method: "POST".to_string(),
        url: "https://fuzz.handoff.example/v1/events".to_string(),
        headers: vec![("content-type".to_string(), "application/json".to_string())],
        body: data.to_vec(),
    };
    if let Ok(parsed) = agent.parse(&request, pipeline::now()) {
        for event in parsed.events {
            pipeline::assert_round_trip("the event", &event);
            let record = pipeline::stored_record(event);
            pipeline::classify_route_render(pipeline::example_rules(), record);
        }
    }
    if let Ok(thread) = serde_json::from_slice::<OutboundThread>(data) {
        pipeline::assert_round_trip("the thread", &thread);
        for key in &thread.keys {
            std::hint::black_box(thread_key(key));
        }
    }
});
