//! What became of a pull request, as its forge says when asked: open, merged or closed
//! unmerged, when, and by whom. The service asks it of the pull requests it recorded open, so
//! that a merge is learnt where no webhook tells of it.
//!
//! Each forge names it its own way (GitHub's REST `GET /repos/{o}/{r}/pulls/{n}`: `state` and
//! `merged_at`; GitLab's `GET /projects/:id/merge_requests/:iid`: `state` `merged` and who in
//! `merge_user` or `closed_by`; Gitea's `GET /repos/{o}/{r}/pulls/{n}`: `merged`); the shapes
//! here are read into one [`PullFate`].

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// A pull request's state now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Open,
    Merged,
    /// Closed without merging.
    Closed,
}

impl Fate {
    /// As the journal records it (`pr_state`).
    pub fn name(self) -> &'static str {
        match self {
            Fate::Open => "open",
            Fate::Merged => "merged",
            Fate::Closed => "closed",
        }
    }
}

/// What a forge says of a pull request now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullFate {
    pub fate: Fate,
    pub created_at: Option<DateTime<Utc>>,
    pub merged_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Who merged or closed it, where the forge's answer says (GitHub's and Gitea's pull
    /// requests name who merged, not who closed).
    pub by: Option<String>,
}

/// GitHub's or Gitea's user, as a pull request names it.
#[derive(Debug, Deserialize)]
struct Login {
    login: String,
}

/// GitLab's user.
#[derive(Debug, Deserialize)]
struct Username {
    username: String,
}

/// A pull request as GitHub's REST API gives it, the fields read.
#[derive(Debug, Deserialize)]
struct GitHubPull {
    /// `open` or `closed`.
    state: String,
    created_at: Option<DateTime<Utc>>,
    merged_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
    merged_by: Option<Login>,
}

/// A merge request as GitLab's API v4 gives it, the fields read.
#[derive(Debug, Deserialize)]
pub(super) struct GitLabMergeRequest {
    /// `opened`, `closed`, `locked` (being merged) or `merged`.
    state: String,
    created_at: Option<DateTime<Utc>>,
    merged_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
    /// `merged_by` is deprecated for it since GitLab 14.7; both are read.
    merge_user: Option<Username>,
    merged_by: Option<Username>,
    closed_by: Option<Username>,
}

/// A pull request as Gitea's and Forgejo's API v1 gives it, the fields read.
#[derive(Debug, Deserialize)]
pub(super) struct GiteaPull {
    /// `open` or `closed`.
    state: String,
    #[serde(default)]
    merged: bool,
    created_at: Option<DateTime<Utc>>,
    merged_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
    merged_by: Option<Login>,
}

impl From<GitHubPull> for PullFate {
    fn from(p: GitHubPull) -> PullFate {
        let merged = p.merged_at.is_some();
        github_like(
            &p.state,
            merged,
            p.created_at,
            p.merged_at,
            p.closed_at,
            p.merged_by,
        )
    }
}

impl From<GitLabMergeRequest> for PullFate {
    fn from(m: GitLabMergeRequest) -> PullFate {
        // `locked`: being merged, not yet merged.
        let (fate, by) = match m.state.as_str() {
            "merged" => (Fate::Merged, m.merge_user.or(m.merged_by)),
            "closed" => (Fate::Closed, m.closed_by),
            _ => (Fate::Open, None),
        };
        PullFate {
            fate,
            created_at: m.created_at,
            merged_at: m.merged_at,
            closed_at: m.closed_at.or(m.merged_at),
            by: by.map(|u| u.username),
        }
    }
}

impl From<GiteaPull> for PullFate {
    fn from(p: GiteaPull) -> PullFate {
        github_like(
            &p.state,
            p.merged,
            p.created_at,
            p.merged_at,
            p.closed_at,
            p.merged_by,
        )
    }
}

/// GitHub's and Gitea's answers say it the same way (Gitea's API copies GitHub's), but for
/// whether it merged: `merged_at` on GitHub, `merged` on Gitea.
fn github_like(
    state: &str,
    merged: bool,
    created_at: Option<DateTime<Utc>>,
    merged_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
    merged_by: Option<Login>,
) -> PullFate {
    let fate = match (state, merged) {
        ("open", _) => Fate::Open,
        (_, true) => Fate::Merged,
        _ => Fate::Closed,
    };
    PullFate {
        fate,
        created_at,
        merged_at,
        closed_at,
        by: merged_by.map(|u| u.login).filter(|_| fate == Fate::Merged),
    }
}

impl super::github::Repo {
    /// What became of pull request `number`.
    pub async fn fate(&self, number: u64) -> Result<PullFate> {
        let pull: GitHubPull = self
            .api
            .get(&self.path(&format!("/pulls/{number}")))
            .await?;
        Ok(pull.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_forges_answer_is_read_alike() {
        let github: GitHubPull = serde_json::from_str(r#"{"state":"closed","created_at":"2026-12-06T10:00:00Z","merged_at":"2026-12-06T10:05:00Z","closed_at":"2026-12-06T10:05:00Z","merged_by":{"login":"dana"}}"#).unwrap();
        let github = PullFate::from(github);
        assert_eq!(
            (github.fate, github.by.as_deref()),
            (Fate::Merged, Some("dana"))
        );
        let closed: GitHubPull = serde_json::from_str(r#"{"state":"closed","merged_at":null,"closed_at":"2026-12-06T10:05:00Z","merged_by":null}"#).unwrap();
        assert_eq!(PullFate::from(closed).fate, Fate::Closed);
        let gitlab: GitLabMergeRequest = serde_json::from_str(r#"{"state":"closed","created_at":"2026-12-06T10:00:00Z","merged_at":null,"closed_at":"2026-12-06T10:05:00Z","closed_by":{"username":"sam"},"merge_user":null,"merged_by":null}"#).unwrap();
        let gitlab = PullFate::from(gitlab);
        assert_eq!(
            (gitlab.fate, gitlab.by.as_deref()),
            (Fate::Closed, Some("sam"))
        );
        let locked: GitLabMergeRequest = serde_json::from_str(r#"{"state":"locked"}"#).unwrap();
        assert_eq!(PullFate::from(locked).fate, Fate::Open, "being merged");
        let gitea: GiteaPull = serde_json::from_str(r#"{"state":"closed","merged":true,"merged_at":"2026-12-06T10:05:00Z","closed_at":"2026-12-06T10:05:00Z","merged_by":{"login":"dana"}}"#).unwrap();
        let gitea = PullFate::from(gitea);
        assert_eq!(
            (gitea.fate, gitea.by.as_deref()),
            (Fate::Merged, Some("dana"))
        );
    }
}
