import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { runCli, type TestDatabase } from './db';
import { writeMigration } from './migrations';

/**
 * The same revision graph as mutx-ops SQL files and as an Alembic project (op.execute of the same
 * SQL), so one command sequence can be run by mutx-ops' SQL engine and by Alembic itself and the
 * results compared: `child <- parents` as in the issue's reproductions.
 */
export interface GraphSpec {
  revisions: { id: string; parents: string[] }[];
}

/** "a <- base; b <- a, c" → spec. */
export function parseGraph(text: string): GraphSpec {
  return {
    revisions: text
      .split(';')
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part) => {
        const [id, parents = 'base'] = part.split('<-').map((s) => s.trim());
        return { id: id!, parents: parents === 'base' ? [] : parents.split(',').map((p) => p.trim()) };
      }),
  };
}

export interface DifferentialProjects {
  sqlDir: string;
  alembicDir: string;
  cleanup(): void;
}

const ENV_PY = `import os
from alembic import context
from sqlalchemy import create_engine, pool

def run():
    engine = create_engine(os.environ["DATABASE_URL"], poolclass=pool.NullPool)
    with engine.connect() as connection:
        # Like the SQL engine: each revision in its own transaction with its version row.
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()

run()
`;

export function createDifferentialProjects(spec: GraphSpec): DifferentialProjects {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mutx-diff-'));
  const sqlDir = path.join(root, 'sql');
  const alembicDir = path.join(root, 'alembic');
  fs.mkdirSync(path.join(sqlDir, 'migrations'), { recursive: true });
  fs.writeFileSync(path.join(sqlDir, 'mutx-ops.yaml'), 'lock_wait_seconds: 10\n');
  fs.mkdirSync(path.join(alembicDir, 'mig', 'versions'), { recursive: true });
  fs.writeFileSync(path.join(alembicDir, 'alembic.ini'), '[alembic]\nscript_location = %(here)s/mig\n');
  fs.writeFileSync(path.join(alembicDir, 'mig', 'env.py'), ENV_PY);
  for (const { id, parents } of spec.revisions) {
    const upgrade = `CREATE TABLE t_${id} (id int)`;
    const downgrade = `DROP TABLE t_${id}`;
    writeMigration(path.join(sqlDir, 'migrations'), id, { revises: parents.join(', '), upgrade: `${upgrade};`, downgrade: `${downgrade};` });
    const down = parents.length === 0 ? 'None' : parents.length === 1 ? `'${parents[0]}'` : `(${parents.map((p) => `'${p}'`).join(', ')})`;
    fs.writeFileSync(
      path.join(alembicDir, 'mig', 'versions', `${id}.py`),
      `"""${id}"""\nfrom alembic import op\n\nrevision = '${id}'\ndown_revision = ${down}\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade():\n    op.execute("${upgrade}")\n\n\ndef downgrade():\n    op.execute("${downgrade}")\n`,
    );
  }
  return { sqlDir, alembicDir, cleanup: () => fs.rmSync(root, { recursive: true, force: true }) };
}

export interface Outcome {
  ok: boolean;
  rows: string[];
  tables: string[];
  output: string;
}

async function observe(db: TestDatabase): Promise<{ rows: string[]; tables: string[] }> {
  const present = (await db.query<{ p: boolean }>("SELECT to_regclass('public.alembic_version') IS NOT NULL AS p")).rows[0]!.p;
  const rows = present ? (await db.query<{ v: string }>('SELECT version_num AS v FROM alembic_version ORDER BY 1')).rows.map((r) => r.v) : [];
  const tables = (await db.query<{ t: string }>("SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 't\\_%' ORDER BY 1")).rows.map((r) => r.t);
  return { rows, tables };
}

/** One command by mutx-ops' SQL engine on `db`. */
export async function runSqlEngine(projects: DifferentialProjects, db: TestDatabase, args: string[]): Promise<Outcome> {
  const result = await runCli(['--database-url', db.url, ...args], { cwd: projects.sqlDir });
  return { ok: result.exitCode === 0, ...(await observe(db)), output: String(result.all) };
}

/** The same command by Alembic itself on `db`. */
export async function runAlembicCommand(projects: DifferentialProjects, db: TestDatabase, args: string[]): Promise<Outcome> {
  const result = await execa('alembic', args, { cwd: projects.alembicDir, env: { DATABASE_URL: db.url }, reject: false, all: true });
  return { ok: result.exitCode === 0, ...(await observe(db)), output: String(result.all) };
}
