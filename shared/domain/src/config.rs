//! Rules and roster: one TOML document (teams, reps, pools, territories, segments, routing rules,
//! SLAs, failover chain), parsed and checked into [`Rules`].
//!
//! Loading errors name the file, the line and the key. [`Rules::json_schema`] describes the format.

use crate::ids::{CompanyDomain, RepId, TeamId};
use crate::package::{HumanLane, Motion, Qualification, RiskFlag, TriggerKind};
use crate::routing::condition::Condition;
use chrono::{NaiveDate, NaiveTime, Weekday};
use chrono_tz::Tz;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use thiserror::Error;

/// A rules file that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RulesError {
    /// TOML syntax or a field of the wrong type/value.
    #[error("{file}:{line}:{column}: {message}")]
    Parse {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// The document parsed but is inconsistent (unknown team, duplicate rep…).
    #[error("{file}:{line}: {key}: {message}")]
    Invalid {
        file: String,
        line: usize,
        key: String,
        message: String,
    },
}

/// A sales role; routing rules pick a role, layers narrow the reps in it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Qualifies and books.
    Sdr,
    /// Runs discovery and closes.
    Ae,
    /// Owns human-only decisions: pricing, procurement, legal/security review, negotiation, packaging.
    Closer,
}

impl Role {
    /// The label as written in the rules: `sdr`, `ae`, `closer`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Sdr => "sdr",
            Role::Ae => "ae",
            Role::Closer => "closer",
        }
    }
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 3] = [Role::Sdr, Role::Ae, Role::Closer];
}

/// For people: "SDR", "AE", "closer"; the rules spell it [`Role::as_str`].
impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Sdr => "SDR",
            Role::Ae => "AE",
            Role::Closer => "closer",
        })
    }
}

/// Company size segments, by employee count.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    Smb,
    MidMarket,
    Enterprise,
}

impl Segment {
    /// The snake_case label.
    pub fn as_str(self) -> &'static str {
        match self {
            Segment::Smb => "smb",
            Segment::MidMarket => "mid_market",
            Segment::Enterprise => "enterprise",
        }
    }
}

impl Segment {
    /// Every segment, smallest first.
    pub const ALL: [Segment; 3] = [Segment::Smb, Segment::MidMarket, Segment::Enterprise];
}

/// For people: "SMB", "mid-market", "enterprise"; the rules spell it [`Segment::as_str`].
impl std::fmt::Display for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Segment::Smb => "SMB",
            Segment::MidMarket => "mid-market",
            Segment::Enterprise => "enterprise",
        })
    }
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    pub org: Org,
    #[serde(default)]
    pub territories: Vec<Territory>,
    #[serde(default)]
    pub segments: SegmentBounds,
    pub teams: Vec<Team>,
    pub reps: Vec<Rep>,
    /// Named groups of reps a routing rule can send to (`pool = "<id>"`).
    #[serde(default)]
    pub pools: Vec<Pool>,
    /// Named accounts and their owners (seed; owners learned from accepted handoffs add to these).
    #[serde(default)]
    pub accounts: Vec<Account>,
    /// Which role, team or pool takes which handoff; first match wins.
    pub routing: Vec<RouteRule>,
    pub sla: SlaPolicy,
    pub failover: Failover,
    /// Thresholds classification uses.
    #[serde(default)]
    pub qualification: QualificationPolicy,
    /// Which CRM receives the package.
    #[serde(default)]
    pub crm: CrmSettings,
    /// How reps are told, per channel.
    #[serde(default)]
    pub notify: NotifySettings,
    /// An optional second opinion on low-confidence cases (off by default).
    #[serde(default)]
    pub judge: JudgeSettings,
}

/// Which judge gives low-confidence cases a second opinion (`[judge] kind = …`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JudgeKind {
    /// No second opinion: the rules' classification stands.
    #[default]
    None,
    /// A model on Amazon Bedrock (Converse API), `model_id`. Lambda only: the stack must be
    /// deployed with the same id as its `JudgeModelId` parameter.
    Bedrock,
}

impl JudgeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JudgeKind::None => "none",
            JudgeKind::Bedrock => "bedrock",
        }
    }
}

/// The longest answer time a judge may be given, in milliseconds: a classify batch (10
/// messages, run one after the other) whose every message asks the judge and waits this long
/// still ends within the classify function's timeout with a judge (60 s).
pub const JUDGE_TIMEOUT_MAX_MS: u64 = 5_000;

/// `[judge]`: a second opinion, asked only when the classification is unsure
/// (`needs_confirmation`). Its answer is recorded as evidence and can only move a case toward a
/// human; when it fails the rules' classification stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JudgeSettings {
    #[serde(default)]
    pub kind: JudgeKind,
    /// The Bedrock foundation model id (`anthropic.claude-3-haiku-20240307-v1:0`), the same as
    /// the stack's `JudgeModelId`; required for `kind = "bedrock"`. The model must support
    /// forcing a tool (`toolChoice`): Anthropic Claude 3 and later, Amazon Nova.
    #[serde(default)]
    pub model_id: Option<String>,
    /// What one call costs in US dollars, for reporting only (the `JudgeCostUsd` metric and
    /// `rules check`'s daily ceiling).
    #[serde(default)]
    pub cost_per_call_usd: f64,
    /// How long one call may take, retry included, in milliseconds (1 to 5000).
    #[serde(default = "judge_timeout_ms")]
    pub timeout_ms: u64,
    /// At most this many calls per UTC day (counted in the store); the rest keep the rules'
    /// classification. Unset: no limit.
    #[serde(default)]
    pub max_calls_per_day: Option<u32>,
}

fn judge_timeout_ms() -> u64 {
    3_000
}

impl Default for JudgeSettings {
    fn default() -> Self {
        Self {
            kind: JudgeKind::None,
            model_id: None,
            cost_per_call_usd: 0.0,
            timeout_ms: judge_timeout_ms(),
            max_calls_per_day: None,
        }
    }
}

impl JudgeSettings {
    /// Whether a judge is configured.
    pub fn enabled(&self) -> bool {
        self.kind != JudgeKind::None
    }

