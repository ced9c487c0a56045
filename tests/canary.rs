//! Canary aborts become git reverts, end to end: `revertbot serve` takes an Argo Rollouts
//! notification (the body of revertbot's template) and a Flagger event webhook (as Flagger
//! sends it) on their own routes; the repository is on the real git server, pull requests go
//! to the fake GitHub. One pull request per abort; duplicates join it; an event that asks for
//! nothing, or an abort of an image git no longer holds, opens nothing.

mod common;

use std::path::Path;
use std::time::Duration;

use common::eventually;
use revertbot::gitstore::RepoWriter;
use revertbot_testkit::http::http_post;
use revertbot_testkit::service::Service;
use revertbot_testkit::world::{World, OWNER};

const TOKEN: &str = "ghp_revertbot_canary";
const WEBHOOK_TOKEN: &str = "webhook-token";

/// A Rollout `web` with its own template, and a Flagger Canary `api` whose Deployment is in
/// another directory; each bumped by image automation.
fn gitops(dir: &Path) {
    let mut w = RepoWriter::init(dir).unwrap();
    w.write(
        "apps/web/rollout.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata:\n  name: web\n  namespace: prod\nspec:\n  strategy:\n    canary:\n      steps:\n        - setWeight: 20\n        - pause: {duration: 5m}\n  template:\n    spec:\n      containers:\n        - name: web\n          image: ghcr.io/acme/web:1.4.0\n",
    )
    .write(
        "apps/api/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: prod\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          image: ghcr.io/acme/api:2.0.0\n",
    )
    .write(
        "delivery/canaries/api.yaml",
        "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata:\n  name: api\n  namespace: prod\nspec:\n  targetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: api\n  analysis:\n    interval: 1m\n    threshold: 5\n",
    );
    w.commit("web and api").unwrap();
    w.author("fluxcdbot", "fluxcdbot@users.noreply.github.com")
        .edit("apps/web/rollout.yaml", "web:1.4.0", "web:1.5.0");
    w.commit("Update from image update automation").unwrap();
    w.edit("apps/api/deployment.yaml", "api:2.0.0", "api:2.1.0");
    w.commit("Update from image update automation").unwrap();
}

fn world() -> World {
    World::new(Path::new(env!("CARGO_BIN_EXE_revertbot")), TOKEN, gitops)
}

/// `serve`, ready, with the rule for canary aborts.
fn serve(w: &World) -> Service {
    let svc = w.serve(&config(w));
    svc.wait_ready();
    svc
}

/// The world's configuration and a rule that takes Argo Rollouts' and Flagger's aborts.
fn config(w: &World) -> std::path::PathBuf {
    let config = w.config("");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(
        "  - name: canary-aborts\n    matchers: ['source =~ \"argo-rollouts|flagger\"']\n    repo: gitops\n    image_label: image\n    workload: true\n",
    );
    std::fs::write(&config, text).unwrap();
    config
}

