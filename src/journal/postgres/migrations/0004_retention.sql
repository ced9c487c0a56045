-- Retention (`retention`): old deliveries found by when they came, and ended jobs by when they
-- ended, without reading every row (a job's alerts are found by alerts_job).
CREATE INDEX deliveries_received ON deliveries (received_at);
CREATE INDEX jobs_ended ON jobs (state, updated_at);
