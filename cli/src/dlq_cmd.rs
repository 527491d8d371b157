//! `handoff dlq list|show|redrive`: the dead-letter queues of the stages, for an operator.
//!
//! `list` prints one line per dead letter (stage, handoff, when, receives, id, reason); `show`
//! prints one dead letter with its body; `redrive` moves dead letters back to their stage's
//! queue once the cause is fixed — all of a stage, or those of one handoff (`--id`) — through
//! [`StageQueue::redrive`], so each is worked again with a fresh receive count.
//!
//! The queues are those of a local data directory (`--data`, the default `.handoff`; safe while
//! `handoff serve` runs on it) or of a deployment (`--queue-prefix`, the stack output
//! `QueuePrefix`, with `--profile` / `--region`; build with `--features aws`). On SQS the
//! redrive receives, resends and then deletes each message: a crash in between leaves a
//! duplicate on the stage queue, which the stages tolerate because they are idempotent.

use crate::AwsArgs;
use anyhow::{Context, Result};
use clap::Subcommand;
use handoff_domain::ids::HandoffId;
use handoff_domain::ports::{DeadLetter, Stage, StageQueue};
use std::fmt::Write as _;
use std::path::PathBuf;

/// How many dead letters per stage `list` prints unless told otherwise.
const DEFAULT_MAX: usize = 1000;

#[derive(Subcommand)]
pub(crate) enum DlqCommand {
    /// One line per dead letter: stage, handoff, when it was dead-lettered, after how many
    /// receives, its id and the reason.
    List {
        /// Only this stage: classify or assign (default: both).
        #[arg(long, value_parser = parse_stage)]
        stage: Option<Stage>,
        /// At most this many dead letters per stage.
        #[arg(long, default_value_t = DEFAULT_MAX)]
        max: usize,
        #[command(flatten)]
        queues: Queues,
    },
    /// One dead letter in full, its body included (ID as `dlq list` prints it).
    Show {
        id: String,
        /// Look only in this stage: classify or assign (default: both).
        #[arg(long, value_parser = parse_stage)]
        stage: Option<Stage>,
        #[command(flatten)]
        queues: Queues,
    },
    /// Move dead letters back to their stage's queue, to be worked again with a fresh receive
    /// count (fix the cause first, or they come back here).
    Redrive {
        /// Only this stage: classify or assign (default: both).
        #[arg(long, value_parser = parse_stage)]
        stage: Option<Stage>,
        /// Only the dead letters of this handoff (h_ and 32 hex digits).
        #[arg(long, value_parser = parse_handoff_id)]
        id: Option<HandoffId>,
        #[command(flatten)]
        queues: Queues,
    },
}

/// Whose queues: a local data directory, or a deployment's SQS queues.
#[derive(clap::Args)]
pub(crate) struct Queues {
    /// The local data directory (its queue.sqlite).
    #[arg(long, default_value = ".handoff")]
    data: PathBuf,
    /// A deployment's queues instead: their name prefix, the stack output QueuePrefix such as
    /// handoff-prod (build with --features aws).
    #[arg(long)]
    queue_prefix: Option<String>,
    #[command(flatten)]
    aws: AwsArgs,
}

fn parse_stage(text: &str) -> Result<Stage, String> {
    Stage::ALL
        .into_iter()
        .find(|s| s.as_str() == text.trim())
        .ok_or_else(|| format!("{text:?} is not a stage: expected classify or assign"))
}

fn parse_handoff_id(text: &str) -> Result<HandoffId, String> {
    HandoffId::parse(text).map_err(|e| e.to_string())
}

fn stages(only: Option<Stage>) -> Vec<Stage> {
    only.map_or_else(|| Stage::ALL.to_vec(), |s| vec![s])
}

