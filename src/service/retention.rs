//! Journal retention: deliveries, and the jobs that ended, older than `retention` are deleted
//! at start-up and then every hour while the service runs. Every replica prunes: a delete is
//! idempotent, and the journal keeps replicas from doing the same work at once.

use std::sync::Arc;
use std::time::Duration;

use tracing::{info, warn};

use super::state::Shared;
use crate::config::duration;
use crate::journal::Pruned;

/// Between prunes: an hour's deliveries are few enough to delete in a moment.
const EVERY: Duration = Duration::from_secs(3_600);

/// Prunes until the service stops; returns at once when `retention` is 0 (keep everything).
pub async fn run(shared: Arc<Shared>) {
    let retention = shared.config().retention;
    if retention.is_zero() {
        return;
    }
    // The first tick is at once: a start-up prunes what piled up while the service was down.
    let mut ticks = tokio::time::interval(EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if shared.stopping() {
            return;
        }
        let now = shared.now_ms();
        let age = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
        let before = now.saturating_sub(age);
        let (pruned, error) = prune(&shared, before).await;
        if !pruned.is_empty() {
            info!(
                "journal pruned: {} deliveries, {} jobs older than {}",
                pruned.deliveries,
                pruned.jobs,
                duration::format(retention)
            );
        }
        if let Some(e) = error {
            warn!("cannot prune the journal; trying again in an hour: {e:#}");
        }
    }
}

/// Batch after batch, each its own short transaction so that recording goes on in between,
/// until one deletes nothing; what the batches before an error deleted stays deleted.
async fn prune(shared: &Arc<Shared>, before: i64) -> (Pruned, Option<anyhow::Error>) {
    let mut total = Pruned::default();
    while !shared.stopping() {
        let batch = match shared.journal().prune(before).await {
            Ok(batch) => batch,
            Err(e) => return (total, Some(e)),
        };
        if batch.is_empty() {
            break;
        }
        total.deliveries += batch.deliveries;
        total.jobs += batch.jobs;
    }
    (total, None)
}
