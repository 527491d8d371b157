//! [`DynamoRules`]: rules and roster as versioned items in the handoff table, so a rules change
//! is a [`push_rules`] and no rebuild or redeploy.
//!
//! | `PK` | `SK` | attributes |
//! |---|---|---|
//! | `RULES` | `V#<version, 6+ digits>` | `toml` (the document), `source` (file name), `pushed_at` |
//! | `RULES` | `CURRENT` | `n` (the newest version) |
//!
//! A push validates the document with [`Rules::from_toml`] first, then writes the new version
//! and moves `CURRENT` in one transaction conditional on `CURRENT` still naming the version it
//! read, so two concurrent pushes cannot both win. Versions are never overwritten: rolling back
//! is pushing the old text again.
//!
//! Readers keep the parsed rules in memory and look at `CURRENT` again once the cache is older
//! than its TTL (default [`DEFAULT_RULES_TTL`]); if that read fails they keep serving the rules
//! they have.

use crate::error::AwsError;
use crate::store::codec::{get_n, get_s, key, n, s, Item};
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use handoff_domain::config::{Rules, RulesError};
use handoff_domain::ports::{RulesSource, RulesSourceError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use thiserror::Error;

/// How long loaded rules are used before `CURRENT` is checked again.
pub const DEFAULT_RULES_TTL: Duration = Duration::from_secs(60);

const RULES_PK: &str = "RULES";
const CURRENT_SK: &str = "CURRENT";
const TOML: &str = "toml";
const SOURCE: &str = "source";
const PUSHED_AT: &str = "pushed_at";

fn version_sk(version: u64) -> String {
    format!("V#{version:06}")
}

/// Why [`push_rules`] refused or failed.
#[derive(Debug, Error)]
pub enum PushRulesError {
    /// The document does not load; nothing was written.
    #[error(transparent)]
    Invalid(#[from] RulesError),
    /// Another push moved `CURRENT` since it was read; nothing was written.
    #[error("rules changed concurrently (current version is no longer {expected}); push again")]
    Conflict {
        /// The version this push expected to replace.
        expected: u64,
    },
    /// DynamoDB failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// The newest pushed version, if any.
pub async fn current_rules_version(client: &Client, table: &str) -> Result<Option<u64>, AwsError> {
    let out = client
        .get_item()
        .table_name(table)
        .set_key(Some(key(RULES_PK, CURRENT_SK)))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| AwsError::api(format!("GetItem {table} RULES/CURRENT"), e))?;
    out.item
        .map(|item| get_n::<u64>(&item, "n"))
        .transpose()
        .map_err(|e| AwsError::Mismatch(e.to_string()))
}

/// Validates `text` (named `source` in errors) and stores it as the next version of the rules;
/// returns that version (1 for the first push).
pub async fn push_rules(
    client: &Client,
    table: &str,
    source: &str,
    text: &str,
) -> Result<u64, PushRulesError> {
    Rules::from_toml(source, text)?;
    let previous = current_rules_version(client, table).await?.unwrap_or(0);
    let version = previous + 1;

    let mut item = key(RULES_PK, version_sk(version));
    item.insert(TOML.into(), s(text));
    item.insert(SOURCE.into(), s(source));
    item.insert(
        PUSHED_AT.into(),
        s(crate::store::keys::timestamp(chrono::Utc::now())),
    );
    let mut current = key(RULES_PK, CURRENT_SK);
    current.insert("n".into(), n(version));

    let put_version = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(PK)");
    let put_current = Put::builder().table_name(table).set_item(Some(current));
    let put_current = if previous == 0 {
        put_current.condition_expression("attribute_not_exists(PK)")
    } else {
        put_current
            .condition_expression("#n = :previous")
            .expression_attribute_names("#n", "n")
            .expression_attribute_values(":previous", n(previous))
    };
    let items = vec![
        TransactWriteItem::builder()
            .put(put_version.build().map_err(AwsError::from)?)
            .build(),
        TransactWriteItem::builder()
            .put(put_current.build().map_err(AwsError::from)?)
            .build(),
    ];
    match client
        .transact_write_items()
        .set_transact_items(Some(items))
        .send()
        .await
    {
        Ok(_) => {
            tracing::info!(table, version, source, "pushed rules");
            Ok(version)
        }
        Err(e) => match e.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(tce))
                if tce.cancellation_reasons().iter().any(|r| {
                    matches!(
                        r.code(),
                        Some("ConditionalCheckFailed" | "TransactionConflict")
                    )
                }) =>
            {
                Err(PushRulesError::Conflict { expected: previous })
            }
            _ => Err(AwsError::api(format!("TransactWriteItems {table} RULES"), e).into()),
        },
    }
}

