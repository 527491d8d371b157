//! Provider webhook routes: one per [`Provider`] of the registry (`POST /forms/typeform`,
//! `POST /email/mailgun`, …, and the agents' `POST /v1/events`), all through one handler:
//!
//! 1. read the raw body (at most [`MAX_PROVIDER_BODY_BYTES`], else 413);
//! 2. check the media type (415);
//! 3. verify the credentials over the raw bytes with the provider's secret(s) (401; a provider
//!    with no secret configured is refused and the log names the missing variable or secret);
//! 4. parse into canonical events (400 naming the field); fetch contacts a webhook only names
//!    (HubSpot's Webhooks API);
//! 5. record a one-time token as used (Mailgun; a replay is 401);
//! 6. intake (store + enqueue) → 202 with the handoff ids. Nothing is stored or enqueued before
//!    step 6, so a refused request leaves no trace.

use crate::{ApiError, AppState};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::Json;
use handoff_connectors::provider::{Parsed, Provider};
use handoff_connectors::RawRequest;
use handoff_domain::event::IntakeEvent;
use handoff_domain::ports::OutboundThread;
use handoff_domain::service::intake::IntakeReceipt;
use serde_json::json;

/// The secret holding the HubSpot private-app token used to read contacts a Webhooks API event
/// names (`HANDOFF_SECRET_HUBSPOT_TOKEN` locally, `<prefix>hubspot_token` in Secrets Manager).
pub const HUBSPOT_TOKEN: &str = "hubspot_token";

/// Largest provider request accepted (function URLs allow 6 MB; no provider here needs more
/// than a mail with its attachments' metadata).
pub const MAX_PROVIDER_BODY_BYTES: usize = 1024 * 1024;

/// The request as the provider sent it, with the URL it called (HubSpot signs the URL).
pub(crate) async fn raw_request(
    app: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> Result<RawRequest, ApiError> {
    let body = axum::body::to_bytes(body, MAX_PROVIDER_BODY_BYTES)
        .await
        .map_err(|_| ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "payload_too_large",
            message: format!("the body is larger than {MAX_PROVIDER_BODY_BYTES} bytes"),
        })?;
    let path_and_query = uri.path_and_query().map_or("/", |p| p.as_str());
    let url = match (&app.intake.public_base_url, uri.scheme_str(), uri.host()) {
        (Some(base), _, _) => format!("{}{path_and_query}", base.trim_end_matches('/')),
        (None, Some(scheme), Some(_)) => format!(
            "{scheme}://{}{path_and_query}",
            uri.authority().map_or("", |a| a.as_str())
        ),
        (None, _, _) => {
            let host = headers
                .get(axum::http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            format!("http://{host}{path_and_query}")
        }
    };
    Ok(RawRequest {
        method: method.as_str().to_ascii_uppercase(),
        url,
        headers: headers
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    k.as_str().to_ascii_lowercase(),
                    v.to_str().ok()?.to_string(),
                ))
            })
            .collect(),
        body: body.to_vec(),
    })
}

/// Checks the media type and the credentials; what a verified request may carry.
pub(crate) async fn authenticate(
    app: &AppState,
    provider: &dyn Provider,
    request: &RawRequest,
) -> Result<handoff_connectors::Verified, ApiError> {
    let media = request.media_type();
    if !provider.media_types().contains(&media.as_str()) {
        return Err(ApiError {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "unsupported_media_type",
            message: format!(
                "{} accepts {}, not {:?}",
                provider.path(),
                provider.media_types().join(" or "),
                media
            ),
        });
    }
    let secrets = app
        .intake
        .secrets
        .secrets(provider.name())
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    let Some(secrets) = secrets else {
        let location = app.intake.secrets.location(provider.name());
        tracing::warn!(provider = provider.name(), missing = %location, "no secret configured: request refused");
        return Err(ApiError::unauthorized(
            handoff_connectors::AuthError::NoSecret(location).to_string(),
        ));
    };
    provider
        .verify(request, &secrets, app.services.clock.now())
        .map_err(|e| {
            tracing::info!(provider = provider.name(), reason = %e, "credentials refused");
            ApiError::unauthorized(e.to_string())
        })
}