    /// The model id, trimmed (empty when unset).
    pub fn model(&self) -> &str {
        self.model_id.as_deref().map(str::trim).unwrap_or_default()
    }
}

/// Which CRM adapter writes handoffs (`[crm] kind = …`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CrmKind {
    /// One JSON file per handoff under the data directory (local only: `handoff serve`).
    #[default]
    File,
    Hubspot,
    Salesforce,
    /// No CRM: the notification still goes out.
    None,
}

impl CrmKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CrmKind::File => "file",
            CrmKind::Hubspot => "hubspot",
            CrmKind::Salesforce => "salesforce",
            CrmKind::None => "none",
        }
    }
}

/// `[crm]`: the CRM and its settings. Credentials never live here: they come from the secrets
/// port (`hubspot_token`; `salesforce_client_id`, `salesforce_client_secret`,
/// `salesforce_private_key`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CrmSettings {
    #[serde(default)]
    pub kind: CrmKind,
    #[serde(default)]
    pub hubspot: HubspotSettings,
    #[serde(default)]
    pub salesforce: SalesforceSettings,
}

/// `[crm.hubspot]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HubspotSettings {
    /// The API base URL.
    #[serde(default = "hubspot_api")]
    pub api_url: String,
    /// Contact property per CRM field (`routing_reason = "handoff_routing_reason"`); a field
    /// not named here uses `handoff_<field>`, and `""` leaves it out.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

fn hubspot_api() -> String {
    "https://api.hubapi.com".into()
}

impl Default for HubspotSettings {
    fn default() -> Self {
        Self {
            api_url: hubspot_api(),
            properties: BTreeMap::new(),
        }
    }
}

impl HubspotSettings {
    /// The contact property a field is written to, `None` when left out.
    pub fn property(&self, field: crate::package::CrmField) -> Option<String> {
        match self.properties.get(field.as_str()) {
            Some(p) if p.trim().is_empty() => None,
            Some(p) => Some(p.trim().to_string()),
            None => Some(format!("handoff_{}", field.as_str())),
        }
    }
}

/// How handoff signs in to Salesforce.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SalesforceAuth {
    /// OAuth 2.0 client credentials (secrets `salesforce_client_id`, `salesforce_client_secret`).
    #[default]
    ClientCredentials,
    /// OAuth 2.0 JWT bearer (secrets `salesforce_client_id`, `salesforce_private_key`; `username`).
    JwtBearer,
}

/// `[crm.salesforce]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SalesforceSettings {
    /// Where tokens come from: your My Domain URL for client credentials
    /// (`https://acme.my.salesforce.com`), `https://login.salesforce.com` (or `test.`) for JWT.
    #[serde(default = "salesforce_login")]
    pub login_url: String,
    #[serde(default)]
    pub auth: SalesforceAuth,
    /// The integration user's username (JWT bearer `sub`).
    #[serde(default)]
    pub username: Option<String>,
    /// REST API version.
    #[serde(default = "salesforce_version")]
    pub api_version: String,
    /// Lead/Contact field per CRM field (`routing_reason = "Handoff_Routing_Reason__c"`); none
    /// by default: the package always goes into the task's `Description`.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

fn salesforce_login() -> String {
    "https://login.salesforce.com".into()
}
fn salesforce_version() -> String {
    "v61.0".into()
}

impl Default for SalesforceSettings {
    fn default() -> Self {
        Self {
            login_url: salesforce_login(),
            auth: SalesforceAuth::default(),
            username: None,
            api_version: salesforce_version(),
            fields: BTreeMap::new(),
        }
    }
}

/// `[notify]`: one table per channel a rep's `notify` target may name. A channel without its
/// table is written to the local log by `handoff serve` and refused by `rules push`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotifySettings {
    #[serde(default)]
    pub slack: Option<SlackSettings>,
    #[serde(default)]
    pub email: Option<EmailSettings>,
    #[serde(default)]
    pub webhook: Option<WebhookSettings>,
}

/// `[notify.slack]` (secrets `slack_bot_token`, `slack_signing_secret`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlackSettings {
    #[serde(default = "slack_api")]
    pub api_url: String,
}

fn slack_api() -> String {
    "https://slack.com/api".into()
}

/// `[notify.email]`: SES in Lambda, SMTP locally (secret `smtp_credentials` = `user:password`
/// when the server wants a login).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    /// The sender (an SES-verified identity in the cloud).
    pub from: String,
    #[serde(default = "localhost")]
    pub smtp_host: String,
    #[serde(default = "smtp_port")]
    pub smtp_port: u16,
    /// `none` (plain, for a local sink), `starttls` or `tls`.
    #[serde(default)]
    pub smtp_security: SmtpSecurity,
}

fn localhost() -> String {
    "127.0.0.1".into()
}
fn smtp_port() -> u16 {
    25
}

/// Transport security for SMTP.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    #[default]
    None,
    Starttls,
    Tls,
}

/// `[notify.webhook]`: a JSON POST signed with `Handoff-Signature` (secret `webhook_secret`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    pub url: String,
}

/// Organisation-wide settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Org {
    pub name: String,
    /// Our own product names, so "we already use <product>" marks an existing customer.
    #[serde(default)]
    pub product_names: Vec<String>,
    /// Competing products, to flag competitor evaluations.
    #[serde(default)]
    pub competitors: Vec<String>,
    /// Product lines and words that point to each (`analytics = ["dashboard", "bi"]`).
    #[serde(default)]
    pub product_lines: BTreeMap<String, Vec<String>>,
    /// Dates nobody works (ISO dates), on top of each rep's time off.
    #[serde(default)]
    pub holidays: Vec<NaiveDate>,
}

/// A territory: a region and the countries in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Territory {
    pub id: String,
    /// ISO 3166-1 alpha-2 codes, uppercase.
    pub countries: Vec<String>,
    /// Where buyers with no or an unknown country go (exactly one territory may say so).
    #[serde(default)]
    pub default: bool,
}

/// Upper bounds of the smaller segments by employee count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentBounds {
    pub smb_max_employees: u32,
    pub mid_market_max_employees: u32,
}

