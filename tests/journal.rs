//! The journal, one suite run against both backends — a real SQLite file and a real
//! PostgreSQL (a throwaway cluster per test): what it records, how jobs coalesce, how they are
//! claimed (one per repository, leases that run out), the forge a finished job's pull request
//! went to (none for a journal's jobs from before it was kept), and several handles — as several
//! processes or replicas would hold — never taking one job twice. Then what only one backend
//! has: SQLite's upgrade from an earlier schema; PostgreSQL's migrations under a lock, its
//! password and TLS, and a database that goes away and comes back.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Barrier, Mutex};

use revertbot::image::ImageRef;
use revertbot::journal::{
    self, Decision, Failure, Finished, JobKind, Journal, LocalPullOutcome, Location, NewAlert,
    NewDelivery, NewJob, NewLocalPull, OpenPull, PostgresSettings, Pruned, PullEvent, SslMode,
    PRUNE_BATCH,
};
use revertbot::manifest::kustomize::WorkloadKind;
use revertbot::subject::{Named, Subject};
use revertbot_testkit::postgres::Postgres;

/// Where a test's journal lives; it lasts as long as this.
enum Store {
    Sqlite(tempfile::TempDir),
    Postgres(Postgres),
}

impl Store {
    fn sqlite() -> Store {
        Store::Sqlite(tempfile::tempdir().unwrap())
    }

    fn postgres() -> Store {
        Store::Postgres(Postgres::start())
    }

    fn location(&self) -> Location {
        match self {
            Store::Sqlite(dir) => Location::Sqlite {
                data_dir: dir.path().to_path_buf(),
            },
            Store::Postgres(pg) => Location::Postgres(settings(pg.url())),
        }
    }

    /// A handle of its own, as another process (or replica) would hold.
    fn open(&self) -> Arc<dyn Journal> {
        journal::open(&self.location()).unwrap()
    }
}

fn settings(url: String) -> PostgresSettings {
    PostgresSettings {
        url,
        password: None,
        ssl_mode: SslMode::Disable,
        root_cert: None,
        pool_size: 4,
        application_name: "revertbot-test".into(),
    }
}

/// Each scenario, as a test on each backend.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(super::Store::sqlite()) } )*
        }
        mod postgresql {
            $( #[test] fn $name() { super::$name(super::Store::postgres()) } )*
        }
    };
}

on_both_backends!(
    records_deliveries_and_coalesces_alerts_for_one_target,
    one_job_per_repository_at_a_time_and_leases_run_out,
    a_transient_failure_waits_for_its_retry_time_and_a_permanent_one_ends_the_job,
    handles_never_take_a_job_twice_nor_run_two_of_one_repository,
    handles_recording_alerts_for_one_target_at_once_make_one_job,
    a_worker_whose_lease_ran_out_cannot_record_an_outcome_over_the_new_one,
    a_local_pull_is_opened_once_per_head_and_numbered_across_repositories,
    the_occurrence_comment_waits_for_its_interval_and_is_never_empty,
    a_local_pull_reads_back_with_its_comments_oldest_first,
    handles_ensuring_one_head_at_once_make_one_local_pull_and_one_comment,
    pruning_deletes_old_deliveries_and_ended_jobs_and_keeps_open_work,
    pruning_goes_a_batch_at_a_time_oldest_first,
    a_job_is_claimed_with_its_subject_as_it_was_recorded,
    a_finished_jobs_forge_is_kept_and_an_old_journals_jobs_have_none,
    open_pull_requests_are_listed_once_until_their_forge_tells_of_them,
);

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
    job_of(repo, Subject::Image(ImageRef::parse(image).unwrap()))
}

