//! Contract tests: every operation revertbot's Gitea/Forgejo forge uses, driven through Prism
//! (`proxy --errors`, Forgejo's own API description, `testkit/openapi/`) against the stateful fake
//! Gitea. Every request and every response must validate against Forgejo's schema (Prism answers
//! with a violation otherwise), and carry the expected state.
//!
//! Needs Node.js and `@stoplight/prism-cli` in the workspace's `node_modules` (`npm ci`).

mod common;

use common::Client;
use revertbot_testkit::fake_gitea::{FakeGitea, USER_LOGIN};
use revertbot_testkit::fake_github::bare_repo_with_branches;
use revertbot_testkit::prism::{forgejo_spec, Prism};
use serde_json::{json, Value};

const OWNER: &str = "acme";
const REPO: &str = "gitops";
const TOKEN: &str = "0123456789abcdef0123456789abcdef01234567";
const ROOT: &str = "https://forgejo.example.com";
const BRANCH: &str = "revertbot/ghcr.io-acme-api-0123456789ab";

fn enc(s: &str) -> String {
    s.replace('/', "%2F")
}

fn logins(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|u| u["login"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn label_names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_operation_matches_forgejos_description() {
    let git = bare_repo_with_branches(&[BRANCH, "revertbot/web", "revertbot/other"]);
    // A public root URL: Forgejo's description declares `format: url`, which Prism checks as a
    // public address (no loopback).
    let fake = FakeGitea::start_with_root_url(Some(ROOT));
    fake.add_repo(OWNER, REPO, git.path());
    fake.allow_token(TOKEN);
    fake.add_user("alice");
    fake.add_user("bob");
    let prism = Prism::start(&forgejo_spec(), &fake.listen_url());
    eprintln!("prism started in {:?}", prism.startup);
    let api = Client::gitea(&format!("{}/api/v1", prism.base_url()), Some(TOKEN));
    let r = format!("/repos/{OWNER}/{REPO}");

    // GET /repos/{owner}/{repo}
    let repo = api.get(&r);
    assert_eq!(repo.status, 200, "{}", repo.text());
    let repo = repo.json();
    assert_eq!(repo["full_name"], "acme/gitops");
    assert_eq!(repo["default_branch"], "main");
    assert_eq!(repo["permissions"]["push"], true);

    // POST and GET /labels
    let created = api.post(
        &format!("{r}/labels"),
        &json!({"name": "revertbot", "color": "#e11d21", "description": "Opened by revertbot"}),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let revertbot_label = created.json()["id"].as_u64().unwrap();
    assert_eq!(created.json()["color"], "e11d21");
    let rollback_label = api
        .post(
            &format!("{r}/labels"),
            &json!({"name": "rollback", "color": "fbca04"}),
        )
        .json()["id"]
        .as_u64()
        .unwrap();
    let labels = api.get(&format!("{r}/labels"));
    assert_eq!(labels.status, 200);
    assert_eq!(label_names(&labels.json()), ["revertbot", "rollback"]);
    assert_eq!(labels.header("x-total-count"), Some("2"));

    // Nothing for the branch pair yet.
    let none = api.get(&format!("{r}/pulls/main/{}", enc(BRANCH)));
    assert_eq!(none.status, 404, "{}", none.text());
    assert_eq!(none.json()["message"], "The target couldn't be found.");
    assert!(none.json()["errors"].is_null());
    let listed = api.get(&format!("{r}/pulls?state=all"));
    assert_eq!(listed.status, 200);
    assert_eq!(listed.json(), json!([]));

    // Issues and pull requests share one index sequence.
    assert_eq!(fake.add_issue(OWNER, REPO, "An issue first"), 1);

    // POST /pulls, labels by id (an unknown id is dropped), assignees by login.
    let body = "## Why\n\nAlert `KubePodCrashLooping` fired.\n";
    let pr = api.post(
        &format!("{r}/pulls"),
        &json!({
            "head": BRANCH, "base": "main", "title": "Revert ghcr.io/acme/api to 1.2.3",
            "body": body, "labels": [revertbot_label, 9999], "assignees": ["alice"],
        }),
    );
    assert_eq!(pr.status, 201, "{}", pr.text());
    let pr = pr.json();
    assert_eq!(pr["number"], 2);
    assert_eq!(pr["state"], "open");
    assert_eq!(pr["merged"], false);
    assert!(pr["merged_at"].is_null());
    assert!(pr["closed_at"].is_null());
    assert_eq!(pr["draft"], false);
    assert_eq!(pr["head"]["ref"], BRANCH);
    assert_eq!(pr["base"]["ref"], "main");
    assert_eq!(pr["user"]["login"], USER_LOGIN);
    assert_eq!(label_names(&pr["labels"]), ["revertbot"]);
    assert_eq!(pr["labels"][0]["id"], revertbot_label);
    assert_eq!(logins(&pr["assignees"]), ["alice"]);
    assert_eq!(
        pr["html_url"],
        format!("{}/acme/gitops/pulls/2", fake.root_url())
    );

    // A second open one for the same head and base: 409.
    let dup = api.post(
        &format!("{r}/pulls"),
        &json!({"head": BRANCH, "base": "main", "title": "Again"}),
    );
    assert_eq!(dup.status, 409, "{}", dup.text());
    let message = dup.json()["message"].as_str().unwrap().to_string();
    assert!(
        message.starts_with("pull request already exists for these targets [")
            && message.contains("issue_id: 2,")
            && message.contains(&format!("head_branch: {BRANCH},")),
        "{message}"
    );
    // A branch that was never pushed: 404.
    let missing = api.post(
        &format!("{r}/pulls"),
        &json!({"head": "revertbot/never-pushed", "base": "main", "title": "Nope"}),
    );
    assert_eq!(missing.status, 404, "{}", missing.text());

    // GET /pulls/{index} and /pulls/{base}/{head}
    let got = api.get(&format!("{r}/pulls/2"));
    assert_eq!(got.status, 200, "{}", got.text());
    assert_eq!(got.json()["body"], body);
    let by_pair = api.get(&format!("{r}/pulls/main/{}", enc(BRANCH)));
    assert_eq!(by_pair.status, 200, "{}", by_pair.text());
    assert_eq!(by_pair.json()["number"], 2);

    // GET /pulls: filters, pagination.
    let other = api.post(
        &format!("{r}/pulls"),
        &json!({"head": "revertbot/web", "base": "main", "title": "Revert web"}),
    );
    assert_eq!(other.status, 201, "{}", other.text());
    assert_eq!(other.json()["number"], 3);
    let page = api.get(&format!("{r}/pulls?state=open&limit=1&page=1"));
    assert_eq!(page.status, 200, "{}", page.text());
    assert_eq!(page.header("x-total-count"), Some("2"));
    assert_eq!(page.json()[0]["number"], 3, "newest first");
    let link = page.header("link").expect("Link header");
    assert!(
        link.contains("page=2") && link.contains("rel=\"next\""),
        "{link}"
    );
    let by_head = api.get(&format!("{r}/pulls?state=all&head={}", enc(BRANCH)));
    assert_eq!(by_head.status, 200, "{}", by_head.text());
    assert_eq!(by_head.json().as_array().unwrap().len(), 1);

    // PATCH /pulls/{index}: a WIP title makes a draft; labels replace the set.
    let edited = api.patch(
        &format!("{r}/pulls/2"),
        &json!({"title": "WIP: Revert ghcr.io/acme/api to 1.2.3", "labels": [rollback_label]}),
    );
    assert_eq!(edited.status, 201, "{}", edited.text());
    assert_eq!(edited.json()["draft"], true);
    assert_eq!(label_names(&edited.json()["labels"]), ["rollback"]);
    let edited = api.patch(
        &format!("{r}/pulls/2"),
        &json!({"title": "Revert ghcr.io/acme/api to 1.2.3", "body": "Edited."}),
    );
    assert_eq!(edited.status, 201, "{}", edited.text());
    assert_eq!(edited.json()["draft"], false);
    assert_eq!(edited.json()["body"], "Edited.");

    // POST /pulls/{index}/requested_reviewers
    let reviews = api.post(
        &format!("{r}/pulls/2/requested_reviewers"),
        &json!({"reviewers": ["bob"]}),
    );
    assert_eq!(reviews.status, 201, "{}", reviews.text());
    assert_eq!(reviews.json()[0]["state"], "REQUEST_REVIEW");
    assert_eq!(reviews.json()[0]["user"]["login"], "bob");
    assert_eq!(
        logins(&api.get(&format!("{r}/pulls/2")).json()["requested_reviewers"]),
        ["bob"]
    );

    // POST and GET /issues/{index}/comments
    let comment = api.post(
        &format!("{r}/issues/2/comments"),
        &json!({"body": "Rolled back by revertbot."}),
    );
    assert_eq!(comment.status, 201, "{}", comment.text());
    assert_eq!(comment.json()["body"], "Rolled back by revertbot.");
    assert_eq!(
        comment.json()["pull_request_url"],
        format!("{}/acme/gitops/pulls/2", fake.root_url())
    );
    let comments = api.get(&format!("{r}/issues/2/comments"));
    assert_eq!(comments.status, 200, "{}", comments.text());
    assert_eq!(comments.header("x-total-count"), Some("1"));
    assert_eq!(comments.json()[0]["user"]["login"], USER_LOGIN);
    assert_eq!(
        fake.comments(OWNER, REPO, 2)[0].body,
        "Rolled back by revertbot."
    );

    // POST /issues/{index}/labels: by id, answers every label of the issue.
    let labels = api.post(
        &format!("{r}/issues/2/labels"),
        &json!({"labels": [revertbot_label]}),
    );
    assert_eq!(labels.status, 200, "{}", labels.text());
    assert_eq!(label_names(&labels.json()), ["rollback", "revertbot"]);

    // POST /pulls/{index}/merge with merge_when_checks_succeed; checks are green: merged now.
    let merged = api.post(
        &format!("{r}/pulls/2/merge"),
        &json!({"Do": "merge", "merge_when_checks_succeed": true}),
    );
    assert_eq!(merged.status, 200, "{}", merged.text());
    let pr = api.get(&format!("{r}/pulls/2")).json();
    assert_eq!(pr["merged"], true);
    assert_eq!(pr["state"], "closed");
    assert_eq!(pr["merged_by"]["login"], USER_LOGIN);
    assert!(pr["merged_at"].is_string() && pr["closed_at"].is_string());
    assert!(pr["merge_commit_sha"].is_string());
    // A merged pull request's state cannot change (412), nor be merged again (405).
    let reopen = api.patch(&format!("{r}/pulls/2"), &json!({"state": "open"}));
    assert_eq!(reopen.status, 412, "{}", reopen.text());
    let again = api.post(&format!("{r}/pulls/2/merge"), &json!({"Do": "merge"}));
    assert_eq!(again.status, 405, "{}", again.text());

    // Closed by a person; listing closed ones.
    fake.close_pull(OWNER, REPO, 3, false);
    let closed = api.get(&format!("{r}/pulls?state=closed&sort=oldest"));
    assert_eq!(closed.status, 200, "{}", closed.text());
    let numbers: Vec<u64> = closed
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [2, 3]);

    // Errors Forgejo's description declares: an unknown repository.
    let unknown = api.get("/repos/acme/nope");
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json()["message"], "The target couldn't be found.");
    // And ones it does not declare (Prism only warns): an unknown token, a token without the
    // write scope. (Prism answers a request without credentials itself, 401 "Invalid security
    // scheme used", so `token is required` is checked against the fake directly, below.)
    let stranger = Client::gitea(&format!("{}/api/v1", prism.base_url()), Some("not-a-token"));
    let refused = stranger.get(&format!("{r}/pulls/2"));
    assert_eq!(refused.status, 401, "{}", refused.text());
    assert_eq!(
        refused.json()["message"],
        "user does not exist [uid: 0, name: ]"
    );
    fake.allow_token_as("read-only", "carol", &["read:repository", "read:issue"]);
    let reader = Client::gitea(&format!("{}/api/v1", prism.base_url()), Some("read-only"));
    assert_eq!(reader.get(&format!("{r}/pulls/2")).status, 200);
    let refused = reader.post(
        &format!("{r}/pulls"),
        &json!({"head": "revertbot/other", "base": "main", "title": "No"}),
    );
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert_eq!(
        refused.json()["message"],
        "token does not have at least one of required scope(s): [write:repository]"
    );

    prism.assert_no_violations();
}

/// `merge_when_checks_succeed` with checks still pending: Forgejo schedules the merge and answers
/// 201, a status its description does not declare (Prism would replace it with a violation), so
/// this runs against the fake directly.
#[test]
fn auto_merge_waits_for_checks() {
    let git = bare_repo_with_branches(&[BRANCH]);
    let fake = FakeGitea::start();
    fake.add_repo(OWNER, REPO, git.path());
    fake.allow_token(TOKEN);
    let api = Client::gitea(&fake.base_url(), Some(TOKEN));
    let r = format!("/repos/{OWNER}/{REPO}");
    let n = api
        .post(
            &format!("{r}/pulls"),
            &json!({"head": BRANCH, "base": "main", "title": "Revert"}),
        )
        .json()["number"]
        .as_u64()
        .unwrap();
    fake.set_checks(
        OWNER,
        REPO,
        n,
        revertbot_testkit::fake_gitea::Checks::Pending,
    );
    let body = json!({"Do": "squash", "merge_when_checks_succeed": true});
    let scheduled = api.post(&format!("{r}/pulls/{n}/merge"), &body);
    assert_eq!(scheduled.status, 201, "{}", scheduled.text());
    assert!(scheduled.body.is_empty());
    assert_eq!(
        fake.pulls(OWNER, REPO)[0].auto_merge.as_deref(),
        Some("squash")
    );
    assert!(!fake.pulls(OWNER, REPO)[0].merged);
    let twice = api.post(&format!("{r}/pulls/{n}/merge"), &body);
    assert_eq!(twice.status, 409, "{}", twice.text());
    fake.set_checks(
        OWNER,
        REPO,
        n,
        revertbot_testkit::fake_gitea::Checks::Success,
    );
    let pull = &fake.pulls(OWNER, REPO)[0];
    assert!(pull.merged && pull.state == "closed" && pull.auto_merge.is_none());
}
