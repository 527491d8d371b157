//! `handoff`: run the sales-handoff pipeline locally, classify events, check rules.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use handoff_cli::runtime::RulesChoice;
use handoff_cli::{bench, classify_cmd, demo, erase_cmd, eval_cmd, provider_cmd, rules_cmd, serve};
use std::path::PathBuf;
use std::process::ExitCode;

mod audit_cmd;
mod dlq_cmd;
mod rep_cmd;

#[derive(Parser)]
#[command(
    name = "handoff",
    version,
    about = "Sales handoff engine: when to escalate, who owns it, what goes into the CRM, what happens if nobody acts."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole pipeline on 127.0.0.1 (HTTP intake + claims, stage workers, failover sweep).
    Serve {
        /// Rules and roster TOML (default: the embedded examples/handoff.toml).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Where the store, queues, CRM files and notifications live.
        #[arg(long, default_value = ".handoff")]
        data: PathBuf,
        /// Port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Seconds between failover sweeps.
        #[arg(long, default_value_t = 60)]
        sweep_every: u64,
        /// Tests only: start a manual clock at this RFC 3339 time and expose /v1/test/clock and /v1/test/sweep.
        #[arg(long)]
        test_clock: Option<chrono::DateTime<chrono::Utc>>,
        /// Most connections open at once; more wait to be accepted. Lowered to fit the
        /// open-file limit (ulimit -n).
        #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
        max_connections: u32,
        /// Seconds a client has to send a request's headers, on a new connection or between
        /// requests on a kept-alive one, before it is disconnected.
        #[arg(long, default_value = "10", value_parser = serve::parse_seconds)]
        header_timeout: std::time::Duration,
        /// Seconds a shutdown (Ctrl-C, SIGTERM) waits for requests in flight before cutting them.
        #[arg(long, default_value = "10", value_parser = serve::parse_seconds)]
        shutdown_grace: std::time::Duration,
    },
    /// Run realistic events through the real pipeline on a temporary store and print each handoff.
    Demo {
        #[arg(long)]
        config: Option<PathBuf>,
        /// Keep the data (CRM files, notifications) in this directory instead of a temporary one.
        #[arg(long)]
        keep: Option<PathBuf>,
    },
    /// Print the handoff package for one event as JSON (no signature check, no side effects).
    Classify {
        #[arg(long)]
        config: Option<PathBuf>,
        /// Parse a raw provider payload instead of a canonical event: typeform, tally, hubspot,
        /// agent, postmark, mailgun, sendgrid, calendly or calcom.
        #[arg(long)]
        source: Option<String>,
        /// The payload's content type (multipart bodies need theirs, with the boundary:
        /// `multipart/form-data; boundary=xYzZY`). Default: the provider's usual one.
        #[arg(long)]
        content_type: Option<String>,
        /// The event or payload file, or - for standard input.
        #[arg(default_value = "-")]
        input: String,
    },
    /// Sign a provider payload as the provider would (secret from HANDOFF_SECRET_<PROVIDER>) and
    /// print a curl config: `handoff sign --provider typeform FILE | curl -K -`.
    Sign {
        /// typeform, tally, hubspot, agent, postmark, mailgun, sendgrid, calendly or calcom.
        #[arg(long)]
        provider: String,
        /// Where to post it (default: the provider's route on a local `handoff serve`).
        #[arg(long)]
        url: Option<String>,
        /// The payload's content type (default: the provider's usual one).
        #[arg(long)]
        content_type: Option<String>,
        /// The payload file, or - for standard input.
        #[arg(default_value = "-")]
        input: String,
    },
    /// Describe what agents post (`events schema` prints its JSON Schema).
    Events {
        #[command(subcommand)]
        command: EventsCommand,
    },
    /// Validate or describe rules files.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Measure the classifier on the labelled corpus: per-label precision and recall, the
    /// reply-class confusion matrix, escalate, flag and lane figures, and every miss.
    Eval {
        /// Which rows: `heldout` (never tuned on), `tune`, or `all`.
        #[arg(long, value_enum, default_value = "heldout")]
        split: eval_cmd::Split,
        /// The corpus directory (`*.jsonl`, format in tests/corpus/README.md).
        #[arg(long, default_value = "tests/corpus")]
        corpus: PathBuf,
        #[arg(long)]
        config: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Which judging the per-label scores, confusion matrix and misses are for.
        #[arg(long, value_enum, default_value = "combined")]
        detail: eval_cmd::Detail,
        /// Measure with this reply model file instead of the one built in.
        #[arg(long, conflicts_with = "train")]
        model: Option<PathBuf>,
        /// Train the reply model on the tuning split and write it (to --model-out).
        #[arg(long)]
        train: bool,
        /// Where --train writes the model.
        #[arg(long, default_value = eval_cmd::MODEL_FILE, requires = "train")]
        model_out: PathBuf,
    },
    /// The audit of a period (local data directory, or a deployed table with --table): the six
    /// metrics inbound and outbound, per rep, rule, source and trigger, the trend against the
    /// period before and the cases to read by hand. JSON on stdout, or --json / --html files.
    Audit {
        /// How far back (7d, 36h, 2w).
        #[arg(long, default_value = "7d", value_parser = handoff_cli::simulate_cmd::parse_since)]
        since: chrono::Duration,
        /// The same as --since Nd (kept for scripts written before --since).
        #[arg(long, conflicts_with = "since", value_parser = clap::value_parser!(i64).range(1..))]
        days: Option<i64>,
        /// The rules of a local store, for the reps' names and caps (default: the embedded
        /// examples/handoff.toml; a table uses its current rules).
        #[arg(long)]
        config: Option<PathBuf>,
        #[command(flatten)]
        target: Target,
        /// Write the report as an HTML page (self-contained: open it from disk or send it).
        #[arg(long)]
        html: Option<PathBuf>,
        /// Write the report as JSON instead of printing it.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Link the page's handoffs to this console (`handoff serve`'s address, e.g.
        /// http://127.0.0.1:8080): <URL>/handoffs/<id>.
        #[arg(long)]
        console_url: Option<String>,
    },
    /// What if the rules changed: replay the recorded handoffs of a period (or one handoff)
    /// through a new rules file without writing anything, and report owner changes, loads
    /// against caps, moved SLA deadlines, rules never matched and queue fall-throughs.
    Simulate {
        /// The new rules file.
        #[arg(long)]
        rules: PathBuf,
        /// How far back (7d, 36h, 2w); with --handoff, the context replayed before it.
        #[arg(long, default_value = "7d", value_parser = handoff_cli::simulate_cmd::parse_since)]
        since: chrono::Duration,
        /// Replay one handoff and show its current and new routing layer by layer.
        #[arg(long)]
        handoff: Option<String>,
        /// The current rules of a local store (default: the embedded examples/handoff.toml).
        #[arg(long)]
        config: Option<PathBuf>,
        #[command(flatten)]
        target: Target,
        /// Also write the page (owner changes, loads against caps, traces side by side).
        #[arg(long)]
        html: Option<PathBuf>,
        /// Also write the report as JSON.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Change or list reps' availability without a redeploy or a rules change, by the clock
    /// routing runs on.
    Rep {
        #[command(subcommand)]
        command: rep_cmd::RepCommand,
    },
    /// Erase a buyer's personal data (GDPR/CCPA deletion request): their handoffs, timelines,
    /// index entries and outbound threads (locally also queued messages, CRM files and
    /// notification log lines naming them). Prints what it removed. Stop `handoff serve` on the
    /// same data directory first.
    Erase {
        /// The buyer's email address.
        #[arg(long)]
        email: String,
        #[command(flatten)]
        target: Target,
        /// With --table: the stage queues' name prefix, to count the dead letters SQS still holds.
        #[arg(long)]
        queue_prefix: Option<String>,
    },
    /// The stages' dead-letter queues: list them with the reason each message ended there,
    /// show one, or move them back once the cause is fixed (a local data directory, or a
    /// deployment's queues with --queue-prefix).
    Dlq {
        #[command(subcommand)]
        command: dlq_cmd::DlqCommand,
    },
    /// Measure local pipeline throughput.
    Bench {
        #[arg(long, default_value_t = 1000)]
        events: usize,
    },
}

