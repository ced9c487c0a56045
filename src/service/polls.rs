//! What became of the rollback pull requests, asked of their forges every
//! `pull_request.poll_interval`: a merge or a close is learnt where no webhook tells of it (none
//! configured, a delivery lost, the service down when it was sent).
//!
//! Only pull requests the journal still has open are asked about, and only a change is
//! recorded, through the same journal call as a webhook's delivery. The poll's delivery id
//! names the pull request, its state and when it came to it, so that the same answer given to
//! two replicas (each polls) or twice is recorded once; and the journal counts a merge once
//! whoever told of it first, webhook or poll.

use std::sync::Arc;

use tracing::{debug, info, warn};

use super::job::{forge_kind, on_forge};
use super::state::Shared;
use crate::forge::fate::{Fate, PullFate};
use crate::journal::{OpenPull, PullEvent};

/// Polls until the service stops; returns at once when `poll_interval` is 0 (off).
pub async fn run(shared: Arc<Shared>) {
    let every = shared.config().pull_request.poll_interval;
    if every.is_zero() {
        return;
    }
    // The first poll after one interval: a start-up has enough to do, and a restart loop
    // would otherwise ask the forges at each start.
    let start = tokio::time::Instant::now() + every;
    let mut ticks = tokio::time::interval_at(start, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if shared.stopping() {
            return;
        }
        poll(&shared).await;
    }
}

/// Asks about every open pull request once; a forge's error on one is logged and the others
/// are asked all the same.
async fn poll(shared: &Shared) {
    let open = match shared.journal().open_pulls().await {
        Ok(open) => open,
        Err(e) => {
            warn!("cannot list the open pull requests to poll: {e:#}");
            return;
        }
    };
    for pull in open {
        if shared.stopping() {
            return;
        }
        let fate = match ask(shared, &pull).await {
            Ok(Some(fate)) => fate,
            Ok(None) => continue,
            Err(e) => {
                warn!(
                    forge = %pull.forge,
                    pull_request = %pull.url,
                    "cannot ask what became of the pull request: {}",
                    crate::error::render_chain(&e, &super::state::config_key)
                );
                continue;
            }
        };
        if fate.fate == Fate::Open {
            continue;
        }
        record(shared, &pull, &fate).await;
    }
}

/// What the pull request's forge says of it; `None` when it is not asked: its repository is no
/// longer configured, or is on another forge now, or nothing is opened there.
async fn ask(shared: &Shared, pull: &OpenPull) -> anyhow::Result<Option<PullFate>> {
    let Some(repo) = shared.config().repo(&pull.repo) else {
        debug!(repo = %pull.repo, "not polled: the repository is no longer configured");
        return Ok(None);
    };
    let kind = forge_kind(repo);
    let engine = shared.engine();
    if kind.name() != pull.forge || !engine.opens_pulls(kind) || !engine.keeps_pull(kind, &pull.url)
    {
        return Ok(None);
    }
    let fate = engine
        .pull_fate(on_forge(repo).as_ref(), Some(kind), &repo.url, pull.number)
        .await?;
    Ok(Some(fate))
}

async fn record(shared: &Shared, pull: &OpenPull, fate: &PullFate) {
    let event = event(pull, fate);
    match shared.journal().pull_event(&event, shared.now_ms()).await {
        Err(e) => warn!(
            pull_request = %pull.url,
            "cannot record what became of the pull request: {e:#}"
        ),
        Ok(r) if r.replayed || r.jobs == 0 => {}
        Ok(r) => {
            if r.newly_merged {
                if let (Some(opened), Some(merged)) = (fate.created_at, fate.merged_at) {
                    let ms = (merged - opened).num_milliseconds().max(0);
                    shared.metrics().pull_request_merged(ms as f64 / 1000.0);
                }
            }
            info!(
                forge = %pull.forge,
                pull_request = %pull.url,
                by = event.closed_by.as_deref().unwrap_or(""),
                "pull request {} (poll)",
                event.state
            );
        }
    }
}

/// The journal's record of a poll's answer. Its delivery id is the pull request, the state and
/// when it came to it: the same answer again is a replay, a later close (after a reopen) is not.
fn event(pull: &OpenPull, fate: &PullFate) -> PullEvent {
    let ms = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.timestamp_millis());
    let (merged_at, closed_at) = (ms(fate.merged_at), ms(fate.closed_at));
    let state = fate.fate.name();
    let since = merged_at.or(closed_at).unwrap_or_default();
    PullEvent {
        forge: pull.forge.clone(),
        delivery: format!("poll:{}:{state}:{since}", pull.url),
        event: format!("poll {state}"),
        pull_url: pull.url.clone(),
        state: state.into(),
        merged_at: if fate.fate == Fate::Merged {
            merged_at.or(closed_at)
        } else {
            None
        },
        closed_at: closed_at.or(merged_at),
        closed_by: fate.by.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_answer_is_the_same_delivery_and_a_later_close_is_not() {
        let pull = OpenPull {
            url: "https://github.com/acme/gitops/pull/7".into(),
            repo: "gitops".into(),
            forge: "github".into(),
            number: 7,
        };
        let at = |s: &str| Some(s.parse::<chrono::DateTime<chrono::Utc>>().unwrap());
        let closed = PullFate {
            fate: Fate::Closed,
            created_at: at("2026-12-06T10:00:00Z"),
            merged_at: None,
            closed_at: at("2026-12-06T10:05:00Z"),
            by: None,
        };
        let first = event(&pull, &closed);
        assert_eq!(first, event(&pull, &closed));
        assert_eq!(
            first.delivery,
            "poll:https://github.com/acme/gitops/pull/7:closed:1796551500000"
        );
        assert_eq!((first.state.as_str(), first.merged_at), ("closed", None));
        let later = PullFate {
            closed_at: at("2026-12-06T11:00:00Z"),
            ..closed.clone()
        };
        assert_ne!(first.delivery, event(&pull, &later).delivery);
        let merged = PullFate {
            fate: Fate::Merged,
            merged_at: at("2026-12-06T10:05:00Z"),
            by: Some("dana".into()),
            ..closed
        };
        let e = event(&pull, &merged);
        assert_eq!(e.state, "merged");
        assert_eq!(e.merged_at, Some(1_796_551_500_000));
        assert_eq!(e.closed_by.as_deref(), Some("dana"));
    }
}
