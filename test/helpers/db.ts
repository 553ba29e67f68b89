import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type Options as ExecaOptions, type Result, type ResultPromise } from 'execa';
import pg from 'pg';

/** The server every test talks to; override with MUTX_TEST_ADMIN_URL. */
export const ADMIN_URL = process.env.MUTX_TEST_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = path.join(REPO_ROOT, 'dist/mutx-ops.js');
export const MUTX_MIGRATIONS = path.join(REPO_ROOT, 'migrations');

export function urlFor(database: string, base = ADMIN_URL): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function adminQuery<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[] = [], database = 'postgres'): Promise<pg.QueryResult<T>> {
  const client = new pg.Client({ connectionString: urlFor(database) });
  await client.connect();
  try {
    return await client.query<T>(sql, params);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  name: string;
  url: string;
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<T>>;
  drop(): Promise<void>;
}

/** A fresh database for one test file (or test); drop() removes it even if sessions linger. */
export async function createTestDatabase(prefix = 'mutx_test'): Promise<TestDatabase> {
  const name = `${prefix}_${crypto.randomBytes(5).toString('hex')}`;
  await adminQuery(`CREATE DATABASE "${name}"`);
  return {
    name,
    url: urlFor(name),
    query: (sql, params) => adminQuery(sql, params, name),
    drop: async () => {
      await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

/** A private project folder (settings, audit trail, backups) removed by cleanup(). */
export interface TestProject {
  dir: string;
  migrationsDir: string;
  auditPath: string;
  cleanup(): void;
}

export function createTestProject(options: { copyMigrations?: boolean; settings?: string } = {}): TestProject {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mutx-project-'));
  const migrationsDir = path.join(dir, 'migrations');
  fs.mkdirSync(migrationsDir);
  if (options.copyMigrations ?? true) {
    for (const name of fs.readdirSync(MUTX_MIGRATIONS)) fs.copyFileSync(path.join(MUTX_MIGRATIONS, name), path.join(migrationsDir, name));
  }
  fs.writeFileSync(path.join(dir, 'mutx-ops.yaml'), options.settings ?? 'lock_wait_seconds: 10\n');
  return {
    dir,
    migrationsDir,
    auditPath: path.join(dir, '.mutx-ops', 'audit.jsonl'),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** Runs the built binary as an operator would; never throws on a non-zero exit. */
export function runCli(args: string[], options: { cwd: string; env?: Record<string, string | undefined>; input?: string } & Partial<ExecaOptions> = { cwd: REPO_ROOT }): ResultPromise & Promise<Result> {
  const { cwd, env, ...rest } = options;
  return execa('node', [BIN, ...args], {
    cwd,
    env: { MUTX_OPERATOR: 'tester', MUTX_OPS_PREFS_DIR: path.join(cwd, '.prefs'), ...env },
    extendEnv: true,
    reject: false,
    all: true,
    ...rest,
  }) as unknown as ResultPromise & Promise<Result>;
}

/** The schema as pg_dump sees it, minus lines that change on every dump. */
export async function schemaDump(url: string): Promise<string> {
  const { stdout } = await execa('pg_dump', ['--schema-only', '--no-owner', '--exclude-schema=mutx_ops', '--exclude-table=mutx_ops_*', '--exclude-table=alembic_version', url]);
  return stdout
    .split('\n')
    .filter((line) => !/^\\(un)?restrict /.test(line) && !line.startsWith('-- Dumped'))
    .join('\n');
}

export async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`waitFor: condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
