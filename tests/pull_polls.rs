//! `pull_request.poll_interval`: with no webhook configured, `serve` asks each forge what became
//! of the rollback pull requests it recorded open, and records a merge (history: `pr_state`
//! merged, `pr_merged_at`, who) within an interval or two, counted once; a forge's error is
//! logged and the next poll asks again; `0` turns polling off. On GitHub, GitLab and Gitea, each
//! faked, the pull request merged in the fake as a person would.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{demo_service, eventually, http_get};
use revertbot_testkit::fake_gitea::FakeGitea;
use revertbot_testkit::fake_gitlab::FakeGitLab;
use revertbot_testkit::service::Service;
use revertbot_testkit::world::{World, OWNER, REPO};

const GITHUB_TOKEN: &str = "ghp_revertbot_polls_token";
const FORGE_TOKEN: &str = "forge-service-token";
const WEBHOOK_TOKEN: &str = "webhook-token";
const PROJECT: &str = "acme/platform/gitops";

/// `w`'s configuration polling every `interval` (as the configuration writes it), with
/// `server` (a forge's section) before it and the repository's forge key `repo_key` instead of
/// GitHub's.
fn configure(w: &World, interval: &str, server: &str, repo_key: Option<&str>) -> PathBuf {
    let config = w.config("");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("pull_request:\n"), "{text}");
    let mut text = text.replace(
        "pull_request:\n",
        &format!("pull_request:\n  poll_interval: {interval}\n"),
    );
    if let Some(key) = repo_key {
        assert!(text.contains("    github: acme/gitops\n"), "{text}");
        text = text.replace("    github: acme/gitops\n", &format!("    {key}\n"));
    }
    std::fs::write(&config, format!("{server}{text}")).unwrap();
    config
}

/// The section of a forge server at `url`, with the token the fakes accept.
fn server(w: &World, forge: &str, url: &str) -> String {
    let token = w.dir().join(format!("{forge}-token"));
    std::fs::write(&token, FORGE_TOKEN).unwrap();
    format!(
        "{forge}:\n  url: {url}\n  token_file: {}\n",
        token.display()
    )
}

/// Starts the service on `config`, sends the alert and waits for its rollback: the job, done.
fn rollback(w: &World, config: &Path) -> (Service, serde_json::Value) {
    let service = w.serve(config);
    service.wait_ready();
    let (status, body) = service.post_alerts(WEBHOOK_TOKEN, &demo_service::demo_alert());
    assert_eq!(status, 200, "{body}");
    let mut job = serde_json::Value::Null;
    let ended = eventually(Duration::from_secs(60), || {
        job = w.history(config)["jobs"][0].clone();
        job["state"] == "done"
    });
    assert!(ended, "{job}\n{}", service.log());
    assert_eq!(job["outcome"], "created", "{job}");
    assert_eq!(job["pr_state"], "created", "{job}");
    (service, job)
}

/// Waits until the job is recorded merged by `by`, as a poll learns it.
fn merged_by_poll(w: &World, config: &Path, service: &Service, by: &str) {
    let mut job = serde_json::Value::Null;
    let merged = eventually(Duration::from_secs(30), || {
        job = w.history(config)["jobs"][0].clone();
        job["pr_state"] == "merged"
    });
    assert!(merged, "{job}\n{}", service.log());
    assert!(job["pr_merged_at"].is_i64(), "{job}");
    assert_eq!(job["pr_closed_by"], by, "{job}");
    // Asked again every second: still one merge.
    std::thread::sleep(Duration::from_millis(2_500));
    let metrics = http_get(&service.url("/metrics")).unwrap();
    let metrics = String::from_utf8_lossy(&metrics.1).into_owned();
    assert!(
        metrics.contains("revertbot_pull_request_merge_seconds_count 1\n"),
        "{metrics}"
    );
    assert!(
        service.log().contains("pull request merged (poll)"),
        "{}",
        service.log()
    );
}

#[test]
fn on_github_a_merge_is_learnt_by_polling_after_a_forge_error() {
    let w = demo_service::world(GITHUB_TOKEN);
    let config = configure(&w, "1s", "", None);
    let (service, job) = rollback(&w, &config);
    let number = job["pr_number"].as_u64().unwrap();
    // The first poll fails; the one after asks again.
    w.github().fail_next(
        "GET",
        &format!("/repos/{OWNER}/{REPO}/pulls/{number}"),
        404,
        Vec::new(),
        None,
    );
    w.github().close_pull(OWNER, REPO, number, true);
    merged_by_poll(&w, &config, &service, "revertbot-tests");
    assert!(
        service
            .log()
            .contains("cannot ask what became of the pull request"),
        "{}",
        service.log()
    );
    service.terminate();
}

#[test]
fn on_gitlab_a_merge_is_learnt_by_polling() {
    let w = demo_service::world(GITHUB_TOKEN);
    let gitlab = FakeGitLab::start();
    gitlab.add_project(PROJECT, Some(&w.server().repo_path("gitops")));
    gitlab.allow_token(FORGE_TOKEN);
    let server = server(&w, "gitlab", &gitlab.base_url());
    let config = configure(&w, "1s", &server, Some(&format!("gitlab: {PROJECT}")));
    let (service, job) = rollback(&w, &config);
    gitlab.merge_merge_request(PROJECT, job["pr_number"].as_u64().unwrap());
    merged_by_poll(&w, &config, &service, "reviewer");
    service.terminate();
}

#[test]
fn on_gitea_a_merge_is_learnt_by_polling() {
    let w = demo_service::world(GITHUB_TOKEN);
    let gitea = FakeGitea::start();
    gitea.add_repo("acme", "gitops", &w.server().repo_path("gitops"));
    gitea.allow_token(FORGE_TOKEN);
    let url = gitea.base_url();
    let server = server(&w, "gitea", url.trim_end_matches("/api/v1"));
    let config = configure(&w, "1s", &server, Some("gitea: acme/gitops"));
    let (service, job) = rollback(&w, &config);
    let number = job["pr_number"].as_u64().unwrap();
    gitea.close_pull("acme", "gitops", number, true);
    let merger = gitea.pulls("acme", "gitops")[0].merged_by.clone();
    merged_by_poll(&w, &config, &service, merger.as_deref().unwrap_or(""));
    service.terminate();
}

#[test]
fn a_poll_interval_of_0_asks_nothing() {
    let w = demo_service::world(GITHUB_TOKEN);
    let config = configure(&w, "0", "", None);
    let (service, job) = rollback(&w, &config);
    let number = job["pr_number"].as_u64().unwrap();
    let asked = || {
        w.github()
            .requests()
            .iter()
            .filter(|(m, p)| m == "GET" && p.ends_with(&format!("/pulls/{number}")))
            .count()
    };
    let before = asked();
    w.github().close_pull(OWNER, REPO, number, true);
    std::thread::sleep(Duration::from_secs(4));
    let job = w.history(&config)["jobs"][0].clone();
    assert_eq!(job["pr_state"], "created", "{job}");
    assert!(job["pr_merged_at"].is_null(), "{job}");
    assert_eq!(asked(), before, "no poll");
    service.terminate();
}
