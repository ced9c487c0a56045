//! `POST /webhooks/gitlab`: GitLab tells `serve` what became of a rollback merge request. Only
//! a delivery carrying `gitlab.webhook_token_file`'s token in `X-Gitlab-Token` is taken; a
//! merge request merged, closed or reopened is recorded on its job (history: `pr_state`,
//! `pr_merged_at`, `pr_closed_by`); a replayed delivery (the same `X-Gitlab-Event-UUID`, or
//! the same body when GitLab sends no id) changes nothing and counts no second merge; other
//! events, other actions and merge requests revertbot did not open are answered 2xx and kept
//! nothing of.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{demo_service, eventually, http_get, http_post};
use revertbot_testkit::fake_gitlab::FakeGitLab;
use revertbot_testkit::service::Service;
use revertbot_testkit::world::World;
use serde_json::json;

const GITHUB_TOKEN: &str = "ghp_unused";
const FORGE_TOKEN: &str = "forge-service-token";
const WEBHOOK_TOKEN: &str = "webhook-token";
const HOOK_TOKEN: &str = "gitlab-hook-token";
const PROJECT: &str = "acme/platform/gitops";

/// `w`'s configuration with its repository on `gitlab`, and GitLab's webhook token set; no
/// polling, so that only the webhook tells.
fn configure(w: &World, gitlab: &FakeGitLab) -> PathBuf {
    let config = w.config("");
    let dir = config.parent().unwrap();
    let token = dir.join("forge-token");
    std::fs::write(&token, FORGE_TOKEN).unwrap();
    let hook = dir.join("gitlab-hook-token");
    std::fs::write(&hook, format!("{HOOK_TOKEN}\n")).unwrap();
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("    github: acme/gitops\n"), "{text}");
    assert!(text.contains("pull_request:\n"), "{text}");
    let text = text
        .replace(
            "    github: acme/gitops\n",
            &format!("    gitlab: {PROJECT}\n"),
        )
        .replace("pull_request:\n", "pull_request:\n  poll_interval: 0\n");
    let text = format!(
        "gitlab:\n  url: {}\n  token_file: {}\n  webhook_token_file: {}\n{text}",
        gitlab.base_url(),
        token.display(),
        hook.display()
    );
    std::fs::write(&config, text).unwrap();
    config
}

/// A merge request event as GitLab sends it (`doc/user/project/integrations/webhook_events.md`),
/// in the older time format on purpose.
fn event(url: &str, action: &str, state: &str) -> String {
    json!({
        "object_kind": "merge_request",
        "event_type": "merge_request",
        "user": {"id": 7, "name": "Dana Reviewer", "username": "dana",
                 "avatar_url": null, "email": "[REDACTED]"},
        "project": {"id": 15, "name": "gitops", "path_with_namespace": PROJECT,
                    "web_url": "https://gitlab.example.com/acme/platform/gitops"},
        "object_attributes": {
            "id": 99, "iid": 1, "target_branch": "main",
            "source_branch": "revertbot/ghcr.io-acme-frontend-0123456789ab",
            "source_project_id": 15, "target_project_id": 15, "author_id": 51,
            "title": "Roll back ghcr.io/acme/frontend", "description": "",
            "created_at": "2026-12-06 10:00:00 UTC", "updated_at": "2026-12-06 10:03:00 UTC",
            "state": state, "merge_status": "can_be_merged", "draft": false,
            "work_in_progress": false, "url": url, "action": action,
            "labels": [], "detailed_merge_status": "not_open"
        },
        "labels": [],
        "changes": {"state_id": {"previous": 1, "current": 3}},
        "repository": {"name": "gitops", "url": "git@gitlab.example.com:acme/platform/gitops.git"}
    })
    .to_string()
}

struct Hook<'a> {
    service: &'a Service,
}

impl Hook<'_> {
    /// Posts `body` as GitLab would, with `token` and `uuid` when given.
    fn send(
        &self,
        body: &str,
        event: &str,
        token: Option<&str>,
        uuid: Option<&str>,
    ) -> (u16, String) {
        let mut headers = vec![
            ("X-Gitlab-Event", event),
            ("Content-Type", "application/json"),
        ];
        if let Some(token) = token {
            headers.push(("X-Gitlab-Token", token));
        }
        if let Some(uuid) = uuid {
            headers.push(("X-Gitlab-Event-UUID", uuid));
        }
        let (status, answer) = http_post(
            &self.service.url("/webhooks/gitlab"),
            &headers,
            body.as_bytes(),
        );
        (status, String::from_utf8_lossy(&answer).into_owned())
    }
}

fn merges_counted(service: &Service) -> String {
    let metrics = http_get(&service.url("/metrics")).unwrap();
    String::from_utf8_lossy(&metrics.1)
        .lines()
        .find(|l| l.starts_with("revertbot_pull_request_merge_seconds_count"))
        .unwrap_or("")
        .to_string()
}

