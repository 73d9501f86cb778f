-- A big inbound message is kept as a file of the blob store, addressed by its SHA-256
-- like the attachments, instead of in the raw column: raw_blob holds its hash and raw is
-- then empty (size still says how long the message is). So neither storing nor reading
-- a big message holds it whole in memory. Rows stored before this migration, and small
-- messages, keep their bytes in raw with raw_blob ''.
ALTER TABLE inbound ADD COLUMN raw_blob TEXT NOT NULL DEFAULT '';
