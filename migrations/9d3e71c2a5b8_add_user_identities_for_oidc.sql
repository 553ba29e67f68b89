-- revision: 9d3e71c2a5b8
-- revises: 692221fc80ff
-- message: add user identities for oidc
-- created: 2026-03-10T09:30:00Z

-- +upgrade
CREATE TABLE user_identities (
    id             uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id        uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issuer         text        NOT NULL,
    subject        text        NOT NULL,
    email          text,
    email_verified boolean     NOT NULL DEFAULT false,
    claims         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_login_at  timestamptz,
    CONSTRAINT user_identities_issuer_subject_key UNIQUE (issuer, subject)
);

CREATE INDEX user_identities_user_id_idx ON user_identities (user_id);

-- +downgrade
DROP TABLE user_identities;

-- +verify
SELECT to_regclass('user_identities') IS NOT NULL
   AND EXISTS (SELECT 1 FROM pg_constraint
               WHERE conrelid = 'user_identities'::regclass
                 AND conname = 'user_identities_issuer_subject_key' AND contype = 'u');
