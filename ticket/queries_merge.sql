-- Queries of merging a ticket into another (merge.go).

-- name: merged-into
SELECT merged_into_id FROM tickets WHERE id = ?;

-- name: merged-into-key
SELECT d.key FROM tickets t JOIN tickets d ON d.id = t.merged_into_id WHERE t.id = ?;

-- name: merge-move-request-files
UPDATE attachments SET ticket_id = ?, comment_id = ? WHERE ticket_id = ? AND comment_id IS NULL;

-- name: merge-move-comments
UPDATE comments SET ticket_id = ? WHERE ticket_id = ?;

-- name: merge-move-files
UPDATE attachments SET ticket_id = ? WHERE ticket_id = ?;

-- name: merge-copy-participants
INSERT INTO participants (ticket_id, user_id, added_at, muted)
SELECT ?, user_id, added_at, muted FROM participants WHERE ticket_id = ?
ON CONFLICT (ticket_id, user_id) DO NOTHING;

-- name: merge-move-thread
UPDATE thread_messages SET ticket_id = ? WHERE ticket_id = ?;

-- name: merge-set
UPDATE tickets SET merged_into_id = ? WHERE id = ?;
