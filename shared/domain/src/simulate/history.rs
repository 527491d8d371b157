//! Reading what a replay needs from a store: the records created in the period, when each was
//! first assigned (its timeline), and the context (availability overrides, learned account
//! owners, each contact's owner before the period). Only read methods of
//! [`HandoffStore`] are called; `cli/tests/simulate.rs` runs it on a store that panics on any
//! write.

use super::{Period, ReplayCase, ReplayContext};
use crate::lifecycle::Transition;
use crate::ports::{HandoffStore, StoreError};
use std::collections::BTreeSet;

/// How many of a contact's handoffs are read to find their owner before the period.
const CONTACT_HISTORY: usize = 20;

/// The period's records (with when each was first assigned) and the replay context.
pub async fn gather(
    store: &dyn HandoffStore,
    period: Period,
) -> Result<(Vec<ReplayCase>, ReplayContext), StoreError> {
    let records = store.created_between(period.from, period.to).await?;
    let mut cases = Vec::with_capacity(records.len());
    for record in records {
        let routed_at = if record.owner.is_some() {
            let assigned = Transition::Assign.label();
            store
                .timeline(&record.id)
                .await?
                .into_iter()
                .find(|entry| entry.event == assigned)
                .map(|entry| entry.at)
        } else {
            None
        };
        cases.push(ReplayCase {
            routed_at: routed_at.unwrap_or(record.created_at),
            record,
        });
    }
    let mut context = ReplayContext {
        overrides: store.availability().await?,
        ..ReplayContext::default()
    };
    let domains: BTreeSet<_> = cases
        .iter()
        .filter_map(|c| c.record.company_domain.clone())
        .collect();
    for domain in domains {
        if let Some(owner) = store.account_owner(&domain).await? {
            context.learned_account_owners.insert(domain, owner);
        }
    }
    let contacts: BTreeSet<_> = cases
        .iter()
        .map(|c| c.record.contact_email.clone())
        .collect();
    for email in contacts {
        // Newest first: the first with an owner among those created before the period.
        let earlier = store
            .by_contact(&email, CONTACT_HISTORY)
            .await?
            .into_iter()
            .filter(|s| s.created_at < period.from)
            .find_map(|s| s.owner);
        if let Some(owner) = earlier {
            context.earlier_owners.insert(email, owner);
        }
    }
    Ok((cases, context))
}