struct Cached {
    version: u64,
    rules: Arc<Rules>,
    checked: Instant,
}

/// The rules of the newest pushed version, cached for a TTL. Build once per process.
pub struct DynamoRules {
    client: Client,
    table: String,
    ttl: Duration,
    cache: Mutex<Option<Cached>>,
    /// One refresh at a time; the others wait for it and use its result.
    refresh: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for DynamoRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoRules")
            .field("table", &self.table)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl DynamoRules {
    /// Rules from `table`, cached for [`DEFAULT_RULES_TTL`].
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            ttl: DEFAULT_RULES_TTL,
            cache: Mutex::new(None),
            refresh: tokio::sync::Mutex::new(()),
        }
    }

    /// Sets how long loaded rules are used before `CURRENT` is read again (`ZERO`: every call).
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The version of the rules last loaded, if any.
    pub fn loaded_version(&self) -> Option<u64> {
        self.lock().as_ref().map(|c| c.version)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Cached>> {
        // The cache holds plain data: a panic elsewhere cannot leave it half-written.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fresh(&self) -> Option<Arc<Rules>> {
        self.lock()
            .as_ref()
            .filter(|c| c.checked.elapsed() < self.ttl)
            .map(|c| c.rules.clone())
    }

    async fn load(&self) -> Result<Arc<Rules>, RulesSourceError> {
        let unavailable = |e: AwsError| RulesSourceError::Unavailable(e.to_string());
        let version = current_rules_version(&self.client, &self.table)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| {
                RulesSourceError::Unavailable(format!(
                    "no rules pushed to table {} yet (push a rules file first)",
                    self.table
                ))
            })?;
        if let Some(c) = self.lock().as_mut().filter(|c| c.version == version) {
            c.checked = Instant::now();
            return Ok(c.rules.clone());
        }
        let item = self
            .get(version_sk(version))
            .await
            .map_err(unavailable)?
            .ok_or_else(|| {
                RulesSourceError::Unavailable(format!(
                    "rules version {version} named by CURRENT is missing"
                ))
            })?;
        let text = get_s(&item, TOML).map_err(|e| RulesSourceError::Unavailable(e.to_string()))?;
        let name = format!("dynamodb:{}/RULES/{}", self.table, version_sk(version));
        let rules = Arc::new(Rules::from_toml(&name, text)?);
        tracing::info!(table = %self.table, version, "loaded rules");
        *self.lock() = Some(Cached {
            version,
            rules: rules.clone(),
            checked: Instant::now(),
        });
        Ok(rules)
    }

    async fn get(&self, sk: String) -> Result<Option<Item>, AwsError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(RULES_PK, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| AwsError::api(format!("GetItem {} RULES", self.table), e))?;
        Ok(out.item)
    }
}

#[async_trait]
impl RulesSource for DynamoRules {
    async fn current(&self) -> Result<Arc<Rules>, RulesSourceError> {
        if let Some(rules) = self.fresh() {
            return Ok(rules);
        }
        let _gate = self.refresh.lock().await;
        if let Some(rules) = self.fresh() {
            return Ok(rules);
        }
        match self.load().await {
            Ok(rules) => Ok(rules),
            Err(err) => {
                // Keep serving what we have (also when a stored version no longer loads);
                // look again after another TTL.
                let mut cache = self.lock();
                match cache.as_mut() {
                    Some(c) => {
                        tracing::warn!(table = %self.table, version = c.version, error = %err, "rules refresh failed; using cached rules");
                        c.checked = Instant::now();
                        Ok(c.rules.clone())
                    }
                    None => Err(err),
                }
            }
        }
    }
}
