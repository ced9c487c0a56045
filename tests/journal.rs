//! The journal on a real SQLite file: what it records, how jobs coalesce, how they are claimed
//! (one per repository, leases that run out), and several handles — as several processes on
//! one data_dir would hold — never taking one job twice.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use revertbot::journal::{
    Decision, Failure, Finished, JobKind, Journal, NewAlert, NewDelivery, NewJob,
};

fn alert(fingerprint: &str, decision: Decision) -> NewAlert {
    NewAlert {
        fingerprint: fingerprint.into(),
        alertname: "HighErrorRate".into(),
        status: "firing".into(),
        starts_at: "2026-11-30T10:00:00Z".into(),
        rule: Some("bad-image".into()),
        decision,
    }
}

fn job(repo: &str, image: &str) -> Decision {
    Decision::Job(NewJob {
        kind: JobKind::Rollback,
        repo: repo.into(),
        target: image.into(),
        alert: "{}".into(),
        alert_start: Some(1_796_000_000),
    })
}

fn delivery(alerts: Vec<NewAlert>) -> NewDelivery {
    NewDelivery {
        received_at: 1_000,
        receiver: "revertbot".into(),
        group_key: "{}:{}".into(),
        status: "firing".into(),
        payload: "{\"version\":\"4\"}".into(),
        alerts,
    }
}

#[test]
fn records_deliveries_and_coalesces_alerts_for_one_target() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(dir.path()).unwrap();
    let recorded = j
        .record(
            &[
                delivery(vec![
                    alert("a1", job("gitops", "ghcr.io/acme/api:1.2.3")),
                    alert("a2", job("gitops", "ghcr.io/acme/api:1.2.3")),
                    alert("a3", Decision::Unmatched),
                    alert(
                        "a4",
                        Decision::Skipped {
                            repo: Some("gitops".into()),
                            reason: "guard max_alert_age".into(),
                        },
                    ),
                ]),
                delivery(vec![alert("a1", job("gitops", "ghcr.io/acme/api:1.2.3"))]),
            ],
            5_000,
        )
        .unwrap();
    assert_eq!(
        recorded[0].decisions,
        ["queued", "coalesced", "unmatched", "skipped"]
    );
    assert_eq!(recorded[0].new_jobs, 1);
    assert_eq!(recorded[1].decisions, ["coalesced"]);
    assert_eq!(recorded[1].new_jobs, 0);
    let jobs = j.jobs(10).unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].alerts, 3, "three alerts joined the one job");
    assert_eq!(j.delivery_count().unwrap(), 2);

    // Durable: another handle (a restart) sees it all; migrations run again harmlessly.
    drop(j);
    let again = Journal::open(dir.path()).unwrap();
    let deliveries = again.deliveries(10).unwrap();
    assert_eq!(deliveries.len(), 2);
    assert_eq!(
        deliveries[1].alerts[3].reason.as_deref(),
        Some("guard max_alert_age")
    );
    assert_eq!(again.pending().unwrap(), 1);
}

#[test]
fn one_job_per_repository_at_a_time_and_leases_run_out() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(dir.path()).unwrap();
    j.record(
        &[delivery(vec![
            alert("a", job("gitops", "app:2")),
            alert("b", job("gitops", "worker:2")),
            alert("c", job("other", "app:2")),
        ])],
        0,
    )
    .unwrap();
    let first = j.claim("w1", 10, 1_000).unwrap().unwrap();
    assert_eq!(
        (first.repo.as_str(), first.target.as_str(), first.attempt),
        ("gitops", "app:2", 1)
    );
    let second = j.claim("w2", 10, 1_000).unwrap().unwrap();
    assert_eq!(second.repo, "other", "gitops has a job running");
    assert!(j.claim("w3", 10, 1_000).unwrap().is_none());

    // w1 dies: its lease runs out, and another worker takes the job over.
    let taken_over = j.claim("w3", 1_001, 2_000).unwrap().unwrap();
    assert_eq!((taken_over.id, taken_over.attempt), (first.id, 2));
    assert!(
        !j.renew(first.id, "w1", 5_000).unwrap(),
        "w1 no longer holds it"
    );
    assert!(j.renew(first.id, "w3", 5_000).unwrap());

    j.finish(
        first.id,
        1_500,
        &Finished {
            outcome: "created".into(),
            pr_number: Some(7),
            branch: Some("revertbot/app-abc".into()),
            ..Finished::default()
        },
    )
    .unwrap();
    let next = j.claim("w3", 1_600, 2_000).unwrap().unwrap();
    assert_eq!(next.target, "worker:2");
    assert_eq!(j.rollbacks_since("gitops", 0).unwrap(), 1);
    assert_eq!(
        j.last_pull("gitops", "app:2").unwrap(),
        Some((7, "revertbot/app-abc".into()))
    );
}

