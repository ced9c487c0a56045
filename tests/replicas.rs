//! Several `revertbot serve` replicas on one PostgreSQL journal, as people run it for high
//! availability: a real PostgreSQL (a throwaway cluster), the real git server over smart HTTP,
//! the fake GitHub. Deliveries go to every replica; a replica killed in the middle of a job is
//! taken over; the database going away and coming back loses nothing.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use common::{eventually, http_get};
use revertbot::gitstore::RepoWriter;
use revertbot_testkit::postgres::Postgres;
use revertbot_testkit::service::Service;
use revertbot_testkit::world::{Builder, World, OWNER, REPO};
use serde_json::json;

const TOKEN: &str = "ghp_revertbot_replicas";
const WEBHOOK_TOKEN: &str = "webhook-token";
const IMAGES: usize = 10;

/// A GitOps repository with `IMAGES` applications, each bumped from 1.0.0 to 1.1.0 by a commit
/// of its own: ten culprits.
fn gitops(dir: &Path) {
    let mut w = RepoWriter::init(dir).unwrap();
    for i in 0..IMAGES {
        w.write(
            &format!("apps/app{i}/deployment.yaml"),
            &deployment(i, "1.0.0"),
        );
    }
    w.commit("apps at 1.0.0").unwrap();
    for i in 0..IMAGES {
        w.write(
            &format!("apps/app{i}/deployment.yaml"),
            &deployment(i, "1.1.0"),
        );
        w.commit(&format!("chore(deps): update ghcr.io/acme/app{i} to 1.1.0"))
            .unwrap();
    }
}

fn deployment(i: usize, tag: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app{i}\n  namespace: prod\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: ghcr.io/acme/app{i}:{tag}\n"
    )
}

fn image(i: usize) -> String {
    format!("ghcr.io/acme/app{i}:1.1.0")
}

/// Alertmanager's webhook body for image `i`'s alert.
fn delivery(i: usize) -> Vec<u8> {
    let starts =
        (Utc::now() - chrono::Duration::seconds(60)).to_rfc3339_opts(SecondsFormat::Secs, true);
    json!({
        "receiver": "revertbot",
        "status": "firing",
        "alerts": [{
            "status": "firing",
            "labels": {
                "alertname": "HighErrorRate",
                "severity": "critical",
                "namespace": "prod",
                "image": image(i),
            },
            "annotations": { "summary": "5xx ratio above 5%" },
            "startsAt": starts,
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.acme.example:9090/graph",
            "fingerprint": format!("{i:016x}")
        }],
        "groupLabels": { "alertname": "HighErrorRate" },
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.acme.example:9093",
        "version": "4",
        "groupKey": format!("{{}}:{{image=\"{}\"}}", image(i)),
        "truncatedAlerts": 0
    })
    .to_string()
    .into_bytes()
}

/// The ten culprits on the git server and the fake GitHub, and `replicas` services' directories
/// (their own data_dir, for mirrors), their journal in one PostgreSQL.
fn world(replicas: usize) -> Builder {
    World::build(Path::new(env!("CARGO_BIN_EXE_revertbot")), TOKEN, gitops)
        .postgres_journal(Postgres::start())
        .replicas(replicas)
}

fn sql(w: &World, query: &str) -> String {
    w.postgres().psql("postgres", query)
}

fn unfinished(w: &World) -> u32 {
    sql(
        w,
        "SELECT count(*) FROM jobs WHERE state IN ('queued', 'running')",
    )
    .parse()
    .unwrap()
}

