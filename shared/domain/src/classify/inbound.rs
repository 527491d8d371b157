//! Inbound events (form leads, AI-qualified leads, meetings): qualification, trigger, escalation.
//!
//! Qualification of a **form lead**:
//! - an explicit disqualifier (student, job seeker, competitor research, personal use, a vendor
//!   pitching its own services, spam, a test submission) → disqualified, never escalated, and
//!   for a vendor or spam without the `pricing` flag (their price list is not a pricing ask);
//! - authority (role) + need + timeline stated, nothing ambiguous → qualified;
//! - at least three of role, company size, need, timeline stated and a clear use case →
//!   partially qualified;
//! - otherwise (a bare "just browsing" form) → needs confirmation.
//!
//! Qualification of an **AI-qualified lead** (answers `met` true / false / unclear):
//! - an explicit disqualifier → disqualified; need or use case not met → disqualified (nurture);
//! - an unclear use case (need/use-case answer unclear, "just exploring") → needs confirmation;
//! - a booked meeting with fit (a company behind the address) → qualified;
//! - authority + need + timeline met (budget not refused) → qualified;
//! - any other unclear answer → needs confirmation;
//! - agent score ≥ `qualified_score` with nothing refused → qualified;
//! - two or more criteria met → partially qualified; else needs confirmation.
//!
//! **Meetings**: booked with fit → qualified, cancelled or missed with fit → partially qualified,
//! without a company → needs confirmation; a cancellation that declines or asks to stop →
//! disqualified and handled by the automation; a cancellation that defers ("budget frozen until
//! Q2") → needs confirmation, nurtured until the stated time.
//!
//! Trigger order: meeting events, then (unless disqualified) demo request, pricing request,
//! legal/security/procurement review, qualification threshold (score ≥ `qualified_score` or all
//! BANT met, or a qualified form), enterprise fit, else needs judgment. Every lead that is not
//! disqualified is escalated, except one that needs judgment only because nothing qualifies it
//! while the buyer says they just look around, want no call, need support, or wrote nothing
//! (a content download, a chat left after "hi"): the automation nurtures it. A disqualified lead is escalated only when a human lane applies
//! and the disqualifier is not explicit (a student asking for a price is not a deal).

use super::bant::{ambiguous, authority, combined, disqualifier, need, timeline, vendor_pitch};
use super::dates::deferral_date;
use super::flags::human_lane;
use super::lexicon::{
    CUSTOM_PACKAGING, DECLINE, DEFER, DEMO_REQUEST, LOW_INTENT, PRICING_NOUNS, STOP,
    UNCLEAR_USE_CASE,
};
use super::reply::pricing_ask;
use super::{Flags, Found, Handling, Input, Verdict};
use crate::event::{Criterion, FormLead, MeetingEvent, MeetingStatus, QualifiedLead};
use crate::package::{HumanLane, Motion, Qualification, RiskFlag, TriggerKind};

/// Words that put a price on a bespoke package ("a paid pilot", "pilot pricing").
const PRICED: &[&str] = &["paid", "pricing", "priced", "price", "discounted"];

/// How far a lead qualifies, and why.
struct Assessment {
    qualification: (Qualification, Found),
    /// Not a buyer at all (student, job seeker…): never escalated.
    explicit_disqualifier: bool,
    /// The buyer's words that leave the use case unclear (the `unclear_use_case` flag). A need
    /// that is missing or answered vaguely keeps the lead at needs confirmation but raises no
    /// flag: nothing the buyer said is unclear.
    unclear_use_case: Option<Found>,
    /// Agent score ≥ threshold, all BANT met, or a qualified form.
    threshold: Option<Found>,
    /// A meeting is already booked.
    booked: Option<Found>,
}

impl Assessment {
    fn new(q: Qualification, found: Found) -> Self {
        Self {
            qualification: (q, found),
            explicit_disqualifier: false,
            unclear_use_case: None,
            threshold: None,
            booked: None,
        }
    }
}

/// A non-blank form field among `names` (case-insensitive).
fn field(form: &FormLead, names: &[&str]) -> Option<Found> {
    form.fields
        .iter()
        .find(|(k, v)| names.contains(&k.to_ascii_lowercase().as_str()) && !v.trim().is_empty())
        .map(|(k, v)| Found::new(format!("field:{k}"), v.trim()))
}

