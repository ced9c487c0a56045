//! Merge requests: list, create, get, update (labels, state, reviewers, assignees, title), merge
//! (now, or when the pipeline succeeds); and the merge request shapes.

use crate::bare_git;
use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use super::model::{ts, MergeRequestState, Project};
use super::reply::{error_json, message, not_found, ok, paginated, Fail, Reply};
use super::route::{bool_param, list_param, str_param, Req, Route};
use super::State;

pub(super) const ROUTES: &[Route] = &[
    Route::get(
        "/api/v4/projects/{id}/merge_requests",
        State::list_merge_requests,
    ),
    Route::post(
        "/api/v4/projects/{id}/merge_requests",
        State::create_merge_request,
    ),
    Route::get(
        "/api/v4/projects/{id}/merge_requests/{merge_request_iid}",
        State::get_merge_request,
    ),
    Route::put(
        "/api/v4/projects/{id}/merge_requests/{merge_request_iid}",
        State::update_merge_request,
    ),
    Route::put(
        "/api/v4/projects/{id}/merge_requests/{merge_request_iid}/merge",
        State::merge_merge_request,
    ),
];

/// GitLab's limit on a merge request's description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1_048_576;

/// The parameters `PUT .../merge_requests/:iid` takes, at least one of which must be given.
const UPDATE_PARAMS: &[&str] = &[
    "add_labels",
    "allow_collaboration",
    "allow_maintainer_to_push",
    "assignee_id",
    "assignee_ids",
    "description",
    "discussion_locked",
    "labels",
    "merge_after",
    "milestone_id",
    "remove_labels",
    "remove_source_branch",
    "reviewer_ids",
    "squash",
    "state_event",
    "target_branch",
    "title",
];

impl State {
    fn list_merge_requests(&mut self, req: &Req) -> Result<Reply, Fail> {
        self.caller(req.method, req.headers)?;
        let pid = self.route_project(req.params.get("id"))?;
        let state = req.q("state").unwrap_or("all");
        if !["opened", "closed", "locked", "merged", "all"].contains(&state) {
            return Err(error_json(
                StatusCode::BAD_REQUEST,
                json!({"error": "state does not have a valid value"}),
            ));
        }
        let labels: Option<Vec<String>> = req
            .q("labels")
            .map(|l| list_param(Some(&Value::String(l.to_string()))).unwrap_or_default());
        let iids: Vec<u64> = req
            .query
            .iter()
            .filter(|(k, _)| k == "iids[]" || k == "iids")
            .flat_map(|(_, v)| v.split(',').filter_map(|s| s.trim().parse().ok()))
            .collect();
        let author = req.q("author_username");
        let p = &self.projects[&pid];
        let mut mrs: Vec<&MergeRequestState> = p
            .merge_requests
            .values()
            .filter(|m| state == "all" || m.state == state)
            .filter(|m| req.q("source_branch").is_none_or(|b| m.source_branch == b))
            .filter(|m| req.q("target_branch").is_none_or(|b| m.target_branch == b))
            .filter(|m| {
                labels.as_ref().is_none_or(|want| {
                    want.iter()
                        .all(|w| m.labels.iter().any(|l| l.eq_ignore_ascii_case(w)))
                })
            })
            .filter(|m| iids.is_empty() || iids.contains(&m.iid))
            .filter(|m| {
                author.is_none_or(|a| self.users[&m.author].username.eq_ignore_ascii_case(a))
            })
            .collect();
        match req.q("order_by").unwrap_or("created_at") {
            "updated_at" => mrs.sort_by_key(|m| (m.updated_at, m.iid)),
            "title" => mrs.sort_by(|a, b| a.title.cmp(&b.title).then(a.iid.cmp(&b.iid))),
            _ => mrs.sort_by_key(|m| (m.created_at, m.iid)),
        }
        if req.q("sort") != Some("asc") {
            mrs.reverse();
        }
        let items: Vec<Value> = mrs
            .into_iter()
            .map(|m| self.merge_request_json(p, m, false))
            .collect();
        Ok(paginated(items, req, &self.web_base()))
    }

