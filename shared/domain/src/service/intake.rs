//! Intake: make the event durable, then hand it to classification.
//!
//! Before the event is stored:
//! - a reply that arrived through an email provider (which knows only message ids) gets its
//!   outbound thread's sequence, account and history from the [`ThreadIndex`], and a reply an
//!   agent sends with that context records it for the replies that follow;
//! - a meeting update (booked, rescheduled, cancelled, missed) joins the buyer's open handoff
//!   instead of opening a new one; only a booking with no open handoff opens one
//!   (trigger `meeting_booked`).
//!
//! [`ThreadIndex`]: crate::ports::ThreadIndex

use super::{ServiceError, Services};
use crate::event::{EmailReply, EventKind, IntakeEvent};
use crate::ids::HandoffId;
use crate::lifecycle::{Actor, HandoffRecord, LinkedEvent, State};
use crate::ports::{CreateOutcome, OutboundThread, Stage, StageMessage, StoreError};
use serde::Serialize;

/// What intake answers once the event is durable and enqueued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntakeReceipt {
    pub handoff_id: HandoffId,
    /// True when this event was seen before (a provider retry or replay).
    pub duplicate: bool,
    /// True when the event joined an existing handoff (a meeting update) instead of opening one.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub linked: bool,
}

/// How long after its creation a handoff still collects the buyer's meeting updates.
pub const MEETING_LINK_DAYS: i64 = 30;
/// How many of the buyer's handoffs are considered when linking a meeting update.
const LINK_CANDIDATES: usize = 10;
/// Attempts when a link races another writer of the same handoff.
const LINK_ATTEMPTS: usize = 5;

impl Services {
    /// Takes every event of one provider request; stops at the first failure (the provider's
    /// retry re-sends all of them, and those already stored are recognised as duplicates).
    pub async fn intake_all(
        &self,
        events: Vec<IntakeEvent>,
    ) -> Result<Vec<IntakeReceipt>, ServiceError> {
        let mut receipts = Vec::with_capacity(events.len());
        for event in events {
            receipts.push(self.intake(event).await?);
        }
        Ok(receipts)
    }

    /// Stores the event as a new handoff (create-if-absent on its deterministic id) and enqueues
    /// classification — or links a meeting update to the buyer's open handoff. A replay of an
    /// event still in `received` is enqueued again, so a crash between the write and the send
    /// loses nothing; classification is idempotent.
    pub async fn intake(&self, mut event: IntakeEvent) -> Result<IntakeReceipt, ServiceError> {
        if let EventKind::EmailReply(reply) = &mut event.kind {
            self.thread_context(reply).await?;
        }
        if let Some(receipt) = self.link_meeting_update(&event).await? {
            return Ok(receipt);
        }
        let now = self.clock.now();
        let (record, entry) = HandoffRecord::received(event, now);
        let id = record.id.clone();
        let outcome = self.store.create(&record, &entry).await?;
        let duplicate = match outcome {
            CreateOutcome::Created => false,
            CreateOutcome::AlreadyExists(state) => {
                if state != State::Received {
                    return Ok(IntakeReceipt {
                        handoff_id: id,
                        duplicate: true,
                        linked: false,
                    });
                }
                true
            }
        };
        self.queue
            .send(
                Stage::Classify,
                &[StageMessage::new(id.clone(), Stage::Classify)],
            )
            .await?;
        Ok(IntakeReceipt {
            handoff_id: id,
            duplicate,
            linked: false,
        })
    }

    /// Records an outbound thread's context (the sequencer's `POST /v1/threads`).
    pub async fn record_thread(&self, thread: &OutboundThread) -> Result<(), ServiceError> {
        if thread.keys.iter().all(|k| k.trim().is_empty()) {
            return Err(ServiceError::Invalid(
                "a thread needs at least one key (a Message-ID or a reply token)".into(),
            ));
        }
        Ok(self.threads.put_thread(thread).await?)
    }

    /// Fills a reply's sequence, account and history from its outbound thread, or records them
    /// when the reply already carries them (an agent's event).
    async fn thread_context(&self, reply: &mut EmailReply) -> Result<(), ServiceError> {
        let mut keys: Vec<String> = Vec::new();
        keys.extend(reply.reply_token.clone());
        keys.extend(reply.in_reply_to.clone());
        keys.extend(reply.references.iter().rev().cloned());
        keys.push(reply.thread_id.clone());
        keys.retain(|k| !k.trim().is_empty());
        if reply.sequence.is_some() || reply.account.is_some() {
            keys.extend(reply.message_id.clone());
            let thread = OutboundThread {
                thread_id: reply.thread_id.clone(),
                keys,
                buyer_email: Some(reply.buyer.email.clone()),
                sequence: reply.sequence.clone(),
                account: reply.account.clone(),
                outreach_history: reply.outreach_history.clone(),
            };
            // A replay, or the next reply of a thread already known as it is: a read, no write.
            let known = self.threads.find_thread(&thread.keys).await?;
            if !known.as_ref().is_some_and(|k| same_thread(k, &thread)) {
                self.threads.put_thread(&thread).await?;
            }
            return Ok(());
        }
        if keys.is_empty() {
            return Ok(());
        }
        if let Some(thread) = self.threads.find_thread(&keys).await? {
            reply.thread_id = thread.thread_id;
            reply.sequence = thread.sequence;
            reply.account = thread.account;
            if reply.outreach_history.is_empty() {
                reply.outreach_history = thread.outreach_history;
            }
        }
        Ok(())
    }

