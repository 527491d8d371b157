//! The console's pages through the router `handoff serve` mounts, in process, on a pipeline fed
//! with two real events (one from a buyer whose name is an HTML and terminal attack): the token
//! is required everywhere (401 without it, and no buyer data in the answer), the start-up link
//! turns into a strict cookie, every page escapes the hostile name, the list filters, a claim
//! needs the form token and changes the state, and notifications link to the console.

mod support;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use handoff_cli::runtime::{LocalPipeline, RulesChoice};
use handoff_cli::serve::console::{self, links, Console, ConsoleAuth};
use handoff_domain::event::IntakeEvent;
use handoff_domain::ids::HandoffId;
use handoff_domain::lifecycle::State;
use handoff_domain::ports::ManualClock;
use http_body_util::BodyExt;
use std::sync::Arc;
use tower::ServiceExt;

const TOKEN: &str = "console-pages-token-0001";
const FORM_TOKEN: &str = "console-pages-form-0001";
const COOKIE: &str = "handoff_console_8080=console-pages-token-0001";
/// Tuesday afternoon: the EMEA reps of the example work.
const NOW: &str = "2026-11-24T14:05:00Z";
/// A buyer name that is markup, a terminal escape and a line break.
const HOSTILE: &str = "<script>alert('pwned')</script>\u{1b}[2K\nEve <b>Evil</b>";

struct Fixture {
    _dir: tempfile::TempDir,
    pipeline: LocalPipeline,
    router: Router,
    /// The hostile buyer's demo request and the pricing + SOC 2 reply.
    demo: HandoffId,
    pricing: HandoffId,
}

fn event(file: &str, edit: impl FnOnce(&mut serde_json::Value)) -> IntakeEvent {
    let path = format!("{}/../examples/events/{file}", env!("CARGO_MANIFEST_DIR"));
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    edit(&mut json);
    serde_json::from_value(json).unwrap()
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(NOW.parse().unwrap()));
    let pipeline = links::link_notifications(support::open(dir.path(), clock).await);
    let demo = pipeline
        .services
        .intake(event("01-form-demo-request.json", |e| {
            e["buyer"]["name"] = HOSTILE.into();
            e["buyer"]["company"] = "<i>Acme</i>".into();
        }))
        .await
        .unwrap()
        .handoff_id;
    let pricing = pipeline
        .services
        .intake(event("04-pricing-and-soc2.json", |_| {}))
        .await
        .unwrap()
        .handoff_id;
    pipeline.drain().await.unwrap();
    let app = handoff_api::local_router(pipeline.app.clone());
    let router = console::mount(
        app,
        Arc::new(Console {
            services: pipeline.services.clone(),
            data_dir: dir.path().to_path_buf(),
            rules: RulesChoice::Embedded,
            auth: ConsoleAuth::new(TOKEN, FORM_TOKEN, 8080).unwrap(),
        }),
    );
    Fixture {
        _dir: dir,
        pipeline,
        router,
        demo,
        pricing,
    }
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn send(router: &Router, request: Request<Body>) -> Answer {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

async fn get(router: &Router, path: &str, cookie: Option<&str>) -> Answer {
    let mut request = Request::get(path);
    if let Some(c) = cookie {
        request = request.header(header::COOKIE, c);
    }
    send(router, request.body(Body::empty()).unwrap()).await
}

async fn post_form(router: &Router, path: &str, cookie: Option<&str>, form: &str) -> Answer {
    let mut request =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        request = request.header(header::COOKIE, c);
    }
    send(router, request.body(Body::from(form.to_string())).unwrap()).await
}

fn pages(f: &Fixture) -> Vec<String> {
    vec![
        "/".into(),
        "/?state=notified".into(),
        format!("/handoffs/{}", f.demo),
        format!("/handoffs/{}", f.pricing),
        "/roster".into(),
        "/rules".into(),
        "/audit".into(),
        "/audit?days=30".into(),
    ]
}

