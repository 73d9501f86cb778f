-- Queries of changes made by people: comments, statuses, participants, assignment.

-- name: remove-participant
DELETE FROM participants WHERE ticket_id = ? AND user_id = ?;

-- name: mute-participant
UPDATE participants SET muted = ? WHERE ticket_id = ? AND user_id = ?;

-- name: participant-muted
SELECT COUNT(*) FROM participants WHERE ticket_id = ? AND user_id = ? AND muted = 1;

-- name: assign
UPDATE tickets SET assignee_id = ?, updated_at = ? WHERE id = ?;

-- name: insert-event
INSERT INTO events (ticket_id, actor_id, kind, detail, created_at) VALUES (?, ?, ?, ?, ?);

-- name: events
SELECT e.id, e.kind, e.detail, e.created_at, COALESCE(u.email, '') AS actor, COALESCE(u.name, '') AS actor_name
FROM events e LEFT JOIN users u ON u.id = e.actor_id WHERE e.ticket_id = ? ORDER BY e.id;

-- name: whitelisted
SELECT COUNT(*) FROM establishment_whitelist WHERE uai = ? AND email = ?;

-- name: insert-whitelist
INSERT INTO establishment_whitelist (uai, email, added_at) VALUES (?, ?, ?) ON CONFLICT (uai, email) DO NOTHING;

-- name: ticket-by-request-id
SELECT key FROM tickets WHERE request_id = ?;

-- name: set-request-id
UPDATE tickets SET request_id = ? WHERE id = ?;

-- name: set-comment-verified
UPDATE comments SET verified = ? WHERE id = ?;

-- name: set-inbound-auth
UPDATE inbound SET auth = ? WHERE id = ?;

-- name: hold-inbound
UPDATE inbound SET state = 'held', held_reason = ?, held_msg = ?, ticket_id = ?, attempts = attempts + 1, processed_at = ? WHERE id = ?;

-- name: insert-held-notice
INSERT INTO held_notices (message_id, inbound_id, user_id, created_at) VALUES (?, ?, ?, ?);

-- name: held-notice
SELECT inbound_id, user_id FROM held_notices WHERE message_id = ?;

-- name: inbound-row
SELECT id, envelope_from, recipients, channel, remote_addr, state, held_msg, ticket_id FROM inbound WHERE id = ?;

-- name: count-recent-to-ticket
SELECT COUNT(*) FROM outbox WHERE ticket_id = ? AND to_email = ? AND created_at > ?;


-- name: inbound-set-state
UPDATE inbound SET state = ?, error = ?, ticket_id = ?, comment_id = ?, attempts = attempts + 1, processed_at = ? WHERE id = ?;

-- name: outbox-bounced
SELECT to_email, ticket_id FROM outbox WHERE message_id = ?;

-- name: claim-retry
UPDATE inbound SET state = state WHERE id = ? AND state IN ('pending', 'failed');