impl Default for SegmentBounds {
    fn default() -> Self {
        Self {
            smb_max_employees: 200,
            mid_market_max_employees: 2000,
        }
    }
}

impl SegmentBounds {
    /// The segment of a company with `employees` people.
    pub fn segment_of(&self, employees: u32) -> Segment {
        if employees <= self.smb_max_employees {
            Segment::Smb
        } else if employees <= self.mid_market_max_employees {
            Segment::MidMarket
        } else {
            Segment::Enterprise
        }
    }
}

/// A team of reps sharing a role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Team {
    pub id: TeamId,
    pub name: String,
    pub role: Role,
    /// The territory it covers; `None` for a global team.
    #[serde(default)]
    pub territory: Option<String>,
    /// Who takes what the whole team missed (may be a `failover_only` rep outside any pool).
    #[serde(default)]
    pub lead: Option<RepId>,
    /// How many more reps of this team's pool to try before the lead; `failover.max_reps` when unset.
    #[serde(default)]
    pub max_reps: Option<u32>,
    /// The team's own shared queue, last stop of its chain; `failover.shared_queue` when unset.
    #[serde(default)]
    pub queue: Option<String>,
    /// Where the team's queue is notified; `failover.shared_queue_notify` when unset.
    #[serde(default)]
    pub queue_notify: Option<String>,
}

/// Weekly working hours in the rep's time zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkingHours {
    /// `HH:MM`.
    #[schemars(with = "String")]
    pub start: NaiveTime,
    /// `HH:MM`, after `start`.
    #[schemars(with = "String")]
    pub end: NaiveTime,
    /// `mon`…`sun`.
    #[serde(default = "weekdays")]
    #[schemars(with = "Vec<String>")]
    pub days: Vec<Weekday>,
}

fn weekdays() -> Vec<Weekday> {
    vec![
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
    ]
}

impl Default for WorkingHours {
    fn default() -> Self {
        Self {
            start: NaiveTime::from_hms_opt(9, 0, 0).expect("valid"),
            end: NaiveTime::from_hms_opt(17, 0, 0).expect("valid"),
            days: weekdays(),
        }
    }
}

/// Time off, inclusive of both dates, in the rep's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeOff {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// One rep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rep {
    pub id: RepId,
    pub name: String,
    pub email: String,
    pub team: TeamId,
    /// IANA time zone, e.g. `Europe/Berlin`.
    #[schemars(with = "String")]
    pub timezone: Tz,
    #[serde(default)]
    pub working_hours: WorkingHours,
    /// Segments this rep covers; empty = all.
    #[serde(default)]
    pub segments: Vec<Segment>,
    /// Product lines this rep covers; empty = all.
    #[serde(default)]
    pub products: Vec<String>,
    /// Human-only lanes this rep may decide (closers).
    #[serde(default)]
    pub lanes: Vec<HumanLane>,
    #[serde(default)]
    pub out_of_office: Vec<TimeOff>,
    /// Round-robin weight, 1–100.
    #[serde(default = "one")]
    pub weight: u32,
    /// Most new handoffs per day in the rep's time zone.
    #[serde(default = "default_cap")]
    pub daily_cap: u32,
    /// Where to notify: `slack:@handle`, `slack:#channel`, `email:addr`, `crm_task`.
    pub notify: String,
    /// Inactive reps are kept for history but never routed to.
    #[serde(default = "yes")]
    pub active: bool,
    /// The rep's HubSpot owner id (needed when `[crm] kind = "hubspot"`).
    #[serde(default)]
    pub hubspot_owner_id: Option<String>,
    /// The rep's Salesforce user id, `005…` (needed when `[crm] kind = "salesforce"`).
    #[serde(default)]
    pub salesforce_user_id: Option<String>,
    /// The rep's Slack member id, `U…` (needed for a `slack:@…` target when `[notify.slack]` is set).
    #[serde(default)]
    pub slack_user_id: Option<String>,
    /// Takes handoffs only as a team `lead` (the failover target): never part of a role, team
    /// or pool for round robin.
    #[serde(default)]
    pub failover_only: bool,
}

fn one() -> u32 {
    1
}
fn default_cap() -> u32 {
    25
}
fn yes() -> bool {
    true
}

/// An account with a named owner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub domain: CompanyDomain,
    pub owner: RepId,
    #[serde(default)]
    pub name: Option<String>,
    /// We already sell to them.
    #[serde(default)]
    pub customer: bool,
}

/// Who takes a handoff. All given conditions (the top-level keys and the `when` table) must
/// hold; the first matching rule wins. The target is exactly one of `role`, `team` or `pool`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteRule {
    pub name: String,
    #[serde(default)]
    pub motion: Option<Motion>,
    /// Matches when the handoff has (true) or has no (false) human-only lane.
    #[serde(default)]
    pub human_decision: Option<bool>,
    #[serde(default)]
    pub qualification: Vec<Qualification>,
    #[serde(default)]
    pub triggers: Vec<TriggerKind>,
    /// Matches when any of these flags is raised.
    #[serde(default)]
    pub flags: Vec<RiskFlag>,
    /// Any other condition on the handoff (README "Routing conditions"), ANDed with the keys above.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
    /// Send to every active rep of the teams with this role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Send to this team's active reps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<TeamId>,
    /// Send to this `[[pools]]` entry's active reps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
}

impl RouteRule {
    /// The rule's target, when it names exactly one (validation makes sure it does).
    pub fn target(&self) -> Option<RuleTarget<'_>> {
        match (&self.role, &self.team, &self.pool) {
            (Some(role), None, None) => Some(RuleTarget::Role(*role)),
            (None, Some(team), None) => Some(RuleTarget::Team(team)),
            (None, None, Some(pool)) => Some(RuleTarget::Pool(pool)),
            _ => None,
        }
    }
}

/// Where a routing rule sends a handoff, before the human-lane, territory, segment and product
/// line layers narrow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleTarget<'a> {
    /// Every active rep of the teams with this role.
    Role(Role),
    /// The team's active reps.
    Team(&'a TeamId),
    /// The pool's active reps.
    Pool(&'a str),
}

/// A named group of reps, across teams, that a routing rule can send to. Its reps share one
/// role (continuity and escalation need it) and none is `failover_only`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pool {
    pub id: String,
    pub name: String,
    pub reps: Vec<RepId>,
}

