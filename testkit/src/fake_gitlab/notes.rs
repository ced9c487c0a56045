//! Notes (comments) on merge requests: list and create.

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::model::{ts, NoteState};
use super::reply::{missing, ok, paginated, Fail, Reply};
use super::route::{bool_param, str_param, Req, Route};
use super::State;

pub(super) const ROUTES: &[Route] = &[
    Route::get(
        "/api/v4/projects/{id}/merge_requests/{noteable_id}/notes",
        State::list_notes,
    ),
    Route::post(
        "/api/v4/projects/{id}/merge_requests/{noteable_id}/notes",
        State::create_note,
    ),
];

/// GitLab's limit on a note's body, in characters.
pub const MAX_NOTE_CHARS: usize = 1_000_000;

impl State {
    fn list_notes(&mut self, req: &Req) -> Result<Reply, Fail> {
        self.caller(req.method, req.headers)?;
        let pid = self.route_project(req.params.get("id"))?;
        let iid = self.mr_iid(pid, req.params.get("noteable_id"))?;
        let mr = &self.projects[&pid].merge_requests[&iid];
        let mut notes: Vec<&NoteState> = mr.notes.iter().collect();
        // GitLab: newest first unless `sort=asc`; `order_by` created_at (default) or updated_at,
        // which are the same here (notes are not edited).
        notes.sort_by_key(|n| (n.created_at, n.id));
        if req.q("sort") != Some("asc") {
            notes.reverse();
        }
        let items: Vec<Value> = notes
            .into_iter()
            .map(|n| self.note_json(pid, iid, n))
            .collect();
        Ok(paginated(items, req, &self.web_base()))
    }

    fn create_note(&mut self, req: &Req) -> Result<Reply, Fail> {
        let b = req.params()?;
        let user = self.caller(req.method, req.headers)?;
        let pid = self.route_project(req.params.get("id"))?;
        let iid = self.mr_iid(pid, req.params.get("noteable_id"))?;
        let Some(body) = str_param(&b, "body").filter(|s| !s.is_empty()) else {
            return Err(missing("body"));
        };
        if body.chars().count() > MAX_NOTE_CHARS {
            return Err(super::reply::error_json(
                StatusCode::BAD_REQUEST,
                json!({"message": {"note": [format!("is too long (maximum is {MAX_NOTE_CHARS} characters)")]}}),
            ));
        }
        let internal = bool_param(&b, "internal")
            .or(bool_param(&b, "confidential"))
            .unwrap_or(false);
        let id = self.new_note(pid, iid, &body, user, internal);
        let mr = &self.projects[&pid].merge_requests[&iid];
        let n = mr.notes.iter().find(|n| n.id == id).unwrap();
        Ok(ok(StatusCode::CREATED, self.note_json(pid, iid, n)))
    }

    // -- JSON shapes (GitLab's `Note` entity) --------------------------------------------------

    fn note_json(&self, pid: u64, iid: u64, n: &NoteState) -> Value {
        let mr = &self.projects[&pid].merge_requests[&iid];
        json!({
            "id": n.id,
            "type": null,
            "body": n.body,
            "author": self.user_json_by_id(n.author),
            "created_at": ts(n.created_at),
            "updated_at": ts(n.created_at),
            "system": n.system,
            "noteable_id": mr.id,
            "noteable_type": "MergeRequest",
            "project_id": pid,
            "resolvable": false,
            "confidential": n.internal,
            "internal": n.internal,
            "imported": false,
            "imported_from": "none",
            "noteable_iid": iid,
            "commands_changes": {},
        })
    }
}
