-- Queries of the retention policy (retention.go), of a person's export and erasure
-- (personal.go) and of the audit log (audit.go).

-- The retention queries name their partial index on SQLite: its planner, without
-- statistics, takes tickets_closed (migration 0020) instead, which also holds every
-- ticket already purged: 0.75 s per hourly pass at a million tickets, 576,000 of them
-- purged, against under a millisecond through tickets_retention. PostgreSQL's planner
-- picks the smaller, partial index by itself.

-- name: retention-due
SELECT id FROM tickets INDEXED BY tickets_retention WHERE status = 'closed' AND purged_at IS NULL AND closed_at < ?
ORDER BY closed_at, id LIMIT ?;

-- name: retention-due@postgres
-- Locked: a ticket reopened meanwhile by another transaction is skipped once that one
-- commits (the WHERE is checked again), and two instances purging at once split the work.
SELECT id FROM tickets WHERE status = 'closed' AND purged_at IS NULL AND closed_at < ? ORDER BY closed_at, id LIMIT ?
FOR UPDATE SKIP LOCKED;

-- name: retention-loose-inbound
SELECT id FROM inbound INDEXED BY inbound_retention WHERE purged_at IS NULL AND received_at < ? AND
(ticket_id IS NULL AND state IN ('processed', 'automatic', 'duplicate', 'refused')
    OR EXISTS (SELECT 1 FROM tickets t WHERE t.id = inbound.ticket_id AND t.purged_at IS NOT NULL))
ORDER BY received_at, id LIMIT ?;

-- name: retention-loose-inbound@postgres
SELECT id FROM inbound WHERE purged_at IS NULL AND received_at < ? AND
(ticket_id IS NULL AND state IN ('processed', 'automatic', 'duplicate', 'refused')
    OR EXISTS (SELECT 1 FROM tickets t WHERE t.id = inbound.ticket_id AND t.purged_at IS NOT NULL))
ORDER BY received_at, id LIMIT ?;

-- name: ticket-people
SELECT requester_id FROM tickets WHERE id = ?
UNION SELECT user_id FROM participants WHERE ticket_id = ?
UNION SELECT author_id FROM comments WHERE ticket_id = ?;

-- name: ticket-attachment-sums
SELECT sha256 FROM attachments WHERE ticket_id = ?;

-- name: ticket-attachments-delete
DELETE FROM attachments WHERE ticket_id = ?;

-- name: ticket-comments-blank
UPDATE comments SET body = ?, body_html = '' WHERE ticket_id = ?;

-- name: ticket-participants-delete
DELETE FROM participants WHERE ticket_id = ?;

-- name: ticket-thread-delete
DELETE FROM thread_messages WHERE ticket_id = ?;

-- name: ticket-events-blank
UPDATE events SET detail = '' WHERE ticket_id = ? AND detail <> ''
AND kind NOT IN ('status', 'sla_breach', 'sla_warning', 'followed_by', 'muted');

-- name: ticket-purge
UPDATE tickets SET summary = ?, description = '', description_html = '', url = '', phone = '',
    incident_start = '', affected_users = '', request_id = NULL, purged_at = ? WHERE id = ?;

-- name: ticket-inbound
-- Through the rows that name them: inbound has no index on ticket_id. The ticket's other
-- inbound rows (duplicates, bounces, held mail) are the loose pass's.
SELECT inbound_id FROM tickets WHERE id = ? AND inbound_id IS NOT NULL
UNION SELECT inbound_id FROM comments WHERE ticket_id = ? AND inbound_id IS NOT NULL;

-- name: inbound-purge
UPDATE inbound SET raw_blob = '', body_sha256 = '', dedup_key = 'purged:' || id, message_id = '',
    envelope_from = '', recipients = '', remote_addr = '', error = '', auth = '', held_msg = '', purged_at = ?
WHERE id = ? AND purged_at IS NULL;

-- name: inbound-raw-purge
DELETE FROM inbound_raw WHERE id = ?;

-- name: inbound-blob
SELECT raw_blob FROM inbound WHERE id = ?;

-- name: ticket-outbox-delete
DELETE FROM outbox WHERE ticket_id = ? AND (claimed_until IS NULL OR claimed_until < ?) RETURNING response, data_id, ticket_id;

-- name: user-outbox-delete
DELETE FROM outbox WHERE to_email IN (?, ?, ?) AND (claimed_until IS NULL OR claimed_until < ?) RETURNING response, data_id, ticket_id;

