//! What every forge does the same way around a rollback's pull request: opening it at most once
//! through failures.

use std::future::Future;

use anyhow::Result;
use chrono::{DateTime, Utc};
use tracing::warn;

use super::body::notice_due;
use super::http::{describe, ApiError};
use super::pulls::{PullOutcome, PullRequestSpec, PullState};
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

/// A merge or pull request as a forge lists it, in revertbot's terms.
pub struct Listed {
    pub number: u64,
    pub url: String,
    /// `Found` while open, `Merged`, or `Declined` (closed unmerged).
    pub state: PullState,
    pub created_at: DateTime<Utc>,
}

/// Of the pull requests listed for the branch (newest first), the open one, else the newest;
/// an open one gets the "fired again" note when it is due: `notes(number)` reads what is said
/// on it (text and time), `say(number)` adds the note.
pub async fn found_again<Notes, Say>(
    listed: Vec<Listed>,
    spec: &PullRequestSpec,
    now: DateTime<Utc>,
    notes: impl FnOnce(u64) -> Notes,
    say: impl FnOnce(u64) -> Say,
) -> Result<Option<PullOutcome>>
where
    Notes: Future<Output = Result<Vec<(String, DateTime<Utc>)>>>,
    Say: Future<Output = Result<()>>,
{
    let open = listed.iter().position(|p| p.state == PullState::Found);
    let Some(pull) = listed.into_iter().nth(open.unwrap_or(0)) else {
        return Ok(None);
    };
    let mut commented = false;
    if pull.state == PullState::Found && !spec.occurrence_comment.is_empty() {
        let said = notes(pull.number).await?;
        let said = said.iter().map(|(text, at)| (text.as_str(), *at));
        if notice_due(said, pull.created_at, now, spec.comment_interval) {
            match say(pull.number).await {
                Ok(()) => commented = true,
                Err(e) => warn!("could not note on #{}: {e:#}", pull.number),
            }
        }
    }
    Ok(Some(PullOutcome {
        number: pull.number,
        url: pull.url,
        state: pull.state,
        commented,
        warnings: Vec::new(),
    }))
}
