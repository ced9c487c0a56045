//! `pull_request`, at the top and in a repository, where it overrides the top's settings key
//! by key.

use std::time::Duration;

use super::problems::Problems;
use crate::config::file::PullRequestFile;
use crate::config::model::PullRequest;

/// What a pull request is opened with when the configuration says nothing.
pub fn defaults() -> PullRequest {
    PullRequest {
        labels: Vec::new(),
        reviewers: Vec::new(),
        team_reviewers: Vec::new(),
        assignees: Vec::new(),
        draft: false,
        comment_interval: Duration::from_secs(600),
        poll_interval: Duration::from_secs(300),
    }
}

/// Pull request settings: `over`'s values where given, else `base`'s.
pub fn pull_request(
    key_path: &str,
    over: &PullRequestFile,
    base: &PullRequest,
    p: &mut Problems<'_>,
) -> PullRequest {
    let pick = |v: &Option<Vec<String>>, b: &Vec<String>| v.clone().unwrap_or_else(|| b.clone());
    let comment_interval = match &over.comment_interval {
        Some(s) => p.duration(&format!("{key_path}.comment_interval"), Some(s), "10m"),
        None => base.comment_interval,
    };
    // One poll serves every repository: a repository's own interval would mean nothing.
    let poll_interval = match (&over.poll_interval, key_path) {
        (Some(s), "pull_request") => p.duration("pull_request.poll_interval", Some(s), "5m"),
        (Some(_), _) => {
            p.push(
                &format!("{key_path}.poll_interval"),
                "set it at the top (pull_request.poll_interval): one poll serves every repository"
                    .into(),
            );
            base.poll_interval
        }
        (None, _) => base.poll_interval,
    };
    PullRequest {
        labels: pick(&over.labels, &base.labels),
        reviewers: pick(&over.reviewers, &base.reviewers),
        team_reviewers: pick(&over.team_reviewers, &base.team_reviewers),
        assignees: pick(&over.assignees, &base.assignees),
        draft: over.draft.unwrap_or(base.draft),
        comment_interval,
        poll_interval,
    }
}