/// Runs one `dlq` command and returns what to print.
pub(crate) async fn run(command: DlqCommand) -> Result<String> {
    match command {
        DlqCommand::List { stage, max, queues } => {
            let (queue, place) = open(&queues).await?;
            let mut found = Vec::new();
            for stage in stages(stage) {
                let letters = queue
                    .dead_letters(stage, max)
                    .await
                    .with_context(|| format!("cannot read the {} dead letters", stage.as_str()))?;
                found.push((stage, letters));
            }
            Ok(list_report(&place, &found, max))
        }
        DlqCommand::Show { id, stage, queues } => {
            let (queue, place) = open(&queues).await?;
            for stage in stages(stage) {
                let letters = queue
                    .dead_letters(stage, usize::MAX)
                    .await
                    .with_context(|| format!("cannot read the {} dead letters", stage.as_str()))?;
                if let Some(letter) = letters.iter().find(|l| l.id == id.trim()) {
                    return Ok(show_report(&place, stage, letter));
                }
            }
            anyhow::bail!(
                "no dead letter with id {:?} in {place} (`handoff dlq list` prints the ids)",
                id.trim()
            )
        }
        DlqCommand::Redrive { stage, id, queues } => {
            let (queue, place) = open(&queues).await?;
            let mut moved = Vec::new();
            for stage in stages(stage) {
                let n = queue.redrive(stage, id.as_ref()).await.with_context(|| {
                    format!("cannot redrive the {} dead letters", stage.as_str())
                })?;
                moved.push((stage, n));
            }
            Ok(redrive_report(&place, id.as_ref(), &moved))
        }
    }
}

/// Opens the queues `queues` names; returns them with a phrase naming them for the output.
async fn open(queues: &Queues) -> Result<(Box<dyn StageQueue>, String)> {
    match &queues.queue_prefix {
        Some(prefix) => open_deployed(prefix, &queues.aws).await,
        None => {
            anyhow::ensure!(
                queues.aws.profile.is_none() && queues.aws.region.is_none(),
                "--profile and --region apply to a deployment's queues: add --queue-prefix"
            );
            let path = queues.data.join("queue.sqlite");
            anyhow::ensure!(
                path.exists(),
                "no local queues in {} (pass --data DIR, or --queue-prefix for a deployment)",
                queues.data.display()
            );
            let queue = handoff_local::SqliteQueue::open(&path, handoff_cli::runtime::MAX_RECEIVES)
                .context("cannot open the local queues")?;
            let place = format!("the local queues in {}", queues.data.display());
            Ok((Box::new(queue), place))
        }
    }
}

#[cfg(feature = "aws")]
async fn open_deployed(prefix: &str, aws: &AwsArgs) -> Result<(Box<dyn StageQueue>, String)> {
    let sdk =
        handoff_cli::cloud_cmd::sdk_config(aws.profile.as_deref(), aws.region.as_deref()).await?;
    let client = handoff_aws::config::sqs_client(&sdk);
    let queue = handoff_aws::SqsQueue::connect_deployed(client, prefix)
        .await
        .with_context(|| format!("cannot find the stage queues {prefix}-*"))?;
    Ok((Box::new(queue), format!("the queues {prefix}-*")))
}

#[cfg(not(feature = "aws"))]
async fn open_deployed(_: &str, _: &AwsArgs) -> Result<(Box<dyn StageQueue>, String)> {
    anyhow::bail!("this build has no AWS support: add --features aws")
}

/// `text` on one line: control characters (new lines included) written as escapes, so a reason
/// or body cannot forge lines of the output.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn when(letter: &DeadLetter) -> String {
    letter.at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn receives(n: u32) -> String {
    match n {
        0 => "receives not recorded".to_string(),
        1 => "after 1 receive".to_string(),
        n => format!("after {n} receives"),
    }
}

fn handoff(letter: &DeadLetter) -> String {
    match &letter.handoff_id {
        Some(id) => format!("handoff {id}"),
        None => "no handoff (the body is not a stage message)".to_string(),
    }
}

