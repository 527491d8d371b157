//! One handoff (`/handoffs/{id}`): the six parts of the package, the routing trace layer by
//! layer, the timeline, what the CRM holds and which notifications went out, and the claim
//! buttons. A claim from the console acts as a rep the page names ("Accept as Lena Fischer"):
//! the owner, or for a handoff in a queue any active rep the operator picks; the form carries
//! the console's form token.

use super::list::buyer_label;
use super::{buyer_text, countdown, form_token_field, state_text, when, Section};
use chrono::{DateTime, Utc};
use handoff_domain::claim_link::ClaimAction;
use handoff_domain::config::Rules;
use handoff_domain::ids::RepId;
use handoff_domain::lifecycle::{Actor, HandoffRecord, TimelineEntry};
use handoff_domain::package::{Classification, MotionFields};
use handoff_domain::render::{escape, meeting_text, prose, urgency_text};
use maud::{html, Markup};

/// What the CRM holds for the handoff (the local file CRM's record, when it is the CRM).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CrmView {
    pub written_at: Option<DateTime<Utc>>,
    /// Field name and value, as the CRM got them.
    pub fields: Vec<(String, String)>,
    /// One note per owner change and later touch, oldest first.
    pub notes: Vec<String>,
}

/// One notification that went out about the handoff.
#[derive(Debug, Clone, PartialEq)]
pub struct SentNotification {
    pub at: DateTime<Utc>,
    /// Why it was sent, as a person reads it ("assigned", "moved to Max", "news").
    pub why: String,
    /// Where it went (`slack:@lena`, `email:…`).
    pub target: String,
    pub title: String,
}

/// A rep the console may act as on this handoff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActAs {
    pub rep: String,
    pub name: String,
}

/// What the last action on this page did, shown above everything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done(String),
    Refused(String),
}

/// Everything the handoff page shows.
#[derive(Debug, Clone)]
pub struct HandoffView<'a> {
    pub record: &'a HandoffRecord,
    pub timeline: &'a [TimelineEntry],
    /// `None` when the CRM is not the local file CRM (its records live in HubSpot / Salesforce).
    pub crm: Option<CrmView>,
    /// `None` when notifications go to Slack, mail or a webhook rather than the local log.
    pub notifications: Option<Vec<SentNotification>>,
    /// Empty when nobody can claim it now (accepted, closed, not assigned yet).
    pub act_as: Vec<ActAs>,
    /// Whether the named rep owns it (wrong owner and re-qualification are the owner's).
    pub owner_acts: bool,
    pub form_token: &'a str,
    pub outcome: Option<Outcome>,
    /// The rules in force, for the names of the reps in the timeline.
    pub rules: &'a Rules,
    pub now: DateTime<Utc>,
}