/// Posts until one of `replicas`, starting at `first`, takes it (as Alertmanager, behind a
/// load balancer, sends again on a 5xx or a refused connection).
fn post(replicas: &[&Service], first: usize, body: &[u8]) {
    for attempt in 0..300 {
        let svc = replicas[(first + attempt) % replicas.len()];
        let (status, _) = svc.post_alerts(WEBHOOK_TOKEN, body);
        if status == 200 {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no replica took the delivery");
}

fn probe(svc: &Service, path: &str) -> u16 {
    http_get(&svc.url(path)).map_or(0, |(status, _)| status)
}

/// Whether the replica is in the middle of a job now.
fn busy(svc: &Service) -> bool {
    let log = svc.log();
    let started = log.matches("job started").count();
    let ended = log.matches("job done").count() + log.matches("job failed").count();
    started > ended
}

#[test]
fn three_replicas_survive_a_kill_open_one_pull_request_per_culprit_and_share_the_guard() {
    // Each push takes a second at the server: jobs last long enough to kill one mid-way.
    let w = world(3).slow_pushes(1).start();
    let guard = "  max_rollbacks_per_repo_per_hour: 6";
    let configs: Vec<PathBuf> = (0..3).map(|n| w.replica_config(n, guard)).collect();
    let mut replicas: Vec<Service> = configs.iter().map(|c| w.serve(c)).collect();
    for r in &replicas {
        r.wait_ready();
    }

    // 100 deliveries about 10 images, round-robin to the three.
    {
        let all: Vec<&Service> = replicas.iter().collect();
        for d in 0..100 {
            post(&all, d % 3, &delivery(d % IMAGES));
        }
    }
    // Kill -9 a replica in the middle of a job, and start it again.
    assert!(
        eventually(Duration::from_secs(60), || replicas.iter().any(busy)),
        "no replica took a job"
    );
    let victim = replicas.iter().position(busy).unwrap();
    let victim_pid = replicas[victim].pid();
    replicas.remove(victim).kill();
    replicas.insert(victim, w.serve(&configs[victim]));

    // 100 more, to all three again.
    {
        let all: Vec<&Service> = replicas.iter().collect();
        for d in 100..200 {
            post(&all, d % 3, &delivery(d % IMAGES));
        }
    }
    let logs = || {
        replicas
            .iter()
            .map(Service::log)
            .collect::<Vec<_>>()
            .join("\n----\n")
    };
    assert!(
        eventually(Duration::from_secs(120), || unfinished(&w) == 0),
        "jobs did not finish:\n{}",
        logs()
    );

    // Every delivery in the journal; every job ended with an outcome.
    assert_eq!(sql(&w, "SELECT count(*) FROM deliveries"), "200");
    assert_eq!(
        sql(&w, "SELECT count(*) FROM alerts WHERE job_id IS NULL OR decision NOT IN ('queued', 'coalesced')"),
        "0"
    );
    assert_eq!(
        sql(
            &w,
            "SELECT count(*) FROM jobs WHERE outcome IS NULL OR state NOT IN ('done', 'failed')"
        ),
        "0"
    );
    // The guard counted across replicas: six rollbacks in the hour, whoever ran them.
    let pulls = w.github().pulls(OWNER, REPO);
    assert_eq!(
        pulls.len(),
        6,
        "{:#?}\n{}",
        pulls.iter().map(|p| &p.head).collect::<Vec<_>>(),
        logs()
    );
    let mut heads: Vec<String> = pulls.iter().map(|p| p.head.clone()).collect();
    heads.sort();
    heads.dedup();
    assert_eq!(heads.len(), 6, "one pull request per culprit");
    let mut branches = w.rollback_branches();
    branches.sort();
    assert_eq!(
        branches, heads,
        "one branch per culprit, each with its pull request"
    );
    let refused: u32 = sql(
        &w,
        "SELECT count(*) FROM jobs WHERE error_code = 'max_rollbacks_per_repo_per_hour'",
    )
    .parse()
    .unwrap();
    assert!(
        refused >= 4,
        "the other culprits were refused by the guard: {refused}"
    );
    // The job the killed replica held was put back by its restart and finished by a live
    // process.
    let restarted = replicas[victim].log();
    let job: i64 = restarted
        .split("job ")
        .find_map(|rest| {
            let (id, tail) = rest.split_once(' ')?;
            tail.starts_with(&format!("was running in process {victim_pid},"))
                .then(|| id.parse().ok())?
        })
        .unwrap_or_else(|| panic!("the restart did not take back the killed job:\n{}", logs()));
    let (state, ran_by) = {
        let row = sql(
            &w,
            &format!("SELECT state, ran_by FROM jobs WHERE id = {job}"),
        );
        let (state, ran_by) = row.split_once('|').unwrap();
        (state.to_string(), ran_by.to_string())
    };
    assert_eq!(state, "done");
    assert!(
        !ran_by.contains(&format!("-{victim_pid}/")),
        "finished by {ran_by}, the killed process"
    );
    // `history` on any replica shows every replica's work.
    let h = w.history_of_last(&configs[0], 500);
    assert_eq!(h["deliveries"].as_array().unwrap().len(), 200);
    let jobs = h["jobs"].as_array().unwrap();
    assert!(jobs.iter().all(|j| j["ran_by"].is_string()), "{jobs:#?}");
}

#[test]
fn the_database_going_away_answers_503_and_loses_nothing_when_it_is_back() {
    let w = world(1).start();
    let config = w.config("");
    let svc = w.serve(&config);
    svc.wait_ready();
    assert_eq!(probe(&svc, "/readyz"), 200);

    let (status, _) = svc.post_alerts(WEBHOOK_TOKEN, &delivery(0));
    assert_eq!(status, 200);
    w.postgres().stop();
    let (status, body) = svc.post_alerts(WEBHOOK_TOKEN, &delivery(1));
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("send it again later"), "{body}");
    assert_eq!(probe(&svc, "/readyz"), 503);
    assert_eq!(probe(&svc, "/healthz"), 200, "alive, only not ready");

    // Alertmanager sends again until the journal is back.
    let resend = std::thread::scope(|s| {
        let sender = s.spawn(|| post(&[&svc], 0, &delivery(1)));
        std::thread::sleep(Duration::from_secs(2));
        w.postgres().start_again();
        sender.join()
    });
    resend.unwrap();
    assert!(
        eventually(Duration::from_secs(10), || probe(&svc, "/readyz") == 200),
        "{}",
        svc.log()
    );
    assert!(
        eventually(Duration::from_secs(60), || unfinished(&w) == 0),
        "{}",
        svc.log()
    );
    assert_eq!(sql(&w, "SELECT count(*) FROM deliveries"), "2");
    let pulls = w.github().pulls(OWNER, REPO);
    assert_eq!(pulls.len(), 2, "{}", svc.log());
    assert_eq!(
        sql(&w, "SELECT string_agg(outcome, ',' ORDER BY id) FROM jobs"),
        "created,created"
    );
    assert!(svc.log().contains("the journal is back"), "{}", svc.log());
}
