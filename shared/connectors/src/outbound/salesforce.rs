//! The Salesforce CRM behind the domain's [`Crm`] port: the buyer's Lead (or existing Contact)
//! with its owner and the configured handoff fields, and a Task for the owner holding the
//! six-part package.
//!
//! # Sign-in
//!
//! [`auth`]: OAuth 2.0 client credentials (secrets `salesforce_client_id` and
//! `salesforce_client_secret`, against your My Domain URL) or JWT bearer (secrets
//! `salesforce_client_id` and `salesforce_private_key`, a PKCS#8 PEM whose certificate is on the
//! connected app; `sub` = `crm.salesforce.username`). The access token and its `instance_url`
//! are cached until `expires_in` runs out (when Salesforce sends it) or a call answers
//! `401 INVALID_SESSION_ID`; then one new token is fetched and the call repeated once. Every
//! data call goes to the `instance_url` of the token, REST API `crm.salesforce.api_version`.
//!
//! # Flow of one handoff
//!
//! 1. **Find** (one `POST …/composite`, three SOQL query subrequests): the newest Contact with
//!    the buyer's email, the newest unconverted Lead with it, and a Task this handoff already
//!    created (its `Subject` ends with `[<handoff id>]`, created in the last 14 days).
//! 2. **Write** (one `POST …/composite`, `allOrNone: true`): create the Lead (`LastName`,
//!    `FirstName`, `Company`, `Email`, `Title`, `LeadSource`, `OwnerId`, configured fields) —
//!    or `PATCH` the Contact / Lead found (`OwnerId`, configured fields) — and create the Task
//!    (`WhoId` = the Lead/Contact or `@{refLead.id}`, `OwnerId`, `Subject`, `ActivityDate` = the
//!    SLA deadline's date, `Description` = the package, `Status`, `Priority`). Every
//!    subresponse is checked; the first real error (not `PROCESSING_HALTED`) is reported.
//!    → [`CrmStep::Progress`] with `contact` = `Lead/<id>` or `Contact/<id>`, `task`, `owner`,
//!    `due`.
//! 3. **Owner change** (one `POST …/composite`, `allOrNone: true`, only when the owner or the
//!    deadline differs from the refs or an owner-change note is missing): `PATCH Task`
//!    (`OwnerId`, `ActivityDate`), `PATCH` the Lead/Contact (`OwnerId`, configured fields)
//!    when there is an owner, and `POST Note` (`ParentId`, `Title`, `Body`) for the next
//!    missing note → `Progress` (one note per step), or [`CrmStep::Done`] when it only patched.
//! 4. When the refs show everything written → `Done` without any HTTP call.
//!
//! API calls per handoff: **2** (find + write) plus the token call once per token lifetime;
//! **1** more per owner change; **0** for a replay.
//!
//! # Exactly once
//!
//! The domain saves the refs after every `Progress`, so a step is never repeated after it was
//! recorded. Steps are atomic (`allOrNone`): a failed composite leaves nothing behind. The one
//! window left — Salesforce applied the write composite but the answer was lost (a timeout) —
//! is closed by two choices: the write composite is sent **once** (no in-call retry; the
//! failure goes back to the queue as transient), and the next sync's find step looks for the
//! Task by the handoff id in its `Subject` and records it instead of creating another. Reads,
//! token calls and owner-change composites are retried in the call: `PATCH` is idempotent and
//! a composite answered with an error was rolled back. What remains: an owner-change composite
//! whose answer is lost after Salesforce applied it is sent again, which can add a second copy
//! of that owner-change note (never a second Lead, Task or package).
//!
//! When the handoff sits in the shared queue the Task belongs to the integration user (the
//! token's user); the refs record no owner. Errors: `REQUEST_LIMIT_EXCEEDED`,
//! `SERVER_UNAVAILABLE`, 5xx and timeouts are transient; validation errors
//! (`INVALID_FIELD`, `REQUIRED_FIELD_MISSING`, `FIELD_CUSTOM_VALIDATION_EXCEPTION`…) with
//! Salesforce's message and fields, a 401 after a fresh token, other 403 and 404 are permanent.
//! Configured `fields` are written to the Lead or Contact, so each must exist on both objects.

pub mod api;
pub mod auth;
mod records;

