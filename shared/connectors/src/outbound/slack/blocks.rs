//! Block Kit layouts: the "new handoff" message with its three buttons, the "who did what"
//! state a clicked message is updated to, the "it moved" notice, and the "news" message when
//! the buyer got in touch again.
//!
//! Everything the buyer (or anyone outside) wrote is first made one line
//! ([`escape::plain_line`]: no line break of any kind, no control or invisible character), so it
//! cannot start a line that passes for one of ours, and then goes through [`escape_mrkdwn`]
//! before it is put into a `mrkdwn` text, so it cannot form a link, a mention or a channel ping
//! (the problem statement, too, is one line here). `plain_text` objects (the header, button
//! labels) are never parsed by Slack and are made one line the same way. Every length limit of
//! Block Kit is respected by truncating with `…`.

use handoff_domain::claim_link::ClaimAction;
use handoff_domain::ids::HandoffId;
use handoff_domain::package::{HandoffPackage, MotionFields};
use handoff_domain::ports::Notification;
use handoff_domain::render::{escape, words};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// `action_id` of the Claim button.
pub const ACTION_CLAIM: &str = "handoff_claim";
/// `action_id` of the Wrong owner button.
pub const ACTION_WRONG_OWNER: &str = "handoff_wrong_owner";
/// `action_id` of the Needs re-qualification button.
pub const ACTION_REQUALIFY: &str = "handoff_requalify";
/// `block_id` of the buttons.
pub const ACTIONS_BLOCK_ID: &str = "handoff_actions";

/// Block Kit limits (characters).
const HEADER_MAX: usize = 150;
const SECTION_MAX: usize = 3000;
const FIELD_MAX: usize = 2000;
const CONTEXT_MAX: usize = 2000;
/// The top-level `text` is truncated by Slack past 40 000; notifications show far less.
const FALLBACK_MAX: usize = 3000;

/// The `action_id` of a claim action's button.
pub fn action_id(action: ClaimAction) -> &'static str {
    match action {
        ClaimAction::Accept => ACTION_CLAIM,
        ClaimAction::WrongOwner => ACTION_WRONG_OWNER,
        ClaimAction::Requalify => ACTION_REQUALIFY,
    }
}

/// The claim action of one of our `action_id`s (`None` for anything else).
pub fn action_of(action_id: &str) -> Option<ClaimAction> {
    ClaimAction::ALL
        .into_iter()
        .find(|a| self::action_id(*a) == action_id)
}

/// A button's label.
pub fn button_label(action: ClaimAction) -> &'static str {
    match action {
        ClaimAction::Accept => "Claim",
        ClaimAction::WrongOwner => "Wrong owner",
        ClaimAction::Requalify => "Needs re-qualification",
    }
}

/// What a button carries back in `actions[].value`: `{"h":"<handoff id>","a":"<action>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ButtonValue {
    /// The handoff id.
    pub h: String,
    /// `accept`, `wrong_owner` or `requalify`.
    pub a: String,
}

/// The compact JSON `value` of a button.
pub fn button_value(id: &HandoffId, action: ClaimAction) -> String {
    serde_json::to_string(&ButtonValue {
        h: id.to_string(),
        a: action.as_str().to_string(),
    })
    .expect("two strings serialise")
}

/// Escapes text for a `mrkdwn` object ([`escape::slack_mrkdwn`]): `&`, `<` and `>` become
/// entities (so nothing can form a `<link|…>`, `<@user>` or `<!channel>`), `@channel`, `@here`
/// and `@everyone` cannot ping, `\n` is the only line break kept, and control and invisible
/// characters (the bidirectional overrides that could disguise text among them) are dropped.
pub fn escape_mrkdwn(s: &str) -> String {
    escape::slack_mrkdwn(s)
}

/// `raw` escaped for mrkdwn, at most `max` characters (cut on a character boundary, never inside
/// an entity, with `…`).
pub fn mrkdwn_fit(raw: &str, max: usize) -> String {
    let escaped = escape_mrkdwn(raw);
    if escaped.chars().count() <= max {
        return escaped;
    }
    let mut out = String::new();
    let mut len = 0;
    let mut rest = escaped.as_str();
    while let Some(first) = rest.chars().next() {
        let unit = ["&amp;", "&lt;", "&gt;"]
            .into_iter()
            .find(|e| rest.starts_with(e))
            .map_or(first.len_utf8(), str::len);
        let n = rest[..unit].chars().count();
        if len + n > max.saturating_sub(1) {
            break;
        }
        out.push_str(&rest[..unit]);
        len += n;
        rest = &rest[unit..];
    }
    out.push('…');
    out
}

