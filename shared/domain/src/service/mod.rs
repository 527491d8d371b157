//! Use cases over the ports: intake, the classify and assign stages, the failover sweep,
//! claims and the audit. Every stage is one state transition written with a conditional update,
//! so a replayed message finds the work done and acknowledges.
//!
//! - [`intake`]: thread context for replies, meeting updates linked to the open handoff, then a
//!   durable create-if-absent and the classification message.
//! - [`stages`]: classify, then assign → CRM write → notify, resumable after any crash.
//! - [`attach`]: a later event of a buyer with an open handoff joins it as a new touch
//!   (classify), and the owner hears of it once the CRM shows it (assign).
//! - [`second_opinion`]: the judge asked about low-confidence cases during classify.
//! - `reassign`: the one path that routes and persists a new owner (first assignment,
//!   failover, re-qualification).
//! - [`sweep`]: reroute handoffs whose SLA passed unclaimed.
//! - [`claim`]: accept / wrong owner / re-qualification.
//! - [`delivery`]: what a queue consumer does with one message (ack, retry, dead-letter).
//! - `lease`: one delivery at a time makes a handoff's outside calls, and their results are
//!   recorded before anything else.

pub mod attach;
pub mod claim;
pub mod delivery;
pub mod intake;
mod lease;
mod reassign;
pub mod second_opinion;
pub mod stages;
pub mod sweep;

use crate::claim_link::{ClaimLinkError, ClaimSigner};
use crate::config::Rules;
use crate::ids::HandoffId;
use crate::lifecycle::IllegalTransition;
use crate::ports::{
    Clock, Crm, DeliveryError, Fault, HandoffStore, Judge, Notifier, QueueError, RulesSource,
    RulesSourceError, StageQueue, StoreError, ThreadIndex,
};
use std::sync::Arc;
use thiserror::Error;

/// The adapters a deployment wires in, built once at start-up.
#[derive(Clone)]
pub struct Services {
    pub store: Arc<dyn HandoffStore>,
    pub queue: Arc<dyn StageQueue>,
    /// Outbound thread context for replies that arrive through email providers.
    pub threads: Arc<dyn ThreadIndex>,
    pub crm: Arc<dyn Crm>,
    pub notifier: Arc<dyn Notifier>,
    pub clock: Arc<dyn Clock>,
    pub rules: Arc<dyn RulesSource>,
    /// The second opinion low-confidence cases get when `[judge]` names one ([`NoJudge`](crate::ports::NoJudge)
    /// where the deployment has none).
    pub judge: Arc<dyn Judge>,
    /// Signs claim links put into notifications.
    pub claims: ClaimSigner,
    /// Base URL of the claim endpoint (e.g. `http://127.0.0.1:8080` or the function URL).
    pub public_url: String,
    /// How long claim links stay valid.
    pub claim_link_ttl: chrono::Duration,
}

/// What went wrong in a use case, sorted by what the caller should do.
#[derive(Debug, Error)]
pub enum ServiceError {
    /// The request is malformed or refers to something impossible: 4xx, never retried.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The claim link or signature was refused: 401/403.
    #[error(transparent)]
    Unauthorized(#[from] ClaimLinkError),
    #[error("handoff {0} not found")]
    NotFound(HandoffId),
    /// The action conflicts with the handoff's state (already reassigned…): 409.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Worth retrying (store/queue unavailable, CRM timeout).
    #[error("temporarily unavailable: {0}")]
    Transient(String),
    /// Another writer changed the handoff between this use case's read and its write: worth
    /// retrying on the fresh record (transient).
    #[error("{0}")]
    Raced(String),
    /// Retrying cannot help (bad stored data, CRM rejected the write, invalid rules).
    #[error("permanent failure: {0}")]
    Permanent(String),
}

impl ServiceError {
    /// Whether a retry may help.
    pub fn fault(&self) -> Fault {
        match self {
            ServiceError::Transient(_) | ServiceError::Raced(_) => Fault::Transient,
            _ => Fault::Permanent,
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(id) => ServiceError::NotFound(id),
            e if e.fault() == Fault::Transient => ServiceError::Transient(e.to_string()),
            e => ServiceError::Permanent(e.to_string()),
        }
    }
}

impl From<QueueError> for ServiceError {
    fn from(e: QueueError) -> Self {
        ServiceError::Transient(e.to_string())
    }
}

impl From<DeliveryError> for ServiceError {
    fn from(e: DeliveryError) -> Self {
        match e {
            DeliveryError::Transient(m) => ServiceError::Transient(m),
            DeliveryError::Permanent(m) => ServiceError::Permanent(m),
        }
    }
}

impl From<RulesSourceError> for ServiceError {
    fn from(e: RulesSourceError) -> Self {
        match e {
            RulesSourceError::Invalid(e) => ServiceError::Permanent(e.to_string()),
            RulesSourceError::Unavailable(m) => ServiceError::Transient(m),
        }
    }
}

impl From<IllegalTransition> for ServiceError {
    fn from(e: IllegalTransition) -> Self {
        ServiceError::Conflict(e.to_string())
    }
}

/// Tries of one use case when it keeps losing version races on the same handoff.
const RACE_ATTEMPTS: usize = 5;

impl Services {
    async fn rules(&self) -> Result<Arc<Rules>, ServiceError> {
        Ok(self.rules.current().await?)
    }

    /// Runs `attempt` again while it loses a version race ([`ServiceError::Raced`]: another
    /// claim, the sweep or a stage wrote the handoff between its read and its write), so it
    /// decides again on the fresh record and answers with what happened instead of "try later".
    /// Any other failure, transient or not, is returned as it is.
    pub(crate) async fn retry_races<T, F, Fut>(&self, mut attempt: F) -> Result<T, ServiceError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, ServiceError>>,
    {
        let mut tries = 1;
        loop {
            match attempt().await {
                Err(ServiceError::Raced(_)) if tries < RACE_ATTEMPTS => tries += 1,
                other => return other,
            }
        }
    }
}

impl Services {
    /// The audit over handoffs created in `[from, to)`.
    pub async fn audit(
        &self,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> Result<crate::audit::AuditReport, ServiceError> {
        let records = self.store.created_between(from, to).await?;
        let mut with_timelines = Vec::with_capacity(records.len());
        for r in records {
            let t = self.store.timeline(&r.id).await?;
            with_timelines.push((r, t));
        }
        Ok(crate::audit::AuditReport::compute(
            from,
            to,
            &with_timelines,
        ))
    }
}
