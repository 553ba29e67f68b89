-- revision: 034de3915031
-- revises: bd6f005d71a4
-- message: create api keys table
-- created: 2026-02-03T11:08:00Z

-- +upgrade
CREATE TABLE api_keys (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text,
    key_prefix   text        NOT NULL,
    key_hash     text        NOT NULL,
    scopes       text[]      NOT NULL DEFAULT '{}'::text[],
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    expires_at   timestamptz,
    revoked_at   timestamptz,
    CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash),
    CONSTRAINT api_keys_key_prefix_format CHECK (key_prefix ~ '^[A-Za-z0-9_]{4,16}$')
);

CREATE INDEX api_keys_user_id_idx ON api_keys (user_id);
CREATE INDEX api_keys_key_prefix_active_idx ON api_keys (key_prefix) WHERE revoked_at IS NULL;

-- +downgrade
DROP TABLE api_keys;

-- +verify
SELECT to_regclass('api_keys') IS NOT NULL AND to_regclass('api_keys_key_prefix_active_idx') IS NOT NULL;
