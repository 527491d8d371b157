//! [`EmailNotifier`] and [`SmtpSender`]: the MIME structure of the mails (multipart/alternative,
//! claim links in both parts), header injection, forged lines and HTML escaping of buyer text,
//! the moved notice, the news of a new touch, and — against the local SMTP sink — delivery, the
//! notifier conformance case and the transient/permanent split of SMTP failures.
//!
//! The sink tests need `HANDOFF_TEST_SMTP` (`host:port`) and `HANDOFF_TEST_SMTP_DIR` (where the
//! sink saves each message as a `.eml` file): start it with
//! `eval "$(scripts/smtp-sink.sh start)"`. Without them they print a notice and pass (the
//! conformance case then runs against an in-memory sender), unless `CI=true`, where a missing
//! sink fails them.

use async_trait::async_trait;
use handoff_connectors::email::headers::{decode_words, HeaderValue, Headers};
use handoff_connectors::email::{mime, multipart};
use handoff_connectors::outbound::email::{EmailNotifier, MailSender, OutgoingMail, SmtpSender};
use handoff_domain::config::{EmailSettings, SmtpSecurity};
use handoff_domain::ids::HandoffId;
use handoff_domain::ports::{DeliveryError, Notification, Notifier};
use handoff_domain::render;
use handoff_testkit::{fixtures, Guarded};
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const HOSTILE_NAME: &str = "Eve\r\nBcc: x@evil.com <script>alert(1)</script>";

// ---------------------------------------------------------------------------------------------
// Helpers

/// The sink's address and mail directory, or `None` (after a notice) outside CI.
fn sink() -> Option<(String, u16, PathBuf)> {
    let addr = std::env::var("HANDOFF_TEST_SMTP").unwrap_or_default();
    if addr.trim().is_empty() {
        let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
        assert!(
            !ci,
            "HANDOFF_TEST_SMTP is not set: the SMTP tests need the sink \
             (run `eval \"$(scripts/smtp-sink.sh start)\"` before `cargo test`)"
        );
        eprintln!(
            "notice: HANDOFF_TEST_SMTP is not set; skipping the SMTP sink part of this test \
             (run `eval \"$(scripts/smtp-sink.sh start)\"`)"
        );
        return None;
    }
    let dir = std::env::var("HANDOFF_TEST_SMTP_DIR")
        .expect("HANDOFF_TEST_SMTP_DIR must be set with HANDOFF_TEST_SMTP");
    let (host, port) = addr
        .trim()
        .rsplit_once(':')
        .expect("HANDOFF_TEST_SMTP is host:port");
    Some((
        host.to_string(),
        port.parse().expect("HANDOFF_TEST_SMTP port"),
        PathBuf::from(dir),
    ))
}

/// A tag unique within and across test runs (keeps tests apart in the shared sink).
fn unique() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    format!("{:012x}", h.finish() & 0xffff_ffff_ffff)
}

fn settings(host: &str, port: u16, from: &str) -> EmailSettings {
    EmailSettings {
        from: from.into(),
        smtp_host: host.into(),
        smtp_port: port,
        smtp_security: SmtpSecurity::None,
    }
}

/// A sender address only this test uses.
fn from_address() -> String {
    format!("handoff+{}@sales.example", unique())
}

/// Records mails instead of sending them.
#[derive(Default)]
struct Recorder(Mutex<Vec<OutgoingMail>>);

#[async_trait]
impl MailSender for Recorder {
    async fn send(&self, mail: &OutgoingMail) -> Result<String, DeliveryError> {
        self.0.lock().unwrap().push(mail.clone());
        Ok(mail.message_id.clone())
    }
}

fn recorder_notifier() -> (EmailNotifier, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let notifier = EmailNotifier::new(
        settings("127.0.0.1", 25, "Handoff <handoff@sales.example>"),
        recorder.clone(),
    );
    (notifier, recorder)
}

/// An assigned notification for lena whose buyer name tries to inject a header and a script.
fn hostile(id: &str) -> Notification {
    let handoff = fixtures::handoff_id(id);
    let mut n = fixtures::notification(&handoff, "email:lena@emea.example", "hubspot task 77");
    n.package.classification.buyer.name = Some(HOSTILE_NAME.into());
    n.title = render::title(&n.package);
    n.actions.push((
        "accept".into(),
        format!("https://handoff.example/claim/{handoff}?a=accept&t=1\"><script>x</script>"),
    ));
    n
}

