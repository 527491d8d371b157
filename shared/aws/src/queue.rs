//! [`SqsQueue`]: the [`StageQueue`] on SQS standard queues.
//!
//! One queue per stage, `<prefix>-<stage>`, each with a dead-letter queue `<prefix>-<stage>-dlq`
//! and a redrive policy `maxReceiveCount = max_receives`. Queue URLs are resolved once when the
//! adapter is built ([`SqsQueue::connect`], [`crate::provision::ensure_queues`]) or handed in
//! ([`SqsQueue::from_urls`], e.g. from the deployment's environment), never per message.
//!
//! Messages carry the string attributes `handoff_id` and `stage`; messages moved by
//! [`StageQueue::dead_letter`] also carry `reason` and `receive_count`. Dead letters without
//! `reason` were moved by SQS's redrive and are reported as `max receives exceeded
//! (maxReceiveCount N)` with N receives.
//!
//! Reading a dead-letter queue ([`StageQueue::dead_letters`]) pages through it by receiving with
//! a short visibility timeout, then makes every message it saw visible again at once. A redrive
//! ([`StageQueue::redrive`]) receives from the dead-letter queue, sends each chosen message to
//! the stage queue and then deletes it from the dead-letter queue: a crash between the send and
//! the delete leaves a duplicate on the stage queue, which the stages tolerate (they are
//! idempotent). Receive-and-resend rather than `StartMessageMoveTask`: it can pick the messages
//! of one handoff, gives the redriven message a fresh receive count and attributes, and works on
//! the emulator (moto does not implement the move task).

use crate::error::AwsError;
use async_trait::async_trait;
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::{ChangeMessageVisibilityBatchRequestEntry, Message, QueueAttributeName};
use aws_sdk_sqs::types::{
    MessageAttributeValue, MessageSystemAttributeName, SendMessageBatchRequestEntry,
};
use aws_sdk_sqs::Client;
use chrono::{DateTime, Utc};
use handoff_domain::ids::HandoffId;
use handoff_domain::ports::{DeadLetter, Delivery, QueueError, Stage, StageMessage, StageQueue};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// The message attribute holding why a message was dead-lettered by hand.
pub const REASON_ATTRIBUTE: &str = "reason";
/// The message attribute holding the handoff id.
pub const HANDOFF_ID_ATTRIBUTE: &str = "handoff_id";
/// The message attribute holding the stage name.
pub const STAGE_ATTRIBUTE: &str = "stage";
/// The message attribute holding how many receives a message had when it was dead-lettered by
/// hand.
pub const RECEIVE_COUNT_ATTRIBUTE: &str = "receive_count";

/// SQS's cap on messages per receive and per batch send.
const SQS_BATCH: usize = 10;
/// SQS's longest visibility timeout (12 hours).
const MAX_VISIBILITY_SECS: u64 = 43_200;
/// How long a message being moved to the dead-letter queue stays hidden meanwhile.
const MOVE_VISIBILITY_SECS: i32 = 30;
/// How long a dead letter read by `dead_letters` or passed over by `redrive` stays hidden before
/// the call makes it visible again (if the caller dies in between, SQS does it after this long).
/// It bounds the work of one call: a message seen again means the queue has been read through.
const BROWSE_VISIBILITY_SECS: i32 = 120;

/// The two queues of one stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueUrls {
    /// The stage's queue.
    pub queue: String,
    /// Its dead-letter queue.
    pub dead_letter: String,
}

/// The queue name of a stage: `<prefix>-<stage>`.
pub fn queue_name(prefix: &str, stage: Stage) -> String {
    format!("{prefix}-{}", stage.as_str())
}

/// The dead-letter queue name of a stage: `<prefix>-<stage>-dlq`.
pub fn dead_letter_queue_name(prefix: &str, stage: Stage) -> String {
    format!("{}-dlq", queue_name(prefix, stage))
}

/// Checks a queue-name prefix: SQS names are 1–80 of `[A-Za-z0-9_-]`, and the longest suffix
/// added is `-classify-dlq`.
pub fn check_prefix(prefix: &str) -> Result<(), AwsError> {
    let longest_suffix = Stage::ALL
        .iter()
        .map(|s| dead_letter_queue_name("", *s).len())
        .max()
        .unwrap_or_default();
    let max = 80 - longest_suffix;
    let ok = (1..=max).contains(&prefix.len())
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(AwsError::Mismatch(format!(
            "queue prefix {prefix:?} must be 1 to {max} characters of letters, digits, '-' or '_'"
        )))
    }
}

