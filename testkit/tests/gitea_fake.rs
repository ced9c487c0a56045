//! The fake Gitea's state machine, against the fake directly: what Forgejo answers for a
//! duplicate, a closed pull request, labels by id, pagination, missing or weak tokens, faults.

mod common;

use std::time::Duration;

use common::Client;
use revertbot_testkit::fake_gitea::{FakeGitea, MAX_PAGE_SIZE, USER_LOGIN};
use revertbot_testkit::fake_github::bare_repo_with_branches;
use serde_json::json;

const OWNER: &str = "acme";
const REPO: &str = "gitops";
const TOKEN: &str = "token-all";

fn setup(branches: &[&str]) -> (tempfile::TempDir, FakeGitea, Client) {
    let git = bare_repo_with_branches(branches);
    let fake = FakeGitea::start();
    fake.add_repo(OWNER, REPO, git.path());
    fake.allow_token(TOKEN);
    let api = Client::gitea(&fake.base_url(), Some(TOKEN));
    (git, fake, api)
}

fn create(api: &Client, head: &str, base: &str) -> common::Response {
    api.post(
        &format!("/repos/{OWNER}/{REPO}/pulls"),
        &json!({"head": head, "base": base, "title": format!("Revert {head}")}),
    )
}

#[test]
fn a_second_open_pull_request_for_a_pair_is_a_conflict_until_the_first_is_closed() {
    let (_git, fake, api) = setup(&["revertbot/a"]);
    assert_eq!(create(&api, "revertbot/a", "main").status, 201);
    let dup = create(&api, "revertbot/a", "main");
    assert_eq!(dup.status, 409);
    assert_eq!(
        dup.json()["message"],
        "pull request already exists for these targets [id: 1, issue_id: 1, head_repo_id: 1, base_repo_id: 1, head_branch: revertbot/a, base_branch: main]"
    );
    assert_eq!(
        dup.json()["url"],
        format!("{}/api/swagger", fake.root_url())
    );
    // Same head, `owner:branch` form: the same pair.
    assert_eq!(create(&api, "acme:revertbot/a", "main").status, 409);
    // Head equal to base: 422. A missing base, another owner's head: 404.
    assert_eq!(create(&api, "main", "main").status, 422);
    assert_eq!(create(&api, "revertbot/a", "release").status, 404);
    assert_eq!(create(&api, "someone:revertbot/a", "main").status, 404);

    fake.close_pull(OWNER, REPO, 1, false);
    let second = create(&api, "revertbot/a", "main");
    assert_eq!(second.status, 201, "{}", second.text());
    assert_eq!(second.json()["number"], 2);
    // Reopening the first while the second is open: 409.
    let reopen = api.patch(
        &format!("/repos/{OWNER}/{REPO}/pulls/1"),
        &json!({"state": "open"}),
    );
    assert_eq!(reopen.status, 409, "{}", reopen.text());

    // `/pulls/{base}/{head}` is the first pull request of the pair, closed or not, as Forgejo's
    // query (no state filter) returns it.
    let by_pair = api.get(&format!("/repos/{OWNER}/{REPO}/pulls/main/revertbot%2Fa"));
    assert_eq!(by_pair.status, 200);
    assert_eq!(by_pair.json()["number"], 1);
    assert_eq!(by_pair.json()["state"], "closed");
    // The head may also come unencoded (Forgejo's route is `/{base}/*`).
    let raw = api.get(&format!("/repos/{OWNER}/{REPO}/pulls/main/revertbot/a"));
    assert_eq!(raw.json()["number"], 1);
    let open = api.get(&format!(
        "/repos/{OWNER}/{REPO}/pulls?state=open&head=revertbot%2Fa&base=main"
    ));
    assert_eq!(open.json()[0]["number"], 2);
}