/// One dead letter on one line: stage, handoff, when, receives, id, reason.
pub(crate) fn letter_line(stage: Stage, letter: &DeadLetter) -> String {
    format!(
        "{:<8}  {}  dead-lettered {} {}  id {}  {}",
        stage.as_str(),
        handoff(letter),
        when(letter),
        receives(letter.receive_count),
        one_line(&letter.id),
        one_line(&letter.reason)
    )
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// The `list` output: a headline, one line per dead letter, then what to do next.
pub(crate) fn list_report(place: &str, found: &[(Stage, Vec<DeadLetter>)], max: usize) -> String {
    let mut out = String::new();
    let total: usize = found.iter().map(|(_, l)| l.len()).sum();
    let names: Vec<&str> = found.iter().map(|(s, _)| s.as_str()).collect();
    if total == 0 {
        let _ = writeln!(
            out,
            "no dead letters in {place} ({} stage{})",
            names.join(" and "),
            if names.len() == 1 { "" } else { "s" }
        );
        return out;
    }
    let counts: Vec<String> = found
        .iter()
        .map(|(s, l)| format!("{} {}", s.as_str(), l.len()))
        .collect();
    let _ = writeln!(
        out,
        "{} in {place} ({}):",
        plural(total, "dead letter", "dead letters"),
        counts.join(", ")
    );
    for (stage, letters) in found {
        for letter in letters {
            let _ = writeln!(out, "  {}", letter_line(*stage, letter));
        }
        if letters.len() >= max {
            let _ = writeln!(
                out,
                "  (the first {max} of the {} stage; pass --max to see more)",
                stage.as_str()
            );
        }
    }
    let _ = writeln!(
        out,
        "Show one with `handoff dlq show ID`; once the cause is fixed, move them back with \
         `handoff dlq redrive [--stage STAGE] [--id HANDOFF]`."
    );
    out
}

/// The `show` output: every field of one dead letter, then its body (pretty JSON when it is
/// JSON, else as stored with control characters escaped).
pub(crate) fn show_report(place: &str, stage: Stage, letter: &DeadLetter) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "dead letter {} of the {} stage in {place}",
        one_line(&letter.id),
        stage.as_str()
    );
    let handoff = match &letter.handoff_id {
        Some(id) => id.to_string(),
        None => "none: the body is not a stage message".to_string(),
    };
    let _ = writeln!(out, "  handoff         {handoff}");
    let _ = writeln!(out, "  dead-lettered   {}", when(letter));
    let receive_count = match letter.receive_count {
        0 => "not recorded".to_string(),
        n => n.to_string(),
    };
    let _ = writeln!(out, "  receives        {receive_count}");
    let _ = writeln!(out, "  reason          {}", one_line(&letter.reason));
    let _ = writeln!(out, "  body:");
    let body = serde_json::from_str::<serde_json::Value>(&letter.body)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| letter.body.clone());
    for line in body.lines() {
        let _ = writeln!(out, "    {}", one_line(line));
    }
    match &letter.handoff_id {
        Some(id) => {
            let _ = writeln!(
                out,
                "Once the cause is fixed: `handoff dlq redrive --stage {} --id {id}`.",
                stage.as_str()
            );
        }
        None => {
            let _ = writeln!(
                out,
                "A body that is not a stage message fails again on redrive; `handoff dlq \
                 redrive --stage {}` moves it back with the rest of the stage.",
                stage.as_str()
            );
        }
    }
    out
}