/// `POST <provider path>`: verify, parse, intake.
pub(crate) async fn intake(
    app: AppState,
    provider: &'static dyn Provider,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    let request = raw_request(&app, &method, &uri, &headers, body).await?;
    let verified = authenticate(&app, provider, &request).await?;
    let now = app.services.clock.now();
    let parsed = provider.parse(&request, now).map_err(|e| ApiError {
        status: StatusCode::BAD_REQUEST,
        code: "invalid_payload",
        message: e.to_string(),
    })?;
    let events = resolve(&app, parsed, now).await?;
    if let Some(once) = &verified.once {
        let fresh = app
            .intake
            .once
            .use_once(&once.key, once.remember_until, now)
            .await
            .map_err(|e| ApiError::unavailable(e.to_string()))?;
        if !fresh {
            tracing::warn!(
                provider = provider.name(),
                "replayed one-time token refused"
            );
            return Err(ApiError::unauthorized(
                handoff_connectors::AuthError::Replayed("token").to_string(),
            ));
        }
    }
    let receipts = match app.services.intake_all(events).await {
        Ok(r) => r,
        Err(e) => {
            if let Some(once) = &verified.once {
                // The event is not durable: the provider's retry must be accepted.
                if let Err(release) = app.intake.once.release(&once.key).await {
                    tracing::error!(error = %release, "could not release a one-time token");
                }
            }
            return Err(e.into());
        }
    };
    tracing::info!(
        provider = provider.name(),
        events = receipts.len(),
        new = receipts.iter().filter(|r| !r.duplicate).count(),
        "provider request accepted"
    );
    Ok((StatusCode::ACCEPTED, Json(receipts_body(&receipts))))
}

/// `{"handoffs": [...]}`, plus the one receipt's own fields when there is exactly one.
fn receipts_body(receipts: &[IntakeReceipt]) -> serde_json::Value {
    let mut body = json!({ "handoffs": receipts });
    if let [one] = receipts {
        body["handoff_id"] = json!(one.handoff_id);
        body["duplicate"] = json!(one.duplicate);
        body["linked"] = json!(one.linked);
    }
    body
}

/// The events of a parsed request, fetching the contacts it only names.
async fn resolve(
    app: &AppState,
    parsed: Parsed,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<IntakeEvent>, ApiError> {
    let Parsed {
        mut events,
        lookups,
    } = parsed;
    if lookups.is_empty() {
        return Ok(events);
    }
    let token = app
        .intake
        .secrets
        .secrets(HUBSPOT_TOKEN)
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    let (Some(contacts), Some(token)) = (&app.intake.contacts, token) else {
        let missing = app.intake.secrets.location(HUBSPOT_TOKEN);
        tracing::warn!(
            contacts = lookups.len(),
            %missing,
            "a HubSpot webhook names contacts but no HubSpot private-app token is configured to read them"
        );
        // 503, not 4xx: HubSpot retries for days, so nothing is lost while the token is set up.
        return Err(ApiError::unavailable(format!(
            "the webhook names HubSpot contacts, but no HubSpot private-app token is configured to read them ({missing})"
        )));
    };
    let ids: Vec<String> = lookups.iter().map(|l| l.object_id.clone()).collect();
    let found = contacts.read(token.current(), &ids).await.map_err(|e| {
        tracing::warn!(error = %e, "HubSpot contact read failed");
        ApiError::unavailable(format!("cannot read the HubSpot contacts: {e}"))
    })?;
    for lookup in &lookups {
        let contact = found
            .iter()
            .find(|c| c.get("id").and_then(|v| v.as_str()) == Some(lookup.object_id.as_str()));
        match contact {
            Some(c) => events.push(
                handoff_connectors::providers::hubspot::contact_to_event(c, lookup, now)
                    .map_err(|e| ApiError::bad_request("invalid_payload", e.to_string()))?,
            ),
            None => {
                tracing::info!(object_id = %lookup.object_id, "HubSpot contact not found (deleted?): skipped")
            }
        }
    }
    Ok(events)
}

/// `POST /v1/threads`: the outbound sequencer records a thread's context (signed like
/// `/v1/events`), so replies that arrive through an email provider get it.
pub(crate) async fn record_thread(
    State(app): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    let provider: &'static dyn Provider = &handoff_connectors::providers::agent::Agent;
    let request = raw_request(&app, &method, &uri, &headers, body).await?;
    authenticate(&app, provider, &request).await?;
    let thread: OutboundThread = serde_json::from_slice(&request.body).map_err(|e| {
        ApiError::bad_request(
            "invalid_thread",
            format!("body (line {}, column {}): {e}", e.line(), e.column()),
        )
    })?;
    app.services.record_thread(&thread).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"thread_id": thread.thread_id, "keys": thread.keys.len()})),
    ))
}
