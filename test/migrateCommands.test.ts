import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readMigrationDir } from '../src/core/migrations/engines/sql/file';
import { RevisionGraph } from '../src/core/migrations/graph';
import { createTestDatabase, createTestProject, runCli, schemaDump, MUTX_MIGRATIONS, type TestDatabase, type TestProject } from './helpers/db';

const graph = RevisionGraph.build(readMigrationDir(MUTX_MIGRATIONS));
const order = graph.order;
const head = graph.heads()[0]!;
const merge = order.find((id) => graph.get(id).revises.length > 1)!;
const branchPoint = order.find((id) => graph.children.get(id)!.length > 1)!;

let db: TestDatabase;
let project: TestProject;

beforeAll(async () => {
  db = await createTestDatabase();
  project = createTestProject();
});
afterAll(async () => {
  await db.drop();
  project.cleanup();
});
beforeEach(async () => {
  // Start every test at base with a clean slate.
  await db.query('DROP SCHEMA public CASCADE; DROP SCHEMA IF EXISTS mutx_ops CASCADE; CREATE SCHEMA public;');
});

const cli = (...args: string[]) => runCli(['--database-url', db.url, ...args], { cwd: project.dir });
const json = async (...args: string[]) => {
  const result = await cli('--json', ...args);
  return { ...result, body: JSON.parse(String(result.stdout)) };
};
const versionRows = async () => (await db.query<{ version_num: string }>('SELECT version_num FROM alembic_version ORDER BY 1')).rows.map((r) => r.version_num);

describe('upgrade / downgrade targets', () => {
  it('upgrade head applies everything, check passes, ledger and version table agree', async () => {
    const up = await cli('upgrade', 'head');
    expect(up.exitCode, String(up.all)).toBe(0);
    expect(await versionRows()).toEqual([head]);
    // The non-transactional revision also has its 'started' marker, settled by the 'applied' row after it.
    const started = await db.query<{ revision: string }>("SELECT revision FROM mutx_ops.ledger WHERE outcome = 'started'");
    expect(started.rows.map((r) => r.revision)).toEqual(order.filter((id) => !graph.get(id).transactional));
    const ledger = await db.query<{ revision: string; outcome: string; checksum: string; operator: string }>("SELECT revision, outcome, checksum, operator FROM mutx_ops.ledger WHERE direction = 'upgrade' AND outcome <> 'started' ORDER BY id");
    expect(ledger.rows.map((r) => r.revision)).toEqual(order);
    expect(ledger.rows.every((r) => r.outcome === 'applied' && r.operator === 'tester')).toBe(true);
    expect(ledger.rows[0]!.checksum).toBe(graph.get(order[0]!).checksum);
    const check = await cli('check');
    expect(check.exitCode).toBe(0);
    const current = await json('current');
    expect(current.body.current).toEqual([head]);
  });

  it('+N, ID, prefix, ID+N, -N, ID-N and base move exactly as far as asked', async () => {
    expect((await cli('upgrade', '+2')).exitCode).toBe(0);
    expect(await versionRows()).toEqual([order[1]]);
    expect((await cli('upgrade', order[3]!.slice(0, 6))).exitCode).toBe(0);
    expect(await versionRows()).toEqual([order[3]]);
    expect((await cli('upgrade', `${order[3]}+1`)).exitCode).toBe(0);
    expect(await versionRows()).toEqual([order[4]]);
    expect((await cli('downgrade', '-2')).exitCode).toBe(0);
    expect(await versionRows()).toEqual([order[2]]);
    expect((await cli('downgrade', `${order[2]}-1`)).exitCode).toBe(0);
    expect(await versionRows()).toEqual([order[1]]);
    expect((await cli('downgrade', 'base')).exitCode).toBe(0);
    expect(await versionRows()).toEqual([]);
    const tables = await db.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tablename NOT IN ('alembic_version', 'mutx_ops_ledger', 'mutx_ops_audit')");
    expect(tables.rows[0]!.n).toBe(0);
  });

  it('heads applies every branch; a branch point needs a named target for +1', async () => {
    expect((await cli('upgrade', branchPoint)).exitCode).toBe(0);
    const ambiguous = await cli('upgrade', '+1');
    expect(ambiguous.exitCode).toBe(2);
    expect(String(ambiguous.stderr)).toMatch(/ambiguous/);
    const [left, right] = graph.get(merge).revises;
    expect((await cli('upgrade', left!)).exitCode).toBe(0);
    expect(await versionRows()).toEqual([left]);
    expect((await cli('upgrade', right!)).exitCode).toBe(0);
    // Two heads applied side by side: one version row each, as Alembic keeps them.
    expect(await versionRows()).toEqual([left, right].sort());
    expect((await cli('upgrade', 'heads')).exitCode).toBe(0);
    expect(await versionRows()).toEqual([head]);
    // Downgrading to one side of the merge removes the merge and everything above, keeps the other branch.
    expect((await cli('downgrade', left!)).exitCode).toBe(0);
    expect(await versionRows()).toEqual([left, right].sort());
  });

  it('unknown and ambiguous revisions are bad input (exit 2) and change nothing', async () => {
    const unknown = await cli('upgrade', 'deadbeef0000');
    expect(unknown.exitCode).toBe(2);
    expect(String(unknown.stderr)).toMatch(/unknown revision "deadbeef0000"/);
    const negative = await cli('upgrade', '-1');
    expect(negative.exitCode).toBe(2);
    const notApplied = await cli('downgrade', order[3]!);
    expect(notApplied.exitCode).toBe(2);
    expect(String(notApplied.stderr)).toMatch(/is not applied/);
    expect(String(unknown.all)).not.toMatch(/\n\s+at /);
  });

  it('upgrade → downgrade base → upgrade leaves an identical catalog', async () => {
    expect((await cli('upgrade', 'head')).exitCode).toBe(0);
    const first = await schemaDump(db.url);
    expect((await cli('downgrade', 'base')).exitCode).toBe(0);
    expect((await cli('upgrade', 'head')).exitCode).toBe(0);
    expect(await schemaDump(db.url)).toBe(first);
    expect(first).toContain('CREATE TABLE public.agents');
  });

  it('--single-transaction refuses a plan with a non-transactional file, and works below it', async () => {
    const nonTx = order.find((id) => !graph.get(id).transactional)!;
    const refused = await cli('upgrade', 'head', '--single-transaction');
    expect(refused.exitCode).toBe(2);
    expect(String(refused.stderr)).toMatch(/transactional: false/);
    expect(await versionRows()).toEqual([]);
    const before = graph.get(nonTx).revises[0]!;
    expect((await cli('upgrade', before, '--single-transaction')).exitCode).toBe(0);
    expect(await versionRows()).toEqual([before]);
  });
});

