//! What became of the rollbacks, as the journal sums it up for the status page — pull requests
//! opened, merged and closed in a window, and the median time to merge — and the merge a
//! resolution's note reads, on both backends: a real SQLite file and a real PostgreSQL (a
//! throwaway cluster per test).

use std::sync::Arc;

use revertbot::image::ImageRef;
use revertbot::journal::{
    self, Decision, Finished, JobKind, Journal, Location, NewAlert, NewDelivery, NewJob,
    PostgresSettings, PullEvent, RollbackSummary, SslMode,
};
use revertbot::subject::Subject;
use revertbot_testkit::postgres::Postgres;

/// Where a test's journal lives; it lasts as long as this.
enum Store {
    Sqlite(tempfile::TempDir),
    Postgres(Postgres),
}

impl Store {
    fn open(&self) -> Arc<dyn Journal> {
        let location = match self {
            Store::Sqlite(dir) => Location::Sqlite {
                data_dir: dir.path().to_path_buf(),
            },
            Store::Postgres(pg) => Location::Postgres(PostgresSettings {
                url: pg.url(),
                password: None,
                ssl_mode: SslMode::Disable,
                root_cert: None,
                pool_size: 2,
                application_name: "revertbot-test".into(),
            }),
        };
        journal::open(&location).unwrap()
    }
}

#[test]
fn sqlite_sums_up_the_weeks_rollbacks() {
    the_weeks_rollbacks_are_summed_up_each_pull_request_once(Store::Sqlite(
        tempfile::tempdir().unwrap(),
    ));
}

#[test]
fn postgresql_sums_up_the_weeks_rollbacks() {
    the_weeks_rollbacks_are_summed_up_each_pull_request_once(Store::Postgres(Postgres::start()));
}

const SINCE: i64 = 1_000_000_000;
const MINUTE: i64 = 60_000;

/// A job of `kind` for `target` in `repo`, recorded and run at `at`, ended with `pr_url` (none:
/// a dry run) as the engine left it (`created`, or found `merged`). The journal has no other
/// job open, so the claim takes this one.
fn job(j: &dyn Journal, kind: JobKind, repo: &str, target: &str, at: i64, pr_url: Option<&str>) {
    job_found(j, kind, repo, target, at, pr_url, "created");
}

fn job_found(
    j: &dyn Journal,
    kind: JobKind,
    repo: &str,
    target: &str,
    at: i64,
    pr_url: Option<&str>,
    pr_state: &str,
) {
    let subject = Subject::Image(ImageRef::parse(target).unwrap());
    let delivery = NewDelivery {
        received_at: at,
        receiver: "revertbot".into(),
        group_key: "{}:{}".into(),
        status: "firing".into(),
        payload: "{}".into(),
        alerts: vec![NewAlert {
            fingerprint: format!("{repo}-{target}"),
            alertname: "HighErrorRate".into(),
            status: "firing".into(),
            starts_at: "2001-09-09T01:46:40Z".into(),
            rule: Some("bad-image".into()),
            decision: Decision::Job(NewJob::new(kind, repo.into(), subject, "{}".into(), None)),
        }],
    };
    j.record(&[delivery], at).unwrap();
    let claimed = j.claim("w", at, at + MINUTE).unwrap().unwrap();
    let finished = Finished {
        outcome: if pr_url.is_some() {
            pr_state
        } else {
            "dry-run"
        }
        .into(),
        pr_state: pr_url.map(|_| pr_state.to_string()),
        pr_number: pr_url.map(|_| 1),
        pr_url: pr_url.map(str::to_string),
        forge: pr_url.map(|_| "github".into()),
        ..Finished::default()
    };
    assert!(j.finish(claimed.id, "w", at, &finished).unwrap());
}

fn told(j: &dyn Journal, delivery: &str, url: &str, state: &str, at: i64, by: &str) {
    let recorded = j
        .pull_event(
            &PullEvent {
                forge: "github".into(),
                delivery: delivery.into(),
                event: format!("pull_request {state}"),
                pull_url: url.into(),
                state: state.into(),
                merged_at: (state == "merged").then_some(at),
                closed_at: Some(at),
                closed_by: Some(by.into()),
            },
            at,
        )
        .unwrap();
    assert!(recorded.jobs > 0, "{url} is a rollback's");
}

