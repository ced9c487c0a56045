//! The loop closed, end to end: a real Alertmanager fires, the service opens the rollback with
//! the forge's auto-merge on (the rule asks it), GitHub merges it and tells the service through
//! its signed webhook, the alert resolves, and the resolved note says how long recovery took;
//! `/metrics` has each step's time, once.

mod common;

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use common::alertmanager::Alertmanager;
use common::{demo_service, eventually, github_hook, http_get};
use revertbot_testkit::world::OWNER;
use serde_json::json;

const TOKEN: &str = "ghp_revertbot_loop_token";
const WEBHOOK_TOKEN: &str = "webhook-token";
const SECRET: &str = "github-hook-secret";
const IMAGE: &str = "ghcr.io/acme/frontend:1.5.0";

fn rfc3339(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The alert as Prometheus posts it to Alertmanager.
fn prometheus_alert(starts: &str, ends: Option<&str>) -> serde_json::Value {
    let mut alert = json!({
        "labels": {
            "alertname": "FrontendHighErrorRate",
            "severity": "critical",
            "namespace": "prod",
            "image": IMAGE,
        },
        "annotations": { "summary": "frontend: 5xx ratio above 5% for 5 minutes" },
        "startsAt": starts,
        "generatorURL": "http://prometheus.acme.example:9090/graph?g0.expr=x",
    });
    if let Some(ends) = ends {
        alert["endsAt"] = json!(ends);
    }
    json!([alert])
}

#[test]
fn alert_to_auto_merged_rollback_to_merge_event_to_recovery() {
    let w = demo_service::world(TOKEN);
    w.github().set_allow_auto_merge(OWNER, "gitops", true);
    let config = w.config("");
    let secret = config.parent().unwrap().join("github-hook-secret");
    std::fs::write(&secret, SECRET).unwrap();
    let text = std::fs::read_to_string(&config).unwrap();
    let text = text
        .replace(
            "github:\n  api_url: ",
            &format!(
                "github:\n  webhook_secret_file: {}\n  api_url: ",
                secret.display()
            ),
        )
        .replace(
            "    workload: true\n",
            "    workload: true\n    auto_merge: squash\n",
        );
    std::fs::write(&config, text).unwrap();
    let svc = w.serve(&config);
    svc.wait_ready();
    let am = Alertmanager::start(&svc.url("/alerts"), WEBHOOK_TOKEN);

    // Fires: one pull request, set to merge itself.
    let starts = rfc3339(Utc::now() - chrono::Duration::seconds(120));
    am.post(&prometheus_alert(&starts, None));
    let mut job = serde_json::Value::Null;
    assert!(
        eventually(Duration::from_secs(60), || {
            job = w.history(&config)["jobs"][0].clone();
            job["state"] == "done"
        }),
        "{job}\n{}",
        svc.log()
    );
    assert_eq!(job["auto_merge"], "squash (rule bad-image)", "{job}");
    let pulls = w.github().pulls(OWNER, "gitops");
    assert_eq!(pulls.len(), 1);
    assert_eq!(pulls[0].auto_merge.as_deref(), Some("squash"));
    assert!(
        pulls[0].body.contains("**Merges itself.**"),
        "{}",
        pulls[0].body
    );

    // The required checks pass and GitHub merges it; its webhook says so.
    w.github()
        .close_pull(OWNER, "gitops", pulls[0].number, true);
    let merged_at = Utc::now();
    let url = job["pr_url"].as_str().unwrap().to_string();
    let event = github_hook::pull_request("closed", &url, true, &rfc3339(merged_at));
    let hook = svc.url("/webhooks/github");
    let (status, answer) =
        github_hook::deliver(&hook, "pull_request", "loop-1", &event, Some(SECRET));
    assert_eq!(
        (status, &answer["state"]),
        (200, &json!("merged")),
        "{answer}"
    );
    // GitHub delivers it again: nothing changes.
    let (status, answer) =
        github_hook::deliver(&hook, "pull_request", "loop-1", &event, Some(SECRET));
    assert_eq!((status, answer), (200, json!({"replayed": true})));

    // The alert resolves: the note on the pull request says how long recovery took.
    // Alertmanager sends a resolution once `endsAt` has passed.
    std::thread::sleep(Duration::from_secs(2));
    let ends = rfc3339(Utc::now());
    am.post(&prometheus_alert(&starts, Some(&ends)));
    let number = pulls[0].number;
    let mut note = String::new();
    assert!(
        eventually(Duration::from_secs(30), || {
            note = w
                .github()
                .comments(OWNER, "gitops", number)
                .into_iter()
                .map(|c| c.body)
                .find(|b| b.contains("resolved at"))
                .unwrap_or_default();
            !note.is_empty()
        }),
        "no resolved note:\n{}",
        svc.log()
    );

    assert!(
        note.contains("Recovered under 1 min after the rollback merged"),
        "{note}"
    );

    let job = w.history(&config)["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["kind"] == "rollback")
        .cloned()
        .unwrap();
    assert_eq!(job["pr_state"], "merged", "{job}");
    assert_eq!(job["pr_closed_by"], "dana", "{job}");
    let (_, metrics) = http_get(&svc.url("/metrics")).unwrap();
    let metrics = String::from_utf8_lossy(&metrics).into_owned();
    for once in [
        "revertbot_pull_request_merge_seconds_count 1",
        r#"revertbot_rollback_pull_request_seconds_count{forge="github"} 1"#,
        r#"revertbot_recovery_seconds_count{forge="github"} 1"#,
    ] {
        assert!(metrics.contains(once), "{once}:\n{metrics}");
    }
}
