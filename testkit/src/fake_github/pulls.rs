//! Pull requests: list, create, get, request reviewers; and the pull request shapes.

use crate::bare_git;
use axum::http::{HeaderValue, StatusCode};
use serde_json::{json, Value};

use super::model::{fake_sha, node_id, ts, user_id, Identity, PullState, Repo, RepoKey};
use super::reply::{
    author_association, error, merge, not_found, ok, paginated, validation_failed, Fail, Reply,
};
use super::route::{Req, Route};
use super::{State, DOCS, MAX_BODY_CHARS, USER_LOGIN};

pub(super) const ROUTES: &[Route] = &[
    Route::get("/repos/{owner}/{repo}/pulls", State::list_pulls),
    Route::post("/repos/{owner}/{repo}/pulls", State::create_pull),
    Route::get("/repos/{owner}/{repo}/pulls/{pull_number}", State::get_pull),
    Route::post(
        "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers",
        State::request_reviewers,
    ),
];

impl State {
    fn list_pulls(&mut self, req: &Req) -> Result<Reply, Fail> {
        let caller = self.token_caller(req.headers)?;
        let k = self.visible_repo(&caller, req.params.get("owner"), req.params.get("repo"))?;
        let repo = &self.repos[&k];
        let state = req.query.get("state").map(String::as_str).unwrap_or("open");
        // GitHub ignores a `head` without the `owner:` part.
        let head = req
            .query
            .get("head")
            .and_then(|h| h.split_once(':'))
            .map(|(o, b)| (o.to_ascii_lowercase(), b.to_string()));
        let base = req.query.get("base");
        let mut pulls: Vec<&PullState> = repo
            .pulls
            .values()
            .filter(|p| match state {
                "open" => p.open,
                "closed" => !p.open,
                _ => true,
            })
            .filter(|p| {
                head.as_ref()
                    .is_none_or(|(ho, hb)| p.head_owner.eq_ignore_ascii_case(ho) && &p.head == hb)
            })
            .filter(|p| base.is_none_or(|b| &p.base == b))
            .collect();
        let sort = req
            .query
            .get("sort")
            .map(String::as_str)
            .unwrap_or("created");
        // GitHub: `desc` by default when sorting by creation, `asc` otherwise.
        let desc = req
            .query
            .get("direction")
            .map(|d| d == "desc")
            .unwrap_or(sort == "created");
        match sort {
            "updated" => pulls.sort_by_key(|p| (p.updated_at, p.number)),
            _ => pulls.sort_by_key(|p| (p.created_at, p.number)),
        }
        if desc {
            pulls.reverse();
        }
        let items: Vec<Value> = pulls
            .iter()
            .map(|p| self.pull_json(repo, p, false))
            .collect();
        paginated(items, &req.query, req.uri, req.headers)
    }

    fn create_pull(&mut self, req: &Req) -> Result<Reply, Fail> {
        let b = req.json()?;
        let caller = self.token_caller(req.headers)?;
        let k = self.visible_repo(&caller, req.params.get("owner"), req.params.get("repo"))?;
        let doc = format!("{DOCS}/pulls/pulls#create-a-pull-request");
        let field = |name: &str| b.get(name).and_then(Value::as_str).map(str::to_string);
        for required in ["head", "base"] {
            if field(required).is_none() {
                return Err(validation_failed(
                    &doc,
                    json!({"resource": "PullRequest", "field": required, "code": "missing_field"}),
                ));
            }
        }
        let head = field("head").unwrap();
        let base = field("base").unwrap();
        let Some(title) = field("title") else {
            return Err(validation_failed(
                &doc,
                json!({"resource": "PullRequest", "field": "title", "code": "missing_field"}),
            ));
        };
        let body = field("body");
        if body
            .as_ref()
            .is_some_and(|s| s.chars().count() > MAX_BODY_CHARS)
        {
            return Err(validation_failed(
                &doc,
                json!({"resource": "PullRequest", "code": "custom", "field": "body",
                       "message": format!("body is too long (maximum is {MAX_BODY_CHARS} characters)")}),
            ));
        }
        let repo = &self.repos[&k];
        let (head_owner, head_branch) = match head.split_once(':') {
            Some((ho, hb)) => (ho.to_string(), hb.to_string()),
            None => (repo.owner.clone(), head.clone()),
        };
        let already = |repo: &Repo| {
            validation_failed(
                &doc,
                json!({"resource": "PullRequest", "code": "custom",
                       "message": format!("A pull request already exists for {}:{}.", repo.owner, head_branch)}),
            )
        };
        // The fake has no forks: a head from another owner does not exist.
        let head_tip = head_owner
            .eq_ignore_ascii_case(&repo.owner)
            .then(|| bare_git::tip(&repo.git_dir, &head_branch))
            .flatten();
        let invalid = |field: &str| {
            validation_failed(
                &doc,
                json!({"resource": "PullRequest", "field": field, "code": "invalid"}),
            )
        };
        let Some(head_tip) = head_tip else {
            return Err(invalid("head"));
        };
        let Some(base_tip) = bare_git::tip(&repo.git_dir, &base) else {
            return Err(invalid("base"));
        };
        if repo.pulls.values().any(|p| {
            p.open
                && p.head_owner.eq_ignore_ascii_case(&head_owner)
                && p.head == head_branch
                && p.base == base
        }) {
            return Err(already(repo));
        }
        if bare_git::commits_between(&repo.git_dir, &base_tip, &head_tip) == 0 {
            return Err(validation_failed(
                &doc,
                json!({"resource": "PullRequest", "code": "custom",
                       "message": format!("No commits between {base} and {head}")}),
            ));
        }
        let draft = b.get("draft").and_then(Value::as_bool).unwrap_or(false);
        let mcm = b
            .get("maintainer_can_modify")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let user = Self::caller_user(&caller);
        let (owner, name) = (repo.owner.clone(), repo.name.clone());
        let number = self.new_pull(&owner, &name, &head, &base, &title, body, draft, mcm, user);
        if std::mem::take(&mut self.create_pull_then_422) {
            return Err(already(&self.repos[&k]));
        }
        let repo = &self.repos[&k];
        let pull = &repo.pulls[&number];
        let mut resp = ok(StatusCode::CREATED, self.pull_json(repo, pull, true));
        resp.headers_mut().insert(
            "location",
            HeaderValue::from_str(&format!(
                "{}/repos/{}/pulls/{number}",
                self.api(),
                repo.full_name()
            ))
            .unwrap(),
        );
        Ok(resp)
    }

