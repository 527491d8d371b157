//! The [`ThreadIndex`] conformance cases.
//!
//! What the cases pin down beyond the trait's doc comments:
//!
//! - Keys are compared after [`thread_key`](handoff_domain::ports::thread_key): a Message-ID
//!   finds its thread with or without angle brackets, in any case, with surrounding blanks.
//! - The thread comes back exactly as put (its `keys` as given, not normalised).
//! - `find_thread` returns the thread of the *first* asked key that has one; unknown keys are
//!   skipped; no keys or only unknown keys give `None`.
//! - A later put of a key replaces the thread stored under it; keys the later put does not
//!   carry keep the thread they had.
//! - A thread may carry more keys than one backend batch holds (DynamoDB: 25 writes a call).

use crate::fixtures::{email, t0};
use handoff_domain::ports::{OutboundThread, ThreadIndex};

/// A thread with `keys`, a buyer, a sequence, an account and one earlier touch.
pub fn thread(thread_id: &str, keys: &[&str]) -> OutboundThread {
    let account = serde_json::json!({
        "name": "Acme Corp",
        "domain": "acme.com",
        "reason": "hiring 12 SDRs",
        "strategic": true
    });
    let touch = serde_json::json!({
        "step": 1,
        "channel": "email",
        "sent_at": t0(),
        "summary": "intro mail"
    });
    OutboundThread {
        thread_id: thread_id.to_string(),
        keys: keys.iter().map(|k| (*k).to_string()).collect(),
        buyer_email: Some(email("dana@acme.com")),
        sequence: Some("q3-outbound".to_string()),
        account: Some(serde_json::from_value(account).expect("fixture account is valid")),
        outreach_history: vec![serde_json::from_value(touch).expect("fixture touch is valid")],
    }
}

fn keys(raw: &[&str]) -> Vec<String> {
    raw.iter().map(|k| (*k).to_string()).collect()
}

/// A put thread is found by each of its keys, however the Message-ID is written.
pub async fn case_find_by_any_key_normalised(index: &dyn ThreadIndex) {
    let t = thread("thr-1", &["<CAF+abc.123@Mail.Example.com>", "reply-7f3a9c"]);
    index.put_thread(&t).await.unwrap();
    for asked in [
        "<CAF+abc.123@Mail.Example.com>",
        "CAF+abc.123@Mail.Example.com",
        "caf+abc.123@mail.example.com",
        "<CAF+ABC.123@MAIL.EXAMPLE.COM>",
        "  <caf+abc.123@mail.example.com>  ",
        "reply-7f3a9c",
        "REPLY-7F3A9C",
    ] {
        assert_eq!(
            index.find_thread(&keys(&[asked])).await.unwrap(),
            Some(t.clone()),
            "found by {asked:?}"
        );
    }
    // A key that merely contains a stored key is another key.
    assert_eq!(
        index
            .find_thread(&keys(&["abc.123@mail.example.com", "reply-7f3a9"]))
            .await
            .unwrap(),
        None
    );
}

/// Of several asked keys with threads, the first in the order asked wins; unknown keys before
/// it are skipped.
pub async fn case_first_key_in_order_wins(index: &dyn ThreadIndex) {
    let a = thread("thr-a", &["<a1@mail.example.com>", "<a2@mail.example.com>"]);
    let b = thread("thr-b", &["<b1@mail.example.com>"]);
    index.put_thread(&a).await.unwrap();
    index.put_thread(&b).await.unwrap();
    let find = async |asked: &[&str]| index.find_thread(&keys(asked)).await;
    assert_eq!(
        find(&["b1@mail.example.com", "a1@mail.example.com"])
            .await
            .unwrap(),
        Some(b.clone())
    );
    assert_eq!(
        find(&["<a2@mail.example.com>", "<b1@mail.example.com>"])
            .await
            .unwrap(),
        Some(a.clone())
    );
    assert_eq!(
        find(&[
            "<unknown@mail.example.com>",
            "",
            "<B1@mail.example.com>",
            "a1@mail.example.com"
        ])
        .await
        .unwrap(),
        Some(b.clone())
    );
    // The same key asked twice, in two spellings, is fine.
    assert_eq!(
        find(&["a1@mail.example.com", "<A1@MAIL.EXAMPLE.COM>"])
            .await
            .unwrap(),
        Some(a)
    );
}

/// No keys, blank keys or only unknown keys: `None`, on an empty index and on a filled one.
pub async fn case_unknown_keys_are_none(index: &dyn ThreadIndex) {
    assert_eq!(index.find_thread(&[]).await.unwrap(), None);
    assert_eq!(
        index
            .find_thread(&keys(&["<nobody@mail.example.com>"]))
            .await
            .unwrap(),
        None
    );
    index
        .put_thread(&thread("thr-1", &["<known@mail.example.com>"]))
        .await
        .unwrap();
    assert_eq!(index.find_thread(&[]).await.unwrap(), None);
    assert_eq!(
        index
            .find_thread(&keys(&["<nobody@mail.example.com>", "", " <> ", "token-x"]))
            .await
            .unwrap(),
        None
    );
}

/// A re-put replaces the thread under every key it carries; other keys keep theirs.
pub async fn case_reput_replaces(index: &dyn ThreadIndex) {
    let first = thread("thr-1", &["<m1@mail.example.com>", "<m2@mail.example.com>"]);
    index.put_thread(&first).await.unwrap();

    let mut second = thread("thr-1", &["<M1@mail.example.com>", "<m3@mail.example.com>"]);
    second.sequence = Some("q4-follow-up".to_string());
    second.outreach_history.clear();
    second.account = None;
    index.put_thread(&second).await.unwrap();

    let find = async |k: &str| index.find_thread(&keys(&[k])).await;
    assert_eq!(
        find("<m1@mail.example.com>").await.unwrap(),
        Some(second.clone())
    );
    assert_eq!(
        find("<m3@mail.example.com>").await.unwrap(),
        Some(second.clone())
    );
    assert_eq!(
        find("<m2@mail.example.com>").await.unwrap(),
        Some(first),
        "a key the re-put does not carry keeps its thread"
    );

    // Putting the same thread again changes nothing.
    index.put_thread(&second).await.unwrap();
    assert_eq!(find("m1@mail.example.com").await.unwrap(), Some(second));
}

/// A thread with more keys than one backend batch (40, two spellings of some of them) is
/// found by each; a lookup with more keys than one read batch finds the first known one.
pub async fn case_many_keys(index: &dyn ThreadIndex) {
    let raw: Vec<String> = (0..40)
        .map(|i| format!("<msg-{i}@mail.example.com>"))
        .chain(["<MSG-0@mail.example.com>".to_string()])
        .collect();
    let t = OutboundThread {
        keys: raw.clone(),
        ..thread("thr-long", &[])
    };
    index.put_thread(&t).await.unwrap();
    for k in [&raw[0], &raw[24], &raw[25], &raw[39]] {
        assert_eq!(
            index.find_thread(std::slice::from_ref(k)).await.unwrap(),
            Some(t.clone()),
            "found by {k}"
        );
    }
    let mut asked: Vec<String> = (0..120)
        .map(|i| format!("<unknown-{i}@mail.example.com>"))
        .collect();
    asked.push(raw[33].clone());
    assert_eq!(index.find_thread(&asked).await.unwrap(), Some(t));
}