describe('--sql', () => {
  it('prints every statement including version-table rows and touches nothing', async () => {
    const before = await schemaDump(db.url);
    const result = await cli('upgrade', 'head', '--sql');
    expect(result.exitCode).toBe(0);
    const sql = String(result.stdout);
    expect(sql).toContain('CREATE TABLE IF NOT EXISTS "public"."alembic_version"');
    expect(sql).toContain(`INSERT INTO "public"."alembic_version" (version_num) VALUES ('${order[0]}')`);
    expect(sql).toContain(`UPDATE "public"."alembic_version" SET version_num='${head}'`);
    expect(sql).toMatch(/CREATE INDEX CONCURRENTLY/);
    expect(await schemaDump(db.url)).toBe(before);
    const tables = await db.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'");
    expect(tables.rows[0]!.n).toBe(0);
  });
});

describe('stamp, drift and unknown revisions', () => {
  it('stamp moves only the version table; --purge clears unknown rows', async () => {
    expect((await cli('stamp', order[2]!)).exitCode).toBe(0);
    expect(await versionRows()).toEqual([order[2]]);
    const tables = await db.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tablename = 'users'");
    expect(tables.rows[0]!.n).toBe(0);
    await db.query("INSERT INTO alembic_version VALUES ('f00f00f00f00')");
    const current = await cli('current');
    expect(current.exitCode).toBe(2);
    expect(String(current.stderr)).toMatch(/revision f00f00f00f00, which no migration file knows.*stamp/);
    expect((await cli('stamp', 'base')).exitCode).toBe(2);
    expect((await cli('stamp', 'base', '--purge')).exitCode).toBe(0);
    expect(await versionRows()).toEqual([]);
  });

  it('refuses to build on a changed applied file until --accept-changed records it', async () => {
    const drifted = createTestProject();
    try {
      const run = (...args: string[]) => runCli(['--database-url', db.url, ...args], { cwd: drifted.dir });
      expect((await run('upgrade', order[1]!)).exitCode).toBe(0);
      const file = fs.readdirSync(drifted.migrationsDir).find((name) => name.startsWith(order[0]!))!;
      const full = path.join(drifted.migrationsDir, file);
      fs.writeFileSync(full, fs.readFileSync(full, 'utf8').replace('-- +downgrade', 'CREATE TABLE sneaky (id int);\n\n-- +downgrade'));
      const check = await run('check');
      expect(check.exitCode).toBe(3);
      expect(String(check.stdout)).toMatch(new RegExp(`changed since applied: ${order[0]}`));
      const refused = await run('upgrade', 'head');
      expect(refused.exitCode).toBe(3);
      expect(String(refused.stderr)).toContain(file);
      expect(await versionRows()).toEqual([order[1]]);
      const accepted = await run('upgrade', 'head', '--accept-changed', order[0]!);
      expect(accepted.exitCode, String(accepted.all)).toBe(0);
      expect(await versionRows()).toEqual([head]);
      const rows = await db.query("SELECT revision FROM mutx_ops.ledger WHERE direction = 'accept-changed'");
      expect(rows.rows.map((r) => r.revision)).toEqual([order[0]]);
      const audit = fs.readFileSync(drifted.auditPath, 'utf8');
      expect(audit).toContain('"action":"accept-changed"');
    } finally {
      drifted.cleanup();
    }
  });

  it('takes over an Alembic-managed database and records checksums from then on', async () => {
    // What Alembic leaves behind: its version table and the schema, no ledger.
    await db.query('CREATE TABLE alembic_version (version_num varchar(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))');
    await db.query(`INSERT INTO alembic_version VALUES ('${order[0]}')`);
    await db.query(graph.get(order[0]!).upgrade.sql);
    const up = await cli('upgrade', 'head');
    expect(up.exitCode, String(up.all)).toBe(0);
    const adopted = await db.query("SELECT revision FROM mutx_ops.ledger WHERE outcome = 'adopted'");
    expect(adopted.rows.map((r) => r.revision)).toEqual([order[0]]);
  });

  it('moves the ledger and audit mirror an older mutx-ops kept in public into the mutx_ops schema, audited, and only when it writes', async () => {
    // The tables as mutx-ops 0.1 created them beside the version table (it had no audit_head).
    await cli('upgrade', order[1]!);
    await db.query('ALTER TABLE mutx_ops.ledger SET SCHEMA public; ALTER TABLE public.ledger RENAME TO mutx_ops_ledger; ALTER TABLE mutx_ops.audit SET SCHEMA public; ALTER TABLE public.audit RENAME TO mutx_ops_audit; DROP TABLE mutx_ops.audit_head; DROP SCHEMA mutx_ops');
    const before = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM public.mutx_ops_ledger');
    // Reading (current, check) uses the old table where it is and moves nothing.
    const current = await json('current', '-v');
    expect(current.body.current).toEqual([order[1]]);
    expect((await db.query("SELECT to_regclass('public.mutx_ops_ledger') IS NOT NULL AS old")).rows[0]!.old).toBe(true);
    const up = await cli('upgrade', 'head');
    expect(up.exitCode, String(up.all)).toBe(0);
    expect(String(up.stderr)).toMatch(/moved public\.mutx_ops_ledger → mutx_ops\.ledger \(\d+ rows\)/);
    const left = await db.query("SELECT tablename FROM pg_tables WHERE tablename LIKE 'mutx_ops%' AND schemaname = 'public'");
    expect(left.rows).toEqual([]);
    const ledger = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM mutx_ops.ledger WHERE outcome = 'applied'");
    expect(ledger.rows[0]!.n).toBe(before.rows[0]!.n + order.length - 2);
    const trail = fs.readFileSync(path.join(project.dir, '.mutx-ops', 'audit.jsonl'), 'utf8');
    expect(trail).toMatch(/"action":"move-own-tables"/);
    expect((await db.query<{ n: number }>("SELECT count(*)::int AS n FROM mutx_ops.audit WHERE action = 'move-own-tables'")).rows[0]!.n).toBe(1);
  });
});

