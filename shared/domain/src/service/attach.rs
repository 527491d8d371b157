//! One open handoff per buyer: a later event of a buyer who already has an open handoff joins
//! it as a new touch instead of opening a second handoff (a second CRM record, a second
//! notification, a second unit of the owner's daily cap).
//!
//! It runs in the classify stage, after the new event is classified (so its heat is known) and
//! before escalation or closing; intake stays a durable create-if-absent.
//!
//! - **Which handoff.** The oldest open handoff of the same buyer created before this event
//!   (by creation time, then id): the contact's handoffs (same email) and, when the buyer has a
//!   company domain, the domain's handoffs of the same person — same phone (same digits), or
//!   same name (case- and whitespace-insensitive). If that handoff is still `received`, the
//!   message is retried after it is classified (`Transient`), so two events of one buyer are
//!   ordered the same way on every run. Candidates are the newest handoffs classification
//!   already read ([`MatchContext`]).
//! - **What changes on it**, in one version and one conditional write (retried on a version
//!   conflict): a touch keyed `<source>␟<provider event id>` (a provider's retry is a no-op)
//!   with a one-line summary, the `duplicate_record` (same channel) or `channel_switch` (another
//!   channel) flag with its evidence, and a tighter SLA when the new event is hotter
//!   ([`routing::tightened_sla`]: never looser), with its trace step.
//! - **Then** the assign stage is enqueued once: it brings the CRM in line (the CRM sync key
//!   counts touches) and then tells the owner once ([`NotificationKind::NewTouch`]). A touch
//!   that joins before the owner was notified is marked as carried by that first notification.
//! - **The event's own record** ends in `attached`, keeping its classification and naming the
//!   handoff it joined (`attached_to`): no routing, nothing on anyone's daily cap.
//!
//! Matching by phone across different company domains would need an index by phone, which the
//! stores do not have: out of scope.

use super::stages::{system, StageOutcome};
use super::{ServiceError, Services};
use crate::claim_link::ClaimAction;
use crate::classify::MatchContext;
use crate::config::Rules;
use crate::event::{EventKind, IntakeEvent};
use crate::lifecycle::{AttachedTouch, HandoffRecord, State, TimelineEntry, Transition};
use crate::package::{Classification, Evidence, RiskFlag, TriggerKind};
use crate::ports::{ExternalIds, HandoffSummary, Notification, NotificationKind, StoreError};
use crate::render;
use crate::routing::tightened_sla;
use chrono::{DateTime, Utc};

/// Attempts when the open handoff changes under us (another stage writes it).
const ATTACH_ATTEMPTS: usize = 5;

/// What `told` says when the owner's first notification carries the touch.
pub const TOLD_WITH_FIRST_NOTIFICATION: &str = "carried by the owner's first notification";
/// What `told` says when the handoff has nobody to notify.
pub const NOBODY_TO_TELL: &str = "nobody to tell";

/// Why an earlier handoff is the same buyer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameBuyer {
    /// The same contact email.
    Email,
    /// Another address at the same company domain, the same phone number.
    Phone,
    /// Another address at the same company domain, the same name.
    Name,
}

impl SameBuyer {
    /// The evidence source.
    fn source(self) -> &'static str {
        match self {
            SameBuyer::Email => "match:same_contact",
            SameBuyer::Phone => "match:same_phone",
            SameBuyer::Name => "match:same_name",
        }
    }

    /// How sure the match is, in percent.
    fn confidence(self) -> u8 {
        match self {
            SameBuyer::Email => crate::package::CERTAIN,
            SameBuyer::Phone => 97,
            SameBuyer::Name => 85,
        }
    }

    /// A phrase for evidence and notes.
    fn describe(self) -> &'static str {
        match self {
            SameBuyer::Email => "same email",
            SameBuyer::Phone => "same phone at the same company",
            SameBuyer::Name => "same name at the same company",
        }
    }
}

/// A phone number reduced to its digits (a leading `00` read as `+`); `None` when fewer than six
/// digits are left, which identify nobody.
pub fn normalised_phone(raw: &str) -> Option<String> {
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    let digits = match raw.trim_start().starts_with('+') {
        true => digits,
        false => digits
            .strip_prefix("00")
            .map(str::to_string)
            .unwrap_or(digits),
    };
    (digits.len() >= 6).then_some(digits)
}

