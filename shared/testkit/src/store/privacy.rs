//! Personal-data cases of the [`HandoffStore`]: erasing a buyer (`erase_contact`) and the
//! retention of closed handoffs (`expires_at`), run by
//! [`store_privacy_conformance!`](crate::store_privacy_conformance) against a store that is
//! also the [`ThreadIndex`] and keeps closed handoffs for [`retention`].
//!
//! What the cases pin down:
//!
//! - `erase_contact` removes exactly that buyer: every handoff whose contact is the address
//!   (record, timeline, and so every lookup: `by_contact`, `by_domain`, `created_between`,
//!   `due`), the threads naming the buyer and the buyer-less threads an erased reply named
//!   (with every key of such a thread); another buyer's handoffs and threads at the same company,
//!   the account owner and rep loads stay. The [`Erasure`] lists the handoffs oldest first and
//!   counts timeline entries, index entries (contact, creation day, domain when set, due while
//!   awaiting) and thread keys exactly; a second call removes nothing.
//! - A transition of an erased handoff finds nothing (`NotFound`) and appends nothing.
//! - With a retention, a closed handoff expires `retention` after its last write (to the
//!   second); an open one and an unknown id have no expiry. Without one nothing expires
//!   ([`case_without_retention_nothing_expires`], called by hand with a plain store).

use crate::fixtures::{self, at, email, rep, t0};
use chrono::{DateTime, Duration, Utc};
use handoff_domain::event::{Buyer, Channel, EmailReply, EventKind, IntakeEvent};
use handoff_domain::ids::{CompanyDomain, ProviderEventId, SourceName};
use handoff_domain::lifecycle::{Actor, HandoffRecord, State, Transition};
use handoff_domain::ports::{DueHandoff, HandoffStore, HandoffSummary, StoreError, ThreadIndex};
use handoff_domain::privacy::{ErasedHandoff, Erasure, Retention};

/// The retention the store of [`store_privacy_conformance!`](crate::store_privacy_conformance)
/// must be built with, in days.
pub const RETENTION_DAYS: i64 = 30;

/// The retention the store of [`store_privacy_conformance!`](crate::store_privacy_conformance)
/// must be built with.
pub fn retention() -> Retention {
    Retention::days(RETENTION_DAYS).expect("valid retention")
}

/// An email reply from `buyer_email` (source `postmark`) that answers the outbound mail
/// `in_reply_to`, received at `received_at`.
pub fn reply_event(
    provider_event_id: &str,
    buyer_email: &str,
    in_reply_to: &str,
    received_at: DateTime<Utc>,
) -> IntakeEvent {
    IntakeEvent {
        source: SourceName::parse("postmark").expect("valid source"),
        channel: Channel::Email,
        provider_event_id: ProviderEventId::parse(provider_event_id)
            .expect("fixture event id is valid"),
        received_at,
        kind: EventKind::EmailReply(EmailReply {
            buyer: Buyer {
                email: email(buyer_email),
                name: Some("Dana Scully".into()),
                company: Some("Acme".into()),
                company_domain: None,
                role: None,
                country: None,
                employees: None,
                phone: None,
            },
            subject: "Re: quick question".into(),
            text: "Sounds interesting, call me Tuesday.".into(),
            thread_id: format!("thr-{provider_event_id}"),
            message_id: Some(format!("<{provider_event_id}@mail.acme.com>")),
            in_reply_to: Some(in_reply_to.into()),
            references: vec![],
            reply_token: None,
            sequence: None,
            account: None,
            outreach_history: vec![],
            headers: Default::default(),
            attachments: vec![],
        }),
    }
}

fn summaries(records: &[&HandoffRecord]) -> Vec<HandoffSummary> {
    records.iter().map(|r| HandoffSummary::of(r)).collect()
}

fn erased(record: &HandoffRecord) -> ErasedHandoff {
    ErasedHandoff {
        id: record.id.clone(),
        state: record.state,
        created_at: record.created_at,
    }
}

