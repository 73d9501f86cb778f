-- A stored message's bytes move out of its inbound row into inbound_raw, as on SQLite
-- (where each change of the row wrote the message again; PostgreSQL keeps a large value
-- apart already, but one schema serves both). inbound_raw is written once, when the
-- message is stored, and emptied of it by a purge. A message in the blob store
-- (raw_blob, 0013) and a purged one have no row there.
CREATE TABLE inbound_raw (
    id  BIGINT PRIMARY KEY REFERENCES inbound(id),
    raw BYTEA NOT NULL
);
INSERT INTO inbound_raw (id, raw) SELECT id, raw FROM inbound WHERE length(raw) > 0;
ALTER TABLE inbound DROP COLUMN raw;
