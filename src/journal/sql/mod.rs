//! Every statement the backends run on the journal's tables, written once, and the rows they
//! read mapped once. A statement is written as SQLite spells it, with PostgreSQL's
//! `GREATEST` and row locks; [`Dialect`] renders it for each backend. Where the backends take
//! a step differently (PostgreSQL's replicas meet on a partial unique index and bind arrays;
//! SQLite holds the file's write lock and goes row by row), both statements are here side by
//! side. The backends keep what really differs: connections, the claims' and prune's locks,
//! migrations.

pub mod deliveries;
pub mod dialect;
pub mod events;
pub mod jobs;
pub mod migrations;
pub mod notes;
pub mod prune;
pub mod pulls;
pub mod row;
pub mod summary;

pub use dialect::Dialect;
