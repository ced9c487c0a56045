//! `revertbot serve` end to end, as it runs in production: a real Alertmanager sends its
//! webhook to the service process; the GitOps repository is on the real git server over
//! smart HTTP; pull requests go to the stateful fake GitHub. Each test asserts the final
//! state of the git server and of GitHub.

mod common;

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use common::alertmanager::Alertmanager;
use common::fake_github::FakeGitHub;
use common::service::{self, Service};
use common::{eventually, http, http_get};
use revertbot_testkit::world::{World, OWNER};
use serde_json::json;

const TOKEN: &str = "ghp_revertbot_service_token";
const WEBHOOK_TOKEN: &str = "webhook-token";
const IMAGE: &str = "ghcr.io/acme/frontend:1.5.0";

/// The demo repository on the git server, the fake GitHub, and `serve` on them.
fn world() -> World {
    World::new(
        std::path::Path::new(env!("CARGO_BIN_EXE_revertbot")),
        TOKEN,
        |dir| {
            revertbot::demo::build(dir).unwrap();
        },
    )
}

fn rfc3339(ago: Duration) -> String {
    (Utc::now() - chrono::Duration::from_std(ago).unwrap())
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The alert as Prometheus posts it to Alertmanager.
fn prometheus_alert(ends: Option<String>) -> serde_json::Value {
    let mut alert = json!({
        "labels": {
            "alertname": "FrontendHighErrorRate",
            "severity": "critical",
            "namespace": "prod",
            "deployment": "frontend",
            "image": IMAGE,
        },
        "annotations": { "summary": "frontend: 5xx ratio above 5% for 5 minutes" },
        "startsAt": rfc3339(Duration::from_secs(60)),
        "generatorURL": "http://prometheus.acme.example:9090/graph?g0.expr=x",
    });
    if let Some(ends) = ends {
        alert["endsAt"] = json!(ends);
    }
    json!([alert])
}

/// A webhook body as Alertmanager sends it, for the same alert.
fn webhook_body(labels: serde_json::Value) -> Vec<u8> {
    json!({
        "receiver": "revertbot",
        "status": "firing",
        "alerts": [{
            "status": "firing",
            "labels": labels,
            "annotations": { "summary": "frontend: 5xx ratio above 5% for 5 minutes" },
            "startsAt": rfc3339(Duration::from_secs(60)),
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.acme.example:9090/graph?g0.expr=x",
            "fingerprint": "b1d2f3c4a5e6f708"
        }],
        "groupLabels": { "alertname": "FrontendHighErrorRate" },
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.acme.example:9093",
        "version": "4",
        "groupKey": "{}:{alertname=\"FrontendHighErrorRate\"}",
        "truncatedAlerts": 0
    })
    .to_string()
    .into_bytes()
}

fn demo_labels() -> serde_json::Value {
    json!({
        "alertname": "FrontendHighErrorRate",
        "severity": "critical",
        "namespace": "prod",
        "image": IMAGE,
    })
}

fn history(config: &std::path::Path) -> serde_json::Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_revertbot"))
        .args(["history", "--output", "json", "--config"])
        .arg(config)
        // Reading the history needs no credentials.
        .env_remove("GITHUB_TOKEN")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `revertbot history` as a person reads it.
fn history_text(config: &std::path::Path) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_revertbot"))
        .args(["history", "--config"])
        .arg(config)
        .env_remove("GITHUB_TOKEN")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn an_alert_through_alertmanager_becomes_one_pull_request_then_comments() {
    let w = world();
    let config = w.config("");
    let svc = w.serve(&config);
    svc.wait_ready();
    let am = Alertmanager::start(&svc.url("/alerts"), WEBHOOK_TOKEN);

    am.post(&prometheus_alert(None));
    // Labels, reviewers and assignees are calls of their own after the create: wait for the
    // pull request as the job leaves it, labelled.
    assert!(
        eventually(Duration::from_secs(40), || {
            let pulls = w.github().pulls(OWNER, "gitops");
            pulls.len() == 1 && !pulls[0].labels.is_empty()
        }),
        "no labelled pull request: {:?}\n{}",
        w.github().pulls(OWNER, "gitops"),
        svc.log()
    );
    let pull = w.github().pulls(OWNER, "gitops").remove(0);
    assert!(
        pull.head.starts_with("revertbot/ghcr.io-acme-frontend-"),
        "{}",
        pull.head
    );
    assert_eq!(pull.base, "main");
    assert_eq!(
        pull.title,
        "Revert ghcr.io/acme/frontend to 1.4.0 (FrontendHighErrorRate)"
    );
    assert_eq!(pull.labels, ["rollback"]);
    assert!(
        pull.body.contains("Alert **FrontendHighErrorRate**"),
        "{}",
        pull.body
    );
    assert!(pull.body.contains("Silence this alert"), "{}", pull.body);
    // The branch on the git server rolls the prod tag back, and only it.
    assert_eq!(w.rollback_branches(), std::slice::from_ref(&pull.head));
    let served = git2::Repository::open_bare(w.server().repo_path("gitops")).unwrap();
    let prod =
        common::file_at(&served, &pull.head, "apps/frontend/prod/kustomization.yaml").unwrap();
    assert!(
        prod.contains("newTag: 1.4.0 # {\"$imagepolicy\": \"flux-system:frontend:tag\"}"),
        "{prod}"
    );
    assert!(
        prod.contains("newTag: 2.1.0"),
        "the worker bump stays: {prod}"
    );
    // The same commit holds the bad version, so Flux does not bump straight back.
    let automation =
        common::file_at(&served, &pull.head, "flux-system/image-automation.yaml").unwrap();
    assert!(
        automation.contains(
            "  interval: 5m\n  exclusionList: # revertbot: a hold; ^.*\\.sig$ is Flux's default, kept\n    - '^.*\\.sig$'\n    - '^1\\.5\\.0$'\n---\n"
        ),
        "{automation}"
    );
    assert_eq!(
        automation.matches("exclusionList").count(),
        1,
        "only the frontend's ImageRepository holds it"
    );
    assert!(pull.body.contains("### Hold"), "{}", pull.body);
    assert!(
        pull.body
            .contains("revertbot unhold --repo REPO --image ghcr.io/acme/frontend --tag 1.5.0"),
        "{}",
        pull.body
    );

    // The same alert again, as Alertmanager re-sends it: a comment, no second pull request.
    let (status, _) = svc.post_alerts(WEBHOOK_TOKEN, &webhook_body(demo_labels()));
    assert_eq!(status, 200);
    assert!(
        eventually(Duration::from_secs(30), || {
            w.github()
                .comments(OWNER, "gitops", pull.number)
                .iter()
                .any(|c| c.body.contains("fired again"))
        }),
        "no occurrence comment:\n{}",
        svc.log()
    );

    // Resolved: Alertmanager sends it, and the pull request gets a note; nothing is reverted.
    am.post(&prometheus_alert(Some(rfc3339(Duration::from_secs(1)))));
    assert!(
        eventually(Duration::from_secs(30), || {
            w.github()
                .comments(OWNER, "gitops", pull.number)
                .iter()
                .any(|c| c.body.contains("resolved at"))
        }),
        "no resolved note:\n{}",
        svc.log()
    );
    assert_eq!(w.github().pulls(OWNER, "gitops").len(), 1);
    assert_eq!(w.rollback_branches().len(), 1);
    let posts = w
        .github()
        .requests()
        .iter()
        .filter(|(m, p)| m == "POST" && p.ends_with("/pulls"))
        .count();
    assert_eq!(posts, 1, "one create call in all");

    let metrics = http_get(&svc.url("/metrics")).unwrap();
    let metrics = String::from_utf8_lossy(&metrics.1).into_owned();
    assert!(
        metrics.contains(
            r#"revertbot_jobs_total{kind="rollback",outcome="created",forge="github"} 1"#
        ),
        "{metrics}"
    );
    // A resolution's note opens no pull request of its own.
    assert!(
        metrics.contains(
            r#"revertbot_jobs_total{kind="resolved",outcome="commented",forge="github"} 1"#
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"revertbot_alert_to_pull_request_seconds_count{forge="github"} 2"#),
        "{metrics}"
    );

    let h = history(&config);
    let created = h["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["outcome"] == "created")
        .expect("a created job in the history");
    assert_eq!(created["pr_number"], pull.number);
    assert_eq!(created["branch"], pull.head);
    assert_eq!(created["forge"], "github");
    assert!(svc.terminate().success());
}

#[test]
fn a_crash_after_the_200_loses_nothing_and_opens_the_pull_request_once() {
    let w = world();
    // Each push takes 3 s at the server: time to kill the service in the middle of one.
    w.server().slow_pushes("gitops", 3);
    let config = w.config("");
    let first = w.serve(&config);
    first.wait_ready();
    let (status, body) = first.post_alerts(WEBHOOK_TOKEN, &webhook_body(demo_labels()));
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"alerts":["queued"],"delivery":1}"#)
    );
    assert!(
        eventually(Duration::from_secs(20), || first
            .log()
            .contains("job started")),
        "{}",
        first.log()
    );
    std::thread::sleep(Duration::from_millis(1_500));
    first.kill();
    assert!(
        w.github().pulls(OWNER, "gitops").is_empty(),
        "killed before the pull request"
    );

    let second = w.serve(&config);
    assert!(
        eventually(Duration::from_secs(40), || w
            .github()
            .pulls(OWNER, "gitops")
            .len()
            == 1),
        "the job was not resumed:\n{}",
        second.log()
    );
    assert!(
        second.log().contains("which is gone; queued again"),
        "{}",
        second.log()
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(w.github().pulls(OWNER, "gitops").len(), 1);
    assert_eq!(w.rollback_branches().len(), 1);
}

#[test]
fn two_processes_on_one_data_dir_open_one_pull_request() {
    let w = world();
    let config = w.config("");
    let a = w.serve(&config);
    let b = w.serve(&config);
    a.wait_ready();
    b.wait_ready();
    std::thread::scope(|s| {
        for svc in [&a, &b] {
            s.spawn(move || {
                for _ in 0..3 {
                    let (status, body) =
                        svc.post_alerts(WEBHOOK_TOKEN, &webhook_body(demo_labels()));
                    assert_eq!(status, 200, "{body}");
                }
            });
        }
    });
    assert!(
        eventually(Duration::from_secs(60), || {
            let h = history(&config);
            let jobs = h["jobs"].as_array().unwrap().clone();
            !jobs.is_empty() && jobs.iter().all(|j| j["state"] == "done")
        }),
        "jobs did not finish:\n{}\n{}",
        a.log(),
        b.log()
    );
    assert_eq!(w.github().pulls(OWNER, "gitops").len(), 1);
    assert_eq!(w.rollback_branches().len(), 1);
    let h = history(&config);
    assert_eq!(
        h["deliveries"].as_array().unwrap().len(),
        6,
        "every delivery is recorded"
    );
}

#[test]
fn bad_input_gets_the_right_status_and_changes_nothing() {
    let w = world();
    let config = w.config("");
    let svc = w.serve(&config);
    svc.wait_ready();
    let post = |headers: &[(&str, &str)], body: &[u8]| {
        let (status, body) =
            http("POST", &svc.url("/alerts"), headers, body).expect("the service answers");
        (status, String::from_utf8_lossy(&body).into_owned())
    };
    let auth = format!("Bearer {WEBHOOK_TOKEN}");
    let authorized = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];

    assert_eq!(post(&[], &webhook_body(demo_labels())).0, 401);
    let (status, body) = post(
        &[("Authorization", "Bearer wrong")],
        &webhook_body(demo_labels()),
    );
    assert_eq!((status, body.as_str()), (401, ""), "no detail");
    assert_eq!(post(&[("Authorization", "Basic d2Vi")], b"{}").0, 401);

    let (status, body) = post(&authorized, b"{not json");
    assert_eq!(status, 400, "{body}");
    let (status, body) = post(
        &authorized,
        br#"{"version":"3","status":"firing","alerts":[]}"#,
    );
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["field"],
        "version"
    );
    let (status, body) = post(&authorized, br#"{"version":"4"}"#);
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["field"],
        "status"
    );
    // An alert that does not say when it started would pass the age and causality guards.
    for starts_at in [None, Some(""), Some("yesterday"), Some("0")] {
        let mut alert: serde_json::Value =
            serde_json::from_slice(&webhook_body(demo_labels())).unwrap();
        match starts_at {
            None => {
                alert["alerts"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("startsAt");
            }
            Some(t) => alert["alerts"][0]["startsAt"] = json!(t),
        }
        let (status, body) = post(&authorized, alert.to_string().as_bytes());
        assert_eq!(status, 400, "{starts_at:?}: {body}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&body).unwrap()["field"],
            "alerts[0].startsAt"
        );
    }
    let big = vec![b' '; 10 << 20];
    assert_eq!(post(&authorized, &big).0, 413);

    // Hostile labels: recorded and answered 200, never acted on.
    let hostile = webhook_body(json!({
        "alertname": "<script>alert(1)</script>\n# Heading",
        "severity": "critical",
        "image": "../../../etc/passwd",
        "summary": "**bold** [link](http://evil.example) @everyone",
    }));
    let (status, body) = post(&authorized, &hostile);
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"alerts":["skipped"],"delivery":1}"#)
    );
    let unmatched = webhook_body(json!({ "alertname": "DiskFull", "severity": "warning" }));
    let (status, body) = post(&authorized, &unmatched);
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"alerts":["unmatched"],"delivery":2}"#)
    );

    assert_eq!(
        http_get(&svc.url("/healthz")).unwrap().0,
        200,
        "still serving"
    );
    std::thread::sleep(Duration::from_secs(1));
    assert!(w.rollback_branches().is_empty());
    assert!(w.github().pulls(OWNER, "gitops").is_empty());
    let h = history(&config);
    assert_eq!(
        h["deliveries"].as_array().unwrap().len(),
        2,
        "only valid deliveries are recorded"
    );
    assert!(h["jobs"].as_array().unwrap().is_empty());
    let metrics = String::from_utf8_lossy(&http_get(&svc.url("/metrics")).unwrap().1).into_owned();
    assert!(
        metrics.contains("revertbot_deliveries_total{result=\"unauthorized\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("revertbot_deliveries_total{result=\"too_large\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("revertbot_deliveries_total{result=\"invalid\"} 7"),
        "{metrics}"
    );
}

#[test]
fn shutting_down_answers_503_finishes_the_job_in_flight_and_stops_cleanly() {
    let w = world();
    w.server().slow_pushes("gitops", 2);
    let config = w.config("");
    let mut svc = w.serve(&config);
    svc.wait_ready();
    let (status, _) = svc.post_alerts(WEBHOOK_TOKEN, &webhook_body(demo_labels()));
    assert_eq!(status, 200);
    assert!(eventually(Duration::from_secs(20), || svc
        .log()
        .contains("job started")));
    svc.signal_term();
    assert!(eventually(Duration::from_secs(5), || svc
        .log()
        .contains("shutting down")));
    let (status, body) = svc.post_alerts(WEBHOOK_TOKEN, &webhook_body(demo_labels()));
    assert_eq!(status, 503, "{body}");
    let exit = svc.wait();
    assert!(exit.success(), "{exit}");
    // The job in flight finished within shutdown_timeout (5 s) before the process stopped.
    assert_eq!(w.github().pulls(OWNER, "gitops").len(), 1);
    let h = history(&config);
    assert_eq!(h["jobs"][0]["state"], "done");
    assert_eq!(
        h["deliveries"].as_array().unwrap().len(),
        1,
        "the 503 recorded nothing"
    );
}

#[test]
fn tls_serves_the_webhook_over_https_only() {
    let w = world();
    let dir = w.dir();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .args(["-addext", "subjectAltName=IP:127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = w.config("  dry_run: true");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "tls:\n  cert_file: {}\n  key_file: {}\n",
        cert.display(),
        key.display()
    ));
    std::fs::write(&config, text).unwrap();
    let svc = w.serve(&config);
    assert!(svc.log().contains("listening on https://"), "{}", svc.log());

    let curl = |args: &[&str]| {
        let out = std::process::Command::new("curl")
            .args(["-sS", "--max-time", "10", "--cacert"])
            .arg(&cert)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let base = format!("https://127.0.0.1:{}", svc.port);
    assert_eq!(
        curl(&[&format!("{base}/healthz")]),
        (true, "ok\n".to_string())
    );
    let body = String::from_utf8(webhook_body(demo_labels())).unwrap();
    let (ok, answer) = curl(&[
        "-H",
        &format!("Authorization: Bearer {WEBHOOK_TOKEN}"),
        "-H",
        "Content-Type: application/json",
        "--data",
        &body,
        &format!("{base}/alerts"),
    ]);
    assert!(ok && answer.contains("\"queued\""), "{answer}");
    // Plain HTTP on the TLS port gets no answer a webhook could take for a 200.
    let plain = http_get(&svc.url("/healthz"));
    assert!(
        plain.as_ref().is_none_or(|(status, _)| *status != 200),
        "{plain:?}"
    );
}

#[test]
fn an_alert_naming_a_pod_rolls_back_what_kustomize_deploys_for_it() {
    // prod overlays the base and Flux adds the bad tag to the overlay: no value changed in
    // place, yet what runs changed.
    let mut bump = None;
    let world = World::new(
        std::path::Path::new(env!("CARGO_BIN_EXE_revertbot")),
        TOKEN,
        |dir| {
            let mut w = revertbot::gitstore::RepoWriter::init(dir).unwrap();
            w.write(
        "apps/web/base/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: ghcr.io/acme/web:1.0.0\n",
    )
    .write("apps/web/base/kustomization.yaml", "resources:\n  - deployment.yaml\n")
    .write(
        "apps/web/prod/kustomization.yaml",
        "namespace: prod\nnamePrefix: prod-\nresources:\n  - ../base\n",
    );
            w.commit("web").unwrap();
            w.author("fluxcdbot", "flux@example.com").write(
        "apps/web/prod/kustomization.yaml",
        "namespace: prod\nnamePrefix: prod-\nresources:\n  - ../base\nimages:\n  - name: ghcr.io/acme/web\n    newTag: 1.1.0\n",
    );
            bump = Some(w.commit("Update from image update automation").unwrap());
        },
    );
    let bump = bump.unwrap();
    let (server, github) = (world.server(), world.github());
    let config = world.config("");
    let svc = world.serve(&config);
    svc.wait_ready();
    let labels = json!({
        "alertname": "WebHighErrorRate",
        "severity": "critical",
        "namespace": "prod",
        "pod": "prod-web-7d4b9c8f6d-x2k9p",
        "container": "web",
    });
    let (status, body) = svc.post_alerts(WEBHOOK_TOKEN, &webhook_body(labels));
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"alerts":["queued"],"delivery":1}"#)
    );
    assert!(
        eventually(Duration::from_secs(30), || github
            .pulls(OWNER, "gitops")
            .len()
            == 1),
        "no pull request:\n{}",
        svc.log()
    );
    let pull = github.pulls(OWNER, "gitops").remove(0);
    assert_eq!(
        pull.head,
        format!("revertbot/ghcr.io-acme-web-{}", &bump.to_string()[..12])
    );
    assert_eq!(
        pull.title,
        "Revert ghcr.io/acme/web to 1.0.0 (WebHighErrorRate)"
    );
    assert!(
        pull.body.contains("- Workload: `prod/Deployment/prod-web (web)`, deployed with `ghcr.io/acme/web:1.1.0` as kustomize renders it; the rollback deploys `ghcr.io/acme/web:1.0.0` again"),
        "{}",
        pull.body
    );
    // The rollback takes the override out again: prod runs the base's 1.0.0.
    let served = git2::Repository::open_bare(server.repo_path("gitops")).unwrap();
    let prod = common::file_at(&served, &pull.head, "apps/web/prod/kustomization.yaml").unwrap();
    assert_eq!(
        prod,
        "namespace: prod\nnamePrefix: prod-\nresources:\n  - ../base\n"
    );
    let h = history(&config);
    assert_eq!(
        h["jobs"][0]["target"],
        "workload:prod/Deployment/prod-web:web"
    );
    assert_eq!(h["jobs"][0]["outcome"], "created");
}