/// The SQS [`StageQueue`]. Cheap to clone; build it once per process.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    urls: HashMap<Stage, QueueUrls>,
    max_receives: u32,
    wait_secs: i32,
}

impl SqsQueue {
    /// An adapter over queues whose URLs are known (every stage must be present).
    /// `max_receives` is the redrive policy's `maxReceiveCount`, used to word redrive reasons.
    pub fn from_urls(
        client: Client,
        urls: impl IntoIterator<Item = (Stage, QueueUrls)>,
        max_receives: u32,
    ) -> Result<Self, AwsError> {
        let urls: HashMap<Stage, QueueUrls> = urls.into_iter().collect();
        if let Some(missing) = Stage::ALL.iter().find(|s| !urls.contains_key(s)) {
            return Err(AwsError::Mismatch(format!(
                "no queue URLs for stage {}",
                missing.as_str()
            )));
        }
        Ok(Self {
            client,
            urls,
            max_receives,
            wait_secs: 1,
        })
    }

    /// Resolves the URLs of existing queues named after `prefix` (one `GetQueueUrl` per queue,
    /// once).
    pub async fn connect(
        client: Client,
        prefix: &str,
        max_receives: u32,
    ) -> Result<Self, AwsError> {
        check_prefix(prefix)?;
        let mut urls = Vec::new();
        for stage in Stage::ALL {
            let queue = queue_url(&client, &queue_name(prefix, stage)).await?;
            let dead_letter = queue_url(&client, &dead_letter_queue_name(prefix, stage)).await?;
            urls.push((stage, QueueUrls { queue, dead_letter }));
        }
        Self::from_urls(client, urls, max_receives)
    }

    /// [`SqsQueue::connect`] for an operator's command on a deployment: `max_receives` is read
    /// from the classify queue's redrive policy (so dead-letter reasons name the deployed
    /// `maxReceiveCount`), or 1 when the queue has none.
    pub async fn connect_deployed(client: Client, prefix: &str) -> Result<Self, AwsError> {
        let queue = Self::connect(client, prefix, 1).await?;
        let url = &queue.urls(Stage::Classify).queue;
        let out = queue
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::RedrivePolicy)
            .send()
            .await
            .map_err(|e| AwsError::api(format!("GetQueueAttributes {url}"), e))?;
        let max_receives = out
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::RedrivePolicy))
            .and_then(|policy| serde_json::from_str::<serde_json::Value>(policy).ok())
            .and_then(|policy| match &policy["maxReceiveCount"] {
                serde_json::Value::Number(n) => n.as_u64(),
                serde_json::Value::String(s) => s.parse().ok(),
                _ => None,
            })
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(1);
        Ok(Self {
            max_receives,
            ..queue
        })
    }

    /// Sets the long-poll wait of `receive` and `dead_letters` (whole seconds, at most 1;
    /// default 1 s, which keeps SQS from answering "empty" from a sample of its servers).
    pub fn with_wait(mut self, wait: Duration) -> Self {
        self.wait_secs = wait.as_secs().min(1) as i32;
        self
    }

    /// The URLs of a stage's queues.
    pub fn urls(&self, stage: Stage) -> &QueueUrls {
        // Every stage is present: checked by `from_urls`.
        &self.urls[&stage]
    }

    /// The redrive policy's `maxReceiveCount`.
    pub fn max_receives(&self) -> u32 {
        self.max_receives
    }

    /// Enqueues `body` as is (tests inject poison bodies with it; tools replay dead letters).
    pub async fn send_raw(&self, stage: Stage, body: &str) -> Result<(), QueueError> {
        self.client
            .send_message()
            .queue_url(&self.urls(stage).queue)
            .message_body(body)
            .message_attributes(STAGE_ATTRIBUTE, string_attribute(stage.as_str())?)
            .send()
            .await
            .map_err(|e| unavailable("SendMessage", e))?;
        Ok(())
    }
}

async fn queue_url(client: &Client, name: &str) -> Result<String, AwsError> {
    client
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .map_err(|e| AwsError::api(format!("GetQueueUrl {name}"), e))?
        .queue_url
        .ok_or_else(|| AwsError::Mismatch(format!("GetQueueUrl {name} returned no URL")))
}

fn string_attribute(value: &str) -> Result<MessageAttributeValue, QueueError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| QueueError::Unavailable(format!("cannot build message attribute: {e}")))
}

