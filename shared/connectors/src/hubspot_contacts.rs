//! Reads HubSpot contacts for the Webhooks API events that only name them.
//!
//! HubSpot's `contact.creation` / `contact.propertyChange` events carry ids, not data
//! ([`crate::providers::hubspot`] turns them into [`ContactLookup`](crate::provider::ContactLookup)s).
//! [`HubspotContacts::read`] fetches the contacts with
//! `POST {base}/crm/v3/objects/contacts/batch/read` (`Authorization: Bearer <token>`, at most 100
//! ids per call) and returns each contact as HubSpot sends it (`{"id", "properties": {…},
//! "createdAt", "updatedAt", "archived"}`), ready for
//! [`contact_to_event`](crate::providers::hubspot::contact_to_event). Contacts HubSpot cannot find
//! are simply absent from the result.
//!
//! Errors say whether a retry can help: [`ContactsError::Transient`] (timeouts, connection
//! failures, 429, 5xx) or [`ContactsError::Permanent`] (other 4xx, a response that is not the
//! documented shape). Timeouts are explicit: 3 s to connect, 10 s in total per call. The token
//! never appears in errors or `Debug` output.

use serde_json::{json, Value};
use std::time::Duration;
use thiserror::Error;

/// HubSpot's API host.
pub const DEFAULT_BASE_URL: &str = "https://api.hubapi.com";
/// The batch read path.
pub const BATCH_READ_PATH: &str = "/crm/v3/objects/contacts/batch/read";
/// The properties requested for every contact.
pub const PROPERTIES: &[&str] = &[
    "email",
    "firstname",
    "lastname",
    "company",
    "jobtitle",
    "phone",
    "country",
    "numemployees",
    "website",
    "message",
    "hs_object_id",
    "lastmodifieddate",
];
/// HubSpot's limit of inputs per batch call.
pub const BATCH_LIMIT: usize = 100;
/// Time allowed to connect.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Time allowed for a whole call.
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(10);

/// Why contacts could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ContactsError {
    /// Worth retrying later: a timeout, a connection failure, 429 or 5xx.
    #[error("reading HubSpot contacts failed, a retry may help: {detail}")]
    Transient {
        /// The HTTP status, when there was a response.
        status: Option<u16>,
        detail: String,
    },
    /// A retry will not help: a refused token (401/403), a bad request, an unexpected response.
    #[error("reading HubSpot contacts failed: {detail}")]
    Permanent {
        /// The HTTP status, when there was a response.
        status: Option<u16>,
        detail: String,
    },
}

impl ContactsError {
    /// Whether a retry may help.
    pub fn is_transient(&self) -> bool {
        matches!(self, ContactsError::Transient { .. })
    }

    /// The HTTP status, when there was a response.
    pub fn status(&self) -> Option<u16> {
        match self {
            ContactsError::Transient { status, .. } | ContactsError::Permanent { status, .. } => {
                *status
            }
        }
    }
}

/// A small HubSpot CRM contacts client.
#[derive(Clone)]
pub struct HubspotContacts {
    base_url: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for HubspotContacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubspotContacts")
            .field("base_url", &self.base_url)
            .finish()
    }
}

impl HubspotContacts {
    /// A client for `base_url` ([`DEFAULT_BASE_URL`] in production) with the default timeouts
    /// (connect 3 s, total 10 s). The token is given per call, so a rotated token (read through
    /// the secrets port) takes effect without rebuilding the client.
    pub fn new(base_url: impl Into<String>) -> Result<Self, ContactsError> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TOTAL_TIMEOUT)
            .build()
            .map_err(|e| ContactsError::Permanent {
                status: None,
                detail: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(Self::with_client(base_url, http))
    }

    /// A client using an already configured `reqwest::Client` (its timeouts apply).
    pub fn with_client(base_url: impl Into<String>, http: reqwest::Client) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            http,
        }
    }

    /// The API base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Reads the contacts with these ids (batches of [`BATCH_LIMIT`]), each as HubSpot returns
    /// it. No call is made for an empty list.
    /// `token` is a private-app or OAuth access token (`Authorization: Bearer`).
    pub async fn read(&self, token: &str, ids: &[String]) -> Result<Vec<Value>, ContactsError> {
        let mut contacts = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(BATCH_LIMIT) {
            contacts.extend(self.read_batch(token, chunk).await?);
        }
        Ok(contacts)
    }

    async fn read_batch(&self, token: &str, ids: &[String]) -> Result<Vec<Value>, ContactsError> {
        let body = json!({
            "properties": PROPERTIES,
            "inputs": ids.iter().map(|id| json!({"id": id})).collect::<Vec<_>>(),
        });
        let url = format!("{}{BATCH_READ_PATH}", self.base_url);
        let response = self
            .http
            .post(&url)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .map_err(from_reqwest)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(from_reqwest)?;
        if status.is_success() {
            let value: Value =
                serde_json::from_slice(&bytes).map_err(|e| ContactsError::Permanent {
                    status: Some(status.as_u16()),
                    detail: format!("the response is not JSON: {e}"),
                })?;
            return match value.get("results") {
                Some(Value::Array(results)) => Ok(results.clone()),
                _ => Err(ContactsError::Permanent {
                    status: Some(status.as_u16()),
                    detail: "the response has no results[]".into(),
                }),
            };
        }
        let code = status.as_u16();
        let detail = format!("HTTP {code}{}", error_detail(&bytes));
        if code == 429 || code == 408 || status.is_server_error() {
            Err(ContactsError::Transient {
                status: Some(code),
                detail,
            })
        } else {
            Err(ContactsError::Permanent {
                status: Some(code),
                detail,
            })
        }
    }
}

