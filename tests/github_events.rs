//! `POST /webhooks/github`: GitHub tells `serve` what became of a rollback pull request. Only a
//! delivery signed with `github.webhook_secret_file` is taken; a merged, closed or reopened pull
//! request is recorded on its job (history: `pr_state`, `pr_merged_at`, `pr_closed_by`); a
//! replayed delivery changes nothing and counts no second merge; other events and pull requests
//! revertbot did not open are answered 2xx and kept nothing of. Time to recovery, measured: the
//! alert's start to its rollback opened, and to its resolution once the rollback merged, each
//! once however often GitHub and Alertmanager send the same thing again; the resolved note says
//! how long after the merge.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use common::{demo_service, eventually, github_hook};
use revertbot_testkit::service::Service;
use revertbot_testkit::world::{World, OWNER};
use serde_json::json;

const TOKEN: &str = "ghp_revertbot_events_token";
const WEBHOOK_TOKEN: &str = "webhook-token";
const SECRET: &str = "github-hook-secret";

/// `w`'s configuration with GitHub's webhook secret set.
fn configure(w: &World) -> PathBuf {
    let config = w.config("");
    let secret = config.parent().unwrap().join("github-hook-secret");
    std::fs::write(&secret, SECRET).unwrap();
    let text = std::fs::read_to_string(&config).unwrap();
    let github = "github:\n  api_url: ";
    assert!(text.contains(github), "{text}");
    let text = text.replace(
        github,
        &format!(
            "github:\n  webhook_secret_file: {}\n  api_url: ",
            secret.display()
        ),
    );
    std::fs::write(&config, text).unwrap();
    config
}

/// The demo image's alert, `status` firing or resolved, with its times as Alertmanager sends
/// them.
fn alert_as(status: &str, starts: &str, ends: &str) -> Vec<u8> {
    demo_service::image_alert(
        "FrontendErrors",
        revertbot::demo::DEMO_IMAGE,
        "f00d",
        status,
        starts,
        ends,
    )
}

/// A delivery as GitHub sends it, to `service`.
fn deliver(
    service: &Service,
    event: &str,
    delivery: &str,
    body: &serde_json::Value,
    secret: Option<&str>,
) -> (u16, serde_json::Value) {
    github_hook::deliver(
        &service.url("/webhooks/github"),
        event,
        delivery,
        body,
        secret,
    )
}

fn pull_event(action: &str, url: &str, merged: bool) -> serde_json::Value {
    github_hook::pull_request(action, url, merged, "2026-12-06T10:04:00Z")
}

fn metrics(service: &Service) -> String {
    let (_, body) = common::http_get(&service.url("/metrics")).unwrap();
    String::from_utf8_lossy(&body).into_owned()
}

