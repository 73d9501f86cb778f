-- Text search indexing moves to the end of each transaction. FTS5 writes out a segment
-- at every savepoint, and intake runs one savepoint per message: with the index kept by
-- triggers inside them, a batch of 64 messages wrote 64 segments (and merged them). An
-- insert now only notes the row in fts_pending; the writer indexes the rows noted, in
-- one statement per table, just before it commits (ticket.indexPending). An update or a
-- delete of a row still waiting there leaves the index alone: the row is indexed with
-- its latest values, or dropped from the list.
CREATE TABLE fts_pending (
    tbl TEXT NOT NULL,
    id INTEGER NOT NULL,
    PRIMARY KEY (tbl, id)
) WITHOUT ROWID;

DROP TRIGGER tickets_fts_ai;
DROP TRIGGER tickets_fts_ad;
DROP TRIGGER tickets_fts_au;
DROP TRIGGER comments_fts_ai;
DROP TRIGGER comments_fts_ad;
DROP TRIGGER comments_fts_au;

CREATE TRIGGER tickets_fts_ai AFTER INSERT ON tickets BEGIN
    INSERT OR IGNORE INTO fts_pending (tbl, id) VALUES ('tickets', new.id);
END;
CREATE TRIGGER tickets_fts_ad AFTER DELETE ON tickets BEGIN
    INSERT INTO tickets_fts (tickets_fts, rowid, summary, description)
    SELECT 'delete', old.id, old.summary, old.description
    WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE tbl = 'tickets' AND id = old.id);
    DELETE FROM fts_pending WHERE tbl = 'tickets' AND id = old.id;
END;
CREATE TRIGGER tickets_fts_au AFTER UPDATE OF summary, description ON tickets
WHEN NOT EXISTS (SELECT 1 FROM fts_pending WHERE tbl = 'tickets' AND id = old.id) BEGIN
    INSERT INTO tickets_fts (tickets_fts, rowid, summary, description) VALUES ('delete', old.id, old.summary, old.description);
    INSERT INTO tickets_fts (rowid, summary, description) VALUES (new.id, new.summary, new.description);
END;

CREATE TRIGGER comments_fts_ai AFTER INSERT ON comments BEGIN
    INSERT OR IGNORE INTO fts_pending (tbl, id) VALUES ('comments', new.id);
END;
CREATE TRIGGER comments_fts_ad AFTER DELETE ON comments BEGIN
    INSERT INTO comments_fts (comments_fts, rowid, body)
    SELECT 'delete', old.id, old.body
    WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE tbl = 'comments' AND id = old.id);
    DELETE FROM fts_pending WHERE tbl = 'comments' AND id = old.id;
END;
CREATE TRIGGER comments_fts_au AFTER UPDATE OF body ON comments
WHEN NOT EXISTS (SELECT 1 FROM fts_pending WHERE tbl = 'comments' AND id = old.id) BEGIN
    INSERT INTO comments_fts (comments_fts, rowid, body) VALUES ('delete', old.id, old.body);
    INSERT INTO comments_fts (rowid, body) VALUES (new.id, new.body);
END;
