//! Creating the table and the queues (tests, the bench, `handoff` commands; the SAM template
//! declares the same resources for deployments).
//!
//! Both helpers are idempotent: they create what is missing, check what exists and wait until
//! it is usable.

use crate::error::AwsError;
use crate::queue::{check_prefix, dead_letter_queue_name, queue_name, QueueUrls, SqsQueue};
use crate::store::keys;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, IndexStatus, KeySchemaElement, KeyType,
    Projection, ProjectionType, ScalarAttributeType, TableStatus, TimeToLiveSpecification,
    TimeToLiveStatus,
};
use aws_sdk_sqs::types::QueueAttributeName;
use handoff_domain::ports::Stage;
use std::time::{Duration, Instant};

/// How long [`ensure_table`] waits for the table and its indexes to become `ACTIVE`.
pub const TABLE_READY_TIMEOUT: Duration = Duration::from_secs(300);

/// How long dead letters are kept (SQS maximum: 14 days).
const DEAD_LETTER_RETENTION_SECS: u32 = 14 * 24 * 3600;

/// The GSIs: name, partition key, sort key, projected non-key attributes (`None`: keys only).
const INDEXES: [(&str, &str, &str, Option<&str>); 4] = [
    (
        keys::INDEX_CONTACT,
        keys::CONTACT_PK,
        keys::CREATED_SK,
        Some(keys::meta::SUMMARY),
    ),
    (
        keys::INDEX_DOMAIN,
        keys::DOMAIN_PK,
        keys::CREATED_SK,
        Some(keys::meta::SUMMARY),
    ),
    (keys::INDEX_CREATED, keys::DAY_PK, keys::CREATED_SK, None),
    (keys::INDEX_DUE, keys::DUE_PK, keys::DUE_SK, None),
];

fn key_element(name: &str, key_type: KeyType) -> Result<KeySchemaElement, AwsError> {
    Ok(KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()?)
}

fn string_attribute(name: &str) -> Result<AttributeDefinition, AwsError> {
    Ok(AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()?)
}

fn index(
    name: &str,
    pk: &str,
    sk: &str,
    include: Option<&str>,
) -> Result<GlobalSecondaryIndex, AwsError> {
    let projection = match include {
        Some(attr) => Projection::builder()
            .projection_type(ProjectionType::Include)
            .non_key_attributes(attr)
            .build(),
        None => Projection::builder()
            .projection_type(ProjectionType::KeysOnly)
            .build(),
    };
    Ok(GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key_element(pk, KeyType::Hash)?)
        .key_schema(key_element(sk, KeyType::Range)?)
        .projection(projection)
        .build()?)
}

/// Creates the handoff table `name` unless it exists (PAY_PER_REQUEST, `PK`/`SK`, the GSIs
/// described in [`crate::store`]), waits until it and its indexes are `ACTIVE`, and enables TTL
/// on `expires_at`. An existing table missing one of the indexes is an error, not a migration.
pub async fn ensure_table(client: &aws_sdk_dynamodb::Client, name: &str) -> Result<(), AwsError> {
    let exists = match client.describe_table().table_name(name).send().await {
        Ok(_) => true,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            false
        }
        Err(e) => return Err(AwsError::api(format!("DescribeTable {name}"), e)),
    };
    if !exists {
        let mut create = client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key_element(keys::PK, KeyType::Hash)?)
            .key_schema(key_element(keys::SK, KeyType::Range)?);
        let mut attributes = vec![keys::PK, keys::SK];
        for (index_name, pk, sk, include) in INDEXES {
            create = create.global_secondary_indexes(index(index_name, pk, sk, include)?);
            for a in [pk, sk] {
                if !attributes.contains(&a) {
                    attributes.push(a);
                }
            }
        }
        for a in attributes {
            create = create.attribute_definitions(string_attribute(a)?);
        }
        match create.send().await {
            Ok(_) => tracing::info!(table = name, "created DynamoDB table"),
            // Someone else is creating it right now: wait for it like for our own.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_in_use_exception()) => {}
            Err(e) => return Err(AwsError::api(format!("CreateTable {name}"), e)),
        }
    }
    wait_until_active(client, name).await?;
    enable_ttl(client, name).await
}

