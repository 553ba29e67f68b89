import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { envPyVersionTable } from './migrations/engines/alembic/project';
import { reviewSettingsSchema } from './review/settings';
import { checkStatePathKinds } from './statePaths';
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

const alembicSchema = z
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

export interface ProjectSettings extends Omit<ProjectSettingsFile, 'engine'> {
  /** Folder holding mutx-ops.yaml (or alembic.ini), or the working directory when there is none. */
  root: string;
  /** The settings file, when one was found. */
  file?: string;
  engine: 'sql' | 'alembic';
  /** The Alembic configuration file (engine alembic). */
  alembicConfigPath: string;
  /**
   * Read the revisions from this folder instead of the project's own (a practice drill's copy with
   * an injected revision). Never set from mutx-ops.yaml.
   */
  revisionsOverride?: string;
  migrationsPath: string;
  runbooksPath: string;
  statePath: string;
  auditPath: string;
  backupsPath: string;
}

export const ALEMBIC_FILE = 'alembic.ini';

/**
 * Walks up from `start` to the nearest folder holding mutx-ops.yaml or alembic.ini (an Alembic
 * project needs no mutx-ops.yaml); the working directory if none.
 */
export function findProjectRoot(start = process.cwd()): { root: string; file?: string } {
  let dir = path.resolve(start);
  for (;;) {
    const candidate = path.join(dir, PROJECT_FILE);
    if (fs.existsSync(candidate)) return { root: dir, file: candidate };
    if (fs.existsSync(path.join(dir, ALEMBIC_FILE))) return { root: dir };
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
  const alembicConfigPath = resolve(parsed.alembic.config);
  const explicit = file ? rawKeys(file) : new Set<string>();
  const auditPath = parsed.audit_path ? resolve(parsed.audit_path) : path.join(statePath, 'audit.jsonl');
  const backupsPath = parsed.backups_dir ? resolve(parsed.backups_dir) : path.join(statePath, 'backups');
  checkStatePathKinds({ statePath, auditPath, backupsPath }, file);
  const engine = parsed.engine ?? (!options.migrationsDir && fs.existsSync(alembicConfigPath) ? 'alembic' : 'sql');
  return {
    ...parsed,
    ...(engine === 'alembic' ? alembicVersionTable(alembicConfigPath, parsed.alembic.section, root, explicit) : {}),
    root,
    file,
    engine,
    alembicConfigPath,
    migrationsPath: options.migrationsDir ? path.resolve(options.migrationsDir) : resolve(parsed.migrations_dir),
    // A project without its own runbooks/ (an Alembic project as it is) gets the ones mutx-ops ships.
    runbooksPath: explicit.has('runbooks_dir') || fs.existsSync(resolve(parsed.runbooks_dir)) ? resolve(parsed.runbooks_dir) : bundledRunbooks(),
    statePath,
    auditPath,
    backupsPath,
  };
}

/** The runbooks shipped with mutx-ops: `runbooks/` beside its package.json (a clone, or an installed package). */
export function bundledRunbooks(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && fs.existsSync(path.join(dir, 'runbooks'))) {
      try {
        if ((JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string }).name === 'mutx-ops') return path.join(dir, 'runbooks');
      } catch {
        // Not ours: keep walking up.
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return path.join(path.dirname(fileURLToPath(import.meta.url)), 'runbooks');
    dir = parent;
  }
}

/** Keys the settings file sets itself (zod fills in defaults for the rest). */
function rawKeys(file: string): Set<string> {
  const text = fs.readFileSync(file, 'utf8');
  return new Set([...text.matchAll(/^([a-z_]+)\s*:/gm)].map((match) => match[1]!));
}

/**
 * An Alembic project's version table is what its env.py passes to configure(); when mutx-ops.yaml
 * does not say, take it from env.py where it is a literal (the runner checks it at run time).
 */
function alembicVersionTable(iniPath: string, section: string, root: string, explicit: Set<string>): Partial<Pick<ProjectSettingsFile, 'version_table' | 'version_schema'>> {
  const declared = envPyVersionTable(iniPath, section, root);
  return {
    ...(declared.table && !explicit.has('version_table') ? { version_table: declared.table } : {}),
    ...(declared.schema && !explicit.has('version_schema') ? { version_schema: declared.schema } : {}),
  };
}

export { ensurePrivateDir } from './statePaths';
