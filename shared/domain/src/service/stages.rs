//! The classify and assign stages. Each call advances one handoff as far as it can, one
//! conditional update per transition, and is safe to replay.

use super::lease::{Lease, Worker};
use super::reassign::OwnerChange;
use super::{ServiceError, Services};
use crate::claim_link::ClaimAction;
use crate::classify::{classify, MatchContext};
use crate::config::{Rep, Rules};
use crate::ids::{HandoffId, RepId};
use crate::lifecycle::{
    Actor, HandoffRecord, ReassignReason, RerouteReason, StageLease, State, TimelineEntry,
    Transition, STAGE_LEASE,
};
use crate::package::{HandoffPackage, MotionFields};
use crate::ports::{
    CrmStep, CrmWrite, DeliveryError, ExternalIds, HandoffSummary, Notification, NotificationKind,
    OwnerChangeNote, Stage, StageMessage, StoreError,
};
use crate::render;
use crate::routing::{route, RouteMode, RoutingDecision, RoutingInput};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// What a stage did with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageOutcome {
    /// The handoff moved on; the label of its new state.
    Advanced(State),
    /// Nothing to do: the work was already done (a replay).
    AlreadyDone(State),
}

const MATCH_LIMIT: usize = 20;

impl Services {
    /// Runs one stage for one handoff.
    pub async fn run_stage(&self, message: &StageMessage) -> Result<StageOutcome, ServiceError> {
        match message.stage {
            Stage::Classify => self.classify_stage(&message.handoff_id).await,
            Stage::Assign => {
                let worker = Worker::new();
                let outcome = self.assign_stage(&message.handoff_id, &worker).await;
                if let Err(error) = &outcome {
                    self.give_up_lease(&message.handoff_id, &worker, error)
                        .await;
                }
                outcome
            }
        }
    }

    /// The stored record (not found: permanent).
    pub(crate) async fn load(&self, id: &HandoffId) -> Result<HandoffRecord, ServiceError> {
        self.store
            .get(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(id.clone()))
    }

    /// Writes a transition; a concurrent writer's win is reported as transient so the message is retried
    /// (the retry re-reads and finds the work done).
    pub(crate) async fn save(
        &self,
        record: &HandoffRecord,
        entry: &TimelineEntry,
    ) -> Result<(), ServiceError> {
        match self.store.update(record, entry).await {
            Ok(()) => Ok(()),
            Err(e @ StoreError::VersionConflict { .. }) => Err(ServiceError::Raced(e.to_string())),
            Err(e) => Err(e.into()),
        }
    }

    /// Gathers what the store knows about the buyer.
    async fn match_context(
        &self,
        record: &HandoffRecord,
        rules: &Rules,
    ) -> Result<MatchContext, ServiceError> {
        let not_self = |v: Vec<HandoffSummary>| {
            v.into_iter()
                .filter(|s| s.id != record.id)
                .collect::<Vec<_>>()
        };
        let same_contact = not_self(
            self.store
                .by_contact(&record.contact_email, MATCH_LIMIT)
                .await?,
        );
        let (same_domain, account_owner, existing_customer) = match &record.company_domain {
            Some(d) => {
                let configured = rules.account(d);
                let owner = match configured {
                    Some(a) => Some(a.owner.clone()),
                    None => self.store.account_owner(d).await?,
                };
                (
                    not_self(self.store.by_domain(d, MATCH_LIMIT).await?),
                    owner,
                    configured.is_some_and(|a| a.customer),
                )
            }
            None => (Vec::new(), None, false),
        };
        Ok(MatchContext {
            same_contact,
            same_domain,
            account_owner,
            existing_customer,
        })
    }

