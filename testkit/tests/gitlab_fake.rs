//! The fake GitLab's state machine, over HTTP: merge requests (iids per project, 409 on a second
//! open one, missing branches), labels created by `add_labels`, reviewers, notes, merging,
//! pagination headers, tokens and scopes (401, 403), unknown projects (404), queued faults and
//! the request log.

mod common;

use std::time::Duration;

use common::{request, Client};
use revertbot_testkit::fake_github::bare_repo_with_branches;
use revertbot_testkit::fake_gitlab::{FakeGitLab, DEFAULT_LABEL_COLOR, USER_USERNAME};
use serde_json::json;

const TOKEN: &str = "glpat-unitTestToken000000";
const PROJECT: &str = "acme/platform/gitops";
const ENCODED: &str = "acme%2Fplatform%2Fgitops";

fn setup() -> (FakeGitLab, Client, u64) {
    let fake = FakeGitLab::start();
    let id = fake.add_project(PROJECT, None);
    fake.allow_token(TOKEN);
    let client = Client::gitlab(&fake.base_url(), TOKEN);
    (fake, client, id)
}

fn mrs_path() -> String {
    format!("/api/v4/projects/{ENCODED}/merge_requests")
}

fn create(c: &Client, source: &str, target: &str, title: &str) -> common::Response {
    c.post(
        &mrs_path(),
        &json!({"source_branch": source, "target_branch": target, "title": title}),
    )
}

#[test]
fn project_by_encoded_path_or_id_and_404_for_an_unknown_one() {
    let (fake, c, id) = setup();
    let by_path = c.get(&format!("/api/v4/projects/{ENCODED}"));
    assert_eq!(by_path.status, 200);
    let p = by_path.json();
    assert_eq!(p["id"], id);
    assert_eq!(p["path_with_namespace"], PROJECT);
    assert_eq!(p["path"], "gitops");
    assert_eq!(p["namespace"]["full_path"], "acme/platform");
    assert_eq!(p["default_branch"], "main");
    let by_id = c.get(&format!("/api/v4/projects/{id}"));
    assert_eq!(by_id.json()["path_with_namespace"], PROJECT);
    // Lower-case encoding and case differences are the same project.
    assert_eq!(
        c.get("/api/v4/projects/ACME%2fplatform%2fgitops").status,
        200
    );
    for missing in ["acme%2Fnope", "999999"] {
        let r = c.get(&format!("/api/v4/projects/{missing}"));
        assert_eq!(r.status, 404);
        assert_eq!(r.json(), json!({"message": "404 Project Not Found"}));
    }
    let r = c.get("/api/v4/projects/acme%2Fnope/merge_requests");
    assert_eq!(r.json(), json!({"message": "404 Project Not Found"}));
    // An unknown route.
    let r = c.get("/api/v4/nothing/here");
    assert_eq!(
        (r.status, r.json()),
        (404, json!({"message": "404 Not Found"}))
    );
    drop(fake);
}

#[test]
fn tokens_in_either_header_and_401_403_as_gitlab_answers() {
    let (fake, _c, _) = setup();
    fake.add_token("glpat-readonly", "reader", &["read_api"]);
    fake.add_token("glpat-repo-only", "pusher", &["write_repository"]);
    let base = fake.base_url();
    let path = format!("/api/v4/projects/{ENCODED}");
    let bearer = format!("Bearer {TOKEN}");
    for headers in [
        vec![("PRIVATE-TOKEN", TOKEN)],
        vec![("Authorization", bearer.as_str())],
    ] {
        assert_eq!(
            request("GET", &format!("{base}{path}"), &headers, None).status,
            200
        );
    }
    for headers in [
        vec![],
        vec![("PRIVATE-TOKEN", "glpat-unknown")],
        vec![("Authorization", "Bearer glpat-unknown")],
        vec![("Authorization", "token glpat-unitTestToken000000")],
    ] {
        let r = request("GET", &format!("{base}{path}"), &headers, None);
        assert_eq!(r.status, 401, "{headers:?}");
        assert_eq!(r.json(), json!({"message": "401 Unauthorized"}));
    }
    // read_api reads, but cannot write.
    let reader = Client::gitlab(&base, "glpat-readonly");
    assert_eq!(reader.get(&mrs_path()).status, 200);
    let r = create(&reader, "feature", "main", "x");
    assert_eq!(r.status, 403);
    let body = r.json();
    assert_eq!(body["error"], "insufficient_scope");
    assert_eq!(body["scope"], "api");
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .contains("insufficient_scope"));
    // A token without API scopes at all.
    let pusher = Client::gitlab(&base, "glpat-repo-only");
    assert_eq!(pusher.get(&path).status, 403);
    assert!(fake.merge_requests(PROJECT).is_empty());
}

