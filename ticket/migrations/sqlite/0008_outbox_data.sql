-- The mails of one change (a new ticket's confirmation and its notification to every
-- agent, a comment to each participant) tell the same ticket and comment. Each outbox
-- row carried its own copy of them, description and comment body included: N+1 copies
-- for a desk of N agents. When a change queues more than one mail, that shared part is
-- written once here, and each row keeps only what is its own (link to stop the mails,
-- attachments, …) and points at it. A change that queues one mail keeps it whole in its
-- row, as before; rows written before this migration are read as they are.
CREATE TABLE outbox_data (
    id   INTEGER PRIMARY KEY,
    data TEXT NOT NULL
);

ALTER TABLE outbox ADD COLUMN data_id INTEGER REFERENCES outbox_data(id);