    fn create_merge_request(&mut self, req: &Req) -> Result<Reply, Fail> {
        let b = req.params()?;
        let user = self.caller(req.method, req.headers)?;
        let pid = self.route_project(req.params.get("id"))?;
        let missing: Vec<&str> = ["source_branch", "target_branch", "title"]
            .into_iter()
            .filter(|k| str_param(&b, k).is_none_or(|v| v.is_empty()))
            .collect();
        if !missing.is_empty() {
            let list: Vec<String> = missing.iter().map(|k| format!("{k} is missing")).collect();
            return Err(error_json(
                StatusCode::BAD_REQUEST,
                json!({"error": list.join(", ")}),
            ));
        }
        let source = str_param(&b, "source_branch").unwrap();
        let target = str_param(&b, "target_branch").unwrap();
        let title = str_param(&b, "title").unwrap();
        let description = str_param(&b, "description");
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS)
        {
            return Err(error_json(
                StatusCode::BAD_REQUEST,
                json!({"message": {"description": [format!("is too long (maximum is {MAX_DESCRIPTION_CHARS} characters)")]}}),
            ));
        }
        if source == target {
            return Err(error_json(
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"message": ["You can't use same project/branch for source and target"]}),
            ));
        }
        let p = &self.projects[&pid];
        if let Some(other) = open_duplicate(p, &source, &target, None) {
            return Err(duplicate(other));
        }
        if let Some(dir) = p.git_dir.as_deref() {
            let mut errors = Map::new();
            for (field, branch) in [("source_branch", &source), ("target_branch", &target)] {
                if bare_git::tip(dir, branch).is_none() {
                    errors.insert(field.to_string(), json!(["does not exist"]));
                }
            }
            if !errors.is_empty() {
                return Err(error_json(
                    StatusCode::BAD_REQUEST,
                    json!({ "message": errors }),
                ));
            }
        }
        let iid = self.new_merge_request(pid, &source, &target, &title, description, user);
        self.apply_people_and_labels(pid, iid, &b);
        if let Some(v) = bool_param(&b, "remove_source_branch") {
            self.mr_state_mut(pid, iid).remove_source_branch = Some(v);
        }
        if let Some(v) = bool_param(&b, "squash") {
            self.mr_state_mut(pid, iid).squash = v;
        }
        let p = &self.projects[&pid];
        Ok(ok(
            StatusCode::CREATED,
            self.merge_request_json(p, &p.merge_requests[&iid], true),
        ))
    }

    fn get_merge_request(&mut self, req: &Req) -> Result<Reply, Fail> {
        self.caller(req.method, req.headers)?;
        let pid = self.route_project(req.params.get("id"))?;
        let iid = self.mr_iid(pid, req.params.get("merge_request_iid"))?;
        let p = &self.projects[&pid];
        Ok(ok(
            StatusCode::OK,
            self.merge_request_json(p, &p.merge_requests[&iid], true),
        ))
    }

    fn update_merge_request(&mut self, req: &Req) -> Result<Reply, Fail> {
        let b = req.params()?;
        let user = self.caller(req.method, req.headers)?;
        let pid = self.route_project(req.params.get("id"))?;
        let iid = self.mr_iid(pid, req.params.get("merge_request_iid"))?;
        if !UPDATE_PARAMS.iter().any(|k| b.contains_key(*k)) {
            return Err(error_json(
                StatusCode::BAD_REQUEST,
                json!({"error": format!("{} are missing, at least one parameter must be provided", UPDATE_PARAMS.join(", "))}),
            ));
        }
        let now = self.now();
        if let Some(ev) = str_param(&b, "state_event") {
            match ev.as_str() {
                "close" => {
                    let mr = self.mr_state_mut(pid, iid);
                    if mr.state == "opened" {
                        mr.state = "closed".to_string();
                        mr.closed_at = Some(now);
                        mr.closed_by = Some(user);
                    }
                }
                "reopen" => {
                    let (state, source, target) = {
                        let mr = &self.projects[&pid].merge_requests[&iid];
                        (
                            mr.state.clone(),
                            mr.source_branch.clone(),
                            mr.target_branch.clone(),
                        )
                    };
                    if state == "closed" {
                        if let Some(other) =
                            open_duplicate(&self.projects[&pid], &source, &target, Some(iid))
                        {
                            return Err(duplicate(other));
                        }
                        let mr = self.mr_state_mut(pid, iid);
                        mr.state = "opened".to_string();
                        mr.closed_at = None;
                        mr.closed_by = None;
                    }
                }
                _ => {
                    return Err(error_json(
                        StatusCode::BAD_REQUEST,
                        json!({"error": "state_event does not have a valid value"}),
                    ))
                }
            }
        }
        if let Some(title) = str_param(&b, "title") {
            let mr = self.mr_state_mut(pid, iid);
            mr.draft = super::is_draft_title(&title);
            mr.title = title;
        }
        if let Some(d) = str_param(&b, "description") {
            self.mr_state_mut(pid, iid).description = Some(d);
        }
        if let Some(t) = str_param(&b, "target_branch") {
            self.mr_state_mut(pid, iid).target_branch = t;
        }
        if let Some(v) = bool_param(&b, "remove_source_branch") {
            self.mr_state_mut(pid, iid).remove_source_branch = Some(v);
        }
        if let Some(v) = bool_param(&b, "squash") {
            self.mr_state_mut(pid, iid).squash = v;
        }
        if let Some(names) = list_param(b.get("labels")) {
            let names = self.find_or_create_labels(pid, &names);
            self.mr_state_mut(pid, iid).labels = dedup(names);
        }
        if let Some(remove) = list_param(b.get("remove_labels")) {
            self.mr_state_mut(pid, iid)
                .labels
                .retain(|l| !remove.iter().any(|r| r.eq_ignore_ascii_case(l)));
        }
        self.apply_people_and_labels(pid, iid, &b);
        self.mr_state_mut(pid, iid).updated_at = now;
        let p = &self.projects[&pid];
        Ok(ok(
            StatusCode::OK,
            self.merge_request_json(p, &p.merge_requests[&iid], true),
        ))
    }

    fn merge_merge_request(&mut self, req: &Req) -> Result<Reply, Fail> {
        let b = req.params()?;
        let user = self.caller(req.method, req.headers)?;
        let pid = self.route_project(req.params.get("id"))?;
        let iid = self.mr_iid(pid, req.params.get("merge_request_iid"))?;
        let mr = &self.projects[&pid].merge_requests[&iid];
        if mr.state != "opened" || mr.draft {
            return Err(message(
                StatusCode::METHOD_NOT_ALLOWED,
                "405 Method Not Allowed",
            ));
        }
        if let Some(sha) = str_param(&b, "sha") {
            if sha != mr.sha {
                return Err(message(
                    StatusCode::CONFLICT,
                    &format!("SHA does not match HEAD of source branch: {}", mr.sha),
                ));
            }
        }
        if let Some(v) = bool_param(&b, "squash") {
            self.mr_state_mut(pid, iid).squash = v;
        }
        if let Some(v) = bool_param(&b, "should_remove_source_branch") {
            self.mr_state_mut(pid, iid).remove_source_branch = Some(v);
        }
        let auto = bool_param(&b, "auto_merge")
            .or(bool_param(&b, "merge_when_pipeline_succeeds"))
            .unwrap_or(false);
        if auto {
            // The fake has no pipelines: the merge waits until a test merges it
            // (`FakeGitLab::merge_merge_request`), as if the pipeline were still running.
            let now = self.now();
            let mr = self.mr_state_mut(pid, iid);
            mr.merge_when_pipeline_succeeds = true;
            mr.updated_at = now;
        } else {
            self.merge_now(pid, iid, user);
        }
        let p = &self.projects[&pid];
        Ok(ok(
            StatusCode::OK,
            self.merge_request_json(p, &p.merge_requests[&iid], true),
        ))
    }

    /// The merge request a route's iid names, or GitLab's 404.
    pub(super) fn mr_iid(&self, pid: u64, iid: &str) -> Result<u64, Fail> {
        iid.parse::<u64>()
            .ok()
            .filter(|n| self.projects[&pid].merge_requests.contains_key(n))
            .ok_or_else(not_found)
    }

    fn mr_state_mut(&mut self, pid: u64, iid: u64) -> &mut MergeRequestState {
        self.projects
            .get_mut(&pid)
            .unwrap()
            .merge_requests
            .get_mut(&iid)
            .unwrap()
    }

    /// `assignee_id`, `assignee_ids`, `reviewer_ids` (unknown user ids are ignored, as GitLab
    /// ignores users who cannot be assigned; `0` or an empty list clears) and `add_labels`
    /// (creating missing labels) for create and update.
    fn apply_people_and_labels(&mut self, pid: u64, iid: u64, b: &Map<String, Value>) {
        let ids = |v: Option<&Value>| -> Option<Vec<u64>> {
            list_param(v).map(|l| {
                l.iter()
                    .filter_map(|s| s.parse::<u64>().ok())
                    .filter(|id| *id != 0)
                    .collect()
            })
        };
        let known = |st: &State, l: Vec<u64>| -> Vec<u64> {
            dedup(
                l.into_iter()
                    .filter(|id| st.users.contains_key(id))
                    .collect(),
            )
        };
        let assignees = ids(b.get("assignee_ids")).or(ids(b.get("assignee_id")));
        if let Some(a) = assignees {
            let a = known(self, a);
            self.mr_state_mut(pid, iid).assignees = a;
        } else if b
            .get("assignee_ids")
            .is_some_and(|v| v.is_null() || v == "")
        {
            self.mr_state_mut(pid, iid).assignees.clear();
        }
        if let Some(r) = ids(b.get("reviewer_ids")) {
            let r = known(self, r);
            self.mr_state_mut(pid, iid).reviewers = r;
        }
        if let Some(add) = list_param(b.get("add_labels")) {
            let names = self.find_or_create_labels(pid, &add);
            let mr = self.mr_state_mut(pid, iid);
            for n in names {
                if !mr.labels.iter().any(|l| l.eq_ignore_ascii_case(&n)) {
                    mr.labels.push(n);
                }
            }
        }
        if b.contains_key("labels") && !b.contains_key("add_labels") {
            if let Some(names) = list_param(b.get("labels")) {
                let names = self.find_or_create_labels(pid, &names);
                self.mr_state_mut(pid, iid).labels = dedup(names);
            }
        }
    }

    // -- JSON shapes (GitLab's `MergeRequestBasic` and `MergeRequest` entities) ---------------

    fn merge_request_json(&self, p: &Project, m: &MergeRequestState, full: bool) -> Value {
        let web = format!(
            "{}/{}/-/merge_requests/{}",
            self.web_base(),
            p.path_with_namespace,
            m.iid
        );
        let user = |id: &u64| self.user_json_by_id(*id);
        let assignees: Vec<Value> = m.assignees.iter().map(user).collect();
        let reviewers: Vec<Value> = m.reviewers.iter().map(user).collect();
        let detailed = if m.state != "opened" {
            "not_open"
        } else if m.draft {
            "draft_status"
        } else {
            "mergeable"
        };
        let mut v = json!({
            "id": m.id,
            "iid": m.iid,
            "project_id": p.id,
            "title": m.title,
            "description": m.description,
            "state": m.state,
            "created_at": ts(m.created_at),
            "updated_at": ts(m.updated_at),
            "merged_by": m.merged_by.as_ref().map(user),
            "merge_user": m.merged_by.as_ref().map(user),
            "merged_at": m.merged_at.map(ts),
            "closed_by": m.closed_by.as_ref().map(user),
            "closed_at": m.closed_at.map(ts),
            "target_branch": m.target_branch,
            "source_branch": m.source_branch,
            "user_notes_count": m.notes.iter().filter(|n| !n.system).count(),
            "upvotes": 0,
            "downvotes": 0,
            "author": user(&m.author),
            "assignees": assignees,
            "assignee": assignees.first().cloned(),
            "reviewers": reviewers,
            "source_project_id": p.id,
            "target_project_id": p.id,
            "labels": m.labels,
        });
        let more = json!({
            "draft": m.draft,
            "imported": false,
            "imported_from": "none",
            "work_in_progress": m.draft,
            "milestone": null,
            "merge_when_pipeline_succeeds": m.merge_when_pipeline_succeeds,
            "merge_status": if m.state == "opened" { "can_be_merged" } else { "unchecked" },
            "detailed_merge_status": detailed,
            "merge_after": null,
            "sha": m.sha,
            "merge_commit_sha": m.merge_commit_sha,
            "squash_commit_sha": null,
            "discussion_locked": null,
            "should_remove_source_branch": m.remove_source_branch,
            "force_remove_source_branch": m.remove_source_branch.unwrap_or(false),
            "prepared_at": ts(m.created_at),
            "reference": format!("!{}", m.iid),
            "references": {
                "short": format!("!{}", m.iid),
                "relative": format!("!{}", m.iid),
                "full": format!("{}!{}", p.path_with_namespace, m.iid),
            },
            "web_url": web,
            "time_stats": {
                "time_estimate": 0,
                "total_time_spent": 0,
                "human_time_estimate": null,
                "human_total_time_spent": null,
            },
            "squash": m.squash,
            "squash_on_merge": m.squash,
            "task_completion_status": {"count": 0, "completed_count": 0},
            "has_conflicts": false,
            "blocking_discussions_resolved": true,
        });
        let obj = v.as_object_mut().unwrap();
        obj.extend(more.as_object().unwrap().clone());
        if full {
            let full_fields = json!({
                "subscribed": true,
                "changes_count": "1",
                "latest_build_started_at": null,
                "latest_build_finished_at": null,
                "first_deployed_to_production_at": null,
                "pipeline": null,
                "head_pipeline": null,
                "diff_refs": {
                    "base_sha": super::model::fake_sha(&format!("{}:{}", p.path_with_namespace, m.target_branch)),
                    "head_sha": m.sha,
                    "start_sha": super::model::fake_sha(&format!("{}:{}", p.path_with_namespace, m.target_branch)),
                },
                "merge_error": null,
                "first_contribution": false,
                "user": {"can_merge": true},
            });
            obj.extend(full_fields.as_object().unwrap().clone());
        }
        v
    }
}

/// The open merge request (other than `except`) with the same source and target branch.
fn open_duplicate(p: &Project, source: &str, target: &str, except: Option<u64>) -> Option<u64> {
    p.merge_requests
        .values()
        .find(|m| {
            m.state == "opened"
                && m.source_branch == source
                && m.target_branch == target
                && Some(m.iid) != except
        })
        .map(|m| m.iid)
}

fn duplicate(other: u64) -> Fail {
    error_json(
        StatusCode::CONFLICT,
        json!({"message": [format!("Another open merge request already exists for this source branch: !{other}")]}),
    )
}

fn dedup<T: PartialEq>(v: Vec<T>) -> Vec<T> {
    let mut out = Vec::new();
    for x in v {
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out
}