    fn get_pull(&mut self, req: &Req) -> Result<Reply, Fail> {
        let caller = self.token_caller(req.headers)?;
        let k = self.visible_repo(&caller, req.params.get("owner"), req.params.get("repo"))?;
        let n = self.pull_number(&k, req.params.get("pull_number"))?;
        let repo = &self.repos[&k];
        Ok(ok(
            StatusCode::OK,
            self.pull_json(repo, &repo.pulls[&n], true),
        ))
    }

    fn request_reviewers(&mut self, req: &Req) -> Result<Reply, Fail> {
        let b = req.json()?;
        let caller = self.token_caller(req.headers)?;
        let k = self.visible_repo(&caller, req.params.get("owner"), req.params.get("repo"))?;
        let n = self.pull_number(&k, req.params.get("pull_number"))?;
        let strings = |name: &str| -> Vec<String> {
            b.get(name)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let reviewers = strings("reviewers");
        let teams = strings("team_reviewers");
        let now = self.now();
        let pull = self.repos.get_mut(&k).unwrap().pulls.get_mut(&n).unwrap();
        if reviewers
            .iter()
            .any(|r| r.eq_ignore_ascii_case(&pull.user.login))
        {
            return Err(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Review cannot be requested from pull request author.",
                &format!("{DOCS}/pulls/review-requests#request-reviewers-for-a-pull-request"),
            ));
        }
        for r in reviewers {
            if !pull
                .requested_reviewers
                .iter()
                .any(|x| x.eq_ignore_ascii_case(&r))
            {
                pull.requested_reviewers.push(r);
            }
        }
        for t in teams {
            if !pull
                .requested_teams
                .iter()
                .any(|x| x.eq_ignore_ascii_case(&t))
            {
                pull.requested_teams.push(t);
            }
        }
        pull.updated_at = now;
        let repo = &self.repos[&k];
        Ok(ok(
            StatusCode::CREATED,
            self.pull_json(repo, &repo.pulls[&n], false),
        ))
    }

