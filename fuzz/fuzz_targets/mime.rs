//! `mime`: `email::mime::parse_message` on an arbitrary message (headers, blank line, body),
//! plus the decoders it relies on (quoted-printable, lenient base64, charsets, HTML to text) on
//! the same bytes. Must not panic.
#![no_main]

use handoff_connectors::email::mime;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let message = mime::parse_message(data);
    std::hint::black_box(&message);
    std::hint::black_box(mime::decode_quoted_printable(data));
    std::hint::black_box(mime::decode_base64_lenient(data));
    let charset = match data.first().map(|b| b % 5) {
        Some(0) => "utf-8",
        Some(1) => "us-ascii",
        Some(2) => "iso-8859-1",
        Some(3) => "windows-1252",
        _ => "x-unknown",
    };
    let text = mime::decode_charset(data, charset);
    std::hint::black_box(mime::html_to_text(&text));
});
