import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { readMigrationDir } from '../../src/core/migrations/engines/sql/file';
import { revisionSource } from '../../src/core/migrations/engines/alembic/revisionWriter';
import { MUTX_MIGRATIONS, REPO_ROOT, schemaDump, type TestDatabase } from './db';

export const ALEMBIC_FIXTURE = path.join(REPO_ROOT, 'test/fixtures/alembic-app');
export const ALEMBIC_EXTRAS = path.join(REPO_ROOT, 'test/fixtures/alembic-extras');
/** Debian's Alembic runs with the system interpreter; `python3` on PATH may be another one. */
export const SYSTEM_PYTHON = '/usr/bin/python3';
export const VERSIONS = 'src/api/models/migrations/versions';

export interface AlembicProject {
  dir: string;
  versionsDir: string;
  envPy: string;
  cleanup(): void;
}

/**
 * A private copy of the fixture application (alembic.ini at its root, no mutx-ops.yaml: the way a
 * user's project is), optionally with extra revisions and one env.py switch flipped.
 */
export function createAlembicProject(options: { extras?: string[]; perMigration?: boolean; settings?: string } = {}): AlembicProject {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mutx-alembic-'));
  fs.cpSync(ALEMBIC_FIXTURE, dir, { recursive: true });
  const versionsDir = path.join(dir, VERSIONS);
  for (const extra of options.extras ?? []) fs.copyFileSync(path.join(ALEMBIC_EXTRAS, extra), path.join(versionsDir, extra));
  const envPy = path.join(dir, 'src/api/models/migrations/env.py');
  if (options.perMigration) {
    const text = fs.readFileSync(envPy, 'utf8');
    fs.writeFileSync(envPy, text.replace('transaction_per_migration=False,  # fixture: transaction mode', 'transaction_per_migration=True,  # fixture: transaction mode'));
  }
  if (options.settings !== undefined) fs.writeFileSync(path.join(dir, 'mutx-ops.yaml'), options.settings);
  return { dir, versionsDir, envPy, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Runs Debian's `alembic` itself in the project, on `url` (never throws on a non-zero exit). */
export function runAlembic(project: { dir: string }, url: string, args: string[]) {
  return execa('alembic', args, { cwd: project.dir, env: { DATABASE_URL: url }, reject: false, all: true });
}

export async function versionRowsOf(db: TestDatabase): Promise<string[]> {
  const exists = await db.query<{ present: boolean }>("SELECT to_regclass('public.alembic_version') IS NOT NULL AS present");
  if (!exists.rows[0]!.present) return [];
  return (await db.query<{ version_num: string }>('SELECT version_num FROM alembic_version ORDER BY 1')).rows.map((r) => r.version_num);
}

/** What must be equal after the same command by Alembic and by mutx-ops: version rows and the schema. */
export async function stateOf(db: TestDatabase): Promise<{ rows: string[]; schema: string }> {
  const schema = (await schemaDump(db.url)).replace(new RegExp(db.name, 'g'), 'DB');
  return { rows: await versionRowsOf(db), schema };
}

/**
 * The MUTX schema (the SQL files in migrations/) as an Alembic project: each revision an
 * op.execute() of the same statements (CONCURRENTLY ones in an autocommit block), a minimal
 * env.py reading DATABASE_URL. This is the shape of the MUTX team's own project, so the runbooks
 * and drills written for the MUTX schema run on it unchanged.
 */
export function createMutxAlembicProject(options: { settings?: string } = {}): AlembicProject {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mutx-alembic-mutx-'));
  const scripts = path.join(dir, 'src/api/models/migrations');
  const versionsDir = path.join(scripts, 'versions');
  fs.mkdirSync(versionsDir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'alembic.ini'), '[alembic]\nscript_location = %(here)s/src/api/models/migrations\n');
  const envPy = path.join(scripts, 'env.py');
  fs.writeFileSync(
    envPy,
    [
      'import os',
      'from alembic import context',
      'from sqlalchemy import create_engine, pool',
      '',
      'if context.is_offline_mode():',
      '    context.configure(url=os.environ["DATABASE_URL"], literal_binds=True)',
      '    with context.begin_transaction():',
      '        context.run_migrations()',
      'else:',
      '    engine = create_engine(os.environ["DATABASE_URL"], poolclass=pool.NullPool)',
      '    with engine.connect() as connection:',
      '        context.configure(connection=connection, transaction_per_migration=True)',
      '        with context.begin_transaction():',
      '            context.run_migrations()',
      '',
    ].join('\n'),
  );
  for (const file of readMigrationDir(MUTX_MIGRATIONS)) {
    const text = revisionSource({ revision: file.revision, message: file.message, revises: file.revises, upgrade: file.upgrade.sql, downgrade: file.downgrade.sql, transactional: file.transactional, created: file.headers.created });
    fs.writeFileSync(path.join(versionsDir, `${path.basename(file.file, '.sql')}.py`), text);
  }
  if (options.settings !== undefined) fs.writeFileSync(path.join(dir, 'mutx-ops.yaml'), options.settings);
  return { dir, versionsDir, envPy, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