#[test]
fn merge_requests_are_numbered_per_project_and_a_second_open_one_is_409() {
    let (fake, c, id) = setup();
    fake.add_project("acme/other", None);
    let r = create(&c, "revertbot/api", "main", "Revert api");
    assert_eq!(r.status, 201, "{}", r.text());
    let mr = r.json();
    assert_eq!(mr["iid"], 1);
    assert_eq!(mr["project_id"], id);
    assert_eq!(mr["state"], "opened");
    assert_eq!(mr["author"]["username"], USER_USERNAME);
    assert_eq!(mr["draft"], false);
    assert_eq!(
        mr["web_url"],
        format!("{}/{PROJECT}/-/merge_requests/1", fake.base_url())
    );
    assert_eq!(mr["references"]["full"], format!("{PROJECT}!1"));

    // Same source and target: GitLab's 409, with its message as an array.
    let r = create(&c, "revertbot/api", "main", "Again");
    assert_eq!(r.status, 409);
    assert_eq!(
        r.json(),
        json!({"message": ["Another open merge request already exists for this source branch: !1"]})
    );
    // Another target is fine; iids go on.
    assert_eq!(
        create(&c, "revertbot/api", "release", "To release").json()["iid"],
        2
    );
    // Another project has its own numbering.
    let other = c.post(
        "/api/v4/projects/acme%2Fother/merge_requests",
        &json!({"source_branch": "a", "target_branch": "main", "title": "A"}),
    );
    assert_eq!(other.json()["iid"], 1);
    // Once closed, the branch may have a new merge request.
    fake.close_merge_request(PROJECT, 1);
    let r = create(&c, "revertbot/api", "main", "Revert api, again");
    assert_eq!((r.status, r.json()["iid"].clone()), (201, json!(3)));
    // Reopening the closed one would make two open ones: 409.
    let r = c.put(
        &format!("{}/1", mrs_path()),
        &json!({"state_event": "reopen"}),
    );
    assert_eq!(r.status, 409);
    assert_eq!(
        r.json()["message"][0],
        "Another open merge request already exists for this source branch: !3"
    );
    // Same branch both sides, and missing parameters.
    let r = create(&c, "main", "main", "Nothing");
    assert_eq!(r.status, 422);
    let r = c.post(&mrs_path(), &json!({"title": "x"}));
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        json!({"error": "source_branch is missing, target_branch is missing"})
    );
    let states: Vec<String> = fake
        .merge_requests(PROJECT)
        .iter()
        .map(|m| format!("!{} {}", m.iid, m.state))
        .collect();
    assert_eq!(states, ["!1 closed", "!2 opened", "!3 opened"]);
}

#[test]
fn branches_are_checked_against_the_projects_git_repository() {
    let git = bare_repo_with_branches(&["revertbot/web"]);
    let fake = FakeGitLab::start();
    fake.add_project(PROJECT, Some(git.path()));
    fake.allow_token(TOKEN);
    let c = Client::gitlab(&fake.base_url(), TOKEN);
    let r = create(&c, "revertbot/never-pushed", "main", "x");
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        json!({"message": {"source_branch": ["does not exist"]}})
    );
    let r = create(&c, "revertbot/web", "no-such-base", "x");
    assert_eq!(
        (r.status, r.json()),
        (
            400,
            json!({"message": {"target_branch": ["does not exist"]}})
        )
    );
    let r = create(&c, "revertbot/web", "main", "Revert web");
    assert_eq!(r.status, 201);
    // The merge request's sha is the branch's tip.
    let tip = std::process::Command::new("git")
        .arg("-C")
        .arg(git.path())
        .args(["rev-parse", "refs/heads/revertbot/web"])
        .output()
        .unwrap();
    assert_eq!(r.json()["sha"], String::from_utf8_lossy(&tip.stdout).trim());
    assert_eq!(fake.merge_requests(PROJECT).len(), 1);
}

