//! The due sweep over the sharded sparse `due` index: a k-way merge that reads little more than
//! the page.
//!
//! Each shard is a sorted run (`DUESK` = `<deadline>#<id>`). A key is *settled* once it is at or
//! below the *frontier*: the smallest last-read key among shards that may hold more. The merge
//! first asks every live shard for its share of `limit + 1` keys, then tops up only the shard(s)
//! at the frontier until `limit + 1` keys are settled (a full page plus one look-ahead that
//! proves a next page exists) or every shard is exhausted. With one shard that is a single query
//! with `Limit = limit + 1`; with `N` shards a page reads at most `limit + 1` plus the keys other
//! shards returned past the frontier (re-read on the next page).

use super::codec::{self, ShardCursor};
use super::keys;
use handoff_domain::ports::{DueHandoff, DuePage, StoreError};

/// One query's answer for a shard: the keys in order, and whether the shard may hold more.
pub struct ShardPage {
    /// `DUESK` values, ascending.
    pub keys: Vec<String>,
    /// DynamoDB's `LastEvaluatedKey` `DUESK`, if it returned one (the shard may hold more).
    pub more_after: Option<String>,
    /// Items the query read (`ScannedCount`).
    pub read: usize,
}

/// Reads up to `limit` keys of `shard` after `after` (`None`: from the start).
pub trait ShardReader {
    /// One query.
    fn read(
        &self,
        shard: u32,
        after: Option<&str>,
        limit: usize,
    ) -> impl std::future::Future<Output = Result<ShardPage, StoreError>> + Send;
}

struct Shard {
    /// Where this page started (kept when nothing of the shard is consumed).
    origin: ShardCursor,
    /// Keys read this page, ascending.
    keys: Vec<String>,
    /// The key to resume reading after (last read or last evaluated).
    resume: Option<String>,
    /// Nothing more at or before `now` after `resume`.
    exhausted: bool,
}

/// Upper bound on queries per page, against a misbehaving backend.
const MAX_QUERIES: usize = 10_000;

/// Builds one page of due handoffs from `cursor` (already decoded) with `reader`.
pub async fn page<R: ShardReader>(
    reader: &R,
    positions: Vec<ShardCursor>,
    limit: usize,
) -> Result<DuePage, StoreError> {
    let limit = limit.max(1);
    let want = limit + 1;
    let mut shards: Vec<Shard> = positions
        .into_iter()
        .map(|origin| Shard {
            resume: match &origin {
                ShardCursor::After(sk) => Some(sk.clone()),
                _ => None,
            },
            exhausted: origin == ShardCursor::Done,
            keys: Vec::new(),
            origin,
        })
        .collect();
    let mut items_read = 0;
    let mut queries = 0;

    // First round: every live shard, its share of the page.
    let live = shards.iter().filter(|s| !s.exhausted).count().max(1);
    let share = want.div_ceil(live);
    let mut to_read: Vec<(usize, usize)> = (0..shards.len())
        .filter(|&i| !shards[i].exhausted)
        .map(|i| (i, share))
        .collect();
    loop {
        for (i, n) in to_read.drain(..) {
            queries += 1;
            if queries > MAX_QUERIES {
                return Err(StoreError::Unavailable(
                    "due sweep: too many index queries for one page".into(),
                ));
            }
            let shard = &mut shards[i];
            let got = reader.read(i as u32, shard.resume.as_deref(), n).await?;
            items_read += got.read;
            if let Some(last) = got.keys.last() {
                shard.resume = Some(last.clone());
            }
            shard.keys.extend(got.keys);
            match got.more_after {
                Some(sk) => {
                    if shard.resume.as_ref().is_none_or(|r| *r < sk) {
                        shard.resume = Some(sk);
                    }
                }
                None => shard.exhausted = true,
            }
        }
        let frontier = shards
            .iter()
            .filter(|s| !s.exhausted)
            .filter_map(|s| s.resume.clone())
            .min();
        let settled = shards
            .iter()
            .flat_map(|s| &s.keys)
            .filter(|k| frontier.as_ref().is_none_or(|f| *k <= f))
            .count();
        if settled >= want || frontier.is_none() {
            return Ok(finish(shards, frontier, limit, items_read));
        }
        // Top up the shard(s) holding the frontier back.
        let need = want - settled;
        to_read = (0..shards.len())
            .filter(|&i| !shards[i].exhausted && shards[i].resume == frontier)
            .map(|i| (i, need))
            .collect();
    }
}

