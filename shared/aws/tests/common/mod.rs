//! Shared setup for the tests against the AWS emulator.
//!
//! The tests need `AWS_ENDPOINT_URL` (start the emulator with
//! `eval "$(scripts/emulator.sh start)"`). Without it they print a notice and pass, unless
//! `CI=true`, where a missing emulator fails them. Dummy credentials and region are put in the
//! environment here (once, before any SDK call), never by the library.

#![allow(dead_code)]

use aws_config::SdkConfig;
use handoff_aws::{ensure_queues, ensure_table, DynamoStore, SqsQueue};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// The SDK configuration for the emulator, or `None` (after a notice) when it is not
/// configured outside CI.
pub async fn emulator() -> Option<SdkConfig> {
    handoff_testkit::emulator::with_test_credentials()?;
    Some(handoff_aws::aws_config_from_env().await)
}

/// A short random suffix for resource names, unique within and across test runs.
pub fn suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    format!("{:012x}", h.finish() & 0xffff_ffff_ffff)
}

/// A fresh table on the emulator.
pub async fn fresh_table(config: &SdkConfig) -> (aws_sdk_dynamodb::Client, String) {
    let client = aws_sdk_dynamodb::Client::new(config);
    let table = format!("handoff-test-{}", suffix());
    ensure_table(&client, &table)
        .await
        .expect("create table on the emulator");
    (client, table)
}

/// A store on a fresh table with the default due shards, or `None` without an emulator.
pub async fn fresh_store() -> Option<DynamoStore> {
    let config = emulator().await?;
    let (client, table) = fresh_table(&config).await;
    Some(DynamoStore::new(client, table))
}

/// Stage queues under a fresh prefix with `max_receives`, or `None` without an emulator.
pub async fn fresh_queue(max_receives: u32) -> Option<SqsQueue> {
    let config = emulator().await?;
    let client = aws_sdk_sqs::Client::new(&config);
    let prefix = format!("ht-{}", suffix());
    Some(
        ensure_queues(&client, &prefix, max_receives)
            .await
            .expect("create queues on the emulator"),
    )
}