#[test]
fn list_filters_and_pagination_headers() {
    let (fake, c, _) = setup();
    for i in 1..=5 {
        fake.add_merge_request(
            PROJECT,
            &format!("revertbot/{i}"),
            "main",
            &format!("MR {i}"),
        );
    }
    fake.close_merge_request(PROJECT, 2);
    fake.merge_merge_request(PROJECT, 3);

    let r = c.get(&format!("{}?per_page=2", mrs_path()));
    assert_eq!(r.status, 200);
    let iids: Vec<u64> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["iid"].as_u64().unwrap())
        .collect();
    assert_eq!(iids, [5, 4], "newest first by default");
    assert_eq!(r.header("x-page"), Some("1"));
    assert_eq!(r.header("x-per-page"), Some("2"));
    assert_eq!(r.header("x-total"), Some("5"));
    assert_eq!(r.header("x-total-pages"), Some("3"));
    assert_eq!(r.header("x-next-page"), Some("2"));
    assert_eq!(r.header("x-prev-page"), Some(""));
    let link = r.header("link").unwrap();
    assert!(link.contains("page=2&per_page=2>; rel=\"next\""), "{link}");
    assert!(link.contains("rel=\"last\""), "{link}");

    let last = c.get(&format!("{}?per_page=2&page=3", mrs_path()));
    assert_eq!(last.json().as_array().unwrap().len(), 1);
    assert_eq!(last.header("x-next-page"), Some(""));
    assert_eq!(last.header("x-prev-page"), Some("2"));

    // Walking X-Next-Page visits every merge request once.
    let mut seen = Vec::new();
    let mut page = "1".to_string();
    while !page.is_empty() {
        let r = c.get(&format!("{}?per_page=2&page={page}&sort=asc", mrs_path()));
        for m in r.json().as_array().unwrap() {
            seen.push(m["iid"].as_u64().unwrap());
        }
        page = r.header("x-next-page").unwrap().to_string();
    }
    assert_eq!(seen, [1, 2, 3, 4, 5]);

    let iids = |query: &str| -> Vec<u64> {
        c.get(&format!("{}?{query}", mrs_path()))
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["iid"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(iids("state=opened&sort=asc"), [1, 4, 5]);
    assert_eq!(iids("state=closed"), [2]);
    assert_eq!(iids("state=merged"), [3]);
    assert_eq!(iids("state=all&source_branch=revertbot%2F4"), [4]);
    assert_eq!(iids("source_branch=revertbot/4&target_branch=main"), [4]);
    assert_eq!(
        iids("source_branch=revertbot/4&target_branch=release"),
        Vec::<u64>::new()
    );
    assert_eq!(c.get(&format!("{}?state=bogus", mrs_path())).status, 400);
}

#[test]
fn update_adds_labels_creating_them_sets_people_and_closes() {
    let (fake, c, _) = setup();
    let alice = fake.add_user("alice", "Alice");
    let bob = fake.add_user("bob", "Bob");
    fake.add_label(PROJECT, "Rollback", "#ff0000");
    let iid = fake.add_merge_request(PROJECT, "revertbot/api", "main", "Revert api");
    let path = format!("{}/{iid}", mrs_path());

    // Existing labels match case-insensitively; missing ones are created with GitLab's colour.
    let r = c.put(&path, &json!({"add_labels": "rollback,automated"}));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["labels"], json!(["Rollback", "automated"]));
    let r = c.put(&path, &json!({"add_labels": ["automated", "p1"]}));
    assert_eq!(r.json()["labels"], json!(["Rollback", "automated", "p1"]));
    assert_eq!(fake.labels(PROJECT), ["automated", "p1", "Rollback"]);
    let labels = c.get(&format!("/api/v4/projects/{ENCODED}/labels")).json();
    let created = labels
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "automated")
        .unwrap();
    assert_eq!(created["color"], DEFAULT_LABEL_COLOR);
    assert_eq!(created["open_merge_requests_count"], 1);

    let r = c.put(
        &path,
        &json!({"reviewer_ids": [alice, 424242], "assignee_ids": [bob], "title": "Draft: Revert api"}),
    );
    let mr = r.json();
    assert_eq!(mr["reviewers"][0]["username"], "alice");
    assert_eq!(
        mr["reviewers"].as_array().unwrap().len(),
        1,
        "unknown ids are ignored"
    );
    assert_eq!(mr["assignees"][0]["username"], "bob");
    assert_eq!(mr["assignee"]["username"], "bob");
    assert_eq!(mr["draft"], true);

    let r = c.put(
        &path,
        &json!({"remove_labels": "p1", "state_event": "close"}),
    );
    assert_eq!(r.json()["state"], "closed");
    assert!(r.json()["closed_at"].is_string());
    assert_eq!(r.json()["closed_by"]["username"], USER_USERNAME);

    let view = &fake.merge_requests(PROJECT)[0];
    assert_eq!(view.state, "closed");
    assert_eq!(view.labels, ["Rollback", "automated"]);
    assert_eq!(view.reviewers, ["alice"]);
    assert_eq!(view.assignees, ["bob"]);
    assert!(view.draft);

    // Nothing to update, a bad state_event, an unknown merge request.
    assert_eq!(c.put(&path, &json!({})).status, 400);
    assert_eq!(c.put(&path, &json!({"state_event": "merge"})).status, 400);
    let r = c.put(&format!("{}/99", mrs_path()), &json!({"title": "x"}));
    assert_eq!(
        (r.status, r.json()),
        (404, json!({"message": "404 Not found"}))
    );
}