/// A name compared case- and whitespace-insensitively; `None` when blank.
pub fn normalised_name(raw: &str) -> Option<String> {
    let name = raw
        .split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ");
    (!name.is_empty()).then_some(name)
}

/// Whether a handoff of the same company domain is the buyer of `event`: same phone, else
/// same name.
fn same_person(event: &IntakeEvent, other: &HandoffSummary) -> Option<SameBuyer> {
    let buyer = event.buyer();
    let same = |a: &Option<String>, b: &Option<String>, norm: fn(&str) -> Option<String>| match (
        a.as_deref().and_then(norm),
        b.as_deref().and_then(norm),
    ) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    };
    if same(&buyer.phone, &other.phone, normalised_phone) {
        return Some(SameBuyer::Phone);
    }
    same(&buyer.name, &other.name, normalised_name).then_some(SameBuyer::Name)
}

/// The open handoff a new event joins: the oldest open handoff of the same buyer created
/// before `record` (see the module docs), and why it is the same buyer.
pub fn open_handoff_of_buyer<'c>(
    record: &HandoffRecord,
    ctx: &'c MatchContext,
) -> Option<(&'c HandoffSummary, SameBuyer)> {
    let earlier = |s: &&HandoffSummary| {
        s.id != record.id
            && !s.state.is_final()
            && (s.created_at, &s.id) < (record.created_at, &record.id)
    };
    let by_email = ctx
        .same_contact
        .iter()
        .filter(earlier)
        .map(|s| (s, SameBuyer::Email));
    let by_person = ctx
        .same_domain
        .iter()
        .filter(earlier)
        .filter_map(|s| same_person(&record.event, s).map(|why| (s, why)));
    // `min_by_key` keeps the first of equals: the email match wins over the same handoff
    // found again through the domain.
    by_email
        .chain(by_person)
        .min_by_key(|(s, _)| (s.created_at, s.id.clone()))
}

/// What arrived, for the owner: "an email reply via email from postmark at 2026-11-24 10:42
/// UTC: pricing request (reply: pricing question)".
pub fn touch_summary(event: &IntakeEvent, classification: &Classification) -> String {
    let what = match &event.kind {
        EventKind::FormLead(_) => "a web form",
        EventKind::QualifiedLead(_) => "a lead an agent qualified",
        EventKind::EmailReply(_) => "an email reply",
        EventKind::MeetingBooked(m) if m.rescheduled => "a rescheduled meeting",
        EventKind::MeetingBooked(_) => "a meeting booking",
        EventKind::MeetingCancelled(_) => "a meeting cancellation",
        EventKind::MeetingNoShow(_) => "a missed meeting",
    };
    let trigger = match classification.trigger {
        TriggerKind::None => "nothing to escalate".to_string(),
        t => render::prose(t.as_str()),
    };
    let reply = classification
        .reply_class
        .map(|r| format!(" (reply: {})", render::prose(r.as_str())))
        .unwrap_or_default();
    format!(
        "{what} via {} from {} at {}: {trigger}{reply}",
        render::prose(event.channel.as_str()),
        event.source,
        event.received_at.format("%Y-%m-%d %H:%M UTC")
    )
}

/// Joins a touch to the open handoff `open`: records the touch, raises `flag` with `evidence`
/// (once; flags stay sorted), tightens the SLA when `new` is hotter, and returns the `new_touch`
/// timeline entry (one version bump). `None` when the touch joined before: nothing changes.
pub fn join(
    open: &mut HandoffRecord,
    mut touch: AttachedTouch,
    flag: RiskFlag,
    evidence: Evidence,
    new: &Classification,
    rules: &Rules,
    now: DateTime<Utc>,
) -> Option<TimelineEntry> {
    if open.has_touch(&touch.key) {
        return None;
    }
    // The owner has seen the handoff only once it is notified; before that, the first
    // notification carries the updated package.
    if open.state != State::Notified {
        touch.told = Some(TOLD_WITH_FIRST_NOTIFICATION.into());
    }
    let mut note = format!("new touch: {}", touch.summary);
    if let Some(c) = open.classification.as_mut() {
        if !c.has_flag(flag) {
            c.risk_flags.push(flag);
            c.risk_flags.sort();
            note.push_str(&format!("; flag {}", render::prose(flag.as_str())));
        }
        if !c.evidence.contains(&evidence) {
            c.evidence.push(evidence);
        }
    }
    let tightened = match (&open.owner, &open.sla) {
        (Some(owner), Some(sla)) if open.state.awaits_owner() => {
            tightened_sla(rules, owner, sla, new, now)
        }
        _ => None,
    };
    if let Some((sla, step)) = tightened {
        note.push_str(&format!(
            "; SLA tightened to {} ({})",
            sla.deadline.format("%Y-%m-%d %H:%M UTC"),
            sla.policy
        ));
        open.sla = Some(sla);
        open.routing.push(step);
    }
    open.touch(touch, system("classify"), note)
}