fn unavailable<E, R>(op: &str, err: SdkError<E, R>) -> QueueError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    QueueError::Unavailable(format!("SQS {op}: {}", DisplayErrorContext(&err)))
}

/// Receipt errors become `InvalidReceipt`, the rest `Unavailable`.
fn receipt_error<E, R>(op: &str, err: SdkError<E, R>) -> QueueError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match err.code() {
        Some(code)
            if code.contains("ReceiptHandleIsInvalid") || code.contains("InvalidIdFormat") =>
        {
            QueueError::InvalidReceipt
        }
        _ => unavailable(op, err),
    }
}

fn number_attribute(value: u32) -> Result<MessageAttributeValue, QueueError> {
    MessageAttributeValue::builder()
        .data_type("Number")
        .string_value(value.to_string())
        .build()
        .map_err(|e| QueueError::Unavailable(format!("cannot build message attribute: {e}")))
}

fn attribute<'a>(message: &'a Message, name: &str) -> Option<&'a str> {
    message
        .message_attributes()
        .and_then(|a| a.get(name))
        .and_then(|v| v.string_value())
}

/// A visibility timeout in whole seconds, rounded up (SQS has no finer unit).
fn visibility_secs(d: Duration) -> i32 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    secs.min(MAX_VISIBILITY_SECS) as i32
}