/// Erasing Dana removes her three handoffs (one awaiting its owner) with their timelines and
/// index entries, and nothing of Sam at the same company, of Dana's other address, of the
/// account owner or of rep loads; the erasure counts it all exactly; a transition of an
/// erased handoff finds nothing.
pub async fn case_erase_removes_exactly_that_buyer(
    store: &dyn HandoffStore,
    _threads: &dyn ThreadIndex,
) {
    let dana = "dana@acme.com";
    let s = |id: &'static str, mail: &'static str, minute: i64, state: State| async move {
        fixtures::seed_in_state(store, id, mail, at(minute), state, at(minute + 60)).await
    };
    let d_accepted = s("erase-d1", dana, 1, State::Accepted).await;
    let d_waiting = s("erase-d2", dana, 2, State::Notified).await;
    let d_closed = s("erase-d3", dana, 3, State::ClosedWithoutHandoff).await;
    let sam = s("erase-s1", "sam@acme.com", 4, State::Notified).await;
    let gmail = s("erase-g1", "dana@gmail.com", 5, State::Received).await;
    let acme = CompanyDomain::parse("acme.com").unwrap();
    store.set_account_owner(&acme, &rep("lena")).await.unwrap();
    store
        .add_rep_load(&rep("lena"), t0().date_naive())
        .await
        .unwrap();
    let mut timeline_entries = 0;
    for r in [&d_accepted, &d_waiting, &d_closed] {
        timeline_entries += store.timeline(&r.id).await.unwrap().len() as u64;
    }
    let sam_timeline = store.timeline(&sam.id).await.unwrap();

    let erasure = store.erase_contact(&email(dana)).await.unwrap();
    assert_eq!(
        erasure,
        Erasure {
            handoffs: vec![erased(&d_accepted), erased(&d_waiting), erased(&d_closed)],
            timeline_entries,
            // contact + creation day + domain each, + due for the one awaiting its owner
            index_entries: 3 * 3 + 1,
            due_entries: 1,
            thread_keys: 0,
        }
    );
    assert_eq!(timeline_entries, 6 + 5 + 2, "the seeded paths");

    for r in [&d_accepted, &d_waiting, &d_closed] {
        assert_eq!(store.get(&r.id).await.unwrap(), None, "{}", r.id);
        assert_eq!(store.timeline(&r.id).await.unwrap(), vec![], "{}", r.id);
        assert_eq!(store.expires_at(&r.id).await.unwrap(), None);
    }
    assert_eq!(store.by_contact(&email(dana), 10).await.unwrap(), vec![]);
    assert_eq!(
        store.by_domain(&acme, 10).await.unwrap(),
        summaries(&[&sam])
    );
    let mut week = store.created_between(at(-60), at(600)).await.unwrap();
    week.sort_by_key(|r| r.created_at);
    assert_eq!(week, vec![sam.clone(), gmail.clone()]);
    // Sam's handoff awaits its owner; the received one at gmail owes the classify stage.
    assert_eq!(
        store.due(at(10_000), 10, None).await.unwrap().items,
        vec![
            DueHandoff {
                id: sam.id.clone(),
                due_at: at(64)
            },
            DueHandoff {
                id: gmail.id.clone(),
                due_at: at(65)
            }
        ]
    );
    assert_eq!(store.get(&sam.id).await.unwrap(), Some(sam.clone()));
    assert_eq!(store.timeline(&sam.id).await.unwrap(), sam_timeline);
    assert_eq!(
        store
            .by_contact(&email("dana@gmail.com"), 10)
            .await
            .unwrap(),
        summaries(&[&gmail])
    );
    assert_eq!(store.account_owner(&acme).await.unwrap(), Some(rep("lena")));
    assert_eq!(
        store
            .rep_load(&rep("lena"), t0().date_naive())
            .await
            .unwrap(),
        1
    );

    // A stage still holding the record cannot bring it back.
    let mut stale = d_waiting.clone();
    let entry = fixtures::step(&mut stale, Transition::Accept, at(30));
    match store.update(&stale, &entry).await {
        Err(StoreError::NotFound(id)) => assert_eq!(id, d_waiting.id),
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert_eq!(store.get(&d_waiting.id).await.unwrap(), None);
    assert_eq!(store.timeline(&d_waiting.id).await.unwrap(), vec![]);
}

/// Threads naming Dana go with all their keys, and so does a buyer-less thread her reply
/// answered (reached through the reply's `In-Reply-To`, then its other keys); Sam's thread and
/// a buyer-less thread no erased reply named stay.
pub async fn case_erase_removes_the_buyers_threads(
    store: &dyn HandoffStore,
    threads: &dyn ThreadIndex,
) {
    let mut named = crate::threads::thread("thr-dana", &["<A1@mail.example>", "a2-token"]);
    named.buyer_email = Some(email("dana@acme.com"));
    let mut sams = crate::threads::thread("thr-sam", &["<b1@mail.example>"]);
    sams.buyer_email = Some(email("sam@acme.com"));
    let mut answered = crate::threads::thread("thr-anon", &["<C1@mail.example>", "c2-token"]);
    answered.buyer_email = None;
    let mut unrelated = crate::threads::thread("thr-other", &["<d1@mail.example>"]);
    unrelated.buyer_email = None;
    for t in [&named, &sams, &answered, &unrelated] {
        threads.put_thread(t).await.unwrap();
    }
    let (record, entry) = HandoffRecord::received(
        reply_event("erase-reply", "dana@acme.com", "<c1@MAIL.example>", at(1)),
        at(1),
    );
    store.create(&record, &entry).await.unwrap();
    // Threads are looked up by buyer, but never show up as handoffs.
    assert_eq!(
        store.by_contact(&email("dana@acme.com"), 10).await.unwrap(),
        summaries(&[&record])
    );

    let erasure = store.erase_contact(&email("dana@acme.com")).await.unwrap();
    assert_eq!(erasure.handoffs, vec![erased(&record)]);
    assert_eq!(erasure.timeline_entries, 1);
    assert_eq!(
        erasure.index_entries, 4,
        "contact, creation day, domain, due (a received record owes the classify stage)"
    );
    assert_eq!(erasure.thread_keys, 4, "{erasure:?}");
    for gone in ["a1@mail.example", "a2-token", "c1@mail.example", "c2-token"] {
        assert_eq!(
            threads.find_thread(&[gone.to_string()]).await.unwrap(),
            None,
            "{gone}"
        );
    }
    assert_eq!(
        threads
            .find_thread(&["<b1@mail.example>".to_string()])
            .await
            .unwrap(),
        Some(sams)
    );
    assert_eq!(
        threads
            .find_thread(&["<d1@mail.example>".to_string()])
            .await
            .unwrap(),
        Some(unrelated)
    );
    assert_eq!(
        store.erase_contact(&email("dana@acme.com")).await.unwrap(),
        Erasure::default()
    );
}

/// A second erasure finds nothing; an address with no data erases nothing; a thread-only buyer
/// (no handoff) is erased too.
pub async fn case_erase_is_idempotent(store: &dyn HandoffStore, threads: &dyn ThreadIndex) {
    assert_eq!(
        store
            .erase_contact(&email("nobody@acme.com"))
            .await
            .unwrap(),
        Erasure::default()
    );
    fixtures::seed_awaiting(store, "erase-again", "lena", at(60)).await;
    let mut only_thread = crate::threads::thread("thr-omar", &["<o1@mail.example>"]);
    only_thread.buyer_email = Some(email("omar@other.io"));
    threads.put_thread(&only_thread).await.unwrap();

    let first = store
        .erase_contact(&email(fixtures::BUYER_EMAIL))
        .await
        .unwrap();
    assert_eq!(first.handoffs.len(), 1);
    assert_eq!(
        (
            first.timeline_entries,
            first.index_entries,
            first.due_entries
        ),
        (3, 4, 1)
    );
    assert!(!first.is_empty());
    let second = store
        .erase_contact(&email(fixtures::BUYER_EMAIL))
        .await
        .unwrap();
    assert_eq!(second, Erasure::default());
    assert!(second.is_empty());

    let omar = store.erase_contact(&email("omar@other.io")).await.unwrap();
    assert_eq!(omar.handoffs, vec![]);
    assert_eq!(omar.thread_keys, 1);
    assert_eq!(
        threads
            .find_thread(&["<o1@mail.example>".to_string()])
            .await
            .unwrap(),
        None
    );
}

fn to_second(t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.timestamp(), 0)
}

