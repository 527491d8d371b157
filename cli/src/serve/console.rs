//! The local web console of `handoff serve`: `http://127.0.0.1:PORT/` shows the handoff list,
//! one handoff (with claim buttons), the roster, the rules (with the what-if form, which replays
//! the period through edited rules with [`simulate_period`] and writes nothing) and the audit
//! ([`audit_report`]), rendered on the server by [`handoff_report::console`] from the same store
//! and rules the pipeline uses.
//!
//! Everything here, and `GET /v1/handoffs/{id}`, needs the console token ([`auth`]); a form that
//! changes something also needs the form token its page carries. A claim from the console goes
//! through [`Services::claim`], the use case behind claim links and Slack buttons, acting as the
//! rep the button names: the owner, or for a handoff in a queue the rep the operator picks. The
//! timeline records that rep (as their own link would); the server's log says it came from the
//! console. [`links`] puts each handoff's console page into the notifications about it.

pub mod auth;
pub mod links;
mod pages;

pub use auth::ConsoleAuth;

use crate::runtime::{RulesChoice, EMBEDDED_RULES};
use crate::simulate_cmd::simulate_period;
use auth::guard;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Duration, Utc};
use handoff_domain::audit::gather::audit_report;
use handoff_domain::claim_link::ClaimAction;
use handoff_domain::config::{CrmKind, Rules};
use handoff_domain::ids::{HandoffId, RepId};
use handoff_domain::lifecycle::HandoffRecord;
use handoff_domain::ports::NotificationKind;
use handoff_domain::routing::availability_report;
use handoff_domain::routing::lint::lint;
use handoff_domain::service::{ServiceError, Services};
use handoff_domain::simulate::Period;
use handoff_report::console::handoff::{ActAs, CrmView, HandoffView, Outcome, SentNotification};
use handoff_report::console::list::{ListFilter, RepChoice};
use handoff_report::console::rules::{RulesSource, MAX_WHAT_IF_DAYS, WHAT_IF_DAYS};
use handoff_report::console::{self as view};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

/// What the console's routes read.
pub struct Console {
    pub services: Arc<Services>,
    /// The data directory (the local CRM's files and the notification log).
    pub data_dir: PathBuf,
    /// Where the rules come from (the rules page shows their text).
    pub rules: RulesChoice,
    pub auth: ConsoleAuth,
}

/// `app` with the console's routes merged in, and the token required for them and for
/// `GET /v1/handoffs/{id}`.
pub fn mount(app: Router, console: Arc<Console>) -> Router {
    let auth = Arc::new(console.auth.clone());
    app.merge(routes(console))
        .layer(axum::middleware::from_fn_with_state(auth, guard))
}

fn routes(console: Arc<Console>) -> Router {
    Router::new()
        .route("/", get(list))
        .route("/handoffs/{id}", get(handoff))
        .route("/handoffs/{id}/claim", post(claim))
        .route("/roster", get(roster))
        .route("/rules", get(rules))
        .route("/rules/what-if", post(what_if))
        .route("/audit", get(audit))
        .with_state(console)
}

type Shared = State<Arc<Console>>;

/// Added to "now" where a period ends, so that handoffs created at this very instant (under a
/// test clock that has not moved) are in it: periods end before their `to`.
const JUST_NOW: Duration = Duration::seconds(1);

/// Query or form fields by name (the last value of a repeated field wins).
fn fields(text: &[u8]) -> HashMap<String, String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(text)
        .map(|pairs| pairs.into_iter().collect())
        .unwrap_or_default()
}

fn field<'a>(fields: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    fields.get(name).map(String::as_str)
}

/// A store or rules failure as a page (503: worth reloading).
fn unavailable(e: impl std::fmt::Display) -> Response {
    tracing::warn!(error = %e, "console page failed");
    pages::message(
        StatusCode::SERVICE_UNAVAILABLE,
        "Not available right now",
        &format!("The console could not read what this page shows: {e}. Reload in a moment."),
    )
}

impl Console {
    fn now(&self) -> DateTime<Utc> {
        self.services.clock.now()
    }

    async fn rules_now(&self) -> Result<Arc<Rules>, Response> {
        self.services.rules.current().await.map_err(unavailable)
    }
}

