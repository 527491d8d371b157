//! Section 1, intake latency: the intake handler against the I/O floor.
//!
//! Three measurements per iteration, in rotating order, on the same emulator and table:
//!
//! - **intake**: a function URL event (the e2e fixture carrying the demo web-form event) parsed by
//!   `lambda_http` and run through `handoff_api::intake_router(services).oneshot(req)` until the
//!   202 body is read, with the services wired exactly as the intake function wires them.
//! - **floor**: one `PutItem` of the same record's `META` item + one `SendMessage` of the same
//!   stage message, straight on the SDK clients.
//! - **adapter I/O**: what the adapters send for one intake, straight on the SDK: a
//!   `TransactWriteItems` of the two conditional puts (`META` + first timeline entry) + one
//!   `SendMessageBatch` — so `intake ÷ adapter I/O` is the handler's own overhead and
//!   `adapter I/O ÷ floor` the price of the transactional create.
//!
//! moto deep-copies the whole table on every `TransactWriteItems` (to roll back), so its
//! transactions slow down as the table grows; DynamoDB's do not. The items each iteration wrote
//! are therefore deleted again (untimed), keeping the table at its few rules items.

use crate::emu::{self, Emu};
use crate::stats::Summary;
use anyhow::{bail, Context, Result};
use aws_sdk_dynamodb::types::{
    DeleteRequest, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, WriteRequest,
};
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
use chrono::Utc;
use handoff_aws::store::{codec, keys};
use handoff_aws::SqsQueue;
use handoff_domain::event::IntakeEvent;
use handoff_domain::ids::HandoffId;
use handoff_domain::lifecycle::HandoffRecord;
use handoff_domain::ports::{Stage, StageMessage, SystemClock};
use handoff_lambda::env::Vars;
use handoff_lambda::wiring::{Function, FunctionConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Untimed iterations first (connections, caches).
pub const WARM_UP: usize = 20;

/// What section 1 measured.
pub struct IntakeFigures {
    pub requests: usize,
    pub intake: Summary,
    pub floor: Summary,
    pub adapter: Summary,
    pub meta_bytes: usize,
}

struct Ctx<'a> {
    emu: &'a Emu,
    table: String,
    queue: SqsQueue,
    router: axum::Router,
}

pub async fn run(emu: &Emu, requests: usize) -> Result<IntakeFigures> {
    let (table, prefix, queue) = emu.provision("intake").await?;
    let vars = [
        ("HANDOFF_TABLE", table.clone()),
        ("HANDOFF_QUEUE_PREFIX", prefix),
        ("HANDOFF_MAX_RECEIVES", emu::MAX_RECEIVES.to_string()),
    ];
    let config = FunctionConfig::from_vars(
        Function::Intake,
        &Vars::from_fn(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        }),
    )?;
    let services =
        handoff_lambda::wiring::services_with_clock(&config, Arc::new(SystemClock)).await?;
    let once = Arc::new(handoff_aws::DynamoStore::new(emu.dynamo.clone(), &table));
    let ctx = Ctx {
        emu,
        table,
        queue,
        router: handoff_api::intake_router(emu::app(Arc::new(services), once)),
    };
    let (mut intake, mut floor, mut adapter) = (Vec::new(), Vec::new(), Vec::new());
    let mut meta_bytes = 0;
    for i in 0..WARM_UP + requests {
        let mut times = [Duration::ZERO; 3];
        for k in 0..3 {
            let which = (i + k) % 3;
            times[which] = match which {
                0 => ctx.intake(i).await?,
                1 => {
                    let (t, bytes) = ctx.floor(i).await?;
                    meta_bytes = bytes;
                    t
                }
                _ => ctx.adapter(i).await?,
            };
        }
        if i >= WARM_UP {
            intake.push(times[0]);
            floor.push(times[1]);
            adapter.push(times[2]);
        }
    }
    Ok(IntakeFigures {
        requests,
        intake: Summary::of(intake),
        floor: Summary::of(floor),
        adapter: Summary::of(adapter),
        meta_bytes,
    })
}

fn string_attribute(v: &str) -> Result<MessageAttributeValue> {
    Ok(MessageAttributeValue::builder()
        .data_type("String")
        .string_value(v)
        .build()?)
}

