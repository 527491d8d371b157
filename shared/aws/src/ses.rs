//! [`SesMailSender`]: the [`MailSender`] of the Lambda functions, Amazon SES v2 `SendEmail`
//! with simple content (subject, text and HTML bodies, UTF-8; SES builds the
//! `multipart/alternative` message). The `[notify.email] from` address (or its domain) must be
//! a verified SES identity, and the function's role needs `ses:SendEmail` on it.
//!
//! The mail's extra headers (`X-Handoff-Id`, `X-Handoff-Event`, `Auto-Submitted`, and
//! `In-Reply-To`/`References` when it answers an earlier message) go in `Message.Headers`. SES
//! sets its own `Message-ID`; the receipt is the SES `MessageId`.
//!
//! | SES answers | [`DeliveryError`] |
//! |---|---|
//! | `TooManyRequestsException`, `LimitExceededException`, throttling, HTTP 5xx, timeouts, dispatch failures | `Transient` (the queue retries) |
//! | `MessageRejected`, `MailFromDomainNotVerifiedException`, `NotFoundException`, `BadRequestException`, `AccountSuspendedException`, `SendingPausedException`, access denied, other 4xx | `Permanent`, with SES's reason |

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_sesv2::config::http::HttpResponse;
use aws_sdk_sesv2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, MessageHeader};
use aws_sdk_sesv2::Client;
use handoff_connectors::outbound::email::{MailSender, OutgoingMail};
use handoff_domain::ports::{DeliveryError, Fault};

/// The charset of every part.
const CHARSET: &str = "UTF-8";

/// SES limits on a custom header (`MessageHeader`).
const MAX_HEADER_NAME: usize = 126;
const MAX_HEADER_VALUE: usize = 870;

