-- A stored message's bytes move out of its inbound row into inbound_raw. SQLite writes a
-- row whole: each later change of the row (processed, its authentication results, a
-- failure, a retry) wrote the message again, a 200 KB one as fifty overflow pages into
-- the WAL and then into the database. inbound_raw is written once, when the message is
-- stored, and emptied of it by a purge. A message in the blob store (raw_blob, 0013) and
-- a purged one have no row there.
CREATE TABLE inbound_raw (
    id  INTEGER PRIMARY KEY REFERENCES inbound(id),
    raw BLOB NOT NULL
);
INSERT INTO inbound_raw (id, raw) SELECT id, raw FROM inbound WHERE length(raw) > 0;
ALTER TABLE inbound DROP COLUMN raw;
