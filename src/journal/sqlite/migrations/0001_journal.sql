-- Deliveries as received, the alerts in them with what was decided, and the jobs they made.
-- Times are milliseconds since the Unix epoch (UTC).

CREATE TABLE deliveries (
    id          INTEGER PRIMARY KEY,
    received_at INTEGER NOT NULL,
    receiver    TEXT    NOT NULL,
    group_key   TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    alerts      INTEGER NOT NULL,
    payload     TEXT    NOT NULL
);

CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT    NOT NULL,            -- rollback | resolved
    repo         TEXT    NOT NULL,
    image        TEXT    NOT NULL,
    alert        TEXT    NOT NULL,            -- the v4 payload the job answers (one alert)
    alert_start  INTEGER,
    state        TEXT    NOT NULL,            -- queued | running | done | failed
    attempts     INTEGER NOT NULL DEFAULT 0,
    not_before   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    claimed_by   TEXT,
    lease_until  INTEGER,
    outcome      TEXT,
    error_kind   TEXT,
    error_code   TEXT,
    error        TEXT,
    culprit      TEXT,
    branch       TEXT,
    strategy     TEXT,
    pr_number    INTEGER,
    pr_url       TEXT,
    pr_state     TEXT,
    diff         TEXT
);
CREATE INDEX jobs_ready ON jobs (state, not_before);
CREATE INDEX jobs_target ON jobs (kind, repo, image, state);

CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES deliveries (id),
    fingerprint TEXT    NOT NULL,
    alertname   TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    starts_at   TEXT    NOT NULL,
    rule        TEXT,
    repo        TEXT,
    image       TEXT,
    decision    TEXT    NOT NULL,             -- queued | coalesced | unmatched | skipped
    reason      TEXT,
    job_id      INTEGER REFERENCES jobs (id)
);
CREATE INDEX alerts_delivery ON alerts (delivery_id);
