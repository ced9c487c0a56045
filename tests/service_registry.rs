//! `revertbot serve` asking a real registry before it pushes a rollback: an image that is gone
//! ends the job `rollback-image-missing` with no branch and no pull request (and `explain` says
//! so beforehand); found, the pull request says what the registry answered; a registry that is
//! down opens the pull request with a warning at its top (`registry.on_error: open`), or stops
//! the rollback (`skip`). The checks are counted on `/metrics`.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use common::eventually;
use revertbot_testkit::registry::{Registry, RegistryAuth};
use revertbot_testkit::service::Service;
use revertbot_testkit::world::{World, OWNER};
use serde_json::json;

const TOKEN: &str = "ghp_registry_service_token";
const WEBHOOK_TOKEN: &str = "webhook-token";

/// The world's repository: a deployment of `HOST/acme/api` bumped from 1.4.0 to 1.5.0.
fn world(registry: &Registry) -> World {
    let host = registry.host();
    World::new(Path::new(env!("CARGO_BIN_EXE_revertbot")), TOKEN, |dir| {
        let mut w = revertbot::gitstore::writer::RepoWriter::init(dir).unwrap();
        w.write(
            "apps/api.yaml",
            &common::deployment(&format!("{host}/acme/api:1.4.0")),
        );
        w.commit("api at the good version").unwrap();
        w.write(
            "apps/api.yaml",
            &common::deployment(&format!("{host}/acme/api:1.5.0")),
        );
        w.commit("chore(deps): bump api to 1.5.0").unwrap();
    })
}

/// `w`'s configuration with the registry check on, as `registry` (YAML lines) says.
fn configure(w: &World, registry: &str) -> PathBuf {
    let config = w.config("");
    let text = std::fs::read_to_string(&config).unwrap();
    let off = "registry:\n  check: false\n";
    assert!(text.contains(off), "{text}");
    std::fs::write(&config, text.replace(off, registry)).unwrap();
    config
}

fn alert(host: &str) -> Vec<u8> {
    let starts =
        (Utc::now() - chrono::Duration::seconds(60)).to_rfc3339_opts(SecondsFormat::Secs, true);
    json!({
        "receiver": "revertbot",
        "status": "firing",
        "alerts": [{
            "status": "firing",
            "labels": {"alertname": "ApiErrors", "severity": "critical", "image": format!("{host}/acme/api:1.5.0")},
            "annotations": {},
            "startsAt": starts,
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example:9090/graph",
            "fingerprint": "0123456789abcdef"
        }],
        "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093", "version": "4",
        "groupKey": "{}:{}", "truncatedAlerts": 0
    })
    .to_string()
    .into_bytes()
}

/// Posts the alert and waits for its job to end (done, or failed for good); returns the job.
fn run(w: &World, service: &Service, config: &Path, host: &str) -> serde_json::Value {
    let (status, body) = service.post_alerts(WEBHOOK_TOKEN, &alert(host));
    assert_eq!(status, 200, "{body}");
    let mut job = serde_json::Value::Null;
    let ended = eventually(Duration::from_secs(60), || {
        job = w.history(config)["jobs"][0].clone();
        job["state"] == "done" || job["state"] == "failed"
    });
    assert!(ended, "{job}\n{}", service.log());
    job
}

fn metrics(service: &Service) -> String {
    let (_, body) = common::http_get(&service.url("/metrics")).unwrap();
    String::from_utf8_lossy(&body).into_owned()
}