/// The handoff page.
pub fn page(view: &HandoffView<'_>) -> String {
    let r = view.record;
    let subtitle = format!(
        "{} · {} · created {}",
        r.id,
        state_text(r.state),
        when(r.created_at)
    );
    let body = html! {
        @match &view.outcome {
            Some(Outcome::Done(text)) => p.good role="status" { (text) },
            Some(Outcome::Refused(text)) => p.bad role="alert" { (text) },
            None => {},
        }
        (claim_forms(view))
        h2 { "The package" }
        @match &r.classification {
            Some(c) => (six_parts(r, c, view.now)),
            None => p.muted { "Not classified yet: the package appears once the classify stage has run." },
        }
        h2 { "Routing trace" }
        @if r.routing.is_empty() {
            p.muted { "Not routed." }
        } @else {
            table #trace {
                thead { tr { th { "Layer" } th { "What it decided" } } }
                tbody { @for step in &r.routing {
                    tr { td { (prose(&step.layer)) } td { (buyer_text(&step.outcome)) } }
                } }
            }
        }
        h2 { "Timeline" }
        table #timeline {
            thead { tr { th { "When" } th { "What" } th { "State" } th { "By" } th { "Owner after" } th { "Note" } } }
            tbody { @for e in view.timeline {
                tr {
                    td { (when(e.at)) }
                    td { (prose(&e.event)) }
                    td { @if let Some(from) = e.from { (state_text(from)) " → " } (state_text(e.to)) }
                    td { (actor_text(&e.actor, view.rules)) }
                    td { (e.owner.as_ref().map(|o| rep_name(o, view.rules)).unwrap_or_default()) }
                    td { (buyer_text(&e.note)) }
                }
            } }
        }
        @if !r.reassignments.is_empty() {
            h3 { "Owner changes" }
            ul { @for change in &r.reassignments { li { (when(change.at)) ": " (buyer_text(&change.note())) } } }
        }
        @if !r.touches.is_empty() {
            h3 { "Later touches" }
            ul { @for t in &r.touches { li { (when(t.at)) " via " (prose(t.channel.as_str())) ": " (buyer_text(&t.summary)) } } }
        }
        h2 { "CRM" }
        p { "References: " (r.crm.summary())
            @if let Some(due) = r.crm.due { " · task due " (when(due)) } }
        @match &view.crm {
            Some(crm) => (crm_table(crm)),
            None => p.muted { "The CRM's own record is in the CRM the rules configure." },
        }
        h2 { "Notifications" }
        @match &view.notifications {
            Some(sent) if sent.is_empty() => p.muted { "None sent yet." },
            Some(sent) => table #notifications {
                thead { tr { th { "When" } th { "Why" } th { "To" } th { "Title" } } }
                tbody { @for n in sent {
                    tr { td { (when(n.at)) } td { (n.why) } td { (buyer_text(&n.target)) } td { (buyer_text(&n.title)) } }
                } }
            },
            None => p { "Latest receipt: " (r.notification_ref.as_deref().unwrap_or("none yet")) },
        }
    };
    super::page(&buyer_label(r), &subtitle, Section::Handoffs, body)
}

/// The claim buttons: accept for every rep the console may act as; wrong owner and
/// re-qualification for the owner only.
fn claim_forms(view: &HandoffView<'_>) -> Markup {
    if view.act_as.is_empty() {
        return html! {};
    }
    let action = format!("/handoffs/{}/claim", view.record.id);
    html! {
        section #claim {
            h2 { "Act on it" }
            p.muted { "The console acts as the rep named on the button, as their claim link would." }
            @if view.owner_acts {
                @let rep = &view.act_as[0];
                form method="post" action=(action) {
                    (form_token_field(view.form_token))
                    input type="hidden" name="rep" value=(rep.rep);
                    button type="submit" name="action" value=(ClaimAction::Accept.as_str()) { "Accept as " (rep.name) }
                    " "
                    button type="submit" name="action" value=(ClaimAction::WrongOwner.as_str()) { "Wrong owner: " (rep.name) " passes it on" }
                    " "
                    button type="submit" name="action" value=(ClaimAction::Requalify.as_str()) { "Needs re-qualification" }
                }
            } @else {
                form method="post" action=(action) {
                    (form_token_field(view.form_token))
                    label { "Take it from the queue as "
                        select name="rep" { @for a in &view.act_as { option value=(a.rep) { (a.name) } } }
                    }
                    " "
                    button type="submit" name="action" value=(ClaimAction::Accept.as_str()) { "Accept" }
                }
            }
        }
    }
}

fn actor_text(actor: &Actor, rules: &Rules) -> String {
    match actor {
        Actor::System(stage) => format!("the {} stage", prose(stage)),
        Actor::Rep(rep) => rep_name(rep, rules),
    }
}

/// The rep's name from the rules, or their id when the rules no longer list them.
fn rep_name(rep: &RepId, rules: &Rules) -> String {
    rules
        .rep(rep)
        .map_or_else(|| rep.to_string(), |r| r.name.clone())
}

fn crm_table(crm: &CrmView) -> Markup {
    html! {
        @if let Some(at) = crm.written_at { p.muted { "Last written " (when(at)) } }
        table #crm {
            thead { tr { th { "Field" } th { "Value" } } }
            tbody { @for (name, value) in &crm.fields {
                tr { td { (prose(name)) } td { (lines(value)) } }
            } }
        }
        @if !crm.notes.is_empty() {
            h3 { "Notes" }
            ul { @for n in &crm.notes { li { (lines(n)) } } }
        }
    }
}

