//! The one path that gives a handoff an owner: the first assignment, a failover (SLA missed or
//! "wrong owner") and a re-qualification all route, set the owner and SLA, record the change of
//! owner, apply their transition, save, count the new owner's load and hand the handoff to the
//! assign stage (CRM write, then notification) here, so a fix lands once.

use super::stages::system;
use super::{ServiceError, Services};
use crate::config::Rules;
use crate::ids::RepId;
use crate::lifecycle::{Actor, HandoffRecord, ReassignReason, RerouteReason, Transition};
use crate::routing::RouteMode;
use chrono::{DateTime, Utc};

/// Why the owner is (re)chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OwnerChange {
    /// The first assignment, from the assign stage (which goes on to the CRM write itself).
    Initial,
    /// The SLA passed unclaimed (`by` = None), the owner `by` said it is not theirs, or the
    /// owner could not be notified; `why` goes into the timeline note.
    Failover {
        reason: RerouteReason,
        by: Option<RepId>,
        why: Option<String>,
    },
    /// The owner `by` asked for re-qualification.
    Requalify { by: RepId },
}

impl OwnerChange {
    fn mode(&self) -> RouteMode {
        match self {
            OwnerChange::Initial => RouteMode::Initial,
            OwnerChange::Failover { .. } => RouteMode::Failover,
            OwnerChange::Requalify { .. } => RouteMode::Requalify,
        }
    }

    /// Who caused it, for the timeline.
    fn actor(&self, stage: &str) -> Actor {
        match self {
            OwnerChange::Failover {
                reason: RerouteReason::WrongOwner,
                by: Some(rep),
                ..
            }
            | OwnerChange::Requalify { by: rep } => Actor::Rep(rep.clone()),
            _ => system(stage),
        }
    }
}

impl Services {
    /// Later events of the buyer may have joined this handoff before it had an owner (while it
    /// was `classified`): on its first assignment the SLA takes the hottest of them into account
    /// the same way a touch does afterwards (earlier, never later), each with its trace step.
    async fn tighten_for_earlier_touches(
        &self,
        record: &mut HandoffRecord,
        rules: &Rules,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        for touch in record.touches.clone() {
            let Some(joined) = self.store.get(&touch.handoff_id).await? else {
                continue;
            };
            let (Some(owner), Some(sla), Some(new)) =
                (&record.owner, &record.sla, &joined.classification)
            else {
                continue;
            };
            if let Some((tighter, step)) =
                crate::routing::tightened_sla(rules, owner, sla, new, now)
            {
                record.sla = Some(tighter);
                record.routing.push(step);
            }
        }
        Ok(())
    }
}

/// What [`Services::reassign`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reassigned {
    /// The handoff went to a team lead or a queue rather than a rep chosen by the layers.
    pub escalated: bool,
}

impl Services {
    /// Routes `record` for `change` and persists the new owner (see the module docs). The record
    /// must be in a state the change's transition accepts; the caller checks who may ask.
    pub(crate) async fn reassign(
        &self,
        record: &mut HandoffRecord,
        rules: &Rules,
        change: OwnerChange,
        now: DateTime<Utc>,
    ) -> Result<Reassigned, ServiceError> {
        let current = record.owner.as_ref().and_then(|o| o.rep.clone());
        // Whoever held it, missed it, declined it or sent it back does not get it again.
        let leaving = match &change {
            OwnerChange::Initial => None,
            OwnerChange::Failover { by, .. } => by.clone().or(current),
            OwnerChange::Requalify { by } => Some(by.clone()),
        };
        if let Some(rep) = leaving {
            if !record.missed_by.contains(&rep) {
                record.missed_by.push(rep);
            }
        }
        let decision = self.decide_route(record, rules, change.mode(), now).await?;
        let escalated = decision.escalated;
        let previous = record.owner.clone();
        Self::set_owner(record, decision.clone());
        if change == OwnerChange::Initial {
            self.tighten_for_earlier_touches(record, rules, now).await?;
        }
        let reassigned = match &change {
            OwnerChange::Initial => None,
            OwnerChange::Failover { reason, .. } => {
                record.reroutes += 1;
                if !escalated {
                    record.failover_reps += 1;
                }
                Some(match reason {
                    RerouteReason::SlaMissed => ReassignReason::SlaMissed,
                    RerouteReason::WrongOwner => ReassignReason::WrongOwner,
                    RerouteReason::Unreachable => ReassignReason::Unreachable,
                })
            }
            OwnerChange::Requalify { .. } => Some(ReassignReason::Requalification),
        };
        if let Some(why) = reassigned {
            let receipt = record.notification_ref.take();
            record.record_reassignment(previous.as_ref(), receipt, why, now);
        }
        let owner = record
            .owner
            .as_ref()
            .map(|o| o.display.clone())
            .unwrap_or_default();
        let moved = |why: &Option<String>| match why {
            Some(why) => format!("{why}; now with {owner}"),
            None => format!("now with {owner}"),
        };
        let (transition, stage, note) = match &change {
            OwnerChange::Initial => (Transition::Assign, "assign", format!("owner {owner}")),
            OwnerChange::Failover { why, .. } if escalated => {
                (Transition::Escalate, "failover", moved(why))
            }
            OwnerChange::Failover { reason, why, .. } => (
                Transition::Reroute { reason: *reason },
                "failover",
                moved(why),
            ),
            OwnerChange::Requalify { .. } => (
                Transition::RequestRequalification,
                "claim",
                format!("needs re-qualification; now with {owner}"),
            ),
        };
        let entry = record.apply(transition, change.actor(stage), now, note)?;
        self.save(record, &entry).await?;
        if change == OwnerChange::Initial && escalated {
            let entry = record.apply(
                Transition::Escalate,
                system("assign"),
                now,
                "no eligible rep: sent to the failover chain",
            )?;
            self.save(record, &entry).await?;
        }
        self.count_load(rules, &decision, now).await?;
        // The assign stage goes on by itself after a first assignment; otherwise it is told.
        if change != OwnerChange::Initial {
            self.enqueue_assign(&record.id).await?;
        }
        Ok(Reassigned { escalated })
    }
}
