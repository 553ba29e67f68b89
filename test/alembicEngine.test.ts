import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadProjectSettings } from '../src/core/config';
import { AlembicEngine } from '../src/core/migrations/engines/alembic';
import { readRevisionSource } from '../src/core/migrations/engines/alembic/revisionFile';
import { createAlembicProject, runAlembic, stateOf, versionRowsOf, VERSIONS, type AlembicProject } from './helpers/alembic';
import { createTestDatabase, runCli, waitFor, type TestDatabase } from './helpers/db';

// Two databases: mutx-ops works on `ours`, Alembic itself on `theirs`; after every command the
// version table and the schema must be the same.
let ours: TestDatabase;
let theirs: TestDatabase;
let project: AlembicProject;
const HEAD = 'head_0012';

beforeAll(async () => {
  [ours, theirs] = await Promise.all([createTestDatabase('mutx_alembic'), createTestDatabase('mutx_alembic_ref')]);
  project = createAlembicProject();
});
afterAll(async () => {
  await Promise.all([ours.drop(), theirs.drop()]);
  project.cleanup();
});
beforeEach(async () => {
  for (const db of [ours, theirs]) await db.query('DROP SCHEMA public CASCADE; DROP SCHEMA IF EXISTS mutx_ops CASCADE; CREATE SCHEMA public;');
});

const mutx = (args: string[], env: Record<string, string> = {}, cwd = project.dir) => runCli(args, { cwd, env: { DATABASE_URL: ours.url, ...env } });
const json = async (args: string[]) => {
  const result = await mutx(['--json', ...args]);
  return { ...result, body: JSON.parse(String(result.stdout)) };
};

async function both(args: string[]): Promise<void> {
  const [a, b] = await Promise.all([mutx(args), runAlembic(project, theirs.url, args)]);
  expect(a.exitCode, `mutx-ops ${args.join(' ')}: ${a.all}`).toBe(0);
  expect(b.exitCode, `alembic ${args.join(' ')}: ${b.all}`).toBe(0);
  const [mine, reference] = await Promise.all([stateOf(ours), stateOf(theirs)]);
  expect(mine.rows, `version table after ${args.join(' ')}`).toEqual(reference.rows);
  expect(mine.schema, `schema after ${args.join(' ')}`).toBe(reference.schema);
}

