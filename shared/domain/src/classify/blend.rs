//! Rules and model together: which reply class wins, how sure it is, and when a human must
//! confirm it.
//!
//! - A rule whose evidence is strong (an explicit stop request, a bounce, a machine header, an
//!   away notice with its return date — confidence at or above [`Blend::rule_decides_at`])
//!   decides alone: these are the high-precision signals rules do best.
//! - A weaker rule phrase keeps its class unless the model is sure of another one (its
//!   likeliest class at [`Blend::model_overrules_at`] or more).
//! - A reply no rule matched is the model's; it never becomes `positive` by default.
//! - Confidence: a rule's own, raised to the model's probability when the model agrees; the
//!   model's probability when the model decides. The package says `needs_confirmation`, naming
//!   the decided class and the runner-up, when the confidence is below
//!   [`Blend::confirm_below`], when the model decided and its top two classes are within
//!   [`CLOSE`] points, or when no rule matched and the model is below [`SURE_ALONE`].
//!
//! [`Judging`] lets `handoff eval` measure the rules alone and the model alone as well.

use super::model::{Blend, Prediction};
use crate::package::ReplyClass;

/// Which judgment decides the reply class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Judging {
    /// Rules and model together (what the product runs).
    #[default]
    Combined,
    /// The rules alone, as before the model existed (an unmatched reply keeps the rules' guess).
    RulesOnly,
    /// The model alone: the most probable class, whatever the rules found.
    ModelOnly,
}

/// What the rules found for the reply class.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RuleGuess {
    pub class: ReplyClass,
    pub confidence: u8,
    /// No rule matched; `class` is only a fallback.
    pub unmatched: bool,
}

/// Who decided the class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecidedBy {
    /// A rule, alone or agreeing with the model.
    Rule,
    /// The model, against or without a rule.
    Model,
}

/// The reply class chosen, with its confidence (percent) and, when unsure, why.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Decision {
    pub class: ReplyClass,
    pub confidence: u8,
    pub by: DecidedBy,
    /// The runner-up, when the decision weighed several classes.
    pub runner_up: Option<(ReplyClass, u8)>,
    pub needs_confirmation: Option<String>,
}

/// Two classes the model weighs within this many points of each other are "close".
pub(crate) const CLOSE: u8 = 15;

/// When no rule matched, the model must be this sure (percent) not to ask for confirmation.
pub(crate) const SURE_ALONE: u8 = 60;

/// Chooses the reply class (rules in the module docs).
pub(crate) fn decide(
    rule: &RuleGuess,
    prediction: &Prediction,
    blend: &Blend,
    judging: Judging,
) -> Decision {
    let ranked = prediction.ranked();
    let (top, p_top) = ranked[0];
    let model_says = |class: ReplyClass| prediction_of(&ranked, class);
    let runner_up = |decided: ReplyClass| {
        ranked
            .iter()
            .find(|(c, _)| *c != decided)
            .map(|(c, p)| (*c, percent(*p)))
    };
    let (class, confidence, by) = match judging {
        Judging::RulesOnly => (rule.class, rule.confidence, DecidedBy::Rule),
        Judging::ModelOnly => (top, percent(p_top), DecidedBy::Model),
        Judging::Combined if rule.unmatched => (top, percent(p_top), DecidedBy::Model),
        Judging::Combined if rule.confidence >= blend.rule_decides_at => {
            (rule.class, rule.confidence, DecidedBy::Rule)
        }
        Judging::Combined if top != rule.class && p_top >= blend.model_overrules_at => {
            (top, percent(p_top), DecidedBy::Model)
        }
        Judging::Combined => (
            rule.class,
            rule.confidence.max(percent(model_says(rule.class))),
            DecidedBy::Rule,
        ),
    };
    let runner_up = match (judging, by) {
        (Judging::RulesOnly, _) => None,
        (_, DecidedBy::Rule) if rule.confidence >= blend.rule_decides_at => None,
        _ => runner_up(class),
    };
    let close = by == DecidedBy::Model
        && runner_up.is_some_and(|(_, p)| confidence.saturating_sub(p) < CLOSE);
    let weak_guess = judging == Judging::Combined && rule.unmatched && confidence < SURE_ALONE;
    let unsure = judging != Judging::RulesOnly
        && (f64::from(confidence) / 100.0 < blend.confirm_below || close || weak_guess);
    let needs_confirmation = unsure.then(|| {
        let unmatched = if rule.unmatched {
            "no rule matched; "
        } else {
            ""
        };
        let second = runner_up.map_or(String::new(), |(c, p)| format!(" or {} ({p} %)", prose(c)));
        format!(
            "{unmatched}the reply reads as {} ({confidence} %){second}",
            prose(class)
        )
    });
    Decision {
        class,
        confidence,
        by,
        runner_up,
        needs_confirmation,
    }
}

