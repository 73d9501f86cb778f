-- Retention and the rights of the people in the tickets (see retention.go, personal.go).
-- purged_at marks a ticket (or an inbound message) whose personal data the retention
-- policy removed: the row stays for the statistics, and the policy's query skips it.
-- erased_at marks a user that 'guichet user erase' anonymised.
ALTER TABLE tickets ADD COLUMN purged_at TIMESTAMP;
CREATE INDEX tickets_retention ON tickets (closed_at) WHERE purged_at IS NULL AND status = 'closed';
ALTER TABLE inbound ADD COLUMN purged_at TIMESTAMP;
CREATE INDEX inbound_retention ON inbound (received_at) WHERE purged_at IS NULL;
ALTER TABLE users ADD COLUMN erased_at TIMESTAMP;

-- Who did what to personal data, and when: exports, erasures, retention runs. It names
-- the user by id only, never by address or name, so that an erasure leaves nothing of
-- the person here.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         TIMESTAMP NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    user_id    INTEGER,
    detail     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