#[test]
fn labels_are_listed_and_created_and_a_duplicate_is_409() {
    let (fake, c, _) = setup();
    let path = format!("/api/v4/projects/{ENCODED}/labels");
    let r = c.post(
        &path,
        &json!({"name": "rollback", "color": "#d9534f", "description": "Auto"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["name"], "rollback");
    assert_eq!(r.json()["color"], "#d9534f");
    let r = c.post(&path, &json!({"name": "Rollback", "color": "#000000"}));
    assert_eq!(
        (r.status, r.json()),
        (409, json!({"message": "Label already exists"}))
    );
    let r = c.post(&path, &json!({"name": "x"}));
    assert_eq!(
        (r.status, r.json()),
        (400, json!({"error": "color is missing"}))
    );
    let r = c.get(&path);
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    assert_eq!(r.header("x-total"), Some("1"));
    assert_eq!(fake.labels(PROJECT), ["rollback"]);
}

#[test]
fn notes_are_created_and_listed_newest_first() {
    let (fake, c, _) = setup();
    let iid = fake.add_merge_request(PROJECT, "revertbot/api", "main", "Revert api");
    let path = format!("{}/{iid}/notes", mrs_path());
    for body in ["first", "second"] {
        let r = c.post(&path, &json!({ "body": body }));
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json()["noteable_type"], "MergeRequest");
        assert_eq!(r.json()["noteable_iid"], iid);
        std::thread::sleep(Duration::from_millis(5));
    }
    let bodies = |query: &str| -> Vec<String> {
        c.get(&format!("{path}{query}"))
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["body"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(bodies(""), ["second", "first"]);
    assert_eq!(bodies("?sort=asc"), ["first", "second"]);
    let r = c.post(&path, &json!({}));
    assert_eq!(
        (r.status, r.json()),
        (400, json!({"error": "body is missing"}))
    );
    let notes = fake.notes(PROJECT, iid);
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[0].author, USER_USERNAME);
    assert_eq!(
        c.get(&format!("{}/77/notes", mrs_path())).status,
        404,
        "no such merge request"
    );
    assert_eq!(
        c.get(&format!("{}/1", mrs_path())).json()["user_notes_count"],
        2
    );
}

#[test]
fn merge_now_or_when_the_pipeline_succeeds() {
    let (fake, c, _) = setup();
    let now = fake.add_merge_request(PROJECT, "a", "main", "A");
    let auto = fake.add_merge_request(PROJECT, "b", "main", "B");
    let closed = fake.add_merge_request(PROJECT, "c", "main", "C");
    fake.close_merge_request(PROJECT, closed);

    let r = c.put(&format!("{}/{now}/merge", mrs_path()), &json!({}));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["state"], "merged");
    assert!(r.json()["merged_at"].is_string());
    assert!(r.json()["merge_commit_sha"].is_string());

    for flag in ["auto_merge", "merge_when_pipeline_succeeds"] {
        let r = c.put(
            &format!("{}/{auto}/merge", mrs_path()),
            &json!({ flag: true }),
        );
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["state"], "opened");
        assert_eq!(r.json()["merge_when_pipeline_succeeds"], true);
    }
    assert!(fake.merge_requests(PROJECT)[1].merge_when_pipeline_succeeds);
    fake.merge_merge_request(PROJECT, auto);
    assert_eq!(fake.merge_requests(PROJECT)[1].state, "merged");

    let r = c.put(&format!("{}/{closed}/merge", mrs_path()), &json!({}));
    assert_eq!(
        (r.status, r.json()),
        (405, json!({"message": "405 Method Not Allowed"}))
    );
    let open = fake.add_merge_request(PROJECT, "d", "main", "D");
    let r = c.put(
        &format!("{}/{open}/merge", mrs_path()),
        &json!({"sha": "0000000000000000000000000000000000000000"}),
    );
    assert_eq!(r.status, 409);
}