/// A reply class as a rep reads it: "not now", "pricing question".
fn prose(class: ReplyClass) -> String {
    crate::render::prose(class.as_str())
}

fn prediction_of(ranked: &[(ReplyClass, f64)], class: ReplyClass) -> f64 {
    ranked
        .iter()
        .find(|(c, _)| *c == class)
        .map_or(0.0, |(_, p)| *p)
}

/// Whether a human takes the reply now: the reference's escalation list (a question only when
/// `question_needs_human`: legal, security or procurement work, or a strategic account), plus any unsure reply whose likeliest or
/// runner-up class could be a buying signal.
pub(crate) fn escalates(d: &Decision, question_needs_human: bool) -> bool {
    class_escalates(d.class, question_needs_human)
        || (d.needs_confirmation.is_some()
            && (buying_signal(d.class) || d.runner_up.is_some_and(|(c, _)| buying_signal(c))))
}

/// The reference's "Escalate now?" for a reply class.
pub(crate) fn class_escalates(class: ReplyClass, question_needs_human: bool) -> bool {
    match class {
        ReplyClass::MeetingRequest
        | ReplyClass::PricingQuestion
        | ReplyClass::Referral
        | ReplyClass::Positive
        | ReplyClass::Objection => true,
        ReplyClass::Question => question_needs_human,
        _ => false,
    }
}

/// Classes that could mean the buyer wants to buy (or can still be won).
fn buying_signal(class: ReplyClass) -> bool {
    matches!(
        class,
        ReplyClass::MeetingRequest
            | ReplyClass::PricingQuestion
            | ReplyClass::Referral
            | ReplyClass::Positive
            | ReplyClass::Objection
    )
}

