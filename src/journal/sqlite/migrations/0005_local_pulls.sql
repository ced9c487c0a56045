-- The local forge (`forge: local`): pull requests kept in the journal instead of opened on a
-- forge, with their comments, for the status page to show. One per head in a repository.
CREATE TABLE local_pulls (
    number     INTEGER PRIMARY KEY,           -- counts up from 1, across repositories
    repo       TEXT    NOT NULL,
    head       TEXT    NOT NULL,
    base       TEXT    NOT NULL,
    title      TEXT    NOT NULL,
    body       TEXT    NOT NULL,              -- Markdown
    state      TEXT    NOT NULL,              -- open
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX local_pulls_head ON local_pulls (repo, head);

CREATE TABLE local_pull_comments (
    id         INTEGER PRIMARY KEY,
    number     INTEGER NOT NULL REFERENCES local_pulls (number),
    body       TEXT    NOT NULL,              -- Markdown
    created_at INTEGER NOT NULL
);
CREATE INDEX local_pull_comments_number ON local_pull_comments (number);
