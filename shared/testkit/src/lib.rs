//! # handoff-testkit
//!
//! One conformance suite per port, run unchanged against every adapter (the embedded SQLite
//! adapters in `handoff-local`, the DynamoDB/SQS adapters in `handoff-aws`), plus fixtures
//! other crates' tests can share.
//!
//! - [`store`]: the [`HandoffStore`](handoff_domain::ports::HandoffStore) cases, run by
//!   [`store_conformance!`].
//! - [`queue`]: the [`StageQueue`](handoff_domain::ports::StageQueue) cases, run by
//!   [`queue_conformance!`].
//! - [`delivery`]: idempotency cases for [`Crm`](handoff_domain::ports::Crm) and
//!   [`Notifier`](handoff_domain::ports::Notifier), run by [`crm_conformance!`] and
//!   [`notifier_conformance!`].
//! - [`threads`]: the [`ThreadIndex`](handoff_domain::ports::ThreadIndex) cases, run by
//!   [`thread_index_suite!`].
//! - [`once`]: the [`OnceTokens`](handoff_connectors::once::OnceTokens) cases, run by
//!   [`once_token_suite!`].
//! - [`bedrock`]: a local Bedrock Runtime `Converse` that checks the documented request (the
//!   judge's tests), with the faults of [`standin`] like the other API stand-ins.
//! - [`faults`]: a fault-injecting wrapper for every port (throttling, timeouts, server errors,
//!   rejections, errors after the write), driven by a scripted or seeded [`faults::FaultPlan`],
//!   and the seeded fault [`faults::campaign`] that runs the pipeline through them on any store.
//! - [`fixtures`]: sample events, records, packages and helpers that move a record through
//!   the state machine (to an owner with an SLA deadline, to accepted…).
//! - [`subject`]: how a suite gets at the adapter a constructor built ([`Guarded`] keeps a temp
//!   dir alive next to it).
//! - [`join_all`]: runs futures concurrently inside one test (no `'static` needed).
//!
//! Each case is a plain `pub async fn case_xxx(port: &dyn Port)` so it can also be called by
//! hand; each macro expands into a module with one `#[tokio::test]` per case, so a failing
//! case is reported by name:
//!
//! ```text
//! handoff_testkit::store_conformance!(async { SqliteStore::open_in_memory().unwrap() });
//! handoff_testkit::queue_conformance!(mod sqlite_queue, async { fresh_queue(3).await });
//! ```
//!
//! The constructor expression is evaluated once per test and must build a fresh, isolated
//! adapter (no data from other tests visible). It may evaluate to the adapter itself, or to
//! anything that dereferences to it (`Arc<A>`, `Box<A>`, [`Guarded<A>`]).

// The macros name this crate by path (`handoff_testkit::…`) in the `#[tokio::test]` attribute.
extern crate self as handoff_testkit;

pub mod bedrock;
pub mod delivery;
pub mod emulator;
pub mod faults;
pub mod faulty_store;
pub mod fixtures;
pub mod hubspot;
mod join;
pub mod once;
pub mod queue;
pub mod salesforce;
pub mod slack;
pub mod standin;
pub mod store;
pub mod subject;
pub mod threads;

pub use join::join_all;
pub use subject::{AsCrm, AsNotifier, AsOnceTokens, AsQueue, AsStore, AsThreadIndex, Guarded};

/// Re-exports the macros need at the call site, so callers need no extra dependencies.
#[doc(hidden)]
pub mod __private {
    pub use handoff_domain::ids::HandoffId;
    pub use handoff_domain::ports::Stage;
    pub use tokio;
}

/// Expands into a module (default name `store_conformance`) with one
/// `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` per [`store`] case.
///
/// ```text
/// handoff_testkit::store_conformance!(async { my_store().await });
/// handoff_testkit::store_conformance!(mod sqlite_file_store, async { my_store().await });
/// ```
///
/// The expression is a future evaluated once per test. Its output must be a fresh, empty,
/// isolated store, either an adapter implementing `HandoffStore` or anything dereferencing to
/// one (`Arc<A>`, `Box<A>`, `Arc<dyn HandoffStore>`, [`Guarded<A>`]). Items of the enclosing
/// module are in scope (`use super::*`).
#[macro_export]
macro_rules! store_conformance {
    (mod $name:ident, $make:expr $(,)?) => {
        #[cfg(test)]
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $crate::__port_tests!(store, as_store, $make;
                case_create_if_absent,
                case_get_missing,
                case_update_with_expected_version,
                case_update_with_stale_version_changes_nothing,
                case_update_of_missing_record_is_not_found,
                case_concurrent_updates_exactly_one_wins,
                case_timeline_ordered_by_version,
                case_due_only_overdue_awaiting_earliest_first,
                case_due_pages_cover_every_item_once,
                case_due_reads_only_due_items,
                case_due_follows_state_and_deadline_changes,
                case_by_contact_newest_first_with_limit,
                case_by_domain_newest_first_with_limit,
                case_created_between_is_half_open,
                case_account_owner_set_get_overwrite,
                case_rep_load_per_rep_and_day,
                case_rep_loads_batch_matches_single_reads,
                case_rep_load_atomic_under_concurrency,
                case_fairness_counters_add_up_with_the_load,
                case_fairness_counters_exact_under_concurrency,
                case_fairness_of_a_large_roster,
                case_counter_sequential_and_per_name,
                case_counter_atomic_under_concurrency,
                case_availability_set_overwrite_list,
                case_summaries_carry_the_buyers_name_and_phone,
                case_attached_records_and_touches_round_trip,
            );
        }
    };
    ($make:expr $(,)?) => {
        $crate::store_conformance!(mod store_conformance, $make);
    };
}