describe('check', () => {
  it('exits 3 listing what is pending, and 3 for several heads', async () => {
    const pending = await json('check');
    expect(pending.exitCode).toBe(3);
    expect(pending.body.pending).toHaveLength(order.length);
    const forked = createTestProject();
    try {
      fs.writeFileSync(path.join(forked.migrationsDir, 'aaaa00000001_side.sql'), `-- revision: aaaa00000001\n-- revises: ${head}\n-- message: side\n-- +upgrade\nSELECT 1;\n-- +downgrade\nSELECT 1;\n`);
      fs.writeFileSync(path.join(forked.migrationsDir, 'aaaa00000002_other.sql'), `-- revision: aaaa00000002\n-- revises: ${head}\n-- message: other\n-- +upgrade\nSELECT 1;\n-- +downgrade\nSELECT 1;\n`);
      const run = (...args: string[]) => runCli(['--database-url', db.url, ...args], { cwd: forked.dir });
      expect((await run('upgrade', 'heads')).exitCode).toBe(0);
      const check = await run('check');
      expect(check.exitCode).toBe(3);
      expect(String(check.stdout)).toMatch(/2 heads/);
      const headUpgrade = await run('upgrade', 'head');
      expect(headUpgrade.exitCode).toBe(2);
      expect(String(headUpgrade.stderr)).toMatch(/2 heads/);
      const revision = await run('revision', '-m', 'after fork');
      expect(revision.exitCode).toBe(2);
      const merged = await run('--json', 'merge', '-m', 'join side branches');
      expect(merged.exitCode).toBe(0);
      const created = JSON.parse(String(merged.stdout));
      expect(created.revises.sort()).toEqual(['aaaa00000001', 'aaaa00000002']);
      expect(fs.readFileSync(created.file, 'utf8')).toMatch(/-- revises: aaaa0000000\d, aaaa0000000\d/);
      expect((await run('upgrade', 'head')).exitCode).toBe(0);
      expect((await run('check')).exitCode).toBe(0);
      const next = await run('--json', 'revision', '-m', 'Add Status to Agents!');
      const file = JSON.parse(String(next.stdout));
      expect(path.basename(file.file)).toMatch(/^[0-9a-f]{12}_add_status_to_agents\.sql$/);
      expect(file.revises).toEqual([created.revision]);
    } finally {
      forked.cleanup();
    }
  });
});

