//! Email notifications: [`EmailNotifier`] turns a [`Notification`] into one
//! `multipart/alternative` mail (a plain-text and an HTML part, always both) and hands it to a
//! [`MailSender`]: [`SmtpSender`] locally (lettre over plain SMTP, STARTTLS or implicit TLS with
//! rustls), `handoff_aws::ses::SesMailSender` (Amazon SES v2 `SendEmail`) in Lambda.
//!
//! What a rep receives:
//!
//! - `Assigned`: the subject is the notification's title; the text part holds the six parts
//!   ([`render::package_text`]), the SLA deadline in the rep's time zone, the CRM reference and
//!   each claim link on its own line (`Claim: <url>`, `Wrong owner: <url>`,
//!   `Needs re-qualification: <url>`); the HTML part holds [`render::package_html`], the
//!   deadline and the same links as buttons.
//! - `MovedAway`: a short "Moved to X: reason" mail to the previous owner. When the earlier mail
//!   was sent over SMTP (its receipt names its `Message-ID`) the notice answers it
//!   (`In-Reply-To`/`References`), so mail clients show it in the same thread.
//! - `NewTouch`: the buyer got in touch again and the event joined the owner's handoff. The
//!   subject is the notification's title ("News on …: what arrived"); the parts are those of
//!   `Assigned` (the updated package, the deadline, the claim links while unclaimed) with a
//!   "New touch: …" line first. It answers the owner's earlier mail when the receipt names its
//!   `Message-ID`, like `MovedAway`.
//!
//! Buyer text never reaches a header unfiltered: everything that goes into a header (the
//! subject above all, which contains the buyer's name) is reduced to one line with every line
//! break (CR, LF, NEL, U+2028…) a space and every control and invisible character dropped
//! ([`header_safe`]), and lettre encodes non-ASCII as RFC 2047 words. The text part is built
//! from one-line values ([`render::package_text`] escapes the buyer's fields, see
//! [`escape`]) and cleaned once more ([`escape::plain_text`]: `\n` is the only line break), so
//! no buyer text can start a line of its own such as a forged `Claim: <url>`. In the HTML part
//! every value is escaped ([`render::escape_html`]) and only `http(s)` links become anchors.
//!
//! Every mail carries `X-Handoff-Id`, `X-Handoff-Event` (`assigned` / `moved` / `news`) and
//! `Auto-Submitted: auto-generated` (RFC 3834: auto-responders stay quiet). The receipt is
//! `email:<message id>`: the `Message-ID` handoff set (SMTP) or the SES `MessageId`.
//!
//! [`SmtpSender`] sorts failures like the HTTP adapters: refused or timed-out connections,
//! network errors, unparseable replies and 4xx SMTP replies are [`DeliveryError::Transient`]
//! (the queue retries); 5xx replies, TLS failures (a certificate that does not match
//! `smtp_host`, a server without STARTTLS) and unusable addresses are
//! [`DeliveryError::Permanent`]. The login comes from the `smtp_credentials` secret
//! (`user:password`, see [`smtp_credentials`]); it never appears in errors or `Debug` output.

use async_trait::async_trait;
use handoff_domain::config::{EmailSettings, SmtpSecurity};
use handoff_domain::ids::EmailAddress;
use handoff_domain::ports::{DeliveryError, Notification, NotificationKind, Notifier};
use handoff_domain::render;
use handoff_domain::render::escape;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::fmt;
use std::fmt::Write as _;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long sending one mail over SMTP may take (connect and the whole conversation).
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest subject kept (longer ones end in `…`).
pub const MAX_SUBJECT_CHARS: usize = 200;

/// One mail, ready for a [`MailSender`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    /// The sender as configured (`handoff@example.com` or `Handoff <handoff@example.com>`).
    pub from: String,
    /// The recipient's address (bare, validated).
    pub to: String,
    /// One line, no control characters ([`header_safe`]).
    pub subject: String,
    /// The `text/plain` part.
    pub text: String,
    /// The `text/html` part.
    pub html: String,
    /// The `Message-ID` to set, without angle brackets (SES replaces it with its own).
    pub message_id: String,
    /// The `Message-ID` (without angle brackets) this mail answers: `In-Reply-To` and
    /// `References`.
    pub in_reply_to: Option<String>,
    /// Extra headers (`X-Handoff-Id`…): names are ASCII tokens, values printable ASCII.
    pub headers: Vec<(String, String)>,
}

