import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminQuery, createTestDatabase, createTestProject, runCli as runBin, urlFor, waitFor, BIN, type TestDatabase, type TestProject } from './helpers/db';
import { writeMigration } from './helpers/migrations';

/**
 * `mutx-ops rehearse` against the real server: the plan runs on a throwaway copy of the target's
 * schema through the same core and engine; the target is only read (its full dump and its write
 * counters are compared); failures name file:line and the server's error; the round trip finds
 * what a downgrade leaves behind; locks are observed; the scratch database is always dropped.
 */
let db: TestDatabase;
let project: TestProject;

async function runCli(args: string[], options: { cwd: string; env?: Record<string, string | undefined> } = { cwd: project.dir }) {
  const result = await runBin(args, options);
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/**
 * Rehearsal databases on the server, optionally only those a given process created (other test
 * files rehearse at the same time, so "none at all" would race with them).
 */
async function scratchDatabases(ownerPid?: number): Promise<string[]> {
  const rows = (await adminQuery<{ datname: string; comment: string | null }>("SELECT datname, shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE starts_with(datname, 'mutx_rehearse_') ORDER BY 1")).rows;
  return rows.filter((r) => ownerPid === undefined || (r.comment ?? '').includes(`"pid":${ownerPid},`)).map((r) => r.datname);
}

/** runCli that also says which pid ran, to find the scratch databases it left (none, normally). */
async function runTracked(args: string[], cwd: string = project.dir) {
  const child = runBin(args, { cwd });
  const result = await child;
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr), pid: child.pid! };
}

/** Everything pg_dump sees (schema and rows), and the tables' write counters. */
async function targetState(target: TestDatabase): Promise<{ dump: string; writes: Record<string, string> }> {
  const { stdout } = await execa('pg_dump', ['--no-owner', target.url]);
  const dump = stdout.split('\n').filter((line) => !/^\\(un)?restrict /.test(line) && !line.startsWith('-- Dumped')).join('\n');
  const rows = (await target.query<{ name: string; w: string }>("SET stats_fetch_consistency = 'none'; SELECT format('%I.%I', schemaname, relname) AS name, format('%s/%s/%s/%s', n_tup_ins, n_tup_upd, n_tup_del, n_tup_hot_upd) AS w FROM pg_stat_user_tables ORDER BY 1")) as unknown as { rows: { name: string; w: string }[] }[];
  const result = Array.isArray(rows) ? rows[1]! : (rows as unknown as { rows: { name: string; w: string }[] });
  return { dump, writes: Object.fromEntries(result.rows.map((r) => [r.name, r.w])) };
}

let r4File: string;

beforeAll(async () => {
  db = await createTestDatabase('mutx_rh_target');
  project = createTestProject({ copyMigrations: false });
  const dir = project.migrationsDir;
  writeMigration(dir, 'r1', { message: 'big table', upgrade: 'CREATE TABLE big (id int PRIMARY KEY, note text);', downgrade: 'DROP TABLE big;' });
  writeMigration(dir, 'r2', { revises: 'r1', message: 'narrow note', upgrade: 'ALTER TABLE big ALTER COLUMN note TYPE varchar(100);', downgrade: 'ALTER TABLE big ALTER COLUMN note TYPE text;' });
  writeMigration(dir, 'r3', { revises: 'r2', message: 'leftover', upgrade: 'CREATE TABLE leftover (id int);', downgrade: 'SELECT 1;' });
  r4File = writeMigration(dir, 'r4', { revises: 'r3', message: 'mood type', upgrade: "CREATE TYPE mood AS ENUM ('calm');", downgrade: "CREATE TYPE mood AS ENUM ('calm');" });
  writeMigration(dir, 'r5', { revises: 'r4', message: 'index concurrently', transactional: false, upgrade: 'CREATE INDEX CONCURRENTLY IF NOT EXISTS big_note_idx ON big (note);', downgrade: 'DROP INDEX CONCURRENTLY IF EXISTS big_note_idx;' });
  const up = await runCli(['--database-url', db.url, 'upgrade', 'r1']);
  expect(up.exitCode, up.stderr).toBe(0);
  await db.query("INSERT INTO big SELECT g, repeat('x', 40) FROM generate_series(1, 150000) g");
});

