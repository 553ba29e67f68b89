-- revision: 4aca1f2a6803
-- revises: 034de3915031
-- message: default deployment status to pending
-- created: 2026-02-10T16:30:00Z

-- +upgrade
ALTER TABLE deployments ALTER COLUMN status SET DEFAULT 'pending';
ALTER TABLE deployments DROP CONSTRAINT deployments_status_check;
ALTER TABLE deployments ADD CONSTRAINT deployments_status_check
    CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'rolled_back', 'cancelled'));

-- +downgrade
-- The previous schema has no cancelled status, such rows are marked failed (lossy).
UPDATE deployments SET status = 'failed' WHERE status = 'cancelled';
ALTER TABLE deployments DROP CONSTRAINT deployments_status_check;
ALTER TABLE deployments ADD CONSTRAINT deployments_status_check
    CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'rolled_back'));
ALTER TABLE deployments ALTER COLUMN status DROP DEFAULT;

-- +verify
SELECT EXISTS (SELECT 1 FROM pg_constraint
               WHERE conrelid = 'deployments'::regclass
                 AND conname = 'deployments_status_check'
                 AND pg_get_constraintdef(oid) LIKE '%cancelled%')
   AND (SELECT column_default FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = 'deployments'
          AND column_name = 'status') = '''pending''::text';