/// Text for a `plain_text` object: one line ([`escape::fit_line`]), at most `max` characters.
pub fn plain_fit(raw: &str, max: usize) -> String {
    escape::fit_line(raw, max)
}

/// A value from outside as one line, `None` when nothing visible is left.
fn one_line(value: Option<&str>) -> Option<String> {
    value.map(escape::plain_line).filter(|v| !v.is_empty())
}

/// A phrase with its first letter capitalised: "demo request" → "Demo request".
fn humanize(label: &str) -> String {
    let spaced = label.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn plain(text: String) -> Value {
    json!({"type": "plain_text", "text": text, "emoji": true})
}

fn mrkdwn(text: String) -> Value {
    json!({"type": "mrkdwn", "text": text})
}

/// The header line: trigger and buyer ("Demo request: Dana Scully, Acme").
pub fn header_text(p: &HandoffPackage) -> String {
    let c = &p.classification;
    let who = one_line(c.buyer.name.as_deref()).unwrap_or_else(|| c.buyer.email.to_string());
    let company = one_line(c.buyer.company.as_deref())
        .or_else(|| c.buyer.company_domain.as_ref().map(|d| d.to_string()));
    let line = match company {
        Some(company) => format!("{}: {who}, {company}", humanize(&c.trigger.phrase())),
        None => format!("{}: {who}", humanize(&c.trigger.phrase())),
    };
    plain_fit(&line, HEADER_MAX)
}

fn header_block(p: &HandoffPackage) -> Value {
    json!({"type": "header", "block_id": "handoff_header", "text": plain(header_text(p))})
}

/// The six parts at a glance, as section fields. `due` is the deadline line of the owner part.
fn six_parts(p: &HandoffPackage, due: Option<&str>) -> Value {
    let c = &p.classification;
    let b = &c.buyer;

    let mut trigger = format!("{} ({})", humanize(&c.trigger.phrase()), c.motion.phrase());
    if let Some(r) = c.reply_class {
        trigger.push_str(&format!(" · reply: {}", r.phrase()));
        if let Some(sure) = handoff_domain::render::reply_class_confidence(c) {
            trigger.push_str(&format!(" ({sure} % sure)"));
        }
    }

    let mut buyer = one_line(b.name.as_deref()).unwrap_or_else(|| "(no name)".into());
    match (one_line(b.role.as_deref()), one_line(b.company.as_deref())) {
        (Some(role), Some(company)) => buyer.push_str(&format!(", {role} at {company}")),
        (Some(role), None) => buyer.push_str(&format!(", {role}")),
        (None, Some(company)) => buyer.push_str(&format!(" at {company}")),
        (None, None) => {}
    }
    buyer.push_str(&format!("\n{}", escape::plain_line(b.email.as_str())));
    let mut extra = Vec::new();
    if let Some(n) = b.employees {
        extra.push(format!("{n} employees"));
    }
    if let Some(country) = one_line(b.country.as_deref()) {
        extra.push(country);
    }
    if !extra.is_empty() {
        buyer.push_str(&format!("\n{}", extra.join(" · ")));
    }

    let mut qualification = humanize(&c.qualification.phrase());
    match &c.motion_fields {
        MotionFields::Inbound {
            urgency,
            meeting_status,
            ..
        } => {
            let urgency = handoff_domain::render::urgency_text(urgency);
            let meeting = handoff_domain::render::meeting_text(meeting_status);
            qualification.push_str(&format!("\nUrgency {urgency} · meeting {meeting}"));
        }
        MotionFields::Outbound {
            account_reason,
            outreach_history,
            ..
        } => {
            if let Some(account_reason) = one_line(Some(account_reason)) {
                qualification.push_str(&format!("\nAccount: {account_reason}"));
            }
            qualification.push_str(&format!(
                "\n{} so far",
                words::count(outreach_history.len(), "touch")
            ));
        }
    }
    if let Some(why) = one_line(c.needs_confirmation.as_deref()) {
        qualification.push_str(&format!("\nNeeds confirmation: {why}"));
    }

    let next = format!(
        "{} — {}",
        humanize(&c.next_step.action.phrase()),
        escape::plain_line(&c.next_step.detail)
    );

    let owner =
        one_line(p.owner.as_ref().map(|o| o.display.as_str())).unwrap_or_else(|| "none".into());
    let owner_field = match due {
        Some(due) => format!(
            "*5 · Owner*\n{}\n*Due {}*",
            mrkdwn_fit(&owner, 500),
            mrkdwn_fit(&escape::plain_line(due), 200)
        ),
        None => format!("*5 · Owner*\n{}", mrkdwn_fit(&owner, 500)),
    };

    let source = format!("{} / {}", b.source, b.channel);

    let field = |label: &str, raw: &str| {
        let label_len = label.chars().count() + 5;
        mrkdwn(format!(
            "*{label}*\n{}",
            mrkdwn_fit(raw, FIELD_MAX - label_len)
        ))
    };
    json!({
        "type": "section",
        "block_id": "handoff_six_parts",
        "fields": [
            field("1 · Trigger", &trigger),
            field("2 · Buyer", &buyer),
            field("3 · Qualification", &qualification),
            field("4 · Next step", &next),
            mrkdwn(owner_field),
            field("6 · Source", &source),
        ]
    })
}

/// Risk flags and the human-only lane, prominent; a quiet context line when there are none.
fn risks(p: &HandoffPackage) -> Value {
    let c = &p.classification;
    let mut lines = Vec::new();
    if let Some(lane) = c.human_decision {
        lines.push(format!(
            ":warning: *Human-only decision: {}* — a person must decide this; no automation.",
            escape_mrkdwn(&lane.phrase())
        ));
    }
    if !c.risk_flags.is_empty() {
        let flags: Vec<String> = c
            .risk_flags
            .iter()
            .map(|f| f.phrase().into_owned())
            .collect();
        lines.push(format!(
            ":triangular_flag_on_post: *Risk flags:* {}",
            escape_mrkdwn(&flags.join(", "))
        ));
    }
    if lines.is_empty() {
        return json!({
            "type": "context",
            "block_id": "handoff_risks",
            "elements": [mrkdwn(":white_check_mark: No risk flags".into())]
        });
    }
    json!({
        "type": "section",
        "block_id": "handoff_risks",
        "text": mrkdwn(lines.join("\n"))
    })
}

fn problem(p: &HandoffPackage) -> Option<Value> {
    let text = escape::plain_line(&p.classification.buyer.problem_statement);
    (!text.is_empty()).then(|| {
        json!({
            "type": "section",
            "block_id": "handoff_problem",
            "text": mrkdwn(format!("*Problem:* {}", mrkdwn_fit(&text, SECTION_MAX - 20)))
        })
    })
}

/// The last line of every message: the handoff id (and CRM reference), so a message can always
/// be traced back.
fn footer(id: &HandoffId, crm_ref: Option<&str>) -> Value {
    let mut text = format!("Handoff `{}`", escape_mrkdwn(id.as_str()));
    if let Some(crm) = one_line(crm_ref) {
        text.push_str(&format!(" · CRM: {}", mrkdwn_fit(&crm, 500)));
    }
    json!({"type": "context", "block_id": "handoff_footer", "elements": [mrkdwn(text)]})
}

/// The three buttons (also for the shared queue: Claim there picks the handoff up).
fn buttons(id: &HandoffId) -> Value {
    let elements: Vec<Value> = ClaimAction::ALL
        .into_iter()
        .map(|a| {
            let mut button = json!({
                "type": "button",
                "action_id": action_id(a),
                "text": plain(button_label(a).to_string()),
                "value": button_value(id, a),
            });
            if a == ClaimAction::Accept {
                button["style"] = json!("primary");
            }
            button
        })
        .collect();
    json!({"type": "actions", "block_id": ACTIONS_BLOCK_ID, "elements": elements})
}

/// A URL for a `<url|label>` link: `&`, `<`, `>` escaped, `|` percent-encoded.
fn link_url(url: &str) -> String {
    escape_mrkdwn(url).replace('|', "%7C")
}

/// The signed claim links, for people who prefer the browser.
fn links(actions: &[(String, String)]) -> Option<Value> {
    if actions.is_empty() {
        return None;
    }
    let parts: Vec<String> = actions
        .iter()
        .map(|(name, url)| {
            let label = ClaimAction::parse(name)
                .map(button_label)
                .map(str::to_string)
                .unwrap_or_else(|| humanize(name));
            format!("<{}|{}>", link_url(url), escape_mrkdwn(&label))
        })
        .collect();
    let text = format!("Prefer the browser? {}", parts.join(" · "));
    let text = if text.chars().count() > CONTEXT_MAX {
        "Claim links are in the CRM task.".to_string()
    } else {
        text
    };
    Some(json!({"type": "context", "block_id": "handoff_links", "elements": [mrkdwn(text)]}))
}

/// The message for a new owner: header, the six parts (with the deadline in the owner's time
/// zone), risk flags and human-only lane, the problem, the three buttons, the claim links.
pub fn assigned_blocks(n: &Notification) -> Vec<Value> {
    let p = &n.package;
    let mut blocks = vec![
        header_block(p),
        six_parts(
            p,
            Some(n.deadline_local.as_deref().unwrap_or("no SLA deadline")),
        ),
        risks(p),
    ];
    blocks.extend(problem(p));
    blocks.push(buttons(&n.handoff_id));
    blocks.extend(links(&n.actions));
    blocks.push(footer(&n.handoff_id, Some(&n.crm_ref)));
    blocks
}

/// The notification fallback `text` (what the push notification shows): the title and deadline.
pub fn assigned_text(n: &Notification) -> String {
    let mut text = escape::plain_line(&n.title);
    if let Some(due) = one_line(n.deadline_local.as_deref()) {
        text.push_str(&format!(" — due {due}"));
    }
    mrkdwn_fit(&text, FALLBACK_MAX)
}

/// What happened to a message's handoff, for the message's final state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Claimed (accepted) by this person.
    Claimed { by: String },
    /// This person said they are the wrong owner; it was rerouted (to `now_with` when known).
    WrongOwner {
        by: String,
        now_with: Option<String>,
    },
    /// This person asked for re-qualification (now with `now_with` when known).
    Requalify {
        by: String,
        now_with: Option<String>,
    },
    /// The handoff moved to `to` for `reason` (an SLA miss, a reroute).
    Moved { to: String, reason: String },
}