use crate::outbound::http::{send, HttpPolicy, Response};
use crate::secrets::SecretSource;
use api::{Sub, SubResult};
use async_trait::async_trait;
use auth::{SalesforceAuthenticator, SalesforceToken};
use handoff_domain::config::SalesforceSettings;
use handoff_domain::ports::{Crm, CrmRefs, CrmStep, CrmWrite, DeliveryError};
pub use records::DESCRIPTION_LIMIT;
use records::{
    clip, configured_fields, lead_body, missing_id, task_body, text, wanted_due, wanted_owner, Who,
};
use serde_json::{Map, Value};
use std::sync::Arc;

/// `CrmRefs::system` for this adapter.
pub const SYSTEM: &str = "salesforce";
/// The `Title` of owner-change notes.
pub const NOTE_TITLE: &str = "handoff: owner changed";
/// How far back the find step looks for a Task a lost write created.
const RECOVERY_DAYS: u32 = 14;

/// The Salesforce CRM adapter.
#[derive(Debug)]
pub struct SalesforceCrm {
    api_version: String,
    fields: Vec<(String, String)>,
    auth: SalesforceAuthenticator,
    http: reqwest::Client,
    policy: HttpPolicy,
}

impl SalesforceCrm {
    /// An adapter for `settings`, with credentials from `secrets` (read at sign-in) and the
    /// timeouts and retries of `policy`. Fails (permanently) on unusable settings.
    pub fn new(
        settings: SalesforceSettings,
        secrets: Arc<dyn SecretSource>,
        policy: HttpPolicy,
    ) -> Result<Self, DeliveryError> {
        let api_version = settings.api_version.trim().trim_matches('/').to_string();
        if !api_version.starts_with('v') || api_version.len() < 2 {
            return Err(DeliveryError::Permanent(format!(
                "crm.salesforce.api_version {api_version:?} should look like \"v61.0\""
            )));
        }
        let http = policy.client()?;
        let auth = SalesforceAuthenticator::new(&settings, secrets, http.clone(), policy)?;
        let fields = settings
            .fields
            .iter()
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        Ok(Self {
            api_version,
            fields,
            auth,
            http,
            policy,
        })
    }

    /// The sign-in and token cache this adapter uses.
    pub fn authenticator(&self) -> &SalesforceAuthenticator {
        &self.auth
    }

    /// Sends one composite request (with one token renewal on 401) and returns its
    /// subresponses, in order. `retry`: whether `send` may repeat it on transient failures.
    async fn composite(
        &self,
        what: &str,
        all_or_none: bool,
        subs: &[Sub],
        retry: bool,
    ) -> Result<Vec<SubResult>, DeliveryError> {
        let body = api::composite(&self.api_version, all_or_none, subs);
        let policy = if retry {
            self.policy
        } else {
            HttpPolicy {
                attempts: 1,
                ..self.policy
            }
        };
        let token = self.auth.token().await?;
        let mut response = self.post(&policy, what, &token, &body).await?;
        if response.status == 401 {
            tracing::info!(
                what,
                "salesforce refused the cached token; signing in again"
            );
            self.auth.invalidate(&token).await;
            let token = self.auth.token().await?;
            response = self.post(&policy, what, &token, &body).await?;
            if response.status == 401 {
                return Err(DeliveryError::Permanent(format!(
                    "{what}: HTTP 401 with a freshly issued token; check the connected app's \
                     OAuth scopes (api) and the integration user {}",
                    response.excerpt()
                )));
            }
        }
        let results = api::sub_results(&response.json());
        if results.len() != subs.len() {
            return Err(DeliveryError::Permanent(format!(
                "{what}: unexpected composite answer ({} of {} subresponses): {}",
                results.len(),
                subs.len(),
                response.excerpt()
            )));
        }
        Ok(results)
    }

    async fn post(
        &self,
        policy: &HttpPolicy,
        what: &str,
        token: &SalesforceToken,
        body: &Value,
    ) -> Result<Response, DeliveryError> {
        let url = format!(
            "{}/services/data/{}/composite",
            token.instance_url, self.api_version
        );
        send(
            policy,
            what,
            || {
                self.http
                    .post(&url)
                    .bearer_auth(token.bearer())
                    .header(reqwest::header::ACCEPT, "application/json")
                    .json(body)
            },
            |r| api::verdict(what, r),
        )
        .await
    }

