//! Projects: `GET /projects/{id}`, by numeric id or URL-encoded full path.

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::model::{ts, Project};
use super::reply::{ok, Fail, Reply};
use super::route::{Req, Route};
use super::State;

pub(super) const ROUTES: &[Route] = &[Route::get("/api/v4/projects/{id}", State::get_project)];

impl State {
    fn get_project(&mut self, req: &Req) -> Result<Reply, Fail> {
        self.caller(req.method, req.headers)?;
        let pid = self.route_project(req.params.get("id"))?;
        Ok(ok(StatusCode::OK, self.project_json(&self.projects[&pid])))
    }

    // -- JSON shapes (GitLab's `Project` entity) ---------------------------------------------

    pub(super) fn project_json(&self, p: &Project) -> Value {
        let web = format!("{}/{}", self.web_base(), p.path_with_namespace);
        let api = format!("{}/api/v4/projects/{}", self.web_base(), p.id);
        let ns = p.namespace();
        let ns_name = ns.rsplit('/').next().unwrap_or(ns);
        let host = self.addr.ip().to_string();
        let mut v = json!({
            "id": p.id,
            "description": null,
            "name": p.path(),
            "name_with_namespace": p.path_with_namespace.replace('/', " / "),
            "path": p.path(),
            "path_with_namespace": p.path_with_namespace,
            "created_at": ts(p.created_at),
            "default_branch": p.default_branch,
            "tag_list": [],
            "topics": [],
            "ssh_url_to_repo": format!("git@{host}:{}.git", p.path_with_namespace),
            "http_url_to_repo": format!("{web}.git"),
            "web_url": web,
            "readme_url": null,
            "forks_count": 0,
            "avatar_url": null,
            "star_count": 0,
            "last_activity_at": ts(p.created_at),
            "namespace": {
                "id": p.namespace_id,
                "name": ns_name,
                "path": ns_name,
                "kind": "group",
                "full_path": ns,
                "parent_id": null,
                "avatar_url": null,
                "web_url": format!("{}/groups/{ns}", self.web_base()),
            },
        });
        let extra = json!({
            "_links": {
                "self": api,
                "issues": format!("{api}/issues"),
                "merge_requests": format!("{api}/merge_requests"),
                "repo_branches": format!("{api}/repository/branches"),
                "labels": format!("{api}/labels"),
                "events": format!("{api}/events"),
                "members": format!("{api}/members"),
                "cluster_agents": format!("{api}/cluster_agents"),
            },
            "empty_repo": false,
            "archived": false,
            "visibility": "private",
            "merge_requests_enabled": true,
            "issues_enabled": true,
            "open_issues_count": 0,
            "only_allow_merge_if_pipeline_succeeds": false,
            "only_allow_merge_if_all_discussions_are_resolved": false,
            "remove_source_branch_after_merge": true,
            "merge_method": "merge",
            "squash_option": "default_off",
            "request_access_enabled": true,
            "permissions": {"project_access": {"access_level": 30, "notification_level": 3}, "group_access": null},
        });
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v
    }
}