impl Resolution {
    /// The plain-text status line ("✅ Claimed by Lena Fischer"): one line, whatever the names
    /// and reason hold.
    pub fn line(&self) -> String {
        escape::plain_line(&self.raw_line())
    }

    fn raw_line(&self) -> String {
        match self {
            Resolution::Claimed { by } => format!("✅ Claimed by {by}"),
            Resolution::WrongOwner { by, now_with } => match now_with {
                Some(to) => format!("↪ {by} said wrong owner — rerouted to {to}"),
                None => format!("↪ {by} said wrong owner — rerouted"),
            },
            Resolution::Requalify { by, now_with } => match now_with {
                Some(to) => format!("🔁 Re-qualification requested by {by} — now with {to}"),
                None => format!("🔁 Re-qualification requested by {by}"),
            },
            Resolution::Moved { to, reason } => format!("↪ Moved to {to}: {reason}"),
        }
    }

    /// The claim action a click resolution stands for.
    pub fn of_click(action: ClaimAction, by: String, now_with: Option<String>) -> Self {
        match action {
            ClaimAction::Accept => Resolution::Claimed { by },
            ClaimAction::WrongOwner => Resolution::WrongOwner { by, now_with },
            ClaimAction::Requalify => Resolution::Requalify { by, now_with },
        }
    }
}