afterAll(async () => {
  await db?.drop();
  project?.cleanup();
});

describe('rehearse (SQL engine)', () => {
  it('rehearses with data, reports the AccessExclusiveLock the rewrite takes on the filled table, and leaves the target exactly as it was', async () => {
    const before = await targetState(db);
    const result = await runTracked(['--database-url', db.url, '--json', 'rehearse', 'upgrade', 'r2', '--with-data']);
    expect(result.exitCode, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.ok).toBe(true);
    expect(report.plan.map((s: { revision: string }) => s.revision)).toEqual(['r2']);
    const step = report.steps.find((s: { revision: string }) => s.revision === 'r2');
    expect(step.outcome).toBe('ok');
    expect(step.locks[0]).toMatchObject({ relation: 'public.big', mode: 'AccessExclusiveLock' });
    expect(step.locks[0].statement).toMatch(/ALTER TABLE big/);
    expect(report.scratch.dropped).toBe(true);
    expect(await scratchDatabases()).not.toContain(report.scratch.database);
    expect(await scratchDatabases(result.pid)).toEqual([]);
    // The target: same schema, same rows, same version, and not one write counted on any table.
    const after = await targetState(db);
    expect(after.dump).toBe(before.dump);
    expect(after.writes).toEqual(before.writes);
    expect((await db.query('SELECT version_num FROM alembic_version')).rows).toEqual([{ version_num: 'r1' }]);
  });

  it('a round trip finds the table a downgrade leaves behind (exit 1), naming it', async () => {
    const result = await runCli(['--database-url', db.url, '--json', 'rehearse', 'upgrade', 'r3', '--round-trip']);
    expect(result.exitCode, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout);
    expect(report.ok).toBe(false);
    expect(report.roundTrip.inverseTarget).toBe('r1');
    expect(report.roundTrip.leftBehind).toContain('+ relation public.leftover kind=r');
    expect(report.error).toMatch(/leftover/);
    expect(await scratchDatabases()).not.toContain(report.scratch.database);
  });

  it('a downgrade that fails names file:line and the server error, is recorded, and a changed file invalidates the record', async () => {
    const up = await runCli(['--database-url', db.url, 'upgrade', 'r4']);
    expect(up.exitCode, up.stderr).toBe(0);
    const result = await runCli(['--database-url', db.url, 'rehearse', 'downgrade', '-1']);
    expect(result.exitCode, result.stderr).toBe(1);
    const line = fs.readFileSync(r4File, 'utf8').split('\n').findIndex((l) => l.startsWith('CREATE TYPE mood') && fs.readFileSync(r4File, 'utf8').indexOf('-- +downgrade') < fs.readFileSync(r4File, 'utf8').indexOf(l, fs.readFileSync(r4File, 'utf8').indexOf('-- +downgrade'))) + 1;
    expect(result.stdout).toMatch(/downgrade r4 +FAILED/);
    expect(result.stdout).toContain(`migrations/${path.basename(r4File)}:`);
    expect(result.stdout).toContain('type "mood" already exists');
    expect(result.stdout).toContain("statement: CREATE TYPE mood AS ENUM ('calm')");
    expect(line).toBeGreaterThan(0);
    // The target still has the type and is at r4: nothing ran there.
    expect((await db.query('SELECT version_num FROM alembic_version')).rows).toEqual([{ version_num: 'r4' }]);

    const current = await runCli(['--database-url', db.url, 'current', '-v']);
    expect(current.stdout).toMatch(/Rehearsal: upgrade never rehearsed; downgrade FAILS: type "mood" already exists at migrations\/r4_mood_type\.sql:\d+ \(rehearsed \d+ s ago\)/);
    const history = await runCli(['history', '-v']);
    expect(history.stdout).toMatch(/downgrade FAILS: type "mood" already exists/);
    expect(history.stdout).toMatch(/Rev: r2\n[\s\S]*?Rehearsal: upgrade rehearsed ok \d+ s ago; downgrade rehearsed ok/);

    fs.writeFileSync(r4File, fs.readFileSync(r4File, 'utf8').replace(/(-- \+downgrade\n)CREATE TYPE mood AS ENUM \('calm'\);/, '$1DROP TYPE mood;'));
    const changed = await runCli(['history', '-v']);
    expect(changed.stdout).toMatch(/Rev: r4[\s\S]*?Rehearsal: upgrade never rehearsed; downgrade never rehearsed \(the file changed since its rehearsal \d+ s ago\)/);
    const fixed = await runCli(['--database-url', db.url, 'rehearse', 'downgrade', '-1']);
    expect(fixed.exitCode, fixed.stdout + fixed.stderr).toBe(0);
    expect((await runCli(['history', '-v'])).stdout).toMatch(/Rev: r4[\s\S]*?downgrade rehearsed ok/);
  });

  it('a CONCURRENTLY step (non-transactional) rehearses, round trip included', async () => {
    const result = await runCli(['--database-url', db.url, '--json', 'rehearse', 'upgrade', 'head', '--round-trip']);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.steps.map((s: { phase: string; revision: string; outcome: string }) => `${s.phase}:${s.revision}:${s.outcome}`)).toEqual(['plan:r5:ok', 'inverse:r5:ok', 'again:r5:ok']);
    expect(report.roundTrip.ok).toBe(true);
  });

  it('refuses a scratch URL that is the target itself, however the host is spelled (exit 2, one line, nothing created)', async () => {
    for (const url of [db.url, db.url.replace('127.0.0.1', 'localhost')]) {
      const result = await runTracked(['--database-url', db.url, 'rehearse', '--scratch-url', url]);
      expect(result.exitCode).toBe(2);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(/--scratch-url .* is the target database itself/);
      expect(await scratchDatabases(result.pid)).toEqual([]);
    }
  });

  it('bad input: an unknown revision, an unreachable target, --with-data over the limit is stated', async () => {
    const unknown = await runTracked(['--database-url', db.url, 'rehearse', 'upgrade', 'nosuch']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    const unreachable = await runCli(['--database-url', 'postgresql://postgres@127.0.0.1:1/x', 'rehearse']);
    expect(unreachable.exitCode).toBe(2);
    expect(unreachable.stderr).toMatch(/connection refused/);
    const help = await runCli(['rehearse', '--help']);
    expect(help.stdout).toMatch(/--with-data +copy the rows too \(databases up to 100 MB\)/);
    expect(await scratchDatabases(unknown.pid)).toEqual([]);
  });
});

