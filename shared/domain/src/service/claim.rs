//! Claims: the owner accepts, says "wrong owner", or asks for re-qualification.

use super::stages::StageOutcome;
use super::{ServiceError, Services};
use crate::claim_link::{Claim, ClaimAction};
use crate::ids::{HandoffId, RepId};
use crate::lifecycle::{Actor, ReassignReason, RerouteReason, State, Transition};
use crate::routing::RouteMode;

impl Services {
    /// Verifies a signed claim link, then applies it.
    pub async fn claim_with_link(&self, claim: &Claim) -> Result<StageOutcome, ServiceError> {
        self.claims.verify(claim, self.clock.now())?;
        self.claim(&claim.handoff_id, &claim.rep, claim.action)
            .await
    }

    /// Applies a claim by an already authenticated rep. Replaying an accept is a no-op.
    pub async fn claim(
        &self,
        id: &HandoffId,
        rep: &RepId,
        action: ClaimAction,
    ) -> Result<StageOutcome, ServiceError> {
        let now = self.clock.now();
        let mut record = self
            .store
            .get(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(id.clone()))?;
        let owner = record.owner.as_ref().and_then(|o| o.rep.clone());
        if action == ClaimAction::Accept
            && record.state == State::Accepted
            && owner.as_ref() == Some(rep)
        {
            return Ok(StageOutcome::AlreadyDone(State::Accepted));
        }
        if !record.state.awaits_owner() {
            return Err(ServiceError::Conflict(format!(
                "handoff {id} is {} and cannot be claimed",
                record.state.as_str()
            )));
        }
        // Anyone on the roster may pick up a handoff sitting in the shared queue; otherwise only the owner.
        if owner.is_some() && owner.as_ref() != Some(rep) {
            return Err(ServiceError::Conflict(format!(
                "handoff {id} is owned by someone else now"
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
                if let Some(domain) = &record.company_domain {
                    self.store.set_account_owner(domain, rep).await?;
                }
                // The CRM must name the rep who took it (and get the package if it was accepted
                // before the CRM write): the assign stage brings it in line.
                if record.crm_stale() {
                    self.enqueue_assign(id).await?;
                }
                Ok(StageOutcome::Advanced(State::Accepted))
            }
            ClaimAction::WrongOwner => {
                self.fail_over(id, RerouteReason::WrongOwner, Some(rep.clone()))
                    .await?;
                Ok(StageOutcome::Advanced(State::Assigned))
            }
            ClaimAction::Requalify => {
                if !record.missed_by.contains(rep) {
                    record.missed_by.push(rep.clone());
                }
                let decision = self
                    .decide_route(&record, &rules, RouteMode::Requalify, now)
                    .await?;
                let previous = record.owner.clone();
                Self::set_owner(&mut record, decision);
                let receipt = record.notification_ref.take();
                record.record_reassignment(
                    previous.as_ref(),
                    receipt,
                    ReassignReason::Requalification,
                    now,
                );
                let entry = record.apply(
                    Transition::RequestRequalification,
                    Actor::Rep(rep.clone()),
                    now,
                    "needs re-qualification",
                )?;
                self.save(&record, &entry).await?;
                self.count_load(
                    &rules,
                    record.owner.as_ref().and_then(|o| o.rep.as_ref()),
                    now,
                )
                .await?;
                self.enqueue_assign(id).await?;
                Ok(StageOutcome::Advanced(State::RequalificationRequested))
            }
        }
    }
}