fn percent(p: f64) -> u8 {
    (p * 100.0).round().clamp(0.0, 100.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::model::Model;
    use std::collections::HashMap;

    /// A model that finds `w:x` to mean objection and `w:y` to mean not_now.
    fn model() -> Model {
        let mut weights = HashMap::new();
        weights.insert("w:x".to_string(), vec![(0, 6.0)]);
        weights.insert("w:y".to_string(), vec![(1, 6.0)]);
        Model {
            classes: vec![
                ReplyClass::Objection,
                ReplyClass::NotNow,
                ReplyClass::Positive,
            ],
            bias: vec![0.0, 0.0, 0.0],
            weights,
            blend: Blend::default(),
        }
    }

    fn guess(class: ReplyClass, confidence: u8, unmatched: bool) -> RuleGuess {
        RuleGuess {
            class,
            confidence,
            unmatched,
        }
    }

    fn predict(features: &[&str]) -> Prediction {
        let f: Vec<String> = features.iter().map(|s| s.to_string()).collect();
        model().predict(&f)
    }

    #[test]
    fn a_strong_rule_decides_alone() {
        let d = decide(
            &guess(ReplyClass::Unsubscribe, 97, false),
            &predict(&["w:x"]),
            &Blend::default(),
            Judging::Combined,
        );
        assert_eq!(d.class, ReplyClass::Unsubscribe);
        assert_eq!(d.by, DecidedBy::Rule);
        assert_eq!(d.confidence, 97);
        assert!(d.needs_confirmation.is_none());
    }

    #[test]
    fn a_confident_model_overrules_a_weak_phrase() {
        let d = decide(
            &guess(ReplyClass::Positive, 60, false),
            &predict(&["w:x"]),
            &Blend::default(),
            Judging::Combined,
        );
        assert_eq!(d.class, ReplyClass::Objection);
        assert_eq!(d.by, DecidedBy::Model);
    }

    #[test]
    fn a_phrase_keeps_its_class_when_the_model_is_not_sure() {
        let d = decide(
            &guess(ReplyClass::NotNow, 85, false),
            &predict(&["w:x", "w:y"]),
            &Blend::default(),
            Judging::Combined,
        );
        assert_eq!(d.class, ReplyClass::NotNow);
        assert_eq!(d.by, DecidedBy::Rule);
        assert_eq!(d.confidence, 85);
        assert_eq!(d.runner_up.map(|r| r.0), Some(ReplyClass::Objection));
        assert!(d.needs_confirmation.is_none());
    }

    #[test]
    fn a_sure_model_alone_needs_no_confirmation_and_close_classes_do() {
        let sure = decide(
            &guess(ReplyClass::Positive, 30, true),
            &predict(&["w:x"]),
            &Blend::default(),
            Judging::Combined,
        );
        assert_eq!(sure.class, ReplyClass::Objection);
        assert!(sure.needs_confirmation.is_none(), "{sure:?}");
        let close = decide(
            &guess(ReplyClass::Positive, 30, true),
            &predict(&["w:x", "w:y"]),
            &Blend::default(),
            Judging::ModelOnly,
        );
        let why = close.needs_confirmation.expect("the top two are level");
        assert!(
            why.contains("objection") && why.contains("not now"),
            "{why}"
        );
    }

    #[test]
    fn a_model_that_agrees_raises_a_weak_phrase() {
        let d = decide(
            &guess(ReplyClass::NotNow, 40, false),
            &predict(&["w:y"]),
            &Blend::default(),
            Judging::Combined,
        );
        assert_eq!((d.class, d.by), (ReplyClass::NotNow, DecidedBy::Rule));
        assert!(d.confidence > 90, "{}", d.confidence);
        assert!(d.needs_confirmation.is_none());
    }

    #[test]
    fn an_unmatched_reply_is_the_models_and_says_it_is_unsure() {
        let d = decide(
            &guess(ReplyClass::Positive, 30, true),
            &predict(&["w:nothing"]),
            &Blend::default(),
            Judging::Combined,
        );
        let why = d.needs_confirmation.expect("unsure");
        assert!(why.starts_with("no rule matched"), "{why}");
        assert!(why.contains(" or "), "{why}");
        assert_eq!(d.by, DecidedBy::Model);
    }

    #[test]
    fn escalation_follows_the_reference_and_errs_toward_a_human_when_unsure() {
        let sure = |class| Decision {
            class,
            confidence: 90,
            by: DecidedBy::Model,
            runner_up: Some((ReplyClass::NotInterested, 5)),
            needs_confirmation: None,
        };
        assert!(escalates(&sure(ReplyClass::Positive), false));
        assert!(!escalates(&sure(ReplyClass::Question), false));
        assert!(escalates(&sure(ReplyClass::Question), true));
        assert!(!escalates(&sure(ReplyClass::NotNow), false));
        let unsure = Decision {
            needs_confirmation: Some("close".into()),
            runner_up: Some((ReplyClass::Positive, 30)),
            ..sure(ReplyClass::NotInterested)
        };
        assert!(escalates(&unsure, false), "positive is the runner-up");
        let unsure_no_signal = Decision {
            runner_up: Some((ReplyClass::AutoReply, 30)),
            ..unsure.clone()
        };
        assert!(!escalates(&unsure_no_signal, false));
    }

    #[test]
    fn rules_only_and_model_only_ignore_the_other_side() {
        let rule = guess(ReplyClass::Positive, 97, false);
        let p = predict(&["w:y"]);
        let only_rules = decide(&rule, &p, &Blend::default(), Judging::RulesOnly);
        assert_eq!(only_rules.class, ReplyClass::Positive);
        let only_model = decide(&rule, &p, &Blend::default(), Judging::ModelOnly);
        assert_eq!(only_model.class, ReplyClass::NotNow);
    }
}
