//! Shared by the provider targets: turns the fuzzer's bytes into a [`RawRequest`] for one
//! provider, then runs that provider's `verify` (with a fixed secret and a fixed clock) and
//! `parse`. Neither may panic, whatever the input.
//!
//! Input layout (the seed builder in `scripts/fuzz.sh` writes the same layout):
//!
//! ```text
//! byte 0      content-type choice (index into `content_types`, modulo its length)
//! byte 1      flags (see the `F_*` constants)
//! line 0      content-type material: the boundary, or the whole value for the "raw" choice
//! line 1..=3  header values for the provider's header slots (`header_slots`)
//! rest        the body
//! ```
//!
//! Lines end at `\n` (a header value cannot hold one, as in HTTP); each is cut at
//! [`MAX_LINE`] bytes and read as lossy UTF-8. Missing lines are empty and leave an empty body.

use chrono::{DateTime, Utc};
use handoff_connectors::{registry, RawRequest, Secrets};

/// The configured secrets: an HMAC key and a Basic `user:password`, as during a rotation.
pub const SECRETS: &str = "fuzz-secret,user:password";
/// The fixed clock (2023-11-14T22:13:20Z); seeds sign with this timestamp.
pub const NOW_SECS: i64 = 1_700_000_000;
/// The URL every request is posted to (HubSpot signs it).
pub const URL: &str = "https://fuzz.handoff.example/hook?x=1";
/// The longest carved header value.
pub const MAX_LINE: usize = 1024;
/// How many header slots follow the content-type line.
pub const SLOTS: usize = 3;

/// Send a `content-type` header at all.
pub const F_CONTENT_TYPE: u8 = 1 << 0;
/// Send header slot 1 / 2 / 3 (bits 1, 2, 3).
pub const F_SLOT_1: u8 = 1 << 1;
/// Put an empty duplicate before every header sent (the first value wins in `header()`).
pub const F_DUPLICATE: u8 = 1 << 4;
/// Send header names in upper case (lookups are case-insensitive).
pub const F_UPPER: u8 = 1 << 5;
/// Use `GET` instead of `POST`.
pub const F_GET: u8 = 1 << 6;

/// The header names whose values the three slots carry, per provider.
fn header_slots(provider: &str) -> [&'static str; SLOTS] {
    match provider {
        "agent" => ["handoff-signature", "x-unused-1", "x-unused-2"],
        "typeform" => ["typeform-signature", "x-unused-1", "x-unused-2"],
        "tally" => ["tally-signature", "x-unused-1", "x-unused-2"],
        "hubspot" => [
            "x-hubspot-signature-v3",
            "x-hubspot-request-timestamp",
            "x-hubspot-signature",
        ],
        "postmark" | "sendgrid" => ["authorization", "x-unused-1", "x-unused-2"],
        // Mailgun signs body fields; the slots still carry headers it should ignore.
        "mailgun" => ["authorization", "x-mailgun-signature", "x-unused-2"],
        "calendly" => ["calendly-webhook-signature", "x-unused-1", "x-unused-2"],
        "calcom" => ["x-cal-signature-256", "x-unused-1", "x-unused-2"],
        other => panic!("fuzz target for an unknown provider {other}"),
    }
}

/// The content-type values to choose from: a fixed list (so seeds can name an index), then the
/// provider's own media types. `{}` is replaced by line 0.
fn content_types(media_types: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "application/json",                                    // 0
        "multipart/form-data; boundary={}",                    // 1
        "application/x-www-form-urlencoded",                   // 2
        "multipart/form-data; boundary=\"{}\"",                // 3
        "{}",                                                  // 4: raw
        "multipart/form-data",                                 // 5: no boundary
        "",                                                    // 6
        "application/json; charset=utf-8",                     // 7
        "text/plain",                                          // 8
        "MULTIPART/FORM-DATA; BOUNDARY={}",                    // 9
        "multipart/form-data; charset=utf-8; boundary={}; x=y", // 10
        "application/x-www-form-urlencoded; charset=utf-8",    // 11
        "multipart/mixed; boundary={}",                        // 12
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(media_types.iter().map(|s| s.to_string()));
    v
}

/// Takes one `\n`-terminated line off the front of `data`.
fn take_line(data: &mut &[u8]) -> String {
    let (line, rest) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (*data, &[][..]),
    };
    *data = rest;
    let line = &line[..line.len().min(MAX_LINE)];
    String::from_utf8_lossy(line).into_owned()
}

/// Builds the request for `provider` from the fuzz input.
pub fn request(provider: &str, media_types: &[&str], data: &[u8]) -> RawRequest {
    let (choice, flags, mut rest) = match data {
        [c, f, rest @ ..] => (*c, *f, rest),
        [c] => (*c, F_CONTENT_TYPE, &[][..]),
        [] => (0, F_CONTENT_TYPE, &[][..]),
    };
    let material = take_line(&mut rest);
    let values: Vec<String> = (0..SLOTS).map(|_| take_line(&mut rest)).collect();
    let types = content_types(media_types);
    let content_type = types[usize::from(choice) % types.len()].replace("{}", &material);

    let mut headers: Vec<(String, String)> = Vec::new();
    let mut push = |name: &str, value: String| {
        let name = if flags & F_UPPER != 0 {
            name.to_ascii_uppercase()
        } else {
            name.to_string()
        };
        if flags & F_DUPLICATE != 0 {
            headers.push((name.clone(), String::new()));
        }
        headers.push((name, value));
    };
    if flags & F_CONTENT_TYPE != 0 {
        push("content-type", content_type);
    }
    for (i, (name, value)) in header_slots(provider).iter().zip(values).enumerate() {
        if flags & (F_SLOT_1 << i) != 0 {
            push(name, value);
        }
    }
    RawRequest {
        method: if flags & F_GET != 0 { "GET" } else { "POST" }.to_string(),
        url: URL.to_string(),
        headers,
        body: rest.to_vec(),
    }
}

/// The whole target body: build the request, verify it, parse it.
pub fn run(provider_name: &str, data: &[u8]) {
    let provider = registry::by_name(provider_name).expect("provider is registered");
    let request = request(provider_name, provider.media_types(), data);
    let secrets = Secrets::parse(SECRETS).expect("fixed secrets parse");
    let now: DateTime<Utc> = DateTime::from_timestamp(NOW_SECS, 0).expect("fixed clock");
    let _ = provider.verify(&request, &secrets, now);
    let parsed = provider.parse(&request, now);
    std::hint::black_box(&parsed);
}
