//! What every forge does the same way around a rollback's pull request: opening it at most once
//! through failures.

use std::future::Future;

use anyhow::Result;
use tracing::warn;

use super::http::{describe, ApiError};
use super::pulls::{PullOutcome, PullState};
use super::retry::RetryPolicy;

/// What came of opening a pull request.
pub enum Opened<T> {
    /// Opened now: the forge's answer.
    New(T),
    /// There was one already (the forge said so, or an earlier try had landed after all).
    Found(PullOutcome),
}

/// Opens a pull request with `post`, at most once: a 409 (`exists`) means it is there, so it is
/// looked up with `look`; after a 5xx, 429 or no answer the POST may still have landed, so it
/// is looked up first and only then sent again. Any other answer is final.
pub async fn open_once<T, Post, Look>(
    retry: &RetryPolicy,
    forge: &str,
    mut post: impl FnMut() -> Post,
    mut look: impl FnMut() -> Look,
    exists: impl Fn(&ApiError) -> bool,
) -> Result<Opened<T>, OpenFailed>
where
    Post: Future<Output = Result<T, ApiError>>,
    Look: Future<Output = Result<Option<PullOutcome>>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        let error = match post().await {
            Ok(made) => return Ok(Opened::New(made)),
            Err(e) => e,
        };
        if exists(&error) {
            return match look().await.map_err(OpenFailed::Look)? {
                Some(found) => Ok(Opened::Found(found)),
                None => Err(OpenFailed::Look(anyhow::anyhow!(
                    "{forge} says the pull request exists but does not list it"
                ))),
            };
        }
        if !error.is_transient() || attempt >= retry.attempts {
            return Err(OpenFailed::Post(error));
        }
        // The POST may have landed: look before sending it again.
        if let Some(mut found) = look().await.map_err(OpenFailed::Look)? {
            if found.state == PullState::Found {
                found.state = PullState::Created;
                found.commented = false;
            }
            return Ok(Opened::Found(found));
        }
        let delay = retry.backoff(attempt);
        warn!(
            "opening the pull request on {forge}: {}; trying again in {delay:?}",
            describe(&error)
        );
        tokio::time::sleep(delay).await;
    }
}

/// Why a pull request was not opened.
pub enum OpenFailed {
    /// The forge's last answer to the POST.
    Post(ApiError),
    /// Looking for the pull request failed.
    Look(anyhow::Error),
}
