-- Which worker (`host-pid/n`) last ran each job: kept when it ends, for history and the status
-- page. And the invariant claims keep, as a constraint: one running job per repository.
ALTER TABLE jobs ADD COLUMN ran_by TEXT;
UPDATE jobs SET ran_by = claimed_by WHERE claimed_by IS NOT NULL;
CREATE UNIQUE INDEX jobs_running_repo ON jobs (repo) WHERE state = 'running';
