//! The Salesforce CRM adapter against the local Salesforce stand-in: the CRM conformance suite
//! with both sign-in flows, the documented request shapes, token caching and renewal, faults,
//! and the fields written.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use handoff_connectors::outbound::http::HttpPolicy;
use handoff_connectors::outbound::salesforce::SalesforceCrm;
use handoff_domain::config::SalesforceAuth;
use handoff_domain::ids::HandoffId;
use handoff_domain::package::{Motion, MotionFields, ReplyClass};
use handoff_domain::ports::{Crm, CrmRefs, CrmStep, CrmWrite, DeliveryError};
use handoff_testkit::delivery::converge;
use handoff_testkit::salesforce::{
    SalesforceStandIn, SalesforceStandInConfig, SeenRequest, INTEGRATION_USER_ID,
};
use handoff_testkit::standin::{CallLog, Fault, Faults};
use handoff_testkit::{fixtures, Guarded};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

type Subject = Guarded<SalesforceCrm>;

/// An adapter (fast HTTP policy) signed in with `auth` to a fresh stand-in, which it keeps alive.
async fn start(
    auth: SalesforceAuth,
    config: SalesforceStandInConfig,
    fields: &[(&str, &str)],
) -> Subject {
    let standin = SalesforceStandIn::start(config, CallLog::new(), Faults::new()).await;
    let mut settings = standin.settings(auth);
    settings.fields = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let crm = SalesforceCrm::new(settings, Arc::new(standin.secrets()), HttpPolicy::fast())
        .expect("valid settings");
    Guarded::new(crm, standin)
}

async fn fresh(auth: SalesforceAuth) -> Subject {
    start(auth, SalesforceStandInConfig::default(), &[]).await
}

fn sf(subject: &Subject) -> &SalesforceStandIn {
    subject.guard().expect("the stand-in guards the adapter")
}

fn write_for(event: &str) -> CrmWrite {
    let (record, _) = fixtures::record(event);
    fixtures::crm_write(&fixtures::package(&record))
}

async fn step(crm: &SalesforceCrm, write: &CrmWrite, refs: &CrmRefs) -> CrmRefs {
    match crm.sync(write, refs).await.expect("sync succeeds") {
        CrmStep::Progress(r) | CrmStep::Done(r) => r,
    }
}

fn last(steps: Vec<CrmRefs>) -> CrmRefs {
    steps.last().cloned().expect("at least one step")
}

fn data_requests(subject: &Subject) -> Vec<SeenRequest> {
    sf(subject)
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/services/data/"))
        .collect()
}

fn sub<'a>(body: &'a Value, reference: &str) -> &'a Value {
    body["compositeRequest"]
        .as_array()
        .and_then(|subs| subs.iter().find(|s| s["referenceId"] == reference))
        .unwrap_or_else(|| panic!("no subrequest {reference} in {body}"))
}

fn soql(subrequest: &Value) -> String {
    let url = subrequest["url"].as_str().expect("url");
    let (_, query) = url.split_once('?').expect("a query string");
    let params: Vec<(String, String)> = serde_urlencoded::from_str(query).expect("form encoded");
    params
        .into_iter()
        .find(|(k, _)| k == "q")
        .map(|(_, v)| v)
        .expect("q")
}

fn permanent(e: DeliveryError) -> String {
    match e {
        DeliveryError::Permanent(why) => why,
        other => panic!("expected a permanent error, got {other:?}"),
    }
}

handoff_testkit::crm_conformance!(
    mod salesforce_client_credentials,
    async { fresh(SalesforceAuth::ClientCredentials).await },
    |crm: &Subject, id: &HandoffId| sf(crm).seen(id),
);

handoff_testkit::crm_conformance!(
    mod salesforce_jwt_bearer,
    async { fresh(SalesforceAuth::JwtBearer).await },
    |crm: &Subject, id: &HandoffId| sf(crm).seen(id),
);

