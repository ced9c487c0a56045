//! Issues (the issue side of pull requests): comments, labels, assignees; and their shapes.

use axum::http::{HeaderValue, StatusCode};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::model::{node_id, ts, CommentState, Identity, LabelState, PullState, Repo};
use super::reply::{
    author_association, encode_path_segment, merge, ok, paginated, reactions, validation_failed,
    Fail, Reply,
};
use super::route::{Req, Route};
use super::{State, DOCS, MAX_BODY_CHARS};

pub(super) const ROUTES: &[Route] = &[
    Route::get(
        "/repos/{owner}/{repo}/issues/{issue_number}/comments",
        State::list_comments,
    ),
    Route::post(
        "/repos/{owner}/{repo}/issues/{issue_number}/comments",
        State::create_comment,
    ),
    Route::post(
        "/repos/{owner}/{repo}/issues/{issue_number}/labels",
        State::add_labels,
    ),
    Route::post(
        "/repos/{owner}/{repo}/issues/{issue_number}/assignees",
        State::add_assignees,
    ),
];

impl State {
    fn list_comments(&mut self, req: &Req) -> Result<Reply, Fail> {
        let caller = self.token_caller(req.headers)?;
        let k = self.visible_repo(&caller, req.params.get("owner"), req.params.get("repo"))?;
        let n = self.pull_number(&k, req.params.get("issue_number"))?;
        let since = req
            .query
            .get("since")
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.with_timezone(&Utc));
        let repo = &self.repos[&k];
        let mut comments: Vec<&CommentState> = repo
            .comments
            .get(&n)
            .map(|cs| cs.iter().collect())
            .unwrap_or_default();
        comments.sort_by_key(|c| (c.created_at, c.id));
        let items: Vec<Value> = comments
            .into_iter()
            .filter(|c| since.is_none_or(|s| c.updated_at >= s))
            .map(|c| self.comment_json(repo, n, c))
            .collect();
        paginated(items, &req.query, req.uri, req.headers)
    }

    fn create_comment(&mut self, req: &Req) -> Result<Reply, Fail> {
        let b = req.json()?;
        let caller = self.token_caller(req.headers)?;
        let k = self.visible_repo(&caller, req.params.get("owner"), req.params.get("repo"))?;
        let n = self.pull_number(&k, req.params.get("issue_number"))?;
        let doc = format!("{DOCS}/issues/comments#create-an-issue-comment");
        let Some(body) = b.get("body").and_then(Value::as_str) else {
            return Err(validation_failed(
                &doc,
                json!({"resource": "IssueComment", "field": "body", "code": "missing_field"}),
            ));
        };
        if body.chars().count() > MAX_BODY_CHARS {
            return Err(validation_failed(
                &doc,
                json!({"resource": "IssueComment", "code": "unprocessable", "field": "data",
                       "message": format!("Body cannot be more than {MAX_BODY_CHARS} characters")}),
            ));
        }
        let id = self.next_id();
        let now = self.now();
        let user = Self::caller_user(&caller);
        let repo = self.repos.get_mut(&k).unwrap();
        repo.comments.entry(n).or_default().push(CommentState {
            id,
            body: body.to_string(),
            created_at: now,
            updated_at: now,
            user,
        });
        repo.pulls.get_mut(&n).unwrap().updated_at = now;
        let repo = &self.repos[&k];
        let c = repo.comments[&n].last().unwrap();
        let mut resp = ok(StatusCode::CREATED, self.comment_json(repo, n, c));
        resp.headers_mut().insert(
            "location",
            HeaderValue::from_str(&format!(
                "{}/repos/{}/issues/comments/{id}",
                self.api(),
                repo.full_name()
            ))
            .unwrap(),
        );
        Ok(resp)
    }

    fn add_labels(&mut self, req: &Req) -> Result<Reply, Fail> {
        let b = req.json()?;
        let caller = self.token_caller(req.headers)?;
        let k = self.visible_repo(&caller, req.params.get("owner"), req.params.get("repo"))?;
        let n = self.pull_number(&k, req.params.get("issue_number"))?;
        // `{"labels": [...]}` or a bare array; items are names or `{"name": ...}`.
        let items = b
            .get("labels")
            .and_then(Value::as_array)
            .or_else(|| b.as_array())
            .cloned()
            .unwrap_or_default();
        let names: Vec<String> = items
            .iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => o.get("name").and_then(Value::as_str).map(str::to_string),
                _ => None,
            })
            .collect();
        let mut ids = Vec::new();
        for _ in &names {
            ids.push(self.next_id());
        }
        let now = self.now();
        let repo = self.repos.get_mut(&k).unwrap();
        for (name, id) in names.iter().zip(ids) {
            let existing = repo
                .labels
                .values()
                .find(|l| l.name.eq_ignore_ascii_case(name))
                .map(|l| l.name.clone());
            let name = match existing {
                Some(n) => n,
                None => {
                    repo.labels.insert(
                        name.to_ascii_lowercase(),
                        LabelState {
                            id,
                            name: name.clone(),
                            color: "ededed".to_string(),
                        },
                    );
                    name.clone()
                }
            };
            let pull = repo.pulls.get_mut(&n).unwrap();
            if !pull.labels.contains(&name) {
                pull.labels.push(name);
                pull.updated_at = now;
            }
        }
        let repo = &self.repos[&k];
        let labels: Vec<Value> = repo.pulls[&n]
            .labels
            .iter()
            .map(|l| self.label_json(repo, l))
            .collect();
        Ok(ok(StatusCode::OK, Value::Array(labels)))
    }

    fn add_assignees(&mut self, req: &Req) -> Result<Reply, Fail> {
        let b = req.json()?;
        let caller = self.token_caller(req.headers)?;
        let k = self.visible_repo(&caller, req.params.get("owner"), req.params.get("repo"))?;
        let n = self.pull_number(&k, req.params.get("issue_number"))?;
        let names: Vec<String> = b
            .get("assignees")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let now = self.now();
        let pull = self.repos.get_mut(&k).unwrap().pulls.get_mut(&n).unwrap();
        for a in names {
            // GitHub allows at most 10 assignees and silently drops the rest.
            if pull.assignees.len() < 10
                && !pull.assignees.iter().any(|x| x.eq_ignore_ascii_case(&a))
            {
                pull.assignees.push(a);
                pull.updated_at = now;
            }
        }
        let repo = &self.repos[&k];
        Ok(ok(
            StatusCode::CREATED,
            self.issue_json(repo, &repo.pulls[&n]),
        ))
    }

    // -- JSON shapes (GitHub's, as in its OpenAPI description) -------------------------------

    /// `issue`: the issue side of a pull request.
    fn issue_json(&self, repo: &Repo, p: &PullState) -> Value {
        let api = self.api();
        let full_name = repo.full_name();
        let n = p.number;
        let u = format!("{api}/repos/{full_name}/issues/{n}");
        let html = format!("https://github.com/{full_name}/pull/{n}");
        let assignees: Vec<Value> = p
            .assignees
            .iter()
            .map(|a| self.simple_user(&Identity::user(a)))
            .collect();
        let mut v = json!({
            "id": p.issue_id,
            "node_id": node_id("PR", p.id),
            "url": u,
            "repository_url": format!("{api}/repos/{full_name}"),
            "labels_url": format!("{u}/labels{{/name}}"),
            "comments_url": format!("{u}/comments"),
            "events_url": format!("{u}/events"),
            "html_url": html,
            "number": n,
            "state": if p.open { "open" } else { "closed" },
            "state_reason": null,
            "title": p.title,
            "body": p.body,
            "user": self.simple_user(&p.user),
            "labels": p.labels.iter().map(|l| self.label_json(repo, l)).collect::<Vec<_>>(),
            "assignee": assignees.first().cloned(),
            "assignees": assignees,
            "milestone": null,
        });
        merge(
            &mut v,
            json!({
                "locked": false,
                "active_lock_reason": null,
                "comments": repo.comments.get(&n).map_or(0, Vec::len),
                "pull_request": {
                    "url": format!("{api}/repos/{full_name}/pulls/{n}"),
                    "html_url": html,
                    "diff_url": format!("{html}.diff"),
                    "patch_url": format!("{html}.patch"),
                    "merged_at": p.merged_at.map(ts),
                },
                "closed_at": p.closed_at.map(ts),
                "created_at": ts(p.created_at),
                "updated_at": ts(p.updated_at),
                "draft": p.draft,
                "closed_by": null,
                "author_association": author_association(&p.user),
                "reactions": reactions(&format!("{u}/reactions")),
                "timeline_url": format!("{u}/timeline"),
                "performed_via_github_app": null,
            }),
        );
        v
    }

    fn comment_json(&self, repo: &Repo, number: u64, c: &CommentState) -> Value {
        let api = self.api();
        let full_name = repo.full_name();
        let u = format!("{api}/repos/{full_name}/issues/comments/{}", c.id);
        json!({
            "id": c.id,
            "node_id": node_id("IC", c.id),
            "url": u,
            "html_url": format!("https://github.com/{full_name}/pull/{number}#issuecomment-{}", c.id),
            "issue_url": format!("{api}/repos/{full_name}/issues/{number}"),
            "body": c.body,
            "user": self.simple_user(&c.user),
            "created_at": ts(c.created_at),
            "updated_at": ts(c.updated_at),
            "author_association": author_association(&c.user),
            "reactions": reactions(&format!("{u}/reactions")),
            "performed_via_github_app": null,
        })
    }

    pub(super) fn label_json(&self, repo: &Repo, name: &str) -> Value {
        let l = &repo.labels[&name.to_ascii_lowercase()];
        json!({
            "id": l.id,
            "node_id": node_id("LA", l.id),
            "url": format!("{}/repos/{}/labels/{}", self.api(), repo.full_name(), encode_path_segment(&l.name)),
            "name": l.name,
            "color": l.color,
            "default": false,
            // GitHub sends null for labels without a description, but its description of
            // pull-request-simple declares a string: "" satisfies both it and octocrab.
            "description": "",
        })
    }
}