    async fn classify_stage(&self, id: &HandoffId) -> Result<StageOutcome, ServiceError> {
        let mut record = self.load(id).await?;
        match record.state {
            State::Received => {}
            // Classified but not escalated: the close was not saved (a store fault, a crash).
            // Close it now; it must never reach the assign stage.
            State::Classified if !record.escalates() => {
                return self.close_without_handoff(&mut record).await;
            }
            // Classified but the assign message may not have been sent before a crash: send again.
            State::Classified => {
                self.enqueue_assign(id).await?;
                return Ok(StageOutcome::AlreadyDone(record.state));
            }
            other => return Ok(StageOutcome::AlreadyDone(other)),
        }
        let rules = self.rules().await?;
        let ctx = self.match_context(&record, &rules).await?;
        let classification = classify(&record.event, &ctx, &rules);
        let now = self.clock.now();
        let rules_escalate = classification.escalate;
        let classification = self
            .second_opinion(&record, classification, &rules, now)
            .await;
        // The buyer already has an open handoff: this event joins it instead of opening one.
        if let Some(attached) = self
            .attach_to_open_handoff(&mut record, &ctx, &classification, &rules, now)
            .await?
        {
            return Ok(attached);
        }
        let escalate = classification.escalate;
        let mut note = format!(
            "trigger {}; {}",
            classification.trigger.phrase(),
            if escalate {
                "escalated to a human"
            } else {
                "not escalated"
            }
        );
        if escalate && !rules_escalate {
            note.push_str(" (a second opinion asked for a human)");
        }
        record.classification = Some(classification);
        let entry = record.apply(Transition::Classify, system("classify"), now, note)?;
        self.save(&record, &entry).await?;
        if escalate {
            self.enqueue_assign(id).await?;
            return Ok(StageOutcome::Advanced(State::Classified));
        }
        self.close_without_handoff(&mut record).await
    }

    /// Closes a classified handoff the automation handles (no human handoff), noting the
    /// automation's action.
    async fn close_without_handoff(
        &self,
        record: &mut HandoffRecord,
    ) -> Result<StageOutcome, ServiceError> {
        let note = record
            .classification
            .as_ref()
            .and_then(|c| c.automation.as_ref())
            .map(|a| format!("{}: {}", a.action.phrase(), a.reason))
            .unwrap_or_else(|| "no escalation".into());
        let now = self.clock.now();
        let entry = record.apply(Transition::Close, system("classify"), now, note)?;
        self.save(record, &entry).await?;
        Ok(StageOutcome::Advanced(State::ClosedWithoutHandoff))
    }

    pub(crate) async fn enqueue_assign(&self, id: &HandoffId) -> Result<(), ServiceError> {
        self.queue
            .send(
                Stage::Assign,
                &[StageMessage::new(id.clone(), Stage::Assign)],
            )
            .await?;
        Ok(())
    }

    /// Routes the handoff with everything routing needs gathered from the ports.
    pub(crate) async fn decide_route(
        &self,
        record: &HandoffRecord,
        rules: &Rules,
        mode: RouteMode,
        now: DateTime<Utc>,
    ) -> Result<RoutingDecision, ServiceError> {
        let classification = record.classification.as_ref().ok_or_else(|| {
            ServiceError::Permanent(format!("handoff {} has no classification", record.id))
        })?;
        let ctx = self.match_context(record, rules).await?;
        // While a contact's handoff is open, new events join it (see `attach`); a new handoff
        // goes to the rep owner of the contact's most recent handoff (newest first).
        let existing_owner = ctx
            .same_contact
            .iter()
            .find(|s| s.owner.is_some())
            .and_then(|s| s.owner.clone());
        let wanted: Vec<_> = rules
            .reps
            .iter()
            .filter(|r| r.active)
            .map(|rep| {
                (
                    rep.id.clone(),
                    now.with_timezone(&rep.timezone).date_naive(),
                )
            })
            .collect();
        let reps: Vec<RepId> = wanted.iter().map(|(rep, _)| rep.clone()).collect();
        let (counts, counters) = futures_util::future::try_join(
            self.store.rep_loads(&wanted),
            self.store.fairness(&reps),
        )
        .await?;
        let loads: BTreeMap<_, _> = reps.iter().cloned().zip(counts).collect();
        let fairness: BTreeMap<_, _> = reps.into_iter().zip(counters).collect();
        let overrides = self.store.availability().await?;
        let cursor = self.store.next_counter("round_robin").await?;
        let input = RoutingInput {
            rules,
            classification,
            facts: crate::routing::RoutingFacts::of(rules, classification, Some(&record.event)),
            now,
            mode,
            existing_owner,
            account_owner: ctx.account_owner,
            loads,
            fairness,
            overrides,
            exclude: record.missed_by.clone(),
            current_owner: record.owner.as_ref().and_then(|o| o.rep.clone()),
            current_team: record.owner.as_ref().map(|o| o.team.clone()),
            cursor,
            failover_attempts: record.failover_reps,
            already_escalated: record.state == State::Escalated,
        };
        Ok(route(&input))
    }

