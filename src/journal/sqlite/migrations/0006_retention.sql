-- Retention (`retention`): old deliveries found by when they came, ended jobs by when they
-- ended, and a job's alerts by the job (which deleting a job checks too), without reading every
-- row.
CREATE INDEX deliveries_received ON deliveries (received_at);
CREATE INDEX jobs_ended ON jobs (state, updated_at);
CREATE INDEX alerts_job ON alerts (job_id);