#[test]
fn a_gone_image_ends_the_job_rollback_image_missing_with_nothing_pushed() {
    let registry = Registry::start(RegistryAuth::Anonymous);
    registry.push("acme/api", "1.4.0");
    registry.push("acme/api", "1.5.0");
    registry.delete_tag("acme/api", "1.4.0");
    let host = registry.host();
    let w = world(&registry);
    let config = configure(&w, &format!("registry:\n  plain_http: [\"{host}\"]\n"));

    // explain says so before anything happens.
    let alert_file = w.dir().join("alert.json");
    std::fs::write(&alert_file, alert(&host)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_revertbot"))
        .args(["explain", "--output", "json", "--config"])
        .arg(&config)
        .arg("--alert")
        .arg(&alert_file)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let explained: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let e = &explained["alerts"][0];
    assert_eq!(e["decision"], "would fail", "{e}");
    assert!(
        e["reason"].as_str().unwrap().contains("no longer has"),
        "{e}"
    );
    assert_eq!(e["registry"][0]["exists"], false, "{e}");

    let service = w.serve(&config);
    service.wait_ready();
    let job = run(&w, &service, &config, &host);
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(job["error_kind"], "rollback-image-missing", "{job}");
    let error = job["error"].as_str().unwrap();
    assert!(error.contains(&format!("{host}/acme/api:1.4.0")), "{error}");
    assert!(w.rollback_branches().is_empty(), "no branch pushed");
    assert!(
        w.github().pulls(OWNER, "gitops").is_empty(),
        "no pull request"
    );
    let m = metrics(&service);
    assert!(
        m.contains(r#"revertbot_registry_checks_total{result="missing"} 1"#),
        "{m}"
    );
    assert!(
        m.contains(r#"revertbot_jobs_total{kind="rollback",outcome="rollback-image-missing",forge="none"} 1"#),
        "{m}"
    );
    assert!(service.log().contains("registry"), "a log line");
}

#[test]
fn found_the_pull_request_says_what_the_registry_answered() {
    let registry = Registry::start(RegistryAuth::Anonymous);
    let good = registry.push("acme/api", "1.4.0");
    registry.push("acme/api", "1.5.0");
    let host = registry.host();
    let w = world(&registry);
    let config = configure(&w, &format!("registry:\n  plain_http: [\"{host}\"]\n"));
    let service = w.serve(&config);
    service.wait_ready();
    let job = run(&w, &service, &config, &host);
    assert_eq!(job["outcome"], "created", "{job}");
    let said = job["registry"].as_str().unwrap_or_default();
    assert!(
        said.starts_with(&format!(
            "{host}/acme/api:1.4.0 is {good} in {host}, checked at "
        )),
        "the job says it: {job}"
    );
    let pulls = w.github().pulls(OWNER, "gitops");
    assert_eq!(pulls.len(), 1);
    let body = &pulls[0].body;
    assert!(
        body.contains(&format!(
            "- Registry: `1.4.0` is `{good}` in `{host}`, checked at "
        )),
        "{body}"
    );
    assert!(!body.contains("Warning"), "{body}");
    assert!(metrics(&service).contains(r#"revertbot_registry_checks_total{result="found"} 1"#));
}

#[test]
fn a_registry_that_is_down_opens_with_a_warning_or_stops_as_on_error_says() {
    let registry = Registry::start(RegistryAuth::Anonymous);
    registry.push("acme/api", "1.4.0");
    registry.push("acme/api", "1.5.0");
    let host = registry.host();
    registry.stop();

    // on_error: skip — the rollback waits for an answer: failed, nothing pushed.
    let w = world(&registry);
    let config = configure(
        &w,
        &format!("registry:\n  plain_http: [\"{host}\"]\n  on_error: skip\n  timeout: 2s\n"),
    );
    let service = w.serve(&config);
    service.wait_ready();
    let (status, _) = service.post_alerts(WEBHOOK_TOKEN, &alert(&host));
    assert_eq!(status, 200);
    assert!(
        eventually(Duration::from_secs(30), || metrics(&service)
            .contains(r#"revertbot_registry_checks_total{result="error"}"#)),
        "{}",
        service.log()
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(w.rollback_branches().is_empty(), "stopped before the push");
    assert!(w.github().pulls(OWNER, "gitops").is_empty());
    assert!(
        service.log().contains("registry.on_error: skip"),
        "{}",
        service.log()
    );
    drop(service);

    // on_error: open (the default) — the pull request, a warning at its top.
    let w = world(&registry);
    let config = configure(&w, &format!("registry:\n  plain_http: [\"{host}\"]\n"));
    let service = w.serve(&config);
    service.wait_ready();
    let job = run(&w, &service, &config, &host);
    assert_eq!(job["outcome"], "created", "{job}");
    let body = w.github().pulls(OWNER, "gitops")[0].body.clone();
    let warning = body
        .lines()
        .position(|l| l.starts_with("> **Warning:** not checked"))
        .unwrap_or_else(|| panic!("{body}"));
    let what = body.lines().position(|l| l == "### What").unwrap();
    assert!(warning < what, "at its top: {body}");
}
