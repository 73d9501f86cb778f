-- Queries of the SLA clocks (ticket_sla, sla.go).

-- name: sla-row
SELECT ticket_id, elapsed_s, running_since, responded_at, response_s, response_due, resolution_due, due, next_check, resolved_at, flags
FROM ticket_sla WHERE ticket_id = ?;

-- name: sla-insert
INSERT INTO ticket_sla (ticket_id, elapsed_s, running_since, responded_at, response_s, response_due, resolution_due, due, next_check, resolved_at, flags)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (ticket_id) DO NOTHING;

-- name: sla-update
UPDATE ticket_sla SET elapsed_s = ?, running_since = ?, responded_at = ?, response_s = ?, response_due = ?,
    resolution_due = ?, due = ?, next_check = ?, resolved_at = ?, flags = ?
WHERE ticket_id = ?;

-- name: sla-claim-flag
UPDATE ticket_sla SET flags = flags | ? WHERE ticket_id = ? AND (flags & ?) = 0;

-- name: sla-to-check
SELECT ticket_id FROM ticket_sla WHERE next_check IS NOT NULL AND next_check <= ? ORDER BY next_check LIMIT ?;

-- name: sla-next-check
SELECT next_check FROM ticket_sla WHERE next_check IS NOT NULL ORDER BY next_check LIMIT 1;

-- name: sla-missing
SELECT t.id, t.status, t.created_at, t.updated_at FROM tickets t
WHERE t.status <> 'closed' AND NOT EXISTS (SELECT 1 FROM ticket_sla s WHERE s.ticket_id = t.id)
ORDER BY t.id LIMIT ?;

-- name: sla-first-answer
SELECT c.created_at FROM comments c JOIN users u ON u.id = c.author_id
WHERE c.ticket_id = ? AND c.visibility = 'public' AND c.automatic = 0 AND u.role IN ('agent', 'admin')
ORDER BY c.created_at LIMIT 1;

-- name: sla-daily
INSERT INTO sla_daily (day, measure, bucket, n) VALUES (?, ?, ?, ?)
ON CONFLICT (measure, day, bucket) DO UPDATE SET n = sla_daily.n + excluded.n;
