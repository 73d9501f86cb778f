-- Queries of the ticket store, each under a "-- name:" header. Placeholders are "?" and
-- are rebound per driver at start-up; a missing or unknown name fails the start.

-- name: desk-by-key
SELECT id, key, name FROM desks WHERE key = ?;


-- name: insert-desk
INSERT INTO desks (key, name) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET name = excluded.name;

-- name: next-number
UPDATE desks SET next_number = next_number + 1 WHERE id = ? RETURNING next_number;

-- name: insert-inbound
INSERT INTO inbound (dedup_key, message_id, envelope_from, recipients, channel, remote_addr, size, state, error, received_at, body_sha256, raw_blob)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (dedup_key) DO NOTHING
RETURNING id;

-- name: insert-inbound@postgres
-- The message's bytes in the same statement (a round trip less); on SQLite, which has no
-- INSERT in WITH, insert-inbound-raw follows. The last two parameters are the bytes.
WITH i AS (
    INSERT INTO inbound (dedup_key, message_id, envelope_from, recipients, channel, remote_addr, size, state, error, received_at, body_sha256, raw_blob)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (dedup_key) DO NOTHING
    RETURNING id
), r AS (
    INSERT INTO inbound_raw (id, raw) SELECT id, ? FROM i WHERE octet_length(?::bytea) > 0
)
SELECT id FROM i;

-- name: insert-inbound-raw
INSERT INTO inbound_raw (id, raw) VALUES (?, ?);

-- name: inbound-by-dedup
SELECT id, state, ticket_id, comment_id, body_sha256 FROM inbound WHERE dedup_key = ?;

-- name: inbound-done
UPDATE inbound SET state = ?, error = ?, automatic = ?, ticket_id = ?, comment_id = ?, attempts = attempts + 1, processed_at = ? WHERE id = ?;

-- name: inbound-failed
UPDATE inbound SET state = 'failed', error = ?, attempts = attempts + 1, processed_at = ? WHERE id = ?;

-- name: inbound-to-retry
SELECT i.id, r.raw, i.raw_blob, i.envelope_from, i.recipients, i.channel, i.remote_addr
FROM inbound i LEFT JOIN inbound_raw r ON r.id = i.id
WHERE i.state IN ('pending', 'failed') AND i.attempts < ? ORDER BY i.id LIMIT ?;

-- name: inbound-stale
SELECT i.id, r.raw, i.raw_blob, i.envelope_from, i.recipients, i.channel, i.remote_addr
FROM inbound i LEFT JOIN inbound_raw r ON r.id = i.id
WHERE i.state = 'pending' AND i.received_at < ? ORDER BY i.id LIMIT ?;

-- name: inbound-list
SELECT id, message_id, envelope_from, channel, size, state, error, attempts, automatic, received_at, ticket_id, auth
FROM inbound WHERE (? = '' OR state = ?) ORDER BY id DESC LIMIT ? OFFSET ?;

-- name: inbound-raw
SELECT r.raw, i.raw_blob FROM inbound i LEFT JOIN inbound_raw r ON r.id = i.id WHERE i.id = ?;

-- name: user-by-email
SELECT id, email, name, role, uai, lang, time_zone, created_at, bouncing_until, notify_email FROM users WHERE email = ?;

-- name: user-by-id
SELECT id, email, name, role, uai, lang, time_zone, created_at, bouncing_until, notify_email FROM users WHERE id = ?;

