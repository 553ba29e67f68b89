-- revision: 34f628e4b44f
-- message: create users table
-- created: 2026-01-12T09:14:00Z

-- +upgrade
CREATE TABLE users (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text        NOT NULL,
    display_name  text,
    password_hash text,
    is_active     boolean     NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_not_blank CHECK (length(btrim(email)) > 0)
);

CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

-- +downgrade
DROP TABLE users;

-- +verify
SELECT to_regclass('users') IS NOT NULL AND to_regclass('users_email_lower_key') IS NOT NULL;