    /// Applies a routing decision to the record (owner, SLA, trace, motion fields).
    pub(crate) fn set_owner(record: &mut HandoffRecord, decision: RoutingDecision) {
        let reason = decision
            .trace
            .iter()
            .rev()
            .find(|t| t.layer != "sla")
            .map(|t| format!("{}: {}", render::layer_phrase(&t.layer), t.outcome))
            .unwrap_or_default();
        if let Some(c) = record.classification.as_mut() {
            match &mut c.motion_fields {
                MotionFields::Inbound { routing_reason, .. } => *routing_reason = reason,
                MotionFields::Outbound { reply_owner, .. } => {
                    *reply_owner = decision.owner.rep.clone()
                }
            }
        }
        record.routing.extend(decision.trace);
        record.owner = Some(decision.owner);
        record.sla = Some(decision.sla);
    }

    /// Records a new assignment in one store call: one more handoff against the owner's daily
    /// cap and, when the round robin chose them, the decision's fair shares (continuity and
    /// escalations count against the cap only).
    pub(crate) async fn count_load(
        &self,
        rules: &Rules,
        decision: &RoutingDecision,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        let load = decision
            .owner
            .rep
            .as_ref()
            .and_then(|id| rules.rep(id))
            .map(|rep| {
                (
                    rep.id.clone(),
                    now.with_timezone(&rep.timezone).date_naive(),
                )
            });
        let assignment = crate::ports::Assignment {
            load,
            fair_share: decision.fair_share.clone(),
        };
        if assignment != crate::ports::Assignment::default() {
            self.store.record_assignment(&assignment).await?;
        }
        Ok(())
    }

    async fn assign_stage(
        &self,
        id: &HandoffId,
        worker: &Worker,
    ) -> Result<StageOutcome, ServiceError> {
        let mut record = self.load(id).await?;
        let start = record.state;
        loop {
            let now = self.clock.now();
            // Every step below but routing calls the CRM or the notifier: only under the lease
            // (see the `lease` module), so two runs at once never both make the call.
            let outside = record.owed_stage() == Some(Stage::Assign)
                && !matches!(record.state, State::Classified);
            if outside {
                if let Lease::Changed(fresh) = self.hold_lease(&mut record, worker, now).await? {
                    record = *fresh;
                    continue;
                }
            }
            match record.state {
                // Not escalated (its close was lost): never routed, closed as classify would.
                State::Classified if !record.escalates() => {
                    return self.close_without_handoff(&mut record).await;
                }
                State::Classified => {
                    let rules = self.rules().await?;
                    // The routing save takes the lease for the CRM write and notification.
                    record.lease = Some(StageLease {
                        holder: worker.holder.clone(),
                        until: now + STAGE_LEASE,
                    });
                    self.reassign(&mut record, &rules, OwnerChange::Initial, now)
                        .await?;
                }
                State::Assigned | State::RequalificationRequested | State::Escalated => {
                    let rules = self.rules().await?;
                    if self.crm_step(&mut record, &rules, worker, now).await? {
                        let summary = record.crm.summary();
                        record.crm_ref = Some(summary.clone());
                        let entry = record.apply(
                            Transition::RecordCrmWrite,
                            system("assign"),
                            now,
                            summary,
                        )?;
                        self.save_step(&mut record, &entry, worker).await?;
                    }
                }
                // Accepted before the CRM was written, or picked up from the shared queue: the
                // CRM still has to show the package and the owner who took it. A new touch
                // joined a handoff the CRM already shows: the CRM first, then the owner.
                State::CrmWritten | State::Notified | State::Accepted if record.crm_stale() => {
                    let rules = self.rules().await?;
                    if self.crm_step(&mut record, &rules, worker, now).await? {
                        let summary = record.crm.summary();
                        record.crm_ref = Some(summary.clone());
                        let entry = record.progress("crm_synced", system("assign"), now, summary);
                        self.save_step(&mut record, &entry, worker).await?;
                    }
                }
                // The owner was notified before a touch joined: tell them once there is news.
                State::Notified | State::Accepted
                    if record.touches.iter().any(|t| t.told.is_none()) =>
                {
                    self.tell_owner_of_touch(&mut record, worker, now).await?;
                }
                State::CrmWritten | State::Notified | State::Accepted
                    if record.reassignments.iter().any(|r| r.told.is_none()) =>
                {
                    let rules = self.rules().await?;
                    self.tell_previous_owner(&mut record, &rules, worker, now)
                        .await?;
                }
                State::CrmWritten => {
                    let rules = self.rules().await?;
                    let notification = self.notification(&record, &rules, now)?;
                    let receipt = match self.notifier.notify(&notification).await {
                        Ok(receipt) => receipt,
                        // The owner cannot be told this way (a Slack user or an address that
                        // does not exist): the next in the failover chain is, now, rather than
                        // nobody ever. The shared queue's own channel has nobody after it.
                        Err(DeliveryError::Permanent(refused))
                            if record.owner.as_ref().is_some_and(|o| o.rep.is_some()) =>
                        {
                            let who = record
                                .owner
                                .as_ref()
                                .map(|o| o.display.clone())
                                .unwrap_or_default();
                            let change = OwnerChange::Failover {
                                reason: RerouteReason::Unreachable,
                                by: None,
                                why: Some(format!(
                                    "{who} could not be notified ({})",
                                    render::escape::fit_line(&refused, 300)
                                )),
                            };
                            self.reassign(&mut record, &rules, change, now).await?;
                            continue;
                        }
                        Err(e) => return Err(e.into()),
                    };
                    let owner = record.owner.clone();
                    let note = format!("notified {}", notification.target);
                    self.record_result(&mut record, worker, now, |r, now| {
                        // Already recorded, or the owner changed or acted meanwhile.
                        if r.state != State::CrmWritten || r.owner != owner {
                            return Ok(None);
                        }
                        r.notification_ref = Some(receipt.clone());
                        let entry = r.apply(
                            Transition::RecordNotification,
                            system("assign"),
                            now,
                            note.clone(),
                        )?;
                        Ok(Some(entry))
                    })
                    .await?;
                }
                done => {
                    return Ok(if done == start {
                        StageOutcome::AlreadyDone(done)
                    } else {
                        StageOutcome::Advanced(done)
                    })
                }
            }
        }
    }