/// A transport error: timeouts and connection problems are transient.
fn from_reqwest(e: reqwest::Error) -> ContactsError {
    let (builder, timeout) = (e.is_builder(), e.is_timeout());
    let detail = e.without_url().to_string();
    if builder {
        ContactsError::Permanent {
            status: None,
            detail,
        }
    } else {
        ContactsError::Transient {
            status: None,
            detail: if timeout {
                format!("timed out: {detail}")
            } else {
                detail
            },
        }
    }
}

/// HubSpot's error `message` (and `correlationId`), shortened, for the error's detail.
fn error_detail(bytes: &[u8]) -> String {
    let Ok(value) = serde_json::from_slice::<Value>(bytes) else {
        return String::new();
    };
    let message: String = value
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("")
        .chars()
        .take(300)
        .collect();
    let correlation = value
        .get("correlationId")
        .and_then(Value::as_str)
        .map(|c| format!(" (correlationId {c})"))
        .unwrap_or_default();
    if message.is_empty() {
        correlation
    } else {
        format!(": {message}{correlation}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::post;
    use axum::{Json, Router};

    const TOKEN: &str = "pat-na1-test-token";

    /// Serves `router` on 127.0.0.1 and returns its base URL.
    async fn serve(router: Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        format!("http://{addr}")
    }

    /// Answers like HubSpot: checks the token and the body, returns one contact per input.
    async fn batch_read(headers: HeaderMap, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if auth != format!("Bearer {TOKEN}") {
            return (
                StatusCode::UNAUTHORIZED,
                Json(
                    json!({"status": "error", "message": "Authentication credentials not found."}),
                ),
            );
        }
        let expected_properties: Vec<Value> = PROPERTIES.iter().map(|p| json!(p)).collect();
        let inputs = body["inputs"].as_array().cloned().unwrap_or_default();
        if body["properties"] != Value::Array(expected_properties)
            || inputs.is_empty()
            || inputs.len() > BATCH_LIMIT
            || body.as_object().map(|o| o.len()) != Some(2)
        {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"status": "error", "message": "unexpected body"})),
            );
        }
        let results: Vec<Value> = inputs
            .iter()
            .map(|input| {
                let id = input["id"].as_str().unwrap_or("");
                json!({
                    "id": id,
                    "properties": {
                        "email": format!("contact{id}@brightline.io"),
                        "firstname": "Dana",
                        "lastname": "Reyes",
                        "hs_object_id": id,
                        "createdate": "2026-11-20T09:00:00.000Z",
                        "lastmodifieddate": "2026-11-24T10:00:00.000Z"
                    },
                    "createdAt": "2026-11-20T09:00:00.000Z",
                    "updatedAt": "2026-11-24T10:00:00.000Z",
                    "archived": false
                })
            })
            .collect();
        (
            StatusCode::OK,
            Json(json!({
                "status": "COMPLETE",
                "results": results,
                "startedAt": "2026-11-24T10:00:01.000Z",
                "completedAt": "2026-11-24T10:00:01.050Z"
            })),
        )
    }

    fn hubspot() -> Router {
        Router::new().route(BATCH_READ_PATH, post(batch_read))
    }

    fn failing(status: StatusCode) -> Router {
        Router::new().route(
            BATCH_READ_PATH,
            post(move || async move {
                (
                    status,
                    Json(json!({"status": "error", "message": "nope", "correlationId": "c-1"})),
                )
            }),
        )
    }

    #[tokio::test]
    async fn reads_contacts_with_the_documented_request() {
        let base = serve(hubspot()).await;
        let client = HubspotContacts::new(format!("{base}/")).unwrap();
        assert_eq!(client.base_url(), base);
        assert!(!format!("{client:?}").contains(TOKEN));
        let contacts = client.read(TOKEN, &["1246978".to_string()]).await.unwrap();
        assert_eq!(contacts.len(), 1);
        assert_eq!(contacts[0]["id"], "1246978");
        assert_eq!(
            contacts[0]["properties"]["email"],
            "contact1246978@brightline.io"
        );

        // The fetched contact builds the lookup's event.
        let lookup = crate::provider::ContactLookup {
            object_id: "1246978".into(),
            provider_event_id: "3816279480".into(),
            subscription_type: "contact.creation".into(),
            occurred_at: None,
        };
        let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let event =
            crate::providers::hubspot::contact_to_event(&contacts[0], &lookup, now).unwrap();
        assert_eq!(event.buyer().email.as_str(), "contact1246978@brightline.io");
        assert_eq!(event.buyer().name.as_deref(), Some("Dana Reyes"));
        assert_eq!(event.provider_event_id.as_str(), "3816279480");
    }

    #[tokio::test]
    async fn batches_of_a_hundred_and_nothing_for_no_ids() {
        let base = serve(hubspot()).await;
        let client = HubspotContacts::new(base).unwrap();
        assert!(client.read(TOKEN, &[]).await.unwrap().is_empty());
        let ids: Vec<String> = (0..150).map(|i| i.to_string()).collect();
        let contacts = client.read(TOKEN, &ids).await.unwrap();
        assert_eq!(contacts.len(), 150);
        assert_eq!(contacts[149]["id"], "149");
    }

    #[tokio::test]
    async fn a_wrong_token_is_permanent() {
        let base = serve(hubspot()).await;
        let e = HubspotContacts::new(base)
            .unwrap()
            .read("wrong", &["1".to_string()])
            .await
            .unwrap_err();
        assert!(!e.is_transient(), "{e}");
        assert_eq!(e.status(), Some(401));
        assert!(!e.to_string().contains("wrong"), "{e}");
    }

    #[tokio::test]
    async fn statuses_are_classified() {
        for (status, transient) in [
            (StatusCode::INTERNAL_SERVER_ERROR, true),
            (StatusCode::BAD_GATEWAY, true),
            (StatusCode::TOO_MANY_REQUESTS, true),
            (StatusCode::UNAUTHORIZED, false),
            (StatusCode::FORBIDDEN, false),
            (StatusCode::BAD_REQUEST, false),
        ] {
            let base = serve(failing(status)).await;
            let e = HubspotContacts::new(base)
                .unwrap()
                .read(TOKEN, &["1".to_string()])
                .await
                .unwrap_err();
            assert_eq!(e.is_transient(), transient, "{status}: {e}");
            assert_eq!(e.status(), Some(status.as_u16()));
            assert!(e.to_string().contains("nope (correlationId c-1)"), "{e}");
        }
    }

    #[tokio::test]
    async fn an_unexpected_success_body_is_permanent() {
        let router = Router::new().route(
            BATCH_READ_PATH,
            post(|| async { Json(json!({"status": "COMPLETE"})) }),
        );
        let base = serve(router).await;
        let e = HubspotContacts::new(base)
            .unwrap()
            .read(TOKEN, &["1".to_string()])
            .await
            .unwrap_err();
        assert!(!e.is_transient(), "{e}");
    }

    #[tokio::test]
    async fn timeouts_and_refused_connections_are_transient() {
        let router = Router::new().route(
            BATCH_READ_PATH,
            post(|| async {
                tokio::time::sleep(Duration::from_secs(2)).await;
                Json(json!({"status": "COMPLETE", "results": []}))
            }),
        );
        let base = serve(router).await;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(200))
            .build()
            .unwrap();
        let e = HubspotContacts::with_client(base, http)
            .read(TOKEN, &["1".to_string()])
            .await
            .unwrap_err();
        assert!(e.is_transient(), "{e}");
        assert!(e.to_string().contains("timed out"), "{e}");

        // Nothing listens on a port just released.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let e = HubspotContacts::new(format!("http://{addr}"))
            .unwrap()
            .read(TOKEN, &["1".to_string()])
            .await
            .unwrap_err();
        assert!(e.is_transient(), "{e}");
    }
}
