-- The tickets of each assignee and of each request type in id order, as tickets_status_ids
-- (0021) for statuses: the count of a text search filtered by them merges these lists
-- with the full-text index's (ownCount), where looking each match of the text up in
-- tickets cost 0.5 s for an agent's own tickets with a common word at a million tickets.
-- Both are partial on a condition that only that query writes, so that the planner never
-- takes them for the list's own queries (tickets_assignee and tickets_type serve those in
-- the list's order).
CREATE INDEX tickets_assignee_ids ON tickets (assignee_id) WHERE assignee_id <> 0;
CREATE INDEX tickets_type_ids ON tickets (request_type) WHERE request_type <> '';

-- The terms of the full-text indexes, in order: a text search turns the prefix of a word
-- into the few terms that begin with it (Service.expand), whose lists FTS5 reads from
-- a given id on, where it merges the whole lists of a prefix before its first row.
CREATE VIRTUAL TABLE tickets_fts_terms USING fts5vocab(tickets_fts, instance);
CREATE VIRTUAL TABLE comments_fts_terms USING fts5vocab(comments_fts, instance);
