-- The tickets of each status in id order, the order of the full-text index: the count of
-- a text search filtered by status merges the two lists (ownCount), where looking each
-- match of the text up in tickets cost 50 ms at a million tickets. The index is partial
-- on a condition that only that query writes ("t.status <> ''"; every status is some
-- word): a plain index on (status) is taken by the planner for the list's own queries
-- too (filtered by status, ordered by activity), which tickets_status serves in order,
-- when sqlite_stat1 knows the other indexes and not this one.
CREATE INDEX tickets_status_ids ON tickets (status) WHERE status <> '';
