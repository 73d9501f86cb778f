-- IMAP intake: where each polled mailbox stands. A mailbox is "user@host/folder"; the
-- cursor is its UIDVALIDITY and the highest UID taken. fence is the lease token of the
-- last writer: a poller that lost its lease cannot move the cursor any more.
CREATE TABLE imap_cursors (
    mailbox      TEXT PRIMARY KEY,
    uid_validity BIGINT NOT NULL,
    last_uid     BIGINT NOT NULL,
    fence        BIGINT NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