/// One decoded MIME leaf.
#[derive(Debug)]
struct Part {
    media: String,
    charset: String,
    text: String,
}

/// A parsed `.eml`: the top-level header block (raw and parsed) and the leaves of its
/// multipart body.
#[derive(Debug)]
struct Parsed {
    raw_head: String,
    headers: Headers,
    media: String,
    parts: Vec<Part>,
}

fn split_head(raw: &[u8]) -> (&[u8], &[u8]) {
    let at = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a blank line ends the header block");
    (&raw[..at], &raw[at + 4..])
}

fn parse(raw: &[u8]) -> Parsed {
    let (head, body) = split_head(raw);
    let headers = Headers::parse(head);
    let ct = HeaderValue::parse(headers.get("content-type").expect("content-type"));
    let boundary = ct.param("boundary").expect("a multipart boundary");
    let parts = multipart::split(body, &boundary)
        .expect("multipart body")
        .into_iter()
        .map(|p| {
            let h = p.headers();
            let ct = HeaderValue::parse(h.get("content-type").unwrap_or("text/plain"));
            let charset = ct.param("charset").unwrap_or_else(|| "us-ascii".into());
            let bytes =
                mime::decode_transfer(p.body, h.get("content-transfer-encoding").unwrap_or(""));
            Part {
                media: ct.lower(),
                text: mime::decode_charset(&bytes, &charset),
                charset: charset.to_ascii_lowercase(),
            }
        })
        .collect();
    Parsed {
        raw_head: String::from_utf8_lossy(head).into_owned(),
        media: ct.lower(),
        headers,
        parts,
    }
}

fn formatted(mail: &OutgoingMail) -> Vec<u8> {
    SmtpSender::message(mail).expect("valid mail").formatted()
}

/// The `.eml` files in `dir` whose header block contains `needle`, oldest first.
fn delivered(dir: &Path, needle: &str) -> Vec<Vec<u8>> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("the sink's mail directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    names.sort();
    names
        .into_iter()
        .filter_map(|p| std::fs::read(p).ok())
        .filter(|raw| {
            let head = raw
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map_or(&raw[..], |at| &raw[..at]);
            String::from_utf8_lossy(head).contains(needle)
        })
        .collect()
}

/// The checks every assigned mail passes, whichever way it was produced.
fn assert_structure(p: &Parsed, n: &Notification) {
    assert_eq!(p.media, "multipart/alternative");
    let media: Vec<&str> = p.parts.iter().map(|x| x.media.as_str()).collect();
    assert_eq!(media, ["text/plain", "text/html"]);
    assert!(p.parts.iter().all(|x| x.charset == "utf-8"), "{p:?}");
    let (text, html) = (&p.parts[0].text, &p.parts[1].text);
    for (action, label) in [
        ("accept", "Claim"),
        ("wrong_owner", "Wrong owner"),
        ("requalify", "Needs re-qualification"),
    ] {
        let url = &n.actions.iter().find(|(a, _)| a == action).unwrap().1;
        assert!(
            text.lines()
                .any(|l| l.trim_end() == format!("{label}: {url}")),
            "text part lacks {label}: {text}"
        );
        assert!(
            html.contains(&format!("href=\"{}\"", render::escape_html(url))),
            "HTML part lacks the {action} link: {html}"
        );
    }
    let deadline = n.deadline_local.as_deref().unwrap();
    assert!(text.contains(deadline) && html.contains(deadline));
    assert!(text.contains("1. Trigger:") && text.contains("6. Risk flags:"));
    assert_eq!(p.headers.get("x-handoff-id"), Some(n.handoff_id.as_str()));
    assert_eq!(p.headers.get("x-handoff-event"), Some("assigned"));
    assert_eq!(p.headers.get("auto-submitted"), Some("auto-generated"));
}

