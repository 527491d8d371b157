//! Claims racing the failover sweep and each other on the local store: every race ends with
//! one owner, and the loser is told what happened (a conflict naming who has it), never "try
//! again later".

use chrono::{TimeZone, Utc};
use handoff_domain::claim_link::ClaimAction;
use handoff_domain::event::IntakeEvent;
use handoff_domain::ids::{HandoffId, ProviderEventId, RepId};
use handoff_domain::lifecycle::{RerouteReason, State};
use handoff_domain::ports::ManualClock;
use handoff_domain::service::ServiceError;
use std::sync::Arc;
use std::time::Duration;

mod support;

/// Races per campaign.
const RACES: usize = 1_000;
/// Races run at once (more would queue so long on the one SQLite connection that the side
/// started first always wins).
const AT_ONCE: usize = 10;

fn event(campaign: &str, i: usize) -> IntakeEvent {
    let mut e: IntakeEvent = serde_json::from_str(include_str!(
        "../../examples/events/02-ai-qualified-lead.json"
    ))
    .unwrap();
    e.provider_event_id = ProviderEventId::parse(format!("{campaign}-{i}")).unwrap();
    // One buyer per event: a second event of one buyer would join the first's handoff.
    e.kind.buyer_mut().email =
        handoff_domain::ids::EmailAddress::parse(format!("buyer-{i}@{campaign}-{i}.example"))
            .unwrap();
    e.kind.buyer_mut().company_domain = None;
    e
}

/// `RACES` notified handoffs, each with its owner.
async fn notified(
    pipeline: &handoff_cli::runtime::LocalPipeline,
    campaign: &str,
) -> Vec<(HandoffId, RepId)> {
    let mut ids = Vec::with_capacity(RACES);
    for i in 0..RACES {
        let receipt = pipeline.services.intake(event(campaign, i)).await.unwrap();
        ids.push(receipt.handoff_id);
    }
    pipeline.drain().await.unwrap();
    let mut out = Vec::with_capacity(RACES);
    for id in ids {
        let r = pipeline.services.store.get(&id).await.unwrap().unwrap();
        assert_eq!(r.state, State::Notified, "{id}");
        out.push((id, r.owner.unwrap().rep.unwrap()));
    }
    out
}

/// A refusal must be a conflict that says who has the handoff now.
fn assert_clear_refusal(e: &ServiceError, id: &HandoffId) {
    match e {
        ServiceError::Conflict(why) => assert!(
            why.contains(" is with ")
                || why.contains("already accepted by")
                || why.contains("as the wrong owner")
                || why.contains("is not awaiting"),
            "{id}: {why}"
        ),
        other => panic!("{id}: a lost race answered {other} instead of a conflict"),
    }
}

