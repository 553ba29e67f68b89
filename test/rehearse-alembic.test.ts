import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminQuery, ADMIN_URL, createTestDatabase, runCli as runBin, type TestDatabase } from './helpers/db';
import { createAlembicProject, SYSTEM_PYTHON, type AlembicProject } from './helpers/alembic';

/**
 * `mutx-ops rehearse` on an Alembic project: the same plan runs through Alembic itself (the
 * project's env.py) on the copy; the fixture's alter_plan_column has a downgrade that re-creates
 * an enum type its upgrade never dropped — the rehearsal says so with the file:line before an
 * incident does, and the record shows it in `history -v` and `current -v`.
 */
let db: TestDatabase;
let project: AlembicProject;
const env = { MUTX_PYTHON: SYSTEM_PYTHON };

async function runCli(args: string[]) {
  const result = await runBin(['--database-url', db.url, ...args], { cwd: project.dir, env });
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

async function writeCounters(): Promise<string> {
  const rows = await db.query<{ w: string }>("SELECT string_agg(format('%s=%s/%s/%s', relname, n_tup_ins, n_tup_upd, n_tup_del), ',' ORDER BY relname) AS w FROM pg_stat_user_tables");
  return rows.rows[0]!.w;
}

beforeAll(async () => {
  db = await createTestDatabase('mutx_rh_alembic');
  project = createAlembicProject({ extras: ['plan_enum_001_add_user_plan.py', 'alter_plan_column.py'] });
  const up = await runCli(['upgrade', 'plan_enum_001']);
  expect(up.exitCode, up.stderr).toBe(0);
  const role = (await db.query<{ r: string }>('SELECT (enum_range(NULL::user_role))[1]::text AS r')).rows[0]!.r;
  await db.query(`INSERT INTO users (email, role) SELECT 'u' || g || '@x', $1::user_role FROM generate_series(1, 20000) g`, [role]);
});

afterAll(async () => {
  await db?.drop();
  project?.cleanup();
});

describe('rehearse (Alembic engine)', () => {
  it('the upgrade rehearses through Alembic with the lock it takes on users, and the target is untouched', async () => {
    const before = await writeCounters();
    const result = await runCli(['--json', 'rehearse', 'upgrade', 'head', '--with-data']);
    expect(result.exitCode, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    const step = report.steps.find((s: { revision: string }) => s.revision === 'alter_plan_column');
    expect(step.outcome).toBe('ok');
    expect(step.locks[0]).toMatchObject({ relation: 'public.users', mode: 'AccessExclusiveLock' });
    expect(await writeCounters()).toBe(before);
    expect((await db.query('SELECT version_num FROM alembic_version')).rows).toEqual([{ version_num: 'plan_enum_001' }]);
  });

  it('the round trip finds the broken downgrade: file:line and the server error, exit 1', async () => {
    const result = await runCli(['rehearse', 'upgrade', 'head', '--round-trip']);
    expect(result.exitCode, result.stderr).toBe(1);
    expect(result.stdout).toMatch(/round trip: inverse:\n\s+downgrade alter_plan_column FAILED/);
    expect(result.stdout).toContain('src/api/models/migrations/versions/alter_plan_column.py:25: type "plan" already exists');
    const history = await runCli(['history', '-v']);
    expect(history.stdout).toMatch(/Rev: alter_plan_column[\s\S]*?Rehearsal: upgrade rehearsed ok \d+ s ago; downgrade FAILS: type "plan" already exists at src\/api\/models\/migrations\/versions\/alter_plan_column\.py:25/);
  });

  it('a downgrade rehearsal at head fails the same way; --scratch-url on another database of the server works', async () => {
    const up = await runCli(['upgrade', 'head']);
    expect(up.exitCode, up.stderr).toBe(0);
    const result = await runCli(['--json', 'rehearse', 'downgrade', '-1', '--scratch-url', ADMIN_URL]);
    expect(result.exitCode, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout);
    expect(report.scratch.origin).toBe('scratch-url');
    expect(report.steps[0]).toMatchObject({ revision: 'alter_plan_column', direction: 'downgrade', outcome: 'failed', where: 'src/api/models/migrations/versions/alter_plan_column.py:25' });
    expect(report.steps[0].statement).toMatch(/CREATE TYPE plan/);
    const current = await runCli(['current', '-v']);
    expect(current.stdout).toMatch(/Rehearsal: upgrade rehearsed ok \d+ s ago; downgrade FAILS: type "plan" already exists at src\/api\/models\/migrations\/versions\/alter_plan_column\.py:25/);
    expect((await adminQuery<{ datname: string }>("SELECT datname FROM pg_database WHERE starts_with(datname, 'mutx_rehearse_')")).rows.map((r) => r.datname)).not.toContain(report.scratch.database);
  });
});
