//! `POST /graphql`: the one mutation revertbot sends, `enablePullRequestAutoMerge`, answered as
//! GitHub answers it — 200 with `data`, or 200 with `errors` for what it refuses (a repository
//! that does not allow auto-merge, an unknown node id, a closed pull request). The query text
//! is kept, so that a test can check it against GitHub's published schema.

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::model::{node_id, ts};
use super::reply::{ok, Fail, Reply};
use super::route::{Req, Route};
use super::State;

pub(super) const ROUTES: &[Route] = &[Route::post("/graphql", State::graphql)];

impl State {
    fn graphql(&mut self, req: &Req) -> Result<Reply, Fail> {
        let body = req.json()?;
        self.token_caller(req.headers)?;
        let query = body["query"].as_str().unwrap_or_default().to_string();
        self.graphql_queries.push(query.clone());
        if !query.contains("enablePullRequestAutoMerge") {
            return Ok(refused(
                "",
                "UNSUPPORTED",
                "the fake GitHub answers only enablePullRequestAutoMerge",
            ));
        }
        let vars = &body["variables"];
        let id = vars["pullRequestId"].as_str().unwrap_or_default();
        let method = vars["mergeMethod"].as_str().unwrap_or_default();
        if !["MERGE", "SQUASH", "REBASE"].contains(&method) {
            return Ok(refused(
                "",
                "INVALID",
                &format!("Variable $mergeMethod of type PullRequestMergeMethod! was provided invalid value {method:?}"),
            ));
        }
        let now = self.now();
        let found = self.repos.values_mut().find_map(|repo| {
            let allowed = repo.allow_auto_merge;
            repo.pulls
                .values_mut()
                .find(|p| node_id("PR", p.id) == id)
                .map(|p| (allowed, p))
        });
        let Some((allowed, pull)) = found else {
            return Ok(refused(
                "NOT_FOUND",
                "NOT_FOUND",
                &format!("Could not resolve to a node with the global id of '{id}'"),
            ));
        };
        if !allowed {
            return Ok(refused(
                "enablePullRequestAutoMerge",
                "UNPROCESSABLE",
                "Pull request Auto merge is not allowed for this repository",
            ));
        }
        if !pull.open {
            return Ok(refused(
                "enablePullRequestAutoMerge",
                "UNPROCESSABLE",
                "Pull request is closed",
            ));
        }
        pull.auto_merge = Some(method.to_ascii_lowercase());
        Ok(ok(
            StatusCode::OK,
            json!({ "data": { "enablePullRequestAutoMerge": { "pullRequest": {
                "autoMergeRequest": { "enabledAt": ts(now), "mergeMethod": method }
            } } } }),
        ))
    }
}

/// GitHub's refusal of a mutation: still a 200.
fn refused(path: &str, kind: &str, message: &str) -> Reply {
    let path: Vec<Value> = if path.is_empty() {
        Vec::new()
    } else {
        vec![json!(path)]
    };
    ok(
        StatusCode::OK,
        json!({
            "data": { "enablePullRequestAutoMerge": null },
            "errors": [{ "type": kind, "path": path, "locations": [{ "line": 2, "column": 3 }], "message": message }],
        }),
    )
}