/// SLA minutes per motion and tier, in business minutes on the owner's calendar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicy {
    pub inbound: SlaTiers,
    pub outbound: SlaTiers,
    /// For handoffs with a human-only lane.
    pub human_decision_minutes: u32,
    /// For a handoff after failover or a wrong-owner reroute.
    pub reroute_minutes: u32,
}

/// Minutes per urgency tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaTiers {
    /// Meetings, pricing, demo requests, high urgency.
    pub hot: u32,
    pub standard: u32,
}

/// The failover chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Failover {
    /// How many more reps to try through the same layers before the team lead.
    pub max_reps: u32,
    /// Last stop when reps and the team lead missed it.
    pub shared_queue: String,
    /// Where the shared queue is notified.
    pub shared_queue_notify: String,
    /// The role that takes re-qualification requests.
    #[serde(default = "sdr")]
    pub requalify_role: Role,
}

fn sdr() -> Role {
    Role::Sdr
}

/// Thresholds for qualification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QualificationPolicy {
    /// Agent score at or above which a lead counts as qualified.
    pub qualified_score: u8,
    /// Employees at or above which a company counts as enterprise.
    pub enterprise_employees: u32,
    /// Seats at or above which a deal counts as enterprise.
    pub enterprise_seats: u32,
}

impl Default for QualificationPolicy {
    fn default() -> Self {
        Self {
            qualified_score: 70,
            enterprise_employees: 2000,
            enterprise_seats: 200,
        }
    }
}

