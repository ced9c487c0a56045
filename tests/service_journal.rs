//! `revertbot serve` end to end, when its journal is in trouble or asked the same thing many
//! times: a data_dir that fills up while a push is in flight (a small tmpfs mounted by the
//! test, as root), a journal deleted under the running service and the restart that follows,
//! and one resolution delivered fifty times at once — noted once, on the fake GitHub and on the
//! local forge. The GitOps repository is on the real git server over smart HTTP.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use common::service::Service;
use common::{eventually, http_get};
use revertbot::journal::Journal;
use revertbot_testkit::tmpfs::Tmpfs;
use revertbot_testkit::world::{Builder, World, OWNER, REPO};
use serde_json::json;

const TOKEN: &str = "ghp_revertbot_service_token";
const WEBHOOK_TOKEN: &str = "webhook-token";
const IMAGE: &str = "ghcr.io/acme/frontend:1.5.0";

/// The demo repository on the git server and the fake GitHub: build it with `local_forge()`
/// to keep pull requests in the journal.
fn world() -> Builder {
    World::build(Path::new(env!("CARGO_BIN_EXE_revertbot")), TOKEN, |dir| {
        revertbot::demo::build(dir).unwrap();
    })
}

/// `serve` on the world's configuration, ready; and the configuration.
fn serve_ready(w: &World) -> (PathBuf, Service) {
    let config = w.config("");
    let svc = w.serve(&config);
    svc.wait_ready();
    (config, svc)
}

/// The journal, opened as `history` opens it, beside the service.
fn journal(w: &World) -> revertbot::journal::SqliteJournal {
    revertbot::journal::SqliteJournal::open(&w.data_dir()).unwrap()
}

fn rfc3339(ago: Duration) -> String {
    (Utc::now() - chrono::Duration::from_std(ago).unwrap())
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A webhook body as Alertmanager sends it, firing or resolved; the alert started a minute ago.
fn webhook_body(resolved: bool) -> Vec<u8> {
    let status = if resolved { "resolved" } else { "firing" };
    let ends = if resolved {
        rfc3339(Duration::ZERO)
    } else {
        "0001-01-01T00:00:00Z".into()
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
                "image": IMAGE,
            },
            "annotations": { "summary": "frontend: 5xx ratio above 5% for 5 minutes" },
            "startsAt": rfc3339(Duration::from_secs(60)),
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

/// Runs revertbot with `args` and `config`, which is expected to end by itself: killed after
/// 30 s (a `serve` that should have refused to start would run for ever).
fn run(args: &[&str], config: &Path) -> std::process::Output {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_revertbot"))
        .args(args)
        .arg(config)
        .env("GITHUB_TOKEN", TOKEN)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (done, waited) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if waited.recv_timeout(Duration::from_secs(30)).is_err() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    });
    let out = child.wait_with_output().unwrap();
    let _ = done.send(());
    watchdog.join().unwrap();
    out
}

fn readyz(svc: &Service) -> u16 {
    http_get(&svc.url("/readyz")).map_or(0, |(status, _)| status)
}

/// Whether every job is done, and there are `n`.
fn all_done(w: &World, n: usize) -> bool {
    let jobs = journal(w).jobs(100).unwrap();
    jobs.len() == n && jobs.iter().all(|j| j.state == "done")
}

/// The disk fills up while the rollback's branch is being pushed: the job is not failed but
/// waits, keeping its claim; `/readyz` and deliveries say 503; once there is room the job ends
/// with its pull request, and `/readyz` says 200.
#[test]
fn a_full_data_dir_holds_the_job_until_there_is_room_then_it_opens_its_pull_request() {
    // Each push takes 3 s at the server: time to fill the disk in the middle of one.
    let w = world().local_forge().slow_pushes(3).start();
    let Some(disk) = Tmpfs::mount_at(&w.data_dir(), "32m") else {
        println!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let (_, svc) = serve_ready(&w);
    let (status, body) = svc.post_alerts(WEBHOOK_TOKEN, &webhook_body(false));
    assert_eq!(status, 200, "{body}");
    assert!(
        eventually(Duration::from_secs(20), || svc
            .log()
            .contains("job started")),
        "{}",
        svc.log()
    );
    std::thread::sleep(Duration::from_millis(1_000));
    let filler = disk.fill();

    assert!(
        eventually(Duration::from_secs(10), || readyz(&svc) == 503),
        "ready with a full disk:\n{}",
        svc.log()
    );
    assert!(
        eventually(Duration::from_secs(20), || svc
            .log()
            .contains("it keeps its claim and runs again once there is room")),
        "{}",
        svc.log()
    );
    let (status, body) = svc.post_alerts(WEBHOOK_TOKEN, &webhook_body(false));
    assert_eq!(status, 503, "a delivery the journal cannot take: {body}");
    std::thread::sleep(Duration::from_secs(2));
    assert!(!svc.log().contains("job failed"), "{}", svc.log());

    std::fs::remove_file(filler).unwrap();
    assert!(
        eventually(Duration::from_secs(40), || all_done(&w, 1)),
        "the job did not end once there was room:\n{}",
        svc.log()
    );
    let job = &journal(&w).jobs(10).unwrap()[0];
    assert_eq!(job.pr_number, Some(1), "{job:?}");
    assert!(
        matches!(job.outcome.as_deref(), Some("created" | "reused")),
        "{job:?}"
    );
    let pull = journal(&w)
        .local_pull(1)
        .unwrap()
        .expect("its pull request");
    assert_eq!(Some(pull.head), job.branch);
    assert!(eventually(Duration::from_secs(10), || readyz(&svc) == 200));
    assert!(svc.log().contains("there is room again"), "{}", svc.log());
    assert!(svc.terminate().success());
}

/// The journal is deleted under the running service: it stops taking deliveries and says so
/// loudly; started again, it refuses to begin a new journal beside the mirrors unless told to.
#[test]
fn a_journal_deleted_under_the_service_is_noticed_and_not_silently_made_again() {
    let w = world().local_forge().start();
    let (config, svc) = serve_ready(&w);
    let (status, body) = svc.post_alerts(WEBHOOK_TOKEN, &webhook_body(false));
    assert_eq!(status, 200, "{body}");
    assert!(
        eventually(Duration::from_secs(40), || all_done(&w, 1)),
        "{}",
        svc.log()
    );

    let journal = w.data_dir().join(revertbot::journal::FILE_NAME);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", journal.display()));
    }
    assert!(
        eventually(Duration::from_secs(10), || readyz(&svc) == 503),
        "{}",
        svc.log()
    );
    let (status, body) = svc.post_alerts(WEBHOOK_TOKEN, &webhook_body(false));
    assert_eq!(status, 503, "{body}");
    let said = format!(
        "journal {} was deleted or moved while revertbot was running",
        journal.display()
    );
    assert!(
        svc.log()
            .lines()
            .filter(|l| l.contains(" ERROR ") && l.contains(&said))
            .count()
            == 1,
        "said once, loudly:\n{}",
        svc.log()
    );
    svc.kill();

    let out = run(&["serve", "--config"], &config);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "data_dir {}: the journal {} is missing, though the directory was used (it holds mirrors): it was deleted or moved; put it back (restore it from a backup), or start with --new-journal to begin a new one",
            w.data_dir().display(),
            journal.display()
        )),
        "{stderr}"
    );
    assert!(!journal.exists(), "no journal made");

    let svc = w.serve_with_flags(&config, &["--new-journal"]);
    svc.wait_ready();
    assert!(
        svc.log()
            .contains("beginning a new one, as --new-journal asks"),
        "{}",
        svc.log()
    );
    assert!(journal.exists());
    assert!(svc.terminate().success());
}

