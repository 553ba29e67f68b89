-- revision: b0f1c770ae98
-- revises: 5570bd6d8f6c
-- message: add new field to agents
-- created: 2026-02-25T10:03:00Z

-- +upgrade
ALTER TABLE agents ADD COLUMN description text;

-- +downgrade
ALTER TABLE agents DROP COLUMN description;

-- +verify
SELECT count(*) = 1 FROM information_schema.columns
WHERE table_schema = current_schema() AND table_name = 'agents' AND column_name = 'description';