impl Rules {
    /// Parses and checks a TOML document; `file` names it in errors.
    pub fn from_toml(file: &str, text: &str) -> Result<Self, RulesError> {
        let rules: Rules = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            RulesError::Parse {
                file: file.to_string(),
                line,
                column,
                message: e.message().to_string(),
            }
        })?;
        rules
            .validate()
            .map_err(|(key, message)| RulesError::Invalid {
                file: file.to_string(),
                line: line_of_key(text, &key, &message),
                key,
                message,
            })?;
        rules.validate_entries().map_err(|p| RulesError::Invalid {
            file: file.to_string(),
            line: entry_line(text, p.table, p.index, Some(p.key))
                .unwrap_or_else(|| line_of_key(text, p.key, &p.message)),
            key: p.key.to_string(),
            message: p.message,
        })?;
        Ok(rules)
    }

    /// The JSON Schema of the TOML format.
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Rules)).expect("schema serialises")
    }

    /// The rep with this id.
    pub fn rep(&self, id: &RepId) -> Option<&Rep> {
        self.reps.iter().find(|r| &r.id == id)
    }

    /// The team with this id.
    pub fn team(&self, id: &TeamId) -> Option<&Team> {
        self.teams.iter().find(|t| &t.id == id)
    }

    /// The role of a rep (through their team).
    pub fn role_of(&self, rep: &Rep) -> Option<Role> {
        self.team(&rep.team).map(|t| t.role)
    }

    /// The pool with this id.
    pub fn pool(&self, id: &str) -> Option<&Pool> {
        self.pools.iter().find(|p| p.id == id)
    }

    /// The reps a routing target starts from, before the layers: active and not
    /// `failover_only`, in roster order.
    pub fn target_reps(&self, target: RuleTarget<'_>) -> Vec<&Rep> {
        let in_target = |r: &Rep| match target {
            RuleTarget::Role(role) => self.role_of(r) == Some(role),
            RuleTarget::Team(team) => &r.team == team,
            RuleTarget::Pool(id) => self.pool(id).is_some_and(|p| p.reps.contains(&r.id)),
        };
        self.reps
            .iter()
            .filter(|r| r.active && !r.failover_only && in_target(r))
            .collect()
    }

    /// The role a target stands for (owner continuity and escalation go by role): the role
    /// itself, the team's role, or the role the pool's reps share.
    pub fn target_role(&self, target: RuleTarget<'_>) -> Option<Role> {
        match target {
            RuleTarget::Role(role) => Some(role),
            RuleTarget::Team(team) => self.team(team).map(|t| t.role),
            RuleTarget::Pool(id) => self
                .pool(id)
                .and_then(|p| p.reps.iter().find_map(|r| self.rep(r)))
                .and_then(|r| self.role_of(r)),
        }
    }

    /// A target as a person reads it: "role SDR", "team AMER SDRs", "pool Launch desk".
    pub fn target_text(&self, target: RuleTarget<'_>) -> String {
        match target {
            RuleTarget::Role(role) => format!("role {role}"),
            RuleTarget::Team(team) => match self.team(team) {
                Some(t) => format!("team {}", t.name),
                None => format!("team {team}"),
            },
            RuleTarget::Pool(id) => match self.pool(id) {
                Some(p) => format!("pool {}", p.name),
                None => format!("pool {id}"),
            },
        }
    }

    /// The territory id of a country code, or the default territory.
    pub fn territory_of(&self, country: Option<&str>) -> Option<&Territory> {
        let c = country.map(|c| c.trim().to_ascii_uppercase());
        c.as_deref()
            .and_then(|c| {
                self.territories
                    .iter()
                    .find(|t| t.countries.iter().any(|x| x == c))
            })
            .or_else(|| self.territories.iter().find(|t| t.default))
    }

    /// The configured account for a domain.
    pub fn account(&self, domain: &CompanyDomain) -> Option<&Account> {
        self.accounts.iter().find(|a| &a.domain == domain)
    }

    fn validate(&self) -> Result<(), (String, String)> {
        let err = |key: &str, msg: String| Err((key.to_string(), msg));
        let mut team_ids = BTreeSet::new();
        for t in &self.teams {
            if !team_ids.insert(&t.id) {
                return err(
                    "teams.id",
                    format!("team {:?} is defined twice", t.id.as_str()),
                );
            }
            if let Some(terr) = &t.territory {
                if !self.territories.iter().any(|x| &x.id == terr) {
                    return err(
                        "territory",
                        format!("team {:?} names unknown territory {terr:?}", t.id.as_str()),
                    );
                }
            }
        }
        let mut rep_ids = BTreeSet::new();
        for r in &self.reps {
            if !rep_ids.insert(&r.id) {
                return err(
                    "reps.id",
                    format!("rep {:?} is defined twice", r.id.as_str()),
                );
            }
            if !team_ids.contains(&r.team) {
                return err(
                    "team",
                    format!(
                        "rep {:?} names unknown team {:?}",
                        r.id.as_str(),
                        r.team.as_str()
                    ),
                );
            }
            if r.weight == 0 || r.weight > 100 {
                return err(
                    "weight",
                    format!(
                        "rep {:?} has weight {}; use 1 to 100",
                        r.id.as_str(),
                        r.weight
                    ),
                );
            }
            if r.working_hours.start >= r.working_hours.end {
                return err(
                    "working_hours",
                    format!("rep {:?}: start must be before end", r.id.as_str()),
                );
            }
            if r.working_hours.days.is_empty() {
                return err("days", format!("rep {:?} works on no day", r.id.as_str()));
            }
            for off in &r.out_of_office {
                if off.to < off.from {
                    return err(
                        "out_of_office",
                        format!("rep {:?}: time off ends before it starts", r.id.as_str()),
                    );
                }
            }
            if !valid_notify(&r.notify) {
                return err("notify", format!("rep {:?}: {:?} is not slack:@user, slack:#channel, email:address, webhook or crm_task", r.id.as_str(), r.notify));
            }
            if let Some((key, message)) = self.missing_external_id(r) {
                return err(key, message);
            }
            for p in &r.products {
                if !self.org.product_lines.is_empty() && !self.org.product_lines.contains_key(p) {
                    return err(
                        "products",
                        format!("rep {:?} names unknown product line {p:?}", r.id.as_str()),
                    );
                }
            }
        }
        for t in &self.teams {
            if let Some(lead) = &t.lead {
                if !rep_ids.contains(lead) {
                    return err(
                        "lead",
                        format!(
                            "team {:?} names unknown lead {:?}",
                            t.id.as_str(),
                            lead.as_str()
                        ),
                    );
                }
            }
            if let Some(target) = t.queue_notify.as_deref().filter(|n| !valid_notify(n)) {
                return err(
                    "queue_notify",
                    format!(
                        "team {:?}: {target:?} is not a valid notification target",
                        t.id.as_str()
                    ),
                );
            }
            if t.queue.as_deref().is_some_and(|q| q.trim().is_empty()) {
                return err(
                    "queue",
                    format!("team {:?}: the queue name is empty", t.id.as_str()),
                );
            }
        }
        for a in &self.accounts {
            if !rep_ids.contains(&a.owner) {
                return err(
                    "owner",
                    format!(
                        "account {:?} names unknown owner {:?}",
                        a.domain.as_str(),
                        a.owner.as_str()
                    ),
                );
            }
        }
        let defaults = self.territories.iter().filter(|t| t.default).count();
        if defaults > 1 {
            return err("default", "more than one territory is the default".into());
        }
        if self.segments.smb_max_employees >= self.segments.mid_market_max_employees {
            return err(
                "smb_max_employees",
                "must be below mid_market_max_employees".into(),
            );
        }
        if self.routing.is_empty() {
            return err("routing", "at least one routing rule is needed".into());
        }
        let requalify = self.failover.requalify_role;
        if !self
            .reps
            .iter()
            .any(|r| r.active && self.role_of(r) == Some(requalify))
        {
            return err(
                "requalify_role",
                format!(
                    "failover.requalify_role is {:?} but no active rep has it",
                    requalify.as_str()
                ),
            );
        }
        if !valid_notify(&self.failover.shared_queue_notify) {
            return err(
                "shared_queue_notify",
                format!(
                    "{:?} is not a valid notification target",
                    self.failover.shared_queue_notify
                ),
            );
        }
        for key in self
            .crm
            .hubspot
            .properties
            .keys()
            .chain(self.crm.salesforce.fields.keys())
        {
            if crate::package::CrmField::from_label(key).is_none() {
                let known: Vec<&str> = crate::package::CrmField::ALL
                    .iter()
                    .map(|f| f.as_str())
                    .collect();
                return err(
                    key,
                    format!("unknown CRM field {key:?}; known: {}", known.join(", ")),
                );
            }
        }
        if self.crm.kind == CrmKind::Salesforce
            && self.crm.salesforce.auth == SalesforceAuth::JwtBearer
            && self
                .crm
                .salesforce
                .username
                .as_deref()
                .is_none_or(|u| u.trim().is_empty())
        {
            return err(
                "auth",
                "crm.salesforce.auth = \"jwt_bearer\" needs crm.salesforce.username".into(),
            );
        }
        if let Some(email) = &self.notify.email {
            if crate::ids::EmailAddress::parse(&email.from).is_err() {
                return err(
                    "from",
                    format!("notify.email.from {:?} is not an email address", email.from),
                );
            }
        }
        if let Some(hook) = &self.notify.webhook {
            if !(hook.url.starts_with("https://") || hook.url.starts_with("http://")) {
                return err(
                    "url",
                    format!("notify.webhook.url {:?} is not an http(s) URL", hook.url),
                );
            }
        }
        if let Some((key, message)) = self.judge_problem() {
            return err(key, message);
        }
        for (key, v) in [
            ("hot", self.sla.inbound.hot),
            ("standard", self.sla.inbound.standard),
            ("hot", self.sla.outbound.hot),
            ("standard", self.sla.outbound.standard),
            ("human_decision_minutes", self.sla.human_decision_minutes),
            ("reroute_minutes", self.sla.reroute_minutes),
        ] {
            if v == 0 {
                return err(key, "an SLA must be at least one business minute".into());
            }
        }
        Ok(())
    }
}

/// A problem in one entry of an array of tables: the `index`-th `[[table]]`, at `key`.
struct EntryProblem {
    table: &'static str,
    index: usize,
    key: &'static str,
    message: String,
}