    /// Links a meeting update to the buyer's newest handoff that is still in play (not closed by
    /// the automation, created within [`MEETING_LINK_DAYS`]); `None` when the event must open its
    /// own handoff (not a meeting, no such handoff, or this event already opened one).
    async fn link_meeting_update(
        &self,
        event: &IntakeEvent,
    ) -> Result<Option<IntakeReceipt>, ServiceError> {
        let (meeting, kind, what) = match &event.kind {
            EventKind::MeetingBooked(m) if m.rescheduled => {
                (m, "meeting_rescheduled", "rescheduled it to")
            }
            EventKind::MeetingBooked(m) => (m, "meeting_booked", "booked it for"),
            EventKind::MeetingCancelled(m) if m.rescheduled => {
                (m, "meeting_moved", "moved it away from")
            }
            EventKind::MeetingCancelled(m) => (m, "meeting_cancelled", "cancelled it for"),
            EventKind::MeetingNoShow(m) => (m, "meeting_no_show", "did not show up on"),
            _ => return Ok(None),
        };
        let own_id = HandoffId::for_event(&event.source, &event.provider_event_id);
        if self.store.get(&own_id).await?.is_some() {
            return Ok(None);
        }
        let now = self.clock.now();
        let oldest = now - chrono::Duration::days(MEETING_LINK_DAYS);
        let candidates = self
            .store
            .by_contact(&event.buyer().email, LINK_CANDIDATES)
            .await?;
        let Some(target) = candidates.into_iter().find(|s| {
            // An attached event is no handoff: its update joins the handoff it joined.
            s.id != own_id
                && !matches!(s.state, State::ClosedWithoutHandoff | State::Attached)
                && s.created_at >= oldest
        }) else {
            return Ok(None);
        };
        let key = format!(
            "{}\u{1f}{}",
            event.source.as_str(),
            event.provider_event_id.as_str()
        );
        // The cancelled half of a reschedule has no new start time.
        let starts_at =
            matches!(event.kind, EventKind::MeetingBooked(_)).then_some(meeting.starts_at);
        let note = meeting_note(what, event.source.as_str(), meeting);
        for _ in 0..LINK_ATTEMPTS {
            let mut record = self
                .store
                .get(&target.id)
                .await?
                .ok_or_else(|| ServiceError::NotFound(target.id.clone()))?;
            let link = LinkedEvent {
                key: key.clone(),
                kind: kind.into(),
                meeting_id: Some(meeting.meeting_id.clone()),
                starts_at,
                replaces: meeting.replaces.clone(),
                at: now,
            };
            let Some(entry) = record.link(link, Actor::System("intake".into()), note.clone())
            else {
                return Ok(Some(IntakeReceipt {
                    handoff_id: target.id,
                    duplicate: true,
                    linked: true,
                }));
            };
            match self.store.update(&record, &entry).await {
                Ok(()) => {
                    return Ok(Some(IntakeReceipt {
                        handoff_id: target.id,
                        duplicate: false,
                        linked: true,
                    }))
                }
                Err(StoreError::VersionConflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Transient(format!(
            "handoff {} kept changing while a meeting update was linked to it",
            target.id
        )))
    }
}

/// Whether `known` already says everything `new` would record (every key normalised the same).
fn same_thread(known: &OutboundThread, new: &OutboundThread) -> bool {
    use crate::ports::thread_key;
    let known_keys: Vec<String> = known.keys.iter().map(|k| thread_key(k)).collect();
    known.thread_id == new.thread_id
        && known.sequence == new.sequence
        && known.account == new.account
        && known.outreach_history == new.outreach_history
        && new.keys.iter().all(|k| known_keys.contains(&thread_key(k)))
}

/// The timeline note of a linked meeting update, in prose ("Meeting \"30 min demo\": the buyer
/// booked it for 2026-11-26 15:00 UTC via calendly").
fn meeting_note(what: &str, source: &str, m: &crate::event::MeetingEvent) -> String {
    let title = if m.title.trim().is_empty() {
        "Meeting".to_string()
    } else {
        format!("Meeting \"{}\"", m.title.trim())
    };
    let notes = if m.notes.trim().is_empty() {
        String::new()
    } else {
        format!(" ({})", m.notes.trim())
    };
    format!(
        "{title}: the buyer {what} {} via {source}{notes}",
        m.starts_at.format("%Y-%m-%d %H:%M UTC")
    )
}