/// Buyer text went nowhere it could do harm.
fn assert_no_injection(p: &Parsed) {
    for line in p.raw_head.lines() {
        assert!(
            !line.to_ascii_lowercase().starts_with("bcc:"),
            "a Bcc header was injected: {}",
            p.raw_head
        );
    }
    assert!(p.headers.get("bcc").is_none());
    let subject = decode_words(p.headers.get("subject").expect("subject"));
    assert!(
        subject.contains("Eve Bcc: x@evil.com <script>alert(1)</script>"),
        "{subject}"
    );
    assert!(!subject.contains(['\r', '\n']));
    let html = &p.parts[1].text;
    assert!(
        !html.contains("<script>"),
        "unescaped markup in HTML: {html}"
    );
    assert!(html.contains("Eve"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains("\"><script>"));
}

// ---------------------------------------------------------------------------------------------
// Composition (no sink needed)

#[tokio::test]
async fn assigned_mail_is_multipart_alternative_with_the_links_in_both_parts() {
    let (notifier, recorder) = recorder_notifier();
    let n = fixtures::notification(
        &fixtures::handoff_id("mail-structure"),
        "email:lena@emea.example",
        "hubspot task 77",
    );
    let receipt = notifier.notify(&n).await.unwrap();
    let mail = recorder.0.lock().unwrap()[0].clone();
    assert_eq!(receipt, format!("email:{}", mail.message_id));
    assert_eq!(mail.to, "lena@emea.example");
    assert_eq!(mail.subject, n.title);
    assert!(
        mail.message_id.ends_with("@sales.example"),
        "{}",
        mail.message_id
    );
    assert!(mail.html.contains(&render::package_html(&n.package)));

    let parsed = parse(&formatted(&mail));
    assert_structure(&parsed, &n);
    assert_eq!(
        decode_words(parsed.headers.get("subject").unwrap()),
        n.title
    );
    assert!(parsed
        .headers
        .get("message-id")
        .unwrap()
        .contains(&mail.message_id));
}

#[tokio::test]
async fn hostile_buyer_text_injects_no_header_and_is_escaped_in_html() {
    let (notifier, _) = recorder_notifier();
    let n = hostile("mail-hostile");
    let mail = notifier.compose(&n).unwrap();
    assert!(!mail.subject.contains(['\r', '\n']));
    let parsed = parse(&formatted(&mail));
    assert_no_injection(&parsed);
    assert_eq!(parsed.parts.len(), 2);
}

/// A buyer name that tries to add a line of its own ("Actions:", a claim link), in every way a
/// line can be broken or disguised.
const FORGED: &[&str] = &[
    "Ann\nActions: accept: http://evil",
    "Ann\r\nClaim: http://evil",
    "Ann\rClaim: http://evil",
    "Ann\u{2028}Claim: http://evil",
    "Ann\u{2029}Actions: accept: http://evil",
    "Ann\u{85}Claim: http://evil",
    "Ann\u{0B}Actions: accept: http://evil",
    "Ann\u{1b}[2K\u{1b}[1GClaim: http://evil",
    "Ann\n\u{200B}Claim: http://evil",
    "Ann\n\u{202E}Actions: accept: http://evil\u{202C}",
];

/// An assigned notification whose buyer writes `name` into every field, built as the assign
/// stage builds it.
fn forged(id: &str, name: &str) -> Notification {
    let handoff = fixtures::handoff_id(id);
    let mut n = fixtures::notification(&handoff, "email:lena@emea.example", "hubspot task 77");
    let b = &mut n.package.classification.buyer;
    b.name = Some(name.into());
    b.company = Some(name.into());
    b.role = Some(name.into());
    b.problem_statement = name.into();
    n.package.classification.next_step.detail = format!("Call {name} today.");
    n.title = render::title(&n.package);
    n.body = render::package_text(&n.package);
    n
}

/// No line of the text part starts with forged text (blanks and hidden characters skipped),
/// the claim links are ours alone, and no HTML paragraph starts with forged text.
fn assert_not_forged(p: &Parsed, name: &str) {
    use handoff_domain::render::escape::{is_invisible, is_line_break};
    let (text, html) = (&p.parts[0].text, &p.parts[1].text);
    let lines: Vec<&str> = text.split(is_line_break).collect();
    for line in &lines {
        let visible = line
            .trim_start_matches(|c: char| c.is_whitespace() || c.is_control() || is_invisible(c));
        assert!(
            !visible.starts_with("Actions:") && !visible.starts_with("Claim: http://evil"),
            "{name:?} forged {line:?} in:\n{text}"
        );
        assert!(
            !line.chars().any(|c| c.is_control() || is_invisible(c)),
            "hidden character in {line:?}"
        );
    }
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("Claim: ")).count(),
        1,
        "{text}"
    );
    assert!(text.contains("evil"), "the buyer's words are shown: {text}");
    for forged in [
        "<p>Actions:",
        "<strong>Actions:",
        "<p>Claim:",
        "<strong>Claim:",
    ] {
        assert!(!html.contains(forged), "{name:?}: {forged} in {html}");
    }
    assert!(!html.chars().any(|c| c.is_control() || is_invisible(c)));
}

