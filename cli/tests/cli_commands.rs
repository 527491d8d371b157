//! The provider-facing commands as a user runs them: `handoff classify --source` on raw
//! provider payloads (no signature check, no side effects) and `handoff sign`'s refusals.

use serde_json::Value;
use std::process::Command;

fn fixture(name: &str) -> String {
    format!(
        "{}/../tests/fixtures/providers/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn handoff(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_handoff"))
        .args(args)
        .env_remove("HANDOFF_SECRET_TYPEFORM")
        .output()
        .expect("run handoff");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn classify_reads_raw_provider_payloads() {
    let sendgrid = fixture("sendgrid_inbound_parse_default_data.multipart.txt");
    let (ok, out, err) = handoff(&[
        "classify",
        "--source",
        "sendgrid",
        "--content-type",
        "multipart/form-data; boundary=xYzZY",
        &sendgrid,
    ]);
    assert!(ok, "{err}");
    let package: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(package["buyer"]["email"], "test@example.com", "{package}");
    assert_eq!(package["motion"], "outbound");
    assert!(package["trigger"].is_string());

    let calendly = fixture("calendly_invitee_created.json");
    let (ok, out, err) = handoff(&["classify", "--source", "calendly", &calendly]);
    assert!(ok, "{err}");
    let package: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(package["trigger"], "meeting_booked", "{package}");

    // HubSpot's Webhooks API only names contacts: classify says so instead of guessing.
    let hubspot = fixture("hubspot_webhooks_api_docs_example.json");
    let (ok, _, err) = handoff(&["classify", "--source", "hubspot", &hubspot]);
    assert!(!ok);
    assert!(err.contains("1246978"), "{err}");
}

#[test]
fn classify_names_the_file_and_field_of_a_bad_payload_and_unknown_sources() {
    let tally = fixture("tally_form_response.json");
    let (ok, _, err) = handoff(&["classify", "--source", "tally", &tally]);
    assert!(!ok);
    assert!(
        err.contains("tally_form_response.json") && err.contains("data.fields"),
        "{err}"
    );
    let (ok, _, err) = handoff(&["classify", "--source", "zapier", &tally]);
    assert!(!ok);
    assert!(
        err.contains("unknown provider") && err.contains("typeform"),
        "{err}"
    );
}

#[test]
fn sign_needs_the_secret_variable() {
    let typeform = fixture("typeform_form_response.json");
    let (ok, _, err) = handoff(&["sign", "--provider", "typeform", &typeform]);
    assert!(!ok);
    assert!(err.contains("HANDOFF_SECRET_TYPEFORM"), "{err}");
}

/// `handoff classify … | head`: a reader that has gone away ends the output quietly (exit 0, no
/// panic message), as for any Unix tool.
#[test]
fn output_to_a_closed_pipe_ends_quietly() {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_handoff"))
        .args(["classify", "examples/events/03-positive-reply.json"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run handoff");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
