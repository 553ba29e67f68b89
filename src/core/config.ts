import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { loadYamlFile } from './yamlFile';

export const PROJECT_FILE = 'mutx-ops.yaml';

const sslMode = z.enum(['disable', 'require', 'verify-ca', 'verify-full']);
export type SslMode = z.infer<typeof sslMode>;

const environmentSchema = z
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

export const projectSettingsSchema = z
  .object({
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
    lock_wait_seconds: z.number().nonnegative().default(30),
    /** Server-side lock_timeout for each migration statement. */
    lock_timeout_seconds: z.number().positive().default(5),
    lock_retries: z.number().int().nonnegative().default(3),
    connect_timeout_seconds: z.number().positive().default(5),
    default_environment: z.string().optional(),
    environments: z.record(z.string().regex(/^[A-Za-z0-9_-]{1,40}$/), environmentSchema).default({}),
  })
  .strict();

export type ProjectSettingsFile = z.infer<typeof projectSettingsSchema>;

export interface ProjectSettings extends ProjectSettingsFile {
  /** Folder holding mutx-ops.yaml, or the working directory when there is none. */
  root: string;
  /** The settings file, when one was found. */
  file?: string;
  migrationsPath: string;
  runbooksPath: string;
  statePath: string;
  auditPath: string;
  backupsPath: string;
}

/** Walks up from `start` to the folder holding mutx-ops.yaml; the working directory if none. */
export function findProjectRoot(start = process.cwd()): { root: string; file?: string } {
  let dir = path.resolve(start);
  for (;;) {
    const candidate = path.join(dir, PROJECT_FILE);
    if (fs.existsSync(candidate)) return { root: dir, file: candidate };
    const parent = path.dirname(dir);
    if (parent === dir) return { root: path.resolve(start) };
    dir = parent;
  }
}

export function loadProjectSettings(options: { cwd?: string; migrationsDir?: string } = {}): ProjectSettings {
  const { root, file } = findProjectRoot(options.cwd);
  const parsed = file
    ? loadYamlFile(file, projectSettingsSchema, 'config', 'project settings')
    : projectSettingsSchema.parse({});
  const resolve = (p: string) => path.resolve(root, p);
  const statePath = resolve(parsed.state_dir);
  return {
    ...parsed,
    root,
    file,
    migrationsPath: options.migrationsDir ? path.resolve(options.migrationsDir) : resolve(parsed.migrations_dir),
    runbooksPath: resolve(parsed.runbooks_dir),
    statePath,
    auditPath: parsed.audit_path ? resolve(parsed.audit_path) : path.join(statePath, 'audit.jsonl'),
    backupsPath: parsed.backups_dir ? resolve(parsed.backups_dir) : path.join(statePath, 'backups'),
  };
}

/** Creates a private folder (0700) and tightens it if it already existed. */
export function ensurePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
}