#[test]
fn issues_and_pull_requests_share_the_index_sequence() {
    let (_git, fake, api) = setup(&["revertbot/a"]);
    assert_eq!(fake.add_issue(OWNER, REPO, "one"), 1);
    assert_eq!(fake.add_issue(OWNER, REPO, "two"), 2);
    assert_eq!(create(&api, "revertbot/a", "main").json()["number"], 3);
    // An issue's index is not a pull request; comments work on both.
    assert_eq!(
        api.get(&format!("/repos/{OWNER}/{REPO}/pulls/1")).status,
        404
    );
    let c = api.post(
        &format!("/repos/{OWNER}/{REPO}/issues/1/comments"),
        &json!({"body": "on the issue"}),
    );
    assert_eq!(c.status, 201);
    assert_eq!(c.json()["pull_request_url"], "");
    assert!(c.json()["issue_url"]
        .as_str()
        .unwrap()
        .ends_with("/acme/gitops/issues/1"));
    assert_eq!(fake.pulls(OWNER, REPO)[0].number, 3);
}

#[test]
fn labels_are_ids_and_unknown_ones_are_dropped() {
    let (_git, fake, api) = setup(&["revertbot/a"]);
    let revert = fake.add_label(OWNER, REPO, "revert", "#ff0000");
    let urgent = fake.add_label(OWNER, REPO, "urgent", "00ff00");
    let pr = api.post(
        &format!("/repos/{OWNER}/{REPO}/pulls"),
        &json!({"head": "revertbot/a", "base": "main", "title": "Revert",
                "labels": [revert, 4242, revert]}),
    );
    assert_eq!(pr.status, 201, "{}", pr.text());
    assert_eq!(pr.json()["labels"].as_array().unwrap().len(), 1);
    assert_eq!(pr.json()["labels"][0]["color"], "ff0000");
    // Names work on the issue labels route; unknown names are dropped too.
    let all = api.post(
        &format!("/repos/{OWNER}/{REPO}/issues/1/labels"),
        &json!({"labels": ["urgent", "nope", 999]}),
    );
    assert_eq!(all.status, 200);
    let pull = &fake.pulls(OWNER, REPO)[0];
    assert_eq!(pull.label_ids, [revert, urgent]);
    assert_eq!(pull.labels, ["revert", "urgent"]);
    // Creating a label: a colour is required and must be hex.
    let bad = api.post(
        &format!("/repos/{OWNER}/{REPO}/labels"),
        &json!({"name": "x", "color": "red"}),
    );
    assert_eq!(bad.status, 422);
    let missing = api.post(
        &format!("/repos/{OWNER}/{REPO}/labels"),
        &json!({"name": "x"}),
    );
    assert_eq!(missing.json()["message"], "[Color]: Required");
    let short = api.post(
        &format!("/repos/{OWNER}/{REPO}/labels"),
        &json!({"name": "x", "color": "#AbC"}),
    );
    assert_eq!(short.status, 201);
    assert_eq!(short.json()["color"], "aabbcc");
    // Assignees must exist.
    let who = api.patch(
        &format!("/repos/{OWNER}/{REPO}/pulls/1"),
        &json!({"assignees": ["ghost"]}),
    );
    assert_eq!(who.status, 422);
}

#[test]
fn lists_are_paginated_with_link_and_total_count() {
    let branches: Vec<String> = (1..=5).map(|i| format!("revertbot/b{i}")).collect();
    let refs: Vec<&str> = branches.iter().map(String::as_str).collect();
    let (_git, fake, api) = setup(&refs);
    for b in &refs {
        assert_eq!(create(&api, b, "main").status, 201);
    }
    let page = api.get(&format!(
        "/repos/{OWNER}/{REPO}/pulls?limit=2&page=2&state=open"
    ));
    assert_eq!(page.status, 200);
    assert_eq!(page.header("x-total-count"), Some("5"));
    let numbers: Vec<u64> = page
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [3, 2], "newest first");
    let base = format!("{}/api/v1/repos/acme/gitops/pulls", fake.root_url());
    assert_eq!(
        page.header("link"),
        Some(
            format!(
                "<{base}?limit=2&page=3&state=open>; rel=\"next\",<{base}?limit=2&page=3&state=open>; rel=\"last\",<{base}?limit=2&page=1&state=open>; rel=\"first\",<{base}?limit=2&page=1&state=open>; rel=\"prev\""
            )
            .as_str()
        )
    );
    // Last page: no next; one page: no Link at all.
    let last = api.get(&format!("/repos/{OWNER}/{REPO}/pulls?limit=2&page=3"));
    assert_eq!(last.json().as_array().unwrap().len(), 1);
    assert!(!last.header("link").unwrap().contains("rel=\"next\""));
    let all = api.get(&format!("/repos/{OWNER}/{REPO}/pulls?limit=1000"));
    assert_eq!(all.json().as_array().unwrap().len(), 5);
    assert!(all.header("link").is_none());
    assert_eq!(MAX_PAGE_SIZE, 50);
    // Comments: not paginated, X-Total-Count only.
    for i in 0..3 {
        api.post(
            &format!("/repos/{OWNER}/{REPO}/issues/1/comments"),
            &json!({"body": format!("c{i}")}),
        );
    }
    let comments = api.get(&format!("/repos/{OWNER}/{REPO}/issues/1/comments?limit=1"));
    assert_eq!(comments.json().as_array().unwrap().len(), 3);
    assert_eq!(comments.header("x-total-count"), Some("3"));
}

