//! Whether the AWS emulator is there: the tests that need it call [`endpoint`] first.

/// The emulator's endpoint (`AWS_ENDPOINT_URL`, set by `eval "$(scripts/emulator.sh start)"`,
/// which `scripts/test.sh` does). Unset: `None` after a notice on a developer machine, and a
/// failure under `CI=true`, where a missing emulator must never turn into a skipped test.
pub fn endpoint() -> Option<String> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    if endpoint.trim().is_empty() {
        let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
        assert!(
            !ci,
            "AWS_ENDPOINT_URL is not set: the AWS tests need the emulator \
             (run `eval \"$(scripts/emulator.sh start)\"` before `cargo test`; scripts/test.sh does)"
        );
        eprintln!("notice: AWS_ENDPOINT_URL is not set; skipping this emulator test (run `eval \"$(scripts/emulator.sh start)\"`)");
        return None;
    }
    Some(endpoint)
}

/// [`endpoint`], and the emulator's dummy credentials and region put into this process's
/// environment (once, where unset, before any SDK call reads it). The library never invents
/// credentials; tests against the emulator set them here.
pub fn with_test_credentials() -> Option<String> {
    static ENV: std::sync::Once = std::sync::Once::new();
    let endpoint = endpoint()?;
    ENV.call_once(|| {
        for (k, v) in [
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ] {
            if std::env::var_os(k).is_none() {
                std::env::set_var(k, v);
            }
        }
    });
    Some(endpoint)
}