    pub(super) fn pull_number(&self, k: &RepoKey, n: &str) -> Result<u64, Fail> {
        n.parse::<u64>()
            .ok()
            .filter(|n| self.repos[k].pulls.contains_key(n))
            .ok_or_else(not_found)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn new_pull(
        &mut self,
        owner: &str,
        name: &str,
        head: &str,
        base: &str,
        title: &str,
        body: Option<String>,
        draft: bool,
        maintainer_can_modify: bool,
        user: Identity,
    ) -> u64 {
        let id = self.next_id();
        let issue_id = self.next_id();
        let now = self.now();
        let repo = self.repo_mut(owner, name);
        let (head_owner, head_branch) = match head.split_once(':') {
            Some((o, b)) => (o.to_string(), b.to_string()),
            None => (repo.owner.clone(), head.to_string()),
        };
        let number = repo.next_number;
        repo.next_number += 1;
        let pull = PullState {
            id,
            issue_id,
            number,
            title: title.to_string(),
            body,
            head_sha: bare_git::tip(&repo.git_dir, &head_branch)
                .filter(|_| head_owner.eq_ignore_ascii_case(&repo.owner))
                .unwrap_or_else(|| fake_sha(&format!("{head_owner}:{head_branch}"))),
            base_sha: bare_git::tip(&repo.git_dir, base)
                .unwrap_or_else(|| fake_sha(&format!("{}:{base}", repo.owner))),
            head_owner,
            head: head_branch,
            base: base.to_string(),
            open: true,
            merged: false,
            draft,
            maintainer_can_modify,
            user,
            labels: Vec::new(),
            assignees: Vec::new(),
            requested_reviewers: Vec::new(),
            requested_teams: Vec::new(),
            created_at: now,
            updated_at: now,
            closed_at: None,
            merged_at: None,
            auto_merge: None,
        };
        repo.pulls.insert(number, pull);
        number
    }

    // -- JSON shapes (GitHub's, as in its OpenAPI description) -------------------------------

    /// `pull-request-simple`, or `pull-request` when `full`.
    fn pull_json(&self, repo: &Repo, p: &PullState, full: bool) -> Value {
        let api = self.api();
        let full_name = repo.full_name();
        let n = p.number;
        let u = format!("{api}/repos/{full_name}/pulls/{n}");
        let html = format!("https://github.com/{full_name}/pull/{n}");
        let issue = format!("{api}/repos/{full_name}/issues/{n}");
        let comments = format!("{issue}/comments");
        let statuses = format!("{api}/repos/{full_name}/statuses/{}", p.head_sha);
        let labels: Vec<Value> = p.labels.iter().map(|l| self.label_json(repo, l)).collect();
        let assignees: Vec<Value> = p
            .assignees
            .iter()
            .map(|a| self.simple_user(&Identity::user(a)))
            .collect();
        let reviewers: Vec<Value> = p
            .requested_reviewers
            .iter()
            .map(|a| self.simple_user(&Identity::user(a)))
            .collect();
        let teams: Vec<Value> = p
            .requested_teams
            .iter()
            .map(|t| self.team_json(repo, t))
            .collect();
        let mut v = json!({
            "url": u,
            "id": p.id,
            "node_id": node_id("PR", p.id),
            "html_url": html,
            "diff_url": format!("{html}.diff"),
            "patch_url": format!("{html}.patch"),
            "issue_url": issue,
            "commits_url": format!("{u}/commits"),
            "review_comments_url": format!("{u}/comments"),
            "review_comment_url": format!("{api}/repos/{full_name}/pulls/comments{{/number}}"),
            "comments_url": comments,
            "statuses_url": statuses,
            "number": n,
            "state": if p.open { "open" } else { "closed" },
            "locked": false,
            "title": p.title,
            "user": self.simple_user(&p.user),
            "body": p.body,
            "labels": labels,
            "milestone": null,
            "active_lock_reason": null,
            "created_at": ts(p.created_at),
            "updated_at": ts(p.updated_at),
            "closed_at": p.closed_at.map(ts),
            "merged_at": p.merged_at.map(ts),
            "merge_commit_sha": if p.merged { Some(fake_sha(&format!("merge:{full_name}#{n}"))) } else { None },
        });
        merge(
            &mut v,
            json!({
                "assignee": assignees.first().cloned(),
                "assignees": assignees,
                "requested_reviewers": reviewers,
                "requested_teams": teams,
                "head": self.branch_json(repo, &p.head_owner, &p.head, &p.head_sha),
                "base": self.branch_json(repo, &repo.owner, &p.base, &p.base_sha),
                "_links": {
                    "self": {"href": u},
                    "html": {"href": html},
                    "issue": {"href": issue},
                    "comments": {"href": comments},
                    "review_comments": {"href": format!("{u}/comments")},
                    "review_comment": {"href": format!("{api}/repos/{full_name}/pulls/comments{{/number}}")},
                    "commits": {"href": format!("{u}/commits")},
                    "statuses": {"href": statuses},
                },
                "author_association": author_association(&p.user),
                "auto_merge": null,
                "draft": p.draft,
            }),
        );
        if full {
            let n_comments = repo.comments.get(&n).map_or(0, Vec::len);
            let extra = json!({
                "merged": p.merged,
                "mergeable": if p.open { Some(true) } else { None },
                "rebaseable": if p.open { Some(true) } else { None },
                "mergeable_state": if !p.open { "unknown" } else if p.draft { "draft" } else { "clean" },
                "merged_by": if p.merged { Some(self.simple_user(&Identity::user(USER_LOGIN))) } else { None },
                "comments": n_comments,
                "review_comments": 0,
                "maintainer_can_modify": p.maintainer_can_modify,
                "commits": 1,
                "additions": 1,
                "deletions": 1,
                "changed_files": 1,
            });
            merge(&mut v, extra);
        }
        v
    }

    fn team_json(&self, repo: &Repo, slug: &str) -> Value {
        let api = self.api();
        let id = user_id(&format!("team:{}/{slug}", repo.owner));
        let org_id = user_id(&repo.owner);
        json!({
            "id": id,
            "node_id": node_id("T", id),
            "url": format!("{api}/organizations/{org_id}/team/{id}"),
            "html_url": format!("https://github.com/orgs/{}/teams/{slug}", repo.owner),
            "name": slug,
            "slug": slug,
            "description": null,
            "privacy": "closed",
            "notification_setting": "notifications_enabled",
            "permission": "pull",
            "members_url": format!("{api}/organizations/{org_id}/team/{id}/members{{/member}}"),
            "repositories_url": format!("{api}/organizations/{org_id}/team/{id}/repos"),
            "type": "organization",
            "organization_id": org_id,
            "parent": null,
        })
    }
}