#[tokio::test]
async fn buyer_text_cannot_forge_a_line_in_either_part() {
    let (notifier, _) = recorder_notifier();
    for (i, name) in FORGED.iter().enumerate() {
        let n = forged(&format!("mail-forged-{i}"), name);
        let mail = notifier.compose(&n).unwrap();
        let parsed = parse(&formatted(&mail));
        assert_structure(&parsed, &n);
        assert_not_forged(&parsed, name);
    }
}

#[tokio::test]
async fn moved_notice_is_short_and_answers_the_earlier_mail() {
    let (notifier, recorder) = recorder_notifier();
    let id = fixtures::handoff_id("mail-moved");
    let first = notifier
        .notify(&fixtures::notification(
            &id,
            "email:lena@emea.example",
            "crm",
        ))
        .await
        .unwrap();
    let moved = fixtures::moved_notification(&id, "email:lena@emea.example", Some(first.clone()));
    notifier.notify(&moved).await.unwrap();
    let mail = recorder.0.lock().unwrap()[1].clone();
    assert_eq!(mail.subject, moved.title);
    assert!(mail
        .text
        .starts_with("Moved to max (EMEA AE): the SLA passed unclaimed"));
    assert!(!mail.text.contains("Claim:"));
    assert_eq!(
        mail.in_reply_to.as_deref(),
        first.strip_prefix("email:"),
        "the notice threads under the first mail"
    );
    let parsed = parse(&formatted(&mail));
    assert_eq!(parsed.media, "multipart/alternative");
    assert_eq!(parsed.headers.get("x-handoff-event"), Some("moved"));
    let in_reply_to = parsed.headers.get("in-reply-to").unwrap();
    assert_eq!(in_reply_to, format!("<{}>", mail.in_reply_to.unwrap()));
    assert!(parsed.parts[1].text.contains("Moved to max (EMEA AE):"));
}

#[tokio::test]
async fn news_of_a_touch_carries_the_package_and_answers_the_earlier_mail() {
    let (notifier, recorder) = recorder_notifier();
    let id = fixtures::handoff_id("mail-news");
    let first = notifier
        .notify(&fixtures::notification(
            &id,
            "email:lena@emea.example",
            "crm",
        ))
        .await
        .unwrap();
    let mut news = fixtures::news_notification(
        &id,
        "email:lena@emea.example",
        "crm",
        "an email reply via email from postmark: pricing request <b>now</b>\r\nBcc: x@evil.com",
    );
    news.replaces = Some(first.clone());
    notifier.notify(&news).await.unwrap();
    let mail = recorder.0.lock().unwrap()[1].clone();
    assert_eq!(mail.subject, news.title.replace("\r\n", " "));
    assert!(mail.subject.starts_with("News on "), "{}", mail.subject);
    assert_eq!(mail.in_reply_to.as_deref(), first.strip_prefix("email:"));
    let parsed = parse(&formatted(&mail));
    assert_eq!(parsed.headers.get("x-handoff-event"), Some("news"));
    assert!(parsed.headers.get("bcc").is_none());
    let (text, html) = (&parsed.parts[0].text, &parsed.parts[1].text);
    assert!(
        text.contains("New touch: an email reply via email from postmark: pricing request"),
        "{text}"
    );
    assert!(
        text.contains("Claim: https://handoff.example/claim/"),
        "{text}"
    );
    assert!(text.contains("1. Trigger:"), "the updated package: {text}");
    assert!(html.contains("<strong>New touch:</strong>"), "{html}");
    assert!(html.contains("&lt;b&gt;now&lt;/b&gt;"), "escaped: {html}");
    assert!(!html.contains("<b>now</b>"));
}