/// Words that only the records hold (buyer names, emails, companies).
const BUYER_DATA: [&str; 6] = [
    "pwned",
    "Evil",
    "brightline",
    "Marco",
    "cantieri",
    "Cantieri",
];

#[tokio::test]
async fn without_the_token_every_page_and_the_record_api_answer_401_with_no_buyer_data() {
    let f = fixture().await;
    let mut paths = pages(&f);
    paths.push(format!("/v1/handoffs/{}", f.demo));
    for cookie in [
        None,
        Some("handoff_console_8080=wrong-token-wrong-token"),
        Some("handoff_console_9090=console-pages-token-0001"),
    ] {
        for path in &paths {
            let answer = get(&f.router, path, cookie).await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{path} {cookie:?}");
            for word in BUYER_DATA {
                assert!(
                    !answer.body.contains(word),
                    "{path} leaks {word}: {}",
                    answer.body
                );
            }
        }
    }
    let api = get(&f.router, &format!("/v1/handoffs/{}", f.demo), None).await;
    assert!(
        api.body.starts_with(r#"{"error":"unauthorized""#),
        "{}",
        api.body
    );
    let page = get(&f.router, "/", None).await;
    assert!(page.body.contains("needs the token"), "{}", page.body);
    // A form posted without the token changes nothing.
    let claim = post_form(
        &f.router,
        &format!("/handoffs/{}/claim", f.demo),
        None,
        &format!("form_token={FORM_TOKEN}&rep=lena&action=accept"),
    )
    .await;
    assert_eq!(claim.status, StatusCode::UNAUTHORIZED);
    let record = f
        .pipeline
        .services
        .store
        .get(&f.demo)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.state, State::Notified);
}

#[tokio::test]
async fn the_start_up_link_sets_a_strict_cookie_and_takes_the_token_out_of_the_address() {
    let f = fixture().await;
    let answer = get(&f.router, &format!("/?state=notified&token={TOKEN}"), None).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.headers[header::LOCATION], "/?state=notified");
    assert_eq!(
        answer.headers[header::SET_COOKIE],
        format!("{COOKIE}; Path=/; HttpOnly; SameSite=Strict")
    );
    let wrong = get(&f.router, "/roster?token=not-the-token-at-all", None).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("not this server"), "{}", wrong.body);
    assert!(wrong.headers.get(header::SET_COOKIE).is_none());
    // Scripts send the token as a bearer header.
    let api = send(
        &f.router,
        Request::get(format!("/v1/handoffs/{}", f.pricing))
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.body);
    assert!(api.body.contains("m.rossi@cantieri-navali.it"));
}

