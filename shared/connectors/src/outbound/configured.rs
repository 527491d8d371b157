//! The `Crm` and `Notifier` every deployment wires ([`ConfiguredCrm`], [`ConfiguredNotifier`]):
//! on each call they read the current rules and hand the work to the adapter the `[crm]` and
//! `[notify]` tables choose, built once per settings value and reused while the settings stay
//! the same (so a Salesforce token or an HTTP connection pool lives across handoffs, and a
//! `rules push` takes effect without a redeploy).
//!
//! What differs between `handoff serve` and Lambda is only what [`OutboundDeps`] holds: the file
//! CRM and the log notifier exist locally (the embedded default, no account needed); in Lambda
//! they are absent, so `[crm] kind = "file"` or a channel without its `[notify.*]` table is a
//! permanent error naming the setting (and `rules push` refuses such rules beforehand). Mail goes
//! through a [`MailFactory`]: SMTP locally, SES in Lambda.

use super::email::{EmailNotifier, MailSender};
use super::http::HttpPolicy;
use super::hubspot::HubspotCrm;
use super::salesforce::SalesforceCrm;
use super::slack::SlackNotifier;
use super::webhook::WebhookNotifier;
use crate::secrets::SecretSource;
use async_trait::async_trait;
use handoff_domain::config::{
    CrmKind, CrmSettings, EmailSettings, NotifyChannel, SlackSettings, WebhookSettings,
};
use handoff_domain::ports::{
    Crm, CrmRefs, CrmStep, CrmWrite, DeliveryError, Notification, Notifier, RulesSource,
    RulesSourceError,
};
use std::sync::{Arc, Mutex};

/// Builds the mail sender for the `[notify.email]` settings (SMTP locally, SES in Lambda).
#[async_trait]
pub trait MailFactory: Send + Sync {
    async fn sender(&self, settings: &EmailSettings) -> Result<Arc<dyn MailSender>, DeliveryError>;
}

/// What the configured adapters are built from.
#[derive(Clone)]
pub struct OutboundDeps {
    pub rules: Arc<dyn RulesSource>,
    /// Credentials (environment locally, Secrets Manager in Lambda).
    pub secrets: Arc<dyn SecretSource>,
    /// Timeouts and retries of every outside call.
    pub policy: HttpPolicy,
    /// The file CRM (`handoff serve` only).
    pub file_crm: Option<Arc<dyn Crm>>,
    /// Where a channel without its `[notify.*]` table goes (`handoff serve`: the local log).
    pub fallback_notifier: Option<Arc<dyn Notifier>>,
    pub mail: Arc<dyn MailFactory>,
}

async fn current_rules(
    rules: &dyn RulesSource,
) -> Result<Arc<handoff_domain::config::Rules>, DeliveryError> {
    rules.current().await.map_err(|e| match e {
        RulesSourceError::Invalid(e) => DeliveryError::Permanent(e.to_string()),
        RulesSourceError::Unavailable(m) => DeliveryError::Transient(m),
    })
}

/// One adapter per settings value, rebuilt when the settings change.
struct Cached<S, A: ?Sized>(Mutex<Option<(S, Arc<A>)>>);

impl<S: PartialEq + Clone, A: ?Sized> Cached<S, A> {
    fn new() -> Self {
        Self(Mutex::new(None))
    }

    fn get_or_build(
        &self,
        settings: &S,
        build: impl FnOnce() -> Result<Arc<A>, DeliveryError>,
    ) -> Result<Arc<A>, DeliveryError> {
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((s, adapter)) = slot.as_ref() {
            if s == settings {
                return Ok(adapter.clone());
            }
        }
        let adapter = build()?;
        *slot = Some((settings.clone(), adapter.clone()));
        Ok(adapter)
    }
}

/// The CRM the rules' `[crm]` table names.
pub struct ConfiguredCrm {
    deps: OutboundDeps,
    adapter: Cached<CrmSettings, dyn Crm>,
}

impl ConfiguredCrm {
    pub fn new(deps: OutboundDeps) -> Self {
        Self {
            deps,
            adapter: Cached::new(),
        }
    }
}

