-- Guichet's first schema: desks, people, tickets and their thread, raw inbound mail, outbox.
CREATE TABLE desks (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    next_number INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE establishments (
    uai      TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    academie TEXT NOT NULL DEFAULT ''
);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL DEFAULT '',
    role           TEXT NOT NULL DEFAULT 'customer',
    uai            TEXT NOT NULL DEFAULT '',
    lang           TEXT NOT NULL DEFAULT 'fr',
    time_zone      TEXT NOT NULL DEFAULT 'Europe/Paris',
    password_hash  TEXT NOT NULL DEFAULT '',
    bouncing_until TIMESTAMP,
    created_at     TIMESTAMP NOT NULL
);

CREATE TABLE tickets (
    id               INTEGER PRIMARY KEY,
    key              TEXT NOT NULL UNIQUE,
    desk_id          INTEGER NOT NULL REFERENCES desks(id),
    number           INTEGER NOT NULL,
    summary          TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    description_html TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL,
    requester_id     INTEGER NOT NULL REFERENCES users(id),
    assignee_id      INTEGER REFERENCES users(id),
    uai              TEXT NOT NULL DEFAULT '',
    url              TEXT NOT NULL DEFAULT '',
    academie         TEXT NOT NULL DEFAULT '',
    components       TEXT NOT NULL DEFAULT '',
    phone            TEXT NOT NULL DEFAULT '',
    incident_start   TEXT NOT NULL DEFAULT '',
    affected_users   TEXT NOT NULL DEFAULT '',
    request_type     TEXT NOT NULL DEFAULT '',
    source           TEXT NOT NULL,
    inbound_id       INTEGER,
    linked_ticket_id INTEGER REFERENCES tickets(id),
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    closed_at        TIMESTAMP,
    UNIQUE (desk_id, number)
);
CREATE INDEX tickets_updated ON tickets (updated_at DESC, id DESC);
CREATE INDEX tickets_requester ON tickets (requester_id, updated_at DESC);

CREATE TABLE participants (
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    user_id   INTEGER NOT NULL REFERENCES users(id),
    added_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (ticket_id, user_id)
);

CREATE TABLE comments (
    id         INTEGER PRIMARY KEY,
    ticket_id  INTEGER NOT NULL REFERENCES tickets(id),
    author_id  INTEGER NOT NULL REFERENCES users(id),
    body       TEXT NOT NULL,
    body_html  TEXT NOT NULL DEFAULT '',
    visibility TEXT NOT NULL,
    source     TEXT NOT NULL,
    automatic  INTEGER NOT NULL DEFAULT 0,
    inbound_id INTEGER,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX comments_ticket ON comments (ticket_id, id);

CREATE TABLE attachments (
    id           INTEGER PRIMARY KEY,
    ticket_id    INTEGER NOT NULL REFERENCES tickets(id),
    comment_id   INTEGER REFERENCES comments(id),
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    inline       INTEGER NOT NULL DEFAULT 0,
    content_id   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX attachments_ticket ON attachments (ticket_id, comment_id);

-- Every Message-ID of a ticket's thread, received or sent, for threading by References.
CREATE TABLE thread_messages (
    message_id TEXT PRIMARY KEY,
    ticket_id  INTEGER NOT NULL REFERENCES tickets(id),
    created_at TIMESTAMP NOT NULL
);

-- Raw inbound mail, stored before it is answered 250; dedup_key makes a second delivery
-- of the same message impossible to store twice.
CREATE TABLE inbound (
    id            INTEGER PRIMARY KEY,
    dedup_key     TEXT NOT NULL UNIQUE,
    message_id    TEXT NOT NULL DEFAULT '',
    envelope_from TEXT NOT NULL DEFAULT '',
    recipients    TEXT NOT NULL DEFAULT '',
    channel       TEXT NOT NULL,
    remote_addr   TEXT NOT NULL DEFAULT '',
    size          INTEGER NOT NULL,
    raw           BLOB NOT NULL,
    state         TEXT NOT NULL,
    error         TEXT NOT NULL DEFAULT '',
    attempts      INTEGER NOT NULL DEFAULT 0,
    automatic     TEXT NOT NULL DEFAULT '',
    ticket_id     INTEGER,
    comment_id    INTEGER,
    received_at   TIMESTAMP NOT NULL,
    processed_at  TIMESTAMP
);
CREATE INDEX inbound_state ON inbound (state, id);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,
    ticket_id       INTEGER REFERENCES tickets(id), -- NULL for mail about no ticket (sign-in links)
    ticket_key      TEXT NOT NULL,
    to_email        TEXT NOT NULL,
    to_name         TEXT NOT NULL DEFAULT '',
    to_role         TEXT NOT NULL DEFAULT 'customer',
    lang            TEXT NOT NULL,
    time_zone       TEXT NOT NULL,
    message_id      TEXT NOT NULL UNIQUE,
    in_reply_to     TEXT NOT NULL DEFAULT '',
    refs            TEXT NOT NULL DEFAULT '',
    reply_to        TEXT NOT NULL DEFAULT '',
    data            TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_until   TIMESTAMP,
    last_error      TEXT NOT NULL DEFAULT '',
    response        TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_to ON outbox (to_email, kind, created_at);
