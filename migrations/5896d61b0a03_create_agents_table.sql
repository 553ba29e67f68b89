-- revision: 5896d61b0a03
-- revises: 0af78b365ce3
-- message: create agents table
-- created: 2026-01-20T10:41:00Z

-- +upgrade
CREATE TABLE agents (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id   uuid        NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    name       text        NOT NULL,
    runtime    text        NOT NULL DEFAULT 'python',
    config     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT agents_owner_id_name_key UNIQUE (owner_id, name),
    CONSTRAINT agents_config_is_object CHECK (jsonb_typeof(config) = 'object')
);

-- +downgrade
DROP TABLE agents;

-- +verify
SELECT to_regclass('agents') IS NOT NULL;