-- name: outbox-data-blank
-- Emptied, not deleted: outbox.data_id has no index, so a delete (its foreign key
-- checked) and a look for other users of the row would each read the whole outbox. The
-- mails that share a row are those of one change, on one ticket: the ticket's index finds
-- any left (a mail being sent).
UPDATE outbox_data SET data = '{}' WHERE id = ? AND NOT EXISTS (SELECT 1 FROM outbox WHERE ticket_id = ? AND data_id = ?);

-- name: blob-referenced
SELECT EXISTS (SELECT 1 FROM attachments WHERE sha256 = ?)
    OR EXISTS (SELECT 1 FROM inbound WHERE raw_blob = ?)
    OR EXISTS (SELECT 1 FROM users WHERE avatar_sha256 = ?);

-- name: retention-user-idle
-- A customer whose every ticket (asked, assigned, taking part) is purged, with no way in
-- (no password, API token or live session), on no whitelist, known since before the
-- cutoff. Comments are not looked at: without a way in, a customer comments only by
-- mail, on the tickets they ask or take part in. The ticket look-ups name their index
-- on SQLite, whose planner otherwise scans the table for a requester with many tickets
-- (400 ms at a million); PostgreSQL's variant below is the same without.
SELECT COUNT(*) FROM users u WHERE u.id = ? AND u.role = 'customer' AND u.erased_at IS NULL
AND u.password_hash = '' AND u.created_at < ?
AND NOT EXISTS (SELECT 1 FROM tickets t INDEXED BY tickets_requester WHERE t.requester_id = u.id AND t.purged_at IS NULL)
AND NOT EXISTS (SELECT 1 FROM tickets t INDEXED BY tickets_assignee WHERE t.assignee_id = u.id AND t.purged_at IS NULL)
AND NOT EXISTS (SELECT 1 FROM participants p JOIN tickets t ON t.id = p.ticket_id WHERE p.user_id = u.id AND t.purged_at IS NULL)
AND NOT EXISTS (SELECT 1 FROM api_tokens k WHERE k.user_id = u.id AND k.revoked_at IS NULL)
AND NOT EXISTS (SELECT 1 FROM sessions x WHERE x.user_id = u.id AND x.expires_at > ?)
AND NOT EXISTS (SELECT 1 FROM establishment_whitelist w WHERE w.email = u.email);

-- name: retention-user-idle@postgres
SELECT COUNT(*) FROM users u WHERE u.id = ? AND u.role = 'customer' AND u.erased_at IS NULL
AND u.password_hash = '' AND u.created_at < ?
AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.requester_id = u.id AND t.purged_at IS NULL)
AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.assignee_id = u.id AND t.purged_at IS NULL)
AND NOT EXISTS (SELECT 1 FROM participants p JOIN tickets t ON t.id = p.ticket_id WHERE p.user_id = u.id AND t.purged_at IS NULL)
AND NOT EXISTS (SELECT 1 FROM api_tokens k WHERE k.user_id = u.id AND k.revoked_at IS NULL)
AND NOT EXISTS (SELECT 1 FROM sessions x WHERE x.user_id = u.id AND x.expires_at > ?)
AND NOT EXISTS (SELECT 1 FROM establishment_whitelist w WHERE w.email = u.email);

-- name: person
SELECT id, email, name, role, uai, lang, time_zone, created_at, bouncing_until, notify_email,
    password_hash <> '' AS has_password, avatar_sha256, pending_notify_email, erased_at FROM users WHERE email = ?;

-- name: person-anonymise
UPDATE users SET email = ?, name = ?, role = 'customer', password_hash = '', notify_email = '',
    pending_notify_email = '', pending_notify_hash = NULL, pending_notify_expires = NULL,
    avatar_sha256 = '', avatar_type = '', bouncing_until = ?, erased_at = ? WHERE id = ?;

-- name: person-sessions-delete
DELETE FROM sessions WHERE user_id = ?;

-- name: person-signin-delete
DELETE FROM signin_links WHERE user_id = ?;

-- name: person-tokens-delete
DELETE FROM api_tokens WHERE user_id = ?;

-- name: person-participations-delete
DELETE FROM participants WHERE user_id = ?;

-- name: person-whitelist-delete
DELETE FROM establishment_whitelist WHERE email = ?;

-- name: person-events-rename
UPDATE events SET detail = REPLACE(detail, ?, ?) WHERE detail LIKE ? ESCAPE '\';

-- name: admins-left
SELECT COUNT(*) FROM users WHERE role = 'admin' AND erased_at IS NULL;

-- name: person-comment-sums
SELECT a.sha256 FROM attachments a JOIN comments c ON c.id = a.comment_id WHERE c.author_id = ?
UNION ALL SELECT a.sha256 FROM attachments a JOIN tickets t ON t.id = a.ticket_id WHERE t.requester_id = ? AND a.comment_id IS NULL;