describe('history, heads, show', () => {
  it('lists revisions with branch and merge marks, ranges and details', async () => {
    const history = await cli('history');
    expect(history.exitCode).toBe(0);
    const lines = String(history.stdout).split('\n');
    expect(lines[0]).toContain(`${head} (head)`);
    expect(String(history.stdout)).toContain(`${merge} (mergepoint)`);
    expect(String(history.stdout)).toContain(`${branchPoint} (branchpoint)`);
    const ranged = await json('history', '-r', `${order[2]}:${order[4]}`);
    expect(ranged.body.revisions.map((r: { revision: string }) => r.revision)).toEqual([order[4], order[3], order[2]]);
    const heads = await cli('heads');
    expect(String(heads.stdout)).toMatch(new RegExp(`^${head} \\(head\\)`));
    const show = await cli('show', order[0]!.slice(0, 5));
    expect(String(show.stdout)).toContain('-- +downgrade');
    expect(String(show.stdout)).toContain(`Checksum: ${graph.get(order[0]!).checksum}`);
    expect(String(show.stdout)).toMatch(/Created: /);
  });
});

describe('a protected environment (issue 12, defect 2)', () => {
  let prod: TestProject;
  beforeAll(() => {
    prod = createTestProject({ settings: 'lock_wait_seconds: 10\nenvironments:\n  production:\n    url_env: MUTX_MIGRATE_TEST_PROD_URL\n    protected: true\n' });
  });
  afterAll(() => prod.cleanup());
  const prodCli = (...args: string[]) => runCli(['--env', 'production', ...args], { cwd: prod.dir, env: { MUTX_MIGRATE_TEST_PROD_URL: db.url, DATABASE_URL: undefined } });

  it('upgrade, downgrade, stamp and reconcile without --confirm DBNAME on a non-TTY: exit 5, version table unchanged', async () => {
    expect((await cli('upgrade', order[3]!)).exitCode).toBe(0);
    const before = await versionRows();
    const ledgerCount = async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM mutx_ops.ledger')).rows[0]!.n;
    const ledgerBefore = await ledgerCount();
    for (const args of [['downgrade', '-1'], ['upgrade', 'head'], ['stamp', 'head'], ['reconcile']]) {
      const result = await prodCli(...args);
      expect(result.exitCode, `${args.join(' ')}: ${String(result.all)}`).toBe(5);
      expect(String(result.stderr)).toContain(`pass --confirm ${db.name}`);
      expect(String(result.stderr)).toContain('nothing was done');
      expect(await versionRows()).toEqual(before);
    }
    expect(await ledgerCount()).toBe(ledgerBefore);
    const wrong = await prodCli('downgrade', '-1', '--confirm', 'not-this-one');
    expect(wrong.exitCode).toBe(2);
    expect(String(wrong.stderr)).toContain(`does not match the database name "${db.name}"`);
    expect(await versionRows()).toEqual(before);
    // Reading and --sql / --dry-run change nothing: no confirmation needed.
    expect((await prodCli('current')).exitCode).toBe(0);
    expect((await prodCli('downgrade', '-1', '--sql')).exitCode).toBe(0);
    expect((await prodCli('reconcile', '--dry-run')).exitCode).toBe(0);
    const right = await prodCli('downgrade', '-1', '--confirm', db.name);
    expect(right.exitCode, String(right.all)).toBe(0);
    expect(await versionRows()).toEqual([order[2]]);
  });
});
