//! `handoff rep away|back|list`: a rep's availability at run time, judged by the server's clock.
//!
//! An override without `--from` takes effect at once *by the clock routing runs on*, and
//! `--until` is checked against that clock too. Against a local data directory that is the test
//! clock of a `handoff serve --test-clock` running on it (read from the file the server keeps
//! there, [`serve::TEST_CLOCK_FILE`]), else the wall clock; against a deployed table
//! (`--table`) it is the real clock. The same clock stamps `set_at`, so overrides stay ordered
//! the way routing orders them.
//!
//! The rep must be in the rules in force: `--config FILE` or the embedded example locally (as
//! `serve` loads them), the table's current rules with `--table`. `rep list` words every rep's
//! availability with the routing module's own assessment
//! ([`handoff_domain::routing::availability_report`]).

use crate::{AwsArgs, Target};
use anyhow::{Context, Result};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::Subcommand;
use handoff_cli::runtime::RulesChoice;
use handoff_cli::serve;
use handoff_domain::config::Rules;
use handoff_domain::ids::RepId;
use handoff_domain::ports::{AvailabilityOverride, HandoffStore};
use handoff_domain::routing::{availability_report, RepAvailability};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Subcommand)]
pub(crate) enum RepCommand {
    /// Mark a rep away: now (by the server's clock) or from a time, until a time or until
    /// `rep back`.
    Away {
        rep: String,
        /// RFC 3339 time the absence starts (default: now, by the clock routing runs on).
        #[arg(long, value_parser = rfc3339)]
        from: Option<DateTime<Utc>>,
        /// RFC 3339 time the absence ends (default: when `rep back` is run).
        #[arg(long, value_parser = rfc3339)]
        until: Option<DateTime<Utc>>,
        /// Why, in a few words ("dentist", "offsite"); shown by `rep list`.
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        place: Place,
    },
    /// Mark a rep available again now (also cancels configured time off for today).
    Back {
        rep: String,
        /// Why, in a few words.
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        place: Place,
    },
    /// Every rep's availability now, by team: available, off shift, away, out of office,
    /// inactive or at the daily cap; today's load against the cap; the next working hours.
    List {
        /// Print the list as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        place: Place,
    },
}

/// Where the reps are: a local data directory (with its rules) or a deployed table.
#[derive(clap::Args)]
pub(crate) struct Place {
    #[command(flatten)]
    target: Target,
    /// Rules and roster TOML of a local data directory (default: the embedded
    /// examples/handoff.toml); with --table the table's current rules apply.
    #[arg(long)]
    config: Option<PathBuf>,
}

fn rfc3339(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{e}; expected an RFC 3339 time such as 2026-06-03T12:00:00Z"))
}

/// Runs one `rep` command.
pub(crate) async fn run(command: RepCommand) -> Result<()> {
    match command {
        RepCommand::Away {
            rep,
            from,
            until,
            reason,
            place,
        } => {
            if let (Some(from), Some(until)) = (from, until) {
                anyhow::ensure!(
                    until > from,
                    "--until {} is not after --from {}: the absence would never be in force",
                    until.to_rfc3339_opts(SecondsFormat::Secs, true),
                    from.to_rfc3339_opts(SecondsFormat::Secs, true)
                );
            }
            let opened = Opened::at(&place).await?;
            let rep = opened.known_rep(&rep)?;
            if let Some(until) = until {
                anyhow::ensure!(
                    until > opened.now,
                    "--until {} is already past by {} ({})",
                    until.to_rfc3339_opts(SecondsFormat::Secs, true),
                    opened.clock,
                    opened.now.to_rfc3339_opts(SecondsFormat::Secs, true)
                );
            }
            let value = AvailabilityOverride {
                rep,
                available: false,
                from,
                until,
                reason: clean(reason),
                set_at: opened.now,
            };
            opened.save(&value).await?;
            crate::emit(&format!("{}\n", confirmation(&value)))
        }
        RepCommand::Back { rep, reason, place } => {
            let opened = Opened::at(&place).await?;
            let value = AvailabilityOverride {
                rep: opened.known_rep(&rep)?,
                available: true,
                from: None,
                until: None,
                reason: clean(reason),
                set_at: opened.now,
            };
            opened.save(&value).await?;
            crate::emit(&format!("{}\n", confirmation(&value)))
        }
        RepCommand::List { json, place } => {
            let opened = Opened::at(&place).await?;
            let report = opened.report().await?;
            let text = if json {
                format!(
                    "{}\n",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "now": opened.now,
                        "clock": opened.clock,
                        "reps": report,
                    }))?
                )
            } else {
                list_text(&opened.rules, &report, opened.now, &opened.clock)
            };
            crate::emit(&text)
        }
    }
}

