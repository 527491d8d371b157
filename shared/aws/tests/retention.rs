//! What DynamoDB's TTL will act on: the `expires_at` attributes [`DynamoStore`] writes on a
//! handoff's items under a retention (the port only shows the record's; the timeline items'
//! scheme is the adapter's own, see `docs/data-model.md`). Needs the emulator (see `common`).

mod common;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Duration;
use handoff_aws::store::keys;
use handoff_aws::DynamoStore;
use handoff_domain::lifecycle::{State, Transition};
use handoff_domain::ports::HandoffStore;
use handoff_domain::privacy::TIMELINE_GRACE_DAYS;
use handoff_testkit::fixtures::{self, at};

/// `expires_at` of every item in a handoff's partition, by sort key.
async fn expiries(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    id: &handoff_domain::ids::HandoffId,
) -> Vec<(String, Option<i64>)> {
    let out = client
        .query()
        .table_name(table)
        .key_condition_expression("PK = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(keys::handoff_pk(id)))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    out.items()
        .iter()
        .map(|item| {
            let sk = item[keys::SK].as_s().unwrap().clone();
            let exp = item
                .get(keys::EXPIRES_AT)
                .map(|v| v.as_n().unwrap().parse().unwrap());
            (sk, exp)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_entries_get_the_grace_closing_writes_the_records_expiry() {
    let Some(config) = common::emulator().await else {
        return;
    };
    let (client, table) = common::fresh_table(&config).await;
    let keep = Duration::days(30);
    let store = DynamoStore::new(client.clone(), &table).with_retention(keep);
    let mut record = fixtures::seed_awaiting(&store, "ttl-1", "lena", at(60)).await;
    let grace = keep + Duration::days(TIMELINE_GRACE_DAYS);
    let open = expiries(&client, &table, &record.id).await;
    assert_eq!(
        open,
        vec![
            ("META".to_string(), None),
            (
                keys::timeline_sk(1),
                Some((fixtures::t0() + grace).timestamp())
            ),
            (
                keys::timeline_sk(2),
                Some((fixtures::t0() + grace).timestamp())
            ),
            (
                keys::timeline_sk(3),
                Some((fixtures::t0() + grace).timestamp())
            ),
        ]
    );

    fixtures::advance(&store, &mut record, Transition::Accept, at(45)).await;
    let closed = expiries(&client, &table, &record.id).await;
    let record_expiry = (at(45) + keep).timestamp();
    assert_eq!(closed[0], ("META".to_string(), Some(record_expiry)));
    assert_eq!(closed[4], (keys::timeline_sk(4), Some(record_expiry)));
    // Entries written while open outlive the record by the grace minus the time to close.
    for (_, exp) in &closed[1..4] {
        assert!(exp.unwrap() >= record_expiry, "{closed:?}");
    }
    assert_eq!(
        store.expires_at(&record.id).await.unwrap(),
        Some(at(45) + keep)
    );

    // A store without retention writes no expiry at all (today's behaviour).
    let plain = DynamoStore::new(client.clone(), &table);
    let kept = fixtures::seed_in_state(
        &plain,
        "ttl-2",
        "sam@acme.com",
        at(1),
        State::ClosedWithoutHandoff,
        at(60),
    )
    .await;
    assert!(expiries(&client, &table, &kept.id)
        .await
        .iter()
        .all(|(_, exp)| exp.is_none()));
}
