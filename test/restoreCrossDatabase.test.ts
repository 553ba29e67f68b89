import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, createTestProject, runCli, waitFor, type TestDatabase, type TestProject } from './helpers/db';
import { writeMigration } from './helpers/migrations';

/**
 * Issue 15, item 15: restoring a backup of database A over database B warns and needs B's name
 * typed (--yes is not enough); `audit show` prints a cancelled restore as unchanged, not "→ base".
 */
let a: TestDatabase;
let b: TestDatabase;
let project: TestProject;
const cli = (db: TestDatabase, args: string[]) => runCli(['--database-url', db.url, ...args], { cwd: project.dir, timeout: 60_000 });
const tables = async (db: TestDatabase) => (await db.query<{ n: string }>("SELECT table_name AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'alembic_version' ORDER BY 1")).rows.map((r) => r.n);
let backupOfA: string;

beforeAll(async () => {
  a = await createTestDatabase('mutx_xdb_a');
  b = await createTestDatabase('mutx_xdb_b');
  project = createTestProject({ copyMigrations: false });
  writeMigration(project.migrationsDir, 'r1', { upgrade: 'CREATE TABLE t1(id int);', downgrade: 'DROP TABLE t1;' });
  expect((await cli(a, ['upgrade', 'r1'])).exitCode).toBe(0);
  await b.query('CREATE TABLE precious(id int)');
  const backup = await cli(a, ['--json', 'backup']);
  backupOfA = (JSON.parse(String(backup.stdout)) as { file: string }).file;
});
afterAll(async () => {
  await a?.drop();
  await b?.drop();
  project?.cleanup();
});

describe('a backup of another database', () => {
  for (const [how, args] of [
    ['over the target', (file: string) => ['restore', file, '--yes']],
    ['--into an existing database', (file: string) => ['restore', file, '--into', b.name, '--yes']],
  ] as const) {
    it(`${how}: --yes is refused (exit 2) naming both databases; nothing changes`, async () => {
      const result = await cli(how === 'over the target' ? b : a, args(backupOfA));
      expect(result.exitCode, String(result.all)).toBe(2);
      expect(String(result.stderr)).toMatch(new RegExp(`is a backup of database "${a.name}", not "${b.name}": refusing to replace "${b.name}" with it without the database name typed as confirmation — if that is what you want, pass --confirm ${b.name}`));
      expect(await tables(b)).toEqual(['precious']);
    });
  }

  it('with --confirm B it warns and restores', async () => {
    const result = await cli(b, ['restore', backupOfA, '--confirm', b.name, '--no-safety-backup']);
    expect(result.exitCode, String(result.all)).toBe(0);
    expect(String(result.stderr)).toMatch(new RegExp(`warning: .* is a backup of database "${a.name}", not "${b.name}"`));
    expect(await tables(b)).toEqual(['t1']);
  });

  it('its own backup restores with --yes as before, without a warning', async () => {
    const result = await cli(a, ['restore', backupOfA, '--yes', '--no-safety-backup']);
    expect(result.exitCode, String(result.all)).toBe(0);
    expect(String(result.stderr)).not.toMatch(/warning/);
  });
});

describe('audit show', () => {
  it('prints a cancelled restore as leaving the revision unchanged', async () => {
    // A plain file whose load sleeps, so Ctrl+C lands mid-restore.
    const plain = await cli(a, ['--json', 'backup', '--format', 'plain', '--out', path.join(project.dir, 'plain')]);
    const file = (JSON.parse(String(plain.stdout)) as { file: string }).file;
    const slow = path.join(project.dir, 'slow.sql');
    fs.writeFileSync(slow, fs.readFileSync(file, 'utf8').replace(/(-- PostgreSQL database dump complete)/, 'SELECT pg_sleep(30);\n\n$1'));
    const run = cli(a, ['restore', slow, '--yes', '--no-safety-backup']);
    await waitFor(async () => (await a.query("SELECT 1 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND state = 'active' AND pid <> pg_backend_pid()")).rowCount === 1, 20_000);
    run.kill('SIGINT');
    const result = await run;
    expect(result.exitCode, String(result.all)).toBe(130);
    const show = await cli(a, ['audit', 'show', '--last', '3']);
    const line = String(show.stdout).split('\n').find((l) => / restore end cancelled /.test(l));
    expect(line, String(show.stdout)).toMatch(/\[r1 → r1\]/);
    expect(await tables(a)).toEqual(['t1']);
  });
});
