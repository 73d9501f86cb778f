-- A mail can end inside an attachment (no closing boundary, data cut off): the file
-- keeps what was received and says so.
ALTER TABLE attachments ADD COLUMN truncated BIGINT NOT NULL DEFAULT 0;