#[tokio::test]
async fn requests_follow_the_documented_shapes_and_order() {
    let subject = fresh(SalesforceAuth::ClientCredentials).await;
    let write = write_for("sf-shapes");
    let id = write.package.handoff_id.clone();

    let refs = match subject.sync(&write, &CrmRefs::default()).await.unwrap() {
        CrmStep::Progress(r) => r,
        done => panic!("the first step creates: {done:?}"),
    };
    let log = sf(&subject).log().calls();
    assert_eq!(
        log,
        vec![
            "salesforce POST /services/oauth2/token",
            "salesforce POST /services/data/v61.0/composite",
            "salesforce POST /services/data/v61.0/composite",
        ],
        "token → find → write"
    );

    let requests = sf(&subject).requests();
    let token = &requests[0];
    assert_eq!(
        token.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    let form = token.form();
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(field("grant_type"), Some("client_credentials"));
    assert_eq!(
        field("client_id"),
        Some(sf(&subject).config().client_id.as_str())
    );
    assert_eq!(
        field("client_secret"),
        Some(sf(&subject).config().client_secret.as_str())
    );

    for r in &requests[1..] {
        assert!(
            r.authorization
                .as_deref()
                .is_some_and(|a| a.starts_with("Bearer 00D")),
            "data calls carry the bearer token"
        );
        assert!(r
            .content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("application/json")));
    }

    // Find: Contacts first, then unconverted Leads, then a Task an earlier attempt created.
    let find = requests[1].json();
    let subs = find["compositeRequest"].as_array().unwrap();
    assert_eq!(subs.len(), 3);
    for s in subs {
        assert_eq!(s["method"], "GET");
        assert!(s["url"]
            .as_str()
            .unwrap()
            .starts_with("/services/data/v61.0/query?q="));
    }
    let contact = soql(&subs[0]);
    let lead = soql(&subs[1]);
    assert_eq!(
        contact,
        "SELECT Id, OwnerId FROM Contact WHERE Email = 'dana@acme.com' ORDER BY LastModifiedDate DESC LIMIT 1"
    );
    assert!(
        lead.starts_with(
            "SELECT Id, OwnerId FROM Lead WHERE Email = 'dana@acme.com' AND IsConverted = false"
        ),
        "{lead}"
    );
    assert!(soql(&subs[2]).contains(&id.as_str().replace('_', "\\_")));

    // Write: one allOrNone composite, Lead then Task.
    let body = requests[2].json();
    assert_eq!(body["allOrNone"], true);
    let lead = sub(&body, "refLead");
    assert_eq!(lead["method"], "POST");
    assert_eq!(lead["url"], "/services/data/v61.0/sobjects/Lead");
    assert_eq!(
        lead["body"],
        json!({
            "FirstName": "Dana",
            "LastName": "Scully",
            "Company": "Acme",
            "Email": "dana@acme.com",
            "Title": "Head of RevOps",
            "LeadSource": "website",
            "OwnerId": "005lena",
        })
    );
    let task = sub(&body, "refTask");
    assert_eq!(task["method"], "POST");
    assert_eq!(task["url"], "/services/data/v61.0/sobjects/Task");
    let t = &task["body"];
    assert_eq!(t["WhoId"], "@{refLead.id}");
    assert_eq!(t["OwnerId"], "005lena");
    assert_eq!(
        t["Subject"],
        format!("Handoff: demo request — Dana Scully (Acme) [{id}]")
    );
    assert_eq!(t["ActivityDate"], "2030-01-07", "the SLA deadline's date");
    let description = t["Description"].as_str().unwrap();
    assert!(description.starts_with(write.text.trim_end()));
    assert!(description.contains(id.as_str()));
    assert_eq!(t["Status"], "Not Started");
    assert_eq!(t["Priority"], "High", "inbound/hot");

    let lead_id = sf(&subject).leads()[0]["Id"].as_str().unwrap().to_string();
    let task_id = sf(&subject).tasks()[0]["Id"].as_str().unwrap().to_string();
    assert_eq!(refs.system, "salesforce");
    assert_eq!(refs.contact, Some(format!("Lead/{lead_id}")));
    assert_eq!(refs.task, Some(task_id));
    assert_eq!(refs.owner.as_deref(), Some("005lena"));
    assert_eq!(refs.due, Some(fixtures::at(60)));
    assert_eq!(sf(&subject).tasks()[0]["WhoId"], lead_id.as_str());

    // Everything written: done without a call, `synced` kept as given.
    let mut recorded = refs.clone();
    recorded.synced = Some("005lena#0".into());
    assert_eq!(
        subject.sync(&write, &recorded).await.unwrap(),
        CrmStep::Done(recorded.clone())
    );
    assert_eq!(
        sf(&subject).log().calls().len(),
        3,
        "no HTTP call when done"
    );
}