#[async_trait]
impl StageQueue for SqsQueue {
    async fn send(&self, stage: Stage, messages: &[StageMessage]) -> Result<(), QueueError> {
        let url = &self.urls(stage).queue;
        for chunk in messages.chunks(SQS_BATCH) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (n, m) in chunk.iter().enumerate() {
                let body = serde_json::to_string(m).map_err(|e| {
                    QueueError::Unavailable(format!("cannot encode stage message: {e}"))
                })?;
                let entry = SendMessageBatchRequestEntry::builder()
                    .id(n.to_string())
                    .message_body(body)
                    .message_attributes(
                        HANDOFF_ID_ATTRIBUTE,
                        string_attribute(m.handoff_id.as_str())?,
                    )
                    .message_attributes(STAGE_ATTRIBUTE, string_attribute(m.stage.as_str())?)
                    .build()
                    .map_err(|e| {
                        QueueError::Unavailable(format!("cannot build batch entry: {e}"))
                    })?;
                entries.push(entry);
            }
            let out = self
                .client
                .send_message_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| unavailable("SendMessageBatch", e))?;
            if !out.failed().is_empty() {
                let failures: Vec<String> = out
                    .failed()
                    .iter()
                    .map(|f| {
                        format!(
                            "entry {}: {} {}",
                            f.id(),
                            f.code(),
                            f.message().unwrap_or_default()
                        )
                    })
                    .collect();
                return Err(QueueError::Unavailable(format!(
                    "SQS SendMessageBatch: {} of {} failed ({})",
                    failures.len(),
                    chunk.len(),
                    failures.join("; ")
                )));
            }
        }
        Ok(())
    }

    async fn receive(
        &self,
        stage: Stage,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<Delivery>, QueueError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let out = self
            .client
            .receive_message()
            .queue_url(&self.urls(stage).queue)
            .max_number_of_messages(max.min(SQS_BATCH) as i32)
            .visibility_timeout(visibility_secs(visibility))
            .wait_time_seconds(self.wait_secs)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| unavailable("ReceiveMessage", e))?;
        out.messages()
            .iter()
            .map(|m| {
                let receipt = m.receipt_handle().ok_or_else(|| {
                    QueueError::Unavailable(
                        "SQS ReceiveMessage: message without receipt handle".into(),
                    )
                })?;
                let receive_count = m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1);
                Ok(Delivery {
                    body: m.body().unwrap_or_default().to_string(),
                    receipt: receipt.to_string(),
                    receive_count,
                })
            })
            .collect()
    }

    async fn ack(&self, stage: Stage, receipt: &str) -> Result<(), QueueError> {
        self.client
            .delete_message()
            .queue_url(&self.urls(stage).queue)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| receipt_error("DeleteMessage", e))?;
        Ok(())
    }

    /// `ChangeMessageVisibility` to `delay` (whole seconds, rounded up, at most 12 hours). SQS
    /// still counts the delivery toward the redrive policy's `maxReceiveCount`.
    async fn postpone(
        &self,
        stage: Stage,
        delivery: &Delivery,
        delay: Duration,
    ) -> Result<(), QueueError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.urls(stage).queue)
            .receipt_handle(&delivery.receipt)
            .visibility_timeout(visibility_secs(delay))
            .send()
            .await
            .map_err(|e| receipt_error("ChangeMessageVisibility", e))?;
        Ok(())
    }

    /// Checks the receipt (and keeps the message hidden) with `ChangeMessageVisibility`, copies
    /// it to the dead-letter queue with the reason, then deletes it from the stage queue. A
    /// crash in between leaves a duplicate, never a loss.
    async fn dead_letter(
        &self,
        stage: Stage,
        delivery: &Delivery,
        reason: &str,
    ) -> Result<(), QueueError> {
        let urls = self.urls(stage);
        self.client
            .change_message_visibility()
            .queue_url(&urls.queue)
            .receipt_handle(&delivery.receipt)
            .visibility_timeout(MOVE_VISIBILITY_SECS)
            .send()
            .await
            .map_err(|e| receipt_error("ChangeMessageVisibility", e))?;
        // SQS refuses empty attribute values.
        let reason = if reason.is_empty() {
            "(no reason given)"
        } else {
            reason
        };
        let mut send = self
            .client
            .send_message()
            .queue_url(&urls.dead_letter)
            .message_body(&delivery.body)
            .message_attributes(REASON_ATTRIBUTE, string_attribute(reason)?)
            .message_attributes(STAGE_ATTRIBUTE, string_attribute(stage.as_str())?)
            .message_attributes(
                RECEIVE_COUNT_ATTRIBUTE,
                number_attribute(delivery.receive_count)?,
            );
        if let Some(handoff) = StageMessage::handoff_in(&delivery.body) {
            send =
                send.message_attributes(HANDOFF_ID_ATTRIBUTE, string_attribute(handoff.as_str())?);
        }
        send.send()
            .await
            .map_err(|e| unavailable("SendMessage (dead letter)", e))?;
        self.ack(stage, &delivery.receipt).await
    }

    /// Pages through the dead-letter queue (receives hide what was read for
    /// `BROWSE_VISIBILITY_SECS`, so the next receive returns others) until `max` letters or a
    /// receive with nothing new, then makes everything it read visible again.
    async fn dead_letters(&self, stage: Stage, max: usize) -> Result<Vec<DeadLetter>, QueueError> {
        let url = &self.urls(stage).dead_letter;
        let mut letters = Vec::new();
        // Message id → its latest receipt (only the latest can change its visibility).
        let mut held = HashMap::new();
        let read = async {
            while letters.len() < max {
                let batch = self.receive_dead_letters(url, max - letters.len()).await?;
                let before = letters.len();
                for m in batch {
                    let (Some(id), Some(receipt)) = (m.message_id(), m.receipt_handle()) else {
                        continue;
                    };
                    if held.insert(id.to_string(), receipt.to_string()).is_none() {
                        letters.push(self.dead_letter_of(&m));
                    }
                }
                if letters.len() == before {
                    break;
                }
            }
            Ok::<_, QueueError>(())
        }
        .await;
        let released = self.release(url, held.values()).await;
        read?;
        released?;
        Ok(letters)
    }

    async fn redrive(&self, stage: Stage, which: Option<&HandoffId>) -> Result<usize, QueueError> {
        let urls = self.urls(stage);
        let mut moved = 0;
        let mut seen = HashSet::new();
        // Passed over (another handoff's): message id → latest receipt, released at the end.
        let mut skipped = HashMap::new();
        let work = async {
            loop {
                let batch = self
                    .receive_dead_letters(&urls.dead_letter, SQS_BATCH)
                    .await?;
                let mut new = 0;
                for m in batch {
                    let (Some(id), Some(receipt)) = (m.message_id(), m.receipt_handle()) else {
                        continue;
                    };
                    let first_time = seen.insert(id.to_string());
                    let body = m.body().unwrap_or_default();
                    let handoff = StageMessage::handoff_in(body);
                    if !first_time || which.is_some_and(|wanted| handoff.as_ref() != Some(wanted)) {
                        skipped.insert(id.to_string(), receipt.to_string());
                        continue;
                    }
                    new += 1;
                    let mut send = self
                        .client
                        .send_message()
                        .queue_url(&urls.queue)
                        .message_body(body)
                        .message_attributes(STAGE_ATTRIBUTE, string_attribute(stage.as_str())?);
                    if let Some(handoff) = &handoff {
                        send = send.message_attributes(
                            HANDOFF_ID_ATTRIBUTE,
                            string_attribute(handoff.as_str())?,
                        );
                    }
                    send.send()
                        .await
                        .map_err(|e| unavailable("SendMessage (redrive)", e))?;
                    self.client
                        .delete_message()
                        .queue_url(&urls.dead_letter)
                        .receipt_handle(receipt)
                        .send()
                        .await
                        .map_err(|e| unavailable("DeleteMessage (redrive)", e))?;
                    moved += 1;
                }
                if new == 0 {
                    return Ok::<_, QueueError>(());
                }
            }
        }
        .await;
        let released = self.release(&urls.dead_letter, skipped.values()).await;
        work.map_err(|e| match e {
            QueueError::Unavailable(why) => QueueError::Unavailable(format!(
                "{why} (after moving {moved} dead letter(s) back to the {} queue)",
                stage.as_str()
            )),
            other => other,
        })?;
        released?;
        Ok(moved)
    }
}