/// A rollback's pull request was opened on GitHub; then the service moved to `forge: local`.
/// The alert resolving is not said on local pull request #1 (another one, or none): the job
/// ends `other-forge`. The alert firing again, its pull request is kept by the local forge:
/// each rollback's forge is in the history and on the metrics.
#[test]
fn a_pull_request_on_github_is_not_taken_for_a_local_one_when_the_forge_changes() {
    let w = world();
    let config = w.config("");
    let on_github = w.serve(&config);
    on_github.wait_ready();
    let (status, _) = on_github.post_alerts(WEBHOOK_TOKEN, &webhook_body(demo_labels()));
    assert_eq!(status, 200);
    let done = |config: &std::path::Path, n: usize| {
        history(config)["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|j| j["state"] == "done")
            .count()
            == n
    };
    assert!(
        eventually(Duration::from_secs(40), || done(&config, 1)),
        "{}",
        on_github.log()
    );
    assert_eq!(w.github().pulls(OWNER, "gitops").len(), 1);
    let (_, metrics) = http_get(&on_github.url("/metrics")).unwrap();
    let metrics = String::from_utf8_lossy(&metrics);
    assert!(
        metrics.contains(
            r#"revertbot_jobs_total{kind="rollback",outcome="created",forge="github"} 1"#
        ),
        "{metrics}"
    );
    on_github.kill();

    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("forge: local\n{text}")).unwrap();
    let local = w.serve(&config);
    local.wait_ready();
    let mut resolved: serde_json::Value =
        serde_json::from_slice(&webhook_body(demo_labels())).unwrap();
    resolved["status"] = json!("resolved");
    resolved["alerts"][0]["status"] = json!("resolved");
    resolved["alerts"][0]["endsAt"] = json!(rfc3339(Duration::ZERO));
    let (status, _) = local.post_alerts(WEBHOOK_TOKEN, resolved.to_string().as_bytes());
    assert_eq!(status, 200);
    assert!(
        eventually(Duration::from_secs(40), || done(&config, 2)),
        "{}",
        local.log()
    );
    let jobs = history(&config)["jobs"].clone();
    let note = jobs
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["kind"] == "resolved")
        .unwrap_or_else(|| panic!("{jobs}"));
    assert_eq!(note["outcome"], "other-forge", "{jobs}");
    assert!(w.github().comments(OWNER, "gitops", 1).is_empty());
    use revertbot::journal::Journal;
    let journal = revertbot::journal::SqliteJournal::open(&w.data_dir()).unwrap();
    assert!(
        journal.local_pull(1).unwrap().is_none(),
        "no local pull request yet"
    );

    // It fires again: this rollback's pull request is the local forge's.
    let (status, _) = local.post_alerts(WEBHOOK_TOKEN, &webhook_body(demo_labels()));
    assert_eq!(status, 200);
    assert!(
        eventually(Duration::from_secs(40), || done(&config, 3)),
        "{}",
        local.log()
    );
    assert!(journal.local_pull(1).unwrap().is_some());
    let jobs = history(&config)["jobs"].clone();
    let rollbacks: Vec<(&str, &str)> = jobs
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["kind"] == "rollback")
        .map(|j| (j["pr_url"].as_str().unwrap(), j["forge"].as_str().unwrap()))
        .collect();
    assert_eq!(rollbacks.len(), 2, "{jobs}");
    assert_eq!(rollbacks[0], ("/pulls/1", "local"), "newest first: {jobs}");
    assert_eq!(rollbacks[1].1, "github", "{jobs}");
    assert_eq!(note["forge"], serde_json::Value::Null, "{jobs}");
    let text = history_text(&config);
    assert!(
        text.lines()
            .any(|l| l.contains("rollback") && l.contains("/pulls/1 (local)")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains(&format!("{} (github)", rollbacks[1].0))),
        "{text}"
    );
    let outcome = jobs[0]["outcome"].as_str().unwrap();
    let (_, metrics) = http_get(&local.url("/metrics")).unwrap();
    let metrics = String::from_utf8_lossy(&metrics);
    for line in [
        format!(r#"revertbot_jobs_total{{kind="rollback",outcome="{outcome}",forge="local"}} 1"#),
        r#"revertbot_jobs_total{kind="resolved",outcome="other-forge",forge="none"} 1"#.into(),
        r#"revertbot_alert_to_pull_request_seconds_count{forge="local"} 1"#.into(),
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
}

/// The job of the first (and only) rollback, once it has ended.
fn ended_job(w: &World, config: &std::path::Path, service: &Service) -> serde_json::Value {
    let mut job = serde_json::Value::Null;
    let ended = eventually(Duration::from_secs(40), || {
        job = history(config)["jobs"][0].clone();
        job["state"] == "failed" || job["state"] == "done"
    });
    assert!(ended, "{job}\n{}", service.log());
    assert!(w.github().pulls(OWNER, "gitops").is_empty());
    job
}

/// A push the server's pre-receive hook refuses is the repository's policy saying no: the job
/// ends `declined` (not `internal`, which would count it as revertbot's fault), once, with the
/// server's words; it is not tried again.
#[test]
fn a_push_the_servers_hook_declines_ends_declined_and_is_not_tried_again() {
    let w = world();
    w.server()
        .reject_pushes("gitops", "protected: rollbacks need a change ticket");
    let config = w.config("");
    let service = w.serve(&config);
    service.wait_ready();
    let (status, _) = service.post_alerts(WEBHOOK_TOKEN, &webhook_body(demo_labels()));
    assert_eq!(status, 200);
    let job = ended_job(&w, &config, &service);
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(job["outcome"], "declined", "{job}");
    assert_eq!(job["error_kind"], "declined", "{job}");
    assert_eq!(job["attempts"], 1, "{job}");
    let error = job["error"].as_str().unwrap();
    assert!(error.contains("pre-receive hook declined"), "{error}");
    assert!(
        error.contains("protected: rollbacks need a change ticket"),
        "{error}"
    );
    assert!(w.rollback_branches().is_empty());
    let (_, metrics) = http_get(&service.url("/metrics")).unwrap();
    let metrics = String::from_utf8_lossy(&metrics);
    assert!(
        metrics
            .contains(r#"revertbot_jobs_total{kind="rollback",outcome="declined",forge="none"} 1"#),
        "{metrics}"
    );
}

/// A rollback the rate guard holds back ends `rate-limited`: nothing is wrong with the
/// rollback itself (`cannot_revert` said there was). The service warns at start-up about the
/// webhook's tokens file, which others may read.
#[test]
fn a_rate_guard_hit_ends_rate_limited() {
    use std::os::unix::fs::PermissionsExt;
    let w = world();
    let config = w.config("  max_rollbacks_per_repo_per_hour: 1");
    let tokens = w.dir().join("tokens");
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o644)).unwrap();
    let service = w.serve(&config);
    service.wait_ready();
    assert!(
        service.log().contains(&format!(
            "webhook.bearer_tokens_file: {} is readable by others (mode 0644); chmod 600 it",
            tokens.display()
        )),
        "{}",
        service.log()
    );
    // The first rollback of the hour is made.
    let (status, _) = service.post_alerts(WEBHOOK_TOKEN, &webhook_body(demo_labels()));
    assert_eq!(status, 200);
    let ended = |n: usize| {
        history(&config)["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|j| j["state"] == "done" || j["state"] == "failed")
            .count()
            == n
    };
    assert!(
        eventually(Duration::from_secs(40), || ended(1)),
        "{}",
        service.log()
    );
    // The second, for the other image the same Flux run bumped, is one too many.
    let mut labels = demo_labels();
    labels["alertname"] = json!("WorkerHighErrorRate");
    labels["image"] = json!("ghcr.io/acme/worker:2.0.1");
    let mut body: serde_json::Value = serde_json::from_slice(&webhook_body(labels)).unwrap();
    body["alerts"][0]["fingerprint"] = json!("0f1e2d3c4b5a6978");
    let (status, _) = service.post_alerts(WEBHOOK_TOKEN, body.to_string().as_bytes());
    assert_eq!(status, 200);
    assert!(
        eventually(Duration::from_secs(40), || ended(2)),
        "{}",
        service.log()
    );
    let jobs = history(&config)["jobs"].clone();
    let job = jobs
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["target"].as_str().unwrap_or("").contains("worker"))
        .unwrap_or_else(|| panic!("{jobs}"))
        .clone();
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(job["outcome"], "rate-limited", "{job}");
    assert!(
        job["error"]
            .as_str()
            .unwrap()
            .starts_with("guard max_rollbacks_per_repo_per_hour: 1 rollbacks in gitops"),
        "{job}"
    );
    assert_eq!(w.rollback_branches().len(), 1, "the first rollback's only");
    let (_, metrics) = http_get(&service.url("/metrics")).unwrap();
    let metrics = String::from_utf8_lossy(&metrics);
    assert!(
        metrics.contains(
            r#"revertbot_jobs_total{kind="rollback",outcome="rate-limited",forge="none"} 1"#
        ),
        "{metrics}"
    );
    assert!(
        metrics
            .contains(r#"revertbot_guard_hits_total{guard="max_rollbacks_per_repo_per_hour"} 1"#),
        "{metrics}"
    );
}

/// Sets `shutdown_timeout` in a configuration file.
fn shutdown_timeout(config: &std::path::Path, value: &str) {
    let text = std::fs::read_to_string(config).unwrap();
    assert!(text.contains("shutdown_timeout: 5s\n"));
    std::fs::write(
        config,
        text.replace(
            "shutdown_timeout: 5s\n",
            &format!("shutdown_timeout: {value}\n"),
        ),
    )
    .unwrap();
}

#[test]
fn shutdown_stops_a_hanging_push_at_shutdown_timeout_and_queues_the_job_again() {
    let w = world();
    let push_started = w.server().hanging_pushes("gitops");
    let config = w.config("");
    shutdown_timeout(&config, "2s");
    let mut svc = w.serve(&config);
    svc.wait_ready();
    let (status, _) = svc.post_alerts(WEBHOOK_TOKEN, &webhook_body(demo_labels()));
    assert_eq!(status, 200);
    assert!(
        eventually(Duration::from_secs(30), || push_started.exists()),
        "the push did not reach the server:\n{}",
        svc.log()
    );
    let term = std::time::Instant::now();
    svc.signal_term();
    let exit = svc.wait();
    let took = term.elapsed();
    let log = svc.log();
    assert!(exit.success(), "{exit}:\n{log}");
    // git.timeout_seconds is 20: the push is stopped at shutdown_timeout, not at its own limit.
    assert!(
        took < Duration::from_secs(5),
        "stopped {took:?} after SIGTERM:\n{log}"
    );
    // The transfer was stopped from its callbacks: the worker saw it end, and said so.
    assert!(
        log.contains("job stopped at shutdown: stopped talking to http://127.0.0.1:"),
        "{log}"
    );
    assert!(
        log.contains("job 1 was put back in the queue at shutdown"),
        "{log}"
    );
    assert!(!log.contains("lease ran out"), "{log}");
    let h = history(&config);
    assert_eq!(h["jobs"][0]["state"], "queued", "{h}");
    assert!(w.github().pulls(OWNER, "gitops").is_empty());
}

#[test]
fn shutdown_does_not_wait_for_a_git_server_that_never_answers() {
    // A remote that accepts connections and never says a word.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/git/gitops.git", silent.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in silent.incoming().flatten() {
            held.push(conn);
        }
    });
    // GitHub is never reached: the job stops at the push.
    let github = FakeGitHub::start();
    let bare = tempfile::tempdir().unwrap();
    git2::Repository::init_bare(bare.path()).unwrap();
    github.add_repo(OWNER, "gitops", bare.path());
    github.allow_token(TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let config = service::config(dir.path(), &url, &github.base_url(), "");
    shutdown_timeout(&config, "2s");
    let mut svc = Service::start(
        std::path::Path::new(env!("CARGO_BIN_EXE_revertbot")),
        &config,
        &[("GITHUB_TOKEN", TOKEN.to_string())],
    );
    let (status, _) = svc.post_alerts(WEBHOOK_TOKEN, &webhook_body(demo_labels()));
    assert_eq!(status, 200);
    assert!(
        eventually(Duration::from_secs(20), || svc
            .log()
            .contains("job started")),
        "{}",
        svc.log()
    );
    let term = std::time::Instant::now();
    svc.signal_term();
    let exit = svc.wait();
    let took = term.elapsed();
    let log = svc.log();
    assert!(exit.success(), "{exit}:\n{log}");
    // The socket's own limit (git.timeout_seconds, 20 s) is not waited for.
    assert!(
        took < Duration::from_secs(7),
        "stopped {took:?} after SIGTERM:\n{log}"
    );
    let h = history(&config);
    assert_eq!(h["jobs"][0]["state"], "queued", "{h}");
}
