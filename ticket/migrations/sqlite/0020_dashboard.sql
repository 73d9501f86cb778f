-- The agents' dashboard counts by period: tickets created and closed per week, SLA
-- breaches per week (events), first answers (ticket_sla.responded_at); each such count is
-- a range of one of these indexes, not a scan of every ticket.
CREATE INDEX tickets_created ON tickets (created_at);
CREATE INDEX tickets_closed ON tickets (closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX events_kind_time ON events (kind, created_at);
CREATE INDEX ticket_sla_responded ON ticket_sla (responded_at, response_s) WHERE responded_at IS NOT NULL;
