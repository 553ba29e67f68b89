import { z } from 'zod';
import { registerSettingsParser } from './config';
import { reviewSettingsSchema } from './review/settings';
import { loadYamlFile } from './yamlFile';

/**
 * The schema of mutx-ops.yaml (zod) and its parser. Loaded only when a command needs it (the bin
 * imports it when a settings file is found, or for any command beyond the read-only ones), so
 * `heads` and `history` start without zod and yaml. Importing this module registers the parser.
 */
export const sslMode = z.enum(['disable', 'require', 'verify-ca', 'verify-full']);
export type SslMode = z.infer<typeof sslMode>;

export const environmentSchema = z
  .object({
    /** Name of the variable that holds the URL: never the URL (or its password) itself. */
    url_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'),
    ssl_mode: sslMode.optional(),
    protected: z.boolean().default(false),
    /** A file path, or `cmd:` followed by a command (e.g. `cmd:kubectl logs -f deploy/mutx`). */
    log_source: z.string().optional(),
    /** Newest verified backup must be younger than this before migrate/restore on a protected env. */
    backup_max_age_minutes: z.number().positive().default(60),
    commands: z.record(z.string(), z.array(z.string()).min(1)).default({}),
  })
  .strict();
export type EnvironmentSettings = z.infer<typeof environmentSchema>;

export const alembicSchema = z
  .object({
    /** The project's alembic.ini, relative to the project root. */
    config: z.string().default('alembic.ini'),
    /** Its section (alembic's `--name`). */
    section: z.string().default('alembic'),
    /** The interpreter that can `import alembic` (default: .venv, venv, the `alembic` on PATH, python3). */
    python: z.string().optional(),
  })
  .strict();

export const projectSettingsSchema = z
  .object({
    /** sql: mutx-ops' SQL files; alembic: the project's Alembic revisions. Default: alembic when alembic.ini is found. */
    engine: z.enum(['sql', 'alembic']).optional(),
    alembic: alembicSchema.default({ config: 'alembic.ini', section: 'alembic' }),
    migrations_dir: z.string().default('migrations'),
    runbooks_dir: z.string().default('runbooks'),
    version_table: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lowercase SQL identifier')
      .default('alembic_version'),
    version_schema: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lowercase SQL identifier')
      .default('public'),
    state_dir: z.string().default('.mutx-ops'),
    audit_path: z.string().optional(),
    backups_dir: z.string().optional(),
    /** How long a second run waits for the migration lock before giving up (exit 4). */
    lock_wait_seconds: z.number().nonnegative().max(86_400).default(30),
    /** Server-side lock_timeout for each migration statement. */
    lock_timeout_seconds: z.number().min(0.001, 'must be at least 0.001 (1 ms; less is no limit at all)').max(3_600).default(5),
    lock_retries: z.number().int().nonnegative().default(3),
    connect_timeout_seconds: z.number().positive().max(3_600).default(5),
    default_environment: z.string().optional(),
    environments: z.record(z.string().regex(/^[A-Za-z0-9_-]{1,40}$/), environmentSchema).default({}),
    /** `mutx-ops review`: rules switched off or re-levelled, table-size limits (core/review/settings.ts). */
    review: reviewSettingsSchema.prefault({}),
  })
  .strict();

export type ProjectSettingsFile = z.infer<typeof projectSettingsSchema>;

/** What an absent mutx-ops.yaml means; config.ts keeps a copy (DEFAULT_SETTINGS) checked by a test. */
export const DEFAULT_SETTINGS_FROM_SCHEMA: ProjectSettingsFile = projectSettingsSchema.parse({});

export function parseSettingsFile(file: string): ProjectSettingsFile {
  return loadYamlFile(file, projectSettingsSchema, 'config', 'project settings');
}

registerSettingsParser(parseSettingsFile);