/// `GET /`: the handoff list.
async fn list(State(console): Shared, RawQuery(query): RawQuery) -> Response {
    let q = fields(query.unwrap_or_default().as_bytes());
    let (filter, ignored) = ListFilter::parse(
        field(&q, "state"),
        field(&q, "owner"),
        field(&q, "flag"),
        field(&q, "days"),
    );
    let rules = match console.rules_now().await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let now = console.now();
    let from = now - Duration::days(i64::from(filter.days));
    let records = match console
        .services
        .store
        .created_between(from, now + JUST_NOW)
        .await
    {
        Ok(r) => r,
        Err(e) => return unavailable(e),
    };
    let reps: Vec<RepChoice> = rules
        .reps
        .iter()
        .map(|r| RepChoice {
            id: r.id.to_string(),
            name: r.name.clone(),
        })
        .collect();
    pages::html(
        StatusCode::OK,
        view::list::page(&records, &filter, &ignored, &reps, now),
    )
}

/// `GET /handoffs/{id}`: one handoff; `?done=ACTION&rep=REP` after a claim from this page.
async fn handoff(
    State(console): Shared,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let q = fields(query.unwrap_or_default().as_bytes());
    let rules = match console.rules_now().await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let outcome = match (
        field(&q, "done").and_then(ClaimAction::parse),
        field(&q, "rep"),
    ) {
        (Some(action), Some(rep)) => Some(Outcome::Done(done_text(action, rep, &rules))),
        _ => None,
    };
    handoff_page(&console, &rules, &id, outcome, StatusCode::OK).await
}

/// What a claim did, in a sentence.
fn done_text(action: ClaimAction, rep: &str, rules: &Rules) -> String {
    let name = RepId::parse(rep)
        .ok()
        .and_then(|id| rules.rep(&id).map(|r| r.name.clone()))
        .unwrap_or_else(|| "the rep".into());
    match action {
        ClaimAction::Accept => format!("Accepted as {name}."),
        ClaimAction::WrongOwner => {
            format!("{name} passed it on as the wrong owner: it was routed again.")
        }
        ClaimAction::Requalify => {
            format!("{name} sent it back for re-qualification.")
        }
    }
}

async fn handoff_page(
    console: &Console,
    rules: &Rules,
    raw_id: &str,
    outcome: Option<Outcome>,
    status: StatusCode,
) -> Response {
    let Ok(id) = HandoffId::parse(raw_id) else {
        return pages::message(
            StatusCode::NOT_FOUND,
            "No such handoff",
            "That is not a handoff id.",
        );
    };
    let store = &console.services.store;
    let record = match store.get(&id).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            return pages::message(
                StatusCode::NOT_FOUND,
                "No such handoff",
                &format!("There is no handoff {id} (it may have been erased or expired)."),
            )
        }
        Err(e) => return unavailable(e),
    };
    let timeline = match store.timeline(&id).await {
        Ok(t) => t,
        Err(e) => return unavailable(e),
    };
    let (act_as, owner_acts) = act_as(&record, rules);
    let page = view::handoff::page(&HandoffView {
        record: &record,
        timeline: &timeline,
        crm: crm_view(console, rules, &id),
        notifications: sent_notifications(console, rules, &id),
        act_as,
        owner_acts,
        form_token: console.auth.form_token(),
        outcome,
        rules,
        now: console.now(),
    });
    pages::html(status, page)
}

/// Who the console may act as: the owner while they have not accepted; any active rep for a
/// handoff waiting in a queue; nobody otherwise.
fn act_as(record: &HandoffRecord, rules: &Rules) -> (Vec<ActAs>, bool) {
    if !record.state.awaits_owner() {
        return (Vec::new(), false);
    }
    match record.owner.as_ref().map(|o| o.rep.as_ref()) {
        Some(Some(rep)) => {
            let name = rules
                .rep(rep)
                .map_or_else(|| rep.to_string(), |r| r.name.clone());
            (
                vec![ActAs {
                    rep: rep.to_string(),
                    name,
                }],
                true,
            )
        }
        Some(None) => (
            rules
                .reps
                .iter()
                .filter(|r| r.active)
                .map(|r| ActAs {
                    rep: r.id.to_string(),
                    name: r.name.clone(),
                })
                .collect(),
            false,
        ),
        None => (Vec::new(), false),
    }
}

