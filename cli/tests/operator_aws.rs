//! The operator commands on a deployed table (`rules push`, `rep away|back --table`) as an
//! operator runs them, built with `--features aws`: the region is never guessed, and the
//! credentials come from the profile's source — `credential_process`, IAM Identity Center (SSO).
//!
//! Every run gets an AWS environment of its own: HOME and the AWS files in a temporary directory,
//! no `AWS_*` variable of the caller's, instance metadata off (a CI runner on EC2 would otherwise
//! supply a region). The tests that store something need the emulator (`AWS_ENDPOINT_URL`, from
//! `eval "$(scripts/emulator.sh start)"`); without it they print a notice and pass, unless
//! `CI=true`. The SSO portal is a fake one served here (`AWS_ENDPOINT_URL_SSO`), so the whole
//! IAM Identity Center path runs: token cache → GetRoleCredentials → signed DynamoDB calls.

#![cfg(feature = "aws")]

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex, Once};

const NO_REGION: &str =
    "no AWS region: set AWS_REGION, pass --region, or set region in your profile (~/.aws/config)";

/// The example rules, made deployable: no file CRM, a table for each channel the reps use.
fn cloud_rules(dir: &Path) -> String {
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/handoff.toml"
    ))
    .unwrap();
    let path = dir.join("handoff.toml");
    std::fs::write(
        &path,
        format!("{example}\n[crm]\nkind = \"none\"\n\n[notify.slack]\n\n[notify.email]\nfrom = \"handoffs@northwind.example\"\n"),
    )
    .unwrap();
    path.to_str().unwrap().to_owned()
}

/// Runs `handoff` with HOME = `home`, its AWS files under `home/.aws`, none of the caller's
/// `AWS_*` variables, and `env` on top.
fn handoff(home: &Path, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_handoff"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AWS_") {
            cmd.env_remove(key);
        }
    }
    let out = cmd
        .args(args)
        .env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join(".aws/config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join(".aws/credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied())
        .output()
        .expect("run handoff");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write_aws_config(home: &Path, text: &str) {
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    std::fs::write(home.join(".aws/config"), text).unwrap();
}

#[test]
fn without_a_region_the_operator_commands_fail_clearly() {
    let home = tempfile::tempdir().unwrap();
    let rules = cloud_rules(home.path());

    let (code, out, err) = handoff(
        home.path(),
        &["rules", "push", &rules, "--table", "handoff-test"],
        &[],
    );
    assert_eq!(code, Some(1), "stdout: {out}\nstderr: {err}");
    assert!(err.contains(NO_REGION), "{err}");
    assert!(out.is_empty(), "{out}");

    let (code, _, err) = handoff(
        home.path(),
        &["rep", "away", "jonas", "--table", "handoff-test"],
        &[],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains(NO_REGION), "{err}");

    // A named profile without a region (or not defined at all) is named in the message.
    write_aws_config(
        home.path(),
        "[profile ops]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = secret\n",
    );
    for profile in ["ops", "missing"] {
        let (code, _, err) = handoff(
            home.path(),
            &[
                "rules",
                "push",
                &rules,
                "--table",
                "t",
                "--profile",
                profile,
            ],
            &[],
        );
        assert_eq!(code, Some(1), "{err}");
        assert!(err.contains(NO_REGION), "{err}");
        assert!(err.contains(&format!("profile `{profile}`")), "{err}");
    }

    // A region but no credentials anywhere: said before any request, with what to do.
    let (code, _, err) = handoff(
        home.path(),
        &[
            "rules",
            "push",
            &rules,
            "--table",
            "t",
            "--region",
            "eu-west-1",
        ],
        &[],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("cannot load AWS credentials: "), "{err}");
    assert!(err.contains("aws configure sso"), "{err}");

    // A bad file is reported before AWS is looked at.
    let (code, _, err) = handoff(
        home.path(),
        &["rules", "push", "/nonexistent/handoff.toml", "--table", "t"],
        &[],
    );
    assert_eq!(code, Some(1));
    assert!(
        err.contains("cannot read /nonexistent/handoff.toml"),
        "{err}"
    );

    // --profile/--region without --table would silently change the local store instead.
    let (code, _, err) = handoff(
        home.path(),
        &["rep", "back", "jonas", "--region", "eu-west-1"],
        &[],
    );
    assert_eq!(code, Some(1));
    assert!(err.contains("add --table"), "{err}");
}