#[tokio::test]
async fn the_recipient_comes_from_the_target_or_the_rep_email() {
    let (notifier, recorder) = recorder_notifier();
    let id = fixtures::handoff_id("mail-recipient");
    let mut n = fixtures::notification(&id, "email:", "crm");
    n.recipient_email = Some("Max@US.example".into());
    notifier.notify(&n).await.unwrap();
    assert_eq!(recorder.0.lock().unwrap()[0].to, "max@us.example");

    n.recipient_email = None;
    let err = notifier.notify(&n).await.unwrap_err();
    assert!(matches!(err, DeliveryError::Permanent(_)), "{err}");

    let bad = fixtures::notification(&id, "email:lena@emea.example\r\nBcc: x@evil.com", "crm");
    let err = notifier.notify(&bad).await.unwrap_err();
    assert!(matches!(err, DeliveryError::Permanent(_)), "{err}");
    assert_eq!(recorder.0.lock().unwrap().len(), 1, "nothing else was sent");
}

// ---------------------------------------------------------------------------------------------
// Against the SMTP sink

#[tokio::test]
async fn delivered_mail_keeps_its_structure_and_only_its_recipient() {
    let Some((host, port, dir)) = sink() else {
        return;
    };
    let from = from_address();
    let settings = settings(&host, port, &from);
    let notifier = EmailNotifier::new(
        settings.clone(),
        Arc::new(SmtpSender::new(&settings, None).unwrap()),
    );
    let n = hostile("sink-hostile");
    let receipt = notifier.notify(&n).await.unwrap();

    let mails = delivered(&dir, &from);
    assert_eq!(mails.len(), 1, "one message reached the sink");
    let parsed = parse(&mails[0]);
    assert_eq!(
        parsed.headers.get("x-sink-rcpt-to"),
        Some("lena@emea.example")
    );
    assert_eq!(parsed.headers.get("x-sink-mail-from"), Some(from.as_str()));
    assert!(parsed
        .headers
        .get("message-id")
        .unwrap()
        .contains(receipt.strip_prefix("email:").unwrap()));
    assert_no_injection(&parsed);
    assert_structure(&parsed, &n);
}

#[tokio::test]
async fn a_forged_line_stays_inside_its_line_through_the_sink() {
    let Some((host, port, dir)) = sink() else {
        return;
    };
    let from = from_address();
    let settings = settings(&host, port, &from);
    let notifier = EmailNotifier::new(
        settings.clone(),
        Arc::new(SmtpSender::new(&settings, None).unwrap()),
    );
    let name = FORGED[0];
    let n = forged("sink-forged", name);
    notifier.notify(&n).await.unwrap();
    let mails = delivered(&dir, &from);
    assert_eq!(mails.len(), 1, "one message reached the sink");
    let parsed = parse(&mails[0]);
    assert_structure(&parsed, &n);
    assert_not_forged(&parsed, name);
}

#[tokio::test]
async fn smtp_failures_sort_into_transient_and_permanent() {
    let Some((host, port, dir)) = sink() else {
        return;
    };
    let from = from_address();
    let plain = settings(&host, port, &from);
    let sender = SmtpSender::new(&plain, None).unwrap();
    let (notifier, recorder) = recorder_notifier();
    let mut mail = notifier
        .compose(&fixtures::notification(
            &fixtures::handoff_id("sink-errors"),
            "email:lena@emea.example",
            "crm",
        ))
        .unwrap();
    assert!(recorder.0.lock().unwrap().is_empty());
    mail.from = from.clone();

    // 5xx from the server: permanent.
    mail.to = "reject-lena@emea.example".into();
    let err = sender.send(&mail).await.unwrap_err();
    assert!(
        matches!(err, DeliveryError::Permanent(ref m) if m.contains("550")),
        "{err}"
    );
    // 4xx: transient.
    mail.to = "defer-lena@emea.example".into();
    let err = sender.send(&mail).await.unwrap_err();
    assert!(
        matches!(err, DeliveryError::Transient(ref m) if m.contains("451")),
        "{err}"
    );

    // A wrong password is refused with 535: permanent; the right one delivers.
    mail.to = "lena@emea.example".into();
    let wrong = SmtpSender::new(&plain, Some(("handoff".into(), "nope".into()))).unwrap();
    let err = wrong.send(&mail).await.unwrap_err();
    assert!(
        matches!(err, DeliveryError::Permanent(ref m) if m.contains("535")),
        "{err}"
    );
    let right = SmtpSender::new(&plain, Some(("handoff".into(), "sink-secret".into()))).unwrap();
    assert!(!format!("{right:?}").contains("sink-secret"));
    assert_eq!(right.send(&mail).await.unwrap(), mail.message_id);
    let mails = delivered(&dir, &from);
    assert_eq!(mails.len(), 1, "only the accepted mail is in the sink");
    assert_eq!(parse(&mails[0]).headers.get("x-sink-auth"), Some("handoff"));

    // STARTTLS required but the server offers none: a configuration error, permanent.
    let starttls = EmailSettings {
        smtp_security: SmtpSecurity::Starttls,
        ..plain.clone()
    };
    let err = SmtpSender::new(&starttls, None)
        .unwrap()
        .send(&mail)
        .await
        .unwrap_err();
    assert!(matches!(err, DeliveryError::Permanent(_)), "{err}");
}

