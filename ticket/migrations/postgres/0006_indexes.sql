-- Indexes for the queries run for every mail queued: without them each one scans a
-- table that grows with every ticket.
CREATE INDEX thread_messages_ticket ON thread_messages (ticket_id, created_at);
CREATE INDEX outbox_ticket_to ON outbox (ticket_id, to_email, created_at);
CREATE INDEX users_staff ON users (role) WHERE role IN ('agent', 'admin');
-- The outbox claim walks due rows in this order and stops at its limit.
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (state, next_attempt_at, id);
