-- The forge a finished job's pull request went to (`github`, `gitlab`, `gitea`, `local`), for
-- the status page, `history` and the metrics; NULL for no pull request, and for jobs finished
-- before it was recorded.
ALTER TABLE jobs ADD COLUMN forge TEXT;
