-- revision: bd6f005d71a4
-- revises: 5896d61b0a03
-- message: create deployments table
-- created: 2026-01-27T13:25:00Z

-- +upgrade
CREATE TABLE deployments (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id    uuid        NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    version     text        NOT NULL,
    status      text        NOT NULL,
    environment text        NOT NULL DEFAULT 'production',
    deployed_by uuid        REFERENCES users (id) ON DELETE SET NULL,
    started_at  timestamptz,
    finished_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT deployments_status_check
        CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'rolled_back')),
    CONSTRAINT deployments_finished_after_started
        CHECK (finished_at IS NULL OR started_at IS NULL OR finished_at >= started_at)
);

CREATE INDEX deployments_agent_id_created_at_idx ON deployments (agent_id, created_at DESC);
CREATE INDEX deployments_active_idx ON deployments (status) WHERE status IN ('pending', 'running');

-- +downgrade
DROP TABLE deployments;

-- +verify
SELECT to_regclass('deployments') IS NOT NULL
   AND EXISTS (SELECT 1 FROM pg_constraint
               WHERE conrelid = 'deployments'::regclass AND conname = 'deployments_status_check');