/// Delivers a composed mail; returns its message id (the receipt's payload).
#[async_trait]
pub trait MailSender: Send + Sync {
    async fn send(&self, mail: &OutgoingMail) -> Result<String, DeliveryError>;
}

/// The [`Notifier`] of `email:<address>` targets.
pub struct EmailNotifier {
    settings: EmailSettings,
    sender: Arc<dyn MailSender>,
}

impl fmt::Debug for EmailNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailNotifier")
            .field("from", &self.settings.from)
            .finish_non_exhaustive()
    }
}

impl EmailNotifier {
    /// Mails from `settings.from` through `sender`.
    pub fn new(settings: EmailSettings, sender: Arc<dyn MailSender>) -> Self {
        Self { settings, sender }
    }

    /// The mail for `n` (what [`Notifier::notify`] sends), without sending it.
    pub fn compose(&self, n: &Notification) -> Result<OutgoingMail, DeliveryError> {
        let to = recipient(n)?;
        let (event, subject, text, html) = match &n.kind {
            NotificationKind::Assigned => {
                let subject = if n.title.trim().is_empty() {
                    render::title(&n.package)
                } else {
                    n.title.clone()
                };
                let subject = header_safe(&subject, MAX_SUBJECT_CHARS);
                let (text, html) = package_parts(n, &subject, None);
                ("assigned", subject, text, html)
            }
            NotificationKind::MovedAway {
                to: moved_to,
                reason,
            } => {
                let subject = if n.title.trim().is_empty() {
                    format!("Moved to {moved_to}: {}", render::title(&n.package))
                } else {
                    n.title.clone()
                };
                let subject = header_safe(&subject, MAX_SUBJECT_CHARS);
                let (text, html) = moved_parts(n, &subject, moved_to, reason);
                ("moved", subject, text, html)
            }
            NotificationKind::NewTouch { summary } => {
                let subject = if n.title.trim().is_empty() {
                    format!("News on {}: {summary}", render::title(&n.package))
                } else {
                    n.title.clone()
                };
                let subject = header_safe(&subject, MAX_SUBJECT_CHARS);
                let (text, html) = package_parts(n, &subject, Some(summary));
                ("news", subject, text, html)
            }
        };
        let message_id = format!(
            "handoff.{}.{event}.{}@{}",
            ascii_token(n.handoff_id.as_str()),
            unique_token(&n.target),
            sender_domain(&self.settings.from)
        );
        let in_reply_to = n
            .replaces
            .as_deref()
            .and_then(|r| r.strip_prefix("email:"))
            .map(|id| id.trim().trim_start_matches('<').trim_end_matches('>'))
            .filter(|id| is_message_id(id))
            .map(str::to_string);
        Ok(OutgoingMail {
            from: header_safe(&self.settings.from, 320),
            to,
            subject,
            text,
            html,
            message_id,
            in_reply_to,
            headers: vec![
                ("X-Handoff-Id".into(), ascii_token(n.handoff_id.as_str())),
                ("X-Handoff-Event".into(), event.into()),
                ("Auto-Submitted".into(), "auto-generated".into()),
            ],
        })
    }
}

#[async_trait]
impl Notifier for EmailNotifier {
    async fn notify(&self, n: &Notification) -> Result<String, DeliveryError> {
        let mail = self.compose(n)?;
        let id = self.sender.send(&mail).await?;
        Ok(format!("email:{id}"))
    }
}

/// The address to mail: the one in an `email:<address>` target, else the recipient's email.
fn recipient(n: &Notification) -> Result<String, DeliveryError> {
    let from_target = n
        .target
        .strip_prefix("email:")
        .map(str::trim)
        .filter(|a| !a.is_empty());
    let raw = from_target
        .or(n.recipient_email.as_deref().map(str::trim))
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            DeliveryError::Permanent(format!(
                "no email address for target {:?} (expected email:<address>)",
                header_safe(&n.target, 100)
            ))
        })?;
    EmailAddress::parse(raw)
        .map(|a| a.as_str().to_string())
        .map_err(|e| {
            DeliveryError::Permanent(format!("cannot mail {:?}: {e}", header_safe(raw, 100)))
        })
}

/// A label for a claim action.
fn action_label(action: &str) -> String {
    match action {
        "accept" => "Claim".into(),
        "wrong_owner" => "Wrong owner".into(),
        "requalify" => "Needs re-qualification".into(),
        other => header_safe(&other.replace('_', " "), 60),
    }
}