describe('reading an Alembic project as it is', () => {
  it('finds alembic.ini walking up, reads the graph without Python, and both readers agree on every file', async () => {
    // No interpreter at all: current/history/heads/show still work (the static reader).
    const noPython = { MUTX_PYTHON: '/nonexistent/python' };
    const sub = path.join(project.dir, 'src', 'api');
    const heads = await mutx(['heads'], noPython, sub);
    expect(heads.exitCode, String(heads.all)).toBe(0);
    expect(String(heads.stdout)).toBe(`${HEAD} (head) add region to deployments`);
    const history = await mutx(['--json', 'history'], noPython);
    const revisions = JSON.parse(String(history.stdout)).revisions as { revision: string; revises: string[]; branch_labels: string[]; depends_on: string[]; message: string }[];
    expect(revisions).toHaveLength(14);
    const current = await mutx(['current'], noPython);
    expect(current.exitCode, String(current.all)).toBe(0);
    expect(String(current.stdout)).toMatch(/nothing applied; 14 pending/);
    // A branch label names the revision declaring it; label@head the head its branch leads to.
    const show = await mutx(['show', 'billing'], noPython);
    expect(String(show.stdout)).toMatch(/Rev: b1_billing_001/);
    expect(String(show.stdout)).toMatch(/def upgrade\(\):\n {4}op\.create_table\('invoices'/);
    expect(String((await mutx(['show', 'billing@head'], noPython)).stdout)).toMatch(/Rev: head_0012/);

    // Alembic's own ScriptDirectory reads the same graph.
    const engine = new AlembicEngine(loadProjectSettings({ cwd: project.dir }));
    const fromAlembic = engine.alembicGraph();
    const byId = new Map(revisions.map((r) => [r.revision, r]));
    expect(fromAlembic.map((r) => r.revision).sort()).toEqual([...byId.keys()].sort());
    for (const r of fromAlembic) {
      const mine = byId.get(r.revision)!;
      expect(mine.revises, r.revision).toEqual(r.down_revision);
      expect(mine.branch_labels, r.revision).toEqual(r.branch_labels);
      expect(mine.depends_on, r.revision).toEqual(r.depends_on);
      expect(mine.message, r.revision).toBe(r.doc.replace(/\s*\n\s*/g, ' '));
    }
  });

  it('reads the forms real revision files use, and asks Alembic about values only Python can compute', () => {
    const read = (source: string) => readRevisionSource(source, 'x.py');
    expect(read(`"""m"""\nrevision = 'a1'\ndown_revision = None\n`)).toMatchObject({ revision: 'a1', revises: [] });
    expect(read(`revision: str = "a1"\ndown_revision: Union[str, Sequence[str], None] = (\n    'p1',  # one\n    "p2",\n)\n`)).toMatchObject({ revises: ['p1', 'p2'] });
    expect(read(`revision = 'a1'\ndown_revision = ('p1')\n`)).toMatchObject({ revises: ['p1'] });
    expect(read(`revision = 'a1'\ndown_revision = 'p1', 'p2'\nbranch_labels = ['x']\ndepends_on = ('d',)\n`)).toMatchObject({ revises: ['p1', 'p2'], branchLabels: ['x'], dependsOn: ['d'] });
    expect(read(`revision = 'a1'\ndown_revision = \\\n  'p1'\n`)).toMatchObject({ revises: ['p1'] });
    // A docstring that mentions "revision = 'zz'" is not the assignment.
    expect(read(`"""first paragraph\nline two\n\nrevision = 'zz'\n"""\nrevision = 'a1'\ndown_revision = None\n`)).toMatchObject({ revision: 'a1', message: 'first paragraph line two' });
    // Values only Python can evaluate: the static reader says so (Alembic is asked instead).
    expect(read(`PARENT = 'p1'\nrevision = 'a1'\ndown_revision = PARENT\n`)).toMatchObject({ reason: expect.stringMatching(/not a literal/) });
    expect(read(`revision, down_revision = 'a1', None\n`)).toMatchObject({ reason: expect.stringMatching(/only Python/) });
    expect(read(`revision = 'a1'\ndown_revision = None\nif True:\n    down_revision = 'x'\n`)).toMatchObject({ reason: expect.stringMatching(/inside a block/) });
    expect(read(`revision = 'a1'\ndown_revision = None\ndef upgrade():\n    with op.get_context().autocommit_block():\n        pass\n`)).toMatchObject({ transactional: false });
    expect(() => read(`revision = 'a1'\ndown_revision = (\n`)).toThrow(/x\.py:2: SyntaxError: '\(' was never closed/);
  });

  it('a file the static reader cannot evaluate is read by Alembic, and the graph is still right', async () => {
    const p = createAlembicProject();
    try {
      const file = path.join(p.versionsDir, 'head_0012_deployment_region.py');
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace("down_revision = 'e7e7e7e7e7e7'", "PARENT = 'e7e7' + 'e7e7e7e7'\ndown_revision = PARENT"));
      const history = await runCli(['--json', 'show', HEAD], { cwd: p.dir, env: { DATABASE_URL: ours.url } });
      expect(history.exitCode, String(history.all)).toBe(0);
      expect(JSON.parse(String(history.stdout))).toMatchObject({ revision: HEAD, revises: ['e7e7e7e7e7e7'] });
    } finally {
      p.cleanup();
    }
  });
});