/// The `redrive` output: how many moved per stage.
pub(crate) fn redrive_report(
    place: &str,
    which: Option<&HandoffId>,
    moved: &[(Stage, usize)],
) -> String {
    let mut out = String::new();
    let whose = which.map_or_else(String::new, |id| format!(" of handoff {id}"));
    let total: usize = moved.iter().map(|(_, n)| n).sum();
    if total == 0 {
        let names: Vec<&str> = moved.iter().map(|(s, _)| s.as_str()).collect();
        let _ = writeln!(
            out,
            "nothing to redrive: no dead letters{whose} in {place} ({} stage{})",
            names.join(" and "),
            if names.len() == 1 { "" } else { "s" }
        );
        return out;
    }
    for (stage, n) in moved {
        let _ = match n {
            0 => writeln!(out, "{}: no dead letters{whose}", stage.as_str()),
            n => writeln!(
                out,
                "{}: moved {}{whose} back to the stage queue",
                stage.as_str(),
                plural(*n, "dead letter", "dead letters")
            ),
        };
    }
    let _ = writeln!(
        out,
        "They are worked again with a fresh receive count (in {place}); if the cause persists \
         they return to the dead-letter queue with their reason."
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn letter(id: &str, handoff: Option<&str>, receive_count: u32, reason: &str) -> DeadLetter {
        DeadLetter {
            id: id.into(),
            body: "{}".into(),
            handoff_id: handoff.map(|h| HandoffId::parse(h).unwrap()),
            reason: reason.into(),
            at: chrono::Utc
                .with_ymd_and_hms(2026, 11, 24, 14, 0, 5)
                .unwrap(),
            receive_count,
        }
    }

    const H: &str = "h_0123456789abcdef0123456789abcdef";

    #[test]
    fn a_line_names_stage_handoff_time_receives_id_and_reason() {
        let cases = [
            (
                letter("12", Some(H), 5, "max receives exceeded (5)"),
                format!("classify  handoff {H}  dead-lettered 2026-11-24 14:00:05 UTC after 5 receives  id 12  max receives exceeded (5)"),
            ),
            (
                letter("13", None, 1, "unreadable stage message:\nline two"),
                "classify  no handoff (the body is not a stage message)  dead-lettered 2026-11-24 14:00:05 UTC after 1 receive  id 13  unreadable stage message:\\nline two".to_string(),
            ),
            (
                letter("14", Some(H), 0, "old"),
                format!("classify  handoff {H}  dead-lettered 2026-11-24 14:00:05 UTC receives not recorded  id 14  old"),
            ),
        ];
        for (letter, want) in cases {
            assert_eq!(letter_line(Stage::Classify, &letter), want);
        }
    }

    #[test]
    fn the_list_says_how_many_and_when_there_are_none() {
        let none = list_report(
            "the local queues in d",
            &[(Stage::Classify, vec![]), (Stage::Assign, vec![])],
            10,
        );
        assert_eq!(
            none,
            "no dead letters in the local queues in d (classify and assign stages)\n"
        );
        let some = list_report(
            "q",
            &[(
                Stage::Assign,
                vec![letter("1", Some(H), 1, "x"), letter("2", None, 1, "y")],
            )],
            2,
        );
        assert!(
            some.starts_with("2 dead letters in q (assign 2):\n  assign  "),
            "{some}"
        );
        assert!(
            some.contains("(the first 2 of the assign stage; pass --max to see more)"),
            "{some}"
        );
    }

    #[test]
    fn show_pretty_prints_json_and_escapes_other_bodies() {
        let mut json = letter("7", Some(H), 2, "crm rejected");
        json.body = format!(r#"{{"handoff_id":"{H}","stage":"assign"}}"#);
        let text = show_report("q", Stage::Assign, &json);
        assert!(
            text.contains(&format!("    \"handoff_id\": \"{H}\",\n")),
            "{text}"
        );
        assert!(text.contains("  receives        2\n"), "{text}");
        assert!(text.contains(&format!("--stage assign --id {H}")), "{text}");
        let mut poison = letter("8", None, 1, "unreadable");
        poison.body = "line one\nActions: \u{1b}[31m".into();
        let text = show_report("q", Stage::Classify, &poison);
        assert!(
            text.contains("    line one\n    Actions: \\u{1b}[31m\n"),
            "{text}"
        );
        assert!(
            text.contains("none: the body is not a stage message"),
            "{text}"
        );
    }

    #[test]
    fn the_redrive_report_counts_per_stage_or_says_nothing_moved() {
        let id = HandoffId::parse(H).unwrap();
        assert_eq!(
            redrive_report("q", Some(&id), &[(Stage::Assign, 0)]),
            format!("nothing to redrive: no dead letters of handoff {H} in q (assign stage)\n")
        );
        let text = redrive_report("q", None, &[(Stage::Classify, 1), (Stage::Assign, 3)]);
        assert!(text.starts_with("classify: moved 1 dead letter back to the stage queue\nassign: moved 3 dead letters back to the stage queue\n"), "{text}");
        let text = redrive_report("q", Some(&id), &[(Stage::Classify, 1), (Stage::Assign, 0)]);
        assert!(text.starts_with(&format!("classify: moved 1 dead letter of handoff {H} back to the stage queue\nassign: no dead letters of handoff {H}\n")), "{text}");
    }

    #[test]
    fn stages_and_handoff_ids_are_parsed_strictly() {
        assert_eq!(parse_stage("assign"), Ok(Stage::Assign));
        assert!(parse_stage("Assign")
            .unwrap_err()
            .contains("expected classify or assign"));
        assert!(parse_handoff_id("h_123").is_err());
        assert_eq!(parse_handoff_id(H).unwrap().as_str(), H);
    }
}