/// The parts of a mail that carries the package (`Assigned`, and `NewTouch` with its `news`
/// line first).
fn package_parts(n: &Notification, subject: &str, news: Option<&str>) -> (String, String) {
    let news = news.map(|s| header_safe(s, 1000)).filter(|s| !s.is_empty());
    let package_text = body_safe(&render::package_text(&n.package));
    let deadline = n
        .deadline_local
        .as_deref()
        .map(|d| header_safe(d, 100))
        .filter(|d| !d.is_empty());
    let crm = header_safe(&n.crm_ref, 300);
    let links: Vec<(String, String)> = n
        .actions
        .iter()
        .map(|(action, url)| (action_label(action), header_safe(url, 4000)))
        .collect();

    let mut text = String::new();
    let _ = writeln!(text, "{subject}\n");
    if let Some(news) = &news {
        let _ = writeln!(text, "New touch: {news}\n");
    }
    text.push_str(&package_text);
    if !package_text.ends_with('\n') {
        text.push('\n');
    }
    if let Some(d) = &deadline {
        let _ = writeln!(text, "\nDeadline: {d} (your time)");
    }
    if !crm.is_empty() {
        let _ = writeln!(text, "CRM: {crm}");
    }
    if !links.is_empty() {
        text.push('\n');
        for (label, url) in &links {
            let _ = writeln!(text, "{label}: {url}");
        }
    }
    let _ = writeln!(text, "\nHandoff {}", n.handoff_id);

    let mut html = html_open(subject);
    if let Some(news) = &news {
        let _ = write!(
            html,
            "<p><strong>New touch:</strong> {}</p>",
            render::escape_html(news)
        );
    }
    html.push_str(&render::package_html(&n.package));
    if let Some(d) = &deadline {
        let _ = write!(
            html,
            "<p><strong>Deadline:</strong> {} (your time)</p>",
            render::escape_html(d)
        );
    }
    if !crm.is_empty() {
        let _ = write!(
            html,
            "<p><strong>CRM:</strong> {}</p>",
            render::escape_html(&crm)
        );
    }
    if !links.is_empty() {
        html.push_str("<p>");
        for (i, (label, url)) in links.iter().enumerate() {
            let background = if i == 0 { "#1f6feb" } else { "#57606a" };
            if is_web_url(url) {
                let _ = write!(
                    html,
                    "<a href=\"{}\" style=\"display:inline-block;padding:8px 14px;margin:0 8px 8px 0;\
                     border-radius:4px;background:{background};color:#ffffff;text-decoration:none\">{}</a>",
                    render::escape_html(url),
                    render::escape_html(label)
                );
            } else {
                let _ = write!(
                    html,
                    "<span>{}: {}</span><br>",
                    render::escape_html(label),
                    render::escape_html(url)
                );
            }
        }
        html.push_str("</p>");
    }
    html_close(&mut html, n);
    (text, html)
}

fn moved_parts(n: &Notification, subject: &str, to: &str, reason: &str) -> (String, String) {
    let to = header_safe(to, 200);
    let reason = header_safe(reason, 500);
    let title = header_safe(&render::title(&n.package), MAX_SUBJECT_CHARS);
    let note = body_safe(n.body.trim());

    let mut text = String::new();
    let _ = writeln!(text, "Moved to {to}: {reason}\n");
    let _ = writeln!(text, "{title}");
    if !note.is_empty() {
        let _ = writeln!(text, "{note}");
    }
    let _ = writeln!(text, "\nYou no longer need to act on it.");
    let _ = writeln!(text, "\nHandoff {}", n.handoff_id);

    let mut html = html_open(subject);
    let _ = write!(
        html,
        "<p><strong>Moved to {}:</strong> {}</p><p>{}</p>",
        render::escape_html(&to),
        render::escape_html(&reason),
        render::escape_html(&title)
    );
    if !note.is_empty() {
        let _ = write!(
            html,
            "<p>{}</p>",
            render::escape_html(&note).replace('\n', "<br>")
        );
    }
    html.push_str("<p>You no longer need to act on it.</p>");
    html_close(&mut html, n);
    (text, html)
}

fn html_open(subject: &str) -> String {
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body style=\"font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#1f2328\">",
        render::escape_html(subject)
    )
}

fn html_close(html: &mut String, n: &Notification) {
    let _ = write!(
        html,
        "<p style=\"color:#6e7781;font-size:12px\">Handoff {}</p></body></html>",
        render::escape_html(n.handoff_id.as_str())
    );
}

