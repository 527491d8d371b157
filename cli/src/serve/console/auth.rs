//! Who may see the console and `GET /v1/handoffs/{id}`: whoever holds the token `handoff serve`
//! prints at start (random, or `HANDOFF_CONSOLE_TOKEN`), and — for anything that changes state —
//! also the form token the console's own pages carry.
//!
//! How the browser carries the token: the start-up link `/?token=…` is opened once; the answer
//! sets an `HttpOnly; SameSite=Strict` cookie (named after the port, so two servers on
//! 127.0.0.1 keep theirs apart) and redirects to the same page without the token, so it leaves
//! the address bar. Scripts send `Authorization: Bearer <token>` instead. A request without
//! either gets a 401 that carries no record's data (an HTML page for the console, the JSON
//! error for the API).
//!
//! Cross-site requests: the cookie is `SameSite=Strict`, so a page of another site cannot make
//! the browser send it; and every state-changing form carries a form token, random per server
//! start, that only the console's own pages know ([`ConsoleAuth::form_token_matches`]).

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::io::Read;
use std::sync::Arc;

/// The environment variable that fixes the console token (unset: a random one per start).
pub const TOKEN_VAR: &str = "HANDOFF_CONSOLE_TOKEN";
/// The shortest token accepted from [`TOKEN_VAR`].
pub const MIN_TOKEN_CHARS: usize = 16;

/// Why the console's secrets could not be set up.
#[derive(Debug)]
pub enum AuthError {
    /// The token (or form token) is short or holds characters a URL or cookie would mangle.
    WeakToken,
    /// No random bytes for a token.
    Random(std::io::Error),
}

impl std::fmt::Display for AuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthError::WeakToken => write!(
                f,
                "{TOKEN_VAR} must be at least {MIN_TOKEN_CHARS} characters of letters, digits, '-', '_', '.' or '~' (it travels in a URL and a cookie)"
            ),
            AuthError::Random(e) => write!(
                f,
                "cannot read random bytes for the console token from /dev/urandom: {e}"
            ),
        }
    }
}

impl std::error::Error for AuthError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AuthError::WeakToken => None,
            AuthError::Random(e) => Some(e),
        }
    }
}

impl From<std::io::Error> for AuthError {
    fn from(e: std::io::Error) -> Self {
        AuthError::Random(e)
    }
}

/// The console's token, its form token and the cookie that carries the token.
#[derive(Clone)]
pub struct ConsoleAuth {
    token: String,
    form_token: String,
    cookie_name: String,
    /// The token came from [`TOKEN_VAR`] (so the start-up line does not repeat it).
    from_env: bool,
}

impl std::fmt::Debug for ConsoleAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleAuth")
            .field("cookie_name", &self.cookie_name)
            .finish_non_exhaustive()
    }
}

impl ConsoleAuth {
    /// The token from [`TOKEN_VAR`] when set (refused when short or not URL-safe), else a
    /// random one; a random form token either way. `port` names the cookie.
    pub fn from_env(port: u16) -> Result<Self, AuthError> {
        let fixed = std::env::var(TOKEN_VAR)
            .ok()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        let from_env = fixed.is_some();
        let token = match fixed {
            Some(t) => t,
            None => random_hex()?,
        };
        let mut auth = Self::new(&token, &random_hex()?, port)?;
        auth.from_env = from_env;
        Ok(auth)
    }

    /// A console with this token and form token (tests fix both).
    pub fn new(token: &str, form_token: &str, port: u16) -> Result<Self, AuthError> {
        let url_safe = |t: &str| {
            t.chars().count() >= MIN_TOKEN_CHARS
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~'))
        };
        if !url_safe(token) || !url_safe(form_token) {
            return Err(AuthError::WeakToken);
        }
        Ok(Self {
            token: token.to_string(),
            form_token: form_token.to_string(),
            cookie_name: format!("handoff_console_{port}"),
            from_env: false,
        })
    }

    /// The token forms must carry (`form_token`).
    pub fn form_token(&self) -> &str {
        &self.form_token
    }

    /// Whether a posted form token is this server's.
    pub fn form_token_matches(&self, given: Option<&str>) -> bool {
        given.is_some_and(|g| same(g.as_bytes(), self.form_token.as_bytes()))
    }

    fn token_matches(&self, given: &str) -> bool {
        same(given.as_bytes(), self.token.as_bytes())
    }

    /// Whether the request carries the token: the console cookie or `Authorization: Bearer`.
    pub fn authorised(&self, headers: &HeaderMap) -> bool {
        let bearer = headers
            .get_all(header::AUTHORIZATION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.strip_prefix("Bearer "))
            .any(|t| self.token_matches(t.trim()));
        bearer
            || headers
                .get_all(header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(';'))
                .filter_map(|pair| pair.trim().split_once('='))
                .any(|(name, value)| name == self.cookie_name && self.token_matches(value))
    }

    /// The `Set-Cookie` value that lets the browser carry the token from now on.
    pub fn cookie(&self) -> String {
        format!(
            "{}={}; Path=/; HttpOnly; SameSite=Strict",
            self.cookie_name, self.token
        )
    }

    /// What `handoff serve` prints at start: the console's link with its token.
    pub fn startup_line(&self, base: &str) -> String {
        if self.from_env {
            format!("console: {base}/?token=… (the token is {TOKEN_VAR}; GET /v1/handoffs/ID takes it as \"Authorization: Bearer …\")")
        } else {
            format!(
                "console: {base}/?token={} (open it once: the browser keeps the token in a cookie; GET /v1/handoffs/ID takes it as \"Authorization: Bearer {}\")",
                self.token, self.token
            )
        }
    }
}