/// With a retention: accepted and closed-without-handoff records expire `retention` after their
/// last write (a write after the close restarts it); open records and unknown ids do not.
pub async fn case_closed_handoffs_expire_after_the_retention(
    store: &dyn HandoffStore,
    _threads: &dyn ThreadIndex,
) {
    let keep = Duration::days(RETENTION_DAYS);
    let mut open = fixtures::seed_awaiting(store, "expire-open", "lena", at(60)).await;
    assert_eq!(store.expires_at(&open.id).await.unwrap(), None);
    let (fresh, entry) = fixtures::record("expire-fresh");
    store.create(&fresh, &entry).await.unwrap();
    assert_eq!(store.expires_at(&fresh.id).await.unwrap(), None);

    let accept_at = at(5) + Duration::milliseconds(700);
    fixtures::advance(store, &mut open, Transition::Accept, accept_at).await;
    assert_eq!(
        store.expires_at(&open.id).await.unwrap(),
        to_second(accept_at + keep)
    );
    // A CRM catch-up after the accept restarts the clock.
    let later = open.progress("crm_synced", Actor::System("assign".into()), at(90), "");
    store.update(&open, &later).await.unwrap();
    assert_eq!(
        store.expires_at(&open.id).await.unwrap(),
        to_second(at(90) + keep)
    );

    let closed = fixtures::seed_in_state(
        store,
        "expire-closed",
        "sam@acme.com",
        at(2),
        State::ClosedWithoutHandoff,
        at(60),
    )
    .await;
    assert_eq!(
        store.expires_at(&closed.id).await.unwrap(),
        to_second(at(2) + keep)
    );
    assert_eq!(
        store
            .expires_at(&fixtures::handoff_id("expire-unknown"))
            .await
            .unwrap(),
        None
    );
}

