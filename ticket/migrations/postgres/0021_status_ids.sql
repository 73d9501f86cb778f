-- The tickets by status alone: the count of a text search filtered by status (ownCount)
-- ANDs this index's bitmap with the full-text index's, and reads in tickets only the rows
-- of both; with tickets_status alone (status, updated_at, id), the planner read every
-- match of the text and filtered the status there (50,000 rows for 10,000 counted at a
-- million tickets, 2-4 times as long).
CREATE INDEX tickets_status_ids ON tickets (status);
