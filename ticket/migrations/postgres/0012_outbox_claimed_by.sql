-- The instance (Options.Instance, serve's --instance-id) that holds an outbox row's claim,
-- so that an instance restarted after a crash gives back, at once, the rows it had
-- claimed instead of leaving them for their lease to end. '' for claims made without an
-- identity (guichet ingest's sends) and for rows claimed before this migration.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
