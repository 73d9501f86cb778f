-- Queries of requesters' satisfaction ratings (satisfaction.go).

-- name: rating-get
SELECT r.id, t.key AS ticket_key, u.email AS requester, COALESCE(a.name, '') AS agent_name, COALESCE(a.email, '') AS agent_email,
    r.closed_at, r.score, r.comment, r.rated_at, r.updated_at
FROM satisfaction_ratings r JOIN tickets t ON t.id = r.ticket_id JOIN users u ON u.id = r.requester_id
LEFT JOIN users a ON a.id = r.agent_id
WHERE r.ticket_id = ? AND r.requester_id = ? AND r.closed_at = ?;

-- name: rating-upsert
INSERT INTO satisfaction_ratings (ticket_id, requester_id, agent_id, closed_at, score, comment, rated_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (ticket_id, requester_id, closed_at) DO UPDATE SET score = excluded.score, comment = excluded.comment,
    updated_at = excluded.updated_at;

-- name: ratings-of-ticket
SELECT r.id, t.key AS ticket_key, u.email AS requester, COALESCE(a.name, '') AS agent_name, COALESCE(a.email, '') AS agent_email,
    r.closed_at, r.score, r.comment, r.rated_at, r.updated_at
FROM satisfaction_ratings r JOIN tickets t ON t.id = r.ticket_id JOIN users u ON u.id = r.requester_id
LEFT JOIN users a ON a.id = r.agent_id
WHERE r.ticket_id = ? AND (? = 0 OR r.requester_id = ?)
ORDER BY r.closed_at DESC, r.id DESC;

-- name: rating-closing-actor
SELECT actor_id FROM events WHERE ticket_id = ? AND kind = 'status' AND detail LIKE ? ORDER BY id DESC LIMIT 1;

-- name: satisfaction-by-desk
SELECT d.key AS group_key, d.name AS group_name, COUNT(*) AS n, SUM(r.score) AS total,
    SUM(CASE WHEN r.score = 1 THEN 1 ELSE 0 END) AS s1, SUM(CASE WHEN r.score = 2 THEN 1 ELSE 0 END) AS s2,
    SUM(CASE WHEN r.score = 3 THEN 1 ELSE 0 END) AS s3, SUM(CASE WHEN r.score = 4 THEN 1 ELSE 0 END) AS s4,
    SUM(CASE WHEN r.score = 5 THEN 1 ELSE 0 END) AS s5
FROM satisfaction_ratings r JOIN tickets t ON t.id = r.ticket_id JOIN desks d ON d.id = t.desk_id
WHERE r.rated_at >= ? AND r.rated_at < ?
GROUP BY d.key, d.name ORDER BY d.key;

-- name: satisfaction-by-agent
SELECT COALESCE(a.email, '') AS group_key, COALESCE(a.name, '') AS group_name, COUNT(*) AS n, SUM(r.score) AS total,
    SUM(CASE WHEN r.score = 1 THEN 1 ELSE 0 END) AS s1, SUM(CASE WHEN r.score = 2 THEN 1 ELSE 0 END) AS s2,
    SUM(CASE WHEN r.score = 3 THEN 1 ELSE 0 END) AS s3, SUM(CASE WHEN r.score = 4 THEN 1 ELSE 0 END) AS s4,
    SUM(CASE WHEN r.score = 5 THEN 1 ELSE 0 END) AS s5
FROM satisfaction_ratings r LEFT JOIN users a ON a.id = r.agent_id
WHERE r.rated_at >= ? AND r.rated_at < ?
GROUP BY a.email, a.name ORDER BY COUNT(*) DESC, group_key;

-- name: satisfaction-comments
SELECT r.id, t.key AS ticket_key, u.email AS requester, COALESCE(a.name, '') AS agent_name, COALESCE(a.email, '') AS agent_email,
    r.closed_at, r.score, r.comment, r.rated_at, r.updated_at
FROM satisfaction_ratings r JOIN tickets t ON t.id = r.ticket_id JOIN users u ON u.id = r.requester_id
LEFT JOIN users a ON a.id = r.agent_id
WHERE r.rated_at >= ? AND r.rated_at < ? AND r.comment <> ''
ORDER BY r.updated_at DESC, r.id DESC LIMIT ?;

-- name: ratings-given-by
SELECT t.key AS ticket_key, u.email AS requester, COALESCE(a.email, '') AS agent_email, r.closed_at, r.score, r.comment,
    r.rated_at, r.updated_at
FROM satisfaction_ratings r JOIN tickets t ON t.id = r.ticket_id JOIN users u ON u.id = r.requester_id
LEFT JOIN users a ON a.id = r.agent_id
WHERE r.requester_id = ? ORDER BY r.id;

-- name: ratings-about
SELECT t.key AS ticket_key, u.email AS requester, COALESCE(a.email, '') AS agent_email, r.closed_at, r.score, r.comment,
    r.rated_at, r.updated_at
FROM satisfaction_ratings r JOIN tickets t ON t.id = r.ticket_id JOIN users u ON u.id = r.requester_id
LEFT JOIN users a ON a.id = r.agent_id
WHERE r.agent_id = ? ORDER BY r.id;

-- name: rating-comments-blank-ticket
UPDATE satisfaction_ratings SET comment = '' WHERE ticket_id = ? AND comment <> '';

-- name: rating-comments-blank-person
UPDATE satisfaction_ratings SET comment = '' WHERE requester_id = ? AND comment <> '';

-- name: satisfaction-totals
SELECT '' AS group_key, '' AS group_name, COUNT(*) AS n, COALESCE(SUM(score), 0) AS total,
    COALESCE(SUM(CASE WHEN score = 1 THEN 1 ELSE 0 END), 0) AS s1, COALESCE(SUM(CASE WHEN score = 2 THEN 1 ELSE 0 END), 0) AS s2,
    COALESCE(SUM(CASE WHEN score = 3 THEN 1 ELSE 0 END), 0) AS s3, COALESCE(SUM(CASE WHEN score = 4 THEN 1 ELSE 0 END), 0) AS s4,
    COALESCE(SUM(CASE WHEN score = 5 THEN 1 ELSE 0 END), 0) AS s5
FROM satisfaction_ratings WHERE rated_at >= ? AND rated_at < ?;
