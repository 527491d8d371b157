//! What the tests that start the real `handoff serve` share: reading the address it prints.
//! Included with `#[path = "support/serve.rs"] mod serve;` so tests that need only this do not
//! pull in the pipeline helpers of `support/mod.rs`.

use std::io::{BufRead, BufReader};
use std::process::Child;

/// Reads the server's first stdout line ("listening on http://127.0.0.1:PORT …") and returns
/// the base URL; panics with the line when it holds no address.
pub fn listening_base(child: &mut Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read the listening line");
    line.split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string()
}
