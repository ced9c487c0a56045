-- What each rollback holds so that image automation does not bump back, for people.
ALTER TABLE jobs ADD COLUMN hold TEXT;