/// A message's final state: the header and six parts kept, the buttons and links gone, and a
/// prominent line saying who did what.
pub fn resolved_blocks(p: &HandoffPackage, resolution: &Resolution) -> Vec<Value> {
    let mut blocks = vec![
        header_block(p),
        json!({
            "type": "section",
            "block_id": "handoff_resolution",
            "text": mrkdwn(format!("*{}*", mrkdwn_fit(&resolution.line(), SECTION_MAX - 2)))
        }),
        six_parts(p, None),
        risks(p),
    ];
    blocks.extend(problem(p));
    blocks.push(footer(&p.handoff_id, None));
    blocks
}

/// The fallback `text` of a resolved message.
pub fn resolved_text(p: &HandoffPackage, resolution: &Resolution) -> String {
    mrkdwn_fit(
        &format!(
            "{} — {}",
            resolution.line(),
            handoff_domain::render::title(p)
        ),
        FALLBACK_MAX,
    )
}

/// A short "it moved" notice (when there is no earlier message to update).
pub fn moved_notice_blocks(n: &Notification, to: &str, reason: &str) -> Vec<Value> {
    let line = Resolution::Moved {
        to: to.to_string(),
        reason: reason.to_string(),
    }
    .line();
    vec![
        json!({
            "type": "section",
            "block_id": "handoff_resolution",
            "text": mrkdwn(format!("*{}*\n{}", mrkdwn_fit(&line, 1000), mrkdwn_fit(&handoff_domain::render::title(&n.package), 1000)))
        }),
        footer(&n.handoff_id, Some(&n.crm_ref)),
    ]
}