/// Expands into a module (default name `queue_conformance`) with one
/// `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` per [`queue`] case.
///
/// ```text
/// handoff_testkit::queue_conformance!(async { my_queue(3).await });
/// handoff_testkit::queue_conformance!(mod sqlite_queue, async { my_queue(3).await });
/// ```
///
/// The expression is a future evaluated once per test. Its output must be a fresh, empty,
/// isolated queue (every stage and every dead-letter queue empty), either the adapter or
/// anything dereferencing to it (`Arc<A>`, `Box<A>`, [`Guarded<A>`]), and:
///
/// - its redrive must move a message to the dead-letter queue after
///   [`queue::MAX_RECEIVES`] (= 3) deliveries;
/// - the adapter type must have a method
///   `async fn send_raw(&self, stage: Stage, body: &str) -> Result<(), QueueError>` that
///   enqueues `body` as is (the suite injects poison bodies with it). It is called by name, so
///   `Arc<dyn StageQueue>` does not qualify: pass the concrete adapter.
#[macro_export]
macro_rules! queue_conformance {
    (mod $name:ident, $make:expr $(,)?) => {
        #[cfg(test)]
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $crate::__port_tests!(queue, as_queue, $make;
                case_round_trip_batches_over_ten,
                case_received_is_invisible_then_redelivered,
                case_ack_removes_for_good,
                case_ack_with_unknown_receipt_is_invalid,
                case_stages_are_independent,
                case_max_receives_moves_to_dead_letters,
                case_postpone_brings_a_message_back_after_the_delay,
                case_dead_letter_moves_at_once_with_reason,
                case_dead_letters_lists_without_removing,
                case_receive_on_empty_queue_is_quick,
                case_dead_letters_name_handoff_reason_time_and_receives,
                case_redrive_of_one_handoff_moves_only_its_messages,
                case_redrive_all_delivers_again_with_a_fresh_receive_count,
                case_redrive_of_nothing_returns_zero,
            );

            #[$crate::__private::tokio::test(
                flavor = "multi_thread",
                worker_threads = 2,
                crate = "handoff_testkit::__private::tokio"
            )]
            async fn case_bodies_preserved_byte_for_byte() {
                #[allow(unused_imports)]
                use $crate::AsQueue as _;
                let subject = $make.await;
                let target = &subject;
                let send_raw = move |stage: $crate::__private::Stage,
                                     body: ::std::string::String|
                      -> $crate::queue::RawSendFuture<'_> {
                    ::std::boxed::Box::pin(async move { target.send_raw(stage, &body).await })
                };
                $crate::queue::case_bodies_preserved_byte_for_byte(subject.as_queue(), &send_raw).await;
            }
        }
    };
    ($make:expr $(,)?) => {
        $crate::queue_conformance!(mod queue_conformance, $make);
    };
}

/// Expands into a module (default name `thread_index_suite`) with one
/// `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` per [`threads`] case.
///
/// ```text
/// handoff_testkit::thread_index_suite!(async { SqliteStore::open_in_memory().unwrap() });
/// handoff_testkit::thread_index_suite!(mod dynamo_threads, async { my_store().await });
/// ```
///
/// The expression is a future evaluated once per test; its output must be a fresh, empty,
/// isolated `ThreadIndex` (or anything dereferencing to one).
#[macro_export]
macro_rules! thread_index_suite {
    (mod $name:ident, $make:expr $(,)?) => {
        #[cfg(test)]
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $crate::__port_tests!(threads, as_thread_index, $make;
                case_find_by_any_key_normalised,
                case_first_key_in_order_wins,
                case_unknown_keys_are_none,
                case_reput_replaces,
                case_many_keys,
            );
        }
    };
    ($make:expr $(,)?) => {
        $crate::thread_index_suite!(mod thread_index_suite, $make);
    };
}