/// Whether a company stands behind the buyer (a company name or a non-free-mail domain).
fn has_company(input: &Input) -> Option<Found> {
    let buyer = input.event.buyer();
    buyer
        .company
        .as_ref()
        .map(|c| Found::new("field:company", c.clone()))
        .or_else(|| {
            input
                .event
                .company_domain()
                .map(|d| Found::new("field:company_domain", d.to_string()))
        })
}

fn form_assessment(input: &Input, form: &FormLead) -> Assessment {
    let words = &input.words;
    if let Some(d) = disqualifier(words) {
        return Assessment {
            explicit_disqualifier: true,
            ..Assessment::new(Qualification::Disqualified, d)
        };
    }
    let buyer = input.event.buyer();
    let role = buyer
        .role
        .as_ref()
        .map(|r| Found::new("field:role", r.clone()))
        .or_else(|| {
            field(
                form,
                &["role", "job_title", "jobtitle", "title", "position"],
            )
        });
    let auth = authority(input, role.as_ref().map(|r| r.excerpt.as_str()));
    let size = buyer
        .employees
        .map(|e| Found::new("field:employees", e.to_string()))
        .or_else(|| form.seats.map(|s| Found::new("field:seats", s.to_string())))
        .or_else(|| {
            field(
                form,
                &[
                    "company_size",
                    "employees",
                    "headcount",
                    "team_size",
                    "number_of_employees",
                    "seats",
                ],
            )
        });
    let stated_need = need(input)
        .or_else(|| {
            field(
                form,
                &["use_case", "need", "needs", "challenge", "problem", "goal"],
            )
        })
        .or_else(|| {
            form.product_interest
                .as_ref()
                .map(|p| Found::new("field:product_interest", p.clone()))
        });
    let clear = |f: Found| {
        let mut d = super::text::Doc::default();
        d.push("field", &f.excerpt);
        ambiguous(&d).is_none().then_some(f)
    };
    let stated_timeline = timeline(words).or_else(|| {
        field(
            form,
            &["timeline", "timeframe", "time_frame", "purchase_timeline"],
        )
        .and_then(clear)
    });
    let unclear_phrase = words.find(UNCLEAR_USE_CASE).map(|h| h.found());
    let unclear = unclear_phrase.clone().or_else(|| {
        stated_need
            .is_none()
            .then(|| Found::new("rule", "no need or use case stated"))
    });
    let amb = ambiguous(words);
    let mut a = match (&auth, &stated_need, &stated_timeline, &amb) {
        (Some(au), Some(n), Some(t), None) => {
            let mut a = Assessment::new(Qualification::Qualified, combined(&[au, n, t]));
            a.threshold = Some(a.qualification.1.clone());
            a
        }
        _ => {
            let stated: Vec<&Found> = [&role, &size, &stated_need, &stated_timeline]
                .into_iter()
                .flatten()
                .collect();
            if stated.len() >= 3 && unclear_phrase.is_none() {
                Assessment::new(Qualification::PartiallyQualified, combined(&stated))
            } else {
                let why = amb.clone().or_else(|| unclear.clone()).unwrap_or_else(|| {
                    Found::new(
                        "rule",
                        format!("{} of role, size, need, timeline stated", stated.len()),
                    )
                });
                Assessment::new(Qualification::NeedsConfirmation, why)
            }
        }
    };
    // The flag needs the buyer's words: a form that states no need is not an unclear use case
    // (that only keeps it at needs confirmation).
    a.unclear_use_case = unclear_phrase;
    a
}

fn criterion_label(c: Criterion) -> &'static str {
    match c {
        Criterion::Budget => "budget",
        Criterion::Authority => "authority",
        Criterion::Need => "need",
        Criterion::Timeline => "timeline",
        Criterion::UseCase => "use_case",
        Criterion::Other => "other",
    }
}

