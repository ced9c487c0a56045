//! Issue comments, labels of a repository, labels of an issue or pull request; and the `Comment`
//! and `Label` shapes.

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::model::{ts, CommentState, Issue, LabelState, Repo, RepoKey};
use super::reply::{api_error, json_reply, not_found, paginated, set_total_count, Fail, Reply};
use super::route::{Category, Req, Route};
use super::State;

const I: Category = Category::Issue;

pub(super) const ROUTES: &[Route] = &[
    Route::new(
        Method::GET,
        "/repos/{owner}/{repo}/issues/{index}/comments",
        I,
        State::list_comments,
    ),
    Route::new(
        Method::POST,
        "/repos/{owner}/{repo}/issues/{index}/comments",
        I,
        State::create_comment,
    ),
    Route::new(
        Method::POST,
        "/repos/{owner}/{repo}/issues/{index}/labels",
        I,
        State::add_issue_labels,
    ),
    Route::new(
        Method::GET,
        "/repos/{owner}/{repo}/labels",
        I,
        State::list_labels,
    ),
    Route::new(
        Method::POST,
        "/repos/{owner}/{repo}/labels",
        I,
        State::create_label,
    ),
];

impl State {
    /// `{index}`: an issue or a pull request of the repository.
    fn issue_index(&self, req: &Req) -> Result<u64, Fail> {
        let n = req.index();
        if self.repos[&req.repo].issues.contains_key(&n) {
            Ok(n)
        } else {
            Err(not_found(self))
        }
    }