/// What the local file CRM holds (`None` when the rules name another CRM).
fn crm_view(console: &Console, rules: &Rules, id: &HandoffId) -> Option<CrmView> {
    if rules.crm.kind != CrmKind::File {
        return None;
    }
    let written = handoff_local::FileCrm::new(&console.data_dir)
        .and_then(|crm| crm.read(id))
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read the local CRM record");
            None
        });
    Some(written.map_or_else(CrmView::default, |r| CrmView {
        written_at: Some(r.written_at),
        fields: r.fields.into_iter().collect(),
        notes: r.owner_changes,
    }))
}

/// The notifications in the local log (`None` when the rules send them elsewhere and the log
/// has none for this handoff).
fn sent_notifications(
    console: &Console,
    rules: &Rules,
    id: &HandoffId,
) -> Option<Vec<SentNotification>> {
    let logged = handoff_local::LogNotifier::new(&console.data_dir)
        .and_then(|log| log.logged_for(id))
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read the notification log");
            Vec::new()
        });
    let notify = &rules.notify;
    let local_only = notify.slack.is_none() && notify.email.is_none() && notify.webhook.is_none();
    if logged.is_empty() && !local_only {
        return None;
    }
    Some(
        logged
            .into_iter()
            .map(|l| SentNotification {
                at: l.at,
                why: match &l.notification.kind {
                    NotificationKind::Assigned => "assigned to them".to_string(),
                    NotificationKind::MovedAway { to, .. } => format!("moved to {to}"),
                    NotificationKind::NewTouch { .. } => "the buyer got in touch again".into(),
                },
                target: l.notification.target,
                title: l.notification.title,
            })
            .collect(),
    )
}

