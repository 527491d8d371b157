//! The outbound side: the CRM adapters and notifiers behind the domain's `Crm` and `Notifier`
//! ports, and the dispatchers that pick them by the rules' `[crm]` and `[notify]` tables.
//!
//! - [`http`]: timeouts, retries with backoff and jitter, `Retry-After`, transient vs permanent.
//! - [`hubspot`]: contact upsert, note, task, associations (HubSpot CRM v3/v4 APIs).
//! - [`salesforce`]: OAuth 2.0 (client credentials or JWT bearer), Lead/Contact and Task.
//! - [`slack`]: Block Kit messages with Claim / Wrong owner / Re-qualify buttons, and the
//!   interactivity payloads those buttons send back (`/slack/actions`).
//! - [`email`]: plain-text + HTML messages with the claim links; SMTP delivery (SES lives in
//!   `handoff-aws` behind [`email::MailSender`]).
//! - [`webhook`]: a JSON POST signed with handoff's own `Handoff-Signature` scheme.
//! - [`configured`]: the `Crm` and `Notifier` every deployment wires, choosing per call from the
//!   current rules.

pub mod configured;
pub mod email;
pub mod http;
pub mod hubspot;
pub mod salesforce;
pub mod slack;
pub mod webhook;

use crate::secrets::SecretSource;
use handoff_domain::ports::DeliveryError;

/// The names of the outbound credentials in the secrets port (`HANDOFF_SECRET_<NAME>` locally,
/// `<prefix><name>` in Secrets Manager).
pub mod secret_names {
    /// HubSpot private-app token (CRM writes and the contacts read of intake).
    pub const HUBSPOT_TOKEN: &str = "hubspot_token";
    /// Salesforce connected app consumer key.
    pub const SALESFORCE_CLIENT_ID: &str = "salesforce_client_id";
    /// Salesforce connected app consumer secret (client credentials flow).
    pub const SALESFORCE_CLIENT_SECRET: &str = "salesforce_client_secret";
    /// PEM RSA private key whose certificate is on the connected app (JWT bearer flow).
    pub const SALESFORCE_PRIVATE_KEY: &str = "salesforce_private_key";
    /// Slack bot token (`xoxb-…`).
    pub const SLACK_BOT_TOKEN: &str = "slack_bot_token";
    /// Slack app signing secret (verifies `/slack/actions`).
    pub const SLACK_SIGNING_SECRET: &str = "slack_signing_secret";
    /// The key handoff signs generic webhooks with.
    pub const WEBHOOK_SECRET: &str = "webhook_secret";
    /// `user:password` for an SMTP server that wants a login.
    pub const SMTP_CREDENTIALS: &str = "smtp_credentials";

    /// Every outbound secret (prefetched at cold start).
    pub const ALL: &[&str] = &[
        HUBSPOT_TOKEN,
        SALESFORCE_CLIENT_ID,
        SALESFORCE_CLIENT_SECRET,
        SALESFORCE_PRIVATE_KEY,
        SLACK_BOT_TOKEN,
        SLACK_SIGNING_SECRET,
        WEBHOOK_SECRET,
        SMTP_CREDENTIALS,
    ];
}

/// The current value of a required secret: missing is permanent (a configuration error, named
/// with where it is expected), an unreachable secrets store is transient.
pub async fn required_secret(
    secrets: &dyn SecretSource,
    name: &str,
) -> Result<String, DeliveryError> {
    match secrets.secrets(name).await {
        Ok(Some(s)) => Ok(s.current().to_string()),
        Ok(None) => Err(DeliveryError::Permanent(format!(
            "the secret {name} is not configured (expected in {})",
            secrets.location(name)
        ))),
        Err(e) => Err(DeliveryError::Transient(format!(
            "cannot read the secret {name}: {e}"
        ))),
    }
}

/// Like [`required_secret`], but `None` when it is not configured.
pub async fn optional_secret(
    secrets: &dyn SecretSource,
    name: &str,
) -> Result<Option<String>, DeliveryError> {
    match secrets.secrets(name).await {
        Ok(s) => Ok(s.map(|s| s.current().to_string())),
        Err(e) => Err(DeliveryError::Transient(format!(
            "cannot read the secret {name}: {e}"
        ))),
    }
}