    /// Steps 1 and 2: find the buyer (and a Task a lost write created), then create what is
    /// missing. Returns the refs to record.
    async fn create(
        &self,
        write: &CrmWrite,
        mut refs: CrmRefs,
        who: Option<Who>,
    ) -> Result<CrmRefs, DeliveryError> {
        let id = write.package.handoff_id.as_str();
        let email = api::soql_escape(write.package.classification.buyer.email.as_str());
        let mut subs = Vec::new();
        if who.is_none() {
            subs.push(Sub::query(
                "contact",
                &format!(
                    "SELECT Id, OwnerId FROM Contact WHERE Email = '{email}' \
                     ORDER BY LastModifiedDate DESC LIMIT 1"
                ),
            ));
            subs.push(Sub::query(
                "lead",
                &format!(
                    "SELECT Id, OwnerId FROM Lead WHERE Email = '{email}' AND IsConverted = false \
                     ORDER BY LastModifiedDate DESC LIMIT 1"
                ),
            ));
        }
        subs.push(Sub::query(
            "task",
            &format!(
                "SELECT Id, OwnerId, WhoId, ActivityDate FROM Task WHERE Subject LIKE '%[{}]' \
                 AND CreatedDate = LAST_N_DAYS:{RECOVERY_DAYS} ORDER BY CreatedDate ASC LIMIT 1",
                api::soql_like_escape(id)
            ),
        ));
        let found = self
            .composite("salesforce find", false, &subs, true)
            .await?;
        let first = |reference: &str| {
            api::find(&found, reference)
                .and_then(|r| r.body["records"].as_array())
                .and_then(|records| records.first())
                .cloned()
        };

        if let Some(task) = first("task") {
            // A write whose answer was lost: record what it created instead of repeating it.
            let task_id = text(&task, "Id");
            let who = who.or_else(|| Who::from_id(&text(&task, "WhoId")));
            let (Some(who), false) = (who, task_id.is_empty()) else {
                return Err(DeliveryError::Permanent(format!(
                    "salesforce find: task {task_id} of handoff {id} names no Lead or Contact"
                )));
            };
            let integration = self.auth.token().await?.user_id;
            let owner = Some(text(&task, "OwnerId"))
                .filter(|o| !o.is_empty() && Some(o) != integration.as_ref());
            let due = wanted_due(write)
                .filter(|d| text(&task, "ActivityDate") == d.format("%Y-%m-%d").to_string());
            tracing::info!(handoff_id = id, task_id = %task_id, "salesforce task found from an earlier attempt");
            refs.contact = Some(who.to_ref());
            refs.task = Some(task_id);
            refs.owner = owner;
            refs.due = due;
            return Ok(refs);
        }

        let found_who = who.or_else(|| {
            first("contact")
                .map(|c| Who::contact(text(&c, "Id")))
                .or_else(|| first("lead").map(|l| Who::lead(text(&l, "Id"))))
                .filter(|w| !w.id.is_empty())
        });
        let owner = wanted_owner(write);
        let mut subs = Vec::new();
        let who_id = match &found_who {
            Some(w) => {
                let mut body = Map::new();
                if let Some(o) = &owner {
                    body.insert("OwnerId".into(), Value::from(o.clone()));
                }
                configured_fields(&self.fields, write, &mut body);
                if !body.is_empty() {
                    subs.push(Sub::update("refWho", w.object, &w.id, body));
                }
                w.id.clone()
            }
            None => {
                subs.push(Sub::create(
                    "refLead",
                    "Lead",
                    lead_body(&self.fields, write),
                ));
                "@{refLead.id}".to_string()
            }
        };
        subs.push(Sub::create("refTask", "Task", task_body(write, &who_id)));
        let results = self
            .composite("salesforce write", true, &subs, false)
            .await?;
        let created = |reference: &str| {
            api::find(&results, reference)
                .map(|r| text(&r.body, "id"))
                .filter(|id| !id.is_empty())
        };
        let who = match found_who {
            Some(w) => w,
            None => Who::lead(created("refLead").ok_or_else(|| missing_id("Lead"))?),
        };
        let task = created("refTask").ok_or_else(|| missing_id("Task"))?;
        tracing::info!(handoff_id = id, contact_ref = %who.to_ref(), task_id = %task, "salesforce lead/contact and task written");
        refs.contact = Some(who.to_ref());
        refs.task = Some(task);
        refs.owner = owner;
        refs.due = wanted_due(write);
        Ok(refs)
    }

