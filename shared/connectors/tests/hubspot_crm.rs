//! The HubSpot CRM adapter against the local HubSpot stand-in: the CRM conformance suite, the
//! documented request shapes, and HubSpot's failures (rate limits, outages, timeouts, refused
//! tokens, unknown properties).

use handoff_connectors::outbound::http::HttpPolicy;
use handoff_connectors::outbound::hubspot::HubspotCrm;
use handoff_connectors::secrets::StaticSecrets;
use handoff_domain::config::HubspotSettings;
use handoff_domain::ids::HandoffId;
use handoff_domain::ports::{Crm, CrmRefs, CrmStep, CrmWrite, DeliveryError};
use handoff_testkit::delivery::{converge, CrmSeen};
use handoff_testkit::fixtures;
use handoff_testkit::hubspot::HubspotStandIn;
use handoff_testkit::standin::{CallLog, Fault, Faults};
use handoff_testkit::Guarded;
use serde_json::{json, Value};
use std::sync::Arc;

const TOKEN: &str = "pat-na1-0d6c3b1e-local-standin";

fn adapter(standin: &HubspotStandIn, token: &str, settings: HubspotSettings) -> HubspotCrm {
    let settings = HubspotSettings {
        api_url: standin.base_url().to_string(),
        ..settings
    };
    let secrets = if token.is_empty() {
        StaticSecrets::default()
    } else {
        StaticSecrets::of(&[("hubspot_token", token)])
    };
    HubspotCrm::new(settings, Arc::new(secrets), HttpPolicy::fast()).expect("adapter")
}

async fn standin() -> HubspotStandIn {
    HubspotStandIn::start(TOKEN, CallLog::new(), Faults::new()).await
}

async fn fresh() -> Guarded<HubspotCrm> {
    let standin = standin().await;
    let crm = adapter(&standin, TOKEN, HubspotSettings::default());
    Guarded::new(crm, standin)
}

fn seen_in(subject: &Guarded<HubspotCrm>, id: &HandoffId) -> CrmSeen {
    subject
        .guard::<HubspotStandIn>()
        .expect("the stand-in rides along")
        .seen(id)
}

handoff_testkit::crm_conformance!(mod hubspot, fresh(), seen_in);

/// A fresh inbound write for a handoff of its own.
fn inbound(name: &str) -> CrmWrite {
    let (record, _) = fixtures::record(name);
    fixtures::crm_write(&fixtures::package(&record))
}

fn last(steps: &[CrmRefs]) -> CrmRefs {
    steps.last().cloned().expect("a step")
}

fn one_of_each(standin: &HubspotStandIn, write: &CrmWrite) {
    let seen = standin.seen(&write.package.handoff_id);
    assert_eq!(
        (seen.contacts, seen.packages, seen.tasks, seen.change_notes),
        (1, 1, 1, 0),
        "{seen:?}"
    );
    assert_eq!(standin.contacts().len(), 1);
}

fn association(to: &str, type_id: u64) -> Value {
    json!([{"to": {"id": to}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]}])
}

fn time_of(v: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(v.as_str().expect("a timestamp"))
        .expect("RFC 3339")
        .to_utc()
}

mod hubspot_requests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hubspot_calls_follow_the_documented_shapes_in_order() {
        let standin = standin().await;
        let crm = adapter(&standin, TOKEN, HubspotSettings::default());
        let write = inbound("hs-shapes");
        let id = write.package.handoff_id.to_string();
        let steps = converge(&crm, &write, &CrmRefs::default()).await;
        assert_eq!(steps.len(), 3, "note, task, done: {steps:?}");
        let done = last(&steps);
        let contact = done.contact.clone().expect("contact id");
        assert_eq!(done.system, "hubspot");
        assert_eq!(done.owner.as_deref(), Some("hs-lena"));
        assert_eq!(done.due, Some(fixtures::at(60)));
        assert_eq!(done.change_notes, 0);

        let requests = standin.requests();
        let paths: Vec<String> = requests
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        assert_eq!(
            paths,
            [
                "POST /crm/v3/objects/contacts/batch/upsert",
                "POST /crm/v3/objects/notes",
                "POST /crm/v3/objects/tasks",
            ]
        );
        for r in &requests {
            assert_eq!(
                r.authorization.as_deref(),
                Some(&*format!("Bearer {TOKEN}"))
            );
            assert!(r
                .content_type
                .as_deref()
                .is_some_and(|t| t.starts_with("application/json")));
        }
        let log = standin.log();
        assert_eq!(log.of("hubspot").len(), 3);
        assert!(
            log.position("notes") > log.position("batch/upsert")
                && log.position("tasks") > log.position("notes")
        );

