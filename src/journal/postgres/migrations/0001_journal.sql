-- Deliveries as received, the alerts in them with what was decided, and the jobs they made.
-- Times are milliseconds since the Unix epoch (UTC), as the replicas' clocks give them.

CREATE TABLE deliveries (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at BIGINT NOT NULL,
    receiver    TEXT   NOT NULL,
    group_key   TEXT   NOT NULL,
    status      TEXT   NOT NULL,
    alerts      BIGINT NOT NULL,
    payload     TEXT   NOT NULL
);

CREATE TABLE jobs (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         TEXT   NOT NULL,            -- rollback | resolved
    repo         TEXT   NOT NULL,
    target       TEXT   NOT NULL,            -- image, or workload:NAMESPACE/KIND/NAME[:CONTAINER]
    alert        TEXT   NOT NULL,            -- the v4 payload the job answers (one alert)
    alert_start  BIGINT,
    state        TEXT   NOT NULL,            -- queued | running | done | failed
    attempts     BIGINT NOT NULL DEFAULT 0,
    not_before   BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    claimed_by   TEXT,                       -- the worker holding the lease
    lease_until  BIGINT,
    ran_by       TEXT,                       -- the worker that last took it (kept)
    outcome      TEXT,
    error_kind   TEXT,
    error_code   TEXT,
    error        TEXT,
    culprit      TEXT,
    branch       TEXT,
    strategy     TEXT,
    pr_number    BIGINT,
    pr_url       TEXT,
    pr_state     TEXT,
    diff         TEXT
);
CREATE INDEX jobs_ready ON jobs (state, not_before);
CREATE INDEX jobs_repo ON jobs (repo, kind, updated_at);
-- Alerts for a target join its open job, whichever replica recorded them.
CREATE UNIQUE INDEX jobs_open_target ON jobs (kind, repo, target) WHERE state IN ('queued', 'running');
-- One running job per repository, across every replica.
CREATE UNIQUE INDEX jobs_running_repo ON jobs (repo) WHERE state = 'running';

CREATE TABLE alerts (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id BIGINT NOT NULL REFERENCES deliveries (id),
    fingerprint TEXT   NOT NULL,
    alertname   TEXT   NOT NULL,
    status      TEXT   NOT NULL,
    starts_at   TEXT   NOT NULL,
    rule        TEXT,
    repo        TEXT,
    target      TEXT,
    decision    TEXT   NOT NULL,             -- queued | coalesced | unmatched | skipped
    reason      TEXT,
    job_id      BIGINT REFERENCES jobs (id)
);
CREATE INDEX alerts_delivery ON alerts (delivery_id);
CREATE INDEX alerts_job ON alerts (job_id);
