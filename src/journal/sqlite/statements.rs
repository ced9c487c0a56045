//! The statements of [`crate::journal::sql`] as SQLite spells them, each prepared once per
//! connection and kept (rusqlite's statement cache, keyed by the text).

use rusqlite::{CachedStatement, Connection};

use crate::journal::sql::Dialect;

/// Statements kept prepared per connection: more than the journal has, so that none is
/// prepared again (rusqlite keeps 16 unless told).
pub const CACHED: usize = 64;

/// `sql`, prepared once per connection.
pub fn prepare<'c>(conn: &'c Connection, sql: &str) -> rusqlite::Result<CachedStatement<'c>> {
    conn.prepare_cached(&Dialect::Sqlite.render(sql))
}