        let upsert = &requests[0].body;
        let input = &upsert["inputs"][0];
        assert_eq!(upsert["inputs"].as_array().map(Vec::len), Some(1));
        assert_eq!(input["idProperty"], "email");
        assert_eq!(input["id"], fixtures::BUYER_EMAIL);
        let p = &input["properties"];
        assert_eq!(p["email"], fixtures::BUYER_EMAIL);
        assert_eq!(p["firstname"], "Dana");
        assert_eq!(p["lastname"], "Scully");
        assert_eq!(p["company"], "Acme");
        assert_eq!(p["jobtitle"], "Head of RevOps");
        assert_eq!(p["hubspot_owner_id"], "hs-lena");
        assert_eq!(p["handoff_handoff_id"], id.as_str());
        assert_eq!(p["handoff_motion"], "inbound");
        assert_eq!(p["handoff_urgency"], "high");
        assert_eq!(p["handoff_routing_reason"], "round robin: lena is next");
        assert!(p.get("handoff_reply_class").is_none());

        let note = &requests[1].body;
        assert_eq!(note["associations"], association(&contact, 202));
        assert_eq!(time_of(&note["properties"]["hs_timestamp"]), write.now);
        let body = note["properties"]["hs_note_body"].as_str().unwrap();
        assert!(
            body.starts_with(&write.html) && body.contains(&id),
            "{body}"
        );
        assert_eq!(note["properties"]["hubspot_owner_id"], "hs-lena");

        let task = &requests[2].body;
        assert_eq!(task["associations"], association(&contact, 204));
        let tp = &task["properties"];
        assert_eq!(
            time_of(&tp["hs_timestamp"]),
            fixtures::at(60),
            "due at the SLA deadline"
        );
        assert!(tp["hs_task_subject"]
            .as_str()
            .unwrap()
            .starts_with("Handoff: [inbound] demo request"));
        assert!(tp["hs_task_body"].as_str().unwrap().contains(&id));
        assert_eq!(tp["hs_task_status"], "NOT_STARTED");
        assert_eq!(tp["hs_task_priority"], "HIGH", "inbound/hot");
        assert_eq!(tp["hs_task_type"], "TODO");
        assert_eq!(tp["hubspot_owner_id"], "hs-lena");

        // What the stand-in holds, through its accessors.
        let stored = standin.contact(fixtures::BUYER_EMAIL).expect("contact");
        assert_eq!(Some(stored.id.clone()), done.contact);
        assert_eq!(standin.notes_for(fixtures::BUYER_EMAIL).len(), 1);
        let tasks = standin.tasks_for(fixtures::BUYER_EMAIL);
        assert_eq!(tasks.len(), 1);
        assert_eq!(Some(tasks[0].id.clone()), done.task);
        assert_eq!(tasks[0].property("hubspot_owner_id"), Some("hs-lena"));

        // Synced: done at once, without a call.
        let again = crm.sync(&write, &done).await.unwrap();
        assert_eq!(again, CrmStep::Done(done.clone()));
        assert_eq!(
            standin.requests().len(),
            3,
            "no HTTP call when nothing is missing"
        );