#[derive(Subcommand)]
enum EventsCommand {
    /// Print the JSON Schema of canonical events and outbound threads (docs/events.schema.json).
    Schema,
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Validate a rules file and summarise its teams and layers.
    Check { file: String },
    /// Print the JSON Schema of the rules format.
    Schema,
    /// Validate a rules file and store it as the next version in the DynamoDB table (build with --features aws).
    Push {
        file: String,
        #[arg(long)]
        table: String,
        #[command(flatten)]
        aws: AwsArgs,
    },
}

/// Where an operator command acts: a local data directory, or a DynamoDB table.
#[derive(clap::Args)]
struct Target {
    #[arg(long, default_value = ".handoff")]
    data: PathBuf,
    /// The deployed table (build with --features aws).
    #[arg(long)]
    table: Option<String>,
    #[command(flatten)]
    aws: AwsArgs,
}

/// The AWS account and region of a command on a deployed table (`--table`). Unset, the SDK's
/// usual sources apply; no region anywhere is an error, never a guessed `us-east-1`.
#[derive(clap::Args)]
struct AwsArgs {
    /// AWS profile in ~/.aws/config: static keys, IAM Identity Center (after `aws sso login`),
    /// credential_process, role_arn (default: AWS_PROFILE, else "default").
    #[arg(long)]
    profile: Option<String>,
    /// AWS region (default: AWS_REGION or AWS_DEFAULT_REGION, else the profile's region).
    #[arg(long)]
    region: Option<String>,
}