/// Expands into a module (default name `once_token_suite`) with one
/// `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` per [`once`] case.
///
/// ```text
/// handoff_testkit::once_token_suite!(async { SqliteStore::open_in_memory().unwrap() });
/// handoff_testkit::once_token_suite!(mod dynamo_once, async { my_store().await });
/// ```
///
/// The expression is a future evaluated once per test; its output must be a fresh, empty,
/// isolated `OnceTokens` ledger (or anything dereferencing to one).
#[macro_export]
macro_rules! once_token_suite {
    (mod $name:ident, $make:expr $(,)?) => {
        #[cfg(test)]
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $crate::__port_tests!(once, as_once_tokens, $make;
                case_first_use_then_replay,
                case_usable_again_after_remember_until,
                case_release_makes_it_usable_again,
                case_concurrent_use_exactly_one_wins,
            );
        }
    };
    ($make:expr $(,)?) => {
        $crate::once_token_suite!(mod once_token_suite, $make);
    };
}

/// Expands into a module (default `crm_conformance`) with the [`delivery`] CRM cases.
///
/// ```text
/// handoff_testkit::crm_conformance!(
///     async { fresh_crm() },
///     |crm: &Guarded<FileCrm>, id: &HandoffId| seen_in_files(crm, id),
/// );
/// ```
///
/// The first expression is a future building a fresh CRM adapter (or anything dereferencing to
/// one). The second is an inspection closure `Fn(&Subject, &HandoffId) -> CrmSeen` saying what
/// the CRM holds for that handoff (the observable effects that must not duplicate).
#[macro_export]
macro_rules! crm_conformance {
    (mod $name:ident, $make:expr, $inspect:expr $(,)?) => {
        #[cfg(test)]
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $crate::__delivery_tests!(as_crm, $make, $inspect; case_crm_sync_writes_everything_once,
                case_crm_resumes_after_every_step, case_crm_reroute_updates_owner_and_adds_one_note,
                case_crm_queue_pickup_sets_the_owner);
        }
    };
    ($make:expr, $inspect:expr $(,)?) => {
        $crate::crm_conformance!(mod crm_conformance, $make, $inspect);
    };
}

/// Expands into a module (default `notifier_conformance`) with the [`delivery`] notifier cases.
///
/// ```text
/// handoff_testkit::notifier_conformance!(
///     async { fresh_notifier() },
///     |n: &Guarded<LogNotifier>, id: &HandoffId| count_lines(n, id),
///     ("slack:@lena", "slack:@max"),
/// );
/// ```
///
/// Like [`crm_conformance!`]; the closure returns how many messages were delivered (sent or
/// updated) for the handoff over all targets; the tuple names two targets the notifier serves.
#[macro_export]
macro_rules! notifier_conformance {
    (mod $name:ident, $make:expr, $inspect:expr, $targets:expr $(,)?) => {
        #[cfg(test)]
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[$crate::__private::tokio::test(
                flavor = "multi_thread",
                worker_threads = 2,
                crate = "handoff_testkit::__private::tokio"
            )]
            async fn case_notify_delivers_each_call() {
                #[allow(unused_imports)]
                use $crate::AsNotifier as _;
                let subject = $make.await;
                let inspect = $crate::delivery::inspector(&subject, $inspect);
                let effects = |id: &$crate::__private::HandoffId| inspect(&subject, id);
                $crate::delivery::case_notify_delivers_each_call(
                    subject.as_notifier(),
                    &effects,
                    $targets,
                )
                .await;
            }
        }
    };
    ($make:expr, $inspect:expr, $targets:expr $(,)?) => {
        $crate::notifier_conformance!(mod notifier_conformance, $make, $inspect, $targets);
    };
}

/// One test per case: build the subject, hand the port to the case.
#[doc(hidden)]
#[macro_export]
macro_rules! __port_tests {
    ($module:ident, $as_port:ident, $make:expr; $($case:ident),+ $(,)?) => {$(
        #[$crate::__private::tokio::test(
            flavor = "multi_thread",
            worker_threads = 2,
            crate = "handoff_testkit::__private::tokio"
        )]
        async fn $case() {
            #[allow(unused_imports)]
            use $crate::{AsOnceTokens as _, AsQueue as _, AsStore as _, AsThreadIndex as _};
            let subject = $make.await;
            $crate::$module::$case(subject.$as_port()).await;
        }
    )+};
}

/// One test per delivery case: build the subject, bind the inspection closure, run the case.
#[doc(hidden)]
#[macro_export]
macro_rules! __delivery_tests {
    ($as_port:ident, $make:expr, $inspect:expr; $($case:ident),+ $(,)?) => {$(
        #[$crate::__private::tokio::test(
            flavor = "multi_thread",
            worker_threads = 2,
            crate = "handoff_testkit::__private::tokio"
        )]
        async fn $case() {
            #[allow(unused_imports)]
            use $crate::{AsCrm as _, AsNotifier as _};
            let subject = $make.await;
            let inspect = $crate::delivery::inspector(&subject, $inspect);
            let effects = |id: &$crate::__private::HandoffId| inspect(&subject, id);
            $crate::delivery::$case(subject.$as_port(), &effects).await;
        }
    )+};
}