        // `synced` belongs to the domain and is kept.
        let marked = CrmRefs {
            synced: Some("hs-lena#0".into()),
            ..done
        };
        assert_eq!(
            crm.sync(&write, &marked).await.unwrap(),
            CrmStep::Done(marked.clone())
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hubspot_outbound_packages_write_the_outbound_fields() {
        use handoff_domain::package::{Motion, MotionFields, ReplyClass, TriggerKind};
        let standin = standin().await;
        let crm = adapter(&standin, TOKEN, HubspotSettings::default());
        let (record, _) = fixtures::record("hs-outbound");
        let mut package = fixtures::package(&record);
        package.classification.motion = Motion::Outbound;
        package.classification.trigger = TriggerKind::PositiveReply;
        package.classification.reply_class = Some(ReplyClass::Positive);
        package.classification.motion_fields = MotionFields::Outbound {
            account_reason: "Tier-1 account: 450 employees, hiring RevOps".into(),
            outreach_history: vec![],
            reply_class: ReplyClass::Positive,
            suggested_next_step: "Offer two demo slots this week".into(),
            reply_owner: Some(fixtures::rep("lena")),
        };
        package.sla.as_mut().unwrap().policy = "outbound/standard".into();
        let write = fixtures::crm_write(&package);
        converge(&crm, &write, &CrmRefs::default()).await;

        let contact = standin.contact(fixtures::BUYER_EMAIL).expect("contact");
        let has = |p: &str| contact.property(p).map(str::to_string);
        assert_eq!(has("handoff_motion").as_deref(), Some("outbound"));
        assert_eq!(has("handoff_reply_class").as_deref(), Some("positive"));
        assert_eq!(
            has("handoff_account_reason").as_deref(),
            Some("Tier-1 account: 450 employees, hiring RevOps")
        );
        assert_eq!(
            has("handoff_suggested_next_step").as_deref(),
            Some("Offer two demo slots this week")
        );
        assert_eq!(has("handoff_reply_owner").as_deref(), Some("lena"));
        for inbound_only in [
            "handoff_urgency",
            "handoff_source",
            "handoff_channel",
            "handoff_meeting_status",
            "handoff_routing_reason",
        ] {
            assert_eq!(has(inbound_only), None, "{inbound_only} is inbound-only");
        }
        let task = &standin.tasks_for(fixtures::BUYER_EMAIL)[0];
        assert_eq!(task.property("hs_task_priority"), Some("MEDIUM"));
        assert!(task
            .property("hs_task_subject")
            .unwrap()
            .starts_with("Handoff: [outbound] positive reply"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hubspot_settings_rename_and_leave_out_properties() {
        let standin = standin().await;
        standin.add_property("why_this_rep");
        let mut settings = HubspotSettings::default();
        settings
            .properties
            .insert("routing_reason".into(), "why_this_rep".into());
        settings.properties.insert("urgency".into(), "".into());
        let crm = adapter(&standin, TOKEN, settings);
        converge(&crm, &inbound("hs-mapped"), &CrmRefs::default()).await;
        let contact = standin.contact(fixtures::BUYER_EMAIL).unwrap();
        assert_eq!(
            contact.property("why_this_rep"),
            Some("round robin: lena is next")
        );
        assert_eq!(contact.property("handoff_routing_reason"), None);
        assert_eq!(contact.property("handoff_urgency"), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hubspot_reroutes_patch_the_task_and_add_escaped_notes() {
        let standin = standin().await;
        let crm = adapter(&standin, TOKEN, HubspotSettings::default());
        let first = inbound("hs-reroute");
        let written = last(&converge(&crm, &first, &CrmRefs::default()).await);
        let task = written.task.clone().unwrap();
        let before = standin.requests().len();

        let moved =
            fixtures::crm_write_moved(&first, Some("max"), "the SLA passed <unclaimed> & late");
        let rerouted = last(&converge(&crm, &moved, &written).await);
        let requests = standin.requests()[before..].to_vec();
        let paths: Vec<String> = requests
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        assert_eq!(
            paths,
            [
                "POST /crm/v3/objects/contacts/batch/upsert".to_string(),
                format!("PATCH /crm/v3/objects/tasks/{task}"),
                "POST /crm/v3/objects/notes".to_string(),
            ]
        );
        assert_eq!(
            requests[0].body["inputs"][0]["properties"]["hubspot_owner_id"],
            "hs-max"
        );
        let patch = &requests[1].body["properties"];
        assert_eq!(patch["hubspot_owner_id"], "hs-max");
        assert_eq!(
            time_of(&patch["hs_timestamp"]),
            moved.package.sla.as_ref().unwrap().deadline
        );
        let note = &requests[2].body;
        assert_eq!(
            note["associations"],
            association(written.contact.as_deref().unwrap(), 202)
        );
        let body = note["properties"]["hs_note_body"].as_str().unwrap();
        assert!(
            body.starts_with("<p>Moved from lena (EMEA AE) to max (EMEA AE)"),
            "{body}"
        );
        assert!(
            body.contains("&lt;unclaimed&gt; &amp; late"),
            "escaped: {body}"
        );
        assert!(body.contains(first.package.handoff_id.as_str()));
        assert_eq!(rerouted.owner.as_deref(), Some("hs-max"));
        assert_eq!(rerouted.change_notes, 1);
        assert_eq!(
            standin
                .contact(fixtures::BUYER_EMAIL)
                .unwrap()
                .property("hubspot_owner_id"),
            Some("hs-max")
        );

        // To the shared queue: the task and the contact lose the owner handoff gave them.
        let queued = fixtures::crm_write_moved(&moved, None, "every rep missed it");
        let in_queue = last(&converge(&crm, &queued, &rerouted).await);
        assert_eq!(in_queue.owner, None);
        let patch = standin
            .requests()
            .into_iter()
            .rev()
            .find(|r| r.method == "PATCH")
            .unwrap();
        assert_eq!(patch.body["properties"]["hubspot_owner_id"], "");
        let contact = standin.contact(fixtures::BUYER_EMAIL).unwrap();
        assert_eq!(
            contact
                .properties
                .get("hubspot_owner_id")
                .map(String::as_str),
            Some("")
        );
        let seen = standin.seen(&first.package.handoff_id);
        assert_eq!(
            (seen.packages, seen.tasks, seen.change_notes, seen.owner),
            (1, 1, 2, None)
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hubspot_unknown_task_is_permanent() {
        let standin = standin().await;
        let crm = adapter(&standin, TOKEN, HubspotSettings::default());
        let first = inbound("hs-gone");
        let written = last(&converge(&crm, &first, &CrmRefs::default()).await);
        let gone = CrmRefs {
            task: Some("424242".into()),
            ..written
        };
        let moved = fixtures::crm_write_moved(&first, Some("max"), "the SLA passed unclaimed");
        match crm.sync(&moved, &gone).await {
            Err(DeliveryError::Permanent(m)) => {
                assert!(m.contains("404") && m.contains("424242"), "{m}")
            }
            other => panic!("{other:?}"),
        }
    }
}

mod hubspot_faults {
    use super::*;
    use std::time::{Duration, Instant};

    fn rate_limited(headers: &[(&str, &str)]) -> Fault {
        Fault::Status {
            status: 429,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: r#"{"status":"error","message":"You have reached your ten_secondly_rolling limit.","errorType":"RATE_LIMIT","correlationId":"c0ffee","policyName":"TEN_SECONDLY_ROLLING"}"#.into(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hubspot_429_with_retry_after_waits_and_writes_once() {
        let standin = standin().await;
        let crm = adapter(&standin, TOKEN, HubspotSettings::default());
        let write = inbound("hs-429");
        // The first call (the upsert) goes through; the note is throttled once.
        let refs = match crm.sync(&write, &CrmRefs::default()).await.unwrap() {
            CrmStep::Progress(r) => r,
            other => panic!("{other:?}"),
        };
        standin.faults().push(Fault::too_many_requests(Some(1)));
        let started = Instant::now();
        converge(&crm, &write, &refs).await;
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "waited Retry-After"
        );
        one_of_each(&standin, &write);
        assert_eq!(
            standin.log().of("hubspot").len(),
            4,
            "{:?}",
            standin.log().calls()
        );

        // Throttled on the first call of a fresh write, too.
        standin.faults().push(Fault::too_many_requests(Some(1)));
        let other = inbound("hs-429-b");
        converge(&crm, &other, &CrmRefs::default()).await;
        let seen = standin.seen(&other.package.handoff_id);
        assert_eq!((seen.packages, seen.tasks), (1, 1));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hubspot_429_with_the_interval_header_is_retried() {
        let standin = standin().await;
        let crm = adapter(&standin, TOKEN, HubspotSettings::default());
        let write = inbound("hs-429-window");
        standin.faults().push(rate_limited(&[
            ("x-hubspot-ratelimit-interval-milliseconds", "400"),
            ("x-hubspot-ratelimit-max", "190"),
            ("x-hubspot-ratelimit-remaining", "0"),
        ]));
        let started = Instant::now();
        converge(&crm, &write, &CrmRefs::default()).await;
        assert!(
            started.elapsed() >= Duration::from_millis(350),
            "waited the rate-limit window"
        );
        one_of_each(&standin, &write);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hubspot_503_then_success() {
        let standin = standin().await;
        let crm = adapter(&standin, TOKEN, HubspotSettings::default());
        let write = inbound("hs-503");
        standin.faults().push(Fault::unavailable());
        standin.faults().push(Fault::unavailable());
        converge(&crm, &write, &CrmRefs::default()).await;
        one_of_each(&standin, &write);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hubspot_slow_answer_times_out_and_is_retried() {
        let standin = standin().await;
        let crm = adapter(&standin, TOKEN, HubspotSettings::default());
        let write = inbound("hs-slow");
        // Longer than HttpPolicy::fast()'s 1.5 s request timeout; the upsert is idempotent.
        standin.faults().push(Fault::Delay(Duration::from_secs(2)));
        let started = Instant::now();
        converge(&crm, &write, &CrmRefs::default()).await;
        assert!(
            started.elapsed() >= HttpPolicy::fast().request_timeout,
            "timed out first"
        );
        one_of_each(&standin, &write);
        assert!(
            standin.log().of("hubspot").len() >= 4,
            "the upsert was sent again"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hubspot_persistent_503_is_transient_and_resuming_duplicates_nothing() {
        let standin = standin().await;
        let crm = adapter(&standin, TOKEN, HubspotSettings::default());
        let write = inbound("hs-down");
        let refs = match crm.sync(&write, &CrmRefs::default()).await.unwrap() {
            CrmStep::Progress(r) => r,
            other => panic!("{other:?}"),
        };
        for _ in 0..HttpPolicy::fast().attempts {
            standin.faults().push(Fault::unavailable());
        }
        match crm.sync(&write, &refs).await {
            Err(DeliveryError::Transient(m)) => {
                assert!(m.contains("503") && !m.contains(TOKEN), "{m}")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(standin.tasks().len(), 0);
        converge(&crm, &write, &refs).await;
        one_of_each(&standin, &write);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hubspot_refused_token_is_permanent_and_names_the_credentials() {
        let standin = standin().await;
        let crm = adapter(
            &standin,
            "pat-na1-revoked-token",
            HubspotSettings::default(),
        );
        match crm.sync(&inbound("hs-401"), &CrmRefs::default()).await {
            Err(DeliveryError::Permanent(m)) => {
                assert!(m.contains("401") && m.contains("credentials"), "{m}");
                assert!(m.contains("hubspot_token"), "{m}");
                assert!(
                    !m.contains("pat-na1-revoked-token"),
                    "the token stays secret: {m}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(standin.log().of("hubspot").len(), 1, "not retried");
        assert!(standin.contacts().is_empty());

        let unset = adapter(&standin, "", HubspotSettings::default());
        match unset
            .sync(&inbound("hs-no-secret"), &CrmRefs::default())
            .await
        {
            Err(DeliveryError::Permanent(m)) => assert!(m.contains("hubspot_token"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            standin.log().of("hubspot").len(),
            1,
            "no call without a token"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hubspot_unknown_property_is_permanent_and_named() {
        let standin = standin().await;
        standin.remove_property("handoff_urgency");
        let crm = adapter(&standin, TOKEN, HubspotSettings::default());
        let write = inbound("hs-400");
        match crm.sync(&write, &CrmRefs::default()).await {
            Err(DeliveryError::Permanent(m)) => {
                assert!(m.contains("\"handoff_urgency\" does not exist"), "{m}");
                assert!(m.contains("create the custom property, see README"), "{m}");
            }
            other => panic!("{other:?}"),
        }
        assert!(standin.contacts().is_empty());

        // Leaving the field out in the settings is the other way out.
        let mut settings = HubspotSettings::default();
        settings.properties.insert("urgency".into(), "".into());
        let without = adapter(&standin, TOKEN, settings);
        converge(&without, &write, &CrmRefs::default()).await;
        one_of_each(&standin, &write);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hubspot_missing_scope_is_permanent_and_names_it() {
        let standin = standin().await;
        let crm = adapter(&standin, TOKEN, HubspotSettings::default());
        standin.faults().push(Fault::Status {
            status: 403,
            headers: vec![],
            body: r#"{"status":"error","message":"This app hasn't been granted all required scopes to make this call.","correlationId":"c1","errors":[{"message":"One or more of the following scopes are required.","context":{"requiredGranularScopes":["crm.objects.contacts.write"]}}],"category":"MISSING_SCOPES"}"#.into(),
        });
        match crm.sync(&inbound("hs-403"), &CrmRefs::default()).await {
            Err(DeliveryError::Permanent(m)) => {
                assert!(
                    m.contains("403") && m.contains("crm.objects.contacts.write"),
                    "{m}"
                )
            }
            other => panic!("{other:?}"),
        }
    }
}