fn the_weeks_rollbacks_are_summed_up_each_pull_request_once(store: Store) {
    let j = store.open();
    let j = j.as_ref();
    let (p1, p2, p3, p4) = (
        "https://github.com/acme/gitops/pull/1",
        "https://github.com/acme/other/pull/2",
        "https://github.com/acme/third/pull/3",
        "https://github.com/acme/gitops/pull/4",
    );
    // Opened before the window, merged in it: a merge, not an opening.
    job(
        j,
        JobKind::Rollback,
        "gitops",
        "api:4",
        SINCE - 50 * MINUTE,
        Some(p4),
    );
    told(j, "d4", p4, "merged", SINCE + MINUTE, "dana");
    // Opened in it: merged 10 min later, closed unmerged, left open.
    job(
        j,
        JobKind::Rollback,
        "gitops",
        "app:1",
        SINCE + MINUTE,
        Some(p1),
    );
    job(
        j,
        JobKind::Rollback,
        "other",
        "app:2",
        SINCE + 2 * MINUTE,
        Some(p2),
    );
    job(
        j,
        JobKind::Rollback,
        "third",
        "app:3",
        SINCE + 3 * MINUTE,
        Some(p3),
    );
    told(j, "d1", p1, "merged", SINCE + 11 * MINUTE, "dana");
    told(j, "d2", p2, "closed", SINCE + 12 * MINUTE, "sam");
    // The same pull request found again after its merge, and a resolution's job on it: still
    // one pull request; a dry run has none.
    job_found(
        j,
        JobKind::Rollback,
        "gitops",
        "app:1",
        SINCE + 20 * MINUTE,
        Some(p1),
        "merged",
    );
    job(
        j,
        JobKind::Resolved,
        "gitops",
        "app:1",
        SINCE + 21 * MINUTE,
        Some(p1),
    );
    job(
        j,
        JobKind::Rollback,
        "gitops",
        "app:5",
        SINCE + 22 * MINUTE,
        None,
    );
    // Before the window: none of it counts.
    job(
        j,
        JobKind::Rollback,
        "old",
        "app:6",
        SINCE - 90 * MINUTE,
        Some("https://github.com/acme/old/pull/6"),
    );
    told(
        j,
        "d6",
        "https://github.com/acme/old/pull/6",
        "closed",
        SINCE - 80 * MINUTE,
        "sam",
    );

    // Read by another handle, as the status page of another replica would.
    let again = store.open();
    assert_eq!(
        again.rollback_summary(SINCE).unwrap(),
        RollbackSummary {
            since: SINCE,
            opened: 3,
            merged: 2,
            closed: 1,
            // 10 min and 51 min: their mean, as the two middle values of an even count.
            median_to_merge_ms: Some((10 * MINUTE + 51 * MINUTE) / 2),
        }
    );
    // Nothing since: all zero, no median.
    assert_eq!(
        again.rollback_summary(SINCE + 60 * MINUTE).unwrap(),
        RollbackSummary {
            since: SINCE + 60 * MINUTE,
            ..RollbackSummary::default()
        }
    );

    // A resolution's note reads the merge of the target's last pull request, though the job
    // that found it again after the merge was not told of it.
    let last = again.last_pull("gitops", "app:1").unwrap().unwrap();
    assert_eq!(
        (last.url.as_deref(), last.merged_at),
        (Some(p1), Some(SINCE + 11 * MINUTE))
    );
    assert_eq!(
        again
            .last_pull("third", "app:3")
            .unwrap()
            .unwrap()
            .merged_at,
        None
    );
    // And the jobs say each rollback's fate.
    let fates: Vec<(String, Option<&'static str>)> = again
        .jobs(20)
        .unwrap()
        .iter()
        .map(|r| (r.repo.clone(), r.fate().map(|f| f.as_str())))
        .collect();
    assert!(
        fates.contains(&("other".into(), Some("closed"))),
        "{fates:?}"
    );
    assert!(fates.contains(&("third".into(), Some("open"))), "{fates:?}");
    assert_eq!(
        fates.iter().filter(|(_, f)| *f == Some("merged")).count(),
        3,
        "p4, and p1's two rollbacks: {fates:?}"
    );
}
