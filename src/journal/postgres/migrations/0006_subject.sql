-- What a job rolls back, as it was routed (versioned JSON: an image, a workload's candidates, or
-- a commit), so that a worker reads it back instead of rebuilding it from `target`, which stays
-- the key open jobs are coalesced by. Open jobs recorded before are filled in by the migration's
-- step in code (`journal::legacy`).
ALTER TABLE jobs ADD COLUMN subject TEXT;