describe('commands mean what they mean to Alembic (checked against alembic on a second database)', () => {
  it('upgrade/downgrade to prefixes, +N, branch labels, depends_on, heads, ID-N, base; stamp keeps other branches', async () => {
    await both(['upgrade', '3f2a']);
    await both(['upgrade', '+1']);
    await both(['upgrade', '4b2c9d1e8f7a6']);
    await both(['upgrade', 'billing']);
    await both(['upgrade', 'billing@+1']);
    // depends_on: the audit log needs the ops branch, which comes along (and its row is replaced).
    await both(['upgrade', '9d8c7b6a5f4e']);
    expect(await versionRowsOf(ours)).toEqual(['7a7a7a7a7a7a', '9d8c7b6a5f4e']);
    await both(['downgrade', 'b1_billing_001']);
    await both(['upgrade', 'heads']);
    await both(['downgrade', '-1']);
    await both(['downgrade', 'e7e7e7e7e7e7-1']);
    await both(['upgrade', 'e7e7e7e7e7e7+1']);
    await both(['downgrade', 'base']);
    await both(['stamp', '5e6f7a8b9c0d']);
    await both(['stamp', 'ops_base_01']);
    expect(await versionRowsOf(ours)).toEqual(['5e6f7a8b9c0d', 'ops_base_01']);
    await both(['stamp', 'head']);
    await both(['stamp', '--purge', 'auth_fields_001']);
    await both(['stamp', 'base']);
    // The ledger agrees with the version table: every applied revision has its checksum.
    const ledger = await ours.query<{ outcomes: string }>("SELECT string_agg(DISTINCT outcome, ',' ORDER BY outcome) AS outcomes FROM mutx_ops.ledger");
    expect(ledger.rows[0]!.outcomes).toBe('applied,reverted,stamped,started');
  }, 120_000);

  it('refuses what Alembic refuses, with Alembic\'s reason, as bad input (exit 2) that changes nothing', async () => {
    await both(['upgrade', 'auth_fields_001']);
    for (const [args, reason] of [
      [['upgrade', '+1'], /Ambiguous walk/],
      [['upgrade', 'nope'], /Can't locate revision identified by 'nope'/],
      [['downgrade', '+1'], /./],
    ] as const) {
      const before = await stateOf(ours);
      const result = await mutx([...args]);
      expect(result.exitCode, String(result.all)).toBe(2);
      expect(String(result.stderr)).toMatch(reason);
      expect(String(result.stderr).split('\n').filter(Boolean)).toHaveLength(1);
      expect(await stateOf(ours)).toEqual(before);
    }
  });

  it('upgrade --sql prints Alembic\'s offline SQL for the same plan and touches nothing', async () => {
    await both(['upgrade', 'auth_fields_001']);
    const before = await stateOf(ours);
    // Alembic picks merge rows from a set: the same hash seed gives both runs the same order.
    const offline = await mutx(['upgrade', 'head', '--sql'], { PYTHONHASHSEED: '0' });
    expect(offline.exitCode, String(offline.all)).toBe(0);
    const reference = await execa('alembic', ['upgrade', 'auth_fields_001:head', '--sql'], { cwd: project.dir, env: { DATABASE_URL: theirs.url, PYTHONHASHSEED: '0' } });
    const strip = (sql: string) => sql.split('\n').filter((line) => !/^INFO|^-- Running/.test(line)).join('\n').trim();
    expect(strip(String(offline.stdout))).toBe(strip(String(reference.stdout)));
    expect(String(offline.stdout)).toMatch(/CREATE TABLE teams/);
    expect(await stateOf(ours)).toEqual(before);
  });
});

describe('what mutx-ops adds on an Alembic project', () => {
  it('adopts revisions Alembic applied, then refuses an edited applied file until --accept-changed', async () => {
    const p = createAlembicProject();
    try {
      expect((await runAlembic(p, ours.url, ['upgrade', '4b2c9d1e8f7a6'])).exitCode).toBe(0);
      const cli = (args: string[]) => runCli(args, { cwd: p.dir, env: { DATABASE_URL: ours.url } });
      const up = await cli(['upgrade', 'billing@head']);
      expect(up.exitCode, String(up.all)).toBe(0);
      const adopted = await ours.query("SELECT revision FROM mutx_ops.ledger WHERE outcome = 'adopted' ORDER BY revision");
      expect(adopted.rows.map((r) => r.revision)).toEqual(['3f2a9c1b7d4e', '4b2c9d1e8f7a6', 'auth_fields_001']);
      const file = path.join(p.versionsDir, 'auth_fields_001_add_auth_fields.py');
      fs.appendFileSync(file, '\n# edited after it was applied\n');
      const refused = await cli(['upgrade', 'heads']);
      expect(refused.exitCode).toBe(3);
      expect(String(refused.stderr)).toMatch(/auth_fields_001_add_auth_fields\.py: applied revision auth_fields_001 was changed after it was applied/);
      const check = await cli(['check']);
      expect(check.exitCode).toBe(3);
      expect((await cli(['upgrade', 'heads', '--accept-changed', 'auth_fields_001'])).exitCode).toBe(0);
      expect(await versionRowsOf(ours)).toEqual([HEAD]);
    } finally {
      p.cleanup();
    }
  });

  it('with env.py in one transaction a failing revision rolls the whole run back; with transaction_per_migration only it', async () => {
    for (const perMigration of [false, true]) {
      await ours.query('DROP SCHEMA public CASCADE; DROP SCHEMA IF EXISTS mutx_ops CASCADE; CREATE SCHEMA public;');
      const p = createAlembicProject({ perMigration });
      try {
        const file = path.join(p.versionsDir, '4b2c9d1e8f7a6_add_teams.py');
        fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace("    op.drop_constraint('users_team_id_fkey'", "    op.drop_constraint('users_team_id_fkey'").replace("def upgrade() -> None:\n", "def upgrade() -> None:\n    op.execute('SELECT * FROM no_such_table')\n"));
        const run = await runCli(['upgrade', '4b2c9d1e8f7a6'], { cwd: p.dir, env: { DATABASE_URL: ours.url } });
        expect(run.exitCode).toBe(1);
        expect(String(run.stderr)).toMatch(/upgrade 4b2c9d1e8f7a6 failed at .*4b2c9d1e8f7a6_add_teams\.py:\d+: relation "no_such_table" does not exist/);
        expect(String(run.stderr)).not.toMatch(/Traceback/);
        const rows = await versionRowsOf(ours);
        const applied = (await ours.query("SELECT revision FROM mutx_ops.ledger WHERE outcome = 'applied' ORDER BY id")).rows.map((r) => r.revision);
        const failed = (await ours.query("SELECT revision FROM mutx_ops.ledger WHERE outcome = 'failed'")).rows.map((r) => r.revision);
        expect(failed).toEqual(['4b2c9d1e8f7a6']);
        if (perMigration) {
          expect(rows).toEqual(['auth_fields_001']);
          expect(applied).toEqual(['3f2a9c1b7d4e', 'auth_fields_001']);
        } else {
          expect(rows).toEqual([]);
          expect(applied).toEqual([]);
          expect((await ours.query("SELECT to_regclass('public.users') IS NULL AS gone")).rows[0]!.gone).toBe(true);
        }
        const debug = await runCli(['--debug', 'upgrade', '4b2c9d1e8f7a6'], { cwd: p.dir, env: { DATABASE_URL: ours.url } });
        expect(String(debug.stderr)).toMatch(/Traceback/);
      } finally {
        p.cleanup();
      }
    }
  });

  it('an autocommit_block revision interrupted mid-way is flagged half-applied until reconcile', async () => {
    await both(['upgrade', 'f00dfeedcafe']);
    const file = path.join(project.versionsDir, 'e7e7e7e7e7e7_index_deployments_concurrently.py');
    const original = fs.readFileSync(file, 'utf8');
    try {
      fs.writeFileSync(file, original.replace('ON deployments (created_at)")', 'ON deployments (created_at)")\n        op.execute("SELECT 1/0")'));
      const failed = await mutx(['upgrade', 'head']);
      expect(failed.exitCode).toBe(1);
      expect(String(failed.stderr)).toMatch(/e7e7e7e7e7e7 ran outside a transaction and is half-applied: `mutx-ops reconcile`/);
      expect((await mutx(['check'])).exitCode).toBe(3);
      expect(String((await mutx(['current'])).stdout)).toMatch(/HALF-APPLIED: non-transactional upgrade of e7e7e7e7e7e7/);
      const refused = await mutx(['downgrade', '-1']);
      expect(refused.exitCode).toBe(3);
      fs.writeFileSync(file, original);
      const reconciled = await mutx(['reconcile']);
      expect(reconciled.exitCode, String(reconciled.all)).toBe(0);
      expect((await ours.query("SELECT to_regclass('public.ix_deployments_created_at') IS NULL AS gone")).rows[0]!.gone).toBe(true);
      await both(['upgrade', 'head']);
      expect((await mutx(['check'])).exitCode).toBe(0);
    } finally {
      fs.writeFileSync(file, original);
    }
  }, 90_000);
});