#[test]
fn users_are_found_by_username() {
    let (fake, c, _) = setup();
    let alice = fake.add_user("alice", "Alice A.");
    fake.add_user("bob", "Bob");
    let r = c.get("/api/v4/users?username=alice");
    let users = r.json();
    assert_eq!(users.as_array().unwrap().len(), 1);
    assert_eq!(users[0]["id"], alice);
    assert_eq!(users[0]["name"], "Alice A.");
    assert_eq!(users[0]["state"], "active");
    assert!(c
        .get("/api/v4/users?username=nobody")
        .json()
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn queued_faults_answer_n_requests_then_the_routes_do() {
    let (fake, c, _) = setup();
    fake.fail_next_rate_limited("POST", "/merge_requests", 2, Duration::from_secs(7));
    fake.fail_next("GET", "/merge_requests", 500, 1, vec![], None);
    for _ in 0..2 {
        let r = create(&c, "revertbot/api", "main", "Revert");
        assert_eq!(r.status, 429);
        assert_eq!(r.header("retry-after"), Some("7"));
        assert_eq!(r.header("ratelimit-remaining"), Some("0"));
        assert_eq!(r.text(), "Retry later\n");
    }
    assert_eq!(create(&c, "revertbot/api", "main", "Revert").status, 201);
    let r = c.get(&mrs_path());
    assert_eq!(
        (r.status, r.json()),
        (500, json!({"message": "500 Internal Server Error"}))
    );
    assert_eq!(c.get(&mrs_path()).status, 200);
    assert_eq!(fake.merge_requests(PROJECT).len(), 1);

    // The log keeps every request, faulted ones included, with headers and body.
    let log = fake.requests();
    assert_eq!(log.len(), 5);
    assert_eq!(log[0].method, "POST");
    assert_eq!(log[0].path, mrs_path());
    assert_eq!(log[0].header("private-token"), Some(TOKEN));
    assert!(log[0].body.contains("\"source_branch\":\"revertbot/api\""));
    assert!(log.windows(2).all(|w| w[0].at <= w[1].at));
}

#[test]
fn form_encoded_and_query_parameters_work_like_json() {
    let (fake, c, _) = setup();
    let r = request(
        "POST",
        &format!("{}{}", c.base, mrs_path()),
        &[
            ("PRIVATE-TOKEN", TOKEN),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        None,
    );
    assert_eq!(r.status, 400, "no parameters at all");
    let body = "source_branch=revertbot%2Fapi&target_branch=main&title=Revert+api&labels=rollback";
    let authority = c.base.strip_prefix("http://").unwrap();
    let raw = format!(
        "POST {} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nPRIVATE-TOKEN: {TOKEN}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        mrs_path(),
        body.len()
    );
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(authority).unwrap();
    s.write_all(raw.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 201"), "{out}");
    let mr = &fake.merge_requests(PROJECT)[0];
    assert_eq!(mr.title, "Revert api");
    assert_eq!(mr.source_branch, "revertbot/api");
    assert_eq!(mr.labels, ["rollback"]);
    // Query-string parameters on a PUT, as some clients send them.
    let r = c.send("PUT", &format!("{}/1?add_labels=p1", mrs_path()), None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(fake.merge_requests(PROJECT)[0].labels, ["rollback", "p1"]);
}