impl Services {
    /// Joins the classified event of `record` to its buyer's open handoff, if there is one, and
    /// moves `record` to `attached`; `None` when the event opens its own handoff.
    pub(crate) async fn attach_to_open_handoff(
        &self,
        record: &mut HandoffRecord,
        ctx: &MatchContext,
        classification: &Classification,
        rules: &Rules,
        now: DateTime<Utc>,
    ) -> Result<Option<StageOutcome>, ServiceError> {
        let Some((target, why)) = open_handoff_of_buyer(record, ctx) else {
            return Ok(None);
        };
        if target.state == State::Received {
            return Err(ServiceError::Transient(format!(
                "the buyer's earlier handoff {} is not classified yet; this event joins it after",
                target.id
            )));
        }
        let target_id = target.id.clone();
        let event = &record.event;
        let touch = AttachedTouch {
            key: format!(
                "{}\u{1f}{}",
                event.source.as_str(),
                event.provider_event_id.as_str()
            ),
            handoff_id: record.id.clone(),
            at: now,
            source: event.source.clone(),
            channel: event.channel,
            trigger: classification.trigger,
            summary: touch_summary(event, classification),
            told: None,
        };
        let flag = if target.channel == event.channel {
            RiskFlag::DuplicateRecord
        } else {
            RiskFlag::ChannelSwitch
        };
        let evidence = Evidence {
            supports: format!("risk_flag:{flag}"),
            source: why.source().into(),
            excerpt: format!(
                "handoff {} via {} from {} joined as a new touch ({})",
                record.id,
                render::prose(event.channel.as_str()),
                event.source,
                why.describe()
            ),
            confidence: why.confidence(),
        };
        let mut joined = false;
        for _ in 0..ATTACH_ATTEMPTS {
            let mut open = self
                .store
                .get(&target_id)
                .await?
                .ok_or_else(|| ServiceError::NotFound(target_id.clone()))?;
            if !open.has_touch(&touch.key) {
                let closing = open.state == State::Classified
                    && open.classification.as_ref().is_some_and(|c| !c.escalate);
                if !open.is_open() || closing {
                    return Err(ServiceError::Transient(format!(
                        "the buyer's handoff {target_id} is closing; the event looks again"
                    )));
                }
            }
            let Some(entry) = join(
                &mut open,
                touch.clone(),
                flag,
                evidence.clone(),
                classification,
                rules,
                now,
            ) else {
                joined = true;
                break;
            };
            match self.store.update(&open, &entry).await {
                Ok(()) => {
                    joined = true;
                    break;
                }
                Err(StoreError::VersionConflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        if !joined {
            return Err(ServiceError::Transient(format!(
                "handoff {target_id} kept changing while a new touch joined it"
            )));
        }
        self.enqueue_assign(&target_id).await?;
        record.classification = Some(classification.clone());
        record.attached_to = Some(target_id.clone());
        let note = format!(
            "joined the buyer's open handoff {target_id} as a new touch ({})",
            why.describe()
        );
        let entry = record.apply(Transition::Attach, system("classify"), now, note)?;
        self.save(record, &entry).await?;
        Ok(Some(StageOutcome::Advanced(State::Attached)))
    }

    /// Tells the owner about the oldest touch they have not heard of (after the CRM shows it),
    /// then records the receipt.
    pub(crate) async fn tell_owner_of_touch(
        &self,
        record: &mut HandoffRecord,
        worker: &super::lease::Worker,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        let Some(i) = record.touches.iter().position(|t| t.told.is_none()) else {
            return Ok(());
        };
        let summary = record.touches[i].summary.clone();
        let owner = record.owner.clone().filter(|o| !o.notify.trim().is_empty());
        let (receipt, note) = match owner {
            None => (
                NOBODY_TO_TELL.to_string(),
                "nobody to tell of the new touch".into(),
            ),
            Some(owner) => {
                let rules = self.rules().await?;
                let notification = self.news(record, &owner, &rules, &summary, now)?;
                let receipt = self.notifier.notify(&notification).await?;
                (receipt, format!("told {} of the new touch", owner.display))
            }
        };
        let key = record.touches[i].key.clone();
        self.record_result(record, worker, now, |r, now| {
            match r.touches.iter_mut().find(|t| t.key == key) {
                Some(touch) if touch.told.is_none() => touch.told = Some(receipt.clone()),
                _ => return Ok(None),
            }
            Ok(Some(r.progress(
                "owner_told_of_touch",
                system("assign"),
                now,
                note.clone(),
            )))
        })
        .await
    }

    /// The "news" notification for the owner: the updated package, the deadline in their time
    /// zone and, while they have not accepted, fresh claim links.
    fn news(
        &self,
        record: &HandoffRecord,
        owner: &crate::package::Owner,
        rules: &Rules,
        summary: &str,
        now: DateTime<Utc>,
    ) -> Result<Notification, ServiceError> {
        let package = record.package().ok_or_else(|| {
            ServiceError::Permanent(format!("handoff {} has no classification", record.id))
        })?;
        let rep = owner.rep.as_ref().and_then(|id| rules.rep(id));
        let actions = match (&owner.rep, record.state.awaits_owner()) {
            (Some(rep), true) => {
                let expires = now + self.claim_link_ttl;
                ClaimAction::ALL
                    .iter()
                    .map(|a| {
                        let claim = self.claims.sign(&record.id, rep, *a, expires);
                        (a.as_str().to_string(), claim.url(&self.public_url))
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        let deadline_local = record
            .sla
            .as_ref()
            .filter(|_| record.state.awaits_owner())
            .map(|sla| {
                let tz = rep.map(|r| r.timezone).unwrap_or(chrono_tz::UTC);
                sla.deadline
                    .with_timezone(&tz)
                    .format("%a %d %b %H:%M %Z")
                    .to_string()
            });
        Ok(Notification {
            handoff_id: record.id.clone(),
            kind: NotificationKind::NewTouch {
                summary: summary.to_string(),
            },
            target: owner.notify.clone(),
            recipient: rep
                .map(|r| ExternalIds {
                    hubspot_owner_id: r.hubspot_owner_id.clone(),
                    salesforce_user_id: r.salesforce_user_id.clone(),
                    slack_user_id: r.slack_user_id.clone(),
                })
                .unwrap_or_default(),
            recipient_email: rep.map(|r| r.email.clone()),
            title: format!("News on {}: {summary}", render::title(&package)),
            body: format!("New touch: {summary}\n\n{}", render::package_text(&package)),
            deadline_local,
            package,
            actions,
            crm_ref: record.crm_ref.clone().unwrap_or_default(),
            // The owner's earlier message, so a channel can thread the news under it.
            replaces: (record.state == State::Notified)
                .then(|| record.notification_ref.clone())
                .flatten(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Channel;
    use crate::ids::{HandoffId, ProviderEventId, SourceName};
    use crate::lifecycle::Actor;
    use crate::package::Owner;
    use crate::routing::testing::{at, classification, example_rules};

    const DANA: &str = "dana@acme.com";

    /// A form event of a buyer with this email, name and phone, received at `when`.
    fn event(id: &str, email: &str, name: &str, phone: Option<&str>, when: &str) -> IntakeEvent {
        let mut v = serde_json::json!({
            "source": "website", "channel": "web_form", "provider_event_id": id,
            "received_at": when, "type": "form_lead",
            "buyer": {"email": email, "name": name}, "message": "pricing please"
        });
        if let Some(p) = phone {
            v["buyer"]["phone"] = p.into();
        }
        serde_json::from_value(v).unwrap()
    }

    fn record_of(event: IntakeEvent) -> HandoffRecord {
        let when = event.received_at;
        HandoffRecord::received(event, when).0
    }

    fn summary(record: &HandoffRecord, state: State) -> HandoffSummary {
        HandoffSummary {
            state,
            ..HandoffSummary::of(record)
        }
    }

    /// The context classification reads: `by_email` from the contact lookup, `by_domain` from
    /// the company domain's.
    fn context(by_email: Vec<HandoffSummary>, by_domain: Vec<HandoffSummary>) -> MatchContext {
        MatchContext {
            same_contact: by_email,
            same_domain: by_domain,
            account_owner: None,
            existing_customer: false,
        }
    }

    #[test]
    fn phones_and_names_normalise() {
        let cases: &[(&str, Option<&str>)] = &[
            ("+49 30 1234-567", Some("49301234567")),
            ("0049 (30) 1234567", Some("49301234567")),
            ("030 1234567", Some("0301234567")),
            ("12-34", None),
            ("", None),
        ];
        for (raw, want) in cases {
            assert_eq!(normalised_phone(raw).as_deref(), *want, "{raw:?}");
        }
        assert_eq!(
            normalised_name("  Dana   SCULLY ").as_deref(),
            Some("dana scully")
        );
        assert_eq!(normalised_name(" \t "), None);
    }

    /// Name, the earlier handoff (email, name, phone, state, minutes before the new event, found
    /// through the contact or the domain lookup), the new event (email, name, phone), the
    /// expected match.
    type MatchCase<'a> = (
        &'a str,
        (&'a str, &'a str, Option<&'a str>, State, i64, bool),
        (&'a str, &'a str, Option<&'a str>),
        Option<SameBuyer>,
    );

    #[test]
    fn which_earlier_handoff_a_new_event_joins() {
        let same = |email| (email, "Dana Scully", None);
        let cases: &[MatchCase<'_>] = &[
            (
                "same email, notified",
                (DANA, "Dana Scully", None, State::Notified, 60, true),
                same(DANA),
                Some(SameBuyer::Email),
            ),
            (
                "same email, only classified",
                (DANA, "Dana Scully", None, State::Classified, 60, true),
                same(DANA),
                Some(SameBuyer::Email),
            ),
            (
                "same email but accepted: closed handoffs attract nothing",
                (DANA, "Dana Scully", None, State::Accepted, 60, true),
                same(DANA),
                None,
            ),
            (
                "same email but closed without handoff",
                (
                    DANA,
                    "Dana Scully",
                    None,
                    State::ClosedWithoutHandoff,
                    60,
                    true,
                ),
                same(DANA),
                None,
            ),
            (
                "an attached event is no handoff to join",
                (DANA, "Dana Scully", None, State::Attached, 60, true),
                same(DANA),
                None,
            ),
            (
                "created after the new event",
                (DANA, "Dana Scully", None, State::Notified, -5, true),
                same(DANA),
                None,
            ),
            (
                "same phone at the same domain",
                (
                    "d.scully@acme.com",
                    "D. Scully",
                    Some("+49 30 1234567"),
                    State::Notified,
                    60,
                    false,
                ),
                (DANA, "Dana Scully", Some("0049 30 1234567")),
                Some(SameBuyer::Phone),
            ),
            (
                "same name at the same domain, case and spaces aside",
                (
                    "scully@acme.com",
                    " dana  SCULLY",
                    None,
                    State::Assigned,
                    60,
                    false,
                ),
                same(DANA),
                Some(SameBuyer::Name),
            ),
            (
                "a different person at the same domain",
                (
                    "sam@acme.com",
                    "Sam Carter",
                    Some("+49 30 999999"),
                    State::Notified,
                    60,
                    false,
                ),
                (DANA, "Dana Scully", Some("+49 30 1234567")),
                None,
            ),
            (
                "same person by name, but closed",
                (
                    "scully@acme.com",
                    "Dana Scully",
                    None,
                    State::Accepted,
                    60,
                    false,
                ),
                same(DANA),
                None,
            ),
        ];
        let new_at = "2026-11-24T12:00:00Z";
        for (name, (email, who, phone, state, before, by_email), (n_email, n_who, n_phone), want) in
            cases
        {
            let when = (at(new_at) - chrono::Duration::minutes(*before)).to_rfc3339();
            let earlier = record_of(event("earlier", email, who, *phone, &when));
            let new = record_of(event("new", n_email, n_who, *n_phone, new_at));
            let s = summary(&earlier, *state);
            let ctx = if *by_email {
                context(vec![s.clone()], vec![s])
            } else {
                context(vec![], vec![s])
            };
            let got = open_handoff_of_buyer(&new, &ctx).map(|(s, why)| (s.id.clone(), why));
            assert_eq!(got, want.map(|w| (earlier.id.clone(), w)), "{name}");
        }
    }

    #[test]
    fn the_oldest_open_handoff_wins_and_ties_are_ordered_by_id() {
        let new = record_of(event("new", DANA, "Dana", None, "2026-11-24T12:00:00Z"));
        let older = record_of(event("a", DANA, "Dana", None, "2026-11-24T09:00:00Z"));
        let newer = record_of(event("b", DANA, "Dana", None, "2026-11-24T11:00:00Z"));
        let ctx = context(
            vec![
                summary(&newer, State::Notified),
                summary(&older, State::Notified),
            ],
            vec![],
        );
        assert_eq!(open_handoff_of_buyer(&new, &ctx).unwrap().0.id, older.id);
        // Two events of one buyer at the same instant: only one of them joins the other.
        let twin = record_of(event("twin", DANA, "Dana", None, "2026-11-24T12:00:00Z"));
        let joins = |a: &HandoffRecord, b: &HandoffRecord| {
            open_handoff_of_buyer(a, &context(vec![summary(b, State::Notified)], vec![])).is_some()
        };
        assert_ne!(joins(&new, &twin), joins(&twin, &new));
    }

    /// A notified handoff owned by Lena with a standard SLA due at 11:00 UTC (Wednesday).
    fn open_handoff() -> HandoffRecord {
        let mut r = record_of(event("open", DANA, "Dana", None, "2026-06-03T09:00:00Z"));
        let mut c = classification(crate::package::Motion::Inbound, TriggerKind::EnterpriseFit);
        c.risk_flags = vec![RiskFlag::Pricing, RiskFlag::UnclearUseCase];
        r.classification = Some(c);
        let rules = example_rules();
        let lena = rules
            .rep(&crate::ids::RepId::parse("lena").unwrap())
            .unwrap();
        r.owner = Some(Owner {
            rep: Some(lena.id.clone()),
            team: lena.team.clone(),
            display: "Lena Fischer (EMEA Account Executives)".into(),
            notify: "slack:@lena".into(),
        });
        r.sla = Some(crate::package::Sla {
            business_minutes: 120,
            deadline: at("2026-06-03T11:00:00Z"),
            policy: "inbound/standard".into(),
        });
        for t in [
            Transition::Classify,
            Transition::Assign,
            Transition::RecordCrmWrite,
            Transition::RecordNotification,
        ] {
            r.apply(
                t,
                Actor::System("test".into()),
                at("2026-06-03T09:00:00Z"),
                "",
            )
            .unwrap();
        }
        r
    }

    fn touch(key: &str, now: &str) -> AttachedTouch {
        AttachedTouch {
            key: key.into(),
            handoff_id: HandoffId::for_event(
                &SourceName::parse("postmark").unwrap(),
                &ProviderEventId::parse(key).unwrap(),
            ),
            at: at(now),
            source: SourceName::parse("postmark").unwrap(),
            channel: Channel::Email,
            trigger: TriggerKind::PricingRequest,
            summary: format!("an email reply ({key})"),
            told: None,
        }
    }

    fn evidence(key: &str) -> Evidence {
        Evidence {
            supports: "risk_flag:channel_switch".into(),
            source: "match:same_contact".into(),
            excerpt: format!("handoff {key} joined"),
            confidence: 100,
        }
    }

    #[test]
    fn a_touch_joins_once_raises_its_flag_once_and_tightens_a_hotter_sla() {
        let rules = example_rules();
        let mut open = open_handoff();
        let hot = classification(crate::package::Motion::Inbound, TriggerKind::PricingRequest);
        let now = "2026-06-03T10:00:00Z";
        let entry = join(
            &mut open,
            touch("m-1", now),
            RiskFlag::ChannelSwitch,
            evidence("m-1"),
            &hot,
            &rules,
            at(now),
        )
        .expect("joins");
        assert_eq!(
            (entry.event.as_str(), entry.to, entry.version),
            ("new_touch", State::Notified, 6)
        );
        assert!(
            entry.note.starts_with("new touch: an email reply (m-1)"),
            "{}",
            entry.note
        );
        assert!(entry.note.contains("flag channel switch"), "{}", entry.note);
        let c = open.classification.as_ref().unwrap();
        assert_eq!(
            c.risk_flags,
            [
                RiskFlag::Pricing,
                RiskFlag::UnclearUseCase,
                RiskFlag::ChannelSwitch
            ],
            "sorted as the classification keeps them"
        );
        let sla = open.sla.clone().unwrap();
        assert_eq!(
            (sla.deadline, sla.policy.as_str()),
            (at("2026-06-03T10:30:00Z"), "inbound/hot")
        );
        assert_eq!(open.routing.last().unwrap().layer, "sla");
        assert_eq!(open.touches[0].told, None, "a notified owner is told later");

        // The same event again (a provider's retry, a replayed message): nothing changes.
        let before = open.clone();
        assert!(join(
            &mut open,
            touch("m-1", "2026-06-03T10:05:00Z"),
            RiskFlag::ChannelSwitch,
            evidence("m-1"),
            &hot,
            &rules,
            at("2026-06-03T10:05:00Z"),
        )
        .is_none());
        assert_eq!(open, before);

        // A second, colder touch on the same channel: the flag stays once, the SLA stays.
        let cold = classification(
            crate::package::Motion::Inbound,
            TriggerKind::QualificationThreshold,
        );
        let entry = join(
            &mut open,
            touch("m-2", "2026-06-03T10:10:00Z"),
            RiskFlag::ChannelSwitch,
            evidence("m-2"),
            &cold,
            &rules,
            at("2026-06-03T10:10:00Z"),
        )
        .expect("a second touch joins");
        assert!(!entry.note.contains("flag"), "{}", entry.note);
        let c = open.classification.as_ref().unwrap();
        assert_eq!(
            c.risk_flags
                .iter()
                .filter(|f| **f == RiskFlag::ChannelSwitch)
                .count(),
            1
        );
        assert_eq!(
            c.evidence
                .iter()
                .filter(|e| e.supports == "risk_flag:channel_switch")
                .count(),
            2,
            "one piece of evidence per touch"
        );
        assert_eq!(open.sla, Some(sla), "a colder touch never loosens the SLA");
        assert_eq!(open.touches.len(), 2);
    }

    #[test]
    fn before_the_first_notification_a_touch_rides_along() {
        let rules = example_rules();
        let mut open = record_of(event("open", DANA, "Dana", None, "2026-06-03T09:00:00Z"));
        open.classification = Some(classification(
            crate::package::Motion::Inbound,
            TriggerKind::DemoRequest,
        ));
        open.apply(
            Transition::Classify,
            Actor::System("test".into()),
            at("2026-06-03T09:00:00Z"),
            "",
        )
        .unwrap();
        let hot = classification(crate::package::Motion::Inbound, TriggerKind::PricingRequest);
        join(
            &mut open,
            touch("m-1", "2026-06-03T09:01:00Z"),
            RiskFlag::DuplicateRecord,
            evidence("m-1"),
            &hot,
            &rules,
            at("2026-06-03T09:01:00Z"),
        )
        .unwrap();
        assert_eq!(
            open.touches[0].told.as_deref(),
            Some(TOLD_WITH_FIRST_NOTIFICATION)
        );
        assert_eq!(open.sla, None, "no owner yet: routing sets the SLA");
        assert_eq!(open.crm_sync_key(), "queue#0#1");
    }

    #[test]
    fn the_summary_says_what_arrived_how_and_the_new_trigger() {
        let e = event("s", DANA, "Dana", None, "2026-11-24T10:42:00Z");
        let mut c = classification(crate::package::Motion::Inbound, TriggerKind::PricingRequest);
        assert_eq!(
            touch_summary(&e, &c),
            "a web form via web form from website at 2026-11-24 10:42 UTC: pricing request"
        );
        c.trigger = TriggerKind::None;
        c.reply_class = Some(crate::package::ReplyClass::NotNow);
        assert_eq!(
            touch_summary(&e, &c),
            "a web form via web form from website at 2026-11-24 10:42 UTC: nothing to escalate \
             (reply: not now)"
        );
    }
}
