-- revision: 0af78b365ce3
-- revises: 34f628e4b44f
-- message: create roles and user roles
-- created: 2026-01-13T15:02:00Z

-- +upgrade
CREATE TABLE roles (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text        NOT NULL,
    description text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT roles_name_key UNIQUE (name)
);

CREATE TABLE user_roles (
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id    uuid        NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    granted_by uuid        REFERENCES users (id) ON DELETE SET NULL,
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, role_id)
);

CREATE INDEX user_roles_role_id_idx ON user_roles (role_id);

INSERT INTO roles (name, description) VALUES
    ('admin', 'Full access to the platform, including RBAC administration'),
    ('operator', 'Can manage agents, deployments and API keys'),
    ('viewer', 'Read-only access');

-- +downgrade
DROP TABLE user_roles;
DROP TABLE roles;

-- +verify
SELECT to_regclass('user_roles') IS NOT NULL
   AND (SELECT count(*) FROM roles WHERE name IN ('admin', 'operator', 'viewer')) = 3;