    /// One CRM step: records what the CRM created and returns `false` (call again), or marks
    /// the CRM in sync and returns `true` (the caller saves with its own transition).
    async fn crm_step(
        &self,
        record: &mut HandoffRecord,
        rules: &Rules,
        worker: &Worker,
        now: DateTime<Utc>,
    ) -> Result<bool, ServiceError> {
        let write = crm_write(record, rules, now)?;
        match self.crm.sync(&write, &record.crm).await? {
            CrmStep::Progress(refs) => {
                self.record_result(record, worker, now, |r, now| {
                    // Already recorded by a try that reported an error after saving.
                    if r.crm == refs {
                        return Ok(None);
                    }
                    r.crm = refs.clone();
                    let summary = r.crm.summary();
                    Ok(Some(r.progress(
                        "crm_progress",
                        system("assign"),
                        now,
                        summary,
                    )))
                })
                .await?;
                Ok(false)
            }
            CrmStep::Done(mut refs) => {
                refs.synced = Some(record.crm_sync_key());
                record.crm = refs;
                Ok(true)
            }
        }
    }

    /// Tells the owner of the oldest untold reassignment that the handoff moved (updating their
    /// earlier message where the channel can), then records it.
    async fn tell_previous_owner(
        &self,
        record: &mut HandoffRecord,
        rules: &Rules,
        worker: &Worker,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        let Some(i) = record.reassignments.iter().position(|r| r.told.is_none()) else {
            return Ok(());
        };
        let change = record.reassignments[i].clone();
        let receipt = if change.from_notify.is_empty() {
            "nobody to tell".to_string()
        } else if change.reason == ReassignReason::Unreachable {
            "not told: they could not be notified".to_string()
        } else {
            let package = package_of(record)?;
            let rep = change.from.as_ref().and_then(|id| rules.rep(id));
            let notification = Notification {
                handoff_id: record.id.clone(),
                kind: NotificationKind::MovedAway {
                    to: change.to_display.clone(),
                    reason: change.reason.describe().to_string(),
                },
                target: change.from_notify.clone(),
                recipient: external_ids(rep),
                recipient_email: rep.map(|r| r.email.clone()),
                title: format!(
                    "Moved to {}: {}",
                    change.to_display,
                    render::title(&package)
                ),
                body: change.note(),
                deadline_local: None,
                package,
                actions: Vec::new(),
                crm_ref: record.crm_ref.clone().unwrap_or_default(),
                replaces: change.from_receipt.clone(),
            };
            self.notifier.notify(&notification).await?
        };
        let note = format!("told {} it moved", change.from_display);
        self.record_result(record, worker, now, |r, now| {
            match r.reassignments.get_mut(i) {
                Some(moved) if moved.told.is_none() => moved.told = Some(receipt.clone()),
                _ => return Ok(None),
            }
            Ok(Some(r.progress(
                "previous_owner_told",
                system("assign"),
                now,
                note.clone(),
            )))
        })
        .await
    }