describe('a revision that ends the transaction (issue 15, item 1)', () => {
  it('op.execute("COMMIT") inside a revision: the run stops before the next revision, and the ledger says what is committed', async () => {
    const p = createAlembicProject();
    try {
      rewrite(p, '4b2c9d1e8f7a6_add_teams.py', "    op.add_column('users', sa.Column('team_id'", "    op.execute('COMMIT')\n    op.add_column('users', sa.Column('team_id'");
      const run = await runCli(['upgrade', 'head'], { cwd: p.dir, env: { DATABASE_URL: ours.url } });
      expect(run.exitCode, String(run.all)).toBe(1);
      expect(String(run.stderr)).toMatch(/4b2c9d1e8f7a6 ended the transaction it ran in .*stopped before the next revision — nothing is half-applied/);
      // Committed by the COMMIT and by the statements after it: the revision and those before it.
      expect(await versionRowsOf(ours)).toEqual(['4b2c9d1e8f7a6', 'd1_agent_tags', 'ops_base_01']);
      const applied = (await ours.query("SELECT revision FROM mutx_ops.ledger WHERE outcome = 'applied' ORDER BY id")).rows.map((r) => r.revision);
      expect(applied).toContain('4b2c9d1e8f7a6');
      expect((await runCli(['check'], { cwd: p.dir, env: { DATABASE_URL: ours.url } })).stdout).not.toMatch(/half-applied/);
      // A failure after its own COMMIT leaves part of the revision committed: half-applied.
      rewrite(p, '5e6f7a8b9c0d_add_webhooks.py', "    op.create_table('webhooks',", "    op.execute('CREATE TABLE early_part (id int)')\n    op.execute('COMMIT')\n    op.execute('SELECT 1/0')\n    op.create_table('webhooks',");
      const failed = await runCli(['upgrade', '5e6f7a8b9c0d'], { cwd: p.dir, env: { DATABASE_URL: ours.url } });
      expect(failed.exitCode, String(failed.all)).toBe(1);
      const current = await runCli(['current'], { cwd: p.dir, env: { DATABASE_URL: ours.url } });
      expect(String(current.stdout)).toMatch(/HALF-APPLIED: .*upgrade of 5e6f7a8b9c0d/);
      expect((await ours.query("SELECT to_regclass('public.early_part') IS NOT NULL AS kept")).rows[0]!.kept).toBe(true);
    } finally {
      p.cleanup();
    }
  });
});

