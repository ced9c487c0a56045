//! What `serve` is told beyond its configuration, and what it checks before it opens the
//! journal: a data directory that was used (it holds mirrors) but has no journal lost it —
//! deleted, or moved — and a new one would forget every job and number the local forge's pull
//! requests from 1 again; that is done only when asked.

use std::path::Path;

use anyhow::Result;
use tracing::warn;

use crate::error::Error;
use crate::journal::{Location, FILE_NAME};

/// Settings of one start of the service, given by whoever starts it (the command line).
#[derive(Debug, Clone, Copy, Default)]
pub struct Startup {
    /// Begin a new journal even where the data directory shows there was one (`serve
    /// --new-journal`).
    pub new_journal: bool,
}

/// Refuses to begin a new SQLite journal in a data directory that was used, unless asked.
pub fn check_journal(location: &Location, mirrors: &Path, startup: Startup) -> Result<()> {
    let Location::Sqlite { data_dir } = location else {
        // PostgreSQL: the database is the journal; an empty one is a new deployment's.
        return Ok(());
    };
    let journal = data_dir.join(FILE_NAME);
    let used = std::fs::read_dir(mirrors).is_ok_and(|mut entries| entries.next().is_some());
    if !used || journal.exists() {
        return Ok(());
    }
    if startup.new_journal {
        warn!(
            "data_dir {}: no journal ({FILE_NAME}) though it was used; beginning a new one, as --new-journal asks: earlier jobs are forgotten and local pull requests are numbered from 1 again",
            data_dir.display()
        );
        return Ok(());
    }
    Err(Error::usage(format!(
        "data_dir {}: the journal {} is missing, though the directory was used (it holds mirrors): it was deleted or moved; put it back (restore it from a backup), or start with --new-journal to begin a new one (earlier jobs are forgotten, local pull requests are numbered from 1 again)",
        data_dir.display(),
        journal.display()
    ))
    .into())
}
