//! Two images whose names fold to one branch slug (`ghcr.io/acme/api-server` and
//! `ghcr.io/acme/api/server`), bumped by one commit: `revertbot serve` rolls each back on a
//! branch and pull request of its own, and still finds a rollback branch named as revertbot
//! named them before the image's hash went into the name.

mod common;

use std::path::Path;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use common::fake_github::FakeGitHub;
use common::git_server::GitServer;
use common::service::{self, Service};
use common::{eventually, file_at};
use revertbot::gitstore::RepoWriter;
use serde_json::json;

const OWNER: &str = "acme";
const TOKEN: &str = "ghp_revertbot_collision_token";
const WEBHOOK_TOKEN: &str = "webhook-token";
const DASH: &str = "ghcr.io/acme/api-server";
const SLASH: &str = "ghcr.io/acme/api/server";
const MANIFEST: &str = "apps/api/deployment.yaml";

struct World {
    server: GitServer,
    github: FakeGitHub,
    /// The commit that bumped both images.
    bump: String,
    _repo: tempfile::TempDir,
    dir: tempfile::TempDir,
}

fn manifest(tag: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: prod\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          image: {DASH}:{tag}\n        - name: server\n          image: {SLASH}:{tag}\n"
    )
}

fn world() -> World {
    let repo = tempfile::tempdir().unwrap();
    let mut w = RepoWriter::init(repo.path()).unwrap();
    w.write(MANIFEST, &manifest("1.0.0"))
        .commit("api 1.0.0")
        .unwrap();
    let bump = w
        .write(MANIFEST, &manifest("1.1.0"))
        .commit("chore(deps): update api images to 1.1.0")
        .unwrap();
    let server = GitServer::start();
    server.publish("gitops", repo.path());
    let github = FakeGitHub::start();
    github.add_repo(OWNER, "gitops", &server.repo_path("gitops"));
    github.allow_token(TOKEN);
    World {
        server,
        github,
        bump: bump.to_string(),
        _repo: repo,
        dir: tempfile::tempdir().unwrap(),
    }
}

impl World {
    fn serve(&self) -> Service {
        let config = service::config(
            self.dir.path(),
            &self.server.url("gitops"),
            &self.github.base_url(),
            "",
        );
        let svc = Service::start(
            Path::new(env!("CARGO_BIN_EXE_revertbot")),
            &config,
            &[("GITHUB_TOKEN", TOKEN.to_string())],
        );
        svc.wait_ready();
        svc
    }

    fn served(&self) -> git2::Repository {
        git2::Repository::open_bare(self.server.repo_path("gitops")).unwrap()
    }

    /// The branch revertbot made for `image` before image names were hashed into it.
    fn legacy_branch(&self, image: &str) -> String {
        let repo = self.served();
        let main = repo.find_branch("main", git2::BranchType::Local).unwrap();
        let tip = main.get().peel_to_commit().unwrap();
        let parent = tip.parent(0).unwrap();
        let sig = git2::Signature::now("revertbot", "revertbot@example.com").unwrap();
        let message = format!(
            "Revert \"chore(deps): update api images to 1.1.0\"\n\nThis reverts commit {bump}.\n\nReverts: {bump}\nRevertbot-Image: {image}\n",
            bump = self.bump
        );
        let commit = repo
            .commit(None, &sig, &sig, &message, &parent.tree().unwrap(), &[&tip])
            .unwrap();
        let name = format!("revertbot/ghcr.io-acme-api-server-{}", &self.bump[..12]);
        repo.branch(&name, &repo.find_commit(commit).unwrap(), false)
            .unwrap();
        name
    }
}

fn alert(image: &str, alertname: &str, fingerprint: &str) -> Vec<u8> {
    json!({
        "receiver": "revertbot",
        "status": "firing",
        "alerts": [{
            "status": "firing",
            "labels": { "alertname": alertname, "severity": "critical", "namespace": "prod", "image": format!("{image}:1.1.0") },
            "annotations": { "summary": "api: 5xx above 5%" },
            "startsAt": (Utc::now() - chrono::Duration::seconds(60)).to_rfc3339_opts(SecondsFormat::Secs, true),
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.acme.example:9090/graph?g0.expr=x",
            "fingerprint": fingerprint
        }],
        "groupLabels": { "alertname": alertname },
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.acme.example:9093",
        "version": "4",
        "groupKey": format!("{{}}:{{alertname=\"{alertname}\"}}"),
        "truncatedAlerts": 0
    })
    .to_string()
    .into_bytes()
}