/// Whether a link may become an anchor (`http(s)://` only: no `javascript:` or `data:`).
fn is_web_url(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

/// One header-safe line ([`escape::fit_line`]): every line break (CR, LF, NEL, the Unicode line
/// and paragraph separators) and whitespace run becomes one space, control and invisible
/// characters are dropped, the ends are trimmed and the result is cut to `max_chars` characters
/// (ending in `…`).
pub fn header_safe(s: &str, max_chars: usize) -> String {
    escape::fit_line(s, max_chars)
}

/// Body text handoff composed ([`escape::plain_text`]): `\n` is the only line break (a `\r`
/// goes, other breaks and tabs become spaces), control and invisible characters are dropped.
fn body_safe(s: &str) -> String {
    escape::plain_text(s)
}

/// `s` reduced to the characters allowed in a message-id's local part.
fn ascii_token(s: &str) -> String {
    let t: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .take(64)
        .collect();
    if t.is_empty() {
        "unknown".into()
    } else {
        t
    }
}

/// The domain of the configured sender, for `Message-ID`s (`handoff.invalid` if none).
fn sender_domain(from: &str) -> String {
    let domain: String = from
        .rsplit_once('@')
        .map(|(_, d)| d)
        .unwrap_or("")
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        .collect::<String>()
        .to_ascii_lowercase();
    let domain = domain.trim_matches(['.', '-']);
    if domain.is_empty() {
        "handoff.invalid".into()
    } else {
        domain.to_string()
    }
}

/// Whether `id` looks like a `Message-ID` handoff may reference (`local@domain`, printable
/// ASCII, no brackets or spaces).
fn is_message_id(id: &str) -> bool {
    id.len() <= 500
        && id.contains('@')
        && id
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>' | '"' | '\\'))
}

/// 16 hex digits unique per call (per-process random keys, a counter and the clock), for
/// message and event ids.
pub(crate) fn unique_token(salt: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.write(salt.as_bytes());
    format!("{:016x}", h.finish())
}

/// Splits the `smtp_credentials` secret (`user:password`; the password may contain `:`).
/// `None` for a blank value; a value without `:` is a user with an empty password.
pub fn smtp_credentials(secret: &str) -> Option<(String, String)> {
    let secret = secret.trim();
    if secret.is_empty() {
        return None;
    }
    Some(match secret.split_once(':') {
        Some((user, password)) => (user.to_string(), password.to_string()),
        None => (secret.to_string(), String::new()),
    })
}

/// Mail over SMTP (lettre, rustls), one connection per mail.
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    timeout: Duration,
    server: String,
    security: SmtpSecurity,
    login: bool,
}

impl fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSender")
            .field("server", &self.server)
            .field("security", &self.security)
            .field("login", &self.login)
            .finish_non_exhaustive()
    }
}

impl SmtpSender {
    /// A sender for `settings.smtp_host:smtp_port` with `smtp_security` (`none`: plain SMTP,
    /// for a local sink; `starttls`: upgrade required before anything is sent; `tls`: implicit
    /// TLS), certificates checked against the web PKI roots, at most [`SMTP_TIMEOUT`] for the
    /// whole conversation of one mail (connect, greeting, commands, data), and a login when `credentials` (`(user, password)`) are given.
    pub fn new(
        settings: &EmailSettings,
        credentials: Option<(String, String)>,
    ) -> Result<Self, DeliveryError> {
        Self::with_timeout(settings, credentials, SMTP_TIMEOUT)
    }

