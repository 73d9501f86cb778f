-- SLA clocks, one row per ticket, counted in the desk's business hours (package bizhours).
-- The clock runs while the ticket is new or in progress and stops while it waits
-- ("En attente", "En attente utilisateur") or is closed: elapsed_s holds the business
-- seconds counted before running_since; running_since is NULL while the clock is stopped.
-- responded_at and response_s record the first public answer of an agent and the business
-- time it took. response_due and resolution_due are the instants the targets are reached if
-- the clock keeps running (NULL when stopped, met or not set); due is the one that matters
-- now (the first response until answered, then the resolution), for sorting by time left;
-- next_check is the earliest warning or breach still to act on; resolved_at is when the
-- ticket was closed (NULL while open), for the dashboard's resolution times. flags: 1 first-response
-- warning sent, 2 resolution warning sent, 4 first response breached, 8 resolution breached.
-- Tickets created before this migration get their row from the SLA watcher, from their
-- creation and first answer.
CREATE TABLE ticket_sla (
    ticket_id      BIGINT PRIMARY KEY REFERENCES tickets(id),
    elapsed_s      BIGINT NOT NULL DEFAULT 0,
    running_since  TIMESTAMPTZ,
    responded_at   TIMESTAMPTZ,
    response_s     BIGINT,
    response_due   TIMESTAMPTZ,
    resolution_due TIMESTAMPTZ,
    due            TIMESTAMPTZ,
    next_check     TIMESTAMPTZ,
    resolved_at    TIMESTAMPTZ,
    flags          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ticket_sla_next ON ticket_sla (next_check) WHERE next_check IS NOT NULL;
CREATE INDEX ticket_sla_due ON ticket_sla (due) WHERE due IS NOT NULL;