/// Multi-line text from outside, each line cleaned, shown with line breaks.
fn lines(text: &str) -> Markup {
    html! {
        @for (i, line) in escape::plain_lines(text).iter().enumerate() {
            @if i > 0 { br; }
            (line)
        }
    }
}

/// The six parts, one row each (details under the part they belong to).
fn six_parts(r: &HandoffRecord, c: &Classification, now: DateTime<Utc>) -> Markup {
    let b = &c.buyer;
    let owner = match (&r.owner, &r.sla) {
        (Some(o), Some(sla)) => {
            let clock = if r.state.awaits_owner() {
                countdown(sla.deadline, now)
            } else {
                "the clock has stopped".to_string()
            };
            format!(
                "{} · {} business minutes ({}), due {} ({clock})",
                buyer_text(&o.display),
                sla.business_minutes,
                prose(&sla.policy.replace('/', " ")),
                when(sla.deadline)
            )
        }
        (Some(o), None) => buyer_text(&o.display),
        _ => "nobody: not escalated to a person".to_string(),
    };
    let flags: Vec<String> = c.risk_flags.iter().map(|f| prose(f.as_str())).collect();
    html! {
        table #package {
            tbody {
                tr { th { "1. Trigger" } td {
                    (prose(c.trigger.as_str())) " (" (c.motion.as_str()) ")"
                    @if let Some(class) = c.reply_class { " · reply: " (prose(class.as_str())) }
                } }
                tr { th { "2. Buyer" } td {
                    (b.name.as_deref().map(buyer_text).unwrap_or_else(|| "no name given".into()))
                    " <" (buyer_text(b.email.as_str())) ">"
                    @if let Some(role) = &b.role { ", " (buyer_text(role)) }
                    @if let Some(company) = &b.company { " at " (buyer_text(company)) }
                    @if let Some(n) = b.employees { " (" (n) " people)" }
                    @if let Some(country) = &b.country { ", " (buyer_text(country)) }
                    br;
                    "via " (buyer_text(b.source.as_str())) " / " (prose(b.channel.as_str()))
                    @if !b.problem_statement.trim().is_empty() {
                        blockquote { (lines(&b.problem_statement)) }
                    }
                    (motion_details(&c.motion_fields))
                } }
                tr { th { "3. Qualification" } td {
                    (prose(c.qualification.as_str()))
                    @if let Some(why) = &c.needs_confirmation { br; span.bad { "Needs confirmation: " (buyer_text(why)) } }
                } }
                tr { th { "4. Next step" } td { (prose(c.next_step.action.as_str())) ": " (buyer_text(&c.next_step.detail)) } }
                tr { th { "5. Owner and SLA" } td { (owner) } }
                tr { th { "6. Risk flags" } td {
                    @if flags.is_empty() { "none" } @else { (flags.join(", ")) }
                    @if let Some(lane) = c.human_decision { br; "Human-only decision: " (prose(lane.as_str())) }
                } }
            }
        }
        @if !c.evidence.is_empty() {
            details {
                summary { "Why: " (c.evidence.len()) " pieces of evidence" }
                ul { @for e in &c.evidence {
                    li { (prose(&e.supports.replace(':', " "))) ", from " (prose(&e.source.replace(':', " "))) ": “" (buyer_text(&e.excerpt)) "” (" (e.confidence) " % sure)" }
                } }
            }
        }
    }
}

fn motion_details(fields: &MotionFields) -> Markup {
    match fields {
        MotionFields::Inbound {
            qualification_answers,
            urgency,
            meeting_status,
            ..
        } => html! {
            br;
            "Urgency: " (urgency_text(urgency)) "; meeting: " (meeting_text(meeting_status))
            @if !qualification_answers.is_empty() {
                ul { @for a in qualification_answers {
                    li { (buyer_text(&a.question)) ": " (buyer_text(&a.answer))
                        @match a.met { Some(true) => " (met)", Some(false) => " (not met)", None => "" } }
                } }
            }
        },
        MotionFields::Outbound {
            account_reason,
            outreach_history,
            ..
        } => html! {
            @if !account_reason.trim().is_empty() { br; "Account: " (buyer_text(account_reason)) }
            br;
            "Outreach so far: "
            @match outreach_history.len() { 1 => "1 touch", n => (format!("{n} touches")) }
        },
    }
}
