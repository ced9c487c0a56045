//! Pull requests: list, create, get (by index, or by base and head), edit, request reviewers,
//! merge; and the `PullRequest` and `PullReview` shapes.

use crate::bare_git;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use super::model::{fake_sha, is_wip, key, ts, Checks, Issue, PullState, Repo, RepoKey};
use super::reply::{api_error, empty, json_reply, not_found, paginated, Fail, Reply};
use super::route::{Category, Req, Route};
use super::{Pull, State};

const R: Category = Category::Repository;

pub(super) const ROUTES: &[Route] = &[
    Route::new(
        Method::GET,
        "/repos/{owner}/{repo}/pulls",
        R,
        State::list_pulls,
    ),
    Route::new(
        Method::POST,
        "/repos/{owner}/{repo}/pulls",
        R,
        State::create_pull,
    ),
    Route::new(
        Method::GET,
        "/repos/{owner}/{repo}/pulls/{index}",
        R,
        State::get_pull,
    ),
    Route::new(
        Method::PATCH,
        "/repos/{owner}/{repo}/pulls/{index}",
        R,
        State::edit_pull,
    ),
    Route::new(
        Method::POST,
        "/repos/{owner}/{repo}/pulls/{index}/requested_reviewers",
        R,
        State::request_reviewers,
    ),
    Route::new(
        Method::POST,
        "/repos/{owner}/{repo}/pulls/{index}/merge",
        R,
        State::merge_pull,
    ),
    // Forgejo's `/{base}/*`: the head may contain `/`.
    Route::new(
        Method::GET,
        "/repos/{owner}/{repo}/pulls/{base}/{head*}",
        R,
        State::get_pull_by_base_head,
    ),
];

/// The strings of a JSON array field (absent or not an array: `None`).
fn strings(b: &Value, name: &str) -> Option<Vec<String>> {
    b.get(name).and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    })
}

impl State {
    fn list_pulls(&mut self, req: &Req) -> Result<Reply, Fail> {
        let repo = &self.repos[&req.repo];
        let state = req.query("state").unwrap_or("open");
        let labels: Vec<u64> = req
            .query_all("labels")
            .iter()
            .filter_map(|l| l.parse().ok())
            .collect();
        let poster = req.query("poster").filter(|p| !p.is_empty());
        let base = req.query("base").filter(|b| !b.is_empty());
        let head = req
            .query("head")
            .filter(|h| !h.is_empty())
            .map(|h| h.split_once(':').map_or(h, |(_, b)| b));
        let mut pulls: Vec<&Issue> = repo
            .issues
            .values()
            .filter(|i| i.pull.is_some())
            .filter(|i| match state {
                "closed" => i.closed,
                "all" => true,
                _ => !i.closed,
            })
            .filter(|i| labels.is_empty() || i.labels.iter().any(|l| labels.contains(l)))
            .filter(|i| poster.is_none_or(|p| i.poster.eq_ignore_ascii_case(p)))
            .filter(|i| base.is_none_or(|b| i.pull.as_ref().unwrap().base == b))
            .filter(|i| head.is_none_or(|h| i.pull.as_ref().unwrap().head == h))
            .collect();
        match req.query("sort").unwrap_or("") {
            "oldest" => pulls.sort_by_key(|i| (i.created_at, i.id)),
            "recentupdate" => pulls.sort_by_key(|i| std::cmp::Reverse((i.updated_at, i.id))),
            "leastupdate" => pulls.sort_by_key(|i| (i.updated_at, i.id)),
            "recentclose" => pulls.sort_by_key(|i| std::cmp::Reverse((i.closed_at, i.id))),
            "mostcomment" => pulls.sort_by_key(|i| std::cmp::Reverse((i.comments.len(), i.id))),
            "leastcomment" => pulls.sort_by_key(|i| (i.comments.len(), i.id)),
            // Forgejo's default (and `priority` without pinned issues): newest first.
            _ => pulls.sort_by_key(|i| std::cmp::Reverse((i.created_at, i.id))),
        }
        let items: Vec<Value> = pulls.iter().map(|i| self.pull_json(repo, i)).collect();
        Ok(paginated(self, req, items))
    }

