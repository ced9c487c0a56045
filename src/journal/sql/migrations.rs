//! The migrations' bookkeeping, which each backend keeps in a `schema_migrations` table of
//! its own spelling (its migrations and their lock are the backend's).

/// Whether migration `?1` was applied.
pub const APPLIED: &str = "SELECT 1 FROM schema_migrations WHERE version = ?1";

/// The newest migration applied: newer than this revertbot knows, and it refuses the journal.
pub const NEWEST: &str = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";

/// Open jobs recorded before the journal stored subjects (see [`crate::journal::legacy`]).
pub const UNSTORED_SUBJECTS: &str = "SELECT id, target, alert FROM jobs
     WHERE subject IS NULL AND state IN ('queued', 'running')";

pub const STORE_SUBJECT: &str = "UPDATE jobs SET subject = ?2 WHERE id = ?1";
