//! `quote_strip`: `handoff_domain::event::strip_quoted_history` on arbitrary UTF-8 (the input
//! read as lossy UTF-8, so every input counts). Must not panic.
#![no_main]

use handoff_domain::event::strip_quoted_history;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    std::hint::black_box(strip_quoted_history(&text));
});
