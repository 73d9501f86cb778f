-- The portal and the API: profiles, sessions, sign-in links, API tokens, and the indexes
-- and full-text index of the requests list.
ALTER TABLE users ADD COLUMN avatar_sha256 TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN avatar_type TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN notify_email TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN pending_notify_email TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN pending_notify_hash TEXT;
ALTER TABLE users ADD COLUMN pending_notify_expires TIMESTAMP;
CREATE UNIQUE INDEX users_pending_notify ON users (pending_notify_hash);

-- Tokens are stored as their SHA-256 (hex): a copy of the table opens no session.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    last_seen  TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE signin_links (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP
);

CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    name       TEXT NOT NULL DEFAULT '',
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    last_used  TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, id);

-- The list: newest activity first, per scope, keyset on (updated_at, id).
DROP INDEX tickets_requester;
CREATE INDEX tickets_requester ON tickets (requester_id, updated_at DESC, id DESC);
CREATE INDEX tickets_uai ON tickets (uai, updated_at DESC, id DESC);
CREATE INDEX tickets_assignee ON tickets (assignee_id, updated_at DESC, id DESC);
CREATE INDEX tickets_status ON tickets (status, updated_at DESC, id DESC);
CREATE INDEX tickets_type ON tickets (request_type, updated_at DESC, id DESC);
CREATE INDEX participants_user ON participants (user_id, ticket_id);

-- Text search: FTS5 tables over the tickets' summary and description and the comments'
-- bodies, kept in step by triggers. Accents and case are ignored.
CREATE VIRTUAL TABLE tickets_fts USING fts5(summary, description, content='tickets', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE comments_fts USING fts5(body, content='comments', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2');
INSERT INTO tickets_fts (tickets_fts) VALUES ('rebuild');
INSERT INTO comments_fts (comments_fts) VALUES ('rebuild');

CREATE TRIGGER tickets_fts_ai AFTER INSERT ON tickets BEGIN
    INSERT INTO tickets_fts (rowid, summary, description) VALUES (new.id, new.summary, new.description);
END;
CREATE TRIGGER tickets_fts_ad AFTER DELETE ON tickets BEGIN
    INSERT INTO tickets_fts (tickets_fts, rowid, summary, description) VALUES ('delete', old.id, old.summary, old.description);
END;
CREATE TRIGGER tickets_fts_au AFTER UPDATE OF summary, description ON tickets BEGIN
    INSERT INTO tickets_fts (tickets_fts, rowid, summary, description) VALUES ('delete', old.id, old.summary, old.description);
    INSERT INTO tickets_fts (rowid, summary, description) VALUES (new.id, new.summary, new.description);
END;
CREATE TRIGGER comments_fts_ai AFTER INSERT ON comments BEGIN
    INSERT INTO comments_fts (rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER comments_fts_ad AFTER DELETE ON comments BEGIN
    INSERT INTO comments_fts (comments_fts, rowid, body) VALUES ('delete', old.id, old.body);
END;
CREATE TRIGGER comments_fts_au AFTER UPDATE OF body ON comments BEGIN
    INSERT INTO comments_fts (comments_fts, rowid, body) VALUES ('delete', old.id, old.body);
    INSERT INTO comments_fts (rowid, body) VALUES (new.id, new.body);
END;