fn clean(reason: Option<String>) -> Option<String> {
    reason
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
}

/// "lena: away until 2026-06-03T12:00:00Z (dentist)", "lena: available".
fn confirmation(value: &AvailabilityOverride) -> String {
    let mut line = format!(
        "{}: {}",
        value.rep,
        if value.available { "available" } else { "away" }
    );
    if let Some(from) = value.from {
        line.push_str(&format!(
            " from {}",
            from.to_rfc3339_opts(SecondsFormat::Secs, true)
        ));
    }
    if let Some(until) = value.until {
        line.push_str(&format!(
            " until {}",
            until.to_rfc3339_opts(SecondsFormat::Secs, true)
        ));
    }
    if let Some(reason) = &value.reason {
        line.push_str(&format!(" ({reason})"));
    }
    line
}

/// The rules, the clock and the store of the place a `rep` command acts on.
struct Opened {
    rules: Rules,
    /// Where the rules come from, for messages ("the embedded examples/handoff.toml").
    rules_from: String,
    /// Now by the clock routing runs on there.
    now: DateTime<Utc>,
    /// Which clock `now` is, in words ("the wall clock").
    clock: String,
    store: Arc<dyn HandoffStore>,
    /// Where the overrides are stored, for messages.
    place: String,
}

impl Opened {
    async fn at(place: &Place) -> Result<Self> {
        match &place.target.table {
            Some(table) => {
                anyhow::ensure!(
                    place.config.is_none(),
                    "--config applies to a local data directory; with --table the table's current rules apply (`handoff rules push` changes them)"
                );
                Self::table(table, &place.target.aws).await
            }
            None => Self::local(&place.target, place.config.clone()),
        }
    }

    fn local(target: &Target, config: Option<PathBuf>) -> Result<Self> {
        anyhow::ensure!(
            target.aws.profile.is_none() && target.aws.region.is_none(),
            "--profile and --region apply to a deployed table: add --table"
        );
        let data = &target.data;
        let rules_from = match &config {
            Some(path) => path.display().to_string(),
            None => "the embedded examples/handoff.toml".to_string(),
        };
        let rules = RulesChoice::from_arg(config).load()?;
        let path = data.join("handoff.sqlite");
        anyhow::ensure!(
            path.exists(),
            "no local store in {} (run `handoff serve` first)",
            data.display()
        );
        let (now, clock) = local_clock(data)?;
        let store =
            handoff_local::SqliteStore::open(&path).context("cannot open the local store")?;
        Ok(Self {
            rules,
            rules_from,
            now,
            clock,
            store: Arc::new(store),
            place: format!("the local store in {}", data.display()),
        })
    }

    #[cfg(feature = "aws")]
    async fn table(table: &str, aws: &AwsArgs) -> Result<Self> {
        use handoff_domain::ports::RulesSource;
        let sdk = handoff_cli::cloud_cmd::sdk_config(aws.profile.as_deref(), aws.region.as_deref())
            .await?;
        let client = handoff_aws::config::dynamodb_client(&sdk);
        let rules = handoff_aws::DynamoRules::new(client.clone(), table)
            .current()
            .await
            .with_context(|| format!("cannot read the current rules of {table}"))?;
        Ok(Self {
            rules: (*rules).clone(),
            rules_from: format!("the current rules of {table}"),
            now: Utc::now(),
            clock: "the real clock".into(),
            store: Arc::new(handoff_aws::DynamoStore::new(client, table)),
            place: table.to_string(),
        })
    }

    #[cfg(not(feature = "aws"))]
    async fn table(_table: &str, _aws: &AwsArgs) -> Result<Self> {
        anyhow::bail!("this build has no AWS support: add --features aws")
    }