fn qualified_lead_assessment(input: &Input, lead: &QualifiedLead) -> Assessment {
    let words = &input.words;
    if let Some(d) = disqualifier(words) {
        return Assessment {
            explicit_disqualifier: true,
            ..Assessment::new(Qualification::Disqualified, d)
        };
    }
    let answer_found =
        |c: Criterion, answer: &str| Found::new(format!("answer:{}", criterion_label(c)), answer);
    let is_need = |c: Criterion| matches!(c, Criterion::Need | Criterion::UseCase);
    let met = |c: Criterion| {
        lead.answers
            .iter()
            .find(|a| a.criterion == c && a.met == Some(true))
            .map(|a| answer_found(c, &a.answer))
    };
    if let Some(a) = lead
        .answers
        .iter()
        .find(|a| is_need(a.criterion) && a.met == Some(false))
    {
        return Assessment::new(
            Qualification::Disqualified,
            answer_found(a.criterion, &a.answer),
        );
    }
    let need_met = met(Criterion::Need).or_else(|| met(Criterion::UseCase));
    let need_unclear = lead
        .answers
        .iter()
        .find(|a| is_need(a.criterion) && a.met.is_none())
        .filter(|_| need_met.is_none())
        .map(|a| answer_found(a.criterion, &a.answer));
    let unclear_phrase = words.find(UNCLEAR_USE_CASE).map(|h| h.found());
    let unclear_use_case = unclear_phrase.clone().or(need_unclear);
    let bant = [
        Criterion::Budget,
        Criterion::Authority,
        Criterion::Need,
        Criterion::Timeline,
    ];
    let all_bant = bant.iter().all(|c| met(*c).is_some());
    let policy = &input.rules.qualification;
    let score_ok = lead.score.filter(|s| *s >= policy.qualified_score);
    let threshold = if all_bant {
        Some(Found::new(
            "rule",
            "budget, authority, need and timeline met",
        ))
    } else {
        score_ok.map(|s| Found::new("field:score", format!("{s} ≥ {}", policy.qualified_score)))
    };
    let booked = match &lead.meeting {
        MeetingStatus::Booked { starts_at } => Some(Found::new(
            "field:meeting",
            format!("booked for {starts_at}"),
        )),
        _ => None,
    };
    let refused = lead.answers.iter().any(|a| a.met == Some(false));
    let unclear_answer = lead
        .answers
        .iter()
        .find(|a| a.criterion != Criterion::Other && a.met.is_none())
        .map(|a| answer_found(a.criterion, &a.answer));
    let role = input.event.buyer().role.as_deref();
    let has_authority_answer = lead
        .answers
        .iter()
        .any(|a| a.criterion == Criterion::Authority);
    let auth = met(Criterion::Authority).or_else(|| {
        (!has_authority_answer)
            .then(|| authority(input, role))
            .flatten()
    });
    let budget_refused = lead
        .answers
        .iter()
        .any(|a| a.criterion == Criterion::Budget && a.met == Some(false));
    let met_count = lead.answers.iter().filter(|a| a.met == Some(true)).count();
    let (q, why) = if let Some(u) = &unclear_use_case {
        (Qualification::NeedsConfirmation, u.clone())
    } else if let (Some(b), Some(c)) = (&booked, has_company(input)) {
        (Qualification::Qualified, combined(&[b, &c]))
    } else if let (Some(a), Some(n), Some(t), false) =
        (&auth, &need_met, met(Criterion::Timeline), budget_refused)
    {
        (Qualification::Qualified, combined(&[a, n, &t]))
    } else if let Some(u) = unclear_answer {
        (Qualification::NeedsConfirmation, u)
    } else if let (Some(t), false) = (&threshold, refused) {
        (Qualification::Qualified, t.clone())
    } else if met_count >= 2 {
        let found: Vec<Found> = lead
            .answers
            .iter()
            .filter(|a| a.met == Some(true))
            .map(|a| answer_found(a.criterion, &a.answer))
            .collect();
        (
            Qualification::PartiallyQualified,
            combined(&found.iter().collect::<Vec<_>>()),
        )
    } else {
        let why = ambiguous(words)
            .unwrap_or_else(|| Found::new("rule", format!("{met_count} criteria met")));
        (Qualification::NeedsConfirmation, why)
    };
    let threshold = threshold.filter(|_| {
        matches!(
            q,
            Qualification::Qualified | Qualification::PartiallyQualified
        )
    });
    Assessment {
        unclear_use_case: unclear_phrase,
        threshold,
        booked,
        ..Assessment::new(q, why)
    }
}

fn lane_trigger(lane: HumanLane) -> TriggerKind {
    match lane {
        HumanLane::LegalReview => TriggerKind::LegalReview,
        HumanLane::SecurityReview => TriggerKind::SecurityReview,
        HumanLane::Procurement => TriggerKind::ProcurementRequest,
        HumanLane::Pricing | HumanLane::Negotiation | HumanLane::CustomPackaging => {
            TriggerKind::PricingRequest
        }
    }
}