-- name: person-attachments-delete
DELETE FROM attachments WHERE comment_id IN (SELECT id FROM comments WHERE author_id = ?)
OR (comment_id IS NULL AND ticket_id IN (SELECT id FROM tickets WHERE requester_id = ?));

-- name: person-comments-blank
UPDATE comments SET body = ?, body_html = '' WHERE author_id = ?;

-- name: person-tickets-blank
UPDATE tickets SET summary = ?, description = '', description_html = '', url = '', phone = '',
    incident_start = '', affected_users = '' WHERE requester_id = ?;

-- name: person-inbound
SELECT id FROM inbound WHERE purged_at IS NULL AND (lower(envelope_from) = ? OR dedup_key LIKE ? ESCAPE '\'
    OR id IN (SELECT inbound_id FROM comments WHERE author_id = ? AND inbound_id IS NOT NULL)
    OR id IN (SELECT inbound_id FROM tickets WHERE requester_id = ? AND inbound_id IS NOT NULL));

-- name: person-tickets
SELECT t.id, t.key, t.summary, t.description, t.status, t.uai, t.source, t.created_at, t.updated_at, t.closed_at,
    t.purged_at, t.requester_id = ? AS requester, COALESCE(t.assignee_id = ?, FALSE) AS assignee,
    EXISTS (SELECT 1 FROM participants p WHERE p.ticket_id = t.id AND p.user_id = ?) AS participant,
    EXISTS (SELECT 1 FROM comments c WHERE c.ticket_id = t.id AND c.author_id = ?) AS commenter
FROM tickets t
WHERE t.requester_id = ? OR t.assignee_id = ?
    OR t.id IN (SELECT ticket_id FROM participants WHERE user_id = ?)
    OR t.id IN (SELECT ticket_id FROM comments WHERE author_id = ?)
ORDER BY t.id;

-- name: person-ticket-comments
SELECT c.id, c.author_id, u.name AS author_name, c.body, c.visibility, c.source, c.created_at
FROM comments c JOIN users u ON u.id = c.author_id WHERE c.ticket_id = ? ORDER BY c.id;

-- name: person-ticket-files
SELECT a.comment_id, a.filename, a.content_type, a.size, a.sha256, COALESCE(c.author_id, t.requester_id) AS sender_id
FROM attachments a JOIN tickets t ON t.id = a.ticket_id LEFT JOIN comments c ON c.id = a.comment_id
WHERE a.ticket_id = ? ORDER BY a.id;

-- name: person-events
SELECT t.key, e.kind, e.detail, e.actor_id = ? AS by_them, e.created_at FROM events e JOIN tickets t ON t.id = e.ticket_id
WHERE e.actor_id = ? OR e.detail LIKE ? ESCAPE '\' ORDER BY e.id;

-- name: person-tokens
SELECT name, created_at, last_used, revoked_at FROM api_tokens WHERE user_id = ? ORDER BY id;

-- name: person-counts
SELECT (SELECT COUNT(*) FROM sessions WHERE user_id = ?) AS sessions,
    (SELECT COUNT(*) FROM signin_links WHERE user_id = ?) AS signin_links;

-- name: person-mail
SELECT kind, ticket_key, state, created_at, sent_at FROM outbox WHERE to_email IN (?, ?, ?) ORDER BY id;

-- name: person-inbound-list
SELECT id, received_at, channel, size, state, message_id, purged_at FROM inbound WHERE id IN (
    SELECT id FROM inbound WHERE lower(envelope_from) = ? OR dedup_key LIKE ? ESCAPE '\'
    UNION SELECT inbound_id FROM comments WHERE author_id = ? AND inbound_id IS NOT NULL
    UNION SELECT inbound_id FROM tickets WHERE requester_id = ? AND inbound_id IS NOT NULL) ORDER BY id;

-- name: person-whitelists
SELECT uai FROM establishment_whitelist WHERE email = ? ORDER BY uai;

-- name: audit-insert
INSERT INTO audit_log (at, actor, action, user_id, detail) VALUES (?, ?, ?, ?, ?);

-- name: audit-list
SELECT id, at, actor, action, user_id, detail FROM audit_log ORDER BY id DESC LIMIT ?;

-- name: ticket-key
SELECT key FROM tickets WHERE id = ?;

-- name: person-by-id
SELECT id, email, name, role, uai, lang, time_zone, created_at, bouncing_until, notify_email,
    password_hash <> '' AS has_password, avatar_sha256, pending_notify_email, erased_at FROM users WHERE id = ?;