/// Error codes that a later retry may get past.
const TRANSIENT_CODES: &[&str] = &[
    "TooManyRequestsException",
    "LimitExceededException",
    "Throttling",
    "ThrottlingException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalServerError",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// Error codes no retry can fix.
const PERMANENT_CODES: &[&str] = &[
    "MessageRejected",
    "MailFromDomainNotVerifiedException",
    "NotFoundException",
    "BadRequestException",
    "AccountSuspendedException",
    "SendingPausedException",
    "AccessDeniedException",
    "AccessDenied",
    "ValidationException",
];

/// An SES v2 client for `config` (the endpoint, e.g. the emulator's, comes with it).
pub fn sesv2_client(config: &SdkConfig) -> Client {
    Client::new(config)
}

/// Mail through Amazon SES v2.
#[derive(Debug, Clone)]
pub struct SesMailSender {
    client: Client,
}

impl SesMailSender {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    fn content(what: &str, data: &str) -> Result<Content, DeliveryError> {
        Content::builder()
            .data(data)
            .charset(CHARSET)
            .build()
            .map_err(|e| DeliveryError::Permanent(format!("SES SendEmail: {what}: {e}")))
    }

    fn message(mail: &OutgoingMail) -> Result<Message, DeliveryError> {
        let body = Body::builder()
            .text(Self::content("text part", &mail.text)?)
            .html(Self::content("HTML part", &mail.html)?)
            .build();
        let mut message = Message::builder()
            .subject(Self::content("subject", &mail.subject)?)
            .body(body);
        let mut headers = mail.headers.clone();
        if let Some(id) = &mail.in_reply_to {
            headers.push(("In-Reply-To".into(), format!("<{id}>")));
            headers.push(("References".into(), format!("<{id}>")));
        }
        for (name, value) in headers {
            // SES refuses the whole mail over one malformed header: leave such a header out.
            let name_ok = !name.is_empty()
                && name.len() <= MAX_HEADER_NAME
                && name.bytes().all(|b| (33..=126).contains(&b) && b != b':');
            let value_ok = !value.is_empty()
                && value.len() <= MAX_HEADER_VALUE
                && value.bytes().all(|b| (32..=126).contains(&b));
            if !(name_ok && value_ok) {
                tracing::warn!(header = %name, "mail header left out: SES would refuse it");
                continue;
            }
            let header = MessageHeader::builder()
                .name(name)
                .value(value)
                .build()
                .map_err(|e| DeliveryError::Permanent(format!("SES SendEmail: header: {e}")))?;
            message = message.headers(header);
        }
        Ok(message.build())
    }
}

#[async_trait]
impl MailSender for SesMailSender {
    async fn send(&self, mail: &OutgoingMail) -> Result<String, DeliveryError> {
        let out = self
            .client
            .send_email()
            .from_email_address(&mail.from)
            .destination(Destination::builder().to_addresses(&mail.to).build())
            .content(EmailContent::builder().simple(Self::message(mail)?).build())
            .send()
            .await
            .map_err(send_error)?;
        out.message_id()
            .filter(|id| !id.is_empty())
            .map(str::to_string)
            .ok_or_else(|| {
                DeliveryError::Transient("SES SendEmail answered without a MessageId".into())
            })
    }
}

/// How a failed call should be treated, from the error code and the HTTP status (when SES
/// answered).
pub fn fault_of(code: Option<&str>, status: Option<u16>) -> Fault {
    match (code, status) {
        (Some(c), _) if TRANSIENT_CODES.contains(&c) => Fault::Transient,
        (Some(c), _) if PERMANENT_CODES.contains(&c) => Fault::Permanent,
        (_, Some(429)) | (_, Some(500..=599)) | (_, None) => Fault::Transient,
        (_, Some(_)) => Fault::Permanent,
    }
}

fn send_error(err: SdkError<SendEmailError, HttpResponse>) -> DeliveryError {
    let text = format!("SES SendEmail: {}", DisplayErrorContext(&err));
    let fault = match &err {
        SdkError::ServiceError(ctx) => fault_of(err.code(), Some(ctx.raw().status().as_u16())),
        SdkError::ResponseError(ctx) => fault_of(err.code(), Some(ctx.raw().status().as_u16())),
        SdkError::ConstructionFailure(_) => Fault::Permanent,
        // Timeouts, dispatch failures (connection refused, DNS) and anything new.
        _ => Fault::Transient,
    };
    match fault {
        Fault::Transient => DeliveryError::Transient(text),
        Fault::Permanent => DeliveryError::Permanent(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_and_server_errors_are_transient() {
        for code in ["TooManyRequestsException", "LimitExceededException"] {
            assert_eq!(fault_of(Some(code), Some(400)), Fault::Transient, "{code}");
        }
        assert_eq!(fault_of(Some("Whatever"), Some(503)), Fault::Transient);
        assert_eq!(fault_of(None, None), Fault::Transient);
    }

    #[test]
    fn refusals_are_permanent() {
        for code in [
            "MessageRejected",
            "MailFromDomainNotVerifiedException",
            "NotFoundException",
            "BadRequestException",
            "AccountSuspendedException",
            "SendingPausedException",
        ] {
            assert_eq!(fault_of(Some(code), Some(400)), Fault::Permanent, "{code}");
        }
        assert_eq!(fault_of(Some("Unknown"), Some(403)), Fault::Permanent);
    }

    #[test]
    fn malformed_headers_are_left_out() {
        let mail = OutgoingMail {
            from: "handoff@example.com".into(),
            to: "lena@example.com".into(),
            subject: "s".into(),
            text: "t".into(),
            html: "<p>h</p>".into(),
            message_id: "m@example.com".into(),
            in_reply_to: Some("earlier@example.com".into()),
            headers: vec![
                ("X-Handoff-Id".into(), "h_1".into()),
                ("Bad:Name".into(), "x".into()),
                ("X-Non-Ascii".into(), "é".into()),
            ],
        };
        let m = SesMailSender::message(&mail).unwrap();
        let names: Vec<&str> = m.headers().iter().map(|h| h.name()).collect();
        assert_eq!(names, ["X-Handoff-Id", "In-Reply-To", "References"]);
        assert_eq!(m.subject().unwrap().charset(), Some("UTF-8"));
        assert!(m.body().unwrap().html().is_some() && m.body().unwrap().text().is_some());
    }
}