/// Judges a form lead or an AI-qualified lead.
fn judge_lead(input: &Input, mut flags: Flags, a: Assessment) -> Verdict {
    if let Some(u) = &a.unclear_use_case {
        flags.entry(RiskFlag::UnclearUseCase).or_insert(u.clone());
    }
    if a.explicit_disqualifier && vendor_pitch(&input.words).is_some() {
        // A vendor's or spammer's own price list or fee is not a pricing ask of ours.
        flags.remove(&RiskFlag::Pricing);
    }
    let words = &input.words;
    let lane = human_lane(words, &flags);
    let disqualified = a.qualification.0 == Qualification::Disqualified;
    let escalate = !disqualified || (lane.is_some() && !a.explicit_disqualifier);
    let lane = lane.filter(|_| escalate);
    let demo = words.find(DEMO_REQUEST).map(|h| h.found());
    let pricing = pricing_ask(words, &[]).or_else(|| {
        words
            .filtered(|s| s.starts_with("field:"))
            .find(PRICING_NOUNS)
            .map(|h| h.found())
    });
    // A bespoke package or pilot ("a special pilot scoped to one module") is the
    // custom-packaging lane's decision, not yet a price: it raises no pricing flag by itself.
    let packaging_only = pricing.as_ref().is_some_and(|p| {
        words.find(CUSTOM_PACKAGING).is_some_and(|h| {
            h.excerpt() == p.excerpt && !h.words().iter().any(|w| PRICED.contains(w))
        })
    });
    if let (Some(p), true, false) = (&pricing, escalate, packaging_only) {
        flags.entry(RiskFlag::Pricing).or_insert_with(|| p.clone());
    }
    let lane = lane
        .or_else(|| human_lane(words, &flags))
        .filter(|_| escalate);
    let review = lane.clone().filter(|(l, _)| {
        matches!(
            l,
            HumanLane::LegalReview | HumanLane::SecurityReview | HumanLane::Procurement
        )
    });
    let trigger = if !escalate {
        (
            TriggerKind::None,
            Found::new(
                "rule",
                format!("disqualified: {}", a.qualification.1.excerpt),
            ),
        )
    } else if let Some(b) = &a.booked {
        (TriggerKind::MeetingBooked, b.clone())
    } else if let (true, Some((l, found))) = (disqualified, lane.clone()) {
        (lane_trigger(l), found)
    } else if let Some(d) = demo {
        (TriggerKind::DemoRequest, d)
    } else if let Some(p) = pricing {
        (TriggerKind::PricingRequest, p)
    } else if let Some((l, found)) = review {
        (lane_trigger(l), found)
    } else if let Some(t) = &a.threshold {
        (TriggerKind::QualificationThreshold, t.clone())
    } else if let Some(e) = flags.get(&RiskFlag::Enterprise) {
        (TriggerKind::EnterpriseFit, e.clone())
    } else {
        (TriggerKind::NeedsJudgment, a.qualification.1.clone())
    };
    // Needs judgment only because nothing qualifies it, and the buyer says they only look
    // around, wants no call, asks for support, or said nothing: the automation nurtures it.
    let quiet = if escalate
        && trigger.0 == TriggerKind::NeedsJudgment
        && a.qualification.0 == Qualification::NeedsConfirmation
    {
        words
            .find(LOW_INTENT)
            .map(|h| h.found())
            .or_else(|| said_nothing(words))
    } else {
        None
    };
    let (escalate, trigger, lane) = match quiet {
        Some(q) => (
            false,
            (
                TriggerKind::None,
                Found::new("rule", format!("low intent: {}", q.excerpt)),
            ),
            None,
        ),
        None => (escalate, trigger, lane),
    };
    let handling = if escalate {
        Handling::Escalate
    } else if a.explicit_disqualifier {
        Handling::Close
    } else {
        Handling::Nurture { resume_on: None }
    };
    Verdict {
        motion: Motion::Inbound,
        trigger,
        reply_class: None,
        qualification: a.qualification,
        flags,
        lane,
        escalate,
        handling,
        referral: None,
        needs_confirmation: None,
        objection_kind: None,
        on_behalf: None,
    }
}

