//! Signing in to Salesforce: OAuth 2.0 client credentials or JWT bearer against
//! `{login_url}/services/oauth2/token`, and a cache that keeps the access token and the
//! `instance_url` it came with until it expires (`expires_in`, when Salesforce sends one) or a
//! data call answers `401 INVALID_SESSION_ID` (the caller then [`invalidate`]s it and asks
//! again, once).
//!
//! Neither the access token, the client secret nor the private key ever appears in an error,
//! a log line or a `Debug` output.
//!
//! [`invalidate`]: SalesforceAuthenticator::invalidate

use crate::outbound::http::{default_verdict, send, HttpPolicy, Response, Verdict};
use crate::outbound::{required_secret, secret_names};
use crate::secrets::SecretSource;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use handoff_domain::config::{SalesforceAuth, SalesforceSettings};
use handoff_domain::ports::DeliveryError;
use serde_json::Value;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::Mutex;

/// The JWT bearer grant type.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// How long a JWT assertion is valid (Salesforce accepts at most three minutes).
pub const ASSERTION_LIFETIME: Duration = Duration::from_secs(180);
/// A token whose `expires_in` runs out within this margin is renewed before use.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// An access token and where to use it.
#[derive(Clone)]
pub struct SalesforceToken {
    access_token: String,
    /// The org's API host (`https://acme.my.salesforce.com`), without a trailing slash.
    pub instance_url: String,
    /// The integration user's id (`005…`), the last segment of the token response's `id` URL.
    pub user_id: Option<String>,
    expires_at: Option<Instant>,
}

impl SalesforceToken {
    /// The bearer token (for the `Authorization` header only).
    pub fn bearer(&self) -> &str {
        &self.access_token
    }

    fn fresh(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|at| now < at)
    }
}

impl fmt::Debug for SalesforceToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SalesforceToken")
            .field("access_token", &"<redacted>")
            .field("instance_url", &self.instance_url)
            .field("user_id", &self.user_id)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Gets access tokens with the configured flow and caches the current one.
pub struct SalesforceAuthenticator {
    login_url: String,
    flow: SalesforceAuth,
    username: Option<String>,
    secrets: Arc<dyn SecretSource>,
    http: reqwest::Client,
    policy: HttpPolicy,
    cache: Mutex<Option<SalesforceToken>>,
}

impl fmt::Debug for SalesforceAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SalesforceAuthenticator")
            .field("login_url", &self.login_url)
            .field("flow", &self.flow)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl SalesforceAuthenticator {
    /// An authenticator for `settings` (login URL, flow, username), reading the credentials
    /// from `secrets` on every sign-in (so a rotated secret is picked up at the next one).
    pub fn new(
        settings: &SalesforceSettings,
        secrets: Arc<dyn SecretSource>,
        http: reqwest::Client,
        policy: HttpPolicy,
    ) -> Result<Self, DeliveryError> {
        let login_url = settings.login_url.trim().trim_end_matches('/').to_string();
        if !(login_url.starts_with("https://") || login_url.starts_with("http://")) {
            return Err(DeliveryError::Permanent(format!(
                "crm.salesforce.login_url {login_url:?} is not an http(s) URL"
            )));
        }
        let username = settings
            .username
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_string);
        if settings.auth == SalesforceAuth::JwtBearer && username.is_none() {
            return Err(DeliveryError::Permanent(
                "crm.salesforce.auth = \"jwt_bearer\" needs crm.salesforce.username".into(),
            ));
        }
        Ok(Self {
            login_url,
            flow: settings.auth,
            username,
            secrets,
            http,
            policy,
            cache: Mutex::new(None),
        })
    }

    /// The cached token while it is fresh, else a new one (one sign-in at a time: concurrent
    /// callers wait for it instead of signing in themselves).
    pub async fn token(&self) -> Result<SalesforceToken, DeliveryError> {
        let mut cache = self.cache.lock().await;
        if let Some(t) = cache.as_ref().filter(|t| t.fresh(Instant::now())) {
            return Ok(t.clone());
        }
        let token = self.sign_in().await?;
        *cache = Some(token.clone());
        Ok(token)
    }

    /// Forgets `stale` (Salesforce refused it) unless another caller already replaced it.
    pub async fn invalidate(&self, stale: &SalesforceToken) {
        let mut cache = self.cache.lock().await;
        if cache
            .as_ref()
            .is_some_and(|t| t.access_token == stale.access_token)
        {
            *cache = None;
        }
    }

    async fn sign_in(&self) -> Result<SalesforceToken, DeliveryError> {
        let client_id =
            required_secret(self.secrets.as_ref(), secret_names::SALESFORCE_CLIENT_ID).await?;
        let (form, what) = match self.flow {
            SalesforceAuth::ClientCredentials => {
                let secret = required_secret(
                    self.secrets.as_ref(),
                    secret_names::SALESFORCE_CLIENT_SECRET,
                )
                .await?;
                (
                    vec![
                        ("grant_type", "client_credentials".to_string()),
                        ("client_id", client_id),
                        ("client_secret", secret),
                    ],
                    "salesforce sign-in (client credentials)",
                )
            }
            SalesforceAuth::JwtBearer => {
                let pem =
                    required_secret(self.secrets.as_ref(), secret_names::SALESFORCE_PRIVATE_KEY)
                        .await?;
                let username = self.username.as_deref().unwrap_or_default();
                let assertion = jwt_assertion(
                    &client_id,
                    username,
                    &self.login_url,
                    &pem,
                    SystemTime::now(),
                )?;
                (
                    vec![
                        ("grant_type", JWT_BEARER_GRANT.to_string()),
                        ("assertion", assertion),
                    ],
                    "salesforce sign-in (JWT bearer)",
                )
            }
        };
        let url = format!("{}/services/oauth2/token", self.login_url);
        let response = send(
            &self.policy,
            what,
            || {
                self.http
                    .post(&url)
                    .header(reqwest::header::ACCEPT, "application/json")
                    .form(&form)
            },
            |r| token_verdict(what, r),
        )
        .await?;
        parse_token(what, &response, Instant::now())
    }
}