    fn create_pull(&mut self, req: &Req) -> Result<Reply, Fail> {
        let b = req.json(self)?;
        let field = |name: &str| {
            b.get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let (head, base, title) = (field("head"), field("base"), field("title"));
        for (name, value) in [("Head", &head), ("Base", &base), ("Title", &title)] {
            if value.is_empty() {
                return Err(api_error(
                    self,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &format!("[{name}]: Required"),
                ));
            }
        }
        if head == base {
            return Err(api_error(
                self,
                StatusCode::UNPROCESSABLE_ENTITY,
                "Invalid PullRequest: There are no changes between the head and the base",
            ));
        }
        let repo = &self.repos[&req.repo];
        // `owner:branch` names the head repository's owner; the fake has no forks.
        let head_branch = match head.split_once(':') {
            Some((owner, branch)) if owner.eq_ignore_ascii_case(&repo.owner) => branch.to_string(),
            Some(_) => return Err(not_found(self)),
            None => head.clone(),
        };
        if bare_git::tip(&repo.git_dir, &head_branch).is_none()
            || bare_git::tip(&repo.git_dir, &base).is_none()
        {
            return Err(not_found(self));
        }
        if let Some(existing) = repo.issues.values().find(|i| {
            !i.closed
                && i.pull
                    .as_ref()
                    .is_some_and(|p| !p.merged && p.head == head_branch && p.base == base)
        }) {
            let p = existing.pull.as_ref().unwrap();
            let message = format!(
                "pull request already exists for these targets [id: {}, issue_id: {}, head_repo_id: {}, base_repo_id: {}, head_branch: {}, base_branch: {}]",
                p.id, existing.index, repo.id, repo.id, p.head, p.base
            );
            return Err(api_error(self, StatusCode::CONFLICT, &message));
        }
        let labels = self.repo_label_ids(&req.repo, b.get("labels"));
        let assignees = self.assignees(&b)?;
        let body = field("body");
        let (owner, name) = (repo.owner.clone(), repo.name.clone());
        let n = self.new_pull(
            &owner,
            &name,
            &head_branch,
            &base,
            &title,
            &body,
            req.login(),
        );
        let issue = self.issue_mut(&req.repo, n);
        issue.labels = labels;
        issue.assignees = assignees.unwrap_or_default();
        let repo = &self.repos[&req.repo];
        Ok(json_reply(
            StatusCode::CREATED,
            &self.pull_json(repo, &repo.issues[&n]),
        ))
    }

    fn get_pull(&mut self, req: &Req) -> Result<Reply, Fail> {
        let n = self.pull_index(req)?;
        let repo = &self.repos[&req.repo];
        Ok(json_reply(
            StatusCode::OK,
            &self.pull_json(repo, &repo.issues[&n]),
        ))
    }

    fn get_pull_by_base_head(&mut self, req: &Req) -> Result<Reply, Fail> {
        let repo = &self.repos[&req.repo];
        let base = req.params.get("base");
        let head = req.params.get("head");
        // `owner:branch` or `owner/repo:branch` names the head repository.
        let head_branch = match head.split_once(':') {
            Some((owner_repo, branch)) => {
                let (owner, name) = owner_repo
                    .split_once('/')
                    .unwrap_or((owner_repo, repo.name.as_str()));
                if key(owner, name) != req.repo {
                    return Err(not_found(self));
                }
                branch
            }
            None => head,
        };
        // Forgejo's query has no state filter: the first pull request ever opened for the pair.
        let found = repo.issues.values().find(|i| {
            i.pull
                .as_ref()
                .is_some_and(|p| p.base == base && p.head == head_branch)
        });
        match found {
            Some(i) => Ok(json_reply(StatusCode::OK, &self.pull_json(repo, i))),
            None => Err(not_found(self)),
        }
    }

    fn edit_pull(&mut self, req: &Req) -> Result<Reply, Fail> {
        let b = req.json(self)?;
        let n = self.pull_index(req)?;
        let k = req.repo.clone();
        let labels = b
            .get("labels")
            .filter(|l| !l.is_null())
            .map(|l| self.repo_label_ids(&k, Some(l)));
        let assignees = self.assignees(&b)?;
        let now = self.now();
        if let Some(title) = b
            .get("title")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            self.issue_mut(&k, n).title = title.to_string();
        }
        if let Some(body) = b.get("body").and_then(Value::as_str) {
            self.issue_mut(&k, n).body = body.to_string();
        }
        if let Some(assignees) = assignees {
            self.issue_mut(&k, n).assignees = assignees;
        }
        if let Some(labels) = labels {
            self.issue_mut(&k, n).labels = labels;
        }
        if let Some(state) = b.get("state").and_then(Value::as_str) {
            if self.pull_mut(&k, n).merged {
                return Err(api_error(
                    self,
                    StatusCode::PRECONDITION_FAILED,
                    "cannot change state of this pull request, it was already merged",
                ));
            }
            let closed = self.repos[&k].issues[&n].closed;
            if state == "closed" && !closed {
                self.close_pull(&k, n, None);
            } else if state == "open" && closed {
                let (head, base) = {
                    let p = self.pull_mut(&k, n);
                    (p.head.clone(), p.base.clone())
                };
                self.refuse_second_open(&k, n, &head, &base)?;
                let issue = self.issue_mut(&k, n);
                issue.closed = false;
                issue.closed_at = None;
            }
        }
        if let Some(base) = b
            .get("base")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            let (merged, old_base, head) = {
                let p = self.pull_mut(&k, n);
                (p.merged, p.base.clone(), p.head.clone())
            };
            if !merged && base != old_base {
                if bare_git::tip(&self.repos[&k].git_dir, base).is_none() {
                    return Err(api_error(
                        self,
                        StatusCode::NOT_FOUND,
                        &format!("new base '{base}' not exist"),
                    ));
                }
                self.refuse_second_open(&k, n, &head, base)?;
                self.pull_mut(&k, n).base = base.to_string();
            }
        }
        if let Some(allow) = b.get("allow_maintainer_edit").and_then(Value::as_bool) {
            self.pull_mut(&k, n).allow_maintainer_edit = allow;
        }
        self.issue_mut(&k, n).updated_at = now;
        let repo = &self.repos[&k];
        // Forgejo: "TODO this should be 200, not 201".
        Ok(json_reply(
            StatusCode::CREATED,
            &self.pull_json(repo, &repo.issues[&n]),
        ))
    }

    fn request_reviewers(&mut self, req: &Req) -> Result<Reply, Fail> {
        let b = req.json(self)?;
        let n = self.pull_index(req)?;
        let k = req.repo.clone();
        let reviewers = strings(&b, "reviewers").unwrap_or_default();
        if let Some(team) = strings(&b, "team_reviewers").unwrap_or_default().first() {
            return Err(not_found_message(self, &format!("Team '{team}' not exist")));
        }
        let (poster, repo_id) = {
            let repo = &self.repos[&k];
            (repo.issues[&n].poster.clone(), repo.id)
        };
        let mut logins = Vec::new();
        for r in &reviewers {
            let Some(user) = self.find_user(r) else {
                return Err(not_found_message(self, &format!("User '{r}' not exist")));
            };
            if user.login.eq_ignore_ascii_case(&poster) {
                let message = format!(
                    "poster of pr can't be reviewer [user_id: {}, repo_id: {repo_id}]",
                    user.id
                );
                return Err(api_error(self, StatusCode::UNPROCESSABLE_ENTITY, &message));
            }
            logins.push(user.login.clone());
        }
        let now = self.now();
        let mut added = Vec::new();
        for login in logins {
            let pull = self.pull_mut(&k, n);
            if !pull
                .requested_reviewers
                .iter()
                .any(|x| x.eq_ignore_ascii_case(&login))
            {
                pull.requested_reviewers.push(login.clone());
                let id = self.next_id("review");
                added.push((id, login));
            }
        }
        self.issue_mut(&k, n).updated_at = now;
        let repo = &self.repos[&k];
        let issue = &repo.issues[&n];
        let reviews: Vec<Value> = added
            .iter()
            .map(|(id, login)| self.review_request_json(repo, issue, *id, login))
            .collect();
        Ok(json_reply(StatusCode::CREATED, &Value::Array(reviews)))
    }

    fn merge_pull(&mut self, req: &Req) -> Result<Reply, Fail> {
        let b = req.json(self)?;
        let n = self.pull_index(req)?;
        let k = req.repo.clone();
        let style = b.get("Do").and_then(Value::as_str).unwrap_or_default();
        if style.is_empty() {
            return Err(api_error(
                self,
                StatusCode::UNPROCESSABLE_ENTITY,
                "[Do]: Required",
            ));
        }
        const STYLES: [&str; 6] = [
            "merge",
            "rebase",
            "rebase-merge",
            "squash",
            "fast-forward-only",
            "manually-merged",
        ];
        if !STYLES.contains(&style) {
            return Err(api_error(
                self,
                StatusCode::UNPROCESSABLE_ENTITY,
                "[Do]: In",
            ));
        }
        let when_checks = b
            .get("merge_when_checks_succeed")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let (merged, closed, wip, head_sha, checks, scheduled) = {
            let issue = &self.repos[&k].issues[&n];
            let p = issue.pull.as_ref().unwrap();
            (
                p.merged,
                issue.closed,
                is_wip(&issue.title),
                p.head_sha.clone(),
                p.checks,
                p.auto_merge.is_some(),
            )
        };
        if merged {
            return Err(api_error(self, StatusCode::METHOD_NOT_ALLOWED, ""));
        }
        if closed {
            return Err(not_found(self));
        }
        if style != "manually-merged" && wip {
            return Err(api_error(
                self,
                StatusCode::METHOD_NOT_ALLOWED,
                "Work in progress PRs cannot be merged",
            ));
        }
        if let Some(expected) = b.get("head_commit_id").and_then(Value::as_str) {
            if !expected.is_empty() && expected != head_sha {
                return Err(api_error(self, StatusCode::CONFLICT, "head out of date"));
            }
        }
        if when_checks && style != "manually-merged" {
            if scheduled {
                let id = self.pull_mut(&k, n).id;
                return Err(api_error(
                    self,
                    StatusCode::CONFLICT,
                    &format!("pull request is already scheduled to auto merge when checks succeed [pull_id: {id}]"),
                ));
            }
            if checks != Checks::Success {
                self.pull_mut(&k, n).auto_merge = Some(style.to_string());
                // Forgejo's `ctx.Status(http.StatusCreated)`: not in its API description.
                return Ok(empty(StatusCode::CREATED));
            }
        }
        let login = req.login().to_string();
        self.close_pull(&k, n, Some(&login));
        Ok(empty(StatusCode::OK))
    }

    // -- helpers --------------------------------------------------------------------------------

    /// `{index}` if it is a pull request of the repository (an issue's index is not found).
    fn pull_index(&self, req: &Req) -> Result<u64, Fail> {
        let n = req.index();
        match self.repos[&req.repo].issues.get(&n) {
            Some(i) if i.pull.is_some() => Ok(n),
            _ => Err(not_found(self)),
        }
    }

    fn refuse_second_open(&self, k: &RepoKey, n: u64, head: &str, base: &str) -> Result<(), Fail> {
        let repo = &self.repos[k];
        if let Some(other) = repo.issues.values().find(|i| {
            i.index != n
                && !i.closed
                && i.pull
                    .as_ref()
                    .is_some_and(|p| !p.merged && p.head == head && p.base == base)
        }) {
            let p = other.pull.as_ref().unwrap();
            let message = format!(
                "pull request already exists for these targets [id: {}, issue_id: {}, head_repo_id: {}, base_repo_id: {}, head_branch: {}, base_branch: {}]",
                p.id, other.index, repo.id, repo.id, p.head, p.base
            );
            return Err(api_error(self, StatusCode::CONFLICT, &message));
        }
        Ok(())
    }

    /// `assignees` (and the older `assignee`), if either is given; every login must exist.
    pub(super) fn assignees(&self, b: &Value) -> Result<Option<Vec<String>>, Fail> {
        let mut list = strings(b, "assignees");
        if let Some(one) = b
            .get("assignee")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            list.get_or_insert_with(Vec::new).push(one.to_string());
        }
        let Some(list) = list else { return Ok(None) };
        let mut out: Vec<String> = Vec::new();
        for login in list {
            let Some(u) = self.find_user(&login) else {
                return Err(api_error(
                    self,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &format!("Assignee does not exist: [name: user does not exist [uid: 0, name: {login}]]"),
                ));
            };
            if !out.iter().any(|x| x.eq_ignore_ascii_case(&u.login)) {
                out.push(u.login.clone());
            }
        }
        Ok(Some(out))
    }

    pub(super) fn issue_mut(&mut self, k: &RepoKey, n: u64) -> &mut Issue {
        self.repos
            .get_mut(k)
            .expect("repository exists")
            .issues
            .get_mut(&n)
            .unwrap_or_else(|| panic!("fake Gitea: no issue #{n}"))
    }

    pub(super) fn pull_mut(&mut self, k: &RepoKey, n: u64) -> &mut PullState {
        self.issue_mut(k, n)
            .pull
            .as_mut()
            .unwrap_or_else(|| panic!("fake Gitea: #{n} is not a pull request"))
    }

    /// A new pull request with the repository's next index. Branches that are not in the git
    /// repository get made-up commit ids.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new_pull(
        &mut self,
        owner: &str,
        name: &str,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
        poster: &str,
    ) -> u64 {
        let n = self.new_issue(owner, name, title, body, poster);
        let id = self.next_id("pull");
        let repo = self.repo(owner, name);
        let head_sha = bare_git::tip(&repo.git_dir, head).unwrap_or_else(|| fake_sha(head));
        let merge_base = bare_git::tip(&repo.git_dir, base).unwrap_or_else(|| fake_sha(base));
        let k = key(owner, name);
        self.issue_mut(&k, n).pull = Some(PullState {
            id,
            head: head.to_string(),
            base: base.to_string(),
            head_sha,
            merge_base,
            merged: false,
            merged_at: None,
            merged_by: None,
            merge_commit_sha: None,
            allow_maintainer_edit: false,
            requested_reviewers: Vec::new(),
            checks: Checks::Success,
            auto_merge: None,
        });
        n
    }

    /// Closes a pull request; merged (by `merged_by`) when given.
    pub(super) fn close_pull(&mut self, k: &RepoKey, n: u64, merged_by: Option<&str>) {
        let now = self.now();
        let issue = self.issue_mut(k, n);
        issue.closed = true;
        issue.closed_at = Some(now);
        issue.updated_at = now;
        let seed = format!("merge:{}#{n}", issue.id);
        let p = issue.pull.as_mut().expect("a pull request");
        p.auto_merge = None;
        if let Some(who) = merged_by {
            p.merged = true;
            p.merged_at = Some(now);
            p.merged_by = Some(who.to_string());
            p.merge_commit_sha = Some(fake_sha(&seed));
        }
    }

    pub(super) fn pull_view(&self, repo: &Repo, i: &Issue) -> Pull {
        let p = i.pull.as_ref().expect("a pull request");
        Pull {
            number: i.index,
            title: i.title.clone(),
            body: i.body.clone(),
            head: p.head.clone(),
            base: p.base.clone(),
            state: if i.closed { "closed" } else { "open" }.to_string(),
            merged: p.merged,
            draft: is_wip(&i.title),
            user: i.poster.clone(),
            labels: i
                .labels
                .iter()
                .filter_map(|id| repo.labels.get(id).map(|l| l.name.clone()))
                .collect(),
            label_ids: i.labels.clone(),
            assignees: i.assignees.clone(),
            requested_reviewers: p.requested_reviewers.clone(),
            merged_by: p.merged_by.clone(),
            auto_merge: p.auto_merge.clone(),
        }
    }

    // -- JSON shapes (Forgejo's, as `convert.ToAPIPullRequest` fills them) --------------------

    fn branch_json(&self, repo: &Repo, branch: &str, sha: &str) -> Value {
        json!({
            "label": branch,
            "ref": branch,
            "sha": sha,
            "repo_id": repo.id,
            "repo": self.repository_json(repo, true),
        })
    }

    pub(super) fn pull_json(&self, repo: &Repo, i: &Issue) -> Value {
        let p = i.pull.as_ref().expect("a pull request");
        let html = format!("{}{}/pulls/{}", self.app_url(), repo.full_name(), i.index);
        let assignees: Vec<Value> = i.assignees.iter().map(|a| self.user_json(a)).collect();
        let head_sha = bare_git::tip(&repo.git_dir, &p.head)
            .filter(|_| !p.merged)
            .unwrap_or_else(|| p.head_sha.clone());
        let base_sha =
            bare_git::tip(&repo.git_dir, &p.base).unwrap_or_else(|| p.merge_base.clone());
        let mut v = json!({
            "id": p.id,
            "url": html,
            "number": i.index,
            "user": self.user_json(&i.poster),
            "title": i.title,
            "body": i.body,
            "labels": self.labels_json(repo, &i.labels),
            "milestone": null,
            "assignee": assignees.first().cloned(),
            // Forgejo appends to a nil slice: `null` when nobody is assigned.
            "assignees": if assignees.is_empty() { Value::Null } else { Value::Array(assignees) },
            "requested_reviewers": p.requested_reviewers.iter().map(|r| self.user_json(r)).collect::<Vec<_>>(),
            "requested_reviewers_teams": [],
            "state": if i.closed { "closed" } else { "open" },
            "draft": is_wip(&i.title),
            "is_locked": false,
            "comments": i.comments.len(),
            "review_comments": 0,
            "additions": 1,
            "deletions": 1,
            "changed_files": 1,
            "html_url": html,
            "diff_url": format!("{html}.diff"),
            "patch_url": format!("{html}.patch"),
        });
        let extra = json!({
            "mergeable": !i.closed,
            "merged": p.merged,
            "merged_at": p.merged_at.map(ts),
            "merge_commit_sha": p.merge_commit_sha,
            "merged_by": p.merged_by.as_deref().map(|u| self.user_json(u)),
            "allow_maintainer_edit": p.allow_maintainer_edit,
            "base": self.branch_json(repo, &p.base, &base_sha),
            "head": self.branch_json(repo, &p.head, &head_sha),
            "merge_base": p.merge_base,
            "due_date": null,
            "created_at": ts(i.created_at),
            "updated_at": ts(i.updated_at),
            "closed_at": i.closed_at.map(ts),
            "pin_order": 0,
            "flow": 0,
        });
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v
    }

    /// A `PullReview` in state `REQUEST_REVIEW`, as `POST .../requested_reviewers` answers.
    fn review_request_json(&self, repo: &Repo, i: &Issue, id: u64, login: &str) -> Value {
        let p = i.pull.as_ref().expect("a pull request");
        let html = format!("{}{}/pulls/{}", self.app_url(), repo.full_name(), i.index);
        let now = ts(self.now());
        json!({
            "id": id,
            "user": self.user_json(login),
            "team": null,
            "state": "REQUEST_REVIEW",
            "body": "",
            "commit_id": p.head_sha,
            "stale": false,
            "official": false,
            "dismissed": false,
            "comments_count": 0,
            "submitted_at": now,
            "updated_at": now,
            "html_url": format!("{html}#issuecomment-{id}"),
            "pull_request_url": html,
        })
    }
}

/// `ctx.NotFound("...", message)`: Forgejo puts the last string argument in `message`.
fn not_found_message(st: &State, message: &str) -> Fail {
    Box::new(json_reply(
        StatusCode::NOT_FOUND,
        &json!({"errors": null, "message": message, "url": st.swagger_url()}),
    ))
}
