-- revision: 071fffe7fb4c
-- revises: dd52f99353f0, b0f1c770ae98
-- message: merge service tokens and agent fields
-- created: 2026-02-26T08:47:00Z

-- +upgrade
SELECT 1;

-- +downgrade
SELECT 1;

-- +verify
SELECT to_regclass('service_tokens') IS NOT NULL
   AND EXISTS (SELECT 1 FROM information_schema.columns
               WHERE table_schema = current_schema() AND table_name = 'agents'
                 AND column_name = 'description');