describe('bad input: one line, file:line, a documented exit code, nothing changed', () => {
  const cases: { name: string; edit: (p: AlembicProject) => void; args?: string[]; exit: number; message: RegExp }[] = [
    { name: 'a syntax error in a revision', edit: (p) => fs.appendFileSync(path.join(p.versionsDir, 'head_0012_deployment_region.py'), '\ndef broken(:\n'), exit: 2, message: /head_0012_deployment_region\.py:\d+: SyntaxError/ },
    { name: 'a down_revision naming no revision', edit: (p) => rewrite(p, 'head_0012_deployment_region.py', "down_revision = 'e7e7e7e7e7e7'", "down_revision = 'missing_parent'"), exit: 2, message: /head_0012_deployment_region\.py:\d+: revision head_0012 revises unknown revision missing_parent/ },
    { name: 'two files with one id', edit: (p) => fs.copyFileSync(path.join(p.versionsDir, 'head_0012_deployment_region.py'), path.join(p.versionsDir, 'copy_of_head.py')), exit: 2, message: /duplicate revision head_0012/ },
    { name: 'a cycle', edit: (p) => rewrite(p, '3f2a9c1b7d4e_initial_schema.py', 'down_revision = None', "down_revision = 'head_0012'"), exit: 2, message: /revisions form a cycle/ },
    { name: 'env.py raising at import', edit: (p) => rewrite(p, 'env.py', 'config = context.config\n', 'config = context.config\nraise RuntimeError("settings module is broken")\n'), exit: 2, message: /env\.py:\d+: .*RuntimeError: settings module is broken/ },
    { name: 'a revision raising in upgrade()', edit: (p) => rewrite(p, '3f2a9c1b7d4e_initial_schema.py', "def upgrade() -> None:\n", "def upgrade() -> None:\n    raise ValueError('bad data in upgrade')\n"), exit: 1, message: /upgrade 3f2a9c1b7d4e failed at .*3f2a9c1b7d4e_initial_schema\.py:\d+: ValueError: bad data in upgrade/ },
    { name: 'env.py reaching another database', edit: (p) => rewrite(p, 'env.py', 'section["sqlalchemy.url"] = get_database_url()', `section["sqlalchemy.url"] = "${'__OTHER__'}"`), exit: 2, message: /env\.py connected to database "mutx_alembic_ref_\w+" .*not the target .*refusing to run/ },
  ];
  for (const testCase of cases) {
    it(testCase.name, async () => {
      const p = createAlembicProject();
      try {
        testCase.edit(p);
        if (fs.readFileSync(p.envPy, 'utf8').includes('__OTHER__')) fs.writeFileSync(p.envPy, fs.readFileSync(p.envPy, 'utf8').replace('__OTHER__', theirs.url));
        const before = await stateOf(ours);
        const result = await runCli(testCase.args ?? ['upgrade', 'head'], { cwd: p.dir, env: { DATABASE_URL: ours.url } });
        expect(result.exitCode, String(result.all)).toBe(testCase.exit);
        const lines = String(result.stderr).split('\n').filter((line) => line.startsWith('mutx-ops:'));
        expect(lines, String(result.stderr)).toHaveLength(1);
        expect(lines[0]).toMatch(testCase.message);
        expect(String(result.stderr)).not.toMatch(/Traceback|at .*\.js:\d+/);
        const after = await stateOf(ours);
        expect(after.rows).toEqual(before.rows);
        expect(after.schema).toBe(before.schema);
        expect(await stateOf(theirs)).toMatchObject({ rows: [] });
      } finally {
        p.cleanup();
      }
    });
  }

  it('--migrations pointed at an Alembic versions folder says what it holds instead of printing nothing', async () => {
    const result = await mutx(['--migrations', project.versionsDir, 'heads']);
    expect(result.exitCode).toBe(2);
    expect(String(result.stderr)).toMatch(/versions holds Alembic revision files \(\.py\), not mutx-ops SQL files — run mutx-ops inside the project that has alembic\.ini/);
  });

  it('a broken downgrade (re-creating a type its upgrade never dropped) fails at its file:line and rolls back', async () => {
    const p = createAlembicProject({ extras: ['plan_enum_001_add_user_plan.py', 'alter_plan_column.py'] });
    try {
      const cli = (args: string[]) => runCli(args, { cwd: p.dir, env: { DATABASE_URL: ours.url } });
      expect((await cli(['upgrade', 'head'])).exitCode).toBe(0);
      const before = await stateOf(ours);
      const down = await cli(['downgrade', '-1']);
      expect(down.exitCode, String(down.all)).toBe(1);
      expect(String(down.stderr)).toMatch(/downgrade alter_plan_column failed at .*alter_plan_column\.py:\d+: type "plan" already exists/);
      expect(await stateOf(ours)).toEqual(before);
    } finally {
      p.cleanup();
    }
  });

  it('no Python that can import alembic: one line naming what was tried and how to point at one', async () => {
    const result = await mutx(['upgrade', 'head'], { MUTX_PYTHON: '/nonexistent/python3' });
    expect(result.exitCode).toBe(2);
    expect(String(result.stderr)).toMatch(/no Python that can import alembic was found — tried \/nonexistent\/python3 \(MUTX_PYTHON\).*alembic\.python in mutx-ops\.yaml/);
    expect(await versionRowsOf(ours)).toEqual([]);
  });

  it('an Alembic older than supported is named with the versions that are', async () => {
    const fake = fs.mkdtempSync(path.join(path.dirname(project.dir), 'mutx-oldalembic-'));
    try {
      fs.mkdirSync(path.join(fake, 'alembic'));
      fs.writeFileSync(path.join(fake, 'alembic', '__init__.py'), "__version__ = '1.0.7'\n");
      const python = path.join(fake, 'python');
      fs.writeFileSync(python, `#!/bin/sh\nPYTHONPATH=${fake} exec /usr/bin/python3 "$@"\n`, { mode: 0o755 });
      const result = await mutx(['upgrade', 'head'], { MUTX_PYTHON: python });
      expect(result.exitCode).toBe(2);
      expect(String(result.stderr)).toMatch(/has Alembic 1\.0\.7; mutx-ops needs 1\.6 or newer \(tested with 1\.8\)/);
    } finally {
      fs.rmSync(fake, { recursive: true, force: true });
    }
  });
});

function rewrite(p: AlembicProject, name: string, from: string, to: string): void {
  const file = name === 'env.py' ? p.envPy : path.join(p.versionsDir, name);
  const text = fs.readFileSync(file, 'utf8');
  if (!text.includes(from)) throw new Error(`${name} does not contain ${from}`);
  fs.writeFileSync(file, text.replace(from, to));
}

void VERSIONS;
void waitFor;
void json;
