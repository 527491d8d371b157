//! `sendgrid`: the provider's `verify` (fixed secret and clock) and `parse` on a request carved from
//! the input (content type, signature-like headers, body; layout in `common`). Must not panic.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::run("sendgrid", data));
