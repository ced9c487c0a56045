//! What every forge does the same way around a rollback's pull request: opening it at most once
//! through failures, and when the "fired again" note is due.

use std::future::Future;
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};
use tracing::warn;

use super::body::MARKER;
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

/// Whether the "fired again" note is due on a pull request opened at `opened_at` whose notes
/// are `notes` (text and time): when revertbot's last notice — the pull request itself, or a
/// note of its own — is at least `interval` old.
pub fn notice_due<'a>(
    notes: impl IntoIterator<Item = (&'a str, DateTime<Utc>)>,
    opened_at: DateTime<Utc>,
    now: DateTime<Utc>,
    interval: Duration,
) -> bool {
    let last_notice = notes
        .into_iter()
        .filter(|(text, _)| text.starts_with(MARKER))
        .map(|(_, at)| at)
        .chain([opened_at])
        .max()
        .unwrap_or(opened_at);
    let interval = chrono::Duration::from_std(interval).unwrap_or(chrono::Duration::MAX);
    now - last_notice >= interval
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_is_due_once_the_last_one_is_old_enough() {
        let at = |s: i64| DateTime::from_timestamp(s, 0).unwrap();
        let hour = Duration::from_secs(3600);
        let ours = format!("{MARKER}:occurrence -->\nfired again");
        assert!(notice_due([], at(0), at(3600), hour));
        assert!(!notice_due([], at(0), at(3599), hour));
        assert!(
            !notice_due([(ours.as_str(), at(3000))], at(0), at(3700), hour),
            "our own note an hour ago counts"
        );
        assert!(
            notice_due([("a person's comment", at(3000))], at(0), at(3700), hour),
            "a person's comment does not"
        );
        assert!(!notice_due([], at(0), at(10), Duration::MAX));
    }
}
