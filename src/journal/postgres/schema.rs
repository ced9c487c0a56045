//! Schema migrations, embedded, applied at start-up under a session advisory lock: replicas
//! starting together take turns, and each migration runs once, in one transaction with its
//! record.

use anyhow::{Context, Result};
use postgres::Client;

use crate::journal::legacy;
use crate::journal::sql::{migrations, Dialect};

/// `(version, SQL)`, in order. A migration, once released, never changes: add a new one.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/0001_journal.sql")),
    (2, include_str!("migrations/0002_hold.sql")),
    (3, include_str!("migrations/0003_local_pulls.sql")),
    (4, include_str!("migrations/0004_retention.sql")),
    (5, include_str!("migrations/0005_resolved_notes.sql")),
    (6, include_str!("migrations/0006_subject.sql")),
    (7, include_str!("migrations/0007_forge.sql")),
    (8, include_str!("migrations/0008_registry.sql")),
    (9, include_str!("migrations/0009_pull_events.sql")),
    (10, include_str!("migrations/0010_auto_merge.sql")),
];

/// The migration that adds jobs' `subject`: the open jobs' are filled in with it.
const SUBJECT: i64 = 6;

/// The advisory lock's key: `hashtextextended('revertbot.migrations', 0)`, spelled in SQL so
/// that any tool can see who holds it.
const LOCK: &str = "hashtextextended('revertbot.migrations', 0)";

/// Brings the schema up to date; returns the version it is at.
pub fn migrate(client: &mut Client) -> Result<i64> {
    client.batch_execute(&format!("SELECT pg_advisory_lock({LOCK})"))?;
    let result = apply(client);
    // Closing the session would release it too; unlocking lets the connection be reused.
    let _ = client.batch_execute(&format!("SELECT pg_advisory_unlock({LOCK})"));
    result
}

fn apply(client: &mut Client) -> Result<i64> {
    client.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    BIGINT PRIMARY KEY,
             applied_at BIGINT NOT NULL
         )",
    )?;
    let mut version = 0;
    for (v, sql) in MIGRATIONS {
        let mut tx = client.transaction()?;
        let applied = tx
            .query_opt(&*Dialect::Postgres.render(migrations::APPLIED), &[v])?
            .is_some();
        if !applied {
            tx.batch_execute(sql)
                .with_context(|| format!("journal migration {v} failed"))?;
            if *v == SUBJECT {
                store_subjects(&mut tx).with_context(|| format!("journal migration {v} failed"))?;
            }
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at)
                 VALUES ($1, (extract(epoch FROM now()) * 1000)::BIGINT)",
                &[v],
            )?;
        }
        tx.commit()?;
        version = *v;
    }
    let newest: i64 = client.query_one(migrations::NEWEST, &[])?.get(0);
    if newest > version {
        anyhow::bail!(
            "the journal's schema is version {newest}, newer than this revertbot knows ({version}); run a newer revertbot"
        );
    }
    Ok(version)
}

fn store_subjects(tx: &mut postgres::Transaction) -> Result<(), postgres::Error> {
    let unstored = tx.query(migrations::UNSTORED_SUBJECTS, &[])?;
    let store = Dialect::Postgres.render(migrations::STORE_SUBJECT);
    for row in unstored {
        let (id, target, alert): (i64, String, String) = (row.get(0), row.get(1), row.get(2));
        if let Some(subject) = legacy::subject_of(&target, &alert) {
            tx.execute(&*store, &[&id, &subject.to_json()])?;
        }
    }
    Ok(())
}
