-- Rules of mail from agents and participants: proof of sender, held mail, whitelists,
-- muted participants, caps.
ALTER TABLE comments ADD COLUMN verified INTEGER NOT NULL DEFAULT 0;
ALTER TABLE inbound ADD COLUMN auth TEXT NOT NULL DEFAULT '';
ALTER TABLE inbound ADD COLUMN held_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE inbound ADD COLUMN held_msg TEXT NOT NULL DEFAULT '';
ALTER TABLE participants ADD COLUMN muted INTEGER NOT NULL DEFAULT 0;

CREATE TABLE establishment_whitelist (
    uai      TEXT NOT NULL,
    email    TEXT NOT NULL,
    added_at TIMESTAMP NOT NULL,
    PRIMARY KEY (uai, email)
);

-- A notice asking an agent to confirm a held mail; a proven reply to it releases the mail.
CREATE TABLE held_notices (
    message_id TEXT PRIMARY KEY,
    inbound_id INTEGER NOT NULL REFERENCES inbound(id),
    user_id    INTEGER NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL
);

-- Activity that is not a comment: participants refused, commands applied, bounces.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    ticket_id  INTEGER NOT NULL REFERENCES tickets(id),
    actor_id   INTEGER REFERENCES users(id),
    kind       TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX events_ticket ON events (ticket_id, id);

-- A web form's idempotency key: a double-submitted form makes one ticket.
ALTER TABLE tickets ADD COLUMN request_id TEXT;
CREATE UNIQUE INDEX tickets_request_id ON tickets (request_id);
