//! Project labels: list and create. Merge requests' `add_labels` creates missing labels too
//! (`State::find_or_create_labels`).

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::model::LabelState;
use super::reply::{message, missing, ok, paginated, Fail, Reply};
use super::route::{str_param, Req, Route};
use super::State;

pub(super) const ROUTES: &[Route] = &[
    Route::get("/api/v4/projects/{id}/labels", State::list_labels),
    Route::post("/api/v4/projects/{id}/labels", State::create_label),
];

impl State {
    fn list_labels(&mut self, req: &Req) -> Result<Reply, Fail> {
        self.caller(req.method, req.headers)?;
        let pid = self.route_project(req.params.get("id"))?;
        let search = req.q("search").map(str::to_lowercase);
        let items: Vec<Value> = self.projects[&pid]
            .labels
            .values()
            .filter(|l| {
                search
                    .as_deref()
                    .is_none_or(|s| l.name.to_lowercase().contains(s))
            })
            .map(|l| self.label_json(pid, l))
            .collect();
        Ok(paginated(items, req, &self.web_base()))
    }

    fn create_label(&mut self, req: &Req) -> Result<Reply, Fail> {
        let b = req.params()?;
        self.caller(req.method, req.headers)?;
        let pid = self.route_project(req.params.get("id"))?;
        let Some(name) = str_param(&b, "name").filter(|n| !n.trim().is_empty()) else {
            return Err(missing("name"));
        };
        let Some(color) = str_param(&b, "color") else {
            return Err(missing("color"));
        };
        if !valid_color(&color) {
            return Err(super::reply::error_json(
                StatusCode::BAD_REQUEST,
                json!({"message": {"color": ["must be a valid color code"]}}),
            ));
        }
        let key = name.to_lowercase();
        if self.projects[&pid].labels.contains_key(&key) {
            return Err(message(StatusCode::CONFLICT, "Label already exists"));
        }
        let id = self.next_id();
        let label = LabelState {
            id,
            name: name.clone(),
            color,
            description: str_param(&b, "description"),
            priority: str_param(&b, "priority").and_then(|p| p.parse().ok()),
        };
        self.projects
            .get_mut(&pid)
            .unwrap()
            .labels
            .insert(key.clone(), label);
        let l = &self.projects[&pid].labels[&key];
        Ok(ok(StatusCode::CREATED, self.label_json(pid, l)))
    }

    // -- JSON shapes (GitLab's `ProjectLabel` entity) ----------------------------------------

    fn label_json(&self, pid: u64, l: &LabelState) -> Value {
        let p = &self.projects[&pid];
        let count = |state: &str| {
            p.merge_requests
                .values()
                .filter(|m| m.state == state && m.labels.contains(&l.name))
                .count()
        };
        json!({
            "id": l.id,
            "name": l.name,
            "description": l.description,
            "description_html": l.description.clone().unwrap_or_default(),
            "text_color": "#FFFFFF",
            "color": l.color,
            "archived": false,
            "subscribed": false,
            "priority": l.priority,
            "is_project_label": true,
            "open_issues_count": 0,
            "closed_issues_count": 0,
            "open_merge_requests_count": count("opened"),
        })
    }
}

/// `#rrggbb`, `#rgb` or a CSS colour name (GitLab accepts both).
fn valid_color(c: &str) -> bool {
    match c.strip_prefix('#') {
        Some(hex) => {
            (hex.len() == 6 || hex.len() == 3) && hex.chars().all(|ch| ch.is_ascii_hexdigit())
        }
        None => !c.is_empty() && c.chars().all(|ch| ch.is_ascii_alphabetic()),
    }
}
