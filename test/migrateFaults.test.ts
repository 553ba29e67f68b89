import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestDatabase, createTestProject, runCli, waitFor, type TestDatabase, type TestProject } from './helpers/db';
import { writeMigration } from './helpers/migrations';

let db: TestDatabase;
const projects: TestProject[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
  for (const project of projects) project.cleanup();
});

function project(settings = 'lock_wait_seconds: 20\n'): TestProject {
  const p = createTestProject({ copyMigrations: false, settings });
  projects.push(p);
  return p;
}

async function freshSchema(): Promise<void> {
  await db.query('DROP SCHEMA public CASCADE; DROP SCHEMA IF EXISTS mutx_ops CASCADE; CREATE SCHEMA public;');
}

const rows = async (sql: string) => (await db.query(sql)).rows;
const versionRows = async () => (await rows('SELECT version_num FROM alembic_version ORDER BY 1')).map((r) => r.version_num);

describe('timeouts are enforced on the server', () => {
  it('--timeout cancels the running statement, rolls back, releases the lock and exits 124', async () => {
    await freshSchema();
    const p = project();
    writeMigration(p.migrationsDir, 'aa01', { upgrade: 'CREATE TABLE quick (id int);', downgrade: 'DROP TABLE quick;' });
    writeMigration(p.migrationsDir, 'aa02', { revises: 'aa01', upgrade: 'CREATE TABLE slow (id int);\nSELECT pg_sleep(60);', downgrade: 'DROP TABLE slow;' });
    const started = Date.now();
    const run = runCli(['--database-url', db.url, 'upgrade', 'head', '--timeout', '1.5'], { cwd: p.dir });
    // While it runs, the sleep is visible on the server...
    await waitFor(async () => (await rows(`SELECT pid FROM pg_stat_activity WHERE datname = '${db.name}' AND pid <> pg_backend_pid() AND query LIKE '%pg_sleep(60)%' AND state = 'active'`)).length > 0 || undefined);
    const result = await run;
    expect(result.exitCode).toBe(124);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(String(result.stderr)).toMatch(/aa02 stopped by --timeout/);
    // ...and afterwards it is gone: cancelled on the server, not just abandoned by the client.
    expect(await rows(`SELECT pid FROM pg_stat_activity WHERE datname = '${db.name}' AND pid <> pg_backend_pid() AND query LIKE '%pg_sleep(60)%' AND state = 'active'`)).toHaveLength(0);
    expect(await versionRows()).toEqual(['aa01']);
    expect(await rows("SELECT 1 FROM pg_tables WHERE tablename = 'slow'")).toHaveLength(0);
    expect(await rows("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).toHaveLength(0);
    const ledger = await rows("SELECT outcome FROM mutx_ops.ledger WHERE revision = 'aa02'");
    expect(ledger.map((r) => r.outcome)).toEqual(['timeout']);
    const audit = fs.readFileSync(p.auditPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(audit.at(-1)).toMatchObject({ action: 'upgrade', phase: 'end', outcome: 'timeout' });
  });

  it('retries a lock timeout with backoff, then fails naming the blocking session', async () => {
    await freshSchema();
    const p = project('lock_wait_seconds: 5\nlock_retries: 1\n');
    await db.query('CREATE TABLE busy (id int)');
    writeMigration(p.migrationsDir, 'bb01', { upgrade: 'ALTER TABLE busy ADD COLUMN note text;', downgrade: 'ALTER TABLE busy DROP COLUMN note;' });
    const blocker = new pg.Client({ connectionString: db.url, application_name: 'long-report' });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT * FROM busy');
      const result = await runCli(['--database-url', db.url, 'upgrade', 'head', '--lock-timeout', '0.5'], { cwd: p.dir });
      expect(result.exitCode).toBe(1);
      expect(String(result.stderr)).toMatch(/lock_timeout \(0\.5s\).*: retry 1\/1 in/);
      expect(String(result.stderr)).toMatch(/could not get a table lock .* blocked by pid \d+ \(long-report, idle in transaction/);
      expect(await versionRows()).toEqual([]);
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
  });
});

describe('failures leave a consistent revision', () => {
  it('a failing transactional migration rolls back and names the statement file:line', async () => {
    await freshSchema();
    const p = project();
    writeMigration(p.migrationsDir, 'cc01', { upgrade: 'CREATE TABLE ok1 (id int);', downgrade: 'DROP TABLE ok1;' });
    const file = writeMigration(p.migrationsDir, 'cc02', { revises: 'cc01', upgrade: 'CREATE TABLE half (id int);\nINSERT INTO half VALUES (1);\nINSERT INTO nowhere VALUES (1);', downgrade: 'DROP TABLE half;' });
    const result = await runCli(['--database-url', db.url, 'upgrade', 'head'], { cwd: p.dir });
    expect(result.exitCode).toBe(1);
    expect(String(result.stderr)).toContain(`${file}:8: relation "nowhere" does not exist`);
    expect(await versionRows()).toEqual(['cc01']);
    expect(await rows("SELECT 1 FROM pg_tables WHERE tablename = 'half'")).toHaveLength(0);
    const failed = await rows("SELECT failed_statement FROM mutx_ops.ledger WHERE revision = 'cc02' AND outcome = 'failed'");
    expect(failed[0]?.failed_statement).toBe('INSERT INTO nowhere VALUES (1);');
  });

  it('a failing verify rolls that migration back', async () => {
    await freshSchema();
    const p = project();
    writeMigration(p.migrationsDir, 'dd01', { upgrade: 'CREATE TABLE checked (id int);', downgrade: 'DROP TABLE checked;', verify: "SELECT count(*) = 1 FROM information_schema.columns WHERE table_name = 'checked' AND column_name = 'missing';" });
    const result = await runCli(['--database-url', db.url, 'upgrade', 'head'], { cwd: p.dir });
    expect(result.exitCode).toBe(1);
    expect(String(result.stderr)).toMatch(/verify of dd01 returned false/);
    expect(await rows("SELECT 1 FROM pg_tables WHERE tablename = 'checked'")).toHaveLength(0);
    expect(await versionRows()).toEqual([]);
  });

  it('a failing non-transactional migration keeps the version, records the statement and says what to do', async () => {
    await freshSchema();
    const p = project();
    writeMigration(p.migrationsDir, 'ee01', { upgrade: 'CREATE TABLE events2 (id int, at timestamptz);', downgrade: 'DROP TABLE events2;' });
    const file = writeMigration(p.migrationsDir, 'ee02', {
      revises: 'ee01',
      transactional: false,
      upgrade: 'CREATE INDEX CONCURRENTLY IF NOT EXISTS events2_at ON events2 (at);\nCREATE INDEX CONCURRENTLY IF NOT EXISTS events2_bad ON events2 (no_such_column);',
      downgrade: 'DROP INDEX CONCURRENTLY IF EXISTS events2_at;',
    });
    const result = await runCli(['--database-url', db.url, 'upgrade', 'head'], { cwd: p.dir });
    expect(result.exitCode).toBe(1);
    expect(String(result.stderr)).toContain(`${file}:8: column "no_such_column" does not exist`);
    expect(String(result.stderr)).toMatch(/runs without a transaction: statements before line 8 stay applied/);
    expect(await versionRows()).toEqual(['ee01']);
    // The CONCURRENTLY index could only be built outside a transaction, and it was.
    expect(await rows("SELECT 1 FROM pg_indexes WHERE indexname = 'events2_at'")).toHaveLength(1);
    const failed = await rows("SELECT failed_statement FROM mutx_ops.ledger WHERE revision = 'ee02' AND outcome = 'failed'");
    expect(failed[0]?.failed_statement).toMatch(/events2_bad/);
    expect(await rows("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).toHaveLength(0);
    expect(String(result.stderr)).toMatch(/mutx-ops reconcile/);
    // The ledger remembers the half-applied step: nothing else migrates until it is settled.
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('no_such_column', 'id'));
    const refused = await runCli(['--database-url', db.url, 'downgrade', '-1'], { cwd: p.dir });
    expect(refused.exitCode).toBe(3);
    expect(String(refused.stderr)).toMatch(/non-transactional upgrade of ee02 failed mid-way .*mutx-ops reconcile/);
    expect(await versionRows()).toEqual(['ee01']);
    const current = await runCli(['--database-url', db.url, 'current'], { cwd: p.dir });
    expect(String(current.stdout)).toMatch(/^HALF-APPLIED: non-transactional upgrade of ee02 failed mid-way/m);
    expect((await runCli(['--database-url', db.url, 'check'], { cwd: p.dir })).exitCode).toBe(3);
    const dryRun = await runCli(['--database-url', db.url, 'reconcile', '--dry-run'], { cwd: p.dir });
    expect(String(dryRun.stdout)).toMatch(/would run the downgrade section of ee02/);
    expect(await rows("SELECT 1 FROM pg_indexes WHERE indexname = 'events2_at'")).toHaveLength(1);
    const reconciled = await runCli(['--database-url', db.url, 'reconcile'], { cwd: p.dir });
    expect(reconciled.exitCode, String(reconciled.all)).toBe(0);
    expect(String(reconciled.stdout)).toMatch(/ran the downgrade section of ee02 \(its upgrade had stopped half-way\); the database is at ee01/);
    expect(await rows("SELECT 1 FROM pg_indexes WHERE indexname = 'events2_at'")).toHaveLength(0);
    expect(await versionRows()).toEqual(['ee01']);
    expect(String((await runCli(['--database-url', db.url, 'reconcile'], { cwd: p.dir })).stdout)).toMatch(/nothing to reconcile/);
    // Fixed, the rerun completes.
    const rerun = await runCli(['--database-url', db.url, 'upgrade', 'head'], { cwd: p.dir });
    expect(rerun.exitCode, String(rerun.all)).toBe(0);
    expect(await versionRows()).toEqual(['ee02']);
  });

  it('a non-transactional downgrade killed mid-way is flagged, and reconcile re-applies its revision cleanly', async () => {
    await freshSchema();
    const p = project();
    writeMigration(p.migrationsDir, 'hh01', { upgrade: 'CREATE TABLE h1 (id int, at timestamptz);', downgrade: 'DROP TABLE h1;' });
    writeMigration(p.migrationsDir, 'hh02', {
      revises: 'hh01',
      transactional: false,
      upgrade: 'CREATE INDEX CONCURRENTLY IF NOT EXISTS h1_at ON h1 (at);\nCREATE INDEX CONCURRENTLY IF NOT EXISTS h1_id ON h1 (id);',
      // The pause is the test's (a row it removes before reconciling), so the reconcile itself does not sleep.
      downgrade: 'DROP INDEX CONCURRENTLY IF EXISTS h1_id;\nSELECT pg_sleep(coalesce((SELECT max(seconds) FROM test_pause), 0));\nDROP INDEX CONCURRENTLY IF EXISTS h1_at;',
      verify: "SELECT count(*) = 2 FROM pg_index WHERE indexrelid IN ('h1_at'::regclass, to_regclass('h1_id')) AND indisvalid",
    });
    expect((await runCli(['--database-url', db.url, 'upgrade', 'head'], { cwd: p.dir })).exitCode).toBe(0);
    await db.query('CREATE TABLE test_pause (seconds int); INSERT INTO test_pause VALUES (30);');
    const down = runCli(['--database-url', db.url, 'downgrade', '-1'], { cwd: p.dir });
    await waitFor(async () => (await rows(`SELECT 1 FROM pg_stat_activity WHERE datname = '${db.name}' AND pid <> pg_backend_pid() AND query LIKE '%FROM test_pause%' AND state = 'active'`)).length > 0 || undefined, 20_000);
    down.kill('SIGKILL');
    await down;
    // The orphaned backend sleeps on (holding the migration lock) until the server notices: end it, as the operator would.
    await rows(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db.name}' AND pid <> pg_backend_pid() AND query LIKE '%FROM test_pause%'`);
    await db.query('DELETE FROM test_pause');
    // The version table still says hh02, but h1_id is gone: only the ledger marker tells.
    expect(await versionRows()).toEqual(['hh02']);
    expect(await rows("SELECT 1 FROM pg_indexes WHERE indexname = 'h1_id'")).toHaveLength(0);
    const check = await runCli(['--database-url', db.url, 'check'], { cwd: p.dir });
    expect(check.exitCode).toBe(3);
    expect(String(check.stdout)).toMatch(/half-applied: non-transactional downgrade of hh02 was interrupted mid-way/);
    const reconciled = await runCli(['--database-url', db.url, 'reconcile'], { cwd: p.dir });
    expect(reconciled.exitCode, String(reconciled.all)).toBe(0);
    expect(String(reconciled.stdout)).toMatch(/ran the downgrade then upgrade section of hh02/);
    expect((await rows("SELECT indexname FROM pg_indexes WHERE tablename = 'h1' ORDER BY 1")).map((r) => r.indexname)).toEqual(['h1_at', 'h1_id']);
    expect(await versionRows()).toEqual(['hh02']);
    expect((await runCli(['--database-url', db.url, 'check'], { cwd: p.dir })).exitCode).toBe(0);
  }, 60_000);
});

describe('the migration lock', () => {
  it('two and three racing upgrades apply each migration exactly once', async () => {
    await freshSchema();
    const p = project();
    writeMigration(p.migrationsDir, 'ff01', { upgrade: 'CREATE TABLE r1 (id int);\nSELECT pg_sleep(0.5);', downgrade: 'DROP TABLE r1;' });
    writeMigration(p.migrationsDir, 'ff02', { revises: 'ff01', upgrade: 'CREATE TABLE r2 (id int);', downgrade: 'DROP TABLE r2;' });
    writeMigration(p.migrationsDir, 'ff03', { revises: 'ff02', upgrade: 'CREATE TABLE r3 (id int);', downgrade: 'DROP TABLE r3;' });
    const results = await Promise.all([1, 2, 3].map(() => runCli(['--database-url', db.url, 'upgrade', 'head'], { cwd: p.dir })));
    expect(results.map((r) => r.exitCode)).toEqual([0, 0, 0]);
    const applied = await rows("SELECT revision, count(*)::int AS n FROM mutx_ops.ledger WHERE outcome = 'applied' GROUP BY revision ORDER BY revision");
    expect(applied).toEqual([{ revision: 'ff01', n: 1 }, { revision: 'ff02', n: 1 }, { revision: 'ff03', n: 1 }]);
    expect(results.filter((r) => /nothing to do/.test(String(r.stdout)))).toHaveLength(2);
    expect(results.some((r) => /waiting for the migration lock, held by pid \d+ \(mutx-ops:tester@/.test(String(r.stderr)))).toBe(true);
  });

  it('a run that cannot get the lock in time exits 4 naming the holder', async () => {
    await freshSchema();
    const p = project();
    writeMigration(p.migrationsDir, 'gg01', { upgrade: 'CREATE TABLE g1 (id int);\nSELECT pg_sleep(3);', downgrade: 'DROP TABLE g1;' });
    const first = runCli(['--database-url', db.url, 'upgrade', 'head'], { cwd: p.dir, env: { MUTX_OPERATOR: 'alice' } });
    await waitFor(async () => (await rows("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).length > 0 || undefined);
    const second = await runCli(['--database-url', db.url, 'upgrade', 'head', '--wait-lock', '0.5'], { cwd: p.dir, env: { MUTX_OPERATOR: 'bob' } });
    expect(second.exitCode).toBe(4);
    expect(String(second.stderr)).toMatch(/held by pid \d+ \(mutx-ops:alice@[^)]*\) since \d{4}-/);
    expect((await first).exitCode).toBe(0);
  });
});

describe('a transactional migration stays atomic with its version row (issue 15, items 1 and 2)', () => {
  it('COMMIT or ROLLBACK inside a transactional migration is refused before anything runs, with file:line', async () => {
    for (const [upgrade, word] of [
      ['CREATE TABLE a (id int);\nCOMMIT;\nCREATE TABLE b (id int);\nSELECT 1/0;', 'COMMIT'],
      ['CREATE TABLE x (id int);\n  rollback ;\nCREATE TABLE y (id int);', 'ROLLBACK'],
      ['CREATE TABLE x (id int);\n/* done */ END;', 'END'],
    ] as const) {
      for (const extra of [[], ['--single-transaction']]) {
        await freshSchema();
        const p = project();
        writeMigration(p.migrationsDir, 'tc01', { upgrade: 'CREATE TABLE base_t (id int);', downgrade: 'DROP TABLE base_t;' });
        const file = writeMigration(p.migrationsDir, 'tc02', { revises: 'tc01', upgrade, downgrade: 'SELECT 1;' });
        const run = await runCli(['--database-url', db.url, 'upgrade', 'head', ...extra], { cwd: p.dir });
        expect(run.exitCode, String(run.all)).toBe(2);
        expect(String(run.stderr)).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+: ${word} inside a transactional migration`));
        // Nothing ran: not even the revision before it.
        expect((await rows("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('base_t', 'a', 'b', 'x', 'y')"))[0]!.n).toBe(0);
      }
    }
  });

  it('a transaction ended behind the static check is caught before the version row moves, and flagged half-applied', async () => {
    await freshSchema();
    const p = project();
    writeMigration(p.migrationsDir, 'te01', { upgrade: 'CREATE TABLE kept (id int);', downgrade: 'DROP TABLE kept;' });
    // Clearing the transaction's marker stands for anything that ends the transaction unseen.
    writeMigration(p.migrationsDir, 'te02', { revises: 'te01', upgrade: "CREATE TABLE t2 (id int);\nSELECT set_config('mutx_ops.transaction', NULL, true);", downgrade: 'DROP TABLE IF EXISTS t2;' });
    const run = await runCli(['--database-url', db.url, 'upgrade', 'head'], { cwd: p.dir });
    expect(run.exitCode, String(run.all)).toBe(1);
    expect(String(run.stderr)).toMatch(/te02 .*the transaction mutx-ops opened was ended inside the migration/);
    expect(await versionRows()).toEqual(['te01']);
    const check = await runCli(['--database-url', db.url, 'check'], { cwd: p.dir });
    expect(check.exitCode).toBe(3);
    expect(String(check.stdout)).toMatch(/half-applied: .*te02/);
  });

  it('the version table changed behind the lock: the migration rolls back instead of overwriting it', async () => {
    await freshSchema();
    const p = project();
    writeMigration(p.migrationsDir, 'vc01', { upgrade: 'CREATE TABLE v1 (id int);', downgrade: 'DROP TABLE v1;' });
    writeMigration(p.migrationsDir, 'vc02', { revises: 'vc01', upgrade: 'CREATE TABLE v2 (id int);\nSELECT pg_sleep(1.5);', downgrade: 'DROP TABLE v2;' });
    expect((await runCli(['--database-url', db.url, 'upgrade', 'vc01'], { cwd: p.dir })).exitCode).toBe(0);
    const run = runCli(['--database-url', db.url, 'upgrade', 'head'], { cwd: p.dir });
    await waitFor(async () => (await rows(`SELECT 1 FROM pg_stat_activity WHERE datname = '${db.name}' AND pid <> pg_backend_pid() AND query LIKE '%pg_sleep(1.5)%' AND state = 'active'`)).length > 0 || undefined);
    // Someone (raw alembic, a hand-run stamp) moves the version table meanwhile.
    await db.query("UPDATE alembic_version SET version_num = 'zz99'");
    const result = await run;
    expect(result.exitCode, String(result.all)).toBe(1);
    expect(String(result.stderr)).toMatch(/vc02 stopped before it was recorded: the version table changed since this run was planned \(expected vc01\)/);
    expect(await versionRows()).toEqual(['zz99']);
    expect((await rows("SELECT to_regclass('public.v2') IS NULL AS gone"))[0]!.gone).toBe(true);
  });

  it('a migration calling pg_advisory_unlock_all() cannot commit: two racing runs apply it zero times, not twice', async () => {
    await freshSchema();
    const p = project();
    writeMigration(p.migrationsDir, 'ul01', { upgrade: 'CREATE TABLE u1 (id int);\nSELECT pg_advisory_unlock_all();\nSELECT pg_sleep(0.5);', downgrade: 'DROP TABLE u1;' });
    const results = await Promise.all([1, 2].map(() => runCli(['--database-url', db.url, 'upgrade', 'head'], { cwd: p.dir })));
    expect(results.map((r) => r.exitCode)).toEqual([1, 1]);
    for (const r of results) expect(String(r.stderr)).toMatch(/no longer holds the migration lock \(did the migration call pg_advisory_unlock_all\(\)\?\)/);
    const applied = await rows("SELECT count(*)::int AS n FROM mutx_ops.ledger WHERE outcome = 'applied'");
    expect(applied[0]!.n).toBe(0);
    expect(await versionRows()).toEqual([]);
  });
});
