//! The journal when what holds it fails, and what it keeps once: a full disk (a small tmpfs,
//! mounted by the test as root) and a read-only PostgreSQL are transient and say what to do;
//! a journal file deleted or replaced under its handle is noticed; a file that is not a
//! database is named with what to do; and an alert's resolution is noted on a pull request
//! once, whatever the number of jobs, handles or replicas asking — on a real SQLite file and a
//! real PostgreSQL.

use std::sync::{Arc, Barrier};

use revertbot::error::{kind_of, Error, Kind};
use revertbot::image::ImageRef;
use revertbot::journal::{
    self, Decision, Failure, JobKind, Journal, Location, NewAlert, NewDelivery, NewJob, NoteKey,
    PostgresSettings, SslMode, FILE_NAME, UNWRITABLE,
};
use revertbot::subject::Subject;
use revertbot_testkit::postgres::Postgres;
use revertbot_testkit::tmpfs::Tmpfs;

enum Store {
    Sqlite(tempfile::TempDir),
    Postgres(Postgres),
}

impl Store {
    fn location(&self) -> Location {
        match self {
            Store::Sqlite(dir) => Location::Sqlite {
                data_dir: dir.path().to_path_buf(),
            },
            Store::Postgres(pg) => Location::Postgres(settings(pg.url())),
        }
    }

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

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() {
                super::$name(super::Store::Sqlite(tempfile::tempdir().unwrap()))
            } )*
        }
        mod postgresql {
            $( #[test] fn $name() {
                super::$name(super::Store::Postgres(revertbot_testkit::postgres::Postgres::start()))
            } )*
        }
    };
}

on_both_backends!(
    a_resolution_is_noted_once_per_pull_request_and_alert_start,
    a_note_whose_job_failed_before_commenting_is_taken_over,
    handles_claiming_one_note_at_once_take_it_once,
);

/// A delivery whose alerts each make a job (one per target); the jobs' ids, in order.
fn jobs(j: &dyn Journal, targets: &[&str]) -> Vec<i64> {
    let alerts = targets
        .iter()
        .map(|t| NewAlert {
            fingerprint: format!("fp-{t}"),
            alertname: "HighErrorRate".into(),
            status: "resolved".into(),
            starts_at: "2026-11-30T10:00:00Z".into(),
            rule: Some("bad-image".into()),
            decision: Decision::Job(NewJob::new(
                JobKind::Resolved,
                "gitops".into(),
                Subject::Image(ImageRef::parse(t).unwrap()),
                "{}".into(),
                None,
            )),
        })
        .collect();
    let recorded = j
        .record(&[delivery(1_000, "{}".into(), alerts)], 1_000)
        .unwrap();
    assert_eq!(recorded[0].new_jobs, targets.len());
    j.jobs(100).unwrap().iter().rev().map(|r| r.id).collect()
}

fn delivery(received_at: i64, payload: String, alerts: Vec<NewAlert>) -> NewDelivery {
    NewDelivery {
        received_at,
        receiver: "revertbot".into(),
        group_key: "{}:{}".into(),
        status: "resolved".into(),
        payload,
        alerts,
    }
}

fn note(starts_at: &str) -> NoteKey {
    NoteKey {
        repo: "gitops".into(),
        pull_url: "https://github.com/acme/gitops/pull/7".into(),
        pull_number: 7,
        fingerprint: "b1d2f3c4a5e6f708".into(),
        starts_at: starts_at.into(),
    }
}