    /// Every comment, oldest first; `since` / `before` (RFC 3339) filter by update time. Forgejo
    /// does not paginate this list: it only sets `X-Total-Count`.
    fn list_comments(&mut self, req: &Req) -> Result<Reply, Fail> {
        let n = self.issue_index(req)?;
        let parse = |name: &str| -> Result<Option<DateTime<Utc>>, Fail> {
            match req.query(name).filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(s) => DateTime::parse_from_rfc3339(s)
                    .map(|t| Some(t.with_timezone(&Utc)))
                    .map_err(|e| api_error(self, StatusCode::UNPROCESSABLE_ENTITY, &e.to_string())),
            }
        };
        let (since, before) = (parse("since")?, parse("before")?);
        let repo = &self.repos[&req.repo];
        let issue = &repo.issues[&n];
        let items: Vec<Value> = issue
            .comments
            .iter()
            .filter(|c| since.is_none_or(|s| c.updated_at >= s))
            .filter(|c| before.is_none_or(|b| c.updated_at < b))
            .map(|c| self.comment_json(repo, issue, c))
            .collect();
        let mut resp = json_reply(StatusCode::OK, &Value::Array(items.clone()));
        set_total_count(resp.headers_mut(), items.len());
        Ok(resp)
    }

    fn create_comment(&mut self, req: &Req) -> Result<Reply, Fail> {
        let b = req.json(self)?;
        let n = self.issue_index(req)?;
        let Some(body) = b
            .get("body")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        else {
            return Err(api_error(
                self,
                StatusCode::UNPROCESSABLE_ENTITY,
                "[Body]: Required",
            ));
        };
        let id = self.next_id("comment");
        let now = self.now();
        let k = req.repo.clone();
        let issue = self.issue_mut(&k, n);
        issue.comments.push(CommentState {
            id,
            body: body.to_string(),
            poster: req.login().to_string(),
            created_at: now,
            updated_at: now,
        });
        issue.updated_at = now;
        let repo = &self.repos[&k];
        let issue = &repo.issues[&n];
        let c = issue.comments.last().expect("just added");
        Ok(json_reply(
            StatusCode::CREATED,
            &self.comment_json(repo, issue, c),
        ))
    }

    /// Adds labels (ids, or names) to an issue or pull request; ids and names that are not the
    /// repository's are ignored, as in Forgejo. Answers with every label of the issue.
    fn add_issue_labels(&mut self, req: &Req) -> Result<Reply, Fail> {
        let b = req.json(self)?;
        let n = self.issue_index(req)?;
        let k = req.repo.clone();
        let ids = self.repo_label_ids(&k, b.get("labels"));
        let now = self.now();
        let issue = self.issue_mut(&k, n);
        for id in ids {
            if !issue.labels.contains(&id) {
                issue.labels.push(id);
            }
        }
        issue.updated_at = now;
        let repo = &self.repos[&k];
        Ok(json_reply(
            StatusCode::OK,
            &self.labels_json(repo, &repo.issues[&n].labels),
        ))
    }

    /// Labels by name (`sort=reversealphabetically` reverses), paginated.
    fn list_labels(&mut self, req: &Req) -> Result<Reply, Fail> {
        let repo = &self.repos[&req.repo];
        let mut labels: Vec<&LabelState> = repo.labels.values().collect();
        labels.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        if req.query("sort") == Some("reversealphabetically") {
            labels.reverse();
        }
        let items = labels.iter().map(|l| self.label_json(repo, l)).collect();
        Ok(paginated(self, req, items))
    }

    fn create_label(&mut self, req: &Req) -> Result<Reply, Fail> {
        let b = req.json(self)?;
        let field = |name: &str| b.get(name).and_then(Value::as_str).unwrap_or_default();
        let (name, color) = (field("name").to_string(), field("color").to_string());
        for (field, value) in [("Name", &name), ("Color", &color)] {
            if value.is_empty() {
                return Err(api_error(
                    self,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &format!("[{field}]: Required"),
                ));
            }
        }
        let Some(color) = normalize_color(&color) else {
            return Err(api_error(
                self,
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("invalid color format: {color}"),
            ));
        };
        let id = self.next_id("label");
        let k = req.repo.clone();
        let label = LabelState {
            id,
            name,
            color,
            description: field("description").to_string(),
            exclusive: b.get("exclusive").and_then(Value::as_bool).unwrap_or(false),
        };
        self.repos
            .get_mut(&k)
            .expect("repository exists")
            .labels
            .insert(id, label);
        let repo = &self.repos[&k];
        Ok(json_reply(
            StatusCode::CREATED,
            &self.label_json(repo, &repo.labels[&id]),
        ))
    }

    // -- helpers --------------------------------------------------------------------------------

    /// The repository's label ids among `labels` (a JSON array of ids, or of names), deduplicated,
    /// in order; anything else is dropped silently, as Forgejo does.
    pub(super) fn repo_label_ids(&self, k: &RepoKey, labels: Option<&Value>) -> Vec<u64> {
        let repo = &self.repos[k];
        let mut out = Vec::new();
        for v in labels.and_then(Value::as_array).into_iter().flatten() {
            let id = match v {
                Value::Number(n) => n.as_u64().filter(|id| repo.labels.contains_key(id)),
                Value::String(s) => repo.labels.values().find(|l| &l.name == s).map(|l| l.id),
                _ => None,
            };
            if let Some(id) = id.filter(|id| !out.contains(id)) {
                out.push(id);
            }
        }
        out
    }

    // -- JSON shapes ------------------------------------------------------------------------------

    pub(super) fn label_json(&self, repo: &Repo, l: &LabelState) -> Value {
        json!({
            "id": l.id,
            "name": l.name,
            "exclusive": l.exclusive,
            "is_archived": false,
            "color": l.color,
            "description": l.description,
            "url": format!("{}/repos/{}/labels/{}", self.api(), repo.full_name(), l.id),
        })
    }

    pub(super) fn labels_json(&self, repo: &Repo, ids: &[u64]) -> Value {
        Value::Array(
            ids.iter()
                .filter_map(|id| repo.labels.get(id))
                .map(|l| self.label_json(repo, l))
                .collect(),
        )
    }

    fn comment_json(&self, repo: &Repo, issue: &Issue, c: &CommentState) -> Value {
        let kind = if issue.pull.is_some() {
            "pulls"
        } else {
            "issues"
        };
        let html = format!(
            "{}{}/{kind}/{}",
            self.app_url(),
            repo.full_name(),
            issue.index
        );
        let (pr_url, issue_url) = if issue.pull.is_some() {
            (html.clone(), String::new())
        } else {
            (String::new(), html.clone())
        };
        json!({
            "id": c.id,
            "html_url": format!("{html}#issuecomment-{}", c.id),
            "pull_request_url": pr_url,
            "issue_url": issue_url,
            "user": self.user_json(&c.poster),
            "original_author": "",
            "original_author_id": 0,
            "body": c.body,
            "assets": [],
            "created_at": ts(c.created_at),
            "updated_at": ts(c.updated_at),
        })
    }
}

/// Forgejo's `label.NormalizeColor`: `#rgb`, `rgb`, `#rrggbb` or `rrggbb`; answered as six
/// lower-case hex digits without `#`.
fn normalize_color(c: &str) -> Option<String> {
    let hex = c.strip_prefix('#').unwrap_or(c).to_ascii_lowercase();
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    match hex.len() {
        6 => Some(hex),
        3 => Some(hex.chars().flat_map(|ch| [ch, ch]).collect()),
        _ => None,
    }
}