#[tokio::test]
async fn jwt_bearer_sends_a_signed_assertion() {
    let subject = fresh(SalesforceAuth::JwtBearer).await;
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    last(converge(&*subject, &write_for("sf-jwt"), &CrmRefs::default()).await);
    let token = &sf(&subject).requests()[0];
    assert_eq!(token.path, "/services/oauth2/token");
    let form = token.form();
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(
        field("grant_type").as_deref(),
        Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    );
    let assertion = field("assertion").expect("an assertion");
    let parts: Vec<&str> = assertion.split('.').collect();
    assert_eq!(parts.len(), 3);
    assert!(!assertion.contains('='), "base64url without padding");
    let decode =
        |p: &str| -> Value { serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap() };
    assert_eq!(decode(parts[0]), json!({"alg": "RS256"}));
    let claims = decode(parts[1]);
    assert_eq!(claims["iss"], sf(&subject).config().client_id.as_str());
    assert_eq!(claims["sub"], sf(&subject).config().username.as_str());
    assert_eq!(claims["aud"], sf(&subject).base_url());
    let exp = claims["exp"].as_u64().unwrap();
    assert!(
        (before + 170..=before + 190).contains(&exp),
        "exp = now + 3 minutes"
    );
    assert!(
        field("client_secret").is_none(),
        "no secret in the JWT flow"
    );
}

#[tokio::test]
async fn the_token_is_cached_across_handoffs() {
    let subject = fresh(SalesforceAuth::ClientCredentials).await;
    for event in ["sf-cache-1", "sf-cache-2", "sf-cache-3"] {
        last(converge(&*subject, &write_for(event), &CrmRefs::default()).await);
    }
    assert_eq!(sf(&subject).token_calls(), 1);
    assert_eq!(sf(&subject).tasks().len(), 3);
}

#[tokio::test]
async fn an_expired_token_is_renewed_once_and_the_call_repeated() {
    let subject = fresh(SalesforceAuth::ClientCredentials).await;
    last(converge(&*subject, &write_for("sf-exp-1"), &CrmRefs::default()).await);
    sf(&subject).expire_tokens();

    let write = write_for("sf-exp-2");
    last(converge(&*subject, &write, &CrmRefs::default()).await);
    assert_eq!(sf(&subject).token_calls(), 2, "one renewal");
    let seen = sf(&subject).seen(&write.package.handoff_id);
    assert_eq!((seen.tasks, seen.packages), (1, 1), "{seen:?}");
    let calls = sf(&subject).log().calls();
    assert_eq!(
        calls[3..],
        [
            "salesforce POST /services/data/v61.0/composite",
            "salesforce POST /services/oauth2/token",
            "salesforce POST /services/data/v61.0/composite",
            "salesforce POST /services/data/v61.0/composite",
        ],
        "refused find → token → find → write"
    );
}

#[tokio::test]
async fn expires_in_is_respected_when_salesforce_sends_it() {
    // A lifetime inside the renewal margin: every call signs in again, before using it.
    let config = SalesforceStandInConfig {
        token_lifetime: Some(Duration::from_secs(30)),
        ..Default::default()
    };
    let subject = start(SalesforceAuth::ClientCredentials, config, &[]).await;
    last(converge(&*subject, &write_for("sf-expires-in"), &CrmRefs::default()).await);
    assert_eq!(sf(&subject).token_calls(), 2, "one per data call");
    assert!(sf(&subject)
        .requests()
        .windows(2)
        .all(|w| !(w[0].path.ends_with("/composite") && w[1].path.ends_with("/composite"))));
}

fn sf_error(status: u16, code: &str, message: &str) -> Fault {
    Fault::Status {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: json!([{ "message": message, "errorCode": code }]).to_string(),
    }
}

