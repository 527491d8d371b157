//! `multipart`: `email::multipart::split` and `parse_form_data` on arbitrary bytes. The first
//! line of the input is the boundary (as a `boundary=` parameter would give it, quotes and all),
//! the rest the body. Every part's headers and text are read too. Must not panic.
#![no_main]

use handoff_connectors::email::multipart;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (boundary, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let boundary = String::from_utf8_lossy(boundary);
    if let Ok(parts) = multipart::split(body, &boundary) {
        for part in &parts {
            let headers = part.headers();
            std::hint::black_box(headers.get("content-type"));
        }
    }
    if let Ok(parts) = multipart::parse_form_data(body, &boundary) {
        for part in &parts {
            std::hint::black_box((part.text(), part.is_file()));
        }
    }
});
