//! What people read of a commit: its id, author, time and subject.

use chrono::{DateTime, FixedOffset, SecondsFormat};
use git2::{Commit, Oid};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitInfo {
    pub sha: String,
    pub author: String,
    pub email: String,
    /// Author time, RFC 3339 with the author's offset.
    pub time: String,
    pub subject: String,
}

impl CommitInfo {
    pub fn of(commit: &Commit) -> CommitInfo {
        let author = commit.author();
        CommitInfo {
            sha: commit.id().to_string(),
            author: String::from_utf8_lossy(author.name_bytes()).into_owned(),
            email: String::from_utf8_lossy(author.email_bytes()).into_owned(),
            time: rfc3339(author.when()),
            subject: commit
                .summary_bytes()
                .map(String::from_utf8_lossy)
                .unwrap_or_default()
                .into_owned(),
        }
    }

    /// The abbreviated id people read: 12 hex digits.
    pub fn short_sha(&self) -> &str {
        short_str(&self.sha)
    }
}

/// The abbreviated id people read: 12 hex digits.
pub fn short(id: Oid) -> String {
    short_str(&id.to_string()).to_string()
}

/// The first 12 characters of a hex commit id (all of a shorter one).
pub fn short_str(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// Formats a git time as RFC 3339 in its own offset, e.g. `2026-11-20T10:11:12+01:00`.
pub fn rfc3339(t: git2::Time) -> String {
    let offset = FixedOffset::east_opt(t.offset_minutes() * 60)
        .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero is a valid offset"));
    DateTime::from_timestamp(t.seconds(), 0)
        .unwrap_or_default()
        .with_timezone(&offset)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_git_times_in_their_own_offset() {
        assert_eq!(rfc3339(git2::Time::new(0, 0)), "1970-01-01T00:00:00+00:00");
        assert_eq!(
            rfc3339(git2::Time::new(1_795_000_000, 60)),
            "2026-11-18T12:06:40+01:00"
        );
        assert_eq!(
            rfc3339(git2::Time::new(951_782_400, -300)),
            "2000-02-28T19:00:00-05:00"
        );
    }

    #[test]
    fn short_ids_are_twelve_hex_digits() {
        let id = Oid::from_str("b4e048f2f1e96b2e0013bfa4e15fffa61c85feee").unwrap();
        assert_eq!(short(id), "b4e048f2f1e9");
        assert_eq!(short_str("abc"), "abc");
    }
}