/// Runs `race(services, id, owner, delay)` for every handoff, [`AT_ONCE`] at a time; `delay`
/// (0–60 ms, varying by race) is how late the accept side starts, so either side can win.
async fn race_all<T, F, Fut>(
    services: &Arc<handoff_domain::service::Services>,
    handoffs: &[(HandoffId, RepId)],
    race: F,
) -> Vec<(HandoffId, RepId, T)>
where
    T: Send + 'static,
    F: Fn(Arc<handoff_domain::service::Services>, HandoffId, RepId, Duration) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let mut results = Vec::with_capacity(handoffs.len());
    for (c, chunk) in handoffs.chunks(AT_ONCE).enumerate() {
        let races: Vec<_> = chunk
            .iter()
            .enumerate()
            .map(|(k, (id, owner))| {
                let delay = Duration::from_millis(((c * AT_ONCE + k) % 5) as u64 * 15);
                let run = race(services.clone(), id.clone(), owner.clone(), delay);
                let (id, owner) = (id.clone(), owner.clone());
                tokio::spawn(async move { (id, owner, run.await) })
            })
            .collect();
        for race in races {
            results.push(race.await.unwrap());
        }
    }
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accept_racing_the_failover_sweep_ends_with_one_owner() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 24, 14, 0, 0).unwrap(),
    ));
    let pipeline = support::open(dir.path(), clock.clone()).await;
    let handoffs = notified(&pipeline, "sweep-race").await;
    // Every deadline has passed: the sweep and the owner's accept go for the same handoffs.
    clock.advance(chrono::Duration::days(3));
    let services = pipeline.services.clone();
    let results = race_all(
        &services,
        &handoffs,
        |services, id, owner, delay| async move {
            let accept = async {
                tokio::time::sleep(delay).await;
                services.claim(&id, &owner, ClaimAction::Accept).await
            };
            let sweep = services.fail_over(&id, RerouteReason::SlaMissed, None);
            tokio::join!(accept, sweep)
        },
    )
    .await;
    let (mut accepted_first, mut swept_first) = (0, 0);
    for (id, owner, (accepted, swept)) in results {
        let record = services.store.get(&id).await.unwrap().unwrap();
        match accepted {
            Ok(_) => {
                accepted_first += 1;
                assert_eq!(record.state, State::Accepted, "{id}");
                assert_eq!(record.owner.unwrap().rep.as_ref(), Some(&owner), "{id}");
                // Either the sweep found it accepted, or it had sent it to the shared queue
                // first and the owner picked it up from there (anyone may).
                match &swept {
                    Ok(handoff_domain::service::sweep::FailoverOutcome::Skipped) => {}
                    Ok(_) => assert_eq!(
                        record.reassignments.last().map(|r| r.reason),
                        Some(handoff_domain::lifecycle::ReassignReason::QueuePickup),
                        "{id}"
                    ),
                    Err(e) => panic!("{id}: the sweep failed: {e}"),
                }
            }
            Err(e) => {
                swept_first += 1;
                assert_clear_refusal(&e, &id);
                assert!(swept.is_ok(), "{id}: {swept:?}");
                assert_ne!(record.owner.unwrap().rep.as_ref(), Some(&owner), "{id}");
                assert!(record.state.awaits_owner(), "{id}: {:?}", record.state);
            }
        }
    }
    eprintln!(
        "{RACES} accept-vs-sweep races: the accept won {accepted_first}, the sweep {swept_first}"
    );
    assert_eq!(accepted_first + swept_first, RACES);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_and_wrong_owner_clicked_together_end_with_one_owner() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 24, 14, 0, 0).unwrap(),
    ));
    let pipeline = support::open(dir.path(), clock.clone()).await;
    let handoffs = notified(&pipeline, "double-click").await;
    let services = pipeline.services.clone();
    let results = race_all(
        &services,
        &handoffs,
        |services, id, owner, delay| async move {
            // The accept comes up to 60 ms after the "wrong owner" click.
            let accept = async {
                tokio::time::sleep(delay).await;
                services.claim(&id, &owner, ClaimAction::Accept).await
            };
            let decline = services.claim(&id, &owner, ClaimAction::WrongOwner);
            tokio::join!(accept, decline)
        },
    )
    .await;
    let (mut accepts, mut declines) = (0, 0);
    for (id, owner, (accepted, declined)) in results {
        let record = services.store.get(&id).await.unwrap().unwrap();
        match (&accepted, &declined) {
            (Ok(_), Err(e)) => {
                accepts += 1;
                assert_clear_refusal(e, &id);
                assert_eq!(record.state, State::Accepted, "{id}");
                assert_eq!(record.owner.unwrap().rep.as_ref(), Some(&owner), "{id}");
            }
            (Err(e), Ok(_)) => {
                declines += 1;
                assert_clear_refusal(e, &id);
                assert_ne!(record.owner.unwrap().rep.as_ref(), Some(&owner), "{id}");
            }
            _ => panic!("{id}: both or neither applied: {accepted:?} / {declined:?}"),
        }
    }
    eprintln!(
        "{RACES} accept-vs-wrong-owner races: the accept won {accepts}, wrong owner {declines}"
    );
    assert_eq!(accepts + declines, RACES);
}
