-- Queries of the portal and the API: accounts, sessions, sign-in links, API tokens, and
-- the fixed parts of the requests list (its WHERE clause is built in list.go).

-- name: account
SELECT id, email, name, role, uai, lang, time_zone, created_at, bouncing_until, notify_email, avatar_sha256, avatar_type,
  pending_notify_email, CASE WHEN password_hash <> '' THEN 1 ELSE 0 END AS has_password
FROM users WHERE id = ?;

-- name: password-by-email
SELECT id, password_hash FROM users WHERE email = ?;

-- name: password-by-id
SELECT id, password_hash FROM users WHERE id = ?;

-- name: set-password
UPDATE users SET password_hash = ? WHERE id = ?;

-- name: update-profile
UPDATE users SET name = ?, time_zone = ?, lang = ? WHERE id = ?;

-- name: set-avatar
UPDATE users SET avatar_sha256 = ?, avatar_type = ? WHERE id = ?;

-- name: set-pending-notify
UPDATE users SET pending_notify_email = ?, pending_notify_hash = ?, pending_notify_expires = ? WHERE id = ?;

-- name: confirm-notify
UPDATE users SET notify_email = pending_notify_email, pending_notify_email = '', pending_notify_hash = NULL,
  pending_notify_expires = NULL
WHERE pending_notify_hash = ? AND pending_notify_expires > ? AND pending_notify_email <> ''
RETURNING id;

-- name: insert-session
INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen) VALUES (?, ?, ?, ?, ?);

-- name: session
SELECT user_id, created_at, expires_at, last_seen FROM sessions WHERE token_hash = ? AND expires_at > ?;

-- name: touch-session
UPDATE sessions SET last_seen = ?, expires_at = ? WHERE token_hash = ?;

-- name: delete-session
DELETE FROM sessions WHERE token_hash = ?;

-- name: delete-expired-sessions
DELETE FROM sessions WHERE expires_at <= ?;

-- name: insert-signin-link
INSERT INTO signin_links (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?);

-- name: count-recent-signin-links
SELECT COUNT(*) FROM signin_links WHERE user_id = ? AND created_at > ?;

-- name: use-signin-link
UPDATE signin_links SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?
RETURNING user_id;

-- name: delete-old-signin-links
DELETE FROM signin_links WHERE expires_at <= ?;

-- name: insert-api-token
INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?) RETURNING id;

-- name: api-token-user
SELECT a.id AS token_id, a.last_used, u.id, u.email, u.name, u.role, u.uai, u.lang, u.time_zone, u.created_at, u.bouncing_until, u.notify_email
FROM api_tokens a JOIN users u ON u.id = a.user_id WHERE a.token_hash = ? AND a.revoked_at IS NULL;

-- name: touch-api-token
UPDATE api_tokens SET last_used = ? WHERE id = ? AND (last_used IS NULL OR last_used < ?);

-- name: api-tokens
SELECT id, name, created_at, last_used, revoked_at FROM api_tokens WHERE user_id = ? ORDER BY id;

-- name: revoke-api-token
UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL;

-- A loose index scan over tickets_type: one probe per distinct value, not a scan of
-- every ticket.
-- name: request-types
WITH RECURSIVE rt(v) AS (
  SELECT MIN(request_type) FROM tickets WHERE request_type > ''
  UNION ALL
  SELECT (SELECT MIN(request_type) FROM tickets WHERE request_type > rt.v) FROM rt WHERE rt.v IS NOT NULL
)
SELECT v FROM rt WHERE v IS NOT NULL;

-- name: confirm-notify-reset
UPDATE users SET notify_email = '' WHERE id = ?;
