-- What the registries said of the images a finished rollback deploys again ("1.4.0 is
-- sha256:… in ghcr.io, checked at T", one line each), for `history` and the status page;
-- NULL when not checked, and for jobs finished before it was recorded.
ALTER TABLE jobs ADD COLUMN registry TEXT;