async fn succeeds_after(fault: Fault) -> Subject {
    let subject = fresh(SalesforceAuth::ClientCredentials).await;
    sf(&subject).faults().push(fault);
    let write = write_for("sf-fault");
    let refs = step(&subject, &write, &CrmRefs::default()).await;
    assert!(refs.task.is_some(), "written in the same sync");
    let done = last(converge(&*subject, &write, &refs).await);
    let seen = sf(&subject).seen(&write.package.handoff_id);
    assert_eq!(
        (seen.tasks, seen.packages, seen.contacts),
        (1, 1, 1),
        "{seen:?}"
    );
    assert_eq!(seen.owner, done.owner);
    subject
}

#[tokio::test]
async fn request_limit_exceeded_then_success() {
    let s = succeeds_after(sf_error(
        403,
        "REQUEST_LIMIT_EXCEEDED",
        "TotalRequests Limit exceeded.",
    ))
    .await;
    assert_eq!(
        sf(&s).log().of("salesforce").len(),
        4,
        "token + find ×2 + write"
    );
}

#[tokio::test]
async fn server_unavailable_then_success() {
    succeeds_after(sf_error(
        503,
        "SERVER_UNAVAILABLE",
        "Server temporarily unavailable.",
    ))
    .await;
}

#[tokio::test]
async fn timeout_then_success() {
    succeeds_after(Fault::Delay(Duration::from_secs(2))).await;
}