fn a_resolution_is_noted_once_per_pull_request_and_alert_start(store: Store) {
    let j = store.open();
    let ids = jobs(j.as_ref(), &["app:1", "app:2", "app:3"]);
    let first = note("2026-11-30T10:00:00Z");
    assert!(j.claim_note(&first, ids[0], 10).unwrap(), "nobody took it");
    assert!(
        !j.claim_note(&first, ids[1], 11).unwrap(),
        "another job, queued, holds it"
    );
    assert!(
        j.claim_note(&first, ids[0], 12).unwrap(),
        "the job that took it, tried again"
    );
    j.noted(&first, ids[0], 13).unwrap();
    assert!(!j.claim_note(&first, ids[0], 14).unwrap(), "made");
    assert!(!j.claim_note(&first, ids[2], 14).unwrap(), "made");

    // The same alert firing again and resolving again is another resolution; so is the same
    // resolution on another pull request (another forge's, or another number).
    let again = note("2026-11-30T12:00:00Z");
    assert!(j.claim_note(&again, ids[1], 20).unwrap());
    let elsewhere = NoteKey {
        pull_url: "/pulls/7".into(),
        ..first.clone()
    };
    assert!(j.claim_note(&elsewhere, ids[2], 21).unwrap());
    // Another handle, as another process or replica, sees the same.
    let other = store.open();
    assert!(!other.claim_note(&first, ids[2], 22).unwrap());
}

fn a_note_whose_job_failed_before_commenting_is_taken_over(store: Store) {
    let j = store.open();
    let ids = jobs(j.as_ref(), &["app:1", "app:2"]);
    let key = note("2026-11-30T10:00:00Z");
    let claimed = j.claim("w1", 2_000, 10_000).unwrap().unwrap();
    assert_eq!(claimed.id, ids[0]);
    assert!(j.claim_note(&key, ids[0], 11).unwrap());
    assert!(!j.claim_note(&key, ids[1], 12).unwrap(), "the first runs");
    // Its comment could not be made, for good: the note is free for the next resolution job.
    assert!(j
        .fail(
            ids[0],
            "w1",
            13,
            &Failure {
                kind: "internal".into(),
                code: None,
                message: "GitHub: 500".into(),
                retry_at: None,
            },
        )
        .unwrap());
    assert!(j.claim_note(&key, ids[1], 14).unwrap());
    j.noted(&key, ids[1], 15).unwrap();
    assert!(!j.claim_note(&key, ids[0], 16).unwrap());
}