#[test]
fn tokens_scopes_and_unknown_repositories() {
    let (_git, fake, api) = setup(&["revertbot/a"]);
    let r = format!("/repos/{OWNER}/{REPO}");
    // Anonymous: reads of a public repository work, writes need a token.
    let anonymous = Client::gitea(&fake.base_url(), None);
    assert_eq!(anonymous.get(&r).status, 200);
    let refused = anonymous.post(&format!("{r}/pulls"), &json!({}));
    assert_eq!(refused.status, 401);
    assert_eq!(refused.json()["message"], "token is required");
    // An unknown token: 401 whatever the route.
    let stranger = Client::gitea(&fake.base_url(), Some("nope"));
    let refused = stranger.get(&r);
    assert_eq!(refused.status, 401);
    assert_eq!(
        refused.json()["message"],
        "user does not exist [uid: 0, name: ]"
    );
    // `Bearer` works as well as `token`.
    let bearer = common::request(
        "GET",
        &format!("{}{r}", fake.base_url()),
        &[("Authorization", &format!("Bearer {TOKEN}"))],
        None,
    );
    assert_eq!(bearer.status, 200);
    // Scopes: issue-only tokens cannot open pull requests, repository-only ones cannot comment.
    fake.allow_token_as("issues", "carol", &["write:issue"]);
    fake.allow_token_as("repo", "dave", &["write:repository"]);
    let issues = Client::gitea(&fake.base_url(), Some("issues"));
    let repo_only = Client::gitea(&fake.base_url(), Some("repo"));
    let refused = create(&issues, "revertbot/a", "main");
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.json()["message"],
        "token does not have at least one of required scope(s): [write:repository]"
    );
    assert_eq!(
        issues.get(&r).json()["message"],
        "token does not have at least one of required scope(s): [read:repository]"
    );
    let pr = create(&repo_only, "revertbot/a", "main");
    assert_eq!(pr.status, 201);
    assert_eq!(pr.json()["user"]["login"], "dave");
    let refused = repo_only.post(&format!("{r}/issues/1/comments"), &json!({"body": "x"}));
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.json()["message"],
        "token does not have at least one of required scope(s): [write:issue]"
    );
    assert_eq!(
        issues
            .post(&format!("{r}/issues/1/comments"), &json!({"body": "x"}))
            .status,
        201
    );
    // The scope check comes before the repository lookup, as in Forgejo.
    assert_eq!(
        issues.post("/repos/acme/nope/pulls", &json!({})).status,
        403
    );
    // Unknown repository, and a private one without a token: Forgejo's 404.
    let missing = api.get("/repos/acme/nope");
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.json(),
        json!({"errors": null, "message": "The target couldn't be found.",
               "url": format!("{}/api/swagger", fake.root_url())})
    );
    fake.set_private(OWNER, REPO, true);
    assert_eq!(anonymous.get(&r).status, 404);
    assert_eq!(api.get(&r).json()["private"], true);
}