describe('rehearse under faults', () => {
  let slow: TestProject;
  let slowDb: TestDatabase;
  beforeAll(async () => {
    slowDb = await createTestDatabase('mutx_rh_slow');
    slow = createTestProject({ copyMigrations: false });
    writeMigration(slow.migrationsDir, 's1', { message: 'base', upgrade: 'CREATE TABLE t (id int);', downgrade: 'DROP TABLE t;' });
    writeMigration(slow.migrationsDir, 's2', { revises: 's1', message: 'hangs', upgrade: 'SELECT pg_sleep(120);', downgrade: 'SELECT 1;' });
    const up = await runCli(['--database-url', slowDb.url, 'upgrade', 's1'], { cwd: slow.dir });
    expect(up.exitCode, up.stderr).toBe(0);
  });
  afterAll(async () => {
    await slowDb?.drop();
    slow?.cleanup();
  });

  it('a hanging migration hits the rehearsal timeout: cancelled on the server, exit 1, scratch dropped', async () => {
    const result = await runTracked(['--database-url', slowDb.url, '--json', 'rehearse', '--timeout', '3'], slow.dir);
    expect(result.exitCode, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout);
    expect(report.steps.find((s: { revision: string }) => s.revision === 's2').outcome).toBe('timeout');
    expect(await scratchDatabases()).not.toContain(report.scratch.database);
    expect(await scratchDatabases(result.pid)).toEqual([]);
    const sleeping = await adminQuery("SELECT pid FROM pg_stat_activity WHERE query LIKE '%pg_sleep(120)%' AND state = 'active' AND pid <> pg_backend_pid()");
    expect(sleeping.rows).toEqual([]);
  });

  it('kill -9 mid-rehearsal leaves a scratch database that the next rehearsal drops, recording the interruption', async () => {
    const child = execa('node', [BIN, '--database-url', slowDb.url, 'rehearse'], { cwd: slow.dir, env: { MUTX_OPERATOR: 'tester', MUTX_OPS_PREFS_DIR: path.join(slow.dir, '.prefs') }, reject: false });
    await waitFor(async () => {
      const rows = await adminQuery("SELECT 1 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(120)%' AND state = 'active' AND pid <> pg_backend_pid()");
      return rows.rows.length > 0 || undefined;
    }, 30_000);
    const orphans = await scratchDatabases(child.pid!);
    expect(orphans).toHaveLength(1);
    child.kill('SIGKILL');
    await child;
    const next = await runCli(['--database-url', slowDb.url, '--json', 'rehearse', '--timeout', '6'], { cwd: slow.dir });
    const report = JSON.parse(next.stdout);
    expect(report.orphansDropped.map((o: { name: string }) => o.name)).toContain(orphans[0]);
    expect(await scratchDatabases()).not.toContain(orphans[0]);
    const audit = fs.readFileSync(path.join(slow.dir, '.mutx-ops/audit.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(audit.some((r) => r.action === 'rehearse.orphan-dropped' && r.details.database === orphans[0])).toBe(true);
    expect(audit.some((r) => r.action === 'rehearse' && r.phase === 'end' && r.outcome === 'interrupted')).toBe(true);
  });

  it('an orphan of a process that is gone is dropped; one of a live process is kept', async () => {
    const dead = 'mutx_rehearse_0000dead0000';
    const live = 'mutx_rehearse_0000live0000';
    const plantDead = async () => {
      await adminQuery(`CREATE DATABASE ${dead}`);
      await adminQuery(`COMMENT ON DATABASE ${dead} IS '${JSON.stringify({ mutx_ops_rehearsal: 1, pid: 2 ** 22 + 7, host: os.hostname(), started: '2026-01-01T00:00:00Z' })}'`);
    };
    await plantDead();
    await adminQuery(`CREATE DATABASE ${live}`);
    await adminQuery(`COMMENT ON DATABASE ${live} IS '${JSON.stringify({ mutx_ops_rehearsal: 1, pid: process.pid, host: os.hostname(), started: '2026-01-01T00:00:00Z' })}'`);
    try {
      const result = await runCli(['--database-url', slowDb.url, '--json', 'rehearse', 'upgrade', 's1'], { cwd: slow.dir });
      expect(result.exitCode).toBe(0);
      // Nothing to run (already at s1): no scratch server is touched.
      // Other test files rehearse on this server at the same time, and any rehearsal drops an orphan:
      // when one beat this run to it (gone, not listed here), plant it again and rehearse again.
      let dropped: string[] = [];
      for (let attempt = 0; attempt < 5; attempt++) {
        if (attempt > 0) await plantDead();
        const run = await runCli(['--database-url', slowDb.url, '--json', 'rehearse', '--timeout', '6'], { cwd: slow.dir });
        dropped = JSON.parse(run.stdout).orphansDropped.map((o: { name: string }) => o.name);
        if (dropped.includes(dead) || (await scratchDatabases()).includes(dead)) break;
      }
      expect(dropped).toContain(dead);
      const left = await scratchDatabases();
      expect(left).not.toContain(dead);
      expect(left).toContain(live);
    } finally {
      await adminQuery(`DROP DATABASE IF EXISTS ${dead}`);
      await adminQuery(`DROP DATABASE IF EXISTS ${live}`);
    }
  });
});

void urlFor;
