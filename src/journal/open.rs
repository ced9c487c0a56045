//! Opening the journal where the configuration says.

use std::sync::Arc;

use anyhow::Result;

use super::backend::{Journal, Location};
use super::postgres::PostgresJournal;
use super::sqlite::{SqliteJournal, FILE_NAME};

/// Opens the journal where `location` says, creating it and bringing its schema up to date.
pub fn open(location: &Location) -> Result<Arc<dyn Journal>> {
    Ok(match location {
        Location::Sqlite { data_dir } => Arc::new(SqliteJournal::open(data_dir)?),
        Location::Postgres(settings) => Arc::new(PostgresJournal::open(settings)?),
    })
}

/// Opens the journal only if the service has made one: what `history` and `explain` read.
pub fn open_existing(location: &Location) -> Result<Option<Arc<dyn Journal>>> {
    match location {
        Location::Sqlite { data_dir } if !data_dir.join(FILE_NAME).exists() => Ok(None),
        _ => open(location).map(Some),
    }
}
