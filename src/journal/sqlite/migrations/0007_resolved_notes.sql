-- An alert's resolution noted on a pull request: one row per (repository, pull request, alert,
-- start), taken by a job before it comments, so that a resolution delivered again — or many
-- times at once — is noted once.
CREATE TABLE resolved_notes (
    repo        TEXT    NOT NULL,
    pull_url    TEXT    NOT NULL,             -- GitHub's web address, or the local forge's /pulls/N
    pull_number INTEGER NOT NULL,
    fingerprint TEXT    NOT NULL,
    starts_at   TEXT    NOT NULL,             -- as sent
    job_id      INTEGER NOT NULL,             -- the job that took it (no reference: pruned)
    state       TEXT    NOT NULL,             -- taken | made
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (repo, pull_url, fingerprint, starts_at)
);
