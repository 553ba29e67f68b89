import fs from 'node:fs';
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminQuery, createTestDatabase, createTestProject, runCli, urlFor, type TestDatabase, type TestProject } from './helpers/db';
import { writeMigration } from './helpers/migrations';
import { environmentsYaml } from './helpers/runbooks';
import { orphanedScratchDatabases } from './helpers/scratch';
import { createAlembicProject, SYSTEM_PYTHON, versionRowsOf, type AlembicProject } from './helpers/alembic';

/**
 * A rollback whose downgrade is broken switches to the restore of the verified backup taken at the
 * target revision (issue 14), headless, SQL engine: nothing known → a quick rehearsal in the plan
 * finds it; --yes alone stops before the downgrade (exit 5, the backup and commands named);
 * --on-broken-downgrade restore restores it; without a backup at the target the step stops; without
 * a scratch database the quick rehearsal is skipped with its reason.
 */
let db: TestDatabase;
let project: TestProject;

const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { cwd: project.dir, env: { MUTX_TEST_DB_URL: db.url, DATABASE_URL: '', ...env } });
const versionRows = async () => (await db.query<{ version_num: string }>('SELECT version_num FROM alembic_version ORDER BY 1')).rows.map((r) => r.version_num);
const kindExists = async () => (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_type WHERE typname = 'kind'")).rows[0]!.n === 1;

beforeAll(async () => {
  db = await createTestDatabase('rbs_broken');
  project = createTestProject({ copyMigrations: false, settings: environmentsYaml() });
  writeMigration(project.migrationsDir, 'r1', { message: 'base', upgrade: 'CREATE TABLE items (id int);', downgrade: 'DROP TABLE items;' });
  writeMigration(project.migrationsDir, 'r2', { revises: 'r1', message: 'kind enum', upgrade: "CREATE TYPE kind AS ENUM ('a');", downgrade: "CREATE TYPE kind AS ENUM ('a');" });
  expect((await cli(['upgrade', 'r1', '--env', 'staging'])).exitCode).toBe(0);
  // The pre-deploy backup: verified, at r1.
  const backup = await cli(['backup', '--env', 'staging', '--label', 'pre-deploy']);
  expect(backup.exitCode, String(backup.all)).toBe(0);
  expect((await cli(['upgrade', 'r2', '--env', 'staging'])).exitCode).toBe(0);
}, 60_000);

afterAll(async () => {
  await db?.drop();
  project?.cleanup();
});

describe('emergency-rollback on a broken downgrade (SQL engine)', () => {
  let runId: string;

  it('nothing known: the plan runs a quick rehearsal, says the downgrade fails and names the backup; --yes stops before it (exit 5)', async () => {
    const result = await cli(['run', 'emergency-rollback', '--env', 'staging', '--yes']);
    const out = String(result.stdout);
    expect(result.exitCode, String(result.all)).toBe(5);
    expect(out).toMatch(/quick rehearsal: the downgrade of r2 was never rehearsed/);
    expect(out).toMatch(/quick rehearsal: the downgrade to r1 FAILED on a schema-only copy on the target's server: .*type "kind" already exists/);
    expect(out).toMatch(/r2: downgrade FAILS: type "kind" already exists at migrations\/r2_kind_enum\.sql:\d+/);
    expect(out).toMatch(/the downgrade of r2 is KNOWN TO FAIL: restoring the verified backup taken at the target revision \(r1\) is the safer way back/);
    expect(out).toMatch(/this step will not run the downgrade: it offers to restore staging_\S+_r1_pre-deploy\.dump \(at r1, \d+ min old, verified\) instead\n\s+in the app: y at its question \(enter = no\); headless: --on-broken-downgrade restore/);
    // The quick rehearsal ran once (the plan again and the step read the record).
    expect(out.match(/quick rehearsal: the downgrade of r2 was never rehearsed/g)).toHaveLength(1);
    expect(out).toMatch(/\? The downgrade of r2 is known to fail: restore staging_\S+ \(at r1\) instead\?\n/);
    // The pause names the backup, the command by hand, and the flag that answers it.
    expect(out).toMatch(/paused: step "Roll back the problematic migration" needs the operator \(The downgrade of r2 is known to fail: restore staging_\S+ \(at r1\) instead\? — by hand: `mutx-ops restore \S+_r1_pre-deploy\.dump`\)/);
    const paused = /run (\S+) paused: .*resume with `mutx-ops run --resume \1 --yes --on-broken-downgrade restore`/.exec(out);
    expect(paused, out).not.toBeNull();
    runId = paused![1]!;
    expect(await versionRows()).toEqual(['r2']);
    expect(await kindExists()).toBe(true);
    expect(await orphanedScratchDatabases()).toEqual([]);
  }, 60_000);

  it('bad input: --on-broken-downgrade maybe is one line, exit 2', async () => {
    const result = await cli(['run', 'emergency-rollback', '--env', 'staging', '--yes', '--on-broken-downgrade', 'maybe']);
    expect(result.exitCode).toBe(2);
    expect(String(result.stderr)).toMatch(/--on-broken-downgrade must be restore or stop, not "maybe"/);
  });

  it('resumed with --on-broken-downgrade restore: the backup at r1 is restored instead, the verify passes', async () => {
    const result = await cli(['run', '--resume', runId, '--env', 'staging', '--yes', '--on-broken-downgrade', 'restore']);
    const out = String(result.stdout);
    expect(result.exitCode, String(result.all)).toBe(0);
    expect(out).toMatch(/✔ restored staging_\S+ instead of the downgrade of r2 \(known to fail\): now at r1; safety backup/);
    expect(out).toMatch(/current: r1; expected \(previous\): r1/);
    expect(out).not.toMatch(/quick rehearsal: the downgrade of r2 was never rehearsed/);
    expect(await versionRows()).toEqual(['r1']);
    expect(await kindExists()).toBe(false);
  }, 60_000);

  it('no verified backup at the target revision: the plan says so and the step stops, nothing changed', async () => {
    expect((await cli(['upgrade', 'r2', '--env', 'staging'])).exitCode).toBe(0);
    // dev has no backup of its own (backups are matched per environment).
    const result = await cli(['run', 'emergency-rollback', '--env', 'dev', '--yes']);
    const out = String(result.stdout);
    expect(result.exitCode, String(result.all)).toBe(1);
    expect(out).toMatch(/there is no verified backup at r1 to restore instead: the step stops before the downgrade\n/);
    expect(out).toMatch(/✖ the downgrade of r2 is known to fail and there is no verified backup at r1 to restore instead: stopped before the downgrade, nothing changed/);
    expect(await versionRows()).toEqual(['r2']);
  }, 60_000);

  it('no scratch database possible (a role without CREATEDB): the quick rehearsal is skipped with its reason', async () => {
    const fresh = createTestProject({ copyMigrations: false, settings: 'lock_wait_seconds: 5\n' });
    const role = `rbs_nocreate_${crypto.randomBytes(4).toString('hex')}`;
    try {
      fs.cpSync(project.migrationsDir, fresh.migrationsDir, { recursive: true });
      await adminQuery(`CREATE ROLE ${role} LOGIN NOCREATEDB`);
      await adminQuery(`GRANT pg_read_all_data TO ${role}`);
      const url = new URL(urlFor(db.name));
      url.username = role;
      const result = await runCli(['run', 'emergency-rollback'], { cwd: fresh.dir, env: { DATABASE_URL: url.toString() } });
      const out = String(result.stdout);
      expect(result.exitCode, String(result.all)).toBe(5);
      expect(out).toMatch(/no quick rehearsal: cannot create the scratch database .*permission denied to create database.* — what the downgrade does is not known/);
      expect(out).toMatch(/r2: downgrade never rehearsed/);
      expect(out).toContain('(no sandbox running either)');
      expect(out).not.toMatch(/KNOWN TO FAIL/);
      expect(await versionRows()).toEqual(['r2']);
      // With the practice sandbox running, the quick rehearsal uses it instead (it is never started for this).
      const started = await runCli(['sandbox', 'start'], { cwd: fresh.dir, env: { DATABASE_URL: '' } });
      expect(started.exitCode, String(started.all)).toBe(0);
      const again = await runCli(['run', 'emergency-rollback'], { cwd: fresh.dir, env: { DATABASE_URL: url.toString() } });
      expect(again.exitCode, String(again.all)).toBe(5);
      expect(String(again.stdout)).toMatch(/quick rehearsal: the downgrade to r1 FAILED on a schema-only copy on the running sandbox \(the target's server refused a scratch database\): .*type "kind" already exists/);
      expect(String(again.stdout)).toMatch(/the downgrade of r2 is KNOWN TO FAIL/);
      expect(await versionRows()).toEqual(['r2']);
    } finally {
      await runCli(['sandbox', 'stop'], { cwd: fresh.dir, env: { DATABASE_URL: '' } });
      fresh.cleanup();
      await adminQuery(`DROP OWNED BY ${role}`).catch(() => {});
      await adminQuery(`DROP ROLE IF EXISTS ${role}`);
    }
  }, 60_000);
});



describe('emergency-rollback on a broken downgrade (Alembic engine: the fixture app, alter_plan_column re-creates its enum)', () => {
  let adb: TestDatabase;
  let app: AlembicProject;
  const acli = (args: string[]) => runCli(['--database-url', adb.url, ...args], { cwd: app.dir, env: { MUTX_PYTHON: SYSTEM_PYTHON, DATABASE_URL: '' } });

  beforeAll(async () => {
    adb = await createTestDatabase('rbs_broken_alembic');
    app = createAlembicProject({ extras: ['plan_enum_001_add_user_plan.py', 'alter_plan_column.py'], settings: 'lock_wait_seconds: 10\n' });
    expect((await acli(['upgrade', 'plan_enum_001'])).exitCode).toBe(0);
    expect((await acli(['backup', '--label', 'pre-deploy'])).exitCode).toBe(0);
    expect((await acli(['upgrade', 'alter_plan_column'])).exitCode).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await adb?.drop();
    app?.cleanup();
  });

  it('the quick rehearsal through Alembic finds it; --on-broken-downgrade restore restores the backup at plan_enum_001', async () => {
    const result = await acli(['run', 'emergency-rollback', '--yes', '--on-broken-downgrade', 'restore']);
    const out = String(result.stdout);
    expect(result.exitCode, String(result.all)).toBe(0);
    expect(out).toMatch(/quick rehearsal: the downgrade to plan_enum_001 FAILED on a schema-only copy on the target's server: .*type "plan" already exists/);
    expect(out).toMatch(/alter_plan_column: downgrade FAILS: type "plan" already exists at src\/api\/models\/migrations\/versions\/alter_plan_column\.py:25/);
    expect(out).toMatch(/✔ restored \S+_plan_enum_001_pre-deploy\.dump instead of the downgrade of alter_plan_column \(known to fail\): now at plan_enum_001/);
    expect(await versionRowsOf(adb)).toEqual(['plan_enum_001']);
    // The enum column is back as the backup had it (the broken downgrade never ran).
    expect((await adb.query("SELECT udt_name FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'plan'")).rows).toEqual([{ udt_name: 'plan' }]);
  }, 120_000);
});

describe('the real upgrade shows each revision\'s rehearsed duration as its expected time', () => {
  let edb: TestDatabase;
  let eproject: TestProject;
  const ecli = (args: string[]) => runCli(args, { cwd: eproject.dir, env: { MUTX_TEST_DB_URL: edb.url, DATABASE_URL: '' } });

  beforeAll(async () => {
    edb = await createTestDatabase('rbs_expected');
    eproject = createTestProject({ copyMigrations: false, settings: environmentsYaml() });
    writeMigration(eproject.migrationsDir, 'e1', { message: 'one', upgrade: 'CREATE TABLE one (id int);', downgrade: 'DROP TABLE one;' });
    writeMigration(eproject.migrationsDir, 'e2', { revises: 'e1', message: 'two', upgrade: 'CREATE TABLE two (id int); SELECT pg_sleep(0.05);', downgrade: 'DROP TABLE two;' });
  });
  afterAll(async () => {
    await edb?.drop();
    eproject?.cleanup();
  });

  it('progress events carry expectedMs per revision from the record; the lines say it; a changed file has none', async () => {
    const rehearsal = await ecli(['--env', 'staging', 'rehearse', 'upgrade', 'head']);
    expect(rehearsal.exitCode, String(rehearsal.all)).toBe(0);
    const records = fs.readFileSync(`${eproject.dir}/.mutx-ops/rehearsals.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { revision: string; direction: string; duration_ms: number });
    const rehearsed = (rev: string) => records.filter((r) => r.revision === rev && r.direction === 'upgrade').at(-1)!.duration_ms;
    // A byte changed in e1 since its rehearsal: its record no longer counts.
    fs.appendFileSync(`${eproject.migrationsDir}/${fs.readdirSync(eproject.migrationsDir).find((f) => f.startsWith('e1'))}`, '\n-- edited\n');
    const result = await ecli(['run', 'initial-setup', '--env', 'staging', '--yes', '--json']);
    expect(result.exitCode, String(result.all)).toBe(0);
    const events = String(result.stdout).trim().split('\n').map((l) => JSON.parse(l) as { type: string; line?: string; progress?: { kind: string; revision: string; expectedMs?: number } });
    const progress = events.filter((e) => e.type === 'progress' && e.progress?.kind === 'migration').map((e) => e.progress!);
    expect(progress.map((p) => [p.revision, p.expectedMs])).toEqual([
      ['e1', undefined],
      ['e2', rehearsed('e2')],
    ]);
    const lines = events.filter((e) => e.type === 'output').map((e) => e.line);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^✔ upgrade e2 \\(\\d+ ms; rehearsed ${rehearsed('e2')} ms\\)$`)));
    expect(lines).toContainEqual(expect.stringMatching(/^✔ upgrade e1 \(\d+ ms\)$/));
  }, 60_000);
});

describe('test-migrations: the chain rehearsal finds the broken downgrade', () => {
  it('head-to-base fails naming r2 and its file:line; exit 1; the target is untouched', async () => {
    const before = await versionRows();
    const result = await cli(['run', 'test-migrations', '--env', 'dev']);
    const out = String(result.stdout);
    expect(result.exitCode, String(result.all)).toBe(1);
    expect(out).toMatch(/\| ✘ head-to-base/);
    expect(out).toMatch(/\|\s+r2 \(migrations\/r2_kind_enum\.sql:\d+\): .*type "kind" already exists/);
    expect(out).toMatch(/✖ the chain rehearsal failed \(1 finding\(s\)\): head-to-base: r2/);
    expect(await versionRows()).toEqual(before);
    expect(await orphanedScratchDatabases()).toEqual([]);
  }, 60_000);
});
