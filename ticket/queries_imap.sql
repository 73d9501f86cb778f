-- Queries of the IMAP intake cursors (see imap.go).

-- name: imap-cursor
SELECT uid_validity, last_uid FROM imap_cursors WHERE mailbox = ?;

-- name: imap-cursor-save
INSERT INTO imap_cursors (mailbox, uid_validity, last_uid, fence, updated_at)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (mailbox) DO UPDATE SET
    uid_validity = excluded.uid_validity,
    last_uid = excluded.last_uid,
    fence = excluded.fence,
    updated_at = excluded.updated_at
WHERE imap_cursors.fence <= excluded.fence;
