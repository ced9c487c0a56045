//! A row as either backend's client gives it, so that each mapper in [`super`] is written
//! once.

/// What the journal's columns hold, read the same from both: integers as `i64`, text as
/// `String`, either as an `Option` where the column may be NULL.
pub trait Value: rusqlite::types::FromSql + for<'a> postgres::types::FromSql<'a> {}

impl<T> Value for T where T: rusqlite::types::FromSql + for<'a> postgres::types::FromSql<'a> {}

/// A row of a result.
pub trait Row {
    type Error;

    /// Column `i` (from 0); an error when its value is not a `T` (NULL for a non-`Option`).
    fn get<T: Value>(&self, i: usize) -> Result<T, Self::Error>;
}

impl Row for rusqlite::Row<'_> {
    type Error = rusqlite::Error;

    fn get<T: Value>(&self, i: usize) -> Result<T, rusqlite::Error> {
        rusqlite::Row::get(self, i)
    }
}

impl Row for postgres::Row {
    type Error = postgres::Error;

    fn get<T: Value>(&self, i: usize) -> Result<T, postgres::Error> {
        self.try_get(i)
    }
}
