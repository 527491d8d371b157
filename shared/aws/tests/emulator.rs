//! Adapter-specific tests on the emulator: provisioning, the sharded due index, versioned
//! rules, thread and one-time-token items. (The port behaviour itself is covered by `conformance.rs`.)
//! Without `AWS_ENDPOINT_URL` each test prints a notice and returns (fails under `CI=true`).

mod common;

use handoff_aws::queue::{dead_letter_queue_name, queue_name};
use handoff_aws::{
    ensure_queues, ensure_table, push_rules, AwsError, DynamoRules, DynamoStore, PushRulesError,
    SqsQueue,
};
use handoff_domain::ports::{
    DueHandoff, HandoffStore, RulesSource, RulesSourceError, Stage, StageQueue,
};
use handoff_testkit::fixtures::{self, at};
use std::time::Duration;

const RULES: &str = include_str!("../../../examples/handoff.toml");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ensure_table_is_idempotent_and_refuses_a_foreign_table() {
    let Some(config) = common::emulator().await else {
        return;
    };
    let (client, table) = common::fresh_table(&config).await;
    ensure_table(&client, &table)
        .await
        .expect("second ensure_table is a no-op");
    let ttl = client
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!(ttl.attribute_name(), Some("expires_at"));

    // A table with the same name but without our indexes is reported, not silently used.
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let foreign = format!("foreign-{}", common::suffix());
    let mut create = client
        .create_table()
        .table_name(&foreign)
        .billing_mode(BillingMode::PayPerRequest);
    for (name, kind) in [("PK", KeyType::Hash), ("SK", KeyType::Range)] {
        create = create
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(name)
                    .key_type(kind)
                    .build()
                    .unwrap(),
            )
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            );
    }
    create.send().await.unwrap();
    match ensure_table(&client, &foreign).await {
        Err(AwsError::Mismatch(why)) => assert!(why.contains("contact"), "{why}"),
        other => panic!("expected Mismatch, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ensure_queues_is_idempotent_and_connect_finds_the_same_urls() {
    let Some(config) = common::emulator().await else {
        return;
    };
    let client = aws_sdk_sqs::Client::new(&config);
    let prefix = format!("ht-{}", common::suffix());
    let first = ensure_queues(&client, &prefix, 5).await.unwrap();
    let second = ensure_queues(&client, &prefix, 5).await.unwrap();
    let connected = SqsQueue::connect(client.clone(), &prefix, 5).await.unwrap();
    for stage in Stage::ALL {
        assert_eq!(first.urls(stage), second.urls(stage));
        assert_eq!(first.urls(stage), connected.urls(stage));
        assert!(first
            .urls(stage)
            .queue
            .ends_with(&queue_name(&prefix, stage)));
        assert!(first
            .urls(stage)
            .dead_letter
            .ends_with(&dead_letter_queue_name(&prefix, stage)));
        let attrs = client
            .get_queue_attributes()
            .queue_url(&first.urls(stage).queue)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
            .send()
            .await
            .unwrap();
        let policy = attrs
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy))
            .expect("redrive policy set");
        let policy: serde_json::Value = serde_json::from_str(policy).unwrap();
        assert_eq!(policy["maxReceiveCount"].to_string().trim_matches('"'), "5");
        assert!(policy["deadLetterTargetArn"]
            .as_str()
            .unwrap()
            .ends_with("-dlq"));
    }
    assert!(SqsQueue::connect(client, "ht-does-not-exist-x", 5)
        .await
        .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_sets_handoff_id_and_stage_attributes() {
    let Some(config) = common::emulator().await else {
        return;
    };
    let client = aws_sdk_sqs::Client::new(&config);
    let queue = ensure_queues(&client, &format!("ht-{}", common::suffix()), 3)
        .await
        .unwrap();
    let message = fixtures::stage_message("attrs-1", Stage::Assign);
    queue
        .send(Stage::Assign, std::slice::from_ref(&message))
        .await
        .unwrap();
    let out = client
        .receive_message()
        .queue_url(&queue.urls(Stage::Assign).queue)
        .message_attribute_names("All")
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    let attrs = out.messages()[0].message_attributes().unwrap();
    assert_eq!(
        attrs["handoff_id"].string_value(),
        Some(message.handoff_id.as_str())
    );
    assert_eq!(attrs["stage"].string_value(), Some("assign"));
}

/// The sharded `due` index: every due handoff once, in deadline order, across pages, and
/// reads stay close to the page (one look-ahead per shard at most, plus re-reads).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_due_index_pages_in_deadline_order() {
    let Some(config) = common::emulator().await else {
        return;
    };
    let (client, table) = common::fresh_table(&config).await;
    let store = DynamoStore::new(client, table).with_due_shards(4);
    let mut due = Vec::new();
    for n in 0..13i64 {
        // Deadlines interleave across shards; two share a minute.
        let r = fixtures::seed_awaiting(&store, &format!("shard-{n}"), "lena", at(n.min(11))).await;
        due.push(DueHandoff {
            id: r.id.clone(),
            due_at: r.due_at().unwrap(),
        });
    }
    fixtures::seed_awaiting(&store, "shard-late", "lena", at(60)).await;
    due.sort_by(|a, b| (a.due_at, &a.id).cmp(&(b.due_at, &b.id)));

    for limit in [1usize, 2, 5, 12, 13, 14, 100] {
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = store.due(at(30), limit, cursor.take()).await.unwrap();
            let remaining = due.len() - seen.len();
            assert_eq!(page.items.len(), remaining.min(limit), "limit {limit}");
            assert_eq!(page.next.is_some(), remaining > limit, "limit {limit}");
            assert!(page.items_read >= page.items.len());
            assert!(
                page.items_read <= page.items.len() + 1 + 3 * limit.min(4) + 3,
                "limit {limit}: read {} for {} items",
                page.items_read,
                page.items.len()
            );
            seen.extend(page.items);
            match page.next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(
            seen, due,
            "limit {limit}: every due handoff once, earliest first"
        );
    }

    // A cursor from another shard count is refused, not misread.
    let page = store.due(at(30), 1, None).await.unwrap();
    let one_shard = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), store.table());
    assert!(one_shard.due(at(30), 1, page.next).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_are_versioned_validated_and_cached() {
    let Some(config) = common::emulator().await else {
        return;
    };
    let (client, table) = common::fresh_table(&config).await;

    let none = DynamoRules::new(client.clone(), &table);
    match none.current().await {
        Err(RulesSourceError::Unavailable(why)) => assert!(why.contains("no rules"), "{why}"),
        other => panic!("expected Unavailable, got {:?}", other.map(|_| ())),
    }

    match push_rules(&client, &table, "bad.toml", "[org]\nname = 1\n").await {
        Err(PushRulesError::Invalid(e)) => assert!(e.to_string().starts_with("bad.toml:"), "{e}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert_eq!(
        handoff_aws::rules::current_rules_version(&client, &table)
            .await
            .unwrap(),
        None
    );

    assert_eq!(
        push_rules(&client, &table, "handoff.toml", RULES)
            .await
            .unwrap(),
        1
    );
    let cached = DynamoRules::new(client.clone(), &table).with_ttl(Duration::from_secs(3600));
    let live = DynamoRules::new(client.clone(), &table).with_ttl(Duration::ZERO);
    assert_eq!(
        cached.current().await.unwrap().org.name,
        "Northwind Analytics"
    );
    assert_eq!(
        live.current().await.unwrap().org.name,
        "Northwind Analytics"
    );

    let renamed = RULES.replacen(
        "name = \"Northwind Analytics\"",
        "name = \"Northwind v2\"",
        1,
    );
    assert_eq!(
        push_rules(&client, &table, "handoff.toml", &renamed)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        live.current().await.unwrap().org.name,
        "Northwind v2",
        "a zero TTL sees the push at once"
    );
    assert_eq!(live.loaded_version(), Some(2));
    assert_eq!(
        cached.current().await.unwrap().org.name,
        "Northwind Analytics",
        "within its TTL the cache holds"
    );
    assert_eq!(cached.loaded_version(), Some(1));

    // Racing pushes never both take the same version.
    let results = tokio::join!(
        push_rules(&client, &table, "a.toml", RULES),
        push_rules(&client, &table, "b.toml", &renamed),
    );
    let won: Vec<u64> = [&results.0, &results.1]
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    for r in [&results.0, &results.1] {
        if let Err(e) = r {
            assert!(matches!(e, PushRulesError::Conflict { .. }), "{e:?}");
        }
    }
    assert!(!won.is_empty());
    assert_eq!(
        handoff_aws::rules::current_rules_version(&client, &table)
            .await
            .unwrap(),
        Some(2 + won.len() as u64)
    );
}

/// Thread items carry the table's TTL attribute (180 days after the put), one-time tokens their
/// `remember_until`; both under their own key prefixes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thread_and_once_items_carry_the_ttl_attribute() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use handoff_connectors::once::OnceTokens;
    use handoff_domain::ports::ThreadIndex;

    let Some(config) = common::emulator().await else {
        return;
    };
    let (client, table) = common::fresh_table(&config).await;
    let store = DynamoStore::new(client.clone(), &table);
    let expires_at = |pk: String, sk: &'static str| {
        let (client, table) = (client.clone(), table.clone());
        async move {
            let item = client
                .get_item()
                .table_name(table)
                .key("PK", AttributeValue::S(pk))
                .key("SK", AttributeValue::S(sk.into()))
                .consistent_read(true)
                .send()
                .await
                .unwrap()
                .item
                .expect("item exists");
            match item.get("expires_at") {
                Some(AttributeValue::N(n)) => n.parse::<i64>().unwrap(),
                other => panic!("expires_at is {other:?}"),
            }
        }
    };

    let thread = handoff_testkit::threads::thread("thr-ttl", &["<Ab@Mail.Example.com>", "tok-1"]);
    let before = chrono::Utc::now();
    store.put_thread(&thread).await.unwrap();
    let after = chrono::Utc::now();
    for key in ["ab@mail.example.com", "tok-1"] {
        let exp = expires_at(format!("TH#{key}"), "THREAD").await;
        let days = chrono::Duration::days(180);
        assert!(exp >= (before + days).timestamp() && exp <= (after + days).timestamp());
    }

    assert!(store.use_once("tok-9", at(10), at(0)).await.unwrap());
    assert_eq!(
        expires_at("ONCE#tok-9".into(), "ONCE").await,
        at(10).timestamp()
    );
}