#[test]
fn a_gitlab_webhook_with_its_token_records_close_reopen_and_the_merge_once() {
    let w = demo_service::world(GITHUB_TOKEN);
    let gitlab = FakeGitLab::start();
    gitlab.add_project(PROJECT, Some(&w.server().repo_path("gitops")));
    gitlab.allow_token(FORGE_TOKEN);
    let config = configure(&w, &gitlab);
    let service = Service::start(Path::new(env!("CARGO_BIN_EXE_revertbot")), &config, &[]);
    service.wait_ready();
    let (status, _) = service.post_alerts(WEBHOOK_TOKEN, &demo_service::demo_alert());
    assert_eq!(status, 200);
    let mut job = serde_json::Value::Null;
    let ended = eventually(Duration::from_secs(60), || {
        job = w.history(&config)["jobs"][0].clone();
        job["state"] == "done"
    });
    assert!(ended, "{job}\n{}", service.log());
    assert_eq!(job["forge"], "gitlab", "{job}");
    let url = job["pr_url"].as_str().unwrap().to_string();
    assert!(url.contains("/-/merge_requests/"), "{url}");
    let hook = Hook { service: &service };
    let recorded = || w.history(&config)["jobs"][0].clone();

    // No token, a wrong one, one that is only the right one's start: 401, nothing recorded.
    let merged = event(&url, "merge", "merged");
    for token in [None, Some("wrong"), Some("gitlab-hook")] {
        let (status, answer) = hook.send(&merged, "Merge Request Hook", token, Some("m-0"));
        assert_eq!(status, 401, "{token:?}: {answer}");
        assert!(
            answer.contains("gitlab.webhook_token_file"),
            "{token:?}: {answer}"
        );
    }
    assert_eq!(recorded()["pr_state"], "created");

    // Closed by a person, then reopened.
    let closed = event(&url, "close", "closed");
    let (status, answer) = hook.send(&closed, "Merge Request Hook", Some(HOOK_TOKEN), Some("c-1"));
    assert_eq!(
        (status, answer.as_str()),
        (200, r#"{"recorded":1,"state":"closed"}"#)
    );
    let job = recorded();
    assert_eq!(job["pr_state"], "closed", "{job}");
    assert_eq!(job["pr_closed_by"], "dana", "{job}");
    assert!(job["pr_closed_at"].is_i64(), "{job}");
    assert!(job["pr_merged_at"].is_null(), "{job}");
    let reopened = event(&url, "reopen", "opened");
    let (status, answer) = hook.send(
        &reopened,
        "Merge Request Hook",
        Some(HOOK_TOKEN),
        Some("r-1"),
    );
    assert_eq!(
        (status, answer.as_str()),
        (200, r#"{"recorded":1,"state":"open"}"#)
    );
    assert_eq!(recorded()["pr_state"], "open");

    // Merged: recorded; the same delivery again changes nothing; a merge counted once.
    let (status, answer) = hook.send(&merged, "Merge Request Hook", Some(HOOK_TOKEN), Some("m-1"));
    assert_eq!(
        (status, answer.as_str()),
        (200, r#"{"recorded":1,"state":"merged"}"#)
    );
    let (status, answer) = hook.send(&merged, "Merge Request Hook", Some(HOOK_TOKEN), Some("m-1"));
    assert_eq!((status, answer.as_str()), (200, r#"{"replayed":true}"#));
    let job = recorded();
    assert_eq!(job["pr_state"], "merged", "{job}");
    assert_eq!(job["pr_merged_at"], 1_796_551_380_000i64, "{job}");
    assert_eq!(job["pr_closed_by"], "dana", "{job}");
    // Without an id: named by its body, so that the same body again is a replay.
    let (status, answer) = hook.send(&merged, "Merge Request Hook", Some(HOOK_TOKEN), None);
    assert_eq!(
        (status, answer.as_str()),
        (200, r#"{"recorded":1,"state":"merged"}"#)
    );
    let (status, answer) = hook.send(&merged, "Merge Request Hook", Some(HOOK_TOKEN), None);
    assert_eq!((status, answer.as_str()), (200, r#"{"replayed":true}"#));
    assert_eq!(
        merges_counted(&service),
        "revertbot_pull_request_merge_seconds_count 1"
    );

    // A merge request revertbot did not open, an action kept nothing of, another event.
    let other = event(
        &format!(
            "{}/acme/platform/gitops/-/merge_requests/99",
            gitlab.base_url()
        ),
        "merge",
        "merged",
    );
    let (status, answer) = hook.send(&other, "Merge Request Hook", Some(HOOK_TOKEN), Some("o-1"));
    assert_eq!(
        (status, answer.as_str()),
        (200, r#"{"ignored":"not a pull request revertbot opened"}"#)
    );
    let updated = event(&url, "update", "merged");
    let (status, answer) = hook.send(
        &updated,
        "Merge Request Hook",
        Some(HOOK_TOKEN),
        Some("u-1"),
    );
    assert_eq!(
        (status, answer.as_str()),
        (200, r#"{"ignored":"merge_request update"}"#)
    );
    let (status, answer) = hook.send("{}", "Push Hook", Some(HOOK_TOKEN), Some("p-1"));
    assert_eq!(
        (status, answer.as_str()),
        (200, r#"{"ignored":"event Push Hook"}"#)
    );
    assert_eq!(recorded()["pr_state"], "merged");
    assert_eq!(
        merges_counted(&service),
        "revertbot_pull_request_merge_seconds_count 1"
    );
    service.terminate();
}

/// Without `gitlab.webhook_token_file` the route is off: 404, and it says which key turns it on.
#[test]
fn without_its_token_the_gitlab_webhook_is_off() {
    let w = demo_service::world(GITHUB_TOKEN);
    let config = w.config("");
    let service = w.serve(&config);
    service.wait_ready();
    let hook = Hook { service: &service };
    let (status, answer) = hook.send(
        &event("https://gitlab.com/x/-/merge_requests/1", "merge", "merged"),
        "Merge Request Hook",
        Some(HOOK_TOKEN),
        Some("m-1"),
    );
    assert_eq!(status, 404, "{answer}");
    assert!(answer.contains("gitlab.webhook_token_file"), "{answer}");
    service.terminate();
}
