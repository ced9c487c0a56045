-- A job's target is the image an alert names, or (`workload:NAMESPACE/KIND/NAME[:CONTAINER]`)
-- the workload whose image is to be found in the repository.
ALTER TABLE jobs RENAME COLUMN image TO target;
ALTER TABLE alerts RENAME COLUMN image TO target;
DROP INDEX jobs_target;
CREATE INDEX jobs_target ON jobs (kind, repo, target, state);
