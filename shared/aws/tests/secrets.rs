//! [`SecretsManagerSource`] against Secrets Manager on the emulator: reading, caching,
//! rotation after the TTL, missing secrets, the cold-start prefetch and serving the last value
//! when a refresh fails. Without `AWS_ENDPOINT_URL` each test prints a notice and returns
//! (fails under `CI=true`): see `common`.

mod common;

use aws_sdk_secretsmanager::Client;
use handoff_aws::config::secretsmanager_client;
use handoff_aws::SecretsManagerSource;
use handoff_connectors::secrets::SecretSource;
use std::time::Duration;

/// A short TTL the tests wait out.
const TTL: Duration = Duration::from_millis(400);

/// A client and a prefix no other test uses.
async fn setup() -> Option<(Client, String)> {
    let config = common::emulator().await?;
    Some((
        secretsmanager_client(&config),
        format!("handoff/test-{}/providers/", common::suffix()),
    ))
}

async fn create(client: &Client, id: &str, value: &str) {
    client
        .create_secret()
        .name(id)
        .secret_string(value)
        .send()
        .await
        .expect("create secret on the emulator");
}

async fn values(source: &SecretsManagerSource, provider: &str) -> Option<Vec<String>> {
    source
        .secrets(provider)
        .await
        .expect("secrets readable")
        .map(|s| s.values().map(str::to_string).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_caches_and_follows_a_rotation_after_the_ttl() {
    let Some((client, prefix)) = setup().await else {
        return;
    };
    let id = format!("{prefix}typeform");
    create(&client, &id, "v1-new , v1-old").await;
    let source = SecretsManagerSource::new(client.clone(), &prefix).with_ttl(TTL);
    assert_eq!(source.location("typeform"), format!("secret {id}"));
    assert_eq!(
        values(&source, "typeform").await,
        Some(vec!["v1-new".into(), "v1-old".into()])
    );

    // Rotation: the new value first, the old one still accepted.
    client
        .put_secret_value()
        .secret_id(&id)
        .secret_string("v2,v1-new")
        .send()
        .await
        .unwrap();
    assert_eq!(
        values(&source, "typeform").await,
        Some(vec!["v1-new".into(), "v1-old".into()]),
        "within the TTL the cached value is used"
    );
    tokio::time::sleep(TTL + Duration::from_millis(100)).await;
    assert_eq!(
        values(&source, "typeform").await,
        Some(vec!["v2".into(), "v1-new".into()]),
        "after the TTL the rotation is seen without a restart"
    );

    // A Basic-auth provider's `user:password` comes through as is.
    create(&client, &format!("{prefix}hubspot"), "handoff:pa55:word").await;
    let basic = source.secrets("hubspot").await.unwrap().unwrap();
    assert_eq!(basic.current(), "handoff:pa55:word");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_secret_is_none_and_is_checked_again_after_the_ttl() {
    let Some((client, prefix)) = setup().await else {
        return;
    };
    let source = SecretsManagerSource::new(client.clone(), &prefix).with_ttl(TTL);
    assert_eq!(values(&source, "calendly").await, None);

    create(&client, &format!("{prefix}calendly"), "signing-key").await;
    assert_eq!(
        values(&source, "calendly").await,
        None,
        "the missing answer is cached for the TTL"
    );
    tokio::time::sleep(TTL + Duration::from_millis(100)).await;
    assert_eq!(
        values(&source, "calendly").await,
        Some(vec!["signing-key".into()])
    );

    // A blank value configures nothing.
    create(&client, &format!("{prefix}tally"), " , ").await;
    assert_eq!(values(&source, "tally").await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefetch_loads_every_provider_at_once() {
    let Some((client, prefix)) = setup().await else {
        return;
    };
    // More providers than one BatchGetSecretValue call takes (20).
    let providers: Vec<String> = (0..23).map(|i| format!("provider{i}")).collect();
    for (i, p) in providers.iter().enumerate() {
        create(&client, &format!("{prefix}{p}"), &format!("secret-{i}")).await;
    }
    let mut asked: Vec<&str> = providers.iter().map(String::as_str).collect();
    asked.push("missing");
    asked.push("provider0");

    let source =
        SecretsManagerSource::new(client.clone(), &prefix).with_ttl(Duration::from_secs(3600));
    source.prefetch(&asked).await.expect("prefetch");

    // Everything is served from memory now: deleting the secrets changes nothing.
    for p in &providers {
        client
            .delete_secret()
            .secret_id(format!("{prefix}{p}"))
            .force_delete_without_recovery(true)
            .send()
            .await
            .unwrap();
    }
    for (i, p) in providers.iter().enumerate() {
        assert_eq!(
            values(&source, p).await,
            Some(vec![format!("secret-{i}")]),
            "{p}"
        );
    }
    assert_eq!(values(&source, "missing").await, None);
    // A fresh source sees the deletions.
    let fresh = SecretsManagerSource::new(client, &prefix);
    assert_eq!(values(&fresh, "provider3").await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_refresh_keeps_serving_the_last_value() {
    let Some((client, prefix)) = setup().await else {
        return;
    };
    let id = format!("{prefix}calcom");
    create(&client, &id, "still-good").await;
    let source = SecretsManagerSource::new(client.clone(), &prefix).with_ttl(TTL);
    assert_eq!(
        values(&source, "calcom").await,
        Some(vec!["still-good".into()])
    );

    // Scheduled for deletion: GetSecretValue now fails with InvalidRequestException, which is
    // not "no such secret".
    client
        .delete_secret()
        .secret_id(&id)
        .recovery_window_in_days(7)
        .send()
        .await
        .unwrap();
    tokio::time::sleep(TTL + Duration::from_millis(100)).await;
    assert_eq!(
        values(&source, "calcom").await,
        Some(vec!["still-good".into()]),
        "the last value is served while the refresh fails"
    );
    let fresh = SecretsManagerSource::new(client.clone(), &prefix);
    let err = fresh.secrets("calcom").await.unwrap_err();
    assert!(err.0.contains(&id), "{err}");
    assert!(fresh.prefetch(&["calcom"]).await.is_err());
}