#[tokio::test]
async fn unreachable_or_silent_servers_are_transient() {
    // Nothing listens on a port just released.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (notifier, _) = recorder_notifier();
    let mail = notifier
        .compose(&fixtures::notification(
            &fixtures::handoff_id("smtp-down"),
            "email:lena@emea.example",
            "crm",
        ))
        .unwrap();
    let refused = SmtpSender::new(
        &settings("127.0.0.1", closed, "handoff@sales.example"),
        None,
    )
    .unwrap();
    let err = refused.send(&mail).await.unwrap_err();
    assert!(matches!(err, DeliveryError::Transient(_)), "{err}");

    // A server that accepts the connection and never greets: the timeout fires.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let slow = SmtpSender::with_timeout(
        &settings("127.0.0.1", port, "handoff@sales.example"),
        None,
        Duration::from_millis(300),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let err = slow.send(&mail).await.unwrap_err();
    assert!(matches!(err, DeliveryError::Transient(_)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    hold.abort();
}

// ---------------------------------------------------------------------------------------------
// The notifier conformance case, against the sink (an in-memory sender without one)

/// Where a conformance subject's mails can be counted.
enum Mailbox {
    Sink { dir: PathBuf, from: String },
    Memory(Arc<Recorder>),
}

impl Mailbox {
    fn count(&self, id: &HandoffId) -> usize {
        match self {
            Mailbox::Sink { dir, from } => delivered(dir, from)
                .iter()
                .filter(|raw| {
                    let (head, _) = split_head(raw);
                    Headers::parse(head).get("x-handoff-id") == Some(id.as_str())
                })
                .count(),
            Mailbox::Memory(r) => {
                r.0.lock()
                    .unwrap()
                    .iter()
                    .filter(|m| {
                        m.headers
                            .iter()
                            .any(|(k, v)| k == "X-Handoff-Id" && v == id.as_str())
                    })
                    .count()
            }
        }
    }
}

async fn smtp_notifier() -> Guarded<EmailNotifier> {
    let from = from_address();
    match sink() {
        Some((host, port, dir)) => {
            let settings = settings(&host, port, &from);
            let sender = Arc::new(SmtpSender::new(&settings, None).unwrap());
            Guarded::new(
                EmailNotifier::new(settings, sender),
                Mailbox::Sink { dir, from },
            )
        }
        None => {
            let recorder = Arc::new(Recorder::default());
            Guarded::new(
                EmailNotifier::new(settings("127.0.0.1", 25, &from), recorder.clone()),
                Mailbox::Memory(recorder),
            )
        }
    }
}

fn mailbox_count(n: &Guarded<EmailNotifier>, id: &HandoffId) -> usize {
    n.guard::<Mailbox>().expect("a mailbox guard").count(id)
}

handoff_testkit::notifier_conformance!(
    mod smtp,
    smtp_notifier(),
    |n: &Guarded<EmailNotifier>, id: &HandoffId| mailbox_count(n, id),
    ("email:lena@emea.example", "email:max@us.example"),
);