/// The buyer wrote nothing to judge: no message or answer longer than a greeting.
fn said_nothing(words: &super::text::Doc) -> Option<Found> {
    let own = |s: &str| s == "text" || s.starts_with("answer:");
    words
        .parts()
        .iter()
        .filter(|p| own(p.source()))
        .all(|p| p.tokens().len() <= 2)
        .then(|| Found::new("rule", "no message"))
}

/// Judges a web form lead.
pub(crate) fn form_lead(input: &Input, form: &FormLead, flags: Flags) -> Verdict {
    judge_lead(input, flags, form_assessment(input, form))
}

/// Judges a lead an AI agent qualified.
pub(crate) fn qualified_lead(input: &Input, lead: &QualifiedLead, flags: Flags) -> Verdict {
    judge_lead(input, flags, qualified_lead_assessment(input, lead))
}

/// What happened to a meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MeetingOutcome {
    Booked,
    Cancelled,
    NoShow,
}

/// Judges a booked, cancelled or missed meeting.
pub(crate) fn meeting(
    input: &Input,
    m: &MeetingEvent,
    outcome: MeetingOutcome,
    flags: Flags,
) -> Verdict {
    let words = &input.words;
    let stop = words.find(STOP).map(|h| h.found());
    let decline = words.find(DECLINE).map(|h| h.found());
    let closing = if outcome == MeetingOutcome::Cancelled {
        stop.clone().or(decline)
    } else {
        None
    };
    let disq = disqualifier(words);
    let company = has_company(input);
    let (kind, verb) = match outcome {
        MeetingOutcome::Booked => (TriggerKind::MeetingBooked, "booked"),
        MeetingOutcome::Cancelled => (TriggerKind::MeetingCancelled, "cancelled"),
        MeetingOutcome::NoShow => (TriggerKind::MeetingNoShow, "missed"),
    };
    let title = if m.title.is_empty() {
        "meeting"
    } else {
        m.title.as_str()
    };
    let event_found = Found::new(
        "event",
        format!(
            "{title} {verb}, {}",
            m.starts_at.format("%Y-%m-%d %H:%M UTC")
        ),
    );
    let qualification = match (&closing, &disq, &company, outcome) {
        (Some(c), _, _, _) | (None, Some(c), _, _) => (Qualification::Disqualified, c.clone()),
        (None, None, Some(c), MeetingOutcome::Booked) => {
            (Qualification::Qualified, combined(&[&event_found, c]))
        }
        (None, None, Some(c), _) => (
            Qualification::PartiallyQualified,
            combined(&[&event_found, c]),
        ),
        (None, None, None, _) => (
            Qualification::NeedsConfirmation,
            Found::new("rule", "no company behind the address"),
        ),
    };
    // A cancellation that defers ("budget frozen until Q2, I'll reach out then"): the
    // automation nurtures it and comes back at the stated time.
    let deferred = (outcome == MeetingOutcome::Cancelled && closing.is_none() && disq.is_none())
        .then(|| words.find(DEFER))
        .flatten();
    let qualification = match &deferred {
        Some(_) if qualification.0 != Qualification::NeedsConfirmation => (
            Qualification::NeedsConfirmation,
            Found::new("rule", "a deferred meeting says nothing about fit"),
        ),
        _ => qualification,
    };
    let escalate = closing.is_none() && disq.is_none() && deferred.is_none();
    let lane = if escalate {
        human_lane(words, &flags)
    } else {
        None
    };
    let trigger = match &deferred {
        _ if escalate => (kind, event_found),
        Some(d) => (
            TriggerKind::None,
            Found::new("rule", format!("{verb}, deferred: {}", d.excerpt())),
        ),
        None => (
            TriggerKind::None,
            Found::new("rule", format!("{verb}: {}", qualification.1.excerpt)),
        ),
    };
    let handling = if escalate {
        Handling::Escalate
    } else if deferred.is_some() {
        Handling::Nurture {
            resume_on: words
                .parts()
                .iter()
                .find_map(|p| deferral_date(p, input.received)),
        }
    } else if stop.is_some() && closing.is_some() {
        Handling::Suppress
    } else {
        Handling::Close
    };
    Verdict {
        motion: Motion::Inbound,
        trigger,
        reply_class: None,
        qualification,
        flags,
        lane,
        escalate,
        handling,
        referral: None,
        needs_confirmation: None,
        objection_kind: None,
        on_behalf: None,
    }
}
