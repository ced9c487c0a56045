//! The two backends' schemas: each migrates on its own (SQLite's migrations and PostgreSQL's
//! are separate files), while the statements they run are written once. So after migrating,
//! both must hold the same tables with the same columns; their types may be spelled
//! differently (`INTEGER`, `BIGINT`).

use std::collections::{BTreeMap, BTreeSet};

use revertbot::journal::{self, Location, PostgresSettings, SslMode};
use revertbot_testkit::postgres::Postgres;

/// Table -> its columns.
type Schema = BTreeMap<String, BTreeSet<String>>;

#[test]
fn both_backends_migrate_to_the_same_tables_and_columns() {
    let dir = tempfile::tempdir().unwrap();
    journal::open(&Location::Sqlite {
        data_dir: dir.path().to_path_buf(),
    })
    .unwrap();
    let sqlite = sqlite_schema(&dir.path().join(journal::FILE_NAME));

    let pg = Postgres::start();
    journal::open(&Location::Postgres(PostgresSettings {
        url: pg.url(),
        password: None,
        ssl_mode: SslMode::Disable,
        root_cert: None,
        pool_size: 1,
        application_name: "revertbot-test".into(),
    }))
    .unwrap();
    let postgres = postgres_schema(&pg.url());

    for table in [
        "deliveries",
        "alerts",
        "jobs",
        "local_pulls",
        "local_pull_comments",
        "resolved_notes",
    ] {
        assert!(sqlite.contains_key(table), "{table} in {sqlite:#?}");
    }
    assert_eq!(
        sqlite, postgres,
        "SQLite's schema (left), PostgreSQL's (right)"
    );
}

fn sqlite_schema(file: &std::path::Path) -> Schema {
    let conn = rusqlite::Connection::open(file).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT m.name, c.name FROM sqlite_master m JOIN pragma_table_info(m.name) c
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
        )
        .unwrap();
    let rows = stmt
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap();
    collect(rows.map(Result::unwrap))
}

fn postgres_schema(url: &str) -> Schema {
    let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let rows = client
        .query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns
             WHERE table_schema = current_schema()",
            &[],
        )
        .unwrap();
    collect(rows.iter().map(|row| (row.get(0), row.get(1))))
}

fn collect(columns: impl Iterator<Item = (String, String)>) -> Schema {
    let mut schema = Schema::new();
    for (table, column) in columns {
        schema.entry(table).or_default().insert(column);
    }
    schema
}