#[tokio::test]
async fn persistent_unavailability_is_transient_and_a_resumed_sync_creates_nothing_twice() {
    let subject = fresh(SalesforceAuth::ClientCredentials).await;
    let write = write_for("sf-down");
    let down = || sf_error(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable.");

    // The find fails on every attempt.
    for _ in 0..HttpPolicy::fast().attempts {
        sf(&subject).faults().push(down());
    }
    let e = subject.sync(&write, &CrmRefs::default()).await.unwrap_err();
    assert!(matches!(e, DeliveryError::Transient(_)), "{e:?}");
    assert!(sf(&subject).tasks().is_empty());

    // The write composite is sent once: its failure goes back to the queue at once.
    sf(&subject).faults().push(Fault::Delay(Duration::ZERO));
    sf(&subject).faults().push(down());
    let e = subject.sync(&write, &CrmRefs::default()).await.unwrap_err();
    assert!(matches!(e, DeliveryError::Transient(_)), "{e:?}");
    assert!(
        sf(&subject).tasks().is_empty(),
        "allOrNone: nothing half-written"
    );

    let written = last(converge(&*subject, &write, &CrmRefs::default()).await);

    // An owner change whose composite keeps failing, resumed from the recorded refs.
    let moved = fixtures::crm_write_moved(&write, Some("max"), "the SLA passed unclaimed");
    for _ in 0..HttpPolicy::fast().attempts {
        sf(&subject).faults().push(down());
    }
    let e = subject.sync(&moved, &written).await.unwrap_err();
    assert!(matches!(e, DeliveryError::Transient(_)), "{e:?}");
    let done = last(converge(&*subject, &moved, &written).await);
    let seen = sf(&subject).seen(&write.package.handoff_id);
    assert_eq!(
        (seen.contacts, seen.packages, seen.tasks, seen.change_notes),
        (1, 1, 1, 1),
        "{seen:?}"
    );
    assert_eq!(seen.owner.as_deref(), Some("005max"));
    assert_eq!(done.change_notes, 1);
}

#[tokio::test]
async fn a_write_that_timed_out_is_found_instead_of_repeated() {
    let subject = fresh(SalesforceAuth::ClientCredentials).await;
    let write = write_for("sf-lost");
    // The find answers; the write is answered too late (Salesforce may still apply it).
    sf(&subject).faults().push(Fault::Delay(Duration::ZERO));
    sf(&subject)
        .faults()
        .push(Fault::Delay(Duration::from_secs(2)));
    let e = subject.sync(&write, &CrmRefs::default()).await.unwrap_err();
    assert!(matches!(e, DeliveryError::Transient(_)), "{e:?}");
    assert_eq!(sf(&subject).tasks().len(), 1, "Salesforce applied it");
    let calls = sf(&subject).log().calls().len();

    let steps = converge(&*subject, &write, &CrmRefs::default()).await;
    assert_eq!(
        sf(&subject).log().calls().len(),
        calls + 1,
        "only the find: the task it found is recorded, not written again"
    );
    let done = last(steps);
    let seen = sf(&subject).seen(&write.package.handoff_id);
    assert_eq!(
        (seen.tasks, seen.packages, seen.contacts),
        (1, 1, 1),
        "{seen:?}"
    );
    assert_eq!(sf(&subject).leads().len(), 1, "one lead");
    assert_eq!(seen.owner, done.owner);
    assert_eq!(done.owner.as_deref(), Some("005lena"));
    assert_eq!(done.due, Some(fixtures::at(60)));
}

#[tokio::test]
async fn invalid_client_is_permanent() {
    let config = SalesforceStandInConfig {
        client_secret: "rotated-secret".into(),
        ..Default::default()
    };
    let standin = SalesforceStandIn::start(config, CallLog::new(), Faults::new()).await;
    let secrets = handoff_connectors::secrets::StaticSecrets::of(&[
        ("salesforce_client_id", standin.config().client_id.as_str()),
        ("salesforce_client_secret", "old-secret"),
    ]);
    let crm = SalesforceCrm::new(
        standin.settings(SalesforceAuth::ClientCredentials),
        Arc::new(secrets),
        HttpPolicy::fast(),
    )
    .unwrap();
    let why = permanent(
        crm.sync(&write_for("sf-bad-client"), &CrmRefs::default())
            .await
            .unwrap_err(),
    );
    assert!(
        why.contains("invalid_client: invalid client credentials"),
        "{why}"
    );
    assert!(
        !why.contains("old-secret"),
        "the secret is never shown: {why}"
    );
    assert_eq!(standin.token_calls(), 1, "not retried");
    assert_eq!(standin.log().calls().len(), 1, "no data call");
}

#[tokio::test]
async fn a_missing_secret_is_permanent_and_named() {
    let standin = SalesforceStandIn::start_default().await;
    let crm = SalesforceCrm::new(
        standin.settings(SalesforceAuth::JwtBearer),
        Arc::new(handoff_connectors::secrets::StaticSecrets::of(&[(
            "salesforce_client_id",
            "x",
        )])),
        HttpPolicy::fast(),
    )
    .unwrap();
    let why = permanent(
        crm.sync(&write_for("sf-no-key"), &CrmRefs::default())
            .await
            .unwrap_err(),
    );
    assert!(why.contains("salesforce_private_key"), "{why}");
}

#[tokio::test]
async fn invalid_field_is_permanent_and_names_the_field() {
    let subject = start(
        SalesforceAuth::ClientCredentials,
        SalesforceStandInConfig::default(),
        &[("routing_reason", "Handoff_Routing_Reasn__c")],
    )
    .await;
    let why = permanent(
        subject
            .sync(&write_for("sf-bad-field"), &CrmRefs::default())
            .await
            .unwrap_err(),
    );
    assert!(why.contains("INVALID_FIELD"), "{why}");
    assert!(why.contains("Handoff_Routing_Reasn__c"), "{why}");
    assert!(sf(&subject).leads().is_empty() && sf(&subject).tasks().is_empty());
    assert_eq!(
        sf(&subject).log().calls().len(),
        3,
        "a rejected write is not retried"
    );
}

#[tokio::test]
async fn an_existing_contact_is_updated_not_a_new_lead() {
    let subject = fresh(SalesforceAuth::ClientCredentials).await;
    let contact = sf(&subject).add_contact(json!({
        "FirstName": "Dana", "LastName": "Scully", "Email": "dana@acme.com", "OwnerId": "005old"
    }));
    // A lead with the same email exists too: the Contact wins.
    sf(&subject)
        .add_lead(json!({"LastName": "Scully", "Company": "Acme", "Email": "dana@acme.com"}));
    let write = write_for("sf-contact");
    let done = last(converge(&*subject, &write, &CrmRefs::default()).await);
    assert_eq!(done.contact, Some(format!("Contact/{contact}")));
    assert_eq!(sf(&subject).leads().len(), 1, "no new lead");
    assert_eq!(sf(&subject).contacts()[0]["OwnerId"], "005lena");
    assert_eq!(sf(&subject).tasks()[0]["WhoId"], contact.as_str());

    let body = data_requests(&subject)[1].json();
    let patch = sub(&body, "refWho");
    assert_eq!(patch["method"], "PATCH");
    assert_eq!(
        patch["url"],
        format!("/services/data/v61.0/sobjects/Contact/{contact}")
    );
    assert_eq!(patch["body"], json!({"OwnerId": "005lena"}));
    assert_eq!(sub(&body, "refTask")["body"]["WhoId"], contact.as_str());
}

#[tokio::test]
async fn converted_leads_are_left_alone() {
    let subject = fresh(SalesforceAuth::ClientCredentials).await;
    let converted = sf(&subject).add_lead(json!({
        "LastName": "Scully", "Company": "Acme", "Email": "dana@acme.com", "IsConverted": true
    }));
    let done = last(converge(&*subject, &write_for("sf-converted"), &CrmRefs::default()).await);
    assert_ne!(done.contact, Some(format!("Lead/{converted}")));
    assert_eq!(sf(&subject).leads().len(), 2, "a new lead");
}

#[tokio::test]
async fn an_existing_lead_is_reused_and_soql_literals_are_escaped() {
    let subject = fresh(SalesforceAuth::ClientCredentials).await;
    let email = r"o'brien\ops@acme.com";
    let lead =
        sf(&subject).add_lead(json!({"LastName": "O'Brien", "Company": "Acme", "Email": email}));
    let mut write = write_for("sf-escape");
    write.package.classification.buyer.email = fixtures::email(email);
    let done = last(converge(&*subject, &write, &CrmRefs::default()).await);
    assert_eq!(done.contact, Some(format!("Lead/{lead}")));
    assert_eq!(sf(&subject).leads().len(), 1);
    let find = data_requests(&subject)[0].json();
    assert!(soql(sub(&find, "contact")).contains(r"Email = 'o\'brien\\ops@acme.com'"));
}

#[tokio::test]
async fn an_owner_change_is_one_composite_then_done_without_calls() {
    let subject = fresh(SalesforceAuth::ClientCredentials).await;
    let write = write_for("sf-move");
    let written = last(converge(&*subject, &write, &CrmRefs::default()).await);
    let calls = sf(&subject).log().calls().len();
    let moved = fixtures::crm_write_moved(&write, Some("max"), "the SLA passed unclaimed");

    let progressed = match subject.sync(&moved, &written).await.unwrap() {
        CrmStep::Progress(r) => r,
        done => panic!("a note is a step: {done:?}"),
    };
    assert_eq!(sf(&subject).log().calls().len(), calls + 1, "one composite");
    let body = data_requests(&subject).last().unwrap().json();
    assert_eq!(body["allOrNone"], true);
    let task = written.task.clone().unwrap();
    let lead = written.contact.clone().unwrap();
    let task_patch = sub(&body, "refTask");
    assert_eq!(task_patch["method"], "PATCH");
    assert_eq!(
        task_patch["url"],
        format!("/services/data/v61.0/sobjects/Task/{task}")
    );
    assert_eq!(
        task_patch["body"],
        json!({"OwnerId": "005max", "ActivityDate": "2030-01-07"})
    );
    let who = sub(&body, "refWho");
    assert_eq!(who["url"], format!("/services/data/v61.0/sobjects/{lead}"));
    assert_eq!(who["body"], json!({"OwnerId": "005max"}));
    let note = sub(&body, "refNote");
    assert_eq!(note["url"], "/services/data/v61.0/sobjects/Note");
    assert_eq!(note["body"]["Title"], "handoff: owner changed");
    assert_eq!(note["body"]["ParentId"], lead.trim_start_matches("Lead/"));
    assert!(note["body"]["Body"]
        .as_str()
        .unwrap()
        .starts_with(&moved.changes[0].text));
    assert_eq!(progressed.owner.as_deref(), Some("005max"));
    assert_eq!(progressed.due, Some(fixtures::at(120)));
    assert_eq!(progressed.change_notes, 1);

    assert_eq!(
        subject.sync(&moved, &progressed).await.unwrap(),
        CrmStep::Done(progressed.clone())
    );
    assert_eq!(
        sf(&subject).log().calls().len(),
        calls + 1,
        "done without a call"
    );
}

#[tokio::test]
async fn the_shared_queue_hands_the_task_to_the_integration_user() {
    let subject = fresh(SalesforceAuth::ClientCredentials).await;
    let write = write_for("sf-queue");
    let written = last(converge(&*subject, &write, &CrmRefs::default()).await);
    let queued = fixtures::crm_write_moved(&write, None, "every rep missed it");
    let done = last(converge(&*subject, &queued, &written).await);
    assert_eq!(done.owner, None);
    let task = &sf(&subject).tasks()[0];
    assert_eq!(task["OwnerId"], INTEGRATION_USER_ID);
    assert_eq!(
        sf(&subject).leads()[0]["OwnerId"],
        "005lena",
        "the lead keeps its owner"
    );
    let seen = sf(&subject).seen(&write.package.handoff_id);
    assert_eq!((seen.owner, seen.change_notes), (None, 1));
}

#[tokio::test]
async fn inbound_and_outbound_handoffs_write_their_own_fields() {
    let fields = [
        ("motion", "Handoff_Motion__c"),
        ("routing_reason", "Handoff_Routing_Reason__c"),
        ("account_reason", "Handoff_Account_Reason__c"),
        ("reply_class", "Handoff_Reply_Class__c"),
    ];
    let config = SalesforceStandInConfig {
        custom_fields: fields.iter().map(|(_, f)| f.to_string()).collect(),
        ..Default::default()
    };
    let subject = start(SalesforceAuth::ClientCredentials, config, &fields).await;

    let inbound = write_for("sf-inbound");
    last(converge(&*subject, &inbound, &CrmRefs::default()).await);

    let (record, _) = fixtures::record_from("sf-outbound", "sam@globex.com", fixtures::t0());
    let mut package = fixtures::package(&record);
    package.classification.motion = Motion::Outbound;
    package.classification.motion_fields = MotionFields::Outbound {
        account_reason: "Globex opened a second warehouse".into(),
        outreach_history: vec![],
        reply_class: ReplyClass::Positive,
        suggested_next_step: "Book a call".into(),
        reply_owner: None,
    };
    let outbound = fixtures::crm_write(&package);
    last(converge(&*subject, &outbound, &CrmRefs::default()).await);

    let leads = sf(&subject).leads();
    let lead = |email: &str| {
        leads
            .iter()
            .find(|l| l["Email"] == email)
            .cloned()
            .unwrap_or_else(|| panic!("a lead for {email}"))
    };
    let dana = lead("dana@acme.com");
    assert_eq!(dana["Handoff_Motion__c"], "inbound");
    assert_eq!(
        dana["Handoff_Routing_Reason__c"],
        "round robin: lena is next"
    );
    assert!(dana.get("Handoff_Account_Reason__c").is_none());
    assert!(dana.get("Handoff_Reply_Class__c").is_none());
    let sam = lead("sam@globex.com");
    assert_eq!(sam["Handoff_Motion__c"], "outbound");
    assert_eq!(
        sam["Handoff_Account_Reason__c"],
        "Globex opened a second warehouse"
    );
    assert_eq!(sam["Handoff_Reply_Class__c"], "positive");
    assert!(sam.get("Handoff_Routing_Reason__c").is_none());
}

#[tokio::test]
async fn long_packages_are_truncated_and_standard_handoffs_are_normal_priority() {
    let subject = fresh(SalesforceAuth::ClientCredentials).await;
    let mut write = write_for("sf-long");
    write.text = "ü".repeat(40_000);
    if let Some(sla) = write.package.sla.as_mut() {
        sla.policy = "inbound/standard".into();
    }
    last(converge(&*subject, &write, &CrmRefs::default()).await);
    let task = &sf(&subject).tasks()[0];
    let description = task["Description"].as_str().unwrap();
    assert_eq!(description.chars().count(), 32_000);
    assert!(
        description.ends_with(write.package.handoff_id.as_str()),
        "the id survives"
    );
    assert_eq!(task["Priority"], "Normal");
    let seen = sf(&subject).seen(&write.package.handoff_id);
    assert_eq!(seen.tasks, 1);
}