fn post(svc: &Service, route: &str, body: &str) -> (u16, String) {
    let auth = format!("Bearer {WEBHOOK_TOKEN}");
    let (status, body) = http_post(
        &svc.url(route),
        &[
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/json"),
        ],
        body.as_bytes(),
    );
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn argo_abort(image: &str, pod_hash: &str) -> String {
    serde_json::json!({
        "event": "RolloutAborted",
        "rollout": { "name": "web", "namespace": "prod", "uid": "3f6d2c1e" },
        "containers": [{ "name": "web", "image": image }],
        "workloadRef": null,
        "abortedAt": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "stableRS": "web-6b7d9f8c5",
        "currentPodHash": pod_hash,
        "phase": "Degraded",
        "message": "RolloutAborted: Rollout aborted update to revision 7: Metric \"error-rate\" assessed Failed due to failed (3) > failureLimit (2)",
        "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })
    .to_string()
}

fn flagger_event(phase: &str) -> String {
    serde_json::json!({
        "name": "api",
        "namespace": "prod",
        "phase": phase,
        "checksum": "7d9f8c5b6",
        "metadata": {
            "eventMessage": format!("Canary {}! Scaling down api.prod", if phase == "Failed" { "failed" } else { "promoted" }),
            "eventType": if phase == "Failed" { "Warning" } else { "Normal" },
            "timestamp": chrono::Utc::now().timestamp_millis().to_string(),
        }
    })
    .to_string()
}

#[test]
fn an_argo_rollouts_abort_and_a_flagger_failure_each_open_one_pull_request() {
    let w = world();
    // Pushes take a second: the first abort's job is still running when it is sent again.
    w.server().slow_pushes("gitops", 1);
    let svc = serve(&w);

    let (status, body) = post(
        &svc,
        "/webhooks/argo-rollouts",
        &argo_abort("ghcr.io/acme/web:1.5.0", "5f6c7b9d8"),
    );
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"alerts":["queued"],"delivery":1}"#)
    );
    // Sent again (the controller retries): it joins the job, and makes none of its own.
    let (status, body) = post(
        &svc,
        "/webhooks/argo-rollouts",
        &argo_abort("ghcr.io/acme/web:1.5.0", "5f6c7b9d8"),
    );
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"alerts":["coalesced"],"delivery":2}"#)
    );

    let (status, body) = post(&svc, "/webhooks/flagger", &flagger_event("Failed"));
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(&svc, "/webhooks/flagger", &flagger_event("Succeeded"));
    assert_eq!(
        (status, body.as_str()),
        (
            200,
            r#"{"ignored":"phase \"Succeeded\": only Failed rolls back"}"#
        )
    );

    assert!(
        eventually(Duration::from_secs(60), || w
            .github()
            .pulls(OWNER, "gitops")
            .len()
            == 2),
        "{}",
        svc.log()
    );
    std::thread::sleep(Duration::from_secs(1));
    let pulls = w.github().pulls(OWNER, "gitops");
    assert_eq!(
        pulls.len(),
        2,
        "one per abort: {:?}",
        pulls.iter().map(|p| &p.title).collect::<Vec<_>>()
    );
    let web = pulls.iter().find(|p| p.head.contains("acme-web")).unwrap();
    assert_eq!(
        web.title,
        "Revert ghcr.io/acme/web to 1.4.0 (ArgoRolloutAborted)"
    );
    assert!(
        web.body.contains("Argo Rollouts aborted the canary"),
        "{}",
        web.body
    );
    assert!(
        web.body
            .contains("returns to Healthy without running the canary steps again"),
        "{}",
        web.body
    );
    assert!(web.body.contains("error-rate"), "{}", web.body);
    let api = pulls.iter().find(|p| p.head.contains("acme-api")).unwrap();
    assert_eq!(
        api.title,
        "Revert ghcr.io/acme/api to 2.0.0 (FlaggerCanaryFailed)"
    );
    assert!(
        api.body.contains("Flagger failed the canary analysis"),
        "{}",
        api.body
    );
    let served = git2::Repository::open_bare(w.server().repo_path("gitops")).unwrap();
    let deployment = common::file_at(&served, &api.head, "apps/api/deployment.yaml").unwrap();
    assert!(
        deployment.contains("image: ghcr.io/acme/api:2.0.0"),
        "{deployment}"
    );
}

