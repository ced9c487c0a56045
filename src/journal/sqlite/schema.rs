//! Schema migrations, embedded, applied in order at start-up, each once, in one transaction
//! with its record (two processes starting together take turns on SQLite's write lock).

use anyhow::{Context, Result};
use rusqlite::Connection;

use crate::journal::legacy;
use crate::journal::sql::migrations;

/// `(version, SQL)`, in order. A migration, once released, never changes: add a new one.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/0001_journal.sql")),
    (2, include_str!("migrations/0002_target.sql")),
    (3, include_str!("migrations/0003_ran_by.sql")),
    (4, include_str!("migrations/0004_hold.sql")),
    (5, include_str!("migrations/0005_local_pulls.sql")),
    (6, include_str!("migrations/0006_retention.sql")),
    (7, include_str!("migrations/0007_resolved_notes.sql")),
    (8, include_str!("migrations/0008_subject.sql")),
    (9, include_str!("migrations/0009_forge.sql")),
    (10, include_str!("migrations/0010_registry.sql")),
    (11, include_str!("migrations/0011_pull_events.sql")),
    (12, include_str!("migrations/0012_auto_merge.sql")),
];

/// The migration that adds jobs' `subject`: the open jobs' are filled in with it.
const SUBJECT: i64 = 8;

/// Brings the schema up to date; returns the version it is at.
pub fn migrate(conn: &mut Connection) -> Result<i64> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    INTEGER PRIMARY KEY,
             applied_at INTEGER NOT NULL
         )",
    )?;
    let mut version = 0;
    for (v, sql) in MIGRATIONS {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let applied = tx.prepare(migrations::APPLIED)?.exists([v])?;
        if !applied {
            tx.execute_batch(sql)
                .with_context(|| format!("journal migration {v} failed"))?;
            if *v == SUBJECT {
                store_subjects(&tx).with_context(|| format!("journal migration {v} failed"))?;
            }
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, strftime('%s','now') * 1000)",
                [v],
            )?;
        }
        tx.commit()?;
        version = *v;
    }
    let newest: i64 = conn.query_row(migrations::NEWEST, [], |row| row.get(0))?;
    if newest > version {
        anyhow::bail!(
            "the journal's schema is version {newest}, newer than this revertbot knows ({version}); run a newer revertbot"
        );
    }
    Ok(version)
}

fn store_subjects(tx: &rusqlite::Transaction) -> rusqlite::Result<()> {
    let unstored = tx
        .prepare(migrations::UNSTORED_SUBJECTS)?
        .query_map([], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (id, target, alert) in unstored {
        if let Some(subject) = legacy::subject_of(&target, &alert) {
            tx.execute(
                migrations::STORE_SUBJECT,
                rusqlite::params![id, subject.to_json()],
            )?;
        }
    }
    Ok(())
}