impl SqsQueue {
    /// One receive on a dead-letter queue, hiding what it returns for `BROWSE_VISIBILITY_SECS`.
    async fn receive_dead_letters(
        &self,
        url: &str,
        max: usize,
    ) -> Result<Vec<Message>, QueueError> {
        let out = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(max.clamp(1, SQS_BATCH) as i32)
            .visibility_timeout(BROWSE_VISIBILITY_SECS)
            .wait_time_seconds(self.wait_secs)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .send()
            .await
            .map_err(|e| unavailable("ReceiveMessage (dead letters)", e))?;
        Ok(out.messages.unwrap_or_default())
    }

    fn dead_letter_of(&self, m: &Message) -> DeadLetter {
        let body = m.body().unwrap_or_default().to_string();
        let sent_at = m
            .attributes()
            .and_then(|a| a.get(&MessageSystemAttributeName::SentTimestamp))
            .and_then(|v| v.parse::<i64>().ok())
            .and_then(DateTime::<Utc>::from_timestamp_millis)
            .unwrap_or_default();
        let (reason, receive_count) = match attribute(m, REASON_ATTRIBUTE) {
            Some(reason) => (
                reason.to_string(),
                attribute(m, RECEIVE_COUNT_ATTRIBUTE)
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0),
            ),
            None => (
                format!(
                    "max receives exceeded (maxReceiveCount {})",
                    self.max_receives
                ),
                self.max_receives,
            ),
        };
        DeadLetter {
            id: m.message_id().unwrap_or_default().to_string(),
            handoff_id: StageMessage::handoff_in(&body),
            body,
            reason,
            at: sent_at,
            receive_count,
        }
    }

    /// Makes the messages behind `receipts` visible again at once (batches of 10).
    async fn release(
        &self,
        url: &str,
        receipts: impl IntoIterator<Item = &String>,
    ) -> Result<(), QueueError> {
        let receipts: Vec<&String> = receipts.into_iter().collect();
        for chunk in receipts.chunks(SQS_BATCH) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(n, receipt)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(n.to_string())
                        .receipt_handle(receipt.as_str())
                        .visibility_timeout(0)
                        .build()
                        .map_err(|e| {
                            QueueError::Unavailable(format!("cannot build batch entry: {e}"))
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client
                .change_message_visibility_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| unavailable("ChangeMessageVisibilityBatch (dead letters)", e))?;
            if let Some(failed) = out.failed().first() {
                return Err(QueueError::Unavailable(format!(
                    "SQS ChangeMessageVisibilityBatch: {} of {} dead letters stay hidden for up to {BROWSE_VISIBILITY_SECS} s ({} {})",
                    out.failed().len(),
                    chunk.len(),
                    failed.code(),
                    failed.message().unwrap_or_default()
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_prefixes() {
        assert_eq!(
            queue_name("handoff-prod", Stage::Assign),
            "handoff-prod-assign"
        );
        assert_eq!(
            dead_letter_queue_name("p", Stage::Classify),
            "p-classify-dlq"
        );
        assert!(check_prefix("handoff_prod-1").is_ok());
        assert!(check_prefix("").is_err());
        assert!(check_prefix("has space").is_err());
        assert!(check_prefix(&"x".repeat(67)).is_ok());
        assert!(check_prefix(&"x".repeat(68)).is_err());
    }

    #[test]
    fn visibility_rounds_up_to_seconds() {
        assert_eq!(visibility_secs(Duration::ZERO), 0);
        assert_eq!(visibility_secs(Duration::from_millis(1)), 1);
        assert_eq!(visibility_secs(Duration::from_secs(2)), 2);
        assert_eq!(visibility_secs(Duration::from_secs(1_000_000)), 43_200);
    }
}