impl Rules {
    /// Checks `[[pools]]` and each `[[routing]]` rule's target and conditions.
    fn validate_entries(&self) -> Result<(), EntryProblem> {
        for (index, pool) in self.pools.iter().enumerate() {
            if let Some((key, message)) = self.pool_problem(index, pool) {
                return Err(EntryProblem {
                    table: "pools",
                    index,
                    key,
                    message,
                });
            }
        }
        for (index, rule) in self.routing.iter().enumerate() {
            if let Some((key, message)) = self.rule_problem(rule) {
                return Err(EntryProblem {
                    table: "routing",
                    index,
                    key,
                    message,
                });
            }
        }
        Ok(())
    }

    /// What is wrong with a pool: `(key, message)`.
    fn pool_problem(&self, index: usize, pool: &Pool) -> Option<(&'static str, String)> {
        let id = pool.id.as_str();
        if id.trim().is_empty() {
            return Some(("id", "a pool id is empty".into()));
        }
        if self.pools[..index].iter().any(|p| p.id == pool.id) {
            return Some(("id", format!("pool {id:?} is defined twice")));
        }
        if pool.reps.is_empty() {
            return Some(("reps", format!("pool {id:?} lists no reps")));
        }
        let mut first_role: Option<(&Rep, Role)> = None;
        for (i, rep_id) in pool.reps.iter().enumerate() {
            let name = rep_id.as_str();
            let Some(rep) = self.rep(rep_id) else {
                return Some(("reps", format!("pool {id:?} names unknown rep {name:?}")));
            };
            if pool.reps[..i].contains(rep_id) {
                return Some(("reps", format!("pool {id:?} lists rep {name:?} twice")));
            }
            if rep.failover_only {
                return Some(("reps", format!(
                    "pool {id:?} lists failover-only rep {name:?}; such a rep takes handoffs only as a team lead"
                )));
            }
            let role = self.role_of(rep)?;
            match first_role {
                None => first_role = Some((rep, role)),
                Some((first, shared)) if shared != role => {
                    return Some(("reps", format!(
                        "pool {id:?} mixes roles: {:?} is {} but {name:?} is {}; a pool's reps must share one role, which owner continuity and escalation use",
                        first.id.as_str(), shared.as_str(), role.as_str()
                    )));
                }
                Some(_) => {}
            }
        }
        None
    }

    /// What is wrong with a routing rule's target or conditions: `(key, message)`.
    fn rule_problem(&self, rule: &RouteRule) -> Option<(&'static str, String)> {
        let name = rule.name.as_str();
        let named: Vec<&'static str> = [
            ("role", rule.role.is_some()),
            ("team", rule.team.is_some()),
            ("pool", rule.pool.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, set)| set.then_some(key))
        .collect();
        match named.as_slice() {
            [] => {
                return Some((
                    "name",
                    format!(
                    "routing rule {name:?} names no target; give exactly one of role, team or pool"
                ),
                ))
            }
            [_] => {}
            [.., last] => {
                return Some((
                    *last,
                    format!(
                        "routing rule {name:?} names {}; give exactly one of role, team or pool",
                        named.join(" and ")
                    ),
                ))
            }
        }
        match rule.target()? {
            RuleTarget::Role(role) => {
                let has_role = self
                    .reps
                    .iter()
                    .any(|r| r.active && self.role_of(r) == Some(role));
                if !has_role {
                    return Some((
                        "role",
                        format!(
                            "routing rule {name:?} sends to role {:?} but no active rep has it",
                            role.as_str()
                        ),
                    ));
                }
            }
            RuleTarget::Team(team) if self.team(team).is_none() => {
                return Some((
                    "team",
                    format!(
                        "routing rule {name:?} sends to unknown team {:?}",
                        team.as_str()
                    ),
                ));
            }
            RuleTarget::Pool(pool) if self.pool(pool).is_none() => {
                return Some((
                    "pool",
                    format!("routing rule {name:?} sends to unknown pool {pool:?}"),
                ));
            }
            _ => {}
        }
        let mut problem = None;
        if let Some(when) = &rule.when {
            when.visit(&mut |clause| {
                if problem.is_none() {
                    problem = self.clause_problem(name, clause);
                }
            });
        }
        problem
    }

    /// A condition naming a territory or product line the rules do not have.
    fn clause_problem(
        &self,
        rule: &str,
        clause: &crate::routing::condition::Clause,
    ) -> Option<(&'static str, String)> {
        use crate::routing::condition::Clause;
        match clause {
            Clause::Territory(ids) => ids
                .values()
                .iter()
                .find(|id| !self.territories.iter().any(|t| &&t.id == id))
                .map(|id| {
                    (
                        "territory",
                        format!("routing rule {rule:?} names unknown territory {id:?}"),
                    )
                }),
            Clause::ProductLine(lines) if !self.org.product_lines.is_empty() => lines
                .values()
                .iter()
                .find(|l| !self.org.product_lines.contains_key(*l))
                .map(|l| {
                    (
                        "product_line",
                        format!("routing rule {rule:?} names unknown product line {l:?}"),
                    )
                }),
            _ => None,
        }
    }
}

impl Rules {
    /// What is wrong with `[judge]`: `(key, message)`.
    fn judge_problem(&self) -> Option<(&'static str, String)> {
        let j = &self.judge;
        if j.kind == JudgeKind::Bedrock && j.model().is_empty() {
            return Some((
                "kind",
                "[judge] kind = \"bedrock\" needs judge.model_id (the Bedrock model id, as the stack's JudgeModelId parameter)".into(),
            ));
        }
        if let Some(id) = j.model_id.as_deref() {
            let ok = id.trim().len() <= 256
                && id
                    .trim()
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.:/".contains(c));
            if !ok {
                return Some((
                    "model_id",
                    format!("judge.model_id {id:?} is not a Bedrock model id (letters, digits, - _ . : /)"),
                ));
            }
        }
        if j.timeout_ms == 0 || j.timeout_ms > JUDGE_TIMEOUT_MAX_MS {
            return Some((
                "timeout_ms",
                format!(
                    "judge.timeout_ms is {}; use 1 to {JUDGE_TIMEOUT_MAX_MS}",
                    j.timeout_ms
                ),
            ));
        }
        if !(j.cost_per_call_usd.is_finite() && j.cost_per_call_usd >= 0.0) {
            return Some((
                "cost_per_call_usd",
                "judge.cost_per_call_usd must be zero or more".into(),
            ));
        }
        if j.max_calls_per_day == Some(0) {
            return Some((
                "max_calls_per_day",
                "judge.max_calls_per_day is 0; leave it out for no limit, or set kind = \"none\" to ask no judge".into(),
            ));
        }
        None
    }

