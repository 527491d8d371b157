//! The port conformance suites of `handoff-testkit`, unchanged, against [`DynamoStore`] (also
//! as `ThreadIndex` and `OnceTokens`) and [`SqsQueue`] on the emulator at `AWS_ENDPOINT_URL`. Each test gets its own table / queue
//! prefix. Without `AWS_ENDPOINT_URL` each test prints a notice and returns (fails under
//! `CI=true`): see `common`.

mod common;

#[allow(unused_imports)]
use handoff_aws::{DynamoStore, SqsQueue};

// `return` inside the block leaves the generated test early when no emulator is configured.
handoff_testkit::store_conformance!(mod dynamo_store, {
    let Some(store) = common::fresh_store().await else { return };
    std::future::ready(store)
});

handoff_testkit::store_privacy_conformance!(mod dynamo_privacy, {
    let Some(store) = common::fresh_store().await else { return };
    std::future::ready(store.with_retention(handoff_testkit::store::privacy::retention()))
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_retention_nothing_expires() {
    let Some(store) = common::fresh_store().await else {
        return;
    };
    handoff_testkit::store::privacy::case_without_retention_nothing_expires(&store).await;
}

handoff_testkit::thread_index_suite!(mod dynamo_threads, {
    let Some(store) = common::fresh_store().await else { return };
    std::future::ready(store)
});

handoff_testkit::once_token_suite!(mod dynamo_once, {
    let Some(store) = common::fresh_store().await else { return };
    std::future::ready(store)
});

handoff_testkit::queue_conformance!(mod sqs_queue, {
    let Some(queue) = common::fresh_queue(handoff_testkit::queue::MAX_RECEIVES).await else { return };
    std::future::ready(queue)
});