fn job_of(repo: &str, subject: Subject) -> Decision {
    Decision::Job(NewJob::new(
        JobKind::Rollback,
        repo.into(),
        subject,
        "{}".into(),
        Some(1_796_000_000),
    ))
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

fn delivery_at(received_at: i64, alerts: Vec<NewAlert>) -> NewDelivery {
    NewDelivery {
        received_at,
        ..delivery(alerts)
    }
}

fn records_deliveries_and_coalesces_alerts_for_one_target(store: Store) {
    let j = store.open();
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
    let again = store.open();
    let deliveries = again.deliveries(10).unwrap();
    assert_eq!(deliveries.len(), 2);
    assert_eq!(
        deliveries[1].alerts[3].reason.as_deref(),
        Some("guard max_alert_age")
    );
    assert_eq!(again.pending().unwrap(), 1);
}

fn one_job_per_repository_at_a_time_and_leases_run_out(store: Store) {
    let j = store.open();
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

    assert!(j
        .finish(
            first.id,
            "w3",
            1_500,
            &Finished {
                outcome: "created".into(),
                pr_number: Some(7),
                pr_url: Some("https://github.com/acme/gitops/pull/7".into()),
                branch: Some("revertbot/app-abc".into()),
                forge: Some("github".into()),
                auto_merge: Some("squash (rule bad-image)".into()),
                auto_merge_method: Some("squash".into()),
                ..Finished::default()
            },
        )
        .unwrap());
    assert_eq!(
        j.jobs(10)
            .unwrap()
            .iter()
            .find(|r| r.id == first.id)
            .unwrap()
            .ran_by
            .as_deref(),
        Some("w3")
    );
    let detail = j.job(first.id).unwrap().unwrap();
    assert_eq!(detail.job.outcome.as_deref(), Some("created"));
    assert_eq!(detail.job.forge.as_deref(), Some("github"));
    assert_eq!(detail.received_at, Some(1_000), "its delivery's time");
    assert_eq!(detail.alert, "{}");
    assert!(j.job(9_999).unwrap().is_none());
    let next = j.claim("w3", 1_600, 2_000).unwrap().unwrap();
    assert_eq!(next.target, "worker:2");
    assert_eq!(j.rollbacks_since("gitops", 0).unwrap(), 1);
    // The auto-merge guard counts what every replica turned on, in its hour.
    assert_eq!(j.auto_merges_since("gitops", 0).unwrap(), 1);
    assert_eq!(j.auto_merges_since("gitops", 1_501).unwrap(), 0);
    assert_eq!(j.auto_merges_since("other", 0).unwrap(), 0);
    assert_eq!(
        j.job(first.id).unwrap().unwrap().job.auto_merge.as_deref(),
        Some("squash (rule bad-image)")
    );
    assert_eq!(
        j.last_pull("gitops", "app:2").unwrap(),
        Some(revertbot::journal::LastPull {
            number: 7,
            branch: "revertbot/app-abc".into(),
            url: Some("https://github.com/acme/gitops/pull/7".into()),
            merged_at: None,
        })
    );
}

fn a_transient_failure_waits_for_its_retry_time_and_a_permanent_one_ends_the_job(store: Store) {
    let j = store.open();
    j.record(&[delivery(vec![alert("a", job("gitops", "app:2"))])], 0)
        .unwrap();
    let claimed = j.claim("w", 0, 1_000).unwrap().unwrap();
    j.fail(
        claimed.id,
        "w",
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
        "w",
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

fn handles_never_take_a_job_twice_nor_run_two_of_one_repository(store: Store) {
    let setup = store.open();
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
            let store = &store;
            s.spawn(move || {
                // Each thread its own handle, as a process of its own would have.
                let j = store.open();
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
                        &me,
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

/// The migrations of the release before jobs recorded their forge, each backend's.
const SQLITE_BEFORE_FORGE: &[&str] = &[
    include_str!("../src/journal/sqlite/migrations/0001_journal.sql"),
    include_str!("../src/journal/sqlite/migrations/0002_target.sql"),
    include_str!("../src/journal/sqlite/migrations/0003_ran_by.sql"),
    include_str!("../src/journal/sqlite/migrations/0004_hold.sql"),
    include_str!("../src/journal/sqlite/migrations/0005_local_pulls.sql"),
    include_str!("../src/journal/sqlite/migrations/0006_retention.sql"),
    include_str!("../src/journal/sqlite/migrations/0007_resolved_notes.sql"),
    include_str!("../src/journal/sqlite/migrations/0008_subject.sql"),
];
const POSTGRES_BEFORE_FORGE: &[&str] = &[
    include_str!("../src/journal/postgres/migrations/0001_journal.sql"),
    include_str!("../src/journal/postgres/migrations/0002_hold.sql"),
    include_str!("../src/journal/postgres/migrations/0003_local_pulls.sql"),
    include_str!("../src/journal/postgres/migrations/0004_retention.sql"),
    include_str!("../src/journal/postgres/migrations/0005_resolved_notes.sql"),
    include_str!("../src/journal/postgres/migrations/0006_subject.sql"),
];

/// A rollback that opened a pull request, as a journal from before forges kept it.
const FINISHED_BEFORE_FORGE: &str = "INSERT INTO jobs
     (kind, repo, target, alert, state, not_before, created_at, updated_at, outcome, branch,
      pr_number, pr_url)
     VALUES ('rollback', 'gitops', 'app:1', '{}', 'done', 0, 0, 0, 'created', 'revertbot/app-1',
      7, 'https://github.com/acme/gitops/pull/7')";

/// The store's journal as the release before forges were recorded left it, with one finished
/// rollback.
fn journal_before_forges(store: &Store) {
    let schema_migrations =
        "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)";
    match store {
        Store::Sqlite(dir) => {
            let conn = rusqlite::Connection::open(dir.path().join(journal::FILE_NAME)).unwrap();
            conn.execute_batch(schema_migrations).unwrap();
            for (v, sql) in (1..).zip(SQLITE_BEFORE_FORGE) {
                conn.execute_batch(sql).unwrap();
                conn.execute("INSERT INTO schema_migrations VALUES (?1, 0)", [v])
                    .unwrap();
            }
            conn.execute(FINISHED_BEFORE_FORGE, []).unwrap();
        }
        Store::Postgres(pg) => {
            let mut client = postgres::Client::connect(&pg.url(), postgres::NoTls).unwrap();
            client.batch_execute(schema_migrations).unwrap();
            for (v, sql) in (1i64..).zip(POSTGRES_BEFORE_FORGE) {
                client.batch_execute(sql).unwrap();
                client
                    .execute("INSERT INTO schema_migrations VALUES ($1, 0)", &[&v])
                    .unwrap();
            }
            client.batch_execute(FINISHED_BEFORE_FORGE).unwrap();
        }
    }
}

fn a_finished_jobs_forge_is_kept_and_an_old_journals_jobs_have_none(store: Store) {
    journal_before_forges(&store);
    let j = store.open();
    let old = j.jobs(10).unwrap().remove(0);
    assert_eq!(
        (old.outcome.as_deref(), old.pr_number, old.forge.as_deref()),
        (Some("created"), Some(7), None),
        "migrated: the old rollback kept, its forge unknown"
    );
    assert_eq!(j.job(old.id).unwrap().unwrap().job.forge, None);

    // New jobs keep theirs: a pull request's forge, and none for a job that opened none.
    j.record(
        &[delivery(vec![
            alert("a", job("gitops", "app:2")),
            alert("b", job("other", "app:3")),
        ])],
        0,
    )
    .unwrap();
    let local = j.claim("w", 10, 1_000).unwrap().unwrap();
    let dry = j.claim("w", 10, 1_000).unwrap().unwrap();
    assert!(j
        .finish(
            local.id,
            "w",
            20,
            &Finished {
                outcome: "created".into(),
                pr_number: Some(1),
                pr_url: Some("/pulls/1".into()),
                forge: Some("local".into()),
                ..Finished::default()
            },
        )
        .unwrap());
    assert!(j
        .finish(
            dry.id,
            "w",
            20,
            &Finished {
                outcome: "dry-run".into(),
                ..Finished::default()
            },
        )
        .unwrap());
    // Read back by another handle, as `history` and the status page read them.
    let again = store.open();
    let forges: BTreeMap<i64, Option<String>> = again
        .jobs(10)
        .unwrap()
        .into_iter()
        .map(|r| (r.id, r.forge))
        .collect();
    assert_eq!(
        forges,
        BTreeMap::from([
            (old.id, None),
            (local.id, Some("local".into())),
            (dry.id, None)
        ])
    );
    assert_eq!(
        again.job(local.id).unwrap().unwrap().job.forge.as_deref(),
        Some("local")
    );
}

#[test]
fn sqlite_a_journal_of_an_earlier_version_is_brought_up_to_date_keeping_its_jobs() {
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
        conn.execute_batch(include_str!(
            "../src/journal/sqlite/migrations/0001_journal.sql"
        ))
        .unwrap();
        conn.execute(
            "INSERT INTO jobs (kind, repo, image, alert, state, not_before, created_at, updated_at)
             VALUES ('rollback', 'gitops', 'app:2', '{}', 'queued', 0, 0, 0)",
            [],
        )
        .unwrap();
        // A workload's job kept only its key; its candidates come from the alert's labels.
        conn.execute(
            "INSERT INTO jobs (kind, repo, image, alert, state, not_before, created_at, updated_at)
             VALUES ('rollback', 'other', 'workload:prod/Deployment/frontend:web', ?1, 'queued', 0, 0, 0)",
            [WORKLOAD_ALERT],
        )
        .unwrap();
    }
    let j = journal::open(&Location::Sqlite {
        data_dir: dir.path().to_path_buf(),
    })
    .unwrap();
    let jobs = j.jobs(10).unwrap();
    assert_eq!(jobs.len(), 2);
    assert_eq!(
        (jobs[1].repo.as_str(), jobs[1].target.as_str()),
        ("gitops", "app:2")
    );
    let claimed = j.claim("w", 1, 1_000).unwrap().unwrap();
    assert_eq!(claimed.target, "app:2");
    assert_eq!(
        claimed.subject,
        Ok(Subject::Image(ImageRef::parse("app:2").unwrap()))
    );
    let workload = j.claim("w", 1, 1_000).unwrap().unwrap();
    let Ok(Subject::Workload(candidates)) = &workload.subject else {
        panic!(
            "the old workload job reads back as a workload: {:?}",
            workload.subject
        );
    };
    assert_eq!(candidates[0].path(), "prod/Deployment/frontend:web");
    // And what later versions added is there.
    let opened = j
        .ensure_local_pull(&local_pull("gitops", "revertbot/app-2"), 10)
        .unwrap();
    assert_eq!((opened.number, opened.created), (1, true));
}

/// An alert as the first release kept it with a workload's job.
const WORKLOAD_ALERT: &str = r#"{"version":"4","status":"firing","receiver":"revertbot",
    "groupKey":"{}:{}","alerts":[{"status":"firing","labels":{"alertname":"PodCrashLooping",
    "namespace":"prod","deployment":"frontend","container":"web"},"annotations":{},
    "startsAt":"2026-11-30T10:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"f1"}]}"#;

fn handles_recording_alerts_for_one_target_at_once_make_one_job(store: Store) {
    let targets: Vec<String> = (0..5).map(|i| format!("app:{i}")).collect();
    let recorded: Arc<Mutex<Vec<&'static str>>> = Arc::default();
    std::thread::scope(|s| {
        for h in 0..4usize {
            let (store, targets, recorded) = (&store, &targets, recorded.clone());
            s.spawn(move || {
                let j = store.open();
                for round in 0..10usize {
                    // Each handle names the targets in another order, so that their
                    // transactions meet in every order.
                    let alerts = (0..targets.len())
                        .map(|k| {
                            let t = &targets[(k * (h + 1) + round) % targets.len()];
                            alert(&format!("{h}-{round}-{k}"), job("gitops", t))
                        })
                        .collect();
                    let r = j.record(&[delivery(alerts)], 100).unwrap();
                    recorded.lock().unwrap().extend(r[0].decisions.iter());
                }
            });
        }
    });
    let decisions = recorded.lock().unwrap();
    assert_eq!(decisions.len(), 4 * 10 * 5);
    assert_eq!(
        decisions.iter().filter(|d| **d == "queued").count(),
        5,
        "one new job per target, whichever handle recorded first"
    );
    let j = store.open();
    let jobs = j.jobs(100).unwrap();
    assert_eq!(jobs.len(), 5);
    assert_eq!(jobs.iter().map(|r| r.alerts).sum::<u32>(), 200);
    assert_eq!(j.delivery_count().unwrap(), 40);
}

fn a_job_is_claimed_with_its_subject_as_it_was_recorded(store: Store) {
    let j = store.open();
    let workload = Subject::Workload(vec![
        Named {
            namespace: Some("prod".into()),
            kind: Some(WorkloadKind::Deployment),
            name: "frontend".into(),
            container: Some("web".into()),
        },
        Named {
            namespace: Some("prod".into()),
            kind: None,
            name: "frontend-7d9c".into(),
            container: Some("web".into()),
        },
    ]);
    let subjects = [
        (
            "r1",
            Subject::Image(ImageRef::parse("ghcr.io/acme/api:1.4.0").unwrap()),
        ),
        ("r2", workload),
        (
            "r3",
            Subject::Commit {
                commit: "abc1234".into(),
                image: Some(ImageRef::parse("nginx:1.27").unwrap()),
            },
        ),
    ];
    let alerts = subjects
        .iter()
        .map(|(repo, subject)| alert(repo, job_of(repo, subject.clone())))
        .collect();
    j.record(&[delivery(alerts)], 0).unwrap();
    let mut claimed = BTreeMap::new();
    while let Some(c) = j.claim("w", 1, 1_000).unwrap() {
        claimed.insert(c.repo.clone(), (c.target.clone(), c.subject.unwrap()));
    }
    for (repo, subject) in subjects {
        assert_eq!(claimed[repo], (subject.key(), subject), "{repo}");
    }
    assert_eq!(claimed["r2"].0, "workload:prod/Deployment/frontend:web");
}

fn a_worker_whose_lease_ran_out_cannot_record_an_outcome_over_the_new_one(store: Store) {
    let j = store.open();
    j.record(&[delivery(vec![alert("a", job("gitops", "app:2"))])], 0)
        .unwrap();
    let first = j.claim("w1", 0, 100).unwrap().unwrap();
    let second = j.claim("w2", 101, 1_000).unwrap().unwrap();
    assert_eq!(first.id, second.id, "taken over once the lease ran out");
    let created = |outcome: &str| Finished {
        outcome: outcome.into(),
        ..Finished::default()
    };
    assert!(!j.finish(first.id, "w1", 200, &created("late")).unwrap());
    assert!(!j.release(first.id, "w1", 200).unwrap());
    assert!(j.finish(first.id, "w2", 300, &created("created")).unwrap());
    let record = &j.jobs(1).unwrap()[0];
    assert_eq!(
        (record.state.as_str(), record.outcome.as_deref()),
        ("done", Some("created"))
    );
    assert_eq!(record.ran_by.as_deref(), Some("w2"));
}

#[test]
fn postgresql_replicas_starting_together_migrate_once() {
    let pg = Postgres::start();
    let url = pg.create_database("together");
    std::thread::scope(|s| {
        for _ in 0..6 {
            let url = url.clone();
            s.spawn(move || journal::open(&Location::Postgres(settings(url))).unwrap());
        }
    });
    assert_eq!(
        pg.psql(
            "together",
            "SELECT count(*), max(version) FROM schema_migrations"
        ),
        "10|10"
    );
}

#[test]
fn postgresql_journal_waits_out_a_database_restart_without_losing_anything() {
    let pg = Postgres::start();
    let j = journal::open(&Location::Postgres(settings(pg.url()))).unwrap();
    j.record(&[delivery(vec![alert("a", job("gitops", "app:1"))])], 0)
        .unwrap();
    assert!(j.writable());

    pg.stop();
    assert!(!j.writable());
    let down = j
        .record(&[delivery(vec![alert("b", job("gitops", "app:2"))])], 10)
        .unwrap_err();
    assert!(format!("{down:#}").contains(&pg.url()), "{down:#}");
    assert!(j.claim("w", 10, 1_000).is_err());

    pg.start_again();
    // The same handle, with no restart of its own: connections are made again.
    assert!(j.writable());
    j.record(&[delivery(vec![alert("b", job("gitops", "app:2"))])], 20)
        .unwrap();
    assert_eq!(j.delivery_count().unwrap(), 2);
    assert_eq!(j.pending().unwrap(), 2);
}

#[test]
fn postgresql_journal_logs_in_with_a_password_and_says_when_it_is_wrong() {
    let pg = Postgres::start();
    let url = pg.create_user_with_password("revertbot", "s3cret-p4ss");
    let mut good = settings(url.clone());
    good.password = Some("s3cret-p4ss".into());
    let j = journal::open(&Location::Postgres(good)).unwrap();
    assert!(j.writable());

    let mut wrong = settings(url.clone());
    wrong.password = Some("nope".into());
    let err = journal::open(&Location::Postgres(wrong)).err().unwrap();
    let text = format!("{err:#}");
    assert!(
        text.contains("password authentication failed") && text.contains(&url),
        "{text}"
    );
    assert!(
        !text.contains("nope"),
        "the password is never shown: {text}"
    );
}

#[test]
fn postgresql_journal_checks_the_server_certificate_as_sslmode_says() {
    let pg = Postgres::start_with_tls();
    let with = |mode: SslMode, root: Option<std::path::PathBuf>, host: &str| {
        let mut s = settings(format!("postgres://postgres@{host}:{}/postgres", pg.port()));
        s.ssl_mode = mode;
        s.root_cert = root;
        journal::open(&Location::Postgres(s))
    };
    let ca = pg.ca_file();
    // Verified in full against the authority that signed it, by name and by address.
    for host in ["localhost", "127.0.0.1"] {
        let j = with(SslMode::VerifyFull, ca.clone(), host).unwrap();
        assert!(j.writable());
        assert_eq!(
            pg.psql(
                "postgres",
                "SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
                 WHERE a.application_name = 'revertbot-test'"
            ),
            "t",
            "the journal's connections are encrypted"
        );
    }
    // Not signed by an authority the system trusts: verify-full refuses it.
    let err = with(SslMode::VerifyFull, None, "localhost").err().unwrap();
    assert!(format!("{err:#}").contains("certificate"), "{err:#}");
    // require without a root certificate encrypts without checking, as libpq does.
    assert!(with(SslMode::Require, None, "127.0.0.1")
        .unwrap()
        .writable());
}

#[test]
fn postgresql_journal_that_cannot_be_reached_says_where_it_looked() {
    let port = revertbot_testkit::http::free_port();
    let url = format!("postgres://revertbot@127.0.0.1:{port}/revertbot");
    let err = journal::open(&Location::Postgres(settings(url.clone())))
        .err()
        .unwrap();
    let text = format!("{err:#}");
    assert!(text.contains(&url) && text.contains("refused"), "{text}");
}

fn local_pull(repo: &str, head: &str) -> NewLocalPull {
    NewLocalPull {
        repo: repo.into(),
        head: head.into(),
        base: "main".into(),
        title: format!("Roll back {head}"),
        body: format!("**{head}** bumped a bad image"),
        ..NewLocalPull::default()
    }
}

fn opened(number: u64) -> LocalPullOutcome {
    LocalPullOutcome {
        number,
        created: true,
        commented: false,
    }
}

fn found(number: u64, commented: bool) -> LocalPullOutcome {
    LocalPullOutcome {
        number,
        created: false,
        commented,
    }
}

fn a_local_pull_is_opened_once_per_head_and_numbered_across_repositories(store: Store) {
    let j = store.open();
    let app1 = local_pull("gitops", "revertbot/app-1");
    assert_eq!(j.ensure_local_pull(&app1, 1_000).unwrap(), opened(1));
    assert_eq!(j.ensure_local_pull(&app1, 2_000).unwrap(), found(1, false));
    assert_eq!(
        j.ensure_local_pull(&local_pull("gitops", "revertbot/app-2"), 3_000)
            .unwrap(),
        opened(2),
        "another head"
    );
    assert_eq!(
        j.ensure_local_pull(&local_pull("infra", "revertbot/app-1"), 4_000)
            .unwrap(),
        opened(3),
        "the same head in another repository; numbers count across repositories"
    );
    // Another handle (a restart, another replica) finds it too, whatever it would say now.
    let mut later = app1.clone();
    later.title = "another title".into();
    assert_eq!(
        store.open().ensure_local_pull(&later, 5_000).unwrap(),
        found(1, false)
    );
    assert_eq!(j.local_pull(1).unwrap().unwrap().title, app1.title);
}

fn the_occurrence_comment_waits_for_its_interval_and_is_never_empty(store: Store) {
    let j = store.open();
    let mut pull = local_pull("gitops", "revertbot/app-1");
    pull.occurrence_comment = "The alert fired again.".into();
    pull.comment_interval_ms = 1_000;
    let n = j.ensure_local_pull(&pull, 10_000).unwrap().number;
    let commented_at = |now: i64| j.ensure_local_pull(&pull, now).unwrap().commented;
    assert!(!commented_at(10_999), "counted from the opening");
    assert!(commented_at(11_000), "once the interval has passed");
    assert!(!commented_at(11_999), "counted from the newest comment");
    assert!(commented_at(12_000));
    // Any comment counts, not only occurrences.
    assert!(j
        .comment_local_pull(n, "The alert resolved.", 12_500)
        .unwrap());
    assert!(!commented_at(13_499));
    assert!(commented_at(13_500));

    // No comment text: never a comment, however long since.
    let mut quiet = pull.clone();
    quiet.occurrence_comment = String::new();
    assert_eq!(
        j.ensure_local_pull(&quiet, 1_000_000).unwrap(),
        found(n, false)
    );
    let times: Vec<i64> = j
        .local_pull(n)
        .unwrap()
        .unwrap()
        .comments
        .iter()
        .map(|c| c.created_at)
        .collect();
    assert_eq!(times, [11_000, 12_000, 12_500, 13_500]);
}

fn a_local_pull_reads_back_with_its_comments_oldest_first(store: Store) {
    let j = store.open();
    let mut new = local_pull("gitops", "revertbot/app-1");
    new.occurrence_comment = "Fired again.".into();
    let n = j.ensure_local_pull(&new, 1_000).unwrap().number;
    assert!(j.comment_local_pull(n, "First *comment*", 2_000).unwrap());
    assert!(j.ensure_local_pull(&new, 3_000).unwrap().commented);
    assert!(j.comment_local_pull(n, "Resolved.", 4_000).unwrap());

    let pull = j.local_pull(n).unwrap().unwrap();
    assert_eq!(
        (
            pull.number,
            pull.repo.as_str(),
            pull.head.as_str(),
            pull.base.as_str(),
            pull.state.as_str(),
            pull.created_at
        ),
        (n, "gitops", "revertbot/app-1", "main", "open", 1_000)
    );
    assert_eq!(pull.title, "Roll back revertbot/app-1");
    assert_eq!(pull.body, "**revertbot/app-1** bumped a bad image");
    let comments: Vec<(&str, i64)> = pull
        .comments
        .iter()
        .map(|c| (c.body.as_str(), c.created_at))
        .collect();
    assert_eq!(
        comments,
        [
            ("First *comment*", 2_000),
            ("Fired again.", 3_000),
            ("Resolved.", 4_000)
        ]
    );

    // No such pull request: nothing to read, nothing written.
    assert!(j.local_pull(n + 1).unwrap().is_none());
    assert!(!j.comment_local_pull(n + 1, "lost", 5_000).unwrap());
    assert!(!j.comment_local_pull(u64::MAX, "lost", 5_000).unwrap());
    assert!(j.local_pull(u64::MAX).unwrap().is_none());
    assert_eq!(j.local_pull(n).unwrap().unwrap().comments.len(), 3);
    assert_eq!(
        j.ensure_local_pull(&local_pull("gitops", "revertbot/app-2"), 6_000)
            .unwrap(),
        opened(n + 1),
        "the next number is the next one opened"
    );
}

fn handles_ensuring_one_head_at_once_make_one_local_pull_and_one_comment(store: Store) {
    const HANDLES: usize = 6;
    const HEADS: usize = 5;
    let barrier = Barrier::new(HANDLES);
    // (head, phase) -> what each handle got
    let got: Mutex<BTreeMap<(usize, u8), Vec<LocalPullOutcome>>> = Mutex::default();
    std::thread::scope(|s| {
        for _ in 0..HANDLES {
            let (store, barrier, got) = (&store, &barrier, &got);
            s.spawn(move || {
                let j = store.open();
                for head in 0..HEADS {
                    let mut pull = local_pull("gitops", &format!("revertbot/app-{head}"));
                    pull.occurrence_comment = "The alert fired again.".into();
                    pull.comment_interval_ms = 1_000;
                    // All open it at once; then, past the interval, all find it at once.
                    for (phase, now) in [(0, 100), (1, 5_000)] {
                        barrier.wait();
                        let outcome = j.ensure_local_pull(&pull, now).unwrap();
                        got.lock()
                            .unwrap()
                            .entry((head, phase))
                            .or_default()
                            .push(outcome);
                    }
                }
            });
        }
    });
    let got = got.into_inner().unwrap();
    let mut numbers = BTreeSet::new();
    for head in 0..HEADS {
        let opening = &got[&(head, 0)];
        let again = &got[&(head, 1)];
        let number = opening[0].number;
        assert!(
            opening.iter().chain(again).all(|o| o.number == number),
            "one pull request for head {head}: {opening:?} {again:?}"
        );
        assert_eq!(
            opening.iter().filter(|o| o.created).count(),
            1,
            "{opening:?}"
        );
        assert!(opening.iter().all(|o| !o.commented), "{opening:?}");
        assert!(again.iter().all(|o| !o.created), "{again:?}");
        assert_eq!(
            again.iter().filter(|o| o.commented).count(),
            1,
            "one comment per occurrence: {again:?}"
        );
        numbers.insert(number);
    }
    assert_eq!(numbers.len(), HEADS);
    let j = store.open();
    for &n in &numbers {
        assert_eq!(j.local_pull(n).unwrap().unwrap().comments.len(), 1);
    }
}

fn pruning_deletes_old_deliveries_and_ended_jobs_and_keeps_open_work(store: Store) {
    const OLD: i64 = 1_000;
    const BEFORE: i64 = 100_000;
    const NEW: i64 = 200_000;
    let j = store.open();
    let lease = 10_000_000;
    let done = |outcome: &str| Finished {
        outcome: outcome.into(),
        ..Finished::default()
    };
    let record = |at: i64, alerts: Vec<NewAlert>| {
        j.record(&[delivery_at(at, alerts)], at).unwrap()[0].delivery
    };
    // Old, and their jobs ended long ago: both go.
    let done_long_ago = record(OLD, vec![alert("a", job("gitops", "app:1"))]);
    let j1 = j.claim("w", OLD, lease).unwrap().unwrap();
    assert!(j.finish(j1.id, "w", 2_000, &done("created")).unwrap());
    let failed_long_ago = record(OLD, vec![alert("b", job("gitops", "app:2"))]);
    let j2 = j.claim("w", OLD, lease).unwrap().unwrap();
    let permanent = Failure {
        kind: "cannot_revert".into(),
        code: None,
        message: "is itself a revert".into(),
        retry_at: None,
    };
    assert!(j.fail(j2.id, "w", 3_000, &permanent).unwrap());
    let nothing_to_do = record(
        OLD,
        vec![
            alert("c", Decision::Unmatched),
            alert(
                "d",
                Decision::Skipped {
                    repo: Some("gitops".into()),
                    reason: "guard max_alert_age".into(),
                },
            ),
        ],
    );
    // An old delivery goes; the job it made ended long ago, but a new delivery's alert joined
    // it, so it stays with that alert.
    let joined_old = record(OLD, vec![alert("e", job("repo6", "app:6"))]);
    let joined_new = record(NEW, vec![alert("e", job("repo6", "app:6"))]);
    let j6 = j.claim("w", OLD, lease).unwrap().unwrap();
    assert!(j.finish(j6.id, "w", 50_000, &done("created")).unwrap());
    // An old delivery goes; its job ended after `before`, so it stays.
    let ended_lately = record(OLD, vec![alert("f", job("repo7", "app:7"))]);
    let j7 = j.claim("w", OLD, lease).unwrap().unwrap();
    assert!(j.finish(j7.id, "w", 150_000, &done("created")).unwrap());
    // New, ended: stays.
    let new = record(NEW, vec![alert("g", job("gitops", "app:5"))]);
    let j5 = j.claim("w", NEW, lease).unwrap().unwrap();
    assert!(j.finish(j5.id, "w", NEW + 500, &done("created")).unwrap());
    // Old, but their jobs are running, or queued: they stay whole, alerts and all.
    let running = record(
        OLD,
        vec![
            alert("h", job("other", "app:3")),
            alert("i", Decision::Unmatched),
        ],
    );
    let j3 = j.claim("w", OLD, lease).unwrap().unwrap();
    assert_eq!(j3.repo, "other");
    let queued = record(OLD, vec![alert("k", job("infra", "app:4"))]);
    // The local forge's pull requests are not the journal's history: they stay.
    let pull = j
        .ensure_local_pull(&local_pull("gitops", "revertbot/app-1"), OLD)
        .unwrap()
        .number;
    assert!(j.comment_local_pull(pull, "Fired again.", OLD + 1).unwrap());
    assert_eq!(j.delivery_count().unwrap(), 9);

    assert_eq!(
        j.prune(BEFORE).unwrap(),
        Pruned {
            deliveries: 5,
            jobs: 2
        }
    );
    let mut kept: Vec<i64> = j.deliveries(100).unwrap().iter().map(|d| d.id).collect();
    kept.sort();
    assert_eq!(kept, [joined_new, new, running, queued]);
    for gone in [
        done_long_ago,
        failed_long_ago,
        nothing_to_do,
        joined_old,
        ended_lately,
    ] {
        assert!(!kept.contains(&gone));
    }
    assert_eq!(j.delivery_count().unwrap(), 4);
    let running_delivery = j
        .deliveries(100)
        .unwrap()
        .into_iter()
        .find(|d| d.id == running)
        .unwrap();
    assert_eq!(running_delivery.alerts.len(), 2, "kept with all its alerts");
    let jobs = j.jobs(100).unwrap();
    let mut job_ids: Vec<i64> = jobs.iter().map(|r| r.id).collect();
    job_ids.sort();
    let mut want = vec![j3.id, j5.id, j6.id, j7.id];
    let j4 = jobs.iter().find(|r| r.repo == "infra").unwrap();
    assert_eq!(j4.state, "queued");
    want.push(j4.id);
    want.sort();
    assert_eq!(job_ids, want);
    assert!(j.job(j1.id).unwrap().is_none());
    assert!(j.job(j2.id).unwrap().is_none());
    let j6_now = jobs.iter().find(|r| r.id == j6.id).unwrap();
    assert_eq!(j6_now.alerts, 1, "the new delivery's alert only");
    assert_eq!(j.pending().unwrap(), 2);
    assert_eq!(j.local_pull(pull).unwrap().unwrap().comments.len(), 1);

    // Nothing more to delete: a second prune (another replica's) deletes nothing.
    assert_eq!(j.prune(BEFORE).unwrap(), Pruned::default());
    assert_eq!(store.open().prune(BEFORE).unwrap(), Pruned::default());

    // Once their jobs end, the old deliveries go too, and the jobs with them.
    assert!(j.finish(j3.id, "w", 60_000, &done("created")).unwrap());
    let j4 = j.claim("w", OLD, lease).unwrap().unwrap();
    assert!(j.fail(j4.id, "w", 70_000, &permanent).unwrap());
    assert_eq!(
        j.prune(BEFORE).unwrap(),
        Pruned {
            deliveries: 2,
            jobs: 2
        }
    );
    assert_eq!(j.delivery_count().unwrap(), 2);
    assert_eq!(j.jobs(100).unwrap().len(), 3);
    assert!(j.local_pull(pull).unwrap().is_some());
}

fn pruning_goes_a_batch_at_a_time_oldest_first(store: Store) {
    let j = store.open();
    let extra = 3;
    let deliveries: Vec<NewDelivery> = (0..i64::from(PRUNE_BATCH) + extra)
        .map(|i| {
            delivery_at(
                1_000 + i,
                vec![alert(&format!("a{i}"), Decision::Unmatched)],
            )
        })
        .rev()
        .collect();
    j.record(&deliveries, 0).unwrap();
    let first = j.prune(1_000_000).unwrap();
    assert_eq!(first.deliveries, u64::from(PRUNE_BATCH));
    let left: BTreeSet<i64> = j
        .deliveries(100)
        .unwrap()
        .iter()
        .map(|d| d.received_at)
        .collect();
    let newest = 1_000 + i64::from(PRUNE_BATCH);
    assert_eq!(
        left,
        (newest..newest + extra).collect(),
        "the oldest went first"
    );
    assert_eq!(j.prune(1_000_000).unwrap().deliveries, extra as u64);
    assert_eq!(j.prune(1_000_000).unwrap(), Pruned::default());
    assert_eq!(j.delivery_count().unwrap(), 0);
}

/// What a poll asks the forges about: each pull request on a forge that jobs recorded open
/// (opened, found, or reopened since), once, until a forge tells it merged or closed; never
/// the local forge's, nor a job's without one.
fn open_pull_requests_are_listed_once_until_their_forge_tells_of_them(store: Store) {
    let j = store.open();
    j.record(
        &[delivery(vec![
            alert("a", job("gitops", "app:2")),
            alert("b", job("other", "app:3")),
            alert("c", job("local", "app:4")),
            alert("d", job("dry", "app:5")),
        ])],
        0,
    )
    .unwrap();
    let github = "https://github.com/acme/gitops/pull/7";
    let gitlab = "https://gitlab.example.com/acme/other/-/merge_requests/8";
    // By repository: the order jobs of one moment are claimed in is the backend's.
    let ends = BTreeMap::from([
        (
            "gitops",
            (Some(7), Some(github), Some("created"), Some("github")),
        ),
        (
            "other",
            (Some(8), Some(gitlab), Some("found"), Some("gitlab")),
        ),
        (
            "local",
            (Some(1), Some("/pulls/1"), Some("created"), Some("local")),
        ),
        ("dry", (None, None, None, None)),
    ]);
    for _ in 0..ends.len() {
        let claimed = j.claim("w", 10, 1_000).unwrap().unwrap();
        let (number, url, state, forge) = ends[claimed.repo.as_str()];
        let finished = Finished {
            outcome: "created".into(),
            pr_number: number,
            pr_url: url.map(str::to_string),
            pr_state: state.map(str::to_string),
            forge: forge.map(str::to_string),
            ..Finished::default()
        };
        assert!(j.finish(claimed.id, "w", 20, &finished).unwrap());
    }
    let open = |url: &str, repo: &str, forge: &str, number: u64| OpenPull {
        url: url.into(),
        repo: repo.into(),
        forge: forge.into(),
        number,
    };
    assert_eq!(
        store.open().open_pulls().unwrap(),
        [
            open(github, "gitops", "github", 7),
            open(gitlab, "other", "gitlab", 8)
        ]
    );
    let told = |url: &str, delivery: &str, state: &str| PullEvent {
        forge: "github".into(),
        delivery: delivery.into(),
        event: format!("poll {state}"),
        pull_url: url.into(),
        state: state.into(),
        merged_at: (state == "merged").then_some(30),
        closed_at: (state != "open").then_some(30),
        closed_by: None,
    };
    assert!(
        j.pull_event(&told(github, "p1", "merged"), 30)
            .unwrap()
            .newly_merged
    );
    assert!(
        j.pull_event(&told(gitlab, "p2", "closed"), 30)
            .unwrap()
            .jobs
            == 1
    );
    assert_eq!(j.open_pulls().unwrap(), []);
    // Reopened: asked about again.
    j.pull_event(&told(gitlab, "p3", "open"), 40).unwrap();
    assert_eq!(
        j.open_pulls().unwrap(),
        [open(gitlab, "other", "gitlab", 8)]
    );
}