    /// What an operator should know before running these rules in the cloud, without making
    /// `rules push` refuse them: a Bedrock judge needs the stack deployed with the same
    /// `JudgeModelId`, or every call is denied (and the rules' classification stands).
    pub fn cloud_notes(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.judge.kind == JudgeKind::Bedrock {
            out.push(format!(
                "[judge] kind = \"bedrock\": deploy the stack with JudgeModelId={} (sam deploy --parameter-overrides), or the classify function may not call the model and every low-confidence case keeps the rules' classification",
                self.judge.model()
            ));
        }
        out
    }

    /// The external id an active rep lacks for the configured CRM or Slack: `(key, message)`.
    fn missing_external_id(&self, r: &Rep) -> Option<(&'static str, String)> {
        if !r.active {
            return None;
        }
        let blank = |v: &Option<String>| v.as_deref().is_none_or(|v| v.trim().is_empty());
        let id = r.id.as_str();
        if self.crm.kind == CrmKind::Hubspot && blank(&r.hubspot_owner_id) {
            return Some(("hubspot_owner_id", format!("rep {id:?} can be routed to but has no hubspot_owner_id, which [crm] kind = \"hubspot\" needs")));
        }
        if self.crm.kind == CrmKind::Salesforce && blank(&r.salesforce_user_id) {
            return Some(("salesforce_user_id", format!("rep {id:?} can be routed to but has no salesforce_user_id, which [crm] kind = \"salesforce\" needs")));
        }
        if self.notify.slack.is_some() && r.notify.starts_with("slack:@") && blank(&r.slack_user_id)
        {
            return Some((
                "slack_user_id",
                format!(
                    "rep {id:?} is notified on Slack ({}) but has no slack_user_id",
                    r.notify
                ),
            ));
        }
        None
    }

    /// What keeps these rules from working in the cloud (where the file CRM and the local log
    /// do not exist); `rules push` refuses rules with any.
    pub fn cloud_problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.crm.kind == CrmKind::File {
            out.push("[crm] kind = \"file\" works only in handoff serve; use \"hubspot\", \"salesforce\" or \"none\"".to_string());
        }
        let mut targets: Vec<(String, &str)> = self
            .reps
            .iter()
            .filter(|r| r.active)
            .map(|r| (format!("rep {:?}", r.id.as_str()), r.notify.as_str()))
            .collect();
        targets.push((
            "failover.shared_queue_notify".into(),
            self.failover.shared_queue_notify.as_str(),
        ));
        for t in &self.teams {
            if let Some(target) = &t.queue_notify {
                targets.push((format!("team {:?} queue_notify", t.id.as_str()), target));
            }
        }
        for (who, target) in targets {
            let missing = match NotifyChannel::of(target) {
                Some(NotifyChannel::Slack) if self.notify.slack.is_none() => Some("[notify.slack]"),
                Some(NotifyChannel::Email) if self.notify.email.is_none() => Some("[notify.email]"),
                Some(NotifyChannel::Webhook) if self.notify.webhook.is_none() => {
                    Some("[notify.webhook]")
                }
                _ => None,
            };
            if let Some(table) = missing {
                out.push(format!(
                    "{who} is notified by {target:?} but the rules have no {table}"
                ));
            }
        }
        out
    }
}

/// The channel a notification target names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyChannel {
    Slack,
    Email,
    Webhook,
    /// The CRM task is the notification.
    CrmTask,
}

impl NotifyChannel {
    /// The channel of a valid target.
    pub fn of(target: &str) -> Option<Self> {
        match target.split_once(':') {
            Some(("slack", _)) => Some(NotifyChannel::Slack),
            Some(("email", _)) => Some(NotifyChannel::Email),
            None if target == "webhook" => Some(NotifyChannel::Webhook),
            None if target == "crm_task" => Some(NotifyChannel::CrmTask),
            _ => None,
        }
    }
}

/// Whether a notification target is one we can deliver to.
pub fn valid_notify(target: &str) -> bool {
    match target.split_once(':') {
        Some(("slack", rest)) => (rest.starts_with('@') || rest.starts_with('#')) && rest.len() > 1,
        Some(("email", rest)) => crate::ids::EmailAddress::parse(rest).is_ok(),
        None => target == "crm_task" || target == "webhook",
        _ => false,
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, column)
}

/// The line of `key` inside the `index`-th `[[table]]` entry (its sub-tables included), else
/// the entry's `[[table]]` line; `None` when the array is not written with `[[table]]` headers.
pub fn entry_line(text: &str, table: &str, index: usize, key: Option<&str>) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let header = format!("[[{table}]]");
    let is_header = |l: &str| {
        let code = l.split('#').next().unwrap_or_default();
        code.chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            == header
    };
    let start = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| is_header(l))
        .nth(index)?
        .0;
    let inside = |l: &str| {
        let t = l.trim_start();
        !t.starts_with('[')
            || t.starts_with(&format!("[{table}."))
            || t.starts_with(&format!("[[{table}."))
    };
    let end = lines[start + 1..]
        .iter()
        .position(|l| !inside(l))
        .map_or(lines.len(), |i| start + 1 + i);
    let assigns = |l: &str| {
        let t = l.trim_start();
        key.is_some_and(|k| {
            t.strip_prefix(k)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
                || t.contains(&format!(" {k} ="))
                || t.contains(&format!("{{{k} ="))
                || t.starts_with(&format!("[{table}.{k}]"))
        })
    };
    let found = (start..end).find(|&i| assigns(lines[i]));
    Some(found.unwrap_or(start) + 1)
}

