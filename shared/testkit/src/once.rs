//! The [`OnceTokens`] conformance cases.
//!
//! What the cases pin down beyond the trait's doc comments (times are the fixed fixture times,
//! [`crate::fixtures::t0`], never the wall clock):
//!
//! - The first `use_once` of a key is `true`, every later one `false` while it is remembered,
//!   also with another `remember_until`.
//! - A key is remembered at least until `remember_until` (a call at that instant is a replay)
//!   and counts as unused once `now` is a second or more past it (stores may keep it until the
//!   end of that second: DynamoDB's TTL attribute is in whole seconds).
//! - `release` makes the key usable at once; releasing an unknown key is fine.
//! - Of concurrent first uses of one key exactly one is `true`.

use crate::fixtures::{at, t0};
use crate::join_all;
use chrono::Duration;
use handoff_connectors::once::OnceTokens;

/// First use `true`, replays `false`, other keys independent.
pub async fn case_first_use_then_replay(tokens: &dyn OnceTokens) {
    let until = at(10);
    assert!(tokens.use_once("mailgun:tok-1", until, t0()).await.unwrap());
    assert!(!tokens.use_once("mailgun:tok-1", until, t0()).await.unwrap());
    assert!(!tokens
        .use_once("mailgun:tok-1", at(60), at(1))
        .await
        .unwrap());
    assert!(tokens
        .use_once("mailgun:tok-2", until, at(1))
        .await
        .unwrap());
    assert!(
        tokens
            .use_once("MAILGUN:TOK-1", until, at(1))
            .await
            .unwrap(),
        "keys are exact"
    );
    assert!(!tokens
        .use_once("mailgun:tok-2", until, at(2))
        .await
        .unwrap());
}

/// Remembered through `remember_until`, usable again once it passed (and then remembered anew).
pub async fn case_usable_again_after_remember_until(tokens: &dyn OnceTokens) {
    let until = at(10);
    assert!(tokens.use_once("tok", until, t0()).await.unwrap());
    assert!(!tokens.use_once("tok", until, at(9)).await.unwrap());
    assert!(
        !tokens.use_once("tok", at(30), until).await.unwrap(),
        "still remembered at remember_until"
    );
    let after = until + Duration::seconds(1);
    assert!(
        tokens.use_once("tok", at(30), after).await.unwrap(),
        "expired: usable again"
    );
    assert!(
        !tokens.use_once("tok", at(30), at(20)).await.unwrap(),
        "the new use is remembered until its own remember_until"
    );
    assert!(tokens.use_once("tok", at(60), at(31)).await.unwrap());
}

/// `release` forgets a key at once; releasing an unknown or already released key is fine.
pub async fn case_release_makes_it_usable_again(tokens: &dyn OnceTokens) {
    let until = at(10);
    assert!(tokens.use_once("tok-r", until, t0()).await.unwrap());
    tokens.release("tok-r").await.unwrap();
    assert!(tokens.use_once("tok-r", until, t0()).await.unwrap());
    assert!(!tokens.use_once("tok-r", until, at(1)).await.unwrap());
    tokens.release("tok-r").await.unwrap();
    tokens.release("tok-r").await.unwrap();
    tokens.release("never-used").await.unwrap();
    assert!(tokens.use_once("tok-r", until, at(2)).await.unwrap());
    // Releasing one key leaves the others used.
    assert!(tokens.use_once("tok-s", until, at(2)).await.unwrap());
    tokens.release("tok-r").await.unwrap();
    assert!(!tokens.use_once("tok-s", until, at(3)).await.unwrap());
}

/// Eight concurrent first uses of one key: exactly one `true`. The same once the key expired.
pub async fn case_concurrent_use_exactly_one_wins(tokens: &dyn OnceTokens) {
    let until = at(10);
    let results = join_all((0..8).map(|_| tokens.use_once("tok-race", until, t0()))).await;
    let wins = results
        .into_iter()
        .map(|r| r.unwrap())
        .filter(|won| *won)
        .count();
    assert_eq!(wins, 1, "exactly one of 8 concurrent uses wins");

    let later = at(11);
    let results = join_all((0..8).map(|_| tokens.use_once("tok-race", at(20), later))).await;
    let wins = results
        .into_iter()
        .map(|r| r.unwrap())
        .filter(|won| *won)
        .count();
    assert_eq!(
        wins, 1,
        "exactly one of 8 concurrent uses of an expired key wins"
    );
}
