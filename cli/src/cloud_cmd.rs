//! Commands that act on a deployed table (feature `aws`): push rules, set rep availability.
//!
//! They run on an operator's machine, so the SDK configuration comes from [`sdk_config`]:
//! `--profile` / `--region` when given, else the usual AWS environment and `~/.aws` files —
//! including IAM Identity Center (SSO) profiles and `credential_process` — and never a guessed
//! region. Every cloud command (also `erase --table`) builds its clients from it.

use anyhow::{Context, Result};
use handoff_aws::config::SdkConfig;
use handoff_domain::ports::{AvailabilityOverride, HandoffStore};

/// The SDK configuration for an operator command: `profile` (else `AWS_PROFILE`, else
/// `default`) and `region` (else `AWS_REGION` / `AWS_DEFAULT_REGION`, else the profile's).
/// Fails with "no AWS region: …" when no region is set anywhere. `AWS_ENDPOINT_URL` (the
/// emulator) is honoured.
pub async fn sdk_config(profile: Option<&str>, region: Option<&str>) -> Result<SdkConfig> {
    Ok(handoff_aws::config::operator_config(profile, region).await?)
}

/// Validates `file` (also what only the cloud needs: a real CRM or none, and a `[notify.*]`
/// table for every channel a rep is notified on) and stores it as the next rules version; returns the version.
/// The file is checked before AWS is: a bad file is reported without credentials.
pub async fn push_rules(
    file: &str,
    table: &str,
    profile: Option<&str>,
    region: Option<&str>,
) -> Result<u64> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {file}"))?;
    let rules = handoff_domain::config::Rules::from_toml(file, &text)?;
    let problems = rules.cloud_problems();
    anyhow::ensure!(
        problems.is_empty(),
        "{file}: these rules cannot run in the cloud:\n  - {}",
        problems.join("\n  - ")
    );
    for note in rules.cloud_notes() {
        eprintln!("warning: {file}: {note}");
    }
    let sdk = sdk_config(profile, region).await?;
    let client = handoff_aws::config::dynamodb_client(&sdk);
    let version = handoff_aws::push_rules(&client, table, file, &text)
        .await
        .with_context(|| format!("cannot store the rules in {table}"))?;
    Ok(version)
}

/// Stores a rep's availability override in the table.
pub async fn set_availability(
    table: &str,
    value: &AvailabilityOverride,
    profile: Option<&str>,
    region: Option<&str>,
) -> Result<()> {
    let sdk = sdk_config(profile, region).await?;
    let store = handoff_aws::DynamoStore::new(handoff_aws::config::dynamodb_client(&sdk), table);
    store
        .set_availability(value)
        .await
        .with_context(|| format!("cannot store the availability override in {table}"))?;
    Ok(())
}