/// The line that assigns `key` (`key =` or `[key]`), preferring one that holds a value quoted in
/// `message` (the offending one, named last); else 1.
fn line_of_key(text: &str, key: &str, message: &str) -> usize {
    let last = key.rsplit('.').next().unwrap_or(key);
    let assigns = |l: &str| {
        let t = l.trim_start();
        t.strip_prefix(last)
            .is_some_and(|rest| rest.trim_start().starts_with('='))
            || t.starts_with(&format!("[{last}]"))
            || t.starts_with(&format!("[[{last}]]"))
            || t.contains(&format!(" {last} ="))
    };
    let quoted: Vec<&str> = message.split('"').skip(1).step_by(2).collect();
    let lines: Vec<&str> = text.lines().collect();
    for needle in quoted.iter().rev() {
        if let Some(i) = lines
            .iter()
            .position(|l| assigns(l) && l.contains(&format!("\"{needle}\"")))
        {
            return i + 1;
        }
    }
    lines
        .iter()
        .position(|l| assigns(l))
        .map(|i| i + 1)
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_error_names_file_line_and_column() {
        let e = Rules::from_toml("x.toml", "[org]\nname = 1\n").unwrap_err();
        match e {
            RulesError::Parse { file, line, .. } => {
                assert_eq!(file, "x.toml");
                assert_eq!(line, 2);
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn notify_targets() {
        assert!(valid_notify("slack:@lena"));
        assert!(valid_notify("slack:#emea"));
        assert!(valid_notify("email:lena@x.io"));
        assert!(valid_notify("crm_task"));
        assert!(!valid_notify("slack:lena"));
        assert!(!valid_notify("pager:lena"));
    }

    #[test]
    fn segments() {
        let b = SegmentBounds::default();
        assert_eq!(b.segment_of(10), Segment::Smb);
        assert_eq!(b.segment_of(201), Segment::MidMarket);
        assert_eq!(b.segment_of(5000), Segment::Enterprise);
    }
}

#[cfg(test)]
mod example_tests {
    use super::*;

    #[test]
    fn the_shipped_example_loads() {
        let text = include_str!("../../../examples/handoff.toml");
        let rules = Rules::from_toml("examples/handoff.toml", text).unwrap();
        assert!(rules.reps.len() >= 8);
        assert_eq!(rules.territories.len(), 2);
    }

    fn with_judge(block: &str) -> Result<Rules, RulesError> {
        let text = format!(
            "{}\n{block}\n",
            include_str!("../../../examples/handoff.toml")
        );
        Rules::from_toml("f.toml", &text)
    }

    #[test]
    fn the_judge_is_off_by_default() {
        let rules = with_judge("").unwrap();
        assert_eq!(rules.judge, JudgeSettings::default());
        assert!(!rules.judge.enabled());
        assert_eq!(rules.judge.timeout_ms, 3000);
        assert!(rules.cloud_notes().is_empty());
    }

    #[test]
    fn a_bedrock_judge_reads_its_keys() {
        let rules = with_judge(
            "[judge]\nkind = \"bedrock\"\nmodel_id = \"anthropic.claude-3-haiku-20240307-v1:0\"\ncost_per_call_usd = 0.0004\ntimeout_ms = 2500\nmax_calls_per_day = 500",
        )
        .unwrap();
        let j = &rules.judge;
        assert_eq!(j.kind, JudgeKind::Bedrock);
        assert_eq!(j.model(), "anthropic.claude-3-haiku-20240307-v1:0");
        assert_eq!(j.cost_per_call_usd, 0.0004);
        assert_eq!(j.timeout_ms, 2500);
        assert_eq!(j.max_calls_per_day, Some(500));
        let notes = rules.cloud_notes();
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0].contains("JudgeModelId=anthropic.claude-3-haiku-20240307-v1:0"),
            "{notes:?}"
        );
        assert!(
            !rules.cloud_problems().iter().any(|p| p.contains("judge")),
            "a judge is a note, never a reason to refuse the rules"
        );
    }

    #[test]
    fn a_bad_judge_is_refused_naming_the_key() {
        for (block, key, says) in [
            (
                "[judge]\nkind = \"bedrock\"",
                "kind",
                "needs judge.model_id",
            ),
            (
                "[judge]\nkind = \"bedrock\"\nmodel_id = \" \"",
                "kind",
                "needs judge.model_id",
            ),
            (
                "[judge]\nmodel_id = \"a model\"",
                "model_id",
                "is not a Bedrock model id",
            ),
            ("[judge]\ntimeout_ms = 0", "timeout_ms", "use 1 to 5000"),
            ("[judge]\ntimeout_ms = 60000", "timeout_ms", "use 1 to 5000"),
            (
                "[judge]\ncost_per_call_usd = -1.0",
                "cost_per_call_usd",
                "zero or more",
            ),
            (
                "[judge]\nmax_calls_per_day = 0",
                "max_calls_per_day",
                "leave it out",
            ),
        ] {
            match with_judge(block).unwrap_err() {
                RulesError::Invalid {
                    key: k, message, ..
                } => {
                    assert_eq!(k, key, "{block}");
                    assert!(message.contains(says), "{block}: {message}");
                }
                other => panic!("{block}: {other}"),
            }
        }
        let e = with_judge("[judge]\nkind = \"openai\"").unwrap_err();
        assert!(matches!(e, RulesError::Parse { .. }), "{e}");
        let e = with_judge("[judge]\nmodel = \"x\"").unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
    }

    #[test]
    fn invalid_reference_names_line_and_key() {
        let text = include_str!("../../../examples/handoff.toml").replace(
            "team = \"deal-desk\"\ntimezone = \"America/New_York\"",
            "team = \"nope\"\ntimezone = \"America/New_York\"",
        );
        let e = Rules::from_toml("f.toml", &text).unwrap_err().to_string();
        assert!(e.starts_with("f.toml:"), "{e}");
        assert!(e.contains("unknown team \"nope\""), "{e}");
        let line = text.lines().position(|l| l == "team = \"nope\"").unwrap() + 1;
        assert!(e.starts_with(&format!("f.toml:{line}: team:")), "{e}");
    }
}
