-- What came of the auto-merge a rule asked for a finished rollback, one line for people
-- ("squash (rule critical)", "off (rule critical): why"); and its method only when the forge's
-- auto-merge was turned on, which `guards.max_auto_merges_per_repo_per_hour` counts.
ALTER TABLE jobs ADD COLUMN auto_merge TEXT;
ALTER TABLE jobs ADD COLUMN auto_merge_method TEXT;
