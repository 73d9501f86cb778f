-- A ticket merged into another (an agent's "Fusionner", #fusionner KEY): its comments,
-- files, participants and thread moved to the target; it stays, closed, pointing there,
-- so that mail to its key or thread lands on the target.
ALTER TABLE tickets ADD COLUMN merged_into_id BIGINT REFERENCES tickets(id);
