import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAlembicProject, runAlembic, versionRowsOf, type AlembicProject } from './helpers/alembic';
import { createTestDatabase, runCli, waitFor, type TestDatabase } from './helpers/db';

// Faults on an Alembic project: the lock, a blocking session, --timeout, kill -9 of mutx-ops and of
// its Python child, and autogenerate after mutx-ops has run.
let db: TestDatabase;
let project: AlembicProject;

beforeAll(async () => {
  db = await createTestDatabase('mutx_alembic_faults');
  project = createAlembicProject({ extras: ['slow_revision.py'], settings: 'lock_wait_seconds: 20\nlock_retries: 1\n' });
});
afterAll(async () => {
  await db.drop();
  project.cleanup();
});
beforeEach(async () => {
  await db.query('DROP SCHEMA public CASCADE; DROP SCHEMA IF EXISTS mutx_ops CASCADE; CREATE SCHEMA public;');
});

const mutx = (args: string[], env: Record<string, string> = {}) => runCli(args, { cwd: project.dir, env: { DATABASE_URL: db.url, ...env } });
const sleeping = async () => (await db.query(`SELECT pid FROM pg_stat_activity WHERE datname = '${db.name}' AND query LIKE 'SELECT pg_sleep%' AND state = 'active'`)).rows.length;
const appliedRows = async () => (await db.query("SELECT revision FROM mutx_ops.ledger WHERE outcome = 'applied'").catch(() => ({ rows: [] }))).rows.map((r) => r.revision);
const lockHeld = async () => (await db.query("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).rows[0]!.n > 0;
const pythonChildren = () =>
  fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('alembic-runner.py') && fs.readFileSync(`/proc/${pid}/environ`, 'utf8').includes(db.name);
      } catch {
        return false;
      }
    });

