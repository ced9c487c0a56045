//! Repositories: `GET /repos/{owner}/{repo}`, and the `Repository` shape pull requests embed.

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::model::{ts, Repo};
use super::reply::{json_reply, Fail, Reply};
use super::route::{Category, Req, Route};
use super::State;
use axum::http::Method;

pub(super) const ROUTES: &[Route] = &[Route::new(
    Method::GET,
    "/repos/{owner}/{repo}",
    Category::Repository,
    State::get_repo,
)];

impl State {
    fn get_repo(&mut self, req: &Req) -> Result<Reply, Fail> {
        let repo = &self.repos[&req.repo];
        Ok(json_reply(
            StatusCode::OK,
            &self.repository_json(repo, req.caller.is_some()),
        ))
    }

    /// Forgejo's `Repository` (`convert.ToRepo`), as seen by a token user with write access (or
    /// anonymously: read only).
    pub(super) fn repository_json(&self, repo: &Repo, signed: bool) -> Value {
        let full = repo.full_name();
        let html = format!("{}{full}", self.app_url());
        let host = self
            .root
            .split("://")
            .nth(1)
            .and_then(|r| r.split(['/', ':']).next())
            .unwrap_or("localhost")
            .to_string();
        let mut v = json!({
            "id": repo.id,
            "owner": self.user_json(&repo.owner),
            "name": repo.name,
            "full_name": full,
            "description": "",
            "empty": false,
            "private": repo.private,
            "fork": false,
            "template": false,
            "mirror": false,
            "size": 42,
            "language": "",
            "languages_url": format!("{}/repos/{full}/languages", self.api()),
            "html_url": html,
            "url": format!("{}/repos/{full}", self.api()),
            "link": "",
            "ssh_url": format!("git@{host}:{full}.git"),
            "clone_url": format!("{html}.git"),
            "original_url": "",
            "website": "",
            "stars_count": 0,
            "forks_count": 0,
            "watchers_count": 1,
            "open_issues_count": repo.open_issues(),
            "open_pr_counter": repo.open_pulls(),
            "release_counter": 0,
            "default_branch": repo.default_branch,
            "archived": false,
            "created_at": ts(repo.created_at),
            "updated_at": ts(repo.created_at),
            "archived_at": "1970-01-01T00:00:00Z",
        });
        let extra = json!({
            "permissions": {"admin": false, "push": signed, "pull": true},
            "has_issues": true,
            "internal_tracker": {
                "enable_time_tracker": true,
                "allow_only_contributors_to_track_time": true,
                "enable_issue_dependencies": true,
            },
            "has_wiki": true,
            "wiki_branch": repo.default_branch,
            "globally_editable_wiki": false,
            "has_pull_requests": true,
            "has_projects": true,
            "has_releases": true,
            "has_packages": true,
            "has_actions": true,
            "ignore_whitespace_conflicts": false,
            "allow_merge_commits": true,
            "allow_rebase": true,
            "allow_rebase_explicit": true,
            "allow_squash_merge": true,
            "allow_fast_forward_only_merge": true,
            "allow_rebase_update": true,
            "default_delete_branch_after_merge": false,
            "default_merge_style": "merge",
            "default_allow_maintainer_edit": false,
            "default_update_style": "merge",
            "avatar_url": "",
            "internal": false,
            "mirror_interval": "",
            "object_format_name": "sha1",
            "mirror_updated": "0001-01-01T00:00:00Z",
            "topics": [],
            "has_wiki_contents": false,
        });
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v
    }
}