#[async_trait]
impl Crm for ConfiguredCrm {
    async fn sync(&self, write: &CrmWrite, refs: &CrmRefs) -> Result<CrmStep, DeliveryError> {
        let rules = current_rules(self.deps.rules.as_ref()).await?;
        let settings = &rules.crm;
        let deps = &self.deps;
        let adapter = self.adapter.get_or_build(settings, || {
            Ok(match settings.kind {
                CrmKind::File => deps.file_crm.clone().ok_or_else(|| {
                    DeliveryError::Permanent(
                        "[crm] kind = \"file\" works only in handoff serve; set kind = \"hubspot\", \"salesforce\" or \"none\"".into(),
                    )
                })?,
                CrmKind::Hubspot => Arc::new(HubspotCrm::new(
                    settings.hubspot.clone(),
                    deps.secrets.clone(),
                    deps.policy,
                )?),
                CrmKind::Salesforce => Arc::new(SalesforceCrm::new(
                    settings.salesforce.clone(),
                    deps.secrets.clone(),
                    deps.policy,
                )?),
                CrmKind::None => Arc::new(NoCrm),
            })
        })?;
        adapter.sync(write, refs).await
    }
}

/// `[crm] kind = "none"`: nothing is written; the notification still goes out.
pub struct NoCrm;

#[async_trait]
impl Crm for NoCrm {
    async fn sync(&self, _write: &CrmWrite, refs: &CrmRefs) -> Result<CrmStep, DeliveryError> {
        Ok(CrmStep::Done(CrmRefs {
            system: "none".into(),
            ..refs.clone()
        }))
    }
}

/// Sends each notification on the channel its target names (`slack:…`, `email:…`, `webhook`),
/// with the adapter the rules' `[notify.*]` table configures; `crm_task` targets need no
/// message (the CRM task written before is the notification).
pub struct ConfiguredNotifier {
    deps: OutboundDeps,
    slack: Cached<SlackSettings, SlackNotifier>,
    email: Cached<EmailSettings, EmailNotifier>,
    webhook: Cached<WebhookSettings, WebhookNotifier>,
}

impl ConfiguredNotifier {
    pub fn new(deps: OutboundDeps) -> Self {
        Self {
            deps,
            slack: Cached::new(),
            email: Cached::new(),
            webhook: Cached::new(),
        }
    }

    fn fallback(&self, table: &str, target: &str) -> Result<Arc<dyn Notifier>, DeliveryError> {
        self.deps.fallback_notifier.clone().ok_or_else(|| {
            DeliveryError::Permanent(format!(
                "{target:?} needs the rules' [{table}] table, which is missing"
            ))
        })
    }
}

#[async_trait]
impl Notifier for ConfiguredNotifier {
    async fn notify(&self, n: &Notification) -> Result<String, DeliveryError> {
        let rules = current_rules(self.deps.rules.as_ref()).await?;
        let deps = &self.deps;
        let notifier: Arc<dyn Notifier> = match NotifyChannel::of(&n.target) {
            Some(NotifyChannel::CrmTask) => {
                return Ok(format!("crm_task:{}", n.crm_ref));
            }
            Some(NotifyChannel::Slack) => match &rules.notify.slack {
                Some(s) => self.slack.get_or_build(s, || {
                    Ok(Arc::new(SlackNotifier::new(
                        s.clone(),
                        deps.secrets.clone(),
                        deps.policy,
                    )?))
                })?,
                None => self.fallback("notify.slack", &n.target)?,
            },
            Some(NotifyChannel::Email) => match &rules.notify.email {
                Some(s) => {
                    let existing = {
                        let slot = self.email.0.lock().unwrap_or_else(|p| p.into_inner());
                        slot.as_ref()
                            .filter(|(settings, _)| settings == s)
                            .map(|(_, a)| a.clone())
                    };
                    match existing {
                        Some(a) => a,
                        None => {
                            let sender = deps.mail.sender(s).await?;
                            self.email.get_or_build(s, || {
                                Ok(Arc::new(EmailNotifier::new(s.clone(), sender)))
                            })?
                        }
                    }
                }
                None => self.fallback("notify.email", &n.target)?,
            },
            Some(NotifyChannel::Webhook) => match &rules.notify.webhook {
                Some(s) => self.webhook.get_or_build(s, || {
                    Ok(Arc::new(WebhookNotifier::new(
                        s.clone(),
                        deps.secrets.clone(),
                        deps.policy,
                    )?))
                })?,
                None => self.fallback("notify.webhook", &n.target)?,
            },
            None => {
                return Err(DeliveryError::Permanent(format!(
                    "{:?} is not a notification target",
                    n.target
                )))
            }
        };
        notifier.notify(n).await
    }
}
