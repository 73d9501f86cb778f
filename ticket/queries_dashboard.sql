-- Queries of the agents' dashboard (dashboard.go): each counts over one index range.

-- name: dash-total
SELECT COALESCE(SUM(next_number), 0) FROM desks;

-- name: dash-by-status
SELECT COUNT(*) FROM tickets WHERE status = ?;

-- name: dash-created
SELECT COUNT(*) FROM tickets WHERE created_at >= ? AND created_at < ?;

-- name: dash-closed
SELECT COUNT(*) FROM tickets WHERE closed_at >= ? AND closed_at < ?;

-- name: dash-events
SELECT COUNT(*) FROM events WHERE kind = ? AND created_at >= ? AND created_at < ? AND detail = ?;

-- name: dash-response-minutes
SELECT response_s / 60 AS m, COUNT(*) AS n FROM ticket_sla
WHERE responded_at >= ? AND responded_at < ? GROUP BY response_s / 60 ORDER BY m;

-- name: dash-resolve-minutes
SELECT elapsed_s / 60 AS m, COUNT(*) AS n FROM ticket_sla
WHERE resolved_at >= ? AND resolved_at < ? GROUP BY elapsed_s / 60 ORDER BY m;