#[test]
fn reviewers_wip_titles_and_merging() {
    let (_git, fake, api) = setup(&["revertbot/a"]);
    fake.add_user("bob");
    let r = format!("/repos/{OWNER}/{REPO}");
    let pr = api.post(
        &format!("{r}/pulls"),
        &json!({"head": "revertbot/a", "base": "main", "title": "WIP: revert"}),
    );
    assert_eq!(pr.json()["draft"], true);
    assert!(fake.pulls(OWNER, REPO)[0].draft);
    // The poster cannot review; an unknown user is not found; a second request adds nothing.
    let own = api.post(
        &format!("{r}/pulls/1/requested_reviewers"),
        &json!({"reviewers": [USER_LOGIN]}),
    );
    assert_eq!(own.status, 422);
    let ghost = api.post(
        &format!("{r}/pulls/1/requested_reviewers"),
        &json!({"reviewers": ["ghost"]}),
    );
    assert_eq!(ghost.status, 404);
    let body = json!({"reviewers": ["bob"]});
    assert_eq!(
        api.post(&format!("{r}/pulls/1/requested_reviewers"), &body)
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        api.post(&format!("{r}/pulls/1/requested_reviewers"), &body)
            .json(),
        json!([])
    );
    assert_eq!(fake.pulls(OWNER, REPO)[0].requested_reviewers, ["bob"]);
    // A WIP pull request cannot be merged; `Do` is required.
    let wip = api.post(&format!("{r}/pulls/1/merge"), &json!({"Do": "merge"}));
    assert_eq!(wip.status, 405);
    assert_eq!(
        wip.json()["message"],
        "Work in progress PRs cannot be merged"
    );
    let no_do = api.post(&format!("{r}/pulls/1/merge"), &json!({}));
    assert_eq!(no_do.status, 422);
    api.patch(&format!("{r}/pulls/1"), &json!({"title": "revert"}));
    let merged = api.post(&format!("{r}/pulls/1/merge"), &json!({"Do": "squash"}));
    assert_eq!(merged.status, 200);
    assert!(merged.body.is_empty());
    let pull = &fake.pulls(OWNER, REPO)[0];
    assert!(pull.merged);
    assert_eq!(pull.merged_by.as_deref(), Some(USER_LOGIN));
    // A closed (unmerged) pull request: merge is 404.
    let n = fake.add_pull(OWNER, REPO, "x", "main", "closed", "closed", false);
    assert_eq!(
        api.post(&format!("{r}/pulls/{n}/merge"), &json!({"Do": "merge"}))
            .status,
        404
    );
}

#[test]
fn faults_and_the_request_log() {
    let (_git, fake, api) = setup(&["revertbot/a"]);
    let r = format!("/repos/{OWNER}/{REPO}");
    fake.fail_next_n("post", "/pulls", 2, 500, vec![], None);
    assert_eq!(create(&api, "revertbot/a", "main").status, 500);
    let second = create(&api, "revertbot/a", "main");
    assert_eq!(second.status, 500);
    assert_eq!(second.json()["message"], "Internal Server Error");
    assert_eq!(create(&api, "revertbot/a", "main").status, 201);
    fake.fail_next_rate_limited("GET", "/pulls/1", 1, 7);
    let limited = api.get(&format!("{r}/pulls/1"));
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("retry-after"), Some("7"));
    assert_eq!(api.get(&format!("{r}/pulls/1")).status, 200);

    let log = fake.requests();
    assert_eq!(log.len(), 5);
    assert_eq!(log[0].method, "POST");
    assert_eq!(log[0].path, "/api/v1/repos/acme/gitops/pulls");
    assert_eq!(
        log[0].header("authorization"),
        Some(format!("token {TOKEN}").as_str())
    );
    let sent: serde_json::Value = serde_json::from_slice(&log[0].body).unwrap();
    assert_eq!(sent["head"], "revertbot/a");
    assert!(log.windows(2).all(|w| w[0].at <= w[1].at));
    assert!(log[4].at - log[0].at < chrono::Duration::from_std(Duration::from_secs(60)).unwrap());
}