/// Compares without stopping at the first difference (the time taken says nothing about how
/// much of a guess was right).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 32 random bytes as 64 hex digits.
fn random_hex() -> Result<String, AuthError> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The console's pages (everything else but the API is the router's business).
pub fn is_console_path(path: &str) -> bool {
    path == "/"
        || path == "/roster"
        || path == "/audit"
        || path == "/rules"
        || path.starts_with("/rules/")
        || path.starts_with("/handoffs/")
}

/// The API routes that return buyer data.
fn is_private_api_path(path: &str) -> bool {
    path.starts_with("/v1/handoffs/")
}

/// The layer in front of every route: lets public routes through, signs the browser in from
/// `?token=…`, and refuses console pages and private API routes without the token.
pub async fn guard(State(auth): State<Arc<ConsoleAuth>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let page = is_console_path(&path);
    if !page && !is_private_api_path(&path) {
        return next.run(request).await;
    }
    if page && request.method() == Method::GET {
        if let Some((given, rest)) = token_in_query(request.uri().query()) {
            if !auth.token_matches(&given) {
                return refused_page(true);
            }
            let location = if rest.is_empty() {
                path
            } else {
                format!("{path}?{rest}")
            };
            let mut response = StatusCode::SEE_OTHER.into_response();
            let headers = response.headers_mut();
            if let (Ok(location), Ok(cookie)) = (
                HeaderValue::from_str(&location),
                HeaderValue::from_str(&auth.cookie()),
            ) {
                headers.insert(header::LOCATION, location);
                headers.insert(header::SET_COOKIE, cookie);
            }
            super::pages::protect(headers);
            return response;
        }
    }
    if auth.authorised(request.headers()) {
        return next.run(request).await;
    }
    if page {
        refused_page(false)
    } else {
        handoff_api::ApiError::unauthorized(
            "this route returns buyer data: send the console token that handoff serve printed at start, as \"Authorization: Bearer <token>\"",
        )
        .into_response()
    }
}

fn refused_page(wrong_token: bool) -> Response {
    super::pages::html(
        StatusCode::UNAUTHORIZED,
        handoff_report::console::notice::token_needed(wrong_token),
    )
}

/// The `token` query field and the rest of the query without it.
fn token_in_query(query: Option<&str>) -> Option<(String, String)> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query?).ok()?;
    let token = pairs.iter().find(|(k, _)| k == "token")?.1.clone();
    let rest: Vec<&(String, String)> = pairs.iter().filter(|(k, _)| k != "token").collect();
    Some((token, serde_urlencoded::to_string(rest).unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> ConsoleAuth {
        ConsoleAuth::new("t0ken-t0ken-t0ken-1", "f0rm-f0rm-f0rm-f0rm", 8080).unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn the_cookie_or_a_bearer_header_carries_the_token() {
        let cases: [(&[(&str, &str)], bool); 8] = [
            (&[], false),
            (
                &[("cookie", "handoff_console_8080=t0ken-t0ken-t0ken-1")],
                true,
            ),
            (
                &[(
                    "cookie",
                    "a=b; handoff_console_8080=t0ken-t0ken-t0ken-1; c=d",
                )],
                true,
            ),
            (
                &[("cookie", "handoff_console_9090=t0ken-t0ken-t0ken-1")],
                false,
            ),
            (
                &[("cookie", "handoff_console_8080=t0ken-t0ken-t0ken-2")],
                false,
            ),
            (&[("authorization", "Bearer t0ken-t0ken-t0ken-1")], true),
            (&[("authorization", "Bearer t0ken-t0ken-t0ken")], false),
            (&[("authorization", "Basic t0ken-t0ken-t0ken-1")], false),
        ];
        for (given, expected) in cases {
            assert_eq!(auth().authorised(&headers(given)), expected, "{given:?}");
        }
    }

    #[test]
    fn the_form_token_must_match_exactly() {
        let a = auth();
        assert!(a.form_token_matches(Some("f0rm-f0rm-f0rm-f0rm")));
        assert!(!a.form_token_matches(Some("f0rm-f0rm-f0rm-f0r")));
        assert!(!a.form_token_matches(Some("t0ken-t0ken-t0ken-1")));
        assert!(!a.form_token_matches(None));
    }

    #[test]
    fn weak_or_unsafe_tokens_are_refused() {
        for bad in [
            "short",
            "spaces in the token here",
            "semi;colon;in;the;token",
        ] {
            assert!(
                ConsoleAuth::new(bad, "f0rm-f0rm-f0rm-f0rm", 1).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_cookie_is_http_only_and_same_site_strict() {
        assert_eq!(
            auth().cookie(),
            "handoff_console_8080=t0ken-t0ken-t0ken-1; Path=/; HttpOnly; SameSite=Strict"
        );
    }

    #[test]
    fn the_token_is_taken_out_of_the_query() {
        assert_eq!(
            token_in_query(Some("state=notified&token=abc&owner=lena")),
            Some(("abc".into(), "state=notified&owner=lena".into()))
        );
        assert_eq!(token_in_query(Some("state=notified")), None);
        assert_eq!(token_in_query(None), None);
    }

    #[test]
    fn random_tokens_differ_and_are_long() {
        let (a, b) = (random_hex().unwrap(), random_hex().unwrap());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }
}
