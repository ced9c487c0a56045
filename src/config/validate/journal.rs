//! `journal`: the PostgreSQL journal shared by replicas (without it, the journal is SQLite in
//! `data_dir`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::problems::Problems;
use super::secrets::{has_env, JOURNAL_PASSWORD_ENV};
use crate::config::file::JournalFile;
use crate::config::model::{PostgresJournal, Secret, SslMode};
use crate::config::postgres_url;

/// The PostgreSQL journal's settings; libpq's `sslmode` and `sslrootcert` may be written in
/// the URL, as libpq users do.
pub fn journal(
    j: JournalFile,
    env: &BTreeMap<String, String>,
    p: &mut Problems<'_>,
) -> Option<PostgresJournal> {
    let Some(url) = j.url.filter(|u| !u.trim().is_empty()) else {
        p.push(
            "journal.url",
            "give the PostgreSQL database, like postgres://revertbot@db.example:5432/revertbot (without journal, the journal is SQLite in data_dir)".into(),
        );
        return None;
    };
    let parsed = match postgres_url::parse(&url) {
        Ok(parsed) => parsed,
        Err(what) => {
            p.push("journal.url", what);
            return None;
        }
    };
    let sslmode_text = j.sslmode.or(parsed.sslmode);
    let sslmode = match sslmode_text.as_deref() {
        None => SslMode::Prefer,
        Some(text) => match SslMode::parse(text) {
            Some(mode) => mode,
            None => {
                p.push(
                    "journal.sslmode",
                    format!("{text:?}: give disable, prefer, require, verify-ca or verify-full"),
                );
                return None;
            }
        },
    };
    let password = j.password_file.map(Secret::File).or_else(|| {
        has_env(env, JOURNAL_PASSWORD_ENV).then(|| Secret::Env(JOURNAL_PASSWORD_ENV.into()))
    });
    Some(PostgresJournal {
        url: parsed.url,
        password,
        sslmode,
        sslrootcert: j.sslrootcert.or(parsed.sslrootcert.map(PathBuf::from)),
    })
}
