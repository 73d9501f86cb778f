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

-- name: dash-buckets
SELECT bucket AS m, SUM(n) AS n FROM sla_daily WHERE measure = ? AND day >= ? AND day < ?
GROUP BY bucket ORDER BY bucket;
