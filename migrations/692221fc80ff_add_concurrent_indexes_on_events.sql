-- revision: 692221fc80ff
-- revises: 071fffe7fb4c
-- message: add concurrent indexes on events
-- created: 2026-03-03T12:20:00Z
-- transactional: false

-- +upgrade
CREATE INDEX CONCURRENTLY IF NOT EXISTS events_occurred_at_idx ON events (occurred_at);
CREATE INDEX CONCURRENTLY IF NOT EXISTS events_actor_occurred_at_idx ON events (actor, occurred_at DESC);

-- +downgrade
DROP INDEX CONCURRENTLY IF EXISTS events_actor_occurred_at_idx;
DROP INDEX CONCURRENTLY IF EXISTS events_occurred_at_idx;

-- +verify
SELECT count(*) = 2 FROM pg_index i
WHERE i.indexrelid IN (to_regclass('events_occurred_at_idx'), to_regclass('events_actor_occurred_at_idx'))
  AND i.indisvalid AND i.indisready;