fn handles_claiming_one_note_at_once_take_it_once(store: Store) {
    const N: usize = 16;
    let targets: Vec<String> = (0..N).map(|n| format!("app:{n}")).collect();
    let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
    let ids = jobs(store.open().as_ref(), &targets);
    let key = note("2026-11-30T10:00:00Z");
    let handles: Vec<Arc<dyn Journal>> = (0..4).map(|_| store.open()).collect();
    let barrier = Arc::new(Barrier::new(N));
    let taken: usize = std::thread::scope(|s| {
        let threads: Vec<_> = ids
            .iter()
            .enumerate()
            .map(|(n, &id)| {
                let (j, barrier, key) = (handles[n % 4].clone(), barrier.clone(), key.clone());
                s.spawn(move || {
                    barrier.wait();
                    j.claim_note(&key, id, 100).unwrap()
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| usize::from(t.join().unwrap()))
            .sum()
    });
    assert_eq!(taken, 1);
}

fn engine_error(err: &anyhow::Error) -> &Error {
    err.chain()
        .find_map(|c| c.downcast_ref::<Error>())
        .unwrap_or_else(|| panic!("no engine error in {err:#}"))
}

#[test]
fn sqlite_a_file_that_is_not_a_database_is_named_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    std::fs::write(&path, vec![b'x'; 8192]).unwrap();
    let err = journal::SqliteJournal::open(dir.path())
        .err()
        .expect("not a database");
    assert_eq!(
        format!("{err:#}"),
        format!(
            "journal: {} is not a SQLite database: restore it from a backup or move it away",
            path.display()
        )
    );
    assert_eq!(kind_of(&err), Kind::Usage);
}

#[test]
fn sqlite_a_journal_deleted_or_replaced_under_its_handle_is_refused_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let j = journal::SqliteJournal::open(dir.path()).unwrap();
    let ids = jobs(&j, &["app:1"]);
    assert!(j.writable());

    let moved = dir.path().join("moved.sqlite");
    std::fs::rename(&path, &moved).unwrap();
    assert!(!j.writable());
    let err = j
        .record(&[delivery(2_000, "{}".into(), Vec::new())], 2_000)
        .unwrap_err();
    assert_eq!(
        format!("{err:#}"),
        format!(
            "journal {} was deleted or moved while revertbot was running: nothing more is recorded; put the journal back (restore it from a backup) and restart revertbot",
            path.display()
        )
    );
    assert_eq!(kind_of(&err), Kind::Transient);
    assert_eq!(engine_error(&err).code(), Some(UNWRITABLE));
    assert!(j.claim("w1", 2_000, 10_000).is_err(), "nor is a job taken");

    // A copy put in its place is another file: this handle's writes would not be in it.
    std::fs::copy(&moved, &path).unwrap();
    assert!(!j.writable());
    let err = j.claim("w1", 2_000, 10_000).unwrap_err();
    assert!(
        format!("{err:#}").contains("was replaced by another file"),
        "{err:#}"
    );
    // Restarted, on the file put back, the job is there.
    drop(j);
    let j = journal::SqliteJournal::open(dir.path()).unwrap();
    assert_eq!(j.claim("w1", 2_000, 10_000).unwrap().unwrap().id, ids[0]);
}

#[test]
fn sqlite_a_full_disk_is_transient_says_to_free_space_and_passes() {
    let Some(disk) = Tmpfs::mount("4m") else {
        println!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let data_dir = disk.path().join("data");
    let j = journal::SqliteJournal::open(&data_dir).unwrap();
    jobs(&j, &["app:1"]);
    assert!(j.writable());

    let filler = disk.fill();
    assert!(!j.writable(), "no room");
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(256 * 1024));
    let err = j
        .record(&[delivery(2_000, big.clone(), Vec::new())], 2_000)
        .unwrap_err();
    assert_eq!(
        format!("{err:#}"),
        format!(
            "journal {}: the disk is full; free space in data_dir {}",
            data_dir.join(FILE_NAME).display(),
            data_dir.display()
        )
    );
    assert_eq!(kind_of(&err), Kind::Transient);
    assert_eq!(engine_error(&err).code(), Some(UNWRITABLE));

    std::fs::remove_file(filler).unwrap();
    assert!(j.writable());
    j.record(&[delivery(3_000, big, Vec::new())], 3_000)
        .unwrap();
    assert_eq!(j.delivery_count().unwrap(), 2, "the first and the last");
}

#[test]
fn postgresql_a_read_only_database_is_transient_and_not_writable() {
    let pg = Postgres::start();
    let j = journal::open(&Location::Postgres(settings(pg.url()))).unwrap();
    jobs(j.as_ref(), &["app:1"]);
    assert!(j.writable());

    // What some providers do when the storage fills up; a reload reaches open sessions too.
    pg.psql(
        "postgres",
        "ALTER SYSTEM SET default_transaction_read_only = on;\nSELECT pg_reload_conf();",
    );
    let read_only =
        revertbot_testkit::http::eventually(std::time::Duration::from_secs(10), || !j.writable());
    assert!(read_only, "still writable after the reload");
    let err = j
        .record(&[delivery(2_000, "{}".into(), Vec::new())], 2_000)
        .unwrap_err();
    assert_eq!(kind_of(&err), Kind::Transient, "{err:#}");
    assert_eq!(engine_error(&err).code(), Some(UNWRITABLE));
    assert!(
        format!("{err:#}").ends_with(
            "; the database is read-only: make it writable (a primary, with default_transaction_read_only off)"
        ),
        "{err:#}"
    );

    pg.psql(
        "postgres",
        "ALTER SYSTEM RESET default_transaction_read_only;\nSELECT pg_reload_conf();",
    );
    assert!(revertbot_testkit::http::eventually(
        std::time::Duration::from_secs(10),
        || j.writable()
    ));
    j.record(&[delivery(3_000, "{}".into(), Vec::new())], 3_000)
        .unwrap();
}