/// The "news" message for an owner when a later event of the buyer joined their handoff: what
/// arrived (the touch's summary), the deadline (tightened when the news is hotter), the risk
/// flags as they stand now, the buttons and links while the owner has not claimed it, the
/// footer.
pub fn news_blocks(n: &Notification, summary: &str) -> Vec<Value> {
    let p = &n.package;
    let mut blocks = vec![json!({
        "type": "section",
        "block_id": "handoff_news",
        "text": mrkdwn(format!(
            "*:incoming_envelope: News — {}*\n{}",
            mrkdwn_fit(&header_text(p), HEADER_MAX),
            mrkdwn_fit(&escape::plain_line(summary), SECTION_MAX - HEADER_MAX - 60)
        ))
    })];
    if let Some(due) = n.deadline_local.as_deref() {
        blocks.push(json!({
            "type": "context",
            "block_id": "handoff_due",
            "elements": [mrkdwn(format!("Due {}", mrkdwn_fit(&escape::plain_line(due), 200)))]
        }));
    }
    blocks.push(risks(p));
    if !n.actions.is_empty() {
        blocks.push(buttons(&n.handoff_id));
        blocks.extend(links(&n.actions));
    }
    blocks.push(footer(&n.handoff_id, Some(&n.crm_ref)));
    blocks
}

/// The fallback `text` of a "news" message: its title and the deadline.
pub fn news_text(n: &Notification) -> String {
    assigned_text(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_neutralises_links_mentions_and_controls() {
        assert_eq!(
            escape_mrkdwn("<!channel> <http://evil|click> & <@U1>"),
            "&lt;!channel&gt; &lt;http://evil|click&gt; &amp; &lt;@U1&gt;"
        );
        assert_eq!(escape_mrkdwn("a\u{7}b\tc\nd\u{202E}e"), "ab c\nde");
        assert_eq!(escape_mrkdwn("Chloé *bold* _it_"), "Chloé *bold* _it_");
    }

    #[test]
    fn fitting_never_cuts_an_entity_and_counts_characters() {
        assert_eq!(mrkdwn_fit("short", 10), "short");
        let cut = mrkdwn_fit(&"&".repeat(10), 12);
        assert_eq!(cut, "&amp;&amp;…");
        assert!(cut.chars().count() <= 12);
        assert_eq!(mrkdwn_fit("ééééé", 3), "éé…");
        assert_eq!(plain_fit("a\n b\u{0}c\u{2028}d", 10), "a bc d");
        assert_eq!(plain_fit(&"x".repeat(200), 150).chars().count(), 150);
    }

    #[test]
    fn action_ids_and_values_round_trip() {
        for a in ClaimAction::ALL {
            assert_eq!(action_of(action_id(a)), Some(a));
        }
        assert_eq!(action_of("a"), None);
        let id = HandoffId::parse("h_0123456789abcdef0123456789abcdef").unwrap();
        assert_eq!(
            button_value(&id, ClaimAction::WrongOwner),
            r#"{"h":"h_0123456789abcdef0123456789abcdef","a":"wrong_owner"}"#
        );
    }
}
