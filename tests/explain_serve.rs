//! `explain` says what `serve` does. The same alerts go through both, one at a time, on the
//! same configuration and journal: first `revertbot explain` (nothing written), then the
//! service, and its job is compared with what `explain` said — the decision, the culprit, the
//! strategy and the hold. The alerts cover a label's image with a Flux hold, a workload found
//! as kustomize renders it whose rollback is already open, a commit that bumped two images, a
//! Renovate bump, and an image the repository never had.

mod common;

use std::path::Path;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use common::eventually;
use revertbot_testkit::world::World;
use serde_json::{json, Value};

const TOKEN: &str = "ghp_revertbot_explain_token";
const WEBHOOK_TOKEN: &str = "webhook-token";

fn payload(fingerprint: &str, labels: Value) -> Value {
    json!({
        "receiver": "revertbot",
        "status": "firing",
        "alerts": [{
            "status": "firing",
            "labels": labels,
            "annotations": { "summary": "5xx ratio above 5% for 5 minutes" },
            "startsAt": (Utc::now() - chrono::Duration::seconds(60))
                .to_rfc3339_opts(SecondsFormat::Secs, true),
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.acme.example:9090/graph?g0.expr=x",
            "fingerprint": fingerprint
        }],
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.acme.example:9093",
        "version": "4",
        "groupKey": format!("{{}}:{{fingerprint=\"{fingerprint}\"}}"),
        "truncatedAlerts": 0
    })
}

