//! Commands that act on a deployed table (feature `aws`): push rules, set rep availability.
//! Credentials, region and endpoint come from the usual AWS environment.

use anyhow::{Context, Result};
use handoff_domain::ports::{AvailabilityOverride, HandoffStore};

/// Validates `file` (also what only the cloud needs: a real CRM or none, and a `[notify.*]`
/// table for every channel a rep is notified on) and stores it as the next rules version; returns the version.
pub async fn push_rules(file: &str, table: &str) -> Result<u64> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {file}"))?;
    let rules = handoff_domain::config::Rules::from_toml(file, &text)?;
    let problems = rules.cloud_problems();
    anyhow::ensure!(
        problems.is_empty(),
        "{file}: these rules cannot run in the cloud:\n  - {}",
        problems.join("\n  - ")
    );
    let sdk = handoff_aws::aws_config_from_env().await;
    let client = handoff_aws::config::dynamodb_client(&sdk);
    let version = handoff_aws::push_rules(&client, table, file, &text).await?;
    Ok(version)
}

/// Stores a rep's availability override in the table.
pub async fn set_availability(table: &str, value: &AvailabilityOverride) -> Result<()> {
    let sdk = handoff_aws::aws_config_from_env().await;
    let store = handoff_aws::DynamoStore::new(handoff_aws::config::dynamodb_client(&sdk), table);
    store
        .set_availability(value)
        .await
        .context("cannot store the availability override")?;
    Ok(())
}
