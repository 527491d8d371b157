//! `POST /slack/actions`: the Slack app's Interactivity Request URL (the Claim / Wrong owner /
//! Needs re-qualification buttons of handoff's messages).
//!
//! 1. Verify `X-Slack-Signature` over the raw body with the secret `slack_signing_secret`
//!    (every configured value during a rotation) and `X-Slack-Request-Timestamp` within five
//!    minutes of the clock; anything else is a JSON 401 (a missing secret is logged with where
//!    it is expected).
//! 2. Read the `payload`; only `block_actions` carrying one of handoff's buttons is handled
//!    (anything else: 200, nothing done; a malformed payload: 400 naming the field).
//! 3. Map the clicking Slack member to a rep through the roster's `slack_user_id`; a stranger
//!    gets an ephemeral "not on the roster" and nothing changes.
//! 4. Apply the claim with the same use case as claim links (retrying a lost version race);
//!    on success the message is updated to say who did what (buttons removed), so two people
//!    clicking see one winner; on a conflict the clicker gets an ephemeral naming who has it.
//! 5. Answer 200 with an empty body (Slack wants it within 3 s: the Slack calls here use short
//!    timeouts and one retry, and are best effort).

use crate::{ApiError, AppState};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use handoff_connectors::outbound::http::HttpPolicy;
use handoff_connectors::outbound::secret_names::SLACK_SIGNING_SECRET;
use handoff_connectors::outbound::slack::{
    self as slack, escape_mrkdwn, Click, Interaction, Resolution, SlackNotifier,
};
use handoff_connectors::secrets::SecretSource;
use handoff_connectors::AuthError;
use handoff_domain::claim_link::ClaimAction;
use handoff_domain::config::{Rep, Rules, SlackSettings};
use handoff_domain::lifecycle::State as HandoffState;
use handoff_domain::service::ServiceError;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// Short timeouts: Slack shows the clicker an error unless we answer within 3 s.
fn interactive_policy() -> HttpPolicy {
    HttpPolicy {
        connect_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_millis(1000),
        attempts: 2,
        min_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(200),
        max_wait: Duration::from_secs(1),
    }
}

struct CachedClient {
    settings: SlackSettings,
    secrets: Arc<dyn SecretSource>,
    client: Arc<SlackNotifier>,
}

/// Slack clients by settings and secrets source, so a click does not build a client.
static CLIENTS: OnceLock<Mutex<Vec<CachedClient>>> = OnceLock::new();
const MAX_CACHED_CLIENTS: usize = 8;