/// How a token endpoint answer is judged: OAuth errors (`invalid_client`, `invalid_grant`,
/// `unsupported_grant_type`…) are permanent with Salesforce's `error_description`, except
/// `unknown_error` (Salesforce asks to retry); everything else as plain HTTP.
pub fn token_verdict(what: &str, r: &Response) -> Verdict {
    if (200..300).contains(&r.status) {
        return Verdict::Success;
    }
    let body = r.json();
    let Some(error) = body.get("error").and_then(Value::as_str) else {
        return default_verdict(what, r);
    };
    let description = body
        .get("error_description")
        .and_then(Value::as_str)
        .unwrap_or("");
    let reason = format!(
        "{what}: HTTP {} {error}: {description}{}",
        r.status,
        match error {
            "invalid_client" | "invalid_client_id" =>
                " (check salesforce_client_id / salesforce_client_secret and that the connected app allows this flow)",
            "invalid_grant" =>
                " (check crm.salesforce.username, login_url, the certificate on the connected app and that the user is pre-authorized)",
            _ => "",
        }
    );
    if error == "unknown_error" || r.status >= 500 {
        Verdict::Transient {
            after: crate::outbound::http::retry_after(r),
            reason,
        }
    } else {
        Verdict::Permanent(reason)
    }
}

/// Reads `{"access_token","instance_url","id",…,"expires_in"?}`.
fn parse_token(what: &str, r: &Response, now: Instant) -> Result<SalesforceToken, DeliveryError> {
    let body = r.json();
    let text = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let (Some(access_token), Some(instance_url)) = (text("access_token"), text("instance_url"))
    else {
        return Err(DeliveryError::Permanent(format!(
            "{what}: the token response has no access_token or instance_url"
        )));
    };
    let user_id = text("id")
        .and_then(|id| id.trim_end_matches('/').rsplit('/').next())
        .filter(|u| u.starts_with("005"))
        .map(str::to_string);
    let expires_in = match body.get("expires_in") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    Ok(SalesforceToken {
        access_token: access_token.to_string(),
        instance_url: instance_url.trim_end_matches('/').to_string(),
        user_id,
        expires_at: expires_in.map(|s| now + Duration::from_secs(s).saturating_sub(EXPIRY_MARGIN)),
    })
}

/// The signed JWT bearer assertion: header `{"alg":"RS256"}`, claims `iss` (client id), `sub`
/// (username), `aud` (login URL), `exp` (now + 3 minutes), RS256 over base64url (no padding)
/// parts, as RFC 7519 and Salesforce's OAuth 2.0 JWT bearer flow describe.
pub fn jwt_assertion(
    client_id: &str,
    username: &str,
    audience: &str,
    private_key_pem: &str,
    now: SystemTime,
) -> Result<String, DeliveryError> {
    let key = rsa_key(private_key_pem)?;
    let exp = now
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_add(ASSERTION_LIFETIME)
        .as_secs();
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256"}"#);
    let claims = serde_json::json!({
        "iss": client_id,
        "sub": username,
        "aud": audience,
        "exp": exp,
    });
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    let input = format!("{header}.{claims}");
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        input.as_bytes(),
        &mut signature,
    )
    .map_err(|_| {
        DeliveryError::Permanent("salesforce sign-in: signing the JWT assertion failed".into())
    })?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

