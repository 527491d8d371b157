//! Claims: the owner accepts, says "wrong owner", or asks for re-qualification.

use super::reassign::OwnerChange;
use super::stages::StageOutcome;
use super::{ServiceError, Services};
use crate::claim_link::{Claim, ClaimAction};
use crate::ids::{HandoffId, RepId};
use crate::lifecycle::{Actor, ReassignReason, RerouteReason, State, Transition};

impl Services {
    /// Verifies a signed claim link, then applies it.
    pub async fn claim_with_link(&self, claim: &Claim) -> Result<StageOutcome, ServiceError> {
        self.claims.verify(claim, self.clock.now())?;
        self.claim(&claim.handoff_id, &claim.rep, claim.action)
            .await
    }

    /// Applies a claim by an already authenticated rep. Replaying an accept is a no-op.
    ///
    /// A claim that loses a race (the record changed between its read and its write: another
    /// claim, the failover sweep, a stage) is tried again on the fresh record, so the loser is
    /// answered with what happened — a conflict naming who has it now — rather than "try later".
    /// A transient fault with no race behind it (the store is down) is still transient.
    pub async fn claim(
        &self,
        id: &HandoffId,
        rep: &RepId,
        action: ClaimAction,
    ) -> Result<StageOutcome, ServiceError> {
        self.retry_races(|| self.claim_once(id, rep, action)).await
    }

    /// One try of [`Services::claim`].
    async fn claim_once(
        &self,
        id: &HandoffId,
        rep: &RepId,
        action: ClaimAction,
    ) -> Result<StageOutcome, ServiceError> {
        let record = self
            .store
            .get(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(id.clone()))?;
        self.claim_record(record, rep, action).await
    }

    async fn claim_record(
        &self,
        mut record: crate::lifecycle::HandoffRecord,
        rep: &RepId,
        action: ClaimAction,
    ) -> Result<StageOutcome, ServiceError> {
        let now = self.clock.now();
        let id = &record.id.clone();
        let owner = record.owner.as_ref().and_then(|o| o.rep.clone());
        let owner_display = record
            .owner
            .as_ref()
            .map(|o| o.display.clone())
            .unwrap_or_default();
        if action == ClaimAction::Accept
            && record.state == State::Accepted
            && owner.as_ref() == Some(rep)
        {
            // A retry after the accept was saved but what follows it failed: finish that part.
            self.after_accept(&record, rep, true).await?;
            return Ok(StageOutcome::AlreadyDone(State::Accepted));
        }
        if record.state == State::Accepted {
            return Err(ServiceError::Conflict(format!(
                "handoff {id} was already accepted by {owner_display}"
            )));
        }
        if !record.state.awaits_owner() {
            return Err(ServiceError::Conflict(format!(
                "handoff {id} is {} and cannot be claimed",
                crate::render::prose(record.state.as_str())
            )));
        }
        // Anyone on the roster may pick up a handoff sitting in the shared queue; otherwise only the owner.
        if owner.is_some() && owner.as_ref() != Some(rep) {
            return Err(ServiceError::Conflict(format!(
                "handoff {id} is with {owner_display} now"
            )));
        }
        // Whoever said "not mine" does not get it back through an old link or the queue.
        if record
            .reassignments
            .iter()
            .any(|r| r.reason == ReassignReason::WrongOwner && r.from.as_ref() == Some(rep))
        {
            return Err(ServiceError::Conflict(format!(
                "{rep} reported handoff {id} as the wrong owner; it is no longer theirs to claim"
            )));
        }
        let rules = self.rules().await?;
        if rules.rep(rep).is_none() {
            return Err(ServiceError::Invalid(format!("unknown rep {rep}")));
        }
        match action {
            ClaimAction::Accept => {
                let picked_from_queue = owner.is_none();
                if picked_from_queue {
                    let r = rules.rep(rep).expect("checked above");
                    let previous = record.owner.clone();
                    if let Some(o) = record.owner.as_mut() {
                        o.rep = Some(rep.clone());
                        o.display = r.name.clone();
                        o.notify = r.notify.clone();
                    }
                    let receipt = record.notification_ref.clone();
                    record.record_reassignment(
                        previous.as_ref(),
                        receipt,
                        ReassignReason::QueuePickup,
                        now,
                    );
                }
                let entry =
                    record.apply(Transition::Accept, Actor::Rep(rep.clone()), now, "accepted")?;
                self.save(&record, &entry).await?;
                self.after_accept(&record, rep, false).await?;
                Ok(StageOutcome::Advanced(State::Accepted))
            }
            ClaimAction::WrongOwner => {
                self.fail_over(id, RerouteReason::WrongOwner, Some(rep.clone()))
                    .await?;
                Ok(StageOutcome::Advanced(State::Assigned))
            }
            ClaimAction::Requalify => {
                let change = OwnerChange::Requalify { by: rep.clone() };
                self.reassign(&mut record, &rules, change, now).await?;
                Ok(StageOutcome::Advanced(State::RequalificationRequested))
            }
        }
    }
}

impl Services {
    /// What follows a saved accept: the rep becomes the account owner of the buyer's domain, and
    /// a stale CRM is brought in line by the assign stage. Each step is idempotent, so a retry of
    /// the accept (the rep clicks again, Slack retries) repairs a step that failed the first time.
    /// On a retry the account owner is only restored when this handoff is still the domain's
    /// latest accepted one (a later accept by someone else is not overwritten).
    async fn after_accept(
        &self,
        record: &crate::lifecycle::HandoffRecord,
        rep: &RepId,
        retry: bool,
    ) -> Result<(), ServiceError> {
        if let Some(domain) = &record.company_domain {
            let learn = if retry {
                let latest_accept = self
                    .store
                    .by_domain(domain, 20)
                    .await?
                    .into_iter()
                    .find(|s| s.state == State::Accepted)
                    .map(|s| s.id);
                latest_accept.as_ref() == Some(&record.id)
                    && self.store.account_owner(domain).await?.as_ref() != Some(rep)
            } else {
                true
            };
            if learn {
                self.store.set_account_owner(domain, rep).await?;
            }
        }
        // The CRM must name the rep who took it (and get the package if it was accepted before
        // the CRM write): the assign stage brings it in line.
        if record.crm_stale() {
            self.enqueue_assign(&record.id).await?;
        }
        Ok(())
    }
}