fn finish(
    mut shards: Vec<Shard>,
    frontier: Option<String>,
    limit: usize,
    items_read: usize,
) -> DuePage {
    let mut settled: Vec<(String, usize)> = shards
        .iter()
        .enumerate()
        .flat_map(|(i, s)| s.keys.iter().map(move |k| (k.clone(), i)))
        .filter(|(k, _)| frontier.as_ref().is_none_or(|f| k <= f))
        .collect();
    settled.sort();
    let more = settled.len() > limit;
    settled.truncate(limit);

    let mut consumed: Vec<Option<String>> = vec![None; shards.len()];
    let items = settled
        .into_iter()
        .filter_map(|(sk, i)| {
            let (due_at, id) = keys::parse_due_sk(&sk)?;
            consumed[i] = Some(sk);
            Some(DueHandoff { id, due_at })
        })
        .collect();
    let positions: Vec<ShardCursor> = shards
        .iter_mut()
        .zip(consumed)
        .map(|(s, last)| {
            let all_consumed = s.keys.last() == last.as_ref();
            match last {
                _ if s.exhausted && all_consumed => ShardCursor::Done,
                Some(sk) => ShardCursor::After(sk),
                None => s.origin.clone(),
            }
        })
        .collect();
    // `more` is false only when every shard is exhausted and fully consumed: `next` is `None`
    // exactly when nothing due is left.
    let next = more.then(|| codec::encode_cursor(&positions));
    DuePage {
        items,
        next,
        items_read,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use handoff_domain::ids::HandoffId;
    use std::sync::Mutex;

    /// In-memory shards behaving like DynamoDB: `LastEvaluatedKey` whenever `Limit` is reached.
    struct Fake {
        shards: Vec<Vec<String>>,
        reads: Mutex<usize>,
    }

    impl ShardReader for Fake {
        async fn read(
            &self,
            shard: u32,
            after: Option<&str>,
            limit: usize,
        ) -> Result<ShardPage, StoreError> {
            let keys: Vec<String> = self.shards[shard as usize]
                .iter()
                .filter(|k| after.is_none_or(|a| k.as_str() > a))
                .take(limit)
                .cloned()
                .collect();
            *self.reads.lock().unwrap() += keys.len();
            let more_after = (keys.len() == limit)
                .then(|| keys.last().cloned())
                .flatten();
            Ok(ShardPage {
                read: keys.len(),
                keys,
                more_after,
            })
        }
    }

    fn sk(minute: u32, n: u32) -> String {
        let t = Utc.with_ymd_and_hms(2030, 1, 1, 0, minute, 0).unwrap();
        keys::due_sk(t, &HandoffId::parse(format!("h_{n:032x}")).unwrap())
    }

    fn run(shards: Vec<Vec<String>>, limit: usize) -> (Vec<String>, Vec<DuePage>) {
        let n = shards.len() as u32;
        let fake = Fake {
            shards,
            reads: Mutex::new(0),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut cursor = vec![ShardCursor::Start; n as usize];
        let mut seen = Vec::new();
        let mut pages = Vec::new();
        loop {
            let p = rt.block_on(page(&fake, cursor, limit)).unwrap();
            seen.extend(p.items.iter().map(|d| keys::due_sk(d.due_at, &d.id)));
            let next = p.next.clone();
            pages.push(p);
            match next {
                Some(c) => cursor = codec::decode_cursor(&c, n).unwrap(),
                None => break,
            }
            assert!(pages.len() < 100);
        }
        (seen, pages)
    }

    #[test]
    fn single_shard_reads_page_plus_one() {
        let all: Vec<String> = (0..7).map(|i| sk(i, i)).collect();
        for limit in [1, 2, 3, 6, 7, 8, 100] {
            let (seen, pages) = run(vec![all.clone()], limit);
            assert_eq!(seen, all, "limit {limit}");
            for p in &pages {
                assert_eq!(
                    p.items_read,
                    p.items.len() + usize::from(p.next.is_some()),
                    "limit {limit}"
                );
            }
        }
    }

    #[test]
    fn shards_merge_in_order_and_cover_everything_once() {
        let all: Vec<String> = (0..23).map(|i| sk(i * 7 % 23, i)).collect();
        let mut sorted = all.clone();
        sorted.sort();
        for n in [2usize, 4, 5] {
            let mut shards = vec![Vec::new(); n];
            for (i, k) in all.iter().enumerate() {
                shards[(i * 3) % n].push(k.clone());
            }
            shards.iter_mut().for_each(|s| s.sort());
            for limit in [1, 2, 5, 22, 23, 24, 100] {
                let (seen, pages) = run(shards.clone(), limit);
                assert_eq!(seen, sorted, "{n} shards, limit {limit}");
                for p in &pages[..pages.len() - 1] {
                    assert_eq!(p.items.len(), limit);
                    assert!(
                        p.items_read <= limit + n * limit.min(3) + n,
                        "{n} shards, limit {limit}: {}",
                        p.items_read
                    );
                }
                assert!(pages.last().unwrap().next.is_none());
            }
        }
    }

    #[test]
    fn skewed_shards_stay_close_to_the_page() {
        // Everything in one of four shards: the other three cost nothing.
        let all: Vec<String> = (0..40).map(|i| sk(i, i)).collect();
        let (seen, pages) = run(vec![vec![], all.clone(), vec![], vec![]], 10);
        assert_eq!(seen, all);
        for p in &pages {
            assert!(p.items_read <= 11 + 3, "{}", p.items_read);
        }
    }

    #[test]
    fn empty_index_is_one_round_and_no_cursor() {
        let (seen, pages) = run(vec![vec![]; 4], 10);
        assert!(seen.is_empty());
        assert_eq!(pages.len(), 1);
        assert_eq!(pages[0].items_read, 0);
        assert_eq!(pages[0].next, None);
    }
}