#[tokio::test]
async fn every_page_shows_its_data_and_escapes_the_hostile_buyer() {
    let f = fixture().await;
    for path in pages(&f) {
        let answer = get(&f.router, &path, Some(COOKIE)).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.body);
        let csp = answer.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(csp.starts_with("default-src 'none'"), "{path}: {csp}");
        assert_eq!(answer.headers[header::X_FRAME_OPTIONS], "DENY");
        let body = &answer.body;
        assert!(!body.contains("<script"), "{path}: {body}");
        assert!(!body.contains("<b>Evil"), "{path}: {body}");
        assert!(!body.contains("<i>Acme"), "{path}: {body}");
        assert!(!body.contains('\u{1b}'), "{path}: control character");
        if body.contains("pwned") {
            assert!(
                body.contains("&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;[2K Eve &lt;b&gt;Evil&lt;/b&gt;")
                    || body.contains("&lt;script&gt;alert('pwned')&lt;/script&gt;[2K Eve &lt;b&gt;Evil&lt;/b&gt;"),
                "{path}: {body}"
            );
        }
    }
    let list = get(&f.router, "/", Some(COOKIE)).await.body;
    assert!(list.contains(&format!("/handoffs/{}", f.demo)), "{list}");
    assert!(list.contains("Marco Rossi, Cantieri Navali"), "{list}");
    assert!(list.contains("pricing"), "{list}");
    let demo = get(&f.router, &format!("/handoffs/{}", f.demo), Some(COOKIE))
        .await
        .body;
    for part in [
        "1. Trigger",
        "2. Buyer",
        "3. Qualification",
        "4. Next step",
        "5. Owner and SLA",
        "6. Risk flags",
        "Routing trace",
        "Timeline",
        "CRM",
        "Notifications",
        "Accept as ",
        "due in ",
    ] {
        assert!(demo.contains(part), "{part}: {demo}");
    }
    assert!(demo.contains(&format!(r#"name="form_token" value="{FORM_TOKEN}""#)));
    let roster = get(&f.router, "/roster", Some(COOKIE)).await.body;
    assert!(roster.contains("Lena Fischer"), "{roster}");
    assert!(roster.contains(" of "), "{roster}");
    let rules = get(&f.router, "/rules", Some(COOKIE)).await.body;
    assert!(rules.contains("Routing rules"), "{rules}");
    assert!(rules.contains(r#"action="/rules/what-if""#), "{rules}");
    let audit = get(&f.router, "/audit", Some(COOKIE)).await.body;
    assert!(audit.contains("Acceptance rate"), "{audit}");
}

#[tokio::test]
async fn the_list_filters_by_state_owner_and_flag() {
    let f = fixture().await;
    let owner_of = |id: &HandoffId| {
        let store = f.pipeline.services.store.clone();
        let id = id.clone();
        async move {
            let r = store.get(&id).await.unwrap().unwrap();
            r.owner.unwrap().rep.unwrap().to_string()
        }
    };
    let demo_owner = owner_of(&f.demo).await;
    let pricing_owner = owner_of(&f.pricing).await;
    assert_ne!(demo_owner, pricing_owner, "the two go to different reps");
    let demo_link = format!("/handoffs/{}\"", f.demo);
    let pricing_link = format!("/handoffs/{}\"", f.pricing);
    let cases = [
        ("/".to_string(), true, true),
        ("/?state=notified".to_string(), true, true),
        ("/?state=accepted".to_string(), false, false),
        (format!("/?owner={demo_owner}"), true, false),
        (format!("/?owner={pricing_owner}"), false, true),
        ("/?flag=pricing".to_string(), false, true),
        ("/?flag=angry_buyer".to_string(), false, false),
        ("/?owner=queue".to_string(), false, false),
    ];
    for (path, shows_demo, shows_pricing) in cases {
        let body = get(&f.router, &path, Some(COOKIE)).await.body;
        assert_eq!(body.contains(&demo_link), shows_demo, "{path}: {body}");
        assert_eq!(
            body.contains(&pricing_link),
            shows_pricing,
            "{path}: {body}"
        );
    }
    let unknown = get(&f.router, "/?state=asleep", Some(COOKIE)).await.body;
    assert!(
        unknown.contains("There is no state called “asleep”."),
        "{unknown}"
    );
}

#[tokio::test]
async fn a_claim_needs_the_form_token_and_accepts_as_the_owner() {
    let f = fixture().await;
    let record = f
        .pipeline
        .services
        .store
        .get(&f.demo)
        .await
        .unwrap()
        .unwrap();
    let owner = record.owner.unwrap().rep.unwrap().to_string();
    let path = format!("/handoffs/{}/claim", f.demo);
    let forged = post_form(
        &f.router,
        &path,
        Some(COOKIE),
        &format!("rep={owner}&action=accept"),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    let stale = post_form(
        &f.router,
        &path,
        Some(COOKIE),
        &format!("form_token=old&rep={owner}&action=accept"),
    )
    .await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN);
    let state = |f: &Fixture| {
        let store = f.pipeline.services.store.clone();
        let id = f.demo.clone();
        async move { store.get(&id).await.unwrap().unwrap().state }
    };
    assert_eq!(state(&f).await, State::Notified);

    let done = post_form(
        &f.router,
        &path,
        Some(COOKIE),
        &format!("form_token={FORM_TOKEN}&rep={owner}&action=accept"),
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let location = done.headers[header::LOCATION].to_str().unwrap().to_string();
    assert_eq!(
        location,
        format!("/handoffs/{}?done=accept&rep={owner}", f.demo)
    );
    assert_eq!(state(&f).await, State::Accepted);
    let page = get(&f.router, &location, Some(COOKIE)).await.body;
    assert!(page.contains("Accepted as "), "{page}");
    assert!(!page.contains("Accept as "), "no more buttons: {page}");

    // Another rep cannot take it now: the domain's refusal, as a sentence.
    let again = post_form(
        &f.router,
        &path,
        Some(COOKIE),
        &format!("form_token={FORM_TOKEN}&rep=oliver&action=accept"),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert!(again.body.contains("Not done: handoff "), "{}", again.body);
    assert!(again.body.contains("already accepted"), "{}", again.body);
}

#[tokio::test]
async fn the_what_if_replays_edited_rules_and_writes_nothing() {
    let f = fixture().await;
    let forged = post_form(&f.router, "/rules/what-if", Some(COOKIE), "days=7&rules=x").await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);

    let versions = |f: &Fixture| {
        let store = f.pipeline.services.store.clone();
        let ids = [f.demo.clone(), f.pricing.clone()];
        async move {
            let mut v = Vec::new();
            for id in ids {
                v.push(store.get(&id).await.unwrap().unwrap().version);
            }
            v
        }
    };
    let before = versions(&f).await;
    // The deal desk's rule removed: the pricing reply goes elsewhere.
    let edited = handoff_cli::runtime::EMBEDDED_RULES.replacen(
        "human_decision = true",
        "human_decision = true\nmotion = \"inbound\"",
        1,
    );
    assert_ne!(edited, handoff_cli::runtime::EMBEDDED_RULES);
    let form = serde_urlencoded::to_string([
        ("form_token", FORM_TOKEN),
        ("days", "7"),
        ("rules", edited.as_str()),
    ])
    .unwrap();
    let answer = post_form(&f.router, "/rules/what-if", Some(COOKIE), &form).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(
        answer.body.contains("2 handoffs created from"),
        "{}",
        answer.body
    );
    assert!(
        answer.body.contains(r#"data-figure="owner_changes">1<"#),
        "the pricing reply moves: {}",
        answer.body
    );
    assert!(!answer.body.contains("<script"), "{}", answer.body);
    assert_eq!(versions(&f).await, before, "a what-if writes nothing");

    let broken = serde_urlencoded::to_string([
        ("form_token", FORM_TOKEN),
        ("days", "7"),
        ("rules", "[org]\nname = <b>"),
    ])
    .unwrap();
    let refused = post_form(&f.router, "/rules/what-if", Some(COOKIE), &broken).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(
        refused.body.contains("These rules cannot be replayed"),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("name = &lt;b&gt;"),
        "the edit is kept: {}",
        refused.body
    );
}

#[tokio::test]
async fn notifications_link_to_the_handoffs_console_page() {
    let f = fixture().await;
    let log = handoff_local::LogNotifier::new(&f.pipeline.data_dir).unwrap();
    let sent = log.logged_for(&f.demo).unwrap();
    assert!(!sent.is_empty());
    let link = format!(
        "Open in the console: http://127.0.0.1:1/handoffs/{}",
        f.demo
    );
    assert!(
        sent[0].notification.body.contains(&link),
        "{}",
        sent[0].notification.body
    );
    let text = std::fs::read_to_string(log.text_path(&f.demo)).unwrap();
    assert!(text.contains(&link), "{text}");
    // And the console page lists that notification.
    let page = get(&f.router, &format!("/handoffs/{}", f.demo), Some(COOKIE))
        .await
        .body;
    assert!(page.contains("assigned to them"), "{page}");
}