-- name: ensure-user
INSERT INTO users (email, name, role, uai, lang, time_zone, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (email) DO UPDATE SET name = CASE WHEN users.name = '' THEN excluded.name ELSE users.name END
RETURNING id, email, name, role, uai, lang, time_zone, created_at, bouncing_until, notify_email;

-- name: upsert-user
INSERT INTO users (email, name, role, uai, lang, time_zone, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (email) DO UPDATE SET name = excluded.name, role = excluded.role, uai = excluded.uai,
  lang = excluded.lang, password_hash = CASE WHEN excluded.password_hash = '' THEN users.password_hash ELSE excluded.password_hash END;

-- name: staff-users
SELECT id, email, name, role, uai, lang, time_zone, created_at, bouncing_until, notify_email FROM users WHERE role IN ('agent', 'admin') ORDER BY id;

-- name: set-bouncing
UPDATE users SET bouncing_until = ? WHERE email = ?;

-- name: user-bouncing
SELECT COUNT(*) FROM users WHERE email = ? AND bouncing_until IS NOT NULL AND bouncing_until > ?;

-- name: upsert-establishment
INSERT INTO establishments (uai, name, academie) VALUES (?, ?, ?)
ON CONFLICT (uai) DO UPDATE SET name = excluded.name, academie = excluded.academie;

-- name: establishment
SELECT uai, name, academie FROM establishments WHERE uai = ?;

-- name: insert-ticket
INSERT INTO tickets (key, desk_id, number, summary, description, description_html, status, requester_id, uai, url, academie,
  components, phone, incident_start, affected_users, request_type, source, inbound_id, linked_ticket_id, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id;

-- name: ticket-by-key
SELECT id, key, desk_id, number, summary, description, status, requester_id, assignee_id, uai, url, academie, components,
  phone, incident_start, affected_users, request_type, source, linked_ticket_id, created_at, updated_at, closed_at
FROM tickets WHERE key = ?;

-- name: ticket-by-id
SELECT id, key, desk_id, number, summary, description, status, requester_id, assignee_id, uai, url, academie, components,
  phone, incident_start, affected_users, request_type, source, linked_ticket_id, created_at, updated_at, closed_at
FROM tickets WHERE id = ?;

-- name: ticket-list
SELECT t.key, t.summary, t.status, u.email AS requester, t.source, t.created_at, t.updated_at
FROM tickets t JOIN users u ON u.id = t.requester_id
ORDER BY t.updated_at DESC, t.id DESC LIMIT ? OFFSET ?;

-- name: ticket-set-status
UPDATE tickets SET status = ?, updated_at = ?, closed_at = ? WHERE id = ?;

-- name: ticket-touch
UPDATE tickets SET updated_at = ? WHERE id = ?;

-- name: insert-participant
INSERT INTO participants (ticket_id, user_id, added_at) VALUES (?, ?, ?) ON CONFLICT (ticket_id, user_id) DO NOTHING;

-- name: participants
SELECT u.id, u.email, u.name, u.role, u.uai, u.lang, u.time_zone, u.created_at, u.bouncing_until, u.notify_email
FROM participants p JOIN users u ON u.id = p.user_id WHERE p.ticket_id = ? ORDER BY p.added_at, u.id;

-- name: insert-comment
INSERT INTO comments (ticket_id, author_id, body, body_html, visibility, source, automatic, inbound_id, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id;

-- name: comments
SELECT c.id, u.email AS author_email, u.name AS author_name, u.role AS author_role, c.body, c.body_html, c.inbound_id, c.visibility, c.source, c.automatic, c.verified, c.created_at
FROM comments c JOIN users u ON u.id = c.author_id WHERE c.ticket_id = ? ORDER BY c.id;

-- name: insert-attachment
INSERT INTO attachments (ticket_id, comment_id, filename, content_type, size, sha256, inline, content_id, truncated)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: attachments
SELECT comment_id, filename, content_type, size, sha256, inline, content_id, truncated FROM attachments WHERE ticket_id = ? ORDER BY id;

-- name: insert-thread-message
INSERT INTO thread_messages (message_id, ticket_id, created_at) VALUES (?, ?, ?) ON CONFLICT (message_id) DO NOTHING;

-- name: thread-message
SELECT ticket_id FROM thread_messages WHERE message_id = ?
UNION ALL SELECT ticket_id FROM outbox WHERE message_id = ? AND ticket_id IS NOT NULL
LIMIT 1;

-- name: thread-last-messages
SELECT message_id FROM thread_messages WHERE ticket_id = ? ORDER BY created_at, message_id LIMIT 20;

-- name: insert-outbox
INSERT INTO outbox (kind, ticket_id, ticket_key, to_email, to_name, to_role, lang, time_zone, message_id, in_reply_to, refs, reply_to, data, data_id, state, next_attempt_at, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?);

-- name: insert-outbox-data
INSERT INTO outbox_data (data) VALUES (?) RETURNING id;

-- name: count-recent-outbox
SELECT COUNT(*) FROM outbox WHERE to_email = ? AND kind = ? AND created_at > ?;


-- name: outbox-claim
UPDATE outbox SET claimed_until = ?, claimed_by = ?, attempts = attempts + 1
WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until < ?) ORDER BY next_attempt_at, id LIMIT ?)
RETURNING id, kind, ticket_key, to_email, to_name, to_role, lang, time_zone, message_id, in_reply_to, refs, reply_to, data, attempts, created_at,
          COALESCE((SELECT d.data FROM outbox_data d WHERE d.id = outbox.data_id), '') AS shared;

-- PostgreSQL re-checks the outer WHERE of the query above only on the row it updates, not
-- the subquery: two instances could claim one row. SKIP LOCKED makes each claim its own.
-- name: outbox-claim@postgres
UPDATE outbox SET claimed_until = ?, claimed_by = ?, attempts = attempts + 1
WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until < ?)
             ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED)
RETURNING id, kind, ticket_key, to_email, to_name, to_role, lang, time_zone, message_id, in_reply_to, refs, reply_to, data, attempts, created_at,
          COALESCE((SELECT d.data FROM outbox_data d WHERE d.id = outbox.data_id), '') AS shared;

-- name: outbox-sent-mail
SELECT id, kind, ticket_key, to_email, to_name, to_role, lang, time_zone, message_id, in_reply_to, refs, reply_to, data, attempts, created_at,
       COALESCE((SELECT d.data FROM outbox_data d WHERE d.id = outbox.data_id), '') AS shared
FROM outbox WHERE message_id = ? AND ticket_id = ? AND state = 'sent';

-- name: outbox-sent
UPDATE outbox SET state = 'sent', response = ?, sent_at = ?, claimed_until = NULL WHERE id = ?;

-- name: outbox-release
UPDATE outbox SET claimed_until = NULL, attempts = attempts - 1 WHERE id = ? AND state = 'pending' AND claimed_until IS NOT NULL;

-- name: outbox-release-all
UPDATE outbox SET claimed_until = NULL WHERE state = 'pending' AND claimed_until IS NOT NULL;

-- name: outbox-release-instance
UPDATE outbox SET claimed_until = NULL WHERE state = 'pending' AND claimed_until IS NOT NULL AND claimed_by = ?;

-- name: outbox-retry
UPDATE outbox SET next_attempt_at = ?, last_error = ?, claimed_until = NULL WHERE id = ? AND state = 'pending';

-- name: outbox-failed
UPDATE outbox SET state = 'failed', last_error = ?, claimed_until = NULL WHERE id = ?;

-- name: ping
SELECT 1;

-- name: insert-setting
INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING;

-- name: setting
SELECT value FROM settings WHERE name = ?;

-- name: stats-inbound
SELECT state, COUNT(*) AS n FROM inbound GROUP BY state;

-- name: stats-outbox
SELECT state, COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox GROUP BY state;

-- name: stats-outbox-retrying
SELECT COUNT(*) FROM outbox WHERE state = 'pending' AND last_error <> '';

-- name: stats-tickets
SELECT status AS state, COUNT(*) AS n FROM tickets GROUP BY status;