async fn wait_until_active(client: &aws_sdk_dynamodb::Client, name: &str) -> Result<(), AwsError> {
    let started = Instant::now();
    let mut delay = Duration::from_millis(50);
    loop {
        let out = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| AwsError::api(format!("DescribeTable {name}"), e))?;
        let table = out
            .table
            .ok_or_else(|| AwsError::Mismatch(format!("DescribeTable {name} returned no table")))?;
        let indexes = table.global_secondary_indexes();
        for (index_name, ..) in INDEXES {
            if !indexes.iter().any(|i| i.index_name() == Some(index_name)) {
                return Err(AwsError::Mismatch(format!(
                    "table {name} exists without the global secondary index {index_name:?}; \
                     delete it or use another table name"
                )));
            }
        }
        let table_ready = table.table_status() == Some(&TableStatus::Active);
        let indexes_ready = indexes
            .iter()
            .all(|i| i.index_status().is_none_or(|s| *s == IndexStatus::Active));
        if table_ready && indexes_ready {
            return Ok(());
        }
        if started.elapsed() > TABLE_READY_TIMEOUT {
            return Err(AwsError::Timeout(format!(
                "table {name} not ACTIVE after {TABLE_READY_TIMEOUT:?} (status {:?})",
                table.table_status()
            )));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

async fn enable_ttl(client: &aws_sdk_dynamodb::Client, name: &str) -> Result<(), AwsError> {
    let out = client
        .describe_time_to_live()
        .table_name(name)
        .send()
        .await
        .map_err(|e| AwsError::api(format!("DescribeTimeToLive {name}"), e))?;
    let status = out
        .time_to_live_description()
        .and_then(|d| d.time_to_live_status());
    if matches!(
        status,
        Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
    ) {
        return Ok(());
    }
    let spec = TimeToLiveSpecification::builder()
        .attribute_name(keys::EXPIRES_AT)
        .enabled(true)
        .build()?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(spec)
        .send()
        .await
        .map_err(|e| AwsError::api(format!("UpdateTimeToLive {name}"), e))?;
    Ok(())
}

/// Creates (or finds) each stage's queue and dead-letter queue, sets the redrive policy
/// (`maxReceiveCount = max_receives`) and a 14-day retention on the dead-letter queues, and
/// returns an adapter with the URLs resolved once.
pub async fn ensure_queues(
    client: &aws_sdk_sqs::Client,
    prefix: &str,
    max_receives: u32,
) -> Result<SqsQueue, AwsError> {
    check_prefix(prefix)?;
    if max_receives == 0 || max_receives > 1000 {
        return Err(AwsError::Mismatch(format!(
            "max_receives must be 1 to 1000 (SQS maxReceiveCount), got {max_receives}"
        )));
    }
    let mut urls = Vec::new();
    for stage in Stage::ALL {
        let dlq_name = dead_letter_queue_name(prefix, stage);
        let dead_letter = get_or_create_queue(client, &dlq_name).await?;
        client
            .set_queue_attributes()
            .queue_url(&dead_letter)
            .attributes(
                QueueAttributeName::MessageRetentionPeriod,
                DEAD_LETTER_RETENTION_SECS.to_string(),
            )
            .send()
            .await
            .map_err(|e| AwsError::api(format!("SetQueueAttributes {dlq_name}"), e))?;
        let arn = client
            .get_queue_attributes()
            .queue_url(&dead_letter)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| AwsError::api(format!("GetQueueAttributes {dlq_name}"), e))?
            .attributes
            .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
            .ok_or_else(|| AwsError::Mismatch(format!("queue {dlq_name} has no ARN")))?;

        let name = queue_name(prefix, stage);
        let queue = get_or_create_queue(client, &name).await?;
        let redrive =
            serde_json::json!({ "deadLetterTargetArn": arn, "maxReceiveCount": max_receives });
        client
            .set_queue_attributes()
            .queue_url(&queue)
            .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
            .send()
            .await
            .map_err(|e| AwsError::api(format!("SetQueueAttributes {name}"), e))?;
        urls.push((stage, QueueUrls { queue, dead_letter }));
    }
    SqsQueue::from_urls(client.clone(), urls, max_receives)
}

async fn get_or_create_queue(client: &aws_sdk_sqs::Client, name: &str) -> Result<String, AwsError> {
    match client.get_queue_url().queue_name(name).send().await {
        Ok(out) => {
            if let Some(url) = out.queue_url {
                return Ok(url);
            }
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_queue_does_not_exist()) => {}
        Err(e) => return Err(AwsError::api(format!("GetQueueUrl {name}"), e)),
    }
    client
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .map_err(|e| AwsError::api(format!("CreateQueue {name}"), e))?
        .queue_url
        .ok_or_else(|| AwsError::Mismatch(format!("CreateQueue {name} returned no URL")))
}