// ---- against the emulator ----------------------------------------------------------------------

/// The emulator's endpoint, or `None` (after a notice) when it is not configured outside CI.
fn emulator() -> Option<String> {
    handoff_testkit::emulator::endpoint()
}

/// Creates a fresh table in us-east-1 on the emulator (with the emulator's dummy keys, set
/// once in this process only; the `handoff` runs never see them) and returns its name.
fn fresh_table(prefix: &str) -> String {
    static ENV: Once = Once::new();
    ENV.call_once(|| {
        for (k, v) in [
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ] {
            std::env::set_var(k, v);
        }
    });
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let table = format!("{prefix}-{}-{nanos}", std::process::id());
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let sdk = handoff_aws::aws_config_from_env().await;
            handoff_aws::ensure_table(&handoff_aws::config::dynamodb_client(&sdk), &table)
                .await
                .expect("create the table on the emulator");
        });
    table
}

#[test]
fn a_credential_process_profile_is_used() {
    let Some(endpoint) = emulator() else { return };
    let table = fresh_table("cli-credproc");
    let home = tempfile::tempdir().unwrap();
    let rules = cloud_rules(home.path());
    let calls = home.path().join("credential_process.calls");
    let script = home.path().join("creds.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\nprintf '%s\\n' '{{\"Version\": 1, \"AccessKeyId\": \"AKIDFROMPROCESS\", \"SecretAccessKey\": \"process-secret\"}}'\n",
            calls.display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    write_aws_config(
        home.path(),
        &format!(
            "[profile ops]\nregion = us-east-1\ncredential_process = {} --account ops\n\n\
             [profile broken]\nregion = us-east-1\ncredential_process = /bin/false\n",
            script.display()
        ),
    );
    let env = [("AWS_ENDPOINT_URL", endpoint.as_str())];

    // The region comes from the profile, the credentials from the process.
    let (code, out, err) = handoff(
        home.path(),
        &[
            "rules",
            "push",
            &rules,
            "--table",
            &table,
            "--profile",
            "ops",
        ],
        &env,
    );
    assert_eq!(code, Some(0), "stdout: {out}\nstderr: {err}");
    assert!(out.contains("stored as rules version 1"), "{out}");
    let called = std::fs::read_to_string(&calls).expect("the credential process ran");
    assert_eq!(
        called.lines().collect::<Vec<_>>(),
        ["--account ops"],
        "once per run"
    );

    // AWS_PROFILE selects the profile as well.
    let (code, out, err) = handoff(
        home.path(),
        &["rep", "away", "jonas", "--table", &table],
        &[("AWS_ENDPOINT_URL", &endpoint), ("AWS_PROFILE", "ops")],
    );
    assert_eq!(code, Some(0), "stdout: {out}\nstderr: {err}");
    assert_eq!(out.trim(), "jonas: away");

    // --region wins over the profile's: there is no such table in eu-west-1.
    let (code, _, err) = handoff(
        home.path(),
        &[
            "rules",
            "push",
            &rules,
            "--table",
            &table,
            "--profile",
            "ops",
            "--region",
            "eu-west-1",
        ],
        &env,
    );
    assert_eq!(code, Some(1));
    assert!(
        err.contains(&format!("cannot store the rules in {table}")),
        "{err}"
    );

    // A failing credential process is an error before any request, not an anonymous request.
    let (code, _, err) = handoff(
        home.path(),
        &[
            "rules",
            "push",
            &rules,
            "--table",
            &table,
            "--profile",
            "broken",
        ],
        &env,
    );
    assert_eq!(code, Some(1));
    assert!(
        err.contains("cannot load AWS credentials for profile `broken`: "),
        "{err}"
    );
    assert!(err.contains("external process"), "{err}");
    assert!(
        err.contains("check the `credential_process` command of profile `broken`"),
        "{err}"
    );
}

/// What the fake SSO portal saw: (bearer token, account id, role name) per GetRoleCredentials.
type PortalCalls = Arc<Mutex<Vec<(String, String, String)>>>;

/// A fake IAM Identity Center portal (`GET /federation/credentials`) on 127.0.0.1, serving
/// role credentials for any bearer token it is given; returns its URL.
fn fake_sso_portal(calls: PortalCalls) -> String {
    use axum::extract::{Query, State};
    use axum::http::HeaderMap;
    use std::collections::HashMap;

    async fn role_credentials(
        State(calls): State<PortalCalls>,
        headers: HeaderMap,
        Query(query): Query<HashMap<String, String>>,
    ) -> axum::Json<serde_json::Value> {
        let token = headers
            .get("x-amz-sso_bearer_token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let get = |k: &str| query.get(k).cloned().unwrap_or_default();
        calls
            .lock()
            .unwrap()
            .push((token, get("account_id"), get("role_name")));
        let expires_ms = (chrono::Utc::now() + chrono::Duration::hours(1)).timestamp_millis();
        axum::Json(serde_json::json!({
            "roleCredentials": {
                "accessKeyId": "ASIAFROMSSO",
                "secretAccessKey": "sso-secret",
                "sessionToken": "sso-session-token",
                "expiration": expires_ms,
            }
        }))
    }

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move {
                let app = axum::Router::new()
                    .route(
                        "/federation/credentials",
                        axum::routing::get(role_credentials),
                    )
                    .with_state(calls);
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
    });
    url
}

#[test]
fn an_iam_identity_center_profile_is_used() {
    let Some(endpoint) = emulator() else { return };
    let table = fresh_table("cli-sso");
    let home = tempfile::tempdir().unwrap();
    let rules = cloud_rules(home.path());
    let calls = PortalCalls::default();
    let portal = fake_sso_portal(calls.clone());
    write_aws_config(
        home.path(),
        "[profile team-admin]\nsso_session = handoff-test\nsso_account_id = 111122223333\n\
         sso_role_name = HandoffOperator\nregion = us-east-1\n\n\
         [sso-session handoff-test]\nsso_start_url = https://handoff-test.awsapps.com/start\n\
         sso_region = us-east-1\nsso_registration_scopes = sso:account:access\n",
    );
    let env = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ENDPOINT_URL_SSO", portal.as_str()),
    ];
    let push = [
        "rules",
        "push",
        &rules,
        "--table",
        &table,
        "--profile",
        "team-admin",
    ];

    // Before `aws sso login` there is no cached token: the error says so and what to run, and
    // the portal is not called.
    let (code, _, err) = handoff(home.path(), &push, &env);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("cannot load AWS credentials for profile `team-admin`: "),
        "{err}"
    );
    assert!(err.contains("SSO token"), "{err}");
    assert!(err.contains("aws sso login --profile team-admin"), "{err}");
    assert!(calls.lock().unwrap().is_empty());

    // What `aws sso login --sso-session handoff-test` leaves: the token cache, keyed by the
    // SHA-1 of the session name (sha1("handoff-test")).
    let cache = home.path().join(".aws/sso/cache");
    std::fs::create_dir_all(&cache).unwrap();
    let expires = (chrono::Utc::now() + chrono::Duration::hours(8))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    std::fs::write(
        cache.join("a3a89ff8eeb6fbd9e8552e42cb216302812dd4d2.json"),
        serde_json::json!({
            "accessToken": "cached-sso-access-token",
            "expiresAt": expires,
            "region": "us-east-1",
            "startUrl": "https://handoff-test.awsapps.com/start",
        })
        .to_string(),
    )
    .unwrap();

    let (code, out, err) = handoff(home.path(), &push, &env);
    assert_eq!(code, Some(0), "stdout: {out}\nstderr: {err}");
    assert!(out.contains("stored as rules version 1"), "{out}");
    assert_eq!(
        calls.lock().unwrap().as_slice(),
        [(
            "cached-sso-access-token".to_string(),
            "111122223333".to_string(),
            "HandoffOperator".to_string()
        )]
    );
}
