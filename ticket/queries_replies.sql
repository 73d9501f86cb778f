-- Queries of agents' saved replies (replies.go).

-- name: replies-list
SELECT id, name, title, body_fr, body_en, updated_at FROM saved_replies ORDER BY name;

-- name: reply-by-name
SELECT id, name, title, body_fr, body_en, updated_at FROM saved_replies WHERE name = ?;

-- name: reply-upsert
INSERT INTO saved_replies (name, title, body_fr, body_en, updated_by, updated_at) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET title = excluded.title, body_fr = excluded.body_fr, body_en = excluded.body_en,
    updated_by = excluded.updated_by, updated_at = excluded.updated_at;

-- name: reply-delete
DELETE FROM saved_replies WHERE name = ?;