/// Fifty deliveries of one resolution at once, then two more: one comment on the pull request.
fn resolved_fifty_times(w: &World, svc: &Service) {
    let (status, body) = svc.post_alerts(WEBHOOK_TOKEN, &webhook_body(false));
    assert_eq!(status, 200, "{body}");
    assert!(
        eventually(Duration::from_secs(40), || all_done(w, 1)),
        "{}",
        svc.log()
    );
    let resolved = webhook_body(true);
    std::thread::scope(|s| {
        for _ in 0..50 {
            s.spawn(|| {
                let (status, body) = svc.post_alerts(WEBHOOK_TOKEN, &resolved);
                assert_eq!(status, 200, "{body}");
            });
        }
    });
    let settled = || {
        let jobs = journal(w).jobs(100).unwrap();
        jobs.iter().all(|j| j.state == "done")
    };
    assert!(
        eventually(Duration::from_secs(40), settled),
        "{}",
        svc.log()
    );
    for _ in 0..2 {
        let (status, body) = svc.post_alerts(WEBHOOK_TOKEN, &resolved);
        assert_eq!(status, 200, "{body}");
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            eventually(Duration::from_secs(40), settled),
            "{}",
            svc.log()
        );
    }
    let outcomes: Vec<String> = journal(w)
        .jobs(100)
        .unwrap()
        .iter()
        .filter(|j| j.kind == revertbot::journal::JobKind::Resolved)
        .filter_map(|j| j.outcome.clone())
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| *o == "commented").count(),
        1,
        "{outcomes:?}"
    );
}

#[test]
fn one_resolution_delivered_fifty_times_is_noted_once_on_github() {
    let w = world().start();
    let (_, svc) = serve_ready(&w);
    resolved_fifty_times(&w, &svc);
    let notes = w
        .github()
        .comments(OWNER, REPO, 1)
        .into_iter()
        .filter(|c| c.body.contains("<!-- revertbot:resolved -->"))
        .count();
    assert_eq!(notes, 1);
    assert!(svc.terminate().success());
}

#[test]
fn one_resolution_delivered_fifty_times_is_noted_once_on_the_local_forge() {
    let w = world().local_forge().start();
    let (_, svc) = serve_ready(&w);
    resolved_fifty_times(&w, &svc);
    let pull = journal(&w).local_pull(1).unwrap().expect("pull request #1");
    let notes = pull
        .comments
        .iter()
        .filter(|c| c.body.contains("<!-- revertbot:resolved -->"))
        .count();
    assert_eq!(notes, 1, "{:?}", pull.comments);
    assert!(svc.terminate().success());
}

/// A journal that is not a database: `serve` and `history` name the file and what to do, in
/// one line, and exit 2.
#[test]
fn a_journal_that_is_not_a_database_is_named_with_what_to_do() {
    let w = world().local_forge().start();
    let config = w.config("");
    std::fs::create_dir_all(w.data_dir()).unwrap();
    let journal = w.data_dir().join(revertbot::journal::FILE_NAME);
    std::fs::write(
        &journal,
        "these are not the pages you are looking for\n".repeat(200),
    )
    .unwrap();
    let said = format!(
        "journal: {} is not a SQLite database: restore it from a backup or move it away",
        journal.display()
    );
    for command in ["serve", "history"] {
        let out = run(&[command, "--config"], &config);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command}: {stderr}");
        let last = stderr.lines().last().unwrap_or_default();
        assert!(last.ends_with(&said), "{command}: {stderr}");
    }
}