/// Logs to stderr at `HANDOFF_LOG` (default `warn`). By default the AWS SDK's own warnings are
/// left out: an operator command that cannot reach AWS says why in one clear error of its own.
fn init_logging() {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let chosen = std::env::var("HANDOFF_LOG")
        .ok()
        .and_then(|v| v.trim().parse::<LevelFilter>().ok());
    let level = chosen.unwrap_or(LevelFilter::WARN);
    let sdk = if chosen.is_some() {
        level
    } else {
        LevelFilter::ERROR
    };
    let filter = Targets::new()
        .with_default(level)
        .with_target("aws_config", sdk)
        .with_target("aws_smithy_runtime", sdk)
        .with_target("aws_runtime", sdk);
    let _ = tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(filter)
        .try_init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<()> {
    match command {
        Command::Serve {
            config,
            data,
            port,
            sweep_every,
            test_clock,
            max_connections,
            header_timeout,
            shutdown_grace,
        } => {
            let rules = RulesChoice::from_arg(config);
            rules.load()?;
            serve::run(serve::ServeOptions {
                rules,
                data_dir: data,
                port,
                sweep_every: std::time::Duration::from_secs(sweep_every.max(1)),
                test_clock,
                limits: serve::ConnectionLimits {
                    max_connections: max_connections as usize,
                    header_timeout,
                    shutdown_grace,
                },
            })
            .await
        }
        Command::Demo { config, keep } => {
            let rules = RulesChoice::from_arg(config);
            rules.load()?;
            emit(&demo::run(rules, keep).await?)?;
            Ok(())
        }
        Command::Classify {
            config,
            source,
            content_type,
            input,
        } => {
            let rules = RulesChoice::from_arg(config).load()?;
            let events = match source {
                None => vec![classify_cmd::read_event(&input)?],
                Some(name) => {
                    let provider = provider_cmd::provider(&name)?;
                    let content_type =
                        provider_cmd::content_type_for(provider, content_type.as_deref());
                    let shown = if input == "-" { "<stdin>" } else { &input };
                    provider_cmd::parse_payload(
                        provider,
                        &content_type,
                        provider_cmd::read_input(&input)?,
                        shown,
                    )?
                }
            };
            let packages: Vec<_> = events
                .iter()
                .map(|e| classify_cmd::package_for(e, &rules))
                .collect();
            match packages.as_slice() {
                [one] => emit(&format!("{}\n", serde_json::to_string_pretty(one)?))?,
                many => emit(&format!("{}\n", serde_json::to_string_pretty(many)?))?,
            }
            Ok(())
        }
        Command::Sign {
            provider,
            url,
            content_type,
            input,
        } => {
            let provider = provider_cmd::provider(&provider)?;
            let variable = handoff_connectors::secrets::env_var(provider.name());
            let secrets = std::env::var(&variable)
                .ok()
                .and_then(|v| handoff_connectors::Secrets::parse(&v))
                .with_context(|| format!("set {variable} to the secret to sign with (the same value `handoff serve` verifies)"))?;
            let url = url.unwrap_or_else(|| format!("http://127.0.0.1:8080{}", provider.path()));
            let content_type = provider_cmd::content_type_for(provider, content_type.as_deref());
            emit(&provider_cmd::sign_as_curl_config(
                provider,
                secrets.current(),
                &url,
                &content_type,
                provider_cmd::read_input(&input)?,
            )?)
        }
        Command::Events {
            command: EventsCommand::Schema,
        } => {
            emit(&format!("{}\n", provider_cmd::events_schema()))?;
            Ok(())
        }
        Command::Rules { command } => match command {
            RulesCommand::Check { file } => {
                emit(&rules_cmd::check(&file)?)?;
                Ok(())
            }
            RulesCommand::Schema => {
                emit(&format!("{}\n", rules_cmd::schema()))?;
                Ok(())
            }
            RulesCommand::Push { file, table, aws } => push_rules(&file, &table, &aws).await,
        },
        Command::Rep { command } => rep_cmd::run(command).await,
        Command::Simulate {
            rules,
            since,
            handoff,
            config,
            target,
            html,
            json,
        } => emit(
            &handoff_cli::simulate_cmd::run(handoff_cli::simulate_cmd::SimulateOptions {
                rules,
                config,
                since,
                handoff,
                data_dir: target.data,
                table: target.table,
                profile: target.aws.profile,
                region: target.aws.region,
                html,
                json,
            })
            .await?,
        ),
        Command::Dlq { command } => emit(&dlq_cmd::run(command).await?),
        Command::Eval {
            split,
            corpus,
            config,
            json,
            detail,
            model,
            train,
            model_out,
        } => {
            let rules = RulesChoice::from_arg(config).load()?;
            if train {
                emit(&eval_cmd::train_command(&corpus, &rules, &model_out)?)?;
            } else {
                let report =
                    eval_cmd::command(&corpus, split, &rules, model.as_deref(), detail, json)?;
                emit(&report)?;
            }
            Ok(())
        }
        Command::Audit {
            since,
            days,
            config,
            target,
            html,
            json,
            console_url,
        } => emit(
            &audit_cmd::run(audit_cmd::AuditOptions {
                since: days.map_or(since, chrono::Duration::days),
                data_dir: target.data,
                config,
                table: target.table,
                profile: target.aws.profile,
                region: target.aws.region,
                html,
                json,
                console_url,
            })
            .await?,
        ),
        Command::Erase {
            email,
            target,
            queue_prefix,
        } => emit(
            &erase_cmd::run(erase_cmd::EraseOptions {
                email,
                data_dir: target.data,
                table: target.table,
                profile: target.aws.profile,
                region: target.aws.region,
                queue_prefix,
            })
            .await?,
        ),
        Command::Bench { events } => {
            emit(&bench::run(events).await?)?;
            Ok(())
        }
    }
}

#[cfg(feature = "aws")]
async fn push_rules(file: &str, table: &str, aws: &AwsArgs) -> Result<()> {
    let version = handoff_cli::cloud_cmd::push_rules(
        file,
        table,
        aws.profile.as_deref(),
        aws.region.as_deref(),
    )
    .await?;
    emit(&format!(
        "{file}: valid; stored as rules version {version} in {table}\n"
    ))
}

#[cfg(not(feature = "aws"))]
async fn push_rules(_file: &str, _table: &str, _aws: &AwsArgs) -> Result<()> {
    anyhow::bail!(
        "this build has no AWS support: run `cargo run --release --features aws -- rules push ...`"
    )
}

/// Writes a command's output to stdout; every output path goes through it. A reader that went
/// away (`handoff classify … | head`) ends the output quietly instead of with a panic
/// ([`handoff_cli::output::emit`]).
fn emit(text: &str) -> Result<()> {
    Ok(handoff_cli::output::emit(text)?)
}