/// Jobs as `revertbot history` prints them.
fn jobs(svc: &Service, dir: &Path) -> Vec<serde_json::Value> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_revertbot"))
        .args(["history", "--output", "json", "--config"])
        .arg(dir.join("revertbot.yaml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        svc.log()
    );
    let h: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    h["jobs"].as_array().cloned().unwrap_or_default()
}

fn wait_done(svc: &Service, dir: &Path, n: usize) -> Vec<serde_json::Value> {
    let mut last = Vec::new();
    let done = eventually(Duration::from_secs(40), || {
        last = jobs(svc, dir);
        last.iter().filter(|j| j["state"] == "done").count() >= n
    });
    assert!(done, "jobs: {last:#?}\n{}", svc.log());
    last
}

#[test]
fn images_that_fold_to_one_slug_get_a_rollback_each() {
    let w = world();
    let svc = w.serve();
    let (status, _) = svc.post_alerts(WEBHOOK_TOKEN, &alert(DASH, "ApiServerErrors", "a1"));
    assert_eq!(status, 200);
    wait_done(&svc, w.dir.path(), 1);
    let (status, _) = svc.post_alerts(WEBHOOK_TOKEN, &alert(SLASH, "ApiErrors", "a2"));
    assert_eq!(status, 200);
    let jobs = wait_done(&svc, w.dir.path(), 2);
    for job in &jobs {
        assert_eq!(job["outcome"], "created", "{job:#}");
    }

    let pulls = w.github.pulls(OWNER, "gitops");
    assert_eq!(pulls.len(), 2, "{pulls:#?}");
    assert_ne!(pulls[0].head, pulls[1].head);
    let served = w.served();
    for (pull, image, other) in [(&pulls[0], DASH, SLASH), (&pulls[1], SLASH, DASH)] {
        let file = file_at(&served, &pull.head, MANIFEST).unwrap();
        assert!(
            file.contains(&format!("image: {image}:1.0.0")),
            "{} rolls back {image}:\n{file}",
            pull.head
        );
        assert!(
            file.contains(&format!("image: {other}:1.1.0")),
            "{} leaves {other} alone:\n{file}",
            pull.head
        );
    }
    // The image whose slug reads back as its name keeps the readable branch; the other has
    // its name's hash in it.
    assert_eq!(
        pulls[1].head,
        format!("revertbot/ghcr.io-acme-api-server-{}", &w.bump[..12])
    );
    assert!(
        pulls[0]
            .head
            .starts_with("revertbot/ghcr.io-acme-api-server--"),
        "{}",
        pulls[0].head
    );
    assert!(svc.terminate().success());
}

#[test]
fn a_branch_named_before_the_hash_is_reused_and_taken_by_no_other_image() {
    let w = world();
    // api-server's rollback, as an earlier release named it, with its pull request open.
    let legacy = w.legacy_branch(DASH);
    let number = w.github.add_pull(
        OWNER,
        "gitops",
        &legacy,
        "main",
        "Revert api-server",
        "open",
        false,
    );

    let svc = w.serve();
    let (status, _) = svc.post_alerts(WEBHOOK_TOKEN, &alert(DASH, "ApiServerErrors", "b1"));
    assert_eq!(status, 200);
    let jobs = wait_done(&svc, w.dir.path(), 1);
    assert_eq!(jobs[0]["outcome"], "reused", "{:#}", jobs[0]);
    assert_eq!(jobs[0]["branch"], legacy.as_str());
    assert_eq!(jobs[0]["pr_number"], number);
    assert_eq!(
        w.github.pulls(OWNER, "gitops").len(),
        1,
        "no second pull request"
    );

    // The other image's readable name is that old branch: it goes on its hashed one.
    let (status, _) = svc.post_alerts(WEBHOOK_TOKEN, &alert(SLASH, "ApiErrors", "b2"));
    assert_eq!(status, 200);
    let jobs = wait_done(&svc, w.dir.path(), 2);
    let slash = jobs
        .iter()
        .find(|j| j["target"].as_str().unwrap_or("").contains("api/server"))
        .expect("the second job");
    assert_eq!(slash["outcome"], "created", "{slash:#}");
    let pulls = w.github.pulls(OWNER, "gitops");
    assert_eq!(pulls.len(), 2, "{pulls:#?}");
    let head = &pulls[1].head;
    assert!(
        head.starts_with("revertbot/ghcr.io-acme-api-server--"),
        "{head}"
    );
    let file = file_at(&w.served(), head, MANIFEST).unwrap();
    assert!(file.contains(&format!("image: {SLASH}:1.0.0")), "{file}");
    assert!(file.contains(&format!("image: {DASH}:1.1.0")), "{file}");
    assert!(svc.terminate().success());
}
