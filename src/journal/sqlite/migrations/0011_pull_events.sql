-- What became of a rollback's pull request, as its forge told (a webhook, or a poll): merged or
-- closed, when, by whom; and each forge delivery once, so that a replayed one changes nothing.
ALTER TABLE jobs ADD COLUMN pr_merged_at INTEGER;
ALTER TABLE jobs ADD COLUMN pr_closed_at INTEGER;
ALTER TABLE jobs ADD COLUMN pr_closed_by TEXT;
CREATE INDEX jobs_pr_url ON jobs (pr_url);
CREATE TABLE forge_deliveries (
    forge TEXT NOT NULL,
    delivery TEXT NOT NULL,
    event TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (forge, delivery)
);