/// The RSA key in a PEM `PRIVATE KEY` (PKCS#8) or `RSA PRIVATE KEY` (PKCS#1) block. Tolerates
/// `\n` escapes (a PEM pasted into an environment variable). Errors never show key material.
fn rsa_key(pem: &str) -> Result<ring::signature::RsaKeyPair, DeliveryError> {
    let bad = |why: &str| {
        DeliveryError::Permanent(format!(
            "the secret {} is not usable: {why}",
            secret_names::SALESFORCE_PRIVATE_KEY
        ))
    };
    let pem = pem.replace("\\n", "\n");
    let kind = if pem.contains("-----BEGIN PRIVATE KEY-----") {
        "PRIVATE KEY"
    } else if pem.contains("-----BEGIN RSA PRIVATE KEY-----") {
        "RSA PRIVATE KEY"
    } else if pem.contains("ENCRYPTED PRIVATE KEY") {
        return Err(bad(
            "the key is encrypted; store it unencrypted (PKCS#8 PEM)",
        ));
    } else {
        return Err(bad(
            "expected a PEM block \"-----BEGIN PRIVATE KEY-----\" (PKCS#8)",
        ));
    };
    let begin = format!("-----BEGIN {kind}-----");
    let end = format!("-----END {kind}-----");
    let inner = pem
        .split_once(&begin)
        .and_then(|(_, rest)| rest.split_once(&end))
        .map(|(inner, _)| inner)
        .ok_or_else(|| bad("the PEM block is not terminated"))?;
    let b64: String = inner.chars().filter(|c| !c.is_whitespace()).collect();
    let der = STANDARD
        .decode(b64)
        .map_err(|_| bad("the PEM body is not base64"))?;
    let key = if kind == "PRIVATE KEY" {
        ring::signature::RsaKeyPair::from_pkcs8(&der)
    } else {
        ring::signature::RsaKeyPair::from_der(&der)
    };
    key.map_err(|e| bad(&format!("not an RSA private key ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap;

    fn response(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: HeaderMap::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn oauth_errors_are_permanent_with_the_description() {
        let r = response(
            400,
            r#"{"error":"invalid_client","error_description":"invalid client credentials"}"#,
        );
        match token_verdict("sign-in", &r) {
            Verdict::Permanent(why) => {
                assert!(
                    why.contains("invalid_client: invalid client credentials"),
                    "{why}"
                )
            }
            other => panic!("{other:?}"),
        }
        let r = response(
            400,
            r#"{"error":"unknown_error","error_description":"retry your request"}"#,
        );
        assert!(matches!(
            token_verdict("sign-in", &r),
            Verdict::Transient { .. }
        ));
        assert!(matches!(
            token_verdict("sign-in", &response(503, "down")),
            Verdict::Transient { .. }
        ));
    }

    #[test]
    fn token_response_gives_instance_user_and_expiry() {
        let now = Instant::now();
        let r = response(
            200,
            r#"{"access_token":"00D!x","instance_url":"https://acme.my.salesforce.com/","id":"https://login.salesforce.com/id/00Dxx0000001gPL/005xx000001Sv6A","token_type":"Bearer","issued_at":"1","signature":"s"}"#,
        );
        let t = parse_token("t", &r, now).unwrap();
        assert_eq!(t.instance_url, "https://acme.my.salesforce.com");
        assert_eq!(t.user_id.as_deref(), Some("005xx000001Sv6A"));
        assert_eq!(t.expires_at, None);
        assert!(!format!("{t:?}").contains("00D!x"), "the token is redacted");
        let r = response(
            200,
            r#"{"access_token":"a","instance_url":"https://x","expires_in":7200}"#,
        );
        let t = parse_token("t", &r, now).unwrap();
        assert_eq!(t.expires_at, Some(now + Duration::from_secs(7200 - 60)));
        assert!(parse_token("t", &response(200, "{}"), now).is_err());
    }

    #[test]
    fn bad_keys_are_permanent_without_key_material() {
        for pem in [
            "nope",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----",
        ] {
            match jwt_assertion(
                "id",
                "u",
                "https://login.salesforce.com",
                pem,
                SystemTime::now(),
            ) {
                Err(DeliveryError::Permanent(why)) => {
                    assert!(why.contains("salesforce_private_key"), "{why}");
                    assert!(!why.contains("AAAA"), "{why}");
                }
                other => panic!("{other:?}"),
            }
        }
    }
}