describe('the migration lock and blocking sessions', () => {
  it('three racing upgrade head apply every revision exactly once; the others wait and find nothing to do', async () => {
    const runs = await Promise.all([1, 2, 3].map(() => mutx(['upgrade', 'head_0012'])));
    expect(runs.map((r) => r.exitCode), runs.map((r) => r.all).join('\n')).toEqual([0, 0, 0]);
    const applied = await db.query<{ revision: string; n: number }>("SELECT revision, count(*)::int AS n FROM mutx_ops.ledger WHERE outcome = 'applied' GROUP BY revision");
    expect(applied.rows).toHaveLength(14);
    expect(applied.rows.every((row) => row.n === 1)).toBe(true);
    expect(runs.filter((r) => /nothing to do/.test(String(r.stdout)))).toHaveLength(2);
  }, 60_000);

  it('a lock held by another session: lock_timeout on the server, a retry naming the blocker, then one clear failure', async () => {
    expect((await mutx(['upgrade', 'head_0012'])).exitCode).toBe(0);
    const blocker = new pg.Client({ connectionString: db.url, application_name: 'mutx-api (nightly user sync)' });
    await blocker.connect();
    try {
      await blocker.query('BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
      const pid = (await blocker.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
      const blocked = await mutx(['upgrade', 'slow_revision', '--lock-timeout', '1'], { SLOW_REVISION_SECONDS: '0' });
      expect(blocked.exitCode, String(blocked.all)).toBe(1);
      expect(String(blocked.stderr)).toMatch(/lock_timeout \(1s\).*retry 1\/1/);
      expect(String(blocked.stderr)).toMatch(new RegExp(`could not get a table lock within lock_timeout 1s after 1 retries.*blocked by pid ${pid} \\(mutx-api \\(nightly user sync\\)`));
      expect(await versionRowsOf(db)).toEqual(['head_0012']);
      expect(await lockHeld()).toBe(false);
    } finally {
      await blocker.end();
    }
  }, 60_000);
});

describe('timeouts and kills leave a consistent revision', () => {
  it('--timeout cancels the statement on the server, rolls back, exits 124, and records the timeout', async () => {
    expect((await mutx(['upgrade', 'f00dfeedcafe'])).exitCode).toBe(0);
    // In one transaction with the revisions before it (e7e7… runs an autocommit block first).
    const started = Date.now();
    const run = await mutx(['upgrade', 'slow_revision', '--timeout', '3'], { SLOW_REVISION_SECONDS: '60' });
    expect(run.exitCode, String(run.all)).toBe(124);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(String(run.stderr)).toMatch(/--timeout expired during upgrade slow_revision.*cancelled on the server/);
    // Gone on the server, not left running.
    expect(await sleeping()).toBe(0);
    expect(await versionRowsOf(db)).toEqual(['f00dfeedcafe']);
    expect((await db.query("SELECT to_regclass('public.slow_marker') IS NULL AS gone")).rows[0]!.gone).toBe(true);
    // The autocommit block had committed e7e7…'s index: it is flagged, not silently kept.
    expect(String((await mutx(['current'])).stdout)).toMatch(/HALF-APPLIED: non-transactional upgrade of e7e7e7e7e7e7/);
    const outcomes = await db.query("SELECT revision, outcome FROM mutx_ops.ledger WHERE revision IN ('e7e7e7e7e7e7', 'head_0012', 'slow_revision') AND outcome <> 'started' ORDER BY id");
    expect(outcomes.rows).toEqual([{ revision: 'slow_revision', outcome: 'timeout' }]);
    expect(await lockHeld()).toBe(false);
    expect(pythonChildren()).toEqual([]);
  }, 60_000);

  it('kill -9 of mutx-ops mid-run: its Python child dies with it, the server rolls back, the lock is free; the next run records the interruption', async () => {
    expect((await mutx(['upgrade', 'head_0012'])).exitCode).toBe(0);
    const run = mutx(['upgrade', 'slow_revision'], { SLOW_REVISION_SECONDS: '60' });
    await waitFor(async () => (await sleeping()) > 0 || undefined, 20_000);
    run.kill('SIGKILL');
    await run;
    await waitFor(() => (pythonChildren().length === 0 ? true : undefined), 5_000);
    // The server notices the dropped client within a second (client_connection_check_interval).
    await waitFor(async () => ((await sleeping()) === 0 ? true : undefined), 10_000);
    expect(await versionRowsOf(db)).toEqual(['head_0012']);
    expect(await appliedRows()).not.toContain('slow_revision');
    expect((await db.query("SELECT to_regclass('public.slow_marker') IS NULL AS gone")).rows[0]!.gone).toBe(true);
    expect(await lockHeld()).toBe(false);
    const next = await mutx(['current']);
    expect(next.exitCode).toBe(0);
    const trail = fs.readFileSync(path.join(project.dir, '.mutx-ops', 'audit.jsonl'), 'utf8');
    expect(trail).toMatch(/"action":"upgrade"[^\n]*"outcome":"interrupted"/);
  }, 60_000);

  it('kill -9 of the Python child mid-run: one line, exit 1, nothing half-recorded, and a rerun succeeds', async () => {
    expect((await mutx(['upgrade', 'head_0012'])).exitCode).toBe(0);
    const run = mutx(['upgrade', 'slow_revision'], { SLOW_REVISION_SECONDS: '60' });
    await waitFor(async () => (await sleeping()) > 0 || undefined, 20_000);
    for (const pid of pythonChildren()) process.kill(Number(pid), 'SIGKILL');
    const result = await run;
    expect(result.exitCode, String(result.all)).toBe(1);
    expect(String(result.stderr)).toMatch(/the Alembic runner stopped \(SIGKILL\) during upgrade slow_revision/);
    await waitFor(async () => ((await sleeping()) === 0 ? true : undefined), 10_000);
    expect(await versionRowsOf(db)).toEqual(['head_0012']);
    expect(await appliedRows()).not.toContain('slow_revision');
    expect(await lockHeld()).toBe(false);
    expect((await mutx(['upgrade', 'slow_revision'], { SLOW_REVISION_SECONDS: '0' })).exitCode).toBe(0);
    expect(await versionRowsOf(db)).toEqual(['slow_revision']);
  }, 60_000);
});

describe('authoring with Alembic', () => {
  it('autogenerate after mutx-ops ran proposes nothing about mutx-ops\' tables; mutx-ops revision --autogenerate writes the model change', async () => {
    const p = createAlembicProject();
    try {
      const cli = (args: string[]) => runCli(args, { cwd: p.dir, env: { DATABASE_URL: db.url } });
      expect((await cli(['upgrade', 'head'])).exitCode).toBe(0);
      // Plain Alembic, on the same database: the models match, mutx-ops' schema is not seen.
      const plain = await runAlembic(p, db.url, ['revision', '--autogenerate', '-m', 'nothing changed']);
      expect(plain.exitCode, String(plain.all)).toBe(0);
      const generated = fs.readdirSync(p.versionsDir).find((name) => name.includes('nothing_changed'))!;
      const text = fs.readFileSync(path.join(p.versionsDir, generated), 'utf8');
      expect(text).not.toMatch(/mutx_ops|ledger|drop_table/);
      expect(text).toMatch(/def upgrade\(\) -> None:\n {4}# ### commands auto generated by Alembic - please adjust! ###\n {4}pass/);
      fs.rmSync(path.join(p.versionsDir, generated));
      // A model change, through mutx-ops: Alembic writes it, mutx-ops names the file.
      const models = path.join(p.dir, 'src/api/models/models.py');
      fs.writeFileSync(models, fs.readFileSync(models, 'utf8').replace('    status = sa.Column(sa.String(20), server_default="idle", nullable=False)\n', '    status = sa.Column(sa.String(20), server_default="idle", nullable=False)\n    description = sa.Column(sa.Text, nullable=True)\n'));
      const created = await cli(['revision', '--autogenerate', '-m', 'add new field to agents']);
      expect(created.exitCode, String(created.all)).toBe(0);
      const file = /created (\S+_add_new_field_to_agents\.py)/.exec(String(created.stdout))?.[1];
      expect(file).toBeDefined();
      const written = fs.readFileSync(path.resolve(p.dir, file!), 'utf8');
      expect(written).toMatch(/op\.add_column\('agents', sa\.Column\('description', sa\.Text\(\), nullable=True\)\)/);
      expect(written).toMatch(/down_revision = 'head_0012'/);
      expect(String(created.stdout)).toMatch(/review it before you apply it: mutx-ops show \w+/);
      expect((await cli(['heads'])).stdout).not.toMatch(/^head_0012/);
      // And a merge through Alembic.
      fs.copyFileSync(path.join(p.versionsDir, 'head_0012_deployment_region.py'), path.join(p.versionsDir, 'side_branch.py'));
      fs.writeFileSync(path.join(p.versionsDir, 'side_branch.py'), fs.readFileSync(path.join(p.versionsDir, 'side_branch.py'), 'utf8').replace("revision = 'head_0012'", "revision = 'side_branch'"));
      const merged = await cli(['merge', '-m', 'merge heads']);
      expect(merged.exitCode, String(merged.all)).toBe(0);
      expect(String((await cli(['heads'])).stdout).split('\n')).toHaveLength(1);
    } finally {
      p.cleanup();
    }
  }, 60_000);
});