fn revertbot(args: &[&str], config: &Path) -> Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_revertbot"))
        .args(args)
        .arg("--config")
        .arg(config)
        .args(["--output", "json"])
        .env("GITHUB_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The newest job once there are `count` and it has ended.
fn ended_job(config: &Path, count: usize) -> Value {
    let mut last = Value::Null;
    let ended = eventually(Duration::from_secs(60), || {
        let history = revertbot(&["history"], config);
        let jobs = history["jobs"].as_array().cloned().unwrap_or_default();
        last = json!(jobs);
        jobs.len() == count && matches!(jobs[0]["state"].as_str(), Some("done" | "failed"))
    });
    assert!(ended, "job {count} did not end: {last:#}");
    last[0].clone()
}

/// The repository: `api` held by Flux (a setter marker and its ImageRepository), `web`
/// rendered by kustomize (an overlay's `images:` bumps it), `worker` and `jobs` bumped in one
/// commit, `podinfo` in a Helm release's values bumped by Renovate.
fn fill(dir: &Path) {
    let mut w = revertbot::gitstore::RepoWriter::init(dir).unwrap();
    w.write(
        "flux-system/api.yaml",
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: api\n  namespace: flux-system\nspec:\n  image: ghcr.io/acme/api\n  interval: 5m\n---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: api\n  namespace: flux-system\nspec:\n  imageRepositoryRef:\n    name: api\n  policy:\n    semver:\n      range: 1.x\n",
    )
    .write(
        "apps/api/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: prod\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          image: ghcr.io/acme/api:1.0.0 # {\"$imagepolicy\": \"flux-system:api\"}\n",
    )
    .write(
        "apps/web/base/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: ghcr.io/acme/web:1.0.0\n",
    )
    .write("apps/web/base/kustomization.yaml", "resources:\n  - deployment.yaml\n")
    .write(
        "apps/web/prod/kustomization.yaml",
        "namespace: prod\nresources:\n  - ../base\n",
    )
    .write(
        "apps/batch/deployments.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: worker\nspec:\n  template:\n    spec:\n      containers:\n        - name: worker\n          image: ghcr.io/acme/worker:2.0.0\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: jobs\nspec:\n  template:\n    spec:\n      containers:\n        - name: jobs\n          image: ghcr.io/acme/jobs:5.0.0\n",
    )
    .write(
        "infra/podinfo/helmrelease.yaml",
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\nspec:\n  chart:\n    spec:\n      chart: podinfo\n  values:\n    image:\n      repository: ghcr.io/stefanprodan/podinfo\n      tag: 6.5.0\n",
    );
    w.commit("Add api, web, batch and podinfo").unwrap();
    w.author("fluxcdbot", "flux@example.com").edit(
        "apps/api/deployment.yaml",
        "api:1.0.0",
        "api:1.1.0",
    );
    w.commit("Update from image update automation").unwrap();
    w.edit(
        "apps/web/prod/kustomization.yaml",
        "resources:\n  - ../base\n",
        "resources:\n  - ../base\nimages:\n  - name: ghcr.io/acme/web\n    newTag: 1.1.0\n",
    );
    w.commit("Update from image update automation").unwrap();
    w.author("Dana Ops", "dana@example.com")
        .edit(
            "apps/batch/deployments.yaml",
            "worker:2.0.0",
            "worker:2.1.0",
        )
        .edit("apps/batch/deployments.yaml", "jobs:5.0.0", "jobs:5.1.0");
    w.commit("Bump worker and jobs").unwrap();
    w.author("renovate[bot]", "bot@renovateapp.com").edit(
        "infra/podinfo/helmrelease.yaml",
        "tag: 6.5.0",
        "tag: 6.5.1",
    );
    w.commit("chore(deps): update ghcr.io/stefanprodan/podinfo docker tag to v6.5.1")
        .unwrap();
}

#[test]
fn explain_says_the_decision_culprit_strategy_and_hold_that_serve_then_makes() {
    let world = World::new(Path::new(env!("CARGO_BIN_EXE_revertbot")), TOKEN, fill);
    let config = world.config("  max_rollbacks_per_repo_per_hour: 50");
    let svc = world.serve(&config);
    svc.wait_ready();

    let alerts = [
        // The label's image; Flux's ImageRepository holds the bad tag.
        json!({"alertname": "ApiHighErrorRate", "severity": "critical",
               "image": "ghcr.io/acme/api:1.1.0"}),
        // Again, under another name: its rollback is open already.
        json!({"alertname": "ApiLatencyHigh", "severity": "critical",
               "image": "ghcr.io/acme/api:1.1.0"}),
        // No image label: the workload, as kustomize renders it.
        json!({"alertname": "WebPodsFailing", "severity": "critical",
               "namespace": "prod", "deployment": "web", "container": "web"}),
        // Bumped in one commit with another image: only this one's places go back.
        json!({"alertname": "WorkerHighErrorRate", "severity": "critical",
               "image": "ghcr.io/acme/worker:2.1.0"}),
        // A Renovate bump of a Helm value.
        json!({"alertname": "PodinfoDown", "severity": "critical",
               "image": "ghcr.io/stefanprodan/podinfo:6.5.1"}),
        // An image the repository never had.
        json!({"alertname": "UnknownDown", "severity": "critical",
               "image": "ghcr.io/acme/unknown:9.9.9"}),
    ];
    let mut decisions = Vec::new();
    for (i, labels) in alerts.into_iter().enumerate() {
        let body = payload(&format!("f{i}"), labels);
        let file = world.dir().join(format!("alert-{i}.json"));
        std::fs::write(&file, body.to_string()).unwrap();
        let explained = revertbot(&["explain", "--alert", file.to_str().unwrap()], &config);
        let e = &explained["alerts"][0];

        let (status, answer) = svc.post_alerts(WEBHOOK_TOKEN, body.to_string().as_bytes());
        assert_eq!(status, 200, "{answer}");
        let job = ended_job(&config, i + 1);
        let context = format!("alert {i}:\nexplain {e:#}\njob {job:#}\n{}", svc.log());

        let decision = e["decision"].as_str().unwrap();
        decisions.push(decision.to_string());
        match decision {
            "would open" => {
                assert_eq!(job["outcome"], "created", "{context}");
                assert_eq!(job["culprit"], e["culprit"]["commit"]["sha"], "{context}");
                assert_eq!(job["strategy"], e["strategy"], "{context}");
                assert_eq!(job["hold"], e["hold"], "{context}");
                assert_eq!(
                    e["reason"],
                    format!("branch {}", job["branch"].as_str().unwrap()),
                    "{context}"
                );
            }
            "would comment" => {
                assert_eq!(job["outcome"], "reused", "{context}");
                assert_eq!(job["culprit"], e["culprit"]["commit"]["sha"], "{context}");
                let number = job["pr_number"].as_u64().unwrap();
                assert_eq!(
                    e["reason"],
                    format!("pull request #{number} already rolls this culprit back"),
                    "{context}"
                );
            }
            "skipped" => {
                assert_eq!(job["state"], "failed", "{context}");
                assert!(job["culprit"].is_null(), "{context}");
                assert_eq!(e["reason"], job["error"], "the same reason: {context}");
            }
            other => panic!("decision {other:?}: {context}"),
        }
    }
    // Every kind of decision was compared, on rollbacks with a hold and with a partial revert.
    assert_eq!(
        decisions,
        [
            "would open",
            "would comment",
            "would open",
            "would open",
            "would open",
            "skipped"
        ]
    );
    let jobs = revertbot(&["history"], &config)["jobs"].clone();
    let jobs = jobs.as_array().unwrap();
    assert!(jobs.iter().any(|j| j["strategy"] == "partial"), "{jobs:#?}");
    assert!(
        jobs.iter()
            .any(|j| j["hold"].as_str().is_some_and(|h| h.starts_with("flux: "))),
        "{jobs:#?}"
    );
}
