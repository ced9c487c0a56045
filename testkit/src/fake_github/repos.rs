//! Repositories: `GET /repos/{owner}/{repo}`, and the repository and branch shapes other resources
//! embed.

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::model::{node_id, ts, Identity, Repo};
use super::reply::{merge, ok, Fail, Reply};
use super::route::{Req, Route};
use super::State;

pub(super) const ROUTES: &[Route] = &[Route::get("/repos/{owner}/{repo}", State::get_repo)];

impl State {
    fn get_repo(&mut self, req: &Req) -> Result<Reply, Fail> {
        let caller = self.token_caller(req.headers)?;
        let k = self.visible_repo(&caller, req.params.get("owner"), req.params.get("repo"))?;
        Ok(ok(
            StatusCode::OK,
            self.full_repository_json(&self.repos[&k]),
        ))
    }

    // -- JSON shapes (GitHub's, as in its OpenAPI description) -------------------------------

    fn repository_json(&self, repo: &Repo) -> Value {
        let api = self.api();
        let full = repo.full_name();
        let u = format!("{api}/repos/{full}");
        let open = repo.pulls.values().filter(|p| p.open).count();
        let mut v = json!({
            "id": repo.id,
            "node_id": node_id("R", repo.id),
            "name": repo.name,
            "full_name": full,
            "private": false,
            "owner": self.simple_user(&Identity::org(&repo.owner)),
            "html_url": format!("https://github.com/{full}"),
            "description": null,
            "fork": false,
            "url": u,
            "created_at": ts(repo.created_at),
            "updated_at": ts(repo.created_at),
            "pushed_at": ts(repo.created_at),
            "git_url": format!("git://github.com/{full}.git"),
            "ssh_url": format!("git@github.com:{full}.git"),
            "clone_url": format!("https://github.com/{full}.git"),
            "svn_url": format!("https://github.com/{full}"),
            "homepage": null,
            "size": 108,
            "stargazers_count": 0,
            "watchers_count": 0,
            "language": null,
            "has_issues": true,
            "has_projects": true,
            "has_downloads": true,
            "has_wiki": false,
            "has_pages": false,
            "has_discussions": false,
            "forks_count": 0,
        });
        merge(
            &mut v,
            json!({
                "mirror_url": null,
                "archived": false,
                "disabled": false,
                "open_issues_count": open,
                "license": null,
                "allow_forking": true,
                "is_template": false,
                "web_commit_signoff_required": false,
                "topics": [],
                "visibility": "public",
                "forks": 0,
                "open_issues": open,
                "watchers": 0,
                "default_branch": repo.default_branch,
            }),
        );
        let map = v.as_object_mut().unwrap();
        for (field, suffix) in [
            ("forks_url", "/forks"),
            ("keys_url", "/keys{/key_id}"),
            ("collaborators_url", "/collaborators{/collaborator}"),
            ("teams_url", "/teams"),
            ("hooks_url", "/hooks"),
            ("issue_events_url", "/issues/events{/number}"),
            ("events_url", "/events"),
            ("assignees_url", "/assignees{/user}"),
            ("branches_url", "/branches{/branch}"),
            ("tags_url", "/tags"),
            ("blobs_url", "/git/blobs{/sha}"),
            ("git_tags_url", "/git/tags{/sha}"),
            ("git_refs_url", "/git/refs{/sha}"),
            ("trees_url", "/git/trees{/sha}"),
            ("statuses_url", "/statuses/{sha}"),
            ("languages_url", "/languages"),
            ("stargazers_url", "/stargazers"),
            ("contributors_url", "/contributors"),
            ("subscribers_url", "/subscribers"),
            ("subscription_url", "/subscription"),
            ("commits_url", "/commits{/sha}"),
            ("git_commits_url", "/git/commits{/sha}"),
            ("comments_url", "/comments{/number}"),
            ("issue_comment_url", "/issues/comments{/number}"),
            ("contents_url", "/contents/{+path}"),
            ("compare_url", "/compare/{base}...{head}"),
            ("merges_url", "/merges"),
            ("archive_url", "/{archive_format}{/ref}"),
            ("downloads_url", "/downloads"),
            ("issues_url", "/issues{/number}"),
            ("pulls_url", "/pulls{/number}"),
            ("milestones_url", "/milestones{/number}"),
            (
                "notifications_url",
                "/notifications{?since,all,participating}",
            ),
            ("labels_url", "/labels{/name}"),
            ("releases_url", "/releases{/id}"),
            ("deployments_url", "/deployments"),
        ] {
            map.insert(field.to_string(), Value::String(format!("{u}{suffix}")));
        }
        v
    }

    fn full_repository_json(&self, repo: &Repo) -> Value {
        let mut v = self.repository_json(repo);
        let extra = json!({
            "permissions": {"admin": false, "maintain": false, "push": true, "triage": true, "pull": true},
            "allow_squash_merge": true,
            "allow_merge_commit": true,
            "allow_rebase_merge": true,
            "allow_auto_merge": repo.allow_auto_merge,
            "delete_branch_on_merge": false,
            "allow_update_branch": false,
            "use_squash_pr_title_as_default": false,
            "squash_merge_commit_message": "COMMIT_MESSAGES",
            "squash_merge_commit_title": "COMMIT_OR_PR_TITLE",
            "merge_commit_message": "PR_TITLE",
            "merge_commit_title": "MERGE_MESSAGE",
            "temp_clone_token": "",
            "organization": self.simple_user(&Identity::org(&repo.owner)),
            "network_count": 0,
            "subscribers_count": 1,
        });
        merge(&mut v, extra);
        v
    }

    pub(super) fn branch_json(&self, repo: &Repo, owner: &str, branch: &str, sha: &str) -> Value {
        json!({
            "label": format!("{owner}:{branch}"),
            "ref": branch,
            "sha": sha,
            "user": self.simple_user(&Identity::org(owner)),
            "repo": self.repository_json(repo),
        })
    }
}
