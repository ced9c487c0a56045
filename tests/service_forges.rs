//! `revertbot serve` with its repository on GitLab, then on Gitea/Forgejo: alerts delivered over
//! HTTP, the branch pushed to the real git server, the merge or pull request on the stateful
//! fake of that forge. The same story on each: delivered three times → one; resolved → a note;
//! a restart, then fired again → found and noted, not opened again; closed by a person, then
//! fired again → left closed, never opened again. A 500 on the first create is tried again
//! without a second one.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use common::{demo_service, eventually};
use revertbot_testkit::fake_gitea::FakeGitea;
use revertbot_testkit::fake_gitlab::FakeGitLab;
use revertbot_testkit::service::Service;
use revertbot_testkit::world::World;
use serde_json::json;

const GITHUB_TOKEN: &str = "ghp_unused";
const FORGE_TOKEN: &str = "forge-service-token";
const WEBHOOK_TOKEN: &str = "webhook-token";
const PROJECT: &str = "acme/platform/gitops";

/// A body as Alertmanager sends it: the demo image's alert, `status` firing or resolved, started
/// `started_ago` before now.
fn alert_body(status: &str, started_ago: Duration) -> Vec<u8> {
    let starts = (Utc::now() - chrono::Duration::from_std(started_ago).unwrap())
        .to_rfc3339_opts(SecondsFormat::Secs, true);
    let ends = if status == "resolved" {
        Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
    } else {
        "0001-01-01T00:00:00Z".to_string()
    };
    json!({
        "receiver": "revertbot",
        "status": status,
        "alerts": [{
            "status": status,
            "labels": {
                "alertname": "FrontendHighErrorRate",
                "severity": "critical",
                "namespace": "prod",
                "image": "ghcr.io/acme/frontend:1.5.0",
            },
            "annotations": { "summary": "frontend: 5xx ratio above 5% (see !12 and ~bug)" },
            "startsAt": starts,
            "endsAt": ends,
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

/// One of the two forges, faked, holding the world's repository.
enum Fake {
    GitLab(FakeGitLab),
    Gitea(FakeGitea),
}

/// A merge or pull request as the fake holds it: number, state, notes.
#[derive(Debug)]
struct Held {
    number: u64,
    state: String,
    notes: Vec<String>,
}

impl Fake {
    fn name(&self) -> &'static str {
        match self {
            Fake::GitLab(_) => "gitlab",
            Fake::Gitea(_) => "gitea",
        }
    }

    /// `w`'s configuration with its repository on this forge instead of GitHub.
    fn config(&self, w: &World) -> PathBuf {
        let config = w.config("");
        let dir = config.parent().unwrap();
        let token = dir.join("forge-token");
        std::fs::write(&token, FORGE_TOKEN).unwrap();
        let (server, repo_key) = match self {
            Fake::GitLab(f) => (
                format!(
                    "gitlab:\n  url: {}\n  token_file: {}\n",
                    f.base_url(),
                    token.display()
                ),
                format!("gitlab: {PROJECT}"),
            ),
            Fake::Gitea(f) => (
                format!(
                    "gitea:\n  url: {}\n  token_file: {}\n",
                    f.base_url().trim_end_matches("/api/v1"),
                    token.display()
                ),
                "gitea: acme/gitops".to_string(),
            ),
        };
        let text = std::fs::read_to_string(&config).unwrap();
        assert!(text.contains("    github: acme/gitops\n"), "{text}");
        let text = text.replace("    github: acme/gitops\n", &format!("    {repo_key}\n"));
        let text = format!("{server}{text}");
        let forged = dir.join(format!("revertbot-{}.yaml", self.name()));
        std::fs::write(&forged, text).unwrap();
        forged
    }

    fn held(&self) -> Vec<Held> {
        match self {
            Fake::GitLab(f) => f
                .merge_requests(PROJECT)
                .into_iter()
                .map(|m| Held {
                    number: m.iid,
                    state: m.state,
                    notes: f
                        .notes(PROJECT, m.iid)
                        .into_iter()
                        .filter(|n| !n.system)
                        .map(|n| n.body)
                        .collect(),
                })
                .collect(),
            Fake::Gitea(f) => f
                .pulls("acme", "gitops")
                .into_iter()
                .map(|p| Held {
                    number: p.number,
                    state: p.state,
                    notes: f
                        .comments("acme", "gitops", p.number)
                        .into_iter()
                        .map(|c| c.body)
                        .collect(),
                })
                .collect(),
        }
    }

    fn body(&self) -> String {
        match self {
            Fake::GitLab(f) => f.merge_requests(PROJECT)[0].description.clone(),
            Fake::Gitea(f) => f.pulls("acme", "gitops")[0].body.clone(),
        }
    }

    fn close(&self, number: u64) {
        match self {
            Fake::GitLab(f) => f.close_merge_request(PROJECT, number),
            Fake::Gitea(f) => f.close_pull("acme", "gitops", number, false),
        }
    }

    fn fail_next_create(&self) {
        match self {
            Fake::GitLab(f) => f.fail_next("POST", "/merge_requests", 500, 1, Vec::new(), None),
            Fake::Gitea(f) => f.fail_next("POST", "/pulls", 500, Vec::new(), None),
        }
    }

    fn creates(&self) -> usize {
        let (requests, create): (Vec<(String, String)>, &str) = match self {
            Fake::GitLab(f) => (
                f.requests()
                    .into_iter()
                    .map(|r| (r.method, r.path))
                    .collect(),
                "/merge_requests",
            ),
            Fake::Gitea(f) => (
                f.requests()
                    .into_iter()
                    .map(|r| (r.method, r.path))
                    .collect(),
                "/pulls",
            ),
        };
        requests
            .iter()
            .filter(|(m, p)| m == "POST" && p.split('?').next().unwrap().ends_with(create))
            .count()
    }
}

/// Waits until the newest job has ended; returns it.
fn newest_ended(
    w: &World,
    config: &Path,
    jobs_before: usize,
    service: &Service,
) -> serde_json::Value {
    let mut job = serde_json::Value::Null;
    let ended = eventually(Duration::from_secs(60), || {
        let h = w.history(config);
        let jobs = h["jobs"].as_array().cloned().unwrap_or_default();
        job = jobs.first().cloned().unwrap_or_default();
        jobs.len() > jobs_before && (job["state"] == "done" || job["state"] == "failed")
    });
    assert!(ended, "{job}\n{}", service.log());
    job
}

fn jobs(w: &World, config: &Path) -> usize {
    w.history(config)["jobs"].as_array().map_or(0, Vec::len)
}

fn story(w: &World, fake: Fake) {
    let forge = fake.name();
    let config = fake.config(w);
    fake.fail_next_create();

    // Delivered three times (Alertmanager's retries): one merge or pull request.
    let service = Service::start(Path::new(env!("CARGO_BIN_EXE_revertbot")), &config, &[]);
    service.wait_ready();
    let firing = alert_body("firing", Duration::from_secs(60));
    for _ in 0..3 {
        let (status, body) = service.post_alerts(WEBHOOK_TOKEN, &firing);
        assert_eq!(status, 200, "{forge}: {body}");
    }
    assert!(
        eventually(Duration::from_secs(60), || fake.held().len() == 1),
        "{forge}: {}",
        service.log()
    );
    let job = newest_ended(w, &config, 0, &service);
    assert_eq!(job["outcome"], "created", "{forge}: {job}");
    assert_eq!(job["forge"], forge, "{forge}: {job}");
    let number = fake.held()[0].number;
    let body = fake.body();
    assert!(body.contains("FrontendHighErrorRate"), "{forge}: {body}");
    assert_eq!(fake.creates(), 2, "{forge}: the 500, then the one made");

    // Resolved: one note.
    let before = jobs(w, &config);
    let (status, _) = service.post_alerts(
        WEBHOOK_TOKEN,
        &alert_body("resolved", Duration::from_secs(60)),
    );
    assert_eq!(status, 200);
    let job = newest_ended(w, &config, before, &service);
    assert_eq!(job["outcome"], "commented", "{forge}: {job}");
    let notes = &fake.held()[0].notes;
    assert_eq!(notes.len(), 1, "{forge}: {notes:?}");
    assert!(notes[0].contains("resolved"), "{forge}: {}", notes[0]);

    // A restart, then the alert fires again: found (and noted: comment_interval 0s), not opened
    // again.
    service.kill();
    let service = Service::start(Path::new(env!("CARGO_BIN_EXE_revertbot")), &config, &[]);
    service.wait_ready();
    let before = jobs(w, &config);
    let (status, _) = service.post_alerts(
        WEBHOOK_TOKEN,
        &alert_body("firing", Duration::from_secs(30)),
    );
    assert_eq!(status, 200);
    let job = newest_ended(w, &config, before, &service);
    assert_eq!(job["outcome"], "reused", "{forge}: the branch there, {job}");
    assert_eq!(job["pr_number"], number, "{forge}: {job}");
    let held = fake.held();
    assert_eq!(held.len(), 1, "{forge}: {held:?}");
    assert!(
        held[0].notes.iter().any(|n| n.contains("fired again")),
        "{forge}: {:?}",
        held[0].notes
    );

    // Closed by a person; fired again: left closed, never opened again.
    fake.close(number);
    let before = jobs(w, &config);
    let (status, _) = service.post_alerts(
        WEBHOOK_TOKEN,
        &alert_body("firing", Duration::from_secs(10)),
    );
    assert_eq!(status, 200);
    let job = newest_ended(w, &config, before, &service);
    assert_eq!(job["outcome"], "declined", "{forge}: {job}");
    let held = fake.held();
    assert_eq!(held.len(), 1, "{forge}: {held:?}");
    assert_eq!(held[0].state, "closed", "{forge}");
    assert_eq!(fake.creates(), 2, "{forge}: no create after the first");
    let metrics = common::http_get(&service.url("/metrics")).unwrap();
    let metrics = String::from_utf8_lossy(&metrics.1).into_owned();
    for line in [
        format!(r#"revertbot_jobs_total{{kind="rollback",outcome="reused",forge="{forge}"}} 1"#),
        format!(r#"revertbot_jobs_total{{kind="rollback",outcome="declined",forge="{forge}"}} 1"#),
        format!(r#"revertbot_alert_to_pull_request_seconds_count{{forge="{forge}"}} 2"#),
    ] {
        assert!(metrics.contains(&line), "{forge}: no {line} in\n{metrics}");
    }
    service.terminate();
}

#[test]
fn on_gitlab_one_merge_request_through_retries_restarts_and_a_persons_no() {
    let w = demo_service::world(GITHUB_TOKEN);
    let fake = FakeGitLab::start();
    fake.add_project(PROJECT, Some(&w.server().repo_path("gitops")));
    fake.allow_token(FORGE_TOKEN);
    story(&w, Fake::GitLab(fake));
}

#[test]
fn on_gitea_one_pull_request_through_retries_restarts_and_a_persons_no() {
    let w = demo_service::world(GITHUB_TOKEN);
    let fake = FakeGitea::start();
    fake.add_repo("acme", "gitops", &w.server().repo_path("gitops"));
    fake.allow_token(FORGE_TOKEN);
    story(&w, Fake::Gitea(fake));
}

/// Gitea's and Forgejo's webhook: a signed `pull_request` delivery records the pull request's
/// fate on its job, once; an unsigned one is refused.
#[test]
fn on_gitea_a_signed_webhook_records_the_merge_once() {
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    let w = demo_service::world(GITHUB_TOKEN);
    let fake = FakeGitea::start();
    fake.add_repo("acme", "gitops", &w.server().repo_path("gitops"));
    fake.allow_token(FORGE_TOKEN);
    let fake = Fake::Gitea(fake);
    let config = fake.config(&w);
    let secret_file = config.parent().unwrap().join("gitea-hook-secret");
    std::fs::write(&secret_file, "gitea-hook").unwrap();
    let text = std::fs::read_to_string(&config).unwrap();
    let text = text.replacen(
        "gitea:\n",
        &format!("gitea:\n  webhook_secret_file: {}\n", secret_file.display()),
        1,
    );
    std::fs::write(&config, text).unwrap();
    let service = Service::start(Path::new(env!("CARGO_BIN_EXE_revertbot")), &config, &[]);
    service.wait_ready();
    let (status, _) = service.post_alerts(
        WEBHOOK_TOKEN,
        &alert_body("firing", Duration::from_secs(60)),
    );
    assert_eq!(status, 200);
    let job = newest_ended(&w, &config, 0, &service);
    let url = job["pr_url"].as_str().unwrap().to_string();

    let body = json!({
        "action": "closed",
        "number": 1,
        "pull_request": {"html_url": url, "merged": true, "created_at": "2026-12-06T10:00:00Z",
                         "merged_at": "2026-12-06T10:02:00Z", "closed_at": "2026-12-06T10:02:00Z",
                         "merged_by": {"login": "dana"}},
        "sender": {"login": "dana"}
    })
    .to_string();
    let mut mac = Hmac::<Sha256>::new_from_slice(b"gitea-hook").unwrap();
    mac.update(body.as_bytes());
    let signature: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let send = |headers: &[(&str, &str)]| {
        let (status, answer) =
            common::http_post(&service.url("/webhooks/gitea"), headers, body.as_bytes());
        (status, String::from_utf8_lossy(&answer).into_owned())
    };
    let (status, _) = send(&[
        ("X-Gitea-Event", "pull_request"),
        ("X-Gitea-Delivery", "g-1"),
    ]);
    assert_eq!(status, 401, "unsigned");
    let gitea = [
        ("X-Gitea-Event", "pull_request"),
        ("X-Gitea-Delivery", "g-1"),
        ("X-Gitea-Signature", signature.as_str()),
    ];
    let (status, answer) = send(&gitea);
    assert_eq!(
        (status, answer.as_str()),
        (200, r#"{"recorded":1,"state":"merged"}"#)
    );
    // Forgejo names its headers its own way; the same delivery again changes nothing.
    let forgejo = [
        ("X-Forgejo-Event", "pull_request"),
        ("X-Forgejo-Delivery", "g-1"),
        ("X-Forgejo-Signature", signature.as_str()),
    ];
    let (status, answer) = send(&forgejo);
    assert_eq!((status, answer.as_str()), (200, r#"{"replayed":true}"#));
    let job = w.history(&config)["jobs"][0].clone();
    assert_eq!(job["pr_state"], "merged", "{job}");
    assert_eq!(job["pr_closed_by"], "dana", "{job}");
    let metrics = common::http_get(&service.url("/metrics")).unwrap();
    assert!(String::from_utf8_lossy(&metrics.1)
        .contains("revertbot_pull_request_merge_seconds_count 1"));
    service.terminate();
}
