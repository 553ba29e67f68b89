-- revision: 5570bd6d8f6c
-- revises: 4aca1f2a6803
-- message: create events table
-- created: 2026-02-17T09:55:00Z

-- +upgrade
CREATE TABLE events (
    id           bigserial   PRIMARY KEY,
    occurred_at  timestamptz NOT NULL DEFAULT now(),
    actor        text        NOT NULL,
    actor_type   text        NOT NULL DEFAULT 'user',
    kind         text        NOT NULL,
    subject_type text,
    subject_id   text,
    payload      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT events_actor_type_check
        CHECK (actor_type IN ('user', 'api_key', 'service_token', 'system'))
);

CREATE INDEX events_kind_idx ON events (kind);

-- +downgrade
DROP TABLE events;

-- +verify
SELECT to_regclass('events') IS NOT NULL AND to_regclass('events_id_seq') IS NOT NULL;
