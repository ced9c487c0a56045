//! Contract test: every operation the fake GitLab serves, driven through Prism (`proxy
//! --errors`) on GitLab's own OpenAPI description (trimmed: `testkit/openapi/`), must validate
//! and carry the expected state. Prism answers 422 for a request that violates the description
//! and 500 for a response that does; the log check catches the rest.
//!
//! Needs `npm ci` at the repository root (Prism). The description is
//! `testkit/openapi/gitlab-v4.trimmed.json`, generated from the excerpt of GitLab's own
//! `doc/api/openapi/openapi_v3.yaml` by `scripts/trim-gitlab-openapi.mjs`, with its documented
//! corrections (lists, arrays and nulls as GitLab sends them; see testkit/openapi/README.md).
//!
//! Request bodies follow GitLab's description where it is stricter than GitLab itself: labels are
//! sent as JSON arrays (GitLab also accepts a comma-separated string, which the description does
//! not declare).

mod common;

use common::{request, Client, Response};
use revertbot_testkit::fake_github::bare_repo_with_branches;
use revertbot_testkit::fake_gitlab::FakeGitLab;
use revertbot_testkit::prism::{gitlab_spec, Prism};
use serde_json::json;

const TOKEN: &str = "glpat-contractTestToken0000";
const PROJECT: &str = "acme/platform/gitops";
const ENCODED: &str = "acme%2Fplatform%2Fgitops";

/// Asserts the status, showing the body (Prism's problem details on a violation) otherwise.
fn expect(r: Response, status: u16) -> Response {
    assert_eq!(r.status, status, "{}", r.text());
    r
}

#[test]
fn every_operation_matches_gitlabs_description() {
    let spec = gitlab_spec();
    assert!(
        spec.exists(),
        "{} is missing: see testkit/openapi/README.md",
        spec.display()
    );
    let git = bare_repo_with_branches(&["revertbot/api", "revertbot/web"]);
    let fake = FakeGitLab::start();
    let pid = fake.add_project(PROJECT, Some(git.path()));
    fake.allow_token(TOKEN);
    let alice = fake.add_user("alice", "Alice");
    let prism = Prism::start(&spec, &fake.base_url());
    eprintln!("prism started in {:?}", prism.startup);
    let c = Client::gitlab(&prism.base_url(), TOKEN);
    let mrs = format!("/api/v4/projects/{ENCODED}/merge_requests");

    // Project, by encoded path and by id.
    let r = expect(c.get(&format!("/api/v4/projects/{ENCODED}")), 200);
    assert_eq!(r.json()["id"], pid);
    let r = expect(c.get(&format!("/api/v4/projects/{pid}")), 200);
    assert_eq!(r.json()["path_with_namespace"], PROJECT);

    // Users.
    let r = expect(c.get("/api/v4/users?username=alice"), 200);
    assert_eq!(r.json()[0]["id"], alice);

    // Labels.
    let labels = format!("/api/v4/projects/{ENCODED}/labels");
    expect(
        c.post(&labels, &json!({"name": "rollback", "color": "#d9534f"})),
        201,
    );
    let r = expect(c.get(&format!("{labels}?per_page=1")), 200);
    assert_eq!(r.header("x-total"), Some("1"));

    // Merge requests: none yet, create, a duplicate (409), get, list filtered.
    let r = c.get(&format!(
        "{mrs}?state=opened&source_branch=revertbot%2Fapi&target_branch=main"
    ));
    assert_eq!((r.status, r.json()), (200, json!([])));
    let create = json!({
        "source_branch": "revertbot/api",
        "target_branch": "main",
        "title": "Revert ghcr.io/acme/api to 1.2.3",
        "description": "## Why\n\nAlert `KubePodCrashLooping` fired.",
        "remove_source_branch": true,
    });
    let r = expect(c.post(&mrs, &create), 201);
    assert_eq!(r.json()["iid"], 1);
    expect(c.post(&mrs, &create), 409);
    let r = expect(c.get(&format!("{mrs}/1")), 200);
    assert_eq!(r.json()["source_branch"], "revertbot/api");
    let r = c.get(&format!(
        "{mrs}?state=opened&source_branch=revertbot%2Fapi&per_page=20"
    ));
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    assert_eq!(r.header("x-next-page"), Some(""));

    // Update: labels (created on the fly), reviewers, assignees, title; then notes.
    let r = expect(
        c.put(
            &format!("{mrs}/1"),
            &json!({"add_labels": ["rollback", "automated"], "reviewer_ids": [alice], "assignee_ids": [alice], "title": "Revert api"}),
        ),
        200,
    );
    assert_eq!(r.json()["reviewers"][0]["username"], "alice");
    assert_eq!(r.json()["labels"], json!(["rollback", "automated"]));
    let notes = format!("{mrs}/1/notes");
    expect(
        c.post(&notes, &json!({"body": "Held: the alert is still firing."})),
        201,
    );
    let r = expect(c.get(&format!("{notes}?sort=asc")), 200);
    assert_eq!(r.json()[0]["body"], "Held: the alert is still firing.");
    assert_eq!(fake.notes(PROJECT, 1).len(), 1);

    // Merge when the pipeline succeeds, then close another.
    let r = expect(
        c.put(&format!("{mrs}/1/merge"), &json!({"auto_merge": true})),
        200,
    );
    assert_eq!(r.json()["merge_when_pipeline_succeeds"], true);
    expect(
        c.post(
            &mrs,
            &json!({"source_branch": "revertbot/web", "target_branch": "main", "title": "Web"}),
        ),
        201,
    );
    let r = expect(
        c.put(&format!("{mrs}/2"), &json!({"state_event": "close"})),
        200,
    );
    assert_eq!(r.json()["state"], "closed");
    // Both in the list: the second without description or source-branch removal (nulls).
    let r = expect(c.get(&format!("{mrs}?state=all")), 200);
    assert_eq!(r.json().as_array().unwrap().len(), 2);

    // Errors as GitLab answers them.
    let r = request("GET", &format!("{}{mrs}", prism.base_url()), &[], None);
    assert_eq!(r.status, 401);
    let r = c.get("/api/v4/projects/acme%2Fnope/merge_requests");
    assert_eq!(r.status, 404);

    prism.assert_no_violations();
    let view = fake.merge_requests(PROJECT);
    assert_eq!(view.len(), 2);
    assert_eq!(view[0].reviewers, ["alice"]);
}