#[test]
fn a_signed_delivery_records_the_pull_requests_fate_once() {
    let w = demo_service::world(TOKEN);
    let config = configure(&w);
    let service = w.serve(&config);
    service.wait_ready();
    let (status, _) = service.post_alerts(WEBHOOK_TOKEN, &demo_service::demo_alert());
    assert_eq!(status, 200);
    let mut job = serde_json::Value::Null;
    assert!(
        eventually(Duration::from_secs(60), || {
            job = w.history(&config)["jobs"][0].clone();
            job["state"] == "done"
        }),
        "{job}\n{}",
        service.log()
    );
    let url = job["pr_url"].as_str().unwrap().to_string();
    assert_eq!(w.github().pulls(OWNER, "gitops").len(), 1);

    // Unsigned, or signed with another secret: 401, nothing recorded.
    let merged = pull_event("closed", &url, true);
    let (status, _) = deliver(&service, "pull_request", "d-1", &merged, None);
    assert_eq!(status, 401);
    let (status, answer) = deliver(&service, "pull_request", "d-1", &merged, Some("guess"));
    assert_eq!(status, 401, "{answer}");
    assert!(answer["error"]
        .as_str()
        .unwrap()
        .contains("github.webhook_secret_file"));
    assert_eq!(
        w.history(&config)["jobs"][0]["pr_merged_at"],
        serde_json::Value::Null
    );

    // GitHub's ping, and an event revertbot keeps nothing of.
    let (status, answer) = deliver(&service, "ping", "p-1", &json!({"zen": "hi"}), Some(SECRET));
    assert_eq!((status, answer), (200, json!({"pong": true})));
    let (status, answer) = deliver(&service, "push", "x-1", &json!({}), Some(SECRET));
    assert_eq!(
        (status, answer["ignored"].as_str()),
        (200, Some("event push"))
    );

    // Merged: recorded on the job, and counted once, however often it is delivered.
    let (status, answer) = deliver(&service, "pull_request", "d-1", &merged, Some(SECRET));
    assert_eq!(
        (status, &answer),
        (200, &json!({"recorded": 1, "state": "merged"}))
    );
    let (status, answer) = deliver(&service, "pull_request", "d-1", &merged, Some(SECRET));
    assert_eq!((status, answer), (200, json!({"replayed": true})));
    let job = w.history(&config)["jobs"][0].clone();
    assert_eq!(job["pr_state"], "merged", "{job}");
    assert_eq!(job["pr_merged_at"], 1_796_551_440_000_i64, "{job}");
    assert_eq!(job["pr_closed_by"], "dana", "{job}");
    let m = metrics(&service);
    assert!(
        m.contains("revertbot_pull_request_merge_seconds_count 1"),
        "{m}"
    );
    assert!(
        m.contains("revertbot_pull_request_merge_seconds_sum 240.0"),
        "{m}"
    );

    // A pull request revertbot did not open.
    let other = pull_event("closed", "https://github.com/acme/gitops/pull/999", false);
    let (status, answer) = deliver(&service, "pull_request", "d-2", &other, Some(SECRET));
    assert_eq!(
        (status, answer),
        (
            200,
            json!({"ignored": "not a pull request revertbot opened"})
        )
    );

    // Reopened, then closed unmerged by a person.
    let (status, _) = deliver(
        &service,
        "pull_request",
        "d-3",
        &pull_event("reopened", &url, false),
        Some(SECRET),
    );
    assert_eq!(status, 200);
    assert_eq!(w.history(&config)["jobs"][0]["pr_state"], "open");
    let (status, _) = deliver(
        &service,
        "pull_request",
        "d-4",
        &pull_event("closed", &url, false),
        Some(SECRET),
    );
    assert_eq!(status, 200);
    let job = w.history(&config)["jobs"][0].clone();
    assert_eq!(job["pr_state"], "closed", "{job}");
    assert_eq!(job["pr_merged_at"], serde_json::Value::Null, "{job}");
    assert!(job["pr_closed_at"].is_i64(), "{job}");
    assert!(metrics(&service).contains("revertbot_pull_request_merge_seconds_count 1"));

    // history's text says it too.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_revertbot"))
        .args(["history", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("pull request closed 2026-12-06T10:04:00Z by dana"),
        "{text}"
    );
}

#[test]
fn without_its_secret_the_github_webhook_is_off() {
    let w = demo_service::world(TOKEN);
    let config = w.config("");
    let service = w.serve(&config);
    service.wait_ready();
    let (status, answer) = deliver(&service, "ping", "p-1", &json!({}), Some(SECRET));
    assert_eq!(status, 404, "{answer}");
    assert!(answer["error"]
        .as_str()
        .unwrap()
        .contains("github.webhook_secret_file"));
}

/// The metric lines named `name`, without their buckets.
fn counts(m: &str, name: &str) -> Vec<String> {
    m.lines()
        .filter(|l| l.starts_with(&format!("{name}_count")))
        .map(str::to_string)
        .collect()
}

#[test]
fn recovery_is_timed_once_from_the_alerts_start_and_the_note_says_how_long_after_the_merge() {
    let w = demo_service::world(TOKEN);
    let config = configure(&w);
    let service = w.serve(&config);
    service.wait_ready();
    let started = Utc::now() - chrono::Duration::seconds(90);
    let starts = started.to_rfc3339_opts(SecondsFormat::Secs, true);
    let firing = alert_as("firing", &starts, "0001-01-01T00:00:00Z");
    let (status, _) = service.post_alerts(WEBHOOK_TOKEN, &firing);
    assert_eq!(status, 200);
    let mut job = serde_json::Value::Null;
    assert!(
        eventually(Duration::from_secs(60), || {
            job = w.history(&config)["jobs"][0].clone();
            job["state"] == "done"
        }),
        "{job}\n{}",
        service.log()
    );
    let url = job["pr_url"].as_str().unwrap().to_string();
    let number = job["pr_number"].as_u64().unwrap();
    // Opened 90 s and a little after the alert started: the first bucket is a minute.
    let m = metrics(&service);
    assert_eq!(
        counts(&m, "revertbot_rollback_pull_request_seconds"),
        [r#"revertbot_rollback_pull_request_seconds_count{forge="github"} 1"#],
        "{m}"
    );
    assert!(
        m.contains(r#"revertbot_rollback_pull_request_seconds_bucket{le="60.0",forge="github"} 0"#)
    );
    // Alertmanager sends the firing alert again: the pull request is found, not opened again.
    let (status, _) = service.post_alerts(WEBHOOK_TOKEN, &firing);
    assert_eq!(status, 200);
    assert!(
        eventually(Duration::from_secs(60), || {
            let jobs = w.history(&config)["jobs"].clone();
            jobs.as_array().unwrap().len() == 2 && jobs[0]["state"] == "done"
        }),
        "{}",
        service.log()
    );

    // history says each rollback's pull request is open, then merged, when and by whom.
    let history_text = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_revertbot"))
            .args(["history", "--config"])
            .arg(&config)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let text = history_text();
    assert_eq!(
        text.matches("\n         pull request open\n").count(),
        2,
        "{text}"
    );

    // Merged a minute after the alert started; GitHub delivers it twice.
    let merged_at = started + chrono::Duration::seconds(60);
    let mut merged = pull_event("closed", &url, true);
    merged["pull_request"]["merged_at"] = json!(merged_at.to_rfc3339());
    merged["pull_request"]["created_at"] = json!(starts);
    for _ in 0..2 {
        let (status, _) = deliver(&service, "pull_request", "m-1", &merged, Some(SECRET));
        assert_eq!(status, 200);
    }
    assert_eq!(
        counts(&metrics(&service), "revertbot_pull_request_merge_seconds"),
        ["revertbot_pull_request_merge_seconds_count 1"]
    );
    let text = history_text();
    let said = format!(
        "pull request merged {} by dana",
        merged_at.to_rfc3339_opts(SecondsFormat::Secs, true)
    );
    assert_eq!(text.matches(&said).count(), 2, "{text}");

    // The alert resolves 16 min after the merge; Alertmanager sends the resolution again.
    let ends =
        (merged_at + chrono::Duration::minutes(16)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let resolved = alert_as("resolved", &starts, &ends);
    for round in 1..=2 {
        let (status, _) = service.post_alerts(WEBHOOK_TOKEN, &resolved);
        assert_eq!(status, 200);
        assert!(
            eventually(Duration::from_secs(60), || {
                let jobs = w.history(&config)["jobs"].clone();
                let ended = jobs
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|j| j["kind"] == "resolved" && j["state"] == "done")
                    .count();
                ended == round
            }),
            "resolution {round}: {}",
            service.log()
        );
    }
    let notes: Vec<String> = w
        .github()
        .comments(OWNER, "gitops", number)
        .into_iter()
        .map(|c| c.body)
        .filter(|b| b.contains("resolved"))
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains("Recovered 16 min after the rollback merged"),
        "{}",
        notes[0]
    );
    assert!(!notes[0].contains("stays open"), "{}", notes[0]);
    // Start to end: 17 min, in the bucket up to 32 min, once.
    let m = metrics(&service);
    assert_eq!(
        counts(&m, "revertbot_recovery_seconds"),
        [r#"revertbot_recovery_seconds_count{forge="github"} 1"#],
        "{m}"
    );
    assert!(
        m.contains(r#"revertbot_recovery_seconds_sum{forge="github"} 1020.0"#),
        "{m}"
    );
    assert!(m.contains(r#"revertbot_recovery_seconds_bucket{le="1920.0",forge="github"} 1"#));
    assert!(m.contains(r#"revertbot_recovery_seconds_bucket{le="960.0",forge="github"} 0"#));
    assert_eq!(
        counts(&m, "revertbot_rollback_pull_request_seconds"),
        [r#"revertbot_rollback_pull_request_seconds_count{forge="github"} 1"#]
    );
}