fn client_for(app: &AppState, settings: Option<&SlackSettings>) -> Option<Arc<SlackNotifier>> {
    let settings = settings?;
    let secrets = &app.intake.secrets;
    let mut cache = CLIENTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(c) = cache
        .iter()
        .find(|c| &c.settings == settings && Arc::ptr_eq(&c.secrets, secrets))
    {
        return Some(c.client.clone());
    }
    match SlackNotifier::new(settings.clone(), secrets.clone(), interactive_policy()) {
        Ok(client) => {
            let client = Arc::new(client);
            if cache.len() >= MAX_CACHED_CLIENTS {
                cache.remove(0);
            }
            cache.push(CachedClient {
                settings: settings.clone(),
                secrets: secrets.clone(),
                client: client.clone(),
            });
            Some(client)
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot build the Slack client; messages will not be updated");
            None
        }
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn done() -> Response {
    StatusCode::OK.into_response()
}

/// `POST /slack/actions`.
pub async fn actions(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    verify(&app, &headers, &body).await?;
    let click = match slack::parse_interaction(&body)
        .map_err(|e| ApiError::bad_request("invalid_payload", e.to_string()))?
    {
        Interaction::Ignored(why) => {
            tracing::debug!(%why, "Slack interaction ignored");
            return Ok(done());
        }
        Interaction::Click(click) => click,
    };
    let rules = app
        .services
        .rules
        .current()
        .await
        .map_err(ServiceError::from)?;
    let client = client_for(&app, rules.notify.slack.as_ref());
    let Some(rep) = rules
        .reps
        .iter()
        .find(|r| r.slack_user_id.as_deref().map(str::trim) == Some(click.user_id.as_str()))
    else {
        tracing::info!(slack_user_id = %click.user_id, handoff_id = %click.handoff_id, "Slack click by a member not on the roster");
        tell(
            client.as_deref(),
            &click,
            "Your Slack account is not on the handoff roster, so this button does nothing for you. Ask your sales ops admin to add your Slack member id (slack_user_id) to the roster.",
        )
        .await;
        return Ok(done());
    };
    let outcome = claim(&app, &click, rep).await;
    match outcome {
        Ok(()) => {
            tracing::info!(handoff_id = %click.handoff_id, rep = %rep.id, action = click.action.as_str(), "Slack claim applied");
            resolve_message(&app, client.as_deref(), &rules, &click, rep).await;
        }
        Err(ServiceError::Conflict(reason)) => {
            tracing::info!(handoff_id = %click.handoff_id, rep = %rep.id, %reason, "Slack claim refused");
            // Who has it now says it best; the service's reason (which names the same owner
            // with the handoff id) only when the record cannot tell.
            let why = match who_has_it(&app, &rules, &click).await {
                Some(now) => now,
                None => format!("{reason}."),
            };
            let text = format!("Could not {}: {}", verb(click.action), escape_mrkdwn(&why));
            tell(client.as_deref(), &click, &text).await;
        }
        Err(e) => {
            tracing::warn!(handoff_id = %click.handoff_id, rep = %rep.id, error = %e, "Slack claim failed");
            let text = format!(
                "Could not apply {}: {}",
                slack::blocks::button_label(click.action),
                escape_mrkdwn(&e.to_string())
            );
            tell(client.as_deref(), &click, &text).await;
        }
    }
    Ok(done())
}

/// Step 1: the signature and timestamp, over the raw body.
async fn verify(app: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<(), ApiError> {
    let secrets = app
        .intake
        .secrets
        .secrets(SLACK_SIGNING_SECRET)
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    let Some(secrets) = secrets else {
        let location = app.intake.secrets.location(SLACK_SIGNING_SECRET);
        tracing::warn!(missing = %location, "no Slack signing secret configured: /slack/actions refused");
        return Err(ApiError::unauthorized(
            AuthError::NoSecret(location).to_string(),
        ));
    };
    slack::verify_request(
        &secrets,
        header(headers, slack::TIMESTAMP_HEADER),
        header(headers, slack::SIGNATURE_HEADER),
        body,
        app.services.clock.now(),
    )
    .map_err(|e| {
        tracing::info!(reason = %e, "Slack request refused");
        ApiError::unauthorized(e.to_string())
    })
}

/// Step 4: the claim use case (which retries a lost race itself and then answers who has it).
async fn claim(app: &AppState, click: &Click, rep: &Rep) -> Result<(), ServiceError> {
    app.services
        .claim(&click.handoff_id, &rep.id, click.action)
        .await
        .map(|_| ())
}

fn verb(action: ClaimAction) -> &'static str {
    match action {
        ClaimAction::Accept => "claim this handoff",
        ClaimAction::WrongOwner => "report the wrong owner",
        ClaimAction::Requalify => "ask for re-qualification",
    }
}

/// The name of a rep id, else the owner display.
fn owner_name(rules: &Rules, record: &handoff_domain::lifecycle::HandoffRecord) -> Option<String> {
    let owner = record.owner.as_ref()?;
    Some(
        owner
            .rep
            .as_ref()
            .and_then(|id| rules.rep(id))
            .map(|r| r.name.clone())
            .unwrap_or_else(|| owner.display.clone()),
    )
}

/// "Lena Fischer already claimed it." / "It is with … now." for a refused click.
async fn who_has_it(app: &AppState, rules: &Rules, click: &Click) -> Option<String> {
    let record = app.services.store.get(&click.handoff_id).await.ok()??;
    let name = owner_name(rules, &record)?;
    Some(match record.state {
        HandoffState::Accepted => format!("{name} already claimed it."),
        HandoffState::ClosedWithoutHandoff => "It was closed.".to_string(),
        _ => format!("It is with {name} now."),
    })
}

/// Updates the clicked message to its final state (who did what, no buttons).
async fn resolve_message(
    app: &AppState,
    client: Option<&SlackNotifier>,
    rules: &Rules,
    click: &Click,
    rep: &Rep,
) {
    let (Some(client), Some(channel), Some(ts)) = (client, &click.channel, &click.message_ts)
    else {
        return;
    };
    let record = match app.services.store.get(&click.handoff_id).await {
        Ok(Some(r)) => r,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(handoff_id = %click.handoff_id, error = %e, "cannot re-read the handoff to update the Slack message");
            return;
        }
    };
    let Some(package) = record.package() else {
        return;
    };
    let now_with = owner_name(rules, &record);
    let resolution = Resolution::of_click(click.action, rep.name.clone(), now_with);
    let text = slack::resolved_text(&package, &resolution);
    let blocks = slack::resolved_blocks(&package, &resolution);
    if let Err(e) = client.update_message(channel, ts, &text, &blocks).await {
        tracing::warn!(handoff_id = %click.handoff_id, error = %e, "cannot update the Slack message");
    }
}

/// An ephemeral to the clicker (best effort).
async fn tell(client: Option<&SlackNotifier>, click: &Click, text: &str) {
    let (Some(client), Some(channel)) = (client, &click.channel) else {
        tracing::info!(slack_user_id = %click.user_id, "no Slack client or channel to answer the clicker");
        return;
    };
    if let Err(e) = client.post_ephemeral(channel, &click.user_id, text).await {
        tracing::warn!(slack_user_id = %click.user_id, error = %e, "cannot send the Slack ephemeral");
    }
}