#[test]
fn an_abort_of_an_image_git_no_longer_holds_opens_nothing_and_bad_bodies_are_refused() {
    let w = world();
    let svc = serve(&w);
    // Someone moved on already: git holds 1.5.0, the canary was rolling out 1.3.0.
    let (status, _) = post(
        &svc,
        "/webhooks/argo-rollouts",
        &argo_abort("ghcr.io/acme/web:1.3.0", "aaaa"),
    );
    assert_eq!(status, 200);
    assert!(
        eventually(Duration::from_secs(30), || svc
            .log()
            .contains("job failed: ")
            && svc.log().contains("kind=stale")),
        "{}",
        svc.log()
    );
    assert!(w.github().pulls(OWNER, "gitops").is_empty());

    let (status, body) = post(
        &svc,
        "/webhooks/flagger",
        r#"{"name":"api","phase":"Failed"}"#,
    );
    assert_eq!(status, 400);
    assert!(body.contains(r#""field":"namespace""#), "{body}");
    let (status, _) = post(&svc, "/webhooks/argo-rollouts", "<html>hello</html>");
    assert_eq!(status, 400);
    let (status, body) = post(
        &svc,
        "/webhooks/argo-rollouts",
        r#"{"rollout":{"name":"web","namespace":"prod"},"containers":"web"}"#,
    );
    assert_eq!(status, 400);
    assert!(body.contains(r#""field":"containers""#), "{body}");
    let (status, body) = post(
        &svc,
        "/webhooks/flagger",
        r#"{"name":"api","namespace":"prod","phase":"Failed","metadata":{"timestamp":"yesterday"}}"#,
    );
    assert_eq!(status, 400);
    assert!(body.contains(r#""field":"metadata.timestamp""#), "{body}");
    let huge = format!(
        r#"{{"name":"{}","namespace":"prod","phase":"Failed"}}"#,
        "x".repeat(2 << 20)
    );
    let (status, _) = post(&svc, "/webhooks/flagger", &huge);
    assert_eq!(status, 413);
    // And the service keeps serving.
    let (status, _) = post(&svc, "/webhooks/flagger", &flagger_event("Succeeded"));
    assert_eq!(status, 200);
    let (status, _) = http_post(
        &svc.url("/webhooks/flagger"),
        &[],
        flagger_event("Failed").as_bytes(),
    );
    assert_eq!(status, 401, "behind the same auth as /alerts");
    assert!(w.github().pulls(OWNER, "gitops").is_empty());
}

#[test]
fn a_prometheus_rule_on_rollout_metrics_routes_through_alertmanager_the_same_way() {
    let w = world();
    let svc = serve(&w);
    // What deploy/examples' ArgoRolloutDegraded rule sends: the rollout's labels, no image.
    let alert = serde_json::json!({
        "receiver": "revertbot", "status": "firing", "version": "4",
        "groupKey": "{}:{alertname=\"ArgoRolloutDegraded\"}",
        "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
        "externalURL": "http://alertmanager.acme.example:9093", "truncatedAlerts": 0,
        "alerts": [{
            "status": "firing",
            "labels": { "alertname": "ArgoRolloutDegraded", "source": "argo-rollouts",
                        "namespace": "prod", "rollout": "web", "phase": "Degraded" },
            "annotations": { "summary": "Rollout prod/web is Degraded" },
            "startsAt": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": "a1b2c3d4e5f60718"
        }]
    });
    let (status, body) = post(&svc, "/alerts", &alert.to_string());
    assert_eq!(status, 200, "{body}");
    assert!(
        eventually(Duration::from_secs(60), || w
            .github()
            .pulls(OWNER, "gitops")
            .len()
            == 1),
        "{}",
        svc.log()
    );
    let pull = &w.github().pulls(OWNER, "gitops")[0];
    assert_eq!(
        pull.title,
        "Revert ghcr.io/acme/web to 1.4.0 (ArgoRolloutDegraded)"
    );
}

#[test]
fn explain_says_what_a_webhook_event_would_do() {
    let w = world();
    let config = config(&w);
    let dir = tempfile::tempdir().unwrap();
    let explain = |source: &str, body: &str| {
        let file = dir.path().join(format!("{source}.json"));
        std::fs::write(&file, body).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_revertbot"))
            .args(["explain", "--source", source, "--alert"])
            .arg(&file)
            .arg("--config")
            .arg(&config)
            .env_remove("GITHUB_TOKEN")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let text = explain(
        "argo-rollouts",
        &argo_abort("ghcr.io/acme/web:1.5.0", "5f6c7b9d8"),
    );
    assert!(
        text.contains("canary-aborts") && text.contains("would open"),
        "{text}"
    );
    assert!(text.contains("(from the label)"), "{text}");
    let text = explain("flagger", &flagger_event("Failed"));
    assert!(
        text.contains("ghcr.io/acme/api:2.1.0") && text.contains("would open"),
        "{text}"
    );
    // Flagger names no image: it is rendered from the workload, and the text says which.
    assert!(
        text.contains("\nworkload  prod/") && text.contains("(rendered from the workload)"),
        "{text}"
    );
    let text = explain("flagger", &flagger_event("Succeeded"));
    assert_eq!(
        text,
        "ignored: phase \"Succeeded\": only Failed rolls back\n"
    );
    assert!(
        w.github().pulls(OWNER, "gitops").is_empty(),
        "explain writes nothing"
    );
}

/// The fixtures are the bodies the tools really send (see tests/fixtures/webhooks/README.md):
/// Argo Rollouts' rendered from revertbot's template with Go's text/template, Flagger's as its
/// source writes them.
#[test]
fn the_real_bodies_become_the_alerts_the_rules_expect() {
    use revertbot::alert::canary::{argo_rollouts, flagger, Event};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/webhooks");
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    let now = chrono::Utc::now();
    let alert = |e: Event| match e {
        Event::Alert(p) => p.alerts[0].clone(),
        Event::Ignored(why) => panic!("ignored: {why}"),
    };

    let two = alert(argo_rollouts(&read("argo-rollouts-aborted.json"), now).unwrap());
    assert_eq!(two.labels["rollout"], "web");
    assert_eq!(two.labels["namespace"], "prod");
    assert!(
        !two.labels.contains_key("image"),
        "two containers: the workload decides"
    );
    assert_eq!(two.starts_at, "2026-05-12T14:03:51Z");
    assert!(
        two.annotations["description"].contains("failureLimit (2)"),
        "{:?}",
        two.annotations
    );
    assert_eq!(two.annotations["stable_replicaset"], "6b8f7c9d54");

    let resolved = alert(
        argo_rollouts(
            &read("argo-rollouts-aborted-workloadref-resolved.json"),
            now,
        )
        .unwrap(),
    );
    assert_eq!(resolved.labels["image"], "ghcr.io/acme/api:2.3.0");
    for name in [
        "argo-rollouts-aborted-workloadref.json",
        "argo-rollouts-aborted-at-event-time.json",
    ] {
        let a = alert(argo_rollouts(&read(name), now).unwrap());
        assert_eq!(a.labels["alertname"], "ArgoRolloutAborted", "{name}");
    }

    let failed = alert(flagger(&read("flagger-failed.json"), now).unwrap());
    assert_eq!(failed.labels["canary"], "web");
    assert!(failed.annotations["description"].starts_with("Canary failed! Scaling down"));
    for name in ["flagger-succeeded.json", "flagger-rolling-back.json"] {
        assert!(
            matches!(flagger(&read(name), now).unwrap(), Event::Ignored(_)),
            "{name}"
        );
    }
}