    /// Like [`SmtpSender::new`] with another time limit per mail.
    pub fn with_timeout(
        settings: &EmailSettings,
        credentials: Option<(String, String)>,
        timeout: Duration,
    ) -> Result<Self, DeliveryError> {
        let host = settings.smtp_host.trim();
        if host.is_empty() {
            return Err(DeliveryError::Permanent(
                "[notify.email] smtp_host is empty".into(),
            ));
        }
        let tls_error = |e: lettre::transport::smtp::Error| {
            DeliveryError::Permanent(format!("SMTP {host}: cannot set up TLS: {e}"))
        };
        let builder = match settings.smtp_security {
            SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            SmtpSecurity::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host).map_err(tls_error)?
            }
            SmtpSecurity::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(host).map_err(tls_error)?
            }
        };
        let mut builder = builder.port(settings.smtp_port).timeout(Some(timeout));
        let login = credentials.is_some();
        if let Some((user, password)) = credentials {
            builder = builder.credentials(Credentials::new(user, password));
        }
        Ok(Self {
            transport: builder.build(),
            timeout,
            server: format!("{host}:{}", settings.smtp_port),
            security: settings.smtp_security,
            login,
        })
    }

    /// The lettre message for `mail`.
    pub fn message(mail: &OutgoingMail) -> Result<Message, DeliveryError> {
        let from: Mailbox = mail.from.parse().map_err(|e| {
            DeliveryError::Permanent(format!(
                "[notify.email] from {:?} is not an address: {e}",
                mail.from
            ))
        })?;
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|e| DeliveryError::Permanent(format!("cannot mail {:?}: {e}", mail.to)))?;
        let mut builder = Message::builder()
            .from(from)
            .to(to)
            .subject(header_safe(&mail.subject, MAX_SUBJECT_CHARS))
            .message_id(Some(format!("<{}>", mail.message_id)))
            .date_now();
        if let Some(id) = mail.in_reply_to.as_deref().filter(|id| is_message_id(id)) {
            builder = builder
                .in_reply_to(format!("<{id}>"))
                .references(format!("<{id}>"));
        }
        for (name, value) in &mail.headers {
            let name = HeaderName::new_from_ascii(name.clone()).map_err(|e| {
                DeliveryError::Permanent(format!("invalid mail header name {name:?}: {e}"))
            })?;
            builder = builder.raw_header(HeaderValue::new(name, header_safe(value, 900)));
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|e| DeliveryError::Permanent(format!("cannot build the mail: {e}")))
    }
}

#[async_trait]
impl MailSender for SmtpSender {
    async fn send(&self, mail: &OutgoingMail) -> Result<String, DeliveryError> {
        let message = Self::message(mail)?;
        // lettre's timeout bounds only the connect; this bounds the whole conversation (a
        // server that accepts and then stalls must not hold the function until it is killed).
        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Ok(Ok(_)) => Ok(mail.message_id.clone()),
            Ok(Err(e)) => Err(smtp_error(&self.server, &e)),
            Err(_) => Err(DeliveryError::Transient(format!(
                "SMTP {}: no answer within {} ms",
                self.server,
                self.timeout.as_millis()
            ))),
        }
    }
}

/// Sorts an SMTP failure: 4xx replies, timeouts, connection and network errors are transient;
/// 5xx replies, TLS and client errors are permanent.
fn smtp_error(server: &str, e: &lettre::transport::smtp::Error) -> DeliveryError {
    let what = format!("SMTP {server}");
    if e.is_permanent() {
        DeliveryError::Permanent(format!("{what} refused the mail: {e}"))
    } else if e.is_transient() {
        DeliveryError::Transient(format!("{what} deferred the mail: {e}"))
    } else if e.is_timeout() {
        DeliveryError::Transient(format!("{what}: timed out: {e}"))
    } else if e.is_tls() {
        DeliveryError::Permanent(format!(
            "{what}: TLS failed (check smtp_host, smtp_port and smtp_security): {e}"
        ))
    } else if e.is_client() {
        DeliveryError::Permanent(format!("{what}: {e}"))
    } else {
        DeliveryError::Transient(format!("{what}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_safe_keeps_one_line() {
        assert_eq!(
            header_safe("Eve\r\nBcc: x@evil.com\u{0}\u{2028} <script>", 200),
            "Eve Bcc: x@evil.com <script>"
        );
        assert_eq!(header_safe("  a \t b  ", 200), "a b");
        assert_eq!(header_safe("abcdef", 6), "abcdef");
        assert_eq!(header_safe("abcdefg", 6), "abcde…");
        assert_eq!(header_safe("", 6), "");
    }

    #[test]
    fn credentials_split_at_the_first_colon() {
        assert_eq!(
            smtp_credentials(" user:pa:ss "),
            Some(("user".into(), "pa:ss".into()))
        );
        assert_eq!(
            smtp_credentials("user"),
            Some(("user".into(), String::new()))
        );
        assert_eq!(smtp_credentials("  "), None);
    }

    #[test]
    fn message_ids_and_domains() {
        assert_eq!(
            sender_domain("Handoff <handoff@Sales.Example>"),
            "sales.example"
        );
        assert_eq!(sender_domain("nobody"), "handoff.invalid");
        assert!(is_message_id("handoff.h_1.assigned.00ff@x.example"));
        assert!(!is_message_id("0100018c-ses-id"));
        assert!(!is_message_id("a@b>\r\nBcc: x"));
        assert_ne!(unique_token("x"), unique_token("x"));
    }

    #[test]
    fn only_web_links_become_anchors() {
        assert!(is_web_url("https://handoff.example/claim/x"));
        assert!(!is_web_url("javascript:alert(1)"));
        assert!(!is_web_url("data:text/html,x"));
    }
}
