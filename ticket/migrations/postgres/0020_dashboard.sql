-- The agents' dashboard counts by period: tickets created and closed per week, SLA
-- breaches per week (events); each such count is a range of one of these indexes, not a
-- scan of every ticket.
CREATE INDEX tickets_created ON tickets (created_at);
CREATE INDEX tickets_closed ON tickets (closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX events_kind_time ON events (kind, created_at);

-- Its median times read daily histograms instead of every ticket of the period: for each
-- day (UTC, YYYY-MM-DD) and measure (first_response: business time to an agent's first
-- public answer, on the day of the answer; resolution: business time on the clock when
-- the ticket was closed, on the day of the closing, taken back if it is reopened), how
-- many tickets fell in each bucket of minutes: 5-minute buckets up to 2 h (0-23), 15 up
-- to 10 h (24-55), 1 h up to 50 h (56-95), 10 h beyond (96-127, the last one open).
CREATE TABLE sla_daily (
    day     TEXT NOT NULL,
    measure TEXT NOT NULL,
    bucket  INTEGER NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (measure, day, bucket)
);
INSERT INTO sla_daily (day, measure, bucket, n)
SELECT d, 'first_response', b, COUNT(*) FROM (
  SELECT to_char(responded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS d, CASE WHEN m < 120 THEN m / 5 WHEN m < 600 THEN 24 + (m - 120) / 15
    WHEN m < 3000 THEN 56 + (m - 600) / 60 ELSE LEAST(96 + (m - 3000) / 600, 127) END AS b
  FROM (SELECT responded_at, response_s / 60 AS m FROM ticket_sla WHERE responded_at IS NOT NULL AND response_s IS NOT NULL) r
) x GROUP BY d, b;
INSERT INTO sla_daily (day, measure, bucket, n)
SELECT d, 'resolution', b, COUNT(*) FROM (
  SELECT to_char(resolved_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS d, CASE WHEN m < 120 THEN m / 5 WHEN m < 600 THEN 24 + (m - 120) / 15
    WHEN m < 3000 THEN 56 + (m - 600) / 60 ELSE LEAST(96 + (m - 3000) / 600, 127) END AS b
  FROM (SELECT resolved_at, elapsed_s / 60 AS m FROM ticket_sla WHERE resolved_at IS NOT NULL) r
) x GROUP BY d, b;
