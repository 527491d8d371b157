//! `signature_header`: `handoff_connectors::signature::TimestampedSignature::parse` on an
//! arbitrary header value (lossy UTF-8); a parsed header is also checked against a body. Must
//! not panic.
#![no_main]

use handoff_connectors::signature::TimestampedSignature;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let header = String::from_utf8_lossy(data);
    if let Some(sig) = TimestampedSignature::parse(&header) {
        std::hint::black_box(sig.matches(b"fuzz-secret", b"{}"));
    }
});
