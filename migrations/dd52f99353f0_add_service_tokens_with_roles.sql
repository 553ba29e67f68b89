-- revision: dd52f99353f0
-- revises: 5570bd6d8f6c
-- message: add service tokens with roles
-- created: 2026-02-24T14:12:00Z

-- +upgrade
CREATE TABLE service_tokens (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name         text        NOT NULL,
    token_prefix text        NOT NULL,
    token_hash   text        NOT NULL,
    roles        text[]      NOT NULL,
    created_by   uuid        REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    CONSTRAINT service_tokens_name_key UNIQUE (name),
    CONSTRAINT service_tokens_token_hash_key UNIQUE (token_hash),
    CONSTRAINT service_tokens_roles_not_empty CHECK (cardinality(roles) > 0)
);

CREATE INDEX service_tokens_roles_idx ON service_tokens USING gin (roles);

-- +downgrade
DROP TABLE service_tokens;

-- +verify
SELECT count(*) = 1 FROM information_schema.columns
WHERE table_schema = current_schema() AND table_name = 'service_tokens'
  AND column_name = 'roles' AND data_type = 'ARRAY';