    /// Step 3: owner / deadline and the next missing owner-change note.
    async fn update(
        &self,
        write: &CrmWrite,
        mut refs: CrmRefs,
        who: Who,
        task: String,
    ) -> Result<CrmStep, DeliveryError> {
        let owner = wanted_owner(write);
        let due = wanted_due(write);
        let note = write.changes.get(refs.change_notes as usize);
        let moved = refs.owner != owner || refs.due != due;
        if !moved && note.is_none() {
            return Ok(CrmStep::Done(refs));
        }
        let mut subs = Vec::new();
        if moved {
            let mut task_body = Map::new();
            let task_owner = match &owner {
                Some(o) => Some(o.clone()),
                // The shared queue: give the task back to the integration user.
                None => self.auth.token().await?.user_id,
            };
            if let Some(o) = task_owner {
                task_body.insert("OwnerId".into(), Value::from(o));
            }
            task_body.insert(
                "ActivityDate".into(),
                due.map(|d| Value::from(d.format("%Y-%m-%d").to_string()))
                    .unwrap_or(Value::Null),
            );
            subs.push(Sub::update("refTask", "Task", &task, task_body));
            let mut who_body = Map::new();
            if let Some(o) = &owner {
                who_body.insert("OwnerId".into(), Value::from(o.clone()));
            }
            configured_fields(&self.fields, write, &mut who_body);
            if !who_body.is_empty() {
                subs.push(Sub::update("refWho", who.object, &who.id, who_body));
            }
        }
        if let Some(n) = note {
            let mut body = Map::new();
            body.insert("ParentId".into(), Value::from(who.id.clone()));
            body.insert("Title".into(), Value::from(NOTE_TITLE));
            body.insert(
                "Body".into(),
                Value::from(clip(
                    &format!(
                        "{}\n\nHandoff {}",
                        handoff_domain::render::escape::plain_line(&n.text),
                        write.package.handoff_id
                    ),
                    DESCRIPTION_LIMIT,
                )),
            );
            subs.push(Sub::create("refNote", "Note", body));
        }
        let results = self
            .composite("salesforce owner change", true, &subs, true)
            .await?;
        refs.owner = owner;
        refs.due = due;
        if note.is_some() {
            let id = api::find(&results, "refNote")
                .map(|r| text(&r.body, "id"))
                .unwrap_or_default();
            if id.is_empty() {
                return Err(missing_id("Note"));
            }
            refs.change_notes += 1;
            tracing::info!(handoff_id = %write.package.handoff_id, note_id = %id, "salesforce owner-change note written");
            return Ok(CrmStep::Progress(refs));
        }
        Ok(CrmStep::Done(refs))
    }
}

#[async_trait]
impl Crm for SalesforceCrm {
    async fn sync(&self, write: &CrmWrite, refs: &CrmRefs) -> Result<CrmStep, DeliveryError> {
        let refs = refs.for_system(SYSTEM);
        let who = refs.contact.as_deref().and_then(Who::parse);
        match (who, refs.task.clone()) {
            (Some(who), Some(task)) => self.update(write, refs, who, task).await,
            (who, _) => Ok(CrmStep::Progress(self.create(write, refs, who).await?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_checks_the_settings() {
        let secrets: Arc<dyn SecretSource> = Arc::new(crate::secrets::StaticSecrets::default());
        let mut s = SalesforceSettings::default();
        assert!(SalesforceCrm::new(s.clone(), secrets.clone(), HttpPolicy::fast()).is_ok());
        s.auth = handoff_domain::config::SalesforceAuth::JwtBearer;
        assert!(matches!(
            SalesforceCrm::new(s.clone(), secrets.clone(), HttpPolicy::fast()),
            Err(DeliveryError::Permanent(_))
        ));
        s.username = Some("integration@acme.example".into());
        s.api_version = "61".into();
        assert!(SalesforceCrm::new(s, secrets, HttpPolicy::fast()).is_err());
    }
}