impl Ctx<'_> {
    fn event(&self, kind: &str, i: usize) -> Vec<u8> {
        let id = format!("bench-{kind}-{}-{i}", self.emu.run_id());
        emu::form_event(&id, i, Utc::now())
    }

    /// The record intake would create for this body, its `META` item and stage message body.
    fn record(
        &self,
        body: &[u8],
    ) -> Result<(
        HandoffRecord,
        handoff_domain::lifecycle::TimelineEntry,
        String,
    )> {
        let event: IntakeEvent = serde_json::from_slice(body)?;
        let (record, entry) = HandoffRecord::received(event, Utc::now());
        let message =
            serde_json::to_string(&StageMessage::new(record.id.clone(), Stage::Classify))?;
        Ok((record, entry, message))
    }

    async fn intake(&self, i: usize) -> Result<Duration> {
        let event = emu::agent_event(&self.event("intake", i), Utc::now());
        let started = Instant::now();
        let (status, body) = emu::call(self.router.clone(), &event).await?;
        let took = started.elapsed();
        if status != 202 {
            bail!("intake answered {status}: {body}");
        }
        let id = HandoffId::parse(body["handoff_id"].as_str().unwrap_or_default())?;
        self.delete(&id, &[keys::META_SK, &keys::timeline_sk(1)])
            .await?;
        Ok(took)
    }

    async fn floor(&self, i: usize) -> Result<(Duration, usize)> {
        let (record, _, message) = self.record(&self.event("floor", i))?;
        let item = codec::meta_item(&record, 1)?;
        let bytes = item
            .iter()
            .map(|(k, v)| k.len() + v.as_s().map(String::len).unwrap_or(2))
            .sum();
        let started = Instant::now();
        self.emu
            .dynamo
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .context("PutItem")?;
        self.emu
            .sqs
            .send_message()
            .queue_url(&self.queue.urls(Stage::Classify).queue)
            .message_body(message)
            .message_attributes("handoff_id", string_attribute(record.id.as_str())?)
            .message_attributes("stage", string_attribute(Stage::Classify.as_str())?)
            .send()
            .await
            .context("SendMessage")?;
        let took = started.elapsed();
        self.delete(&record.id, &[keys::META_SK]).await?;
        Ok((took, bytes))
    }

    async fn adapter(&self, i: usize) -> Result<Duration> {
        let (record, entry, message) = self.record(&self.event("adapter", i))?;
        let put = |item| -> Result<TransactWriteItem> {
            Ok(TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(item))
                        .condition_expression("attribute_not_exists(PK)")
                        .return_values_on_condition_check_failure(
                            ReturnValuesOnConditionCheckFailure::AllOld,
                        )
                        .build()?,
                )
                .build())
        };
        let items = vec![
            put(codec::meta_item(&record, 1)?)?,
            put(codec::timeline_item(&entry)?)?,
        ];
        let batch_entry = SendMessageBatchRequestEntry::builder()
            .id("0")
            .message_body(message)
            .message_attributes("handoff_id", string_attribute(record.id.as_str())?)
            .message_attributes("stage", string_attribute(Stage::Classify.as_str())?)
            .build()?;
        let started = Instant::now();
        self.emu
            .dynamo
            .transact_write_items()
            .set_transact_items(Some(items))
            .client_request_token(codec::request_token())
            .send()
            .await
            .context("TransactWriteItems")?;
        self.emu
            .sqs
            .send_message_batch()
            .queue_url(&self.queue.urls(Stage::Classify).queue)
            .entries(batch_entry)
            .send()
            .await
            .context("SendMessageBatch")?;
        let took = started.elapsed();
        self.delete(&record.id, &[keys::META_SK, &keys::timeline_sk(1)])
            .await?;
        Ok(took)
    }

    /// Deletes a handoff's items again (untimed; keeps moto's table small, see the module docs).
    async fn delete(&self, id: &HandoffId, sks: &[&str]) -> Result<()> {
        let requests = sks
            .iter()
            .map(|sk| -> Result<WriteRequest> {
                Ok(WriteRequest::builder()
                    .delete_request(
                        DeleteRequest::builder()
                            .set_key(Some(codec::key(keys::handoff_pk(id), *sk)))
                            .build()?,
                    )
                    .build())
            })
            .collect::<Result<Vec<_>>>()?;
        self.emu
            .dynamo
            .batch_write_item()
            .request_items(&self.table, requests)
            .send()
            .await
            .context("BatchWriteItem delete")?;
        Ok(())
    }
}
