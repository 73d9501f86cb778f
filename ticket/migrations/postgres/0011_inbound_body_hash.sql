-- The SHA-256 of a stored message's bytes after the trace header the listener put in
-- front (Envelope.TraceLen): a second delivery with the same Message-ID from the same
-- sender tells with it whether it is the same message again (a plain duplicate) or one
-- with other content (kept apart as "duplicate", see Service.store). Rows stored before
-- this migration have '' and their duplicates count as the same message.
ALTER TABLE inbound ADD COLUMN body_sha256 TEXT NOT NULL DEFAULT '';