#[test]
fn a_transient_failure_waits_for_its_retry_time_and_a_permanent_one_ends_the_job() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(dir.path()).unwrap();
    j.record(&[delivery(vec![alert("a", job("gitops", "app:2"))])], 0)
        .unwrap();
    let claimed = j.claim("w", 0, 1_000).unwrap().unwrap();
    j.fail(
        claimed.id,
        10,
        &Failure {
            kind: "transient".into(),
            code: None,
            message: "timed out".into(),
            retry_at: Some(5_000),
        },
    )
    .unwrap();
    assert!(j.claim("w", 4_999, 6_000).unwrap().is_none());
    let again = j.claim("w", 5_000, 6_000).unwrap().unwrap();
    assert_eq!(again.attempt, 2);
    j.fail(
        again.id,
        5_010,
        &Failure {
            kind: "cannot_revert".into(),
            code: Some("revert_of_revert".into()),
            message: "is itself a revert".into(),
            retry_at: None,
        },
    )
    .unwrap();
    assert!(j.claim("w", 1_000_000, 1_001_000).unwrap().is_none());
    let record = &j.jobs(1).unwrap()[0];
    assert_eq!(record.state, "failed");
    assert_eq!(record.error.as_deref(), Some("is itself a revert"));

    // A new alert for the same target after the failure makes a new job.
    let r = j
        .record(&[delivery(vec![alert("a", job("gitops", "app:2"))])], 6_000)
        .unwrap();
    assert_eq!(r[0].decisions, ["queued"]);
}

#[test]
fn handles_on_one_data_dir_never_take_a_job_twice() {
    let dir = tempfile::tempdir().unwrap();
    let setup = Journal::open(dir.path()).unwrap();
    let alerts: Vec<NewAlert> = (0..40)
        .map(|i| {
            alert(
                &format!("f{i}"),
                job(&format!("repo{}", i % 5), &format!("app:{i}")),
            )
        })
        .collect();
    setup.record(&[delivery(alerts)], 0).unwrap();
    drop(setup);

    let taken: Arc<Mutex<Vec<(i64, String)>>> = Arc::default();
    let running: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
    std::thread::scope(|s| {
        for w in 0..4 {
            let (taken, running) = (taken.clone(), running.clone());
            let dir = dir.path().to_path_buf();
            s.spawn(move || {
                // Each thread its own connection, as a process of its own would have.
                let j = Journal::open(&dir).unwrap();
                let me = format!("w{w}");
                while let Some(job) = j.claim(&me, 10, 1_000_000).unwrap() {
                    {
                        let mut r = running.lock().unwrap();
                        let n = r.entry(job.repo.clone()).or_default();
                        *n += 1;
                        assert_eq!(*n, 1, "two jobs of {} ran at once", job.repo);
                    }
                    taken.lock().unwrap().push((job.id, me.clone()));
                    std::thread::sleep(std::time::Duration::from_millis(2));
                    *running.lock().unwrap().get_mut(&job.repo).unwrap() -= 1;
                    j.finish(
                        job.id,
                        20,
                        &Finished {
                            outcome: "created".into(),
                            ..Finished::default()
                        },
                    )
                    .unwrap();
                }
            });
        }
    });
    let taken = taken.lock().unwrap();
    let ids: BTreeSet<i64> = taken.iter().map(|(id, _)| *id).collect();
    assert_eq!(taken.len(), 40, "each job taken once");
    assert_eq!(ids.len(), 40);
    let workers: BTreeSet<&str> = taken.iter().map(|(_, w)| w.as_str()).collect();
    assert!(workers.len() > 1, "the work was shared: {workers:?}");
}

#[test]
fn a_journal_of_an_earlier_version_is_brought_up_to_date_keeping_its_jobs() {
    let dir = tempfile::tempdir().unwrap();
    {
        // The journal as the first release wrote it.
        let conn =
            rusqlite::Connection::open(dir.path().join(revertbot::journal::FILE_NAME)).unwrap();
        conn.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);
             INSERT INTO schema_migrations VALUES (1, 0);",
        )
        .unwrap();
        conn.execute_batch(include_str!("../src/journal/migrations/0001_journal.sql"))
            .unwrap();
        conn.execute(
            "INSERT INTO jobs (kind, repo, image, alert, state, not_before, created_at, updated_at)
             VALUES ('rollback', 'gitops', 'app:2', '{}', 'queued', 0, 0, 0)",
            [],
        )
        .unwrap();
    }
    let j = Journal::open(dir.path()).unwrap();
    let jobs = j.jobs(10).unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        (jobs[0].repo.as_str(), jobs[0].target.as_str()),
        ("gitops", "app:2")
    );
    let claimed = j.claim("w", 1, 1_000).unwrap().unwrap();
    assert_eq!(claimed.target, "app:2");
}
