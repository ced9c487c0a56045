//! When a forge call is tried again, and after how long: the same for every forge. A GET is
//! retried on 5xx, 429 and rate-limit 403s, honouring `Retry-After` (GitHub, GitLab and
//! Gitea/Forgejo all send it) and GitHub's `x-ratelimit-reset`; a POST never is (the callers
//! read the state again first, so that no pull request is opened twice).

use std::time::Duration;

use chrono::{DateTime, Utc};
use http::StatusCode;

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Tries of one GET in all.
    pub attempts: u32,
    /// First back-off after a 5xx; doubled each time.
    pub base_delay: Duration,
    /// The longest revertbot waits for a rate limit to reset before giving up.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            base_delay: Duration::from_millis(500),
            max_wait: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before try `attempt + 1` after a failed one: doubled each time.
    pub fn backoff(&self, attempt: u32) -> Duration {
        self.base_delay * 2u32.saturating_pow(attempt.saturating_sub(1))
    }
}

pub(crate) enum Wait {
    RateLimited(Duration),
    ServerError,
}

/// Whether (and how long) to wait before retrying a GET that got `status`.
pub(crate) fn retry_wait(
    status: StatusCode,
    headers: &http::HeaderMap,
    now: DateTime<Utc>,
) -> Option<Wait> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(seconds) = header("retry-after").and_then(|v| v.trim().parse::<u64>().ok()) {
        if status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::FORBIDDEN
            || status.is_server_error()
        {
            return Some(Wait::RateLimited(Duration::from_secs(seconds)));
        }
    }
    // GitHub spells them `x-ratelimit-*`, GitLab `ratelimit-*`.
    let limit = |name: &str| {
        header(&format!("x-ratelimit-{name}")).or(header(&format!("ratelimit-{name}")))
    };
    let exhausted = limit("remaining") == Some("0");
    if exhausted && (status == StatusCode::FORBIDDEN || status == StatusCode::TOO_MANY_REQUESTS) {
        let reset = limit("reset")
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or(0);
        let secs = (reset - now.timestamp()).max(0) as u64;
        return Some(Wait::RateLimited(
            Duration::from_secs(secs) + Duration::from_millis(250),
        ));
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Some(Wait::RateLimited(Duration::from_secs(60)));
    }
    status.is_server_error().then_some(Wait::ServerError)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_as_github_says() {
        let now = DateTime::from_timestamp(1_000, 0).unwrap();
        let mut h = http::HeaderMap::new();
        h.insert("x-ratelimit-remaining", "0".parse().unwrap());
        h.insert("x-ratelimit-reset", "1005".parse().unwrap());
        match retry_wait(StatusCode::FORBIDDEN, &h, now) {
            Some(Wait::RateLimited(d)) => assert_eq!(d, Duration::from_millis(5_250)),
            _ => panic!("a rate-limit 403 waits for the reset"),
        }
        let mut h = http::HeaderMap::new();
        h.insert("retry-after", "7".parse().unwrap());
        assert!(
            matches!(retry_wait(StatusCode::TOO_MANY_REQUESTS, &h, now), Some(Wait::RateLimited(d)) if d == Duration::from_secs(7))
        );
        assert!(matches!(
            retry_wait(StatusCode::BAD_GATEWAY, &http::HeaderMap::new(), now),
            Some(Wait::ServerError)
        ));
        assert!(
            retry_wait(StatusCode::FORBIDDEN, &http::HeaderMap::new(), now).is_none(),
            "a permission 403 is final"
        );
        assert!(retry_wait(StatusCode::NOT_FOUND, &http::HeaderMap::new(), now).is_none());
    }
}