    /// The rep's id, if the rules in force have them.
    fn known_rep(&self, rep: &str) -> Result<RepId> {
        let known = || {
            self.rules
                .reps
                .iter()
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let id = RepId::parse(rep)
            .map_err(|e| anyhow::anyhow!("{e}; the reps are {}", known()))
            .with_context(|| format!("unknown rep `{rep}`"))?;
        anyhow::ensure!(
            self.rules.reps.iter().any(|r| r.id == id),
            "unknown rep `{rep}`: the rules in force ({}) have {}",
            self.rules_from,
            known()
        );
        Ok(id)
    }

    async fn save(&self, value: &AvailabilityOverride) -> Result<()> {
        self.store
            .set_availability(value)
            .await
            .with_context(|| format!("cannot store the availability override in {}", self.place))
    }

    /// Every rep's availability now, with today's loads (each rep's local day).
    async fn report(&self) -> Result<Vec<RepAvailability>> {
        let wanted: Vec<_> = self
            .rules
            .reps
            .iter()
            .map(|r| {
                (
                    r.id.clone(),
                    self.now.with_timezone(&r.timezone).date_naive(),
                )
            })
            .collect();
        let counts = self
            .store
            .rep_loads(&wanted)
            .await
            .with_context(|| format!("cannot read today's loads from {}", self.place))?;
        let loads: BTreeMap<RepId, u32> =
            wanted.into_iter().map(|(rep, _)| rep).zip(counts).collect();
        let overrides = self.store.availability().await.with_context(|| {
            format!("cannot read the availability overrides from {}", self.place)
        })?;
        Ok(availability_report(
            &self.rules,
            self.now,
            &loads,
            &overrides,
        ))
    }
}

/// Now by the clock of the server on `data`: its test clock when a `serve --test-clock` keeps
/// one there (said on stderr), else the wall clock.
fn local_clock(data: &Path) -> Result<(DateTime<Utc>, String)> {
    match serve::read_test_clock(data)? {
        Some(now) => {
            eprintln!(
                "using the test clock of the server on {}: {}",
                data.display(),
                now.to_rfc3339_opts(SecondsFormat::Secs, true)
            );
            Ok((
                now,
                format!("the test clock of the server on {}", data.display()),
            ))
        }
        None => Ok((Utc::now(), "the wall clock".into())),
    }
}

/// One line per rep, grouped by team in the rules' order, columns aligned.
fn list_text(rules: &Rules, report: &[RepAvailability], now: DateTime<Utc>, clock: &str) -> String {
    let rows: Vec<[String; 5]> = report
        .iter()
        .map(|r| {
            let mut name = r.name.clone();
            let mut marks = Vec::new();
            if r.leads.contains(&r.team) {
                marks.push("team lead");
            }
            if r.failover_only {
                marks.push("failover only");
            }
            if !marks.is_empty() {
                name.push_str(&format!(" ({})", marks.join(", ")));
            }
            [
                r.rep.to_string(),
                name,
                r.availability_text.clone(),
                format!("{}/{} today", r.load, r.daily_cap),
                r.shift_text.clone(),
            ]
        })
        .collect();
    let mut widths = [0usize; 4];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |row: &[String; 5]| {
        format!(
            "  {:<w0$}  {:<w1$}  {:<w2$}  {:>w3$}  {}\n",
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3],
        )
    };
    let mut out = format!(
        "reps at {} ({clock})\n",
        now.format("%a %-d %b %Y %H:%M UTC")
    );
    let mut listed = vec![false; report.len()];
    let mut group =
        |title: String, members: &dyn Fn(&RepAvailability) -> bool, out: &mut String| {
            let indices: Vec<usize> = (0..report.len())
                .filter(|&i| !listed[i] && members(&report[i]))
                .collect();
            if indices.is_empty() {
                return;
            }
            out.push_str(&format!("\n{title}\n"));
            for i in indices {
                listed[i] = true;
                out.push_str(&line(&rows[i]));
            }
        };
    for team in &rules.teams {
        let lead = team
            .lead
            .as_ref()
            .map(|id| {
                let name = rules
                    .reps
                    .iter()
                    .find(|r| &r.id == id)
                    .map_or(id.as_str(), |r| r.name.as_str());
                format!(", lead {name}")
            })
            .unwrap_or_default();
        group(
            format!("{}: {}{lead}", team.id, team.name),
            &|r: &RepAvailability| r.team == team.id,
            &mut out,
        );
    }
    group("other reps".into(), &|_: &RepAvailability| true, &mut out);
    out
}
