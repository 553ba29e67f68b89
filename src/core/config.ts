import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MutxError } from './errors';
import { envPyVersionTable } from './migrations/engines/alembic/project';
import { DEFAULT_REVIEW_SETTINGS_VALUES } from './review/defaults';
import type { EnvironmentSettings, ProjectSettingsFile, SslMode } from './settingsSchema';
import { checkStatePathKinds } from './statePaths';

export type { EnvironmentSettings, ProjectSettingsFile, SslMode };

export const PROJECT_FILE = 'mutx-ops.yaml';


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
 * What an absent mutx-ops.yaml means. A copy of the schema's defaults (settingsSchema.ts), so a
 * project without a settings file never loads zod; test/settingsDefaults.test.ts keeps the two equal.
 */
export const DEFAULT_SETTINGS: ProjectSettingsFile = {
  alembic: { config: 'alembic.ini', section: 'alembic' },
  migrations_dir: 'migrations',
  runbooks_dir: 'runbooks',
  version_table: 'alembic_version',
  version_schema: 'public',
  state_dir: '.mutx-ops',
  lock_wait_seconds: 30,
  lock_timeout_seconds: 5,
  lock_retries: 3,
  connect_timeout_seconds: 5,
  environments: {},
  review: DEFAULT_REVIEW_SETTINGS_VALUES,
};

let settingsParser: ((file: string) => ProjectSettingsFile) | undefined;

/** Called by settingsSchema.ts when it loads (see there why it is loaded lazily). */
export function registerSettingsParser(parse: (file: string) => ProjectSettingsFile): void {
  settingsParser = parse;
}

function parseSettingsFile(file: string): ProjectSettingsFile {
  if (!settingsParser) throw new MutxError('internal', `${file}: the settings schema was not loaded (import core/settingsSchema before reading a mutx-ops.yaml)`);
  return settingsParser(file);
}

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
  const parsed = file ? parseSettingsFile(file) : structuredClone(DEFAULT_SETTINGS);
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