/// `POST /handoffs/{id}/claim`: `rep`, `action`, `form_token`.
async fn claim(State(console): Shared, Path(id): Path<String>, body: Bytes) -> Response {
    let form = fields(&body);
    if !console.auth.form_token_matches(field(&form, "form_token")) {
        return pages::message(
            StatusCode::FORBIDDEN,
            "Refused",
            "This form did not come from this console (its form token is missing or old). Reload the handoff page and try again.",
        );
    }
    let rules = match console.rules_now().await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let Ok(handoff_id) = HandoffId::parse(&id) else {
        return pages::message(
            StatusCode::NOT_FOUND,
            "No such handoff",
            "That is not a handoff id.",
        );
    };
    let action = field(&form, "action").and_then(ClaimAction::parse);
    let rep = field(&form, "rep").and_then(|r| RepId::parse(r).ok());
    let (Some(action), Some(rep)) = (action, rep) else {
        let refused = Outcome::Refused("Pick an action and a rep.".into());
        return handoff_page(
            &console,
            &rules,
            &id,
            Some(refused),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    match console.services.claim(&handoff_id, &rep, action).await {
        Ok(_) => {
            tracing::info!(handoff_id = %handoff_id, rep = %rep, action = action.as_str(), "claim applied from the console");
            pages::see_other(&format!(
                "/handoffs/{handoff_id}?done={}&rep={rep}",
                action.as_str()
            ))
        }
        Err(e) => {
            let (status, text) = refusal(&e);
            handoff_page(&console, &rules, &id, Some(Outcome::Refused(text)), status).await
        }
    }
}

/// A refused claim as a status and a sentence.
fn refusal(e: &ServiceError) -> (StatusCode, String) {
    match e {
        ServiceError::Conflict(m) => (StatusCode::CONFLICT, format!("Not done: {m}.")),
        ServiceError::Invalid(m) => (StatusCode::BAD_REQUEST, format!("Not done: {m}.")),
        ServiceError::NotFound(id) => (StatusCode::NOT_FOUND, format!("There is no handoff {id}.")),
        ServiceError::Transient(_) | ServiceError::Raced(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Not done: the store is busy. Try again in a moment.".into(),
        ),
        other => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Not done: {other}."),
        ),
    }
}

/// `GET /roster`.
async fn roster(State(console): Shared) -> Response {
    let rules = match console.rules_now().await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let now = console.now();
    let store = &console.services.store;
    let wanted: Vec<_> = rules
        .reps
        .iter()
        .map(|r| (r.id.clone(), now.with_timezone(&r.timezone).date_naive()))
        .collect();
    let (counts, overrides) = match (store.rep_loads(&wanted).await, store.availability().await) {
        (Ok(c), Ok(o)) => (c, o),
        (Err(e), _) | (_, Err(e)) => return unavailable(e),
    };
    let loads: BTreeMap<RepId, u32> = wanted.into_iter().map(|(r, _)| r).zip(counts).collect();
    let report = availability_report(&rules, now, &loads, &overrides);
    pages::html(StatusCode::OK, view::roster::page(&rules, &report, now))
}

/// `GET /rules`.
async fn rules(State(console): Shared) -> Response {
    let rules = match console.rules_now().await {
        Ok(r) => r,
        Err(page) => return page,
    };
    rules_page(&console, &rules, None, WHAT_IF_DAYS, None)
}

/// The rules page; the what-if form holds `edited` (else the rules' own text) and `error`.
fn rules_page(
    console: &Console,
    rules: &Rules,
    edited: Option<String>,
    days: u32,
    error: Option<String>,
) -> Response {
    let (origin, text) = match &console.rules {
        RulesChoice::Embedded => (
            "the example compiled into handoff".to_string(),
            EMBEDDED_RULES.to_string(),
        ),
        RulesChoice::File(path) => (
            path.display().to_string(),
            std::fs::read_to_string(path).unwrap_or_default(),
        ),
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let source = RulesSource {
        origin,
        text: edited.unwrap_or(text),
        days,
        error,
        warnings: lint(rules).into_iter().map(|w| w.message).collect(),
    };
    pages::html(
        status,
        view::rules::page(rules, &source, console.auth.form_token()),
    )
}

/// `POST /rules/what-if`: `rules` (TOML), `days`, `form_token`. Replays the handoffs created
/// in the last `days` under the rules in force and under the posted ones; writes nothing.
async fn what_if(State(console): Shared, body: Bytes) -> Response {
    let form = fields(&body);
    if !console.auth.form_token_matches(field(&form, "form_token")) {
        return pages::message(
            StatusCode::FORBIDDEN,
            "Refused",
            "This form did not come from this console (its form token is missing or old). Reload the rules page and try again.",
        );
    }
    let current = match console.rules_now().await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let edited = field(&form, "rules").unwrap_or_default().to_string();
    let days = match field(&form, "days").map(|d| d.trim().parse::<u32>()) {
        None => WHAT_IF_DAYS,
        Some(Ok(d)) if (1..=MAX_WHAT_IF_DAYS).contains(&d) => d,
        Some(_) => {
            let error =
                format!("The period must be a number of days from 1 to {MAX_WHAT_IF_DAYS}.");
            return rules_page(&console, &current, Some(edited), WHAT_IF_DAYS, Some(error));
        }
    };
    let proposed = match Rules::from_toml("the edited rules", &edited) {
        Ok(r) => r,
        Err(e) => {
            let error = format!("These rules cannot be replayed: {e}");
            return rules_page(&console, &current, Some(edited), days, Some(error));
        }
    };
    let to = console.now() + JUST_NOW;
    let period = Period {
        from: to - Duration::days(i64::from(days)),
        to,
    };
    match simulate_period(console.services.store.as_ref(), &current, &proposed, period).await {
        Ok(sim) => pages::html(StatusCode::OK, view::what_if::page(&sim)),
        Err(e) => unavailable(format!("{e:#}")),
    }
}

/// `GET /audit?days=N` (7 by default): the period's audit beside the period before it.
async fn audit(State(console): Shared, RawQuery(query): RawQuery) -> Response {
    let q = fields(query.unwrap_or_default().as_bytes());
    let days = field(&q, "days")
        .and_then(|d| d.trim().parse::<u32>().ok())
        .filter(|d| (1..=366).contains(d))
        .unwrap_or(7);
    let rules = match console.rules_now().await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let to = console.now() + JUST_NOW;
    let from = to - Duration::days(i64::from(days));
    match audit_report(console.services.store.as_ref(), Some(&rules), from, to).await {
        Ok(report) => pages::html(StatusCode::OK, view::audit::page(&report, days)),
        Err(e) => unavailable(e),
    }
}