/// Without a retention (the default) closed handoffs never expire. Call by hand with a store
/// built without one.
pub async fn case_without_retention_nothing_expires(store: &dyn HandoffStore) {
    let accepted = fixtures::seed_in_state(
        store,
        "keep-accepted",
        "dana@acme.com",
        at(1),
        State::Accepted,
        at(60),
    )
    .await;
    let closed = fixtures::seed_in_state(
        store,
        "keep-closed",
        "dana@acme.com",
        at(1),
        State::ClosedWithoutHandoff,
        at(60),
    )
    .await;
    for r in [&accepted, &closed] {
        assert_eq!(store.expires_at(&r.id).await.unwrap(), None, "{}", r.id);
    }
}

/// Expands into a module (default name `store_privacy_conformance`) with one
/// `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` per [`privacy`](self) case.
///
/// ```text
/// handoff_testkit::store_privacy_conformance!(mod sqlite_privacy, async {
///     SqliteStore::open_in_memory()
///         .unwrap()
///         .with_retention(handoff_testkit::store::privacy::retention())
/// });
/// ```
///
/// The expression is a future evaluated once per test. Its output must be a fresh, empty,
/// isolated store that is also the `ThreadIndex` (the same adapter value, or anything
/// dereferencing to it) and keeps closed handoffs for [`retention`].
#[macro_export]
macro_rules! store_privacy_conformance {
    (mod $name:ident, $make:expr $(,)?) => {
        #[cfg(test)]
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $crate::__privacy_tests!($make;
                case_erase_removes_exactly_that_buyer,
                case_erase_removes_the_buyers_threads,
                case_erase_is_idempotent,
                case_closed_handoffs_expire_after_the_retention,
            );
        }
    };
    ($make:expr $(,)?) => {
        $crate::store_privacy_conformance!(mod store_privacy_conformance, $make);
    };
}

/// One test per privacy case: build the subject, hand it over as store and thread index.
#[doc(hidden)]
#[macro_export]
macro_rules! __privacy_tests {
    ($make:expr; $($case:ident),+ $(,)?) => {$(
        #[$crate::__private::tokio::test(
            flavor = "multi_thread",
            worker_threads = 2,
            crate = "handoff_testkit::__private::tokio"
        )]
        async fn $case() {
            #[allow(unused_imports)]
            use $crate::{AsStore as _, AsThreadIndex as _};
            let subject = $make.await;
            $crate::store::privacy::$case(subject.as_store(), subject.as_thread_index()).await;
        }
    )+};
}