    /// The notification for the current owner, with signed claim links.
    fn notification(
        &self,
        record: &HandoffRecord,
        rules: &Rules,
        now: DateTime<Utc>,
    ) -> Result<Notification, ServiceError> {
        let package = package_of(record)?;
        let owner = record.owner.as_ref().ok_or_else(|| {
            ServiceError::Permanent(format!("handoff {} has no owner", record.id))
        })?;
        let expires = now + self.claim_link_ttl;
        let actions = match &owner.rep {
            Some(rep) => ClaimAction::ALL
                .iter()
                .map(|a| {
                    let claim = self.claims.sign(&record.id, rep, *a, expires);
                    (a.as_str().to_string(), claim.url(&self.public_url))
                })
                .collect(),
            None => Vec::new(),
        };
        let rep = owner.rep.as_ref().and_then(|id| rules.rep(id));
        let deadline_local = record.sla.as_ref().map(|sla| {
            let tz = rep.map(|r| r.timezone).unwrap_or(chrono_tz::UTC);
            sla.deadline
                .with_timezone(&tz)
                .format("%a %d %b %H:%M %Z")
                .to_string()
        });
        Ok(Notification {
            handoff_id: record.id.clone(),
            kind: NotificationKind::Assigned,
            target: owner.notify.clone(),
            recipient: external_ids(rep),
            recipient_email: rep.map(|r| r.email.clone()),
            title: render::title(&package),
            body: render::package_text(&package),
            deadline_local,
            package,
            actions,
            crm_ref: record.crm_ref.clone().unwrap_or_default(),
            replaces: None,
        })
    }
}

fn package_of(record: &HandoffRecord) -> Result<HandoffPackage, ServiceError> {
    record.package().ok_or_else(|| {
        ServiceError::Permanent(format!("handoff {} has no classification", record.id))
    })
}

/// A rep's ids in the outside systems (empty for the shared queue).
fn external_ids(rep: Option<&Rep>) -> ExternalIds {
    rep.map(|r| ExternalIds {
        hubspot_owner_id: r.hubspot_owner_id.clone(),
        salesforce_user_id: r.salesforce_user_id.clone(),
        slack_user_id: r.slack_user_id.clone(),
    })
    .unwrap_or_default()
}

/// What the CRM should hold for this handoff now.
fn crm_write(
    record: &HandoffRecord,
    rules: &Rules,
    now: DateTime<Utc>,
) -> Result<CrmWrite, ServiceError> {
    let package = package_of(record)?;
    let owner = record.owner.as_ref();
    let rep = owner
        .and_then(|o| o.rep.as_ref())
        .and_then(|id| rules.rep(id));
    Ok(CrmWrite {
        fields: package.crm_fields(),
        owner_ids: external_ids(rep),
        owner_display: owner.map(|o| o.display.clone()).unwrap_or_default(),
        changes: change_notes(record, &package),
        text: render::package_text(&package),
        html: render::package_html(&package),
        package,
        now,
    })
}

/// The notes the CRM gets besides the package, oldest first (a CRM adapter writes the ones it
/// has not written yet, counting them): one per change of owner and one per later event that
/// joined the handoff (a new touch, with the flags the handoff carries now). Both lists only
/// grow and their times only increase, so merging them by time keeps every note's position.
fn change_notes(record: &HandoffRecord, package: &HandoffPackage) -> Vec<OwnerChangeNote> {
    let flags: Vec<String> = package
        .classification
        .risk_flags
        .iter()
        .map(|f| render::prose(f.as_str()))
        .collect();
    let flags = if flags.is_empty() {
        "none".to_string()
    } else {
        flags.join(", ")
    };
    let mut notes: Vec<OwnerChangeNote> = record
        .reassignments
        .iter()
        .map(|r| OwnerChangeNote {
            at: r.at,
            text: r.note(),
        })
        .chain(record.touches.iter().map(|t| OwnerChangeNote {
            at: t.at,
            text: format!("New touch: {}. Risk flags now: {flags}.", t.summary),
        }))
        .collect();
    notes.sort_by_key(|n| n.at);
    notes
}

pub(crate) fn system(stage: &str) -> Actor {
    Actor::System(stage.to_string())
}
