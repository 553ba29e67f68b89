/**
 * Shared machinery for the reliability scenarios (and the fast subset in test/*.test.ts):
 * the seed, a seeded random generator, the scenario recorder behind the report table, a
 * CLI runner that can be killed at a precise point, and the invariants every fault must
 * leave intact (catalog ↔ version table ↔ ledger, no advisory lock, audit chain, interruption
 * recorded on the next start, a half-applied step is flagged, reconcile + a rerun finish).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise, type Result } from 'execa';
import pg from 'pg';
import { inject } from 'vitest';
import { readMigrationDir, type MigrationFile } from '../../src/core/migrations/engines/sql/file';
import { RevisionGraph } from '../../src/core/migrations/graph';
import { splitSqlStatements } from '../../src/core/migrations/engines/sql/sqlSplit';
import { adminQuery, BIN, createTestDatabase, createTestProject, schemaDump, waitFor, type TestDatabase, type TestProject } from '../helpers/db';
import type { ScenarioRow } from './report';

declare module 'vitest' {
  export interface ProvidedContext {
    mutxSeed: number;
    mutxResultsFile: string;
  }
}

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const KILL_PRELOAD = path.join(HERE, 'killpoint.mjs');

function provided<K extends 'mutxSeed' | 'mutxResultsFile'>(key: K) {
  try {
    return inject(key);
  } catch {
    return undefined;
  }
}

/** The fast subset's default seed: fixed, so `npm test` is repeatable. */
export const FAST_DEFAULT_SEED = 20260207;

/** MUTX_SEED, else the seed the reliability global setup printed, else the fixed default. */
export function runSeed(): number {
  const fromEnv = process.env.MUTX_SEED;
  if (fromEnv !== undefined && fromEnv !== '') return Number(fromEnv);
  return provided('mutxSeed') ?? FAST_DEFAULT_SEED;
}

/** mulberry32: small, fast and good enough to choose kill points and mutations. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** A seeded generator per scenario: the same MUTX_SEED gives the same choices in every file. */
export function rngFor(scenario: string): Rng {
  const digest = crypto.createHash('sha256').update(`${runSeed()}:${scenario}`).digest();
  return new Rng(digest.readUInt32BE(0));
}

/**
 * Counts iterations and failures of one scenario and writes its report row when done.
 * Failures are collected (not thrown) so one run reports every broken iteration.
 */
export class Scenario {
  iterations = 0;
  readonly failures: string[] = [];
  private readonly started = Date.now();

  constructor(
    readonly name: string,
    public checked: string,
    private readonly file = '',
  ) {}

  fail(problem: string): void {
    this.failures.push(problem);
  }

  /** Records the problems of one iteration (an empty list is a pass). */
  iteration(label: string, problems: string[]): void {
    this.iterations++;
    for (const problem of problems) this.failures.push(`${label}: ${problem}`);
  }

  report(): void {
    const file = provided('mutxResultsFile');
    const row: ScenarioRow = {
      scenario: this.name,
      iterations: this.iterations,
      failures: this.failures.length,
      checked: this.checked,
      seconds: (Date.now() - this.started) / 1000,
      examples: this.failures.slice(0, 5),
      file: this.file,
    };
    if (file) fs.appendFileSync(file, `${JSON.stringify(row)}\n`);
  }
}

/** Runs `body` for a scenario; reports the row even when the body throws. */
export async function runScenario(scenario: Scenario, body: (s: Scenario) => Promise<void>): Promise<Scenario> {
  try {
    await body(scenario);
  } catch (error) {
    scenario.fail(`aborted: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    throw error;
  } finally {
    scenario.report();
  }
  return scenario;
}

export interface CliOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
  /** A kill point of killpoint.mjs: the process SIGKILLs itself there. */
  killAt?: { point: string; nth?: number };
  timeout?: number;
}

/** The built CLI as an operator runs it (never rejects on a non-zero exit). */
export function cli(args: string[], options: CliOptions): ResultPromise & Promise<Result> {
  const nodeArgs = options.killAt ? ['--import', KILL_PRELOAD] : [];
  return execa('node', [...nodeArgs, BIN, ...args], {
    cwd: options.cwd,
    env: {
      MUTX_OPERATOR: 'tester',
      MUTX_OPS_PREFS_DIR: path.join(options.cwd, '.prefs'),
      ...(options.killAt ? { MUTX_KILL_AT: options.killAt.point, MUTX_KILL_NTH: String(options.killAt.nth ?? 1) } : {}),
      ...options.env,
    },
    extendEnv: true,
    reject: false,
    all: true,
    stdin: 'ignore',
    timeout: options.timeout ?? 120_000,
  }) as unknown as ResultPromise & Promise<Result>;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------
// The database side

export interface Backend {
  pid: number;
  application_name: string;
  state: string | null;
  wait_event_type: string | null;
  query: string;
}

/** mutx-ops' sessions on this database (by application_name, as an operator would find them). */
export async function mutxBackends(db: TestDatabase): Promise<Backend[]> {
  const result = await adminQuery<Backend>(
    "SELECT pid, application_name, state, wait_event_type, query FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'mutx-ops:%' AND pid <> pg_backend_pid()",
    [db.name],
  );
  return result.rows;
}

/** Advisory locks of this database only (pg_locks is cluster-wide). */
export async function advisoryLocks(db: TestDatabase): Promise<number> {
  const result = await db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
  );
  return result.rows[0]!.n;
}

export async function versionRows(db: TestDatabase, table = 'alembic_version'): Promise<string[]> {
  const exists = await db.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [`public.${table}`]);
  if (!exists.rows[0]!.present) return [];
  const result = await db.query<{ version_num: string }>(`SELECT version_num FROM public.${table} ORDER BY 1`);
  return result.rows.map((row) => row.version_num);
}

export interface LedgerRow {
  id: string;
  revision: string;
  direction: string;
  outcome: string;
  operator: string;
}

export async function ledgerRows(db: TestDatabase): Promise<LedgerRow[]> {
  const exists = await db.query<{ present: boolean }>("SELECT to_regclass('mutx_ops.ledger') IS NOT NULL AS present");
  if (!exists.rows[0]!.present) return [];
  return (await db.query<LedgerRow>('SELECT l.id::text AS id, l.revision, l.direction, l.outcome, l.operator FROM mutx_ops.ledger l ORDER BY l.id')).rows;
}

/** The whole catalog as pg_dump -s prints it, mutx-ops' own tables included. */
export async function fullSchemaDump(url: string): Promise<string> {
  const { stdout } = await execa('pg_dump', ['--schema-only', '--no-owner', url]);
  return stdout
    .split('\n')
    .filter((line) => !/^\\(un)?restrict /.test(line) && !line.startsWith('-- Dumped'))
    .join('\n');
}

/** Every table's rows, to prove a command changed no data (small test databases only). */
export async function dataSnapshot(db: TestDatabase, excludeTables: string[] = []): Promise<string> {
  const tables = await db.query<{ name: string }>(
    "SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
  );
  const parts: string[] = [];
  for (const { name } of tables.rows) {
    if (excludeTables.some((t) => name === t || name.endsWith(`.${t}`))) continue;
    const rows = await db.query(`SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS h, count(*)::int AS n FROM ${name} t`);
    parts.push(`${name} ${rows.rows[0]!.n} ${rows.rows[0]!.h}`);
  }
  return parts.join('\n');
}

export function firstDifference(a: string, b: string): string {
  const left = a.split('\n');
  const right = b.split('\n');
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    if (left[i] !== right[i]) return `line ${i + 1}: expected ${JSON.stringify(left[i] ?? '<end>')}, got ${JSON.stringify(right[i] ?? '<end>')}`;
  }
  return 'identical';
}

/**
 * Catalogs of a reference database brought to a given set of version rows with the CLI, step by
 * step, cached. For a non-transactional revision next to that state, also the documented
 * partial states (its first k statements applied; the version table does not move).
 */
export class ReferenceCatalogs {
  private readonly cache = new Map<string, string>();
  private readonly partialCache = new Map<string, string[]>();
  readonly graph: RevisionGraph<MigrationFile>;
  private readonly project: TestProject;
  private ref?: TestDatabase;

  /** Copies the migrations into a private project: reference runs never touch the test's audit trail. */
  constructor(migrationsDir: string) {
    this.project = createTestProject({ copyMigrations: false });
    for (const name of fs.readdirSync(migrationsDir)) fs.copyFileSync(path.join(migrationsDir, name), path.join(this.project.migrationsDir, name));
    this.graph = RevisionGraph.build(readMigrationDir(this.project.migrationsDir));
  }

  async close(): Promise<void> {
    await this.ref?.drop();
    this.project.cleanup();
  }

  /** A brand-new database each time: recreating the public schema would change the dump. */
  private async bringTo(rows: string[]): Promise<TestDatabase> {
    await this.ref?.drop();
    this.ref = await createTestDatabase('mutx_rel_ref');
    for (const row of [...rows].sort()) {
      const result = await cli(['--database-url', this.ref.url, 'upgrade', row], { cwd: this.project.dir });
      if (result.exitCode !== 0) throw new Error(`reference upgrade ${row} failed: ${String(result.all)}`);
    }
    const now = await versionRows(this.ref);
    if (now.join(',') !== [...rows].sort().join(',')) throw new Error(`reference database is at [${now}] instead of [${rows}]`);
    return this.ref;
  }

  async get(rows: string[]): Promise<string> {
    const key = [...rows].sort().join(',');
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const ref = await this.bringTo(rows);
    const dump = await schemaDump(ref.url);
    this.cache.set(key, dump);
    return dump;
  }

  /** Partial states a non-transactional step next to `rows` may leave (documented behaviour). */
  async partials(rows: string[]): Promise<string[]> {
    const key = [...rows].sort().join(',');
    const cached = this.partialCache.get(key);
    if (cached) return cached;
    const applied = this.graph.ancestorsOrSelf(rows);
    const heads = this.graph.headsOf(applied);
    const steps: { revision: string; sql: string }[] = [];
    for (const id of this.graph.order) {
      const file = this.graph.get(id);
      if (file.transactional) continue;
      if (!applied.has(id) && file.revises.every((p) => applied.has(p))) steps.push({ revision: id, sql: file.upgrade.sql });
      if (heads.includes(id)) steps.push({ revision: id, sql: file.downgrade.sql });
    }
    const dumps: string[] = [];
    for (const step of steps) {
      const statements = splitSqlStatements(step.sql);
      for (let k = 1; k <= statements.length; k++) {
        const ref = await this.bringTo(rows);
        const client = new pg.Client({ connectionString: ref.url });
        await client.connect();
        try {
          for (const statement of statements.slice(0, k)) await client.query(statement.sql);
        } finally {
          await client.end();
        }
        dumps.push(await schemaDump(ref.url));
      }
    }
    this.partialCache.set(key, dumps);
    return dumps;
  }
}

// ---------------------------------------------------------------------------------------
// The audit trail side

export interface AuditLine {
  seq: number;
  op_id: string;
  action: string;
  phase: 'start' | 'end' | 'event';
  outcome?: string;
  pid: number;
  error?: string;
}

export function readAuditLines(file: string): AuditLine[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as AuditLine);
}

/** Operations with a start record and no end record. */
export function openOperations(records: AuditLine[]): string[] {
  const ended = new Set(records.filter((r) => r.phase === 'end').map((r) => r.op_id));
  return records.filter((r) => r.phase === 'start' && !ended.has(r.op_id)).map((r) => r.op_id);
}

/** Every started operation has exactly one end record (nothing is running now). */
export function auditPairing(records: AuditLine[]): string[] {
  const problems: string[] = [];
  const starts = new Map<string, number>();
  const ends = new Map<string, AuditLine[]>();
  for (const record of records) {
    if (record.phase === 'start') starts.set(record.op_id, (starts.get(record.op_id) ?? 0) + 1);
    if (record.phase === 'end') ends.set(record.op_id, [...(ends.get(record.op_id) ?? []), record]);
  }
  for (const [op, count] of starts) {
    const endRecords = ends.get(op) ?? [];
    if (count !== 1) problems.push(`operation ${op} has ${count} start records`);
    if (endRecords.length === 0) problems.push(`operation ${op} (${records.find((r) => r.op_id === op)?.action}) has a start record and no end record`);
    if (endRecords.length > 1) problems.push(`operation ${op} has ${endRecords.length} end records (${endRecords.map((r) => `seq ${r.seq} ${r.outcome}`).join(', ')})`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------
// The invariants after a fault

export interface FaultContext {
  db: TestDatabase;
  project: TestProject;
  refs: ReferenceCatalogs;
  /** Where `upgrade head` ends (one head). */
  head: string;
}

/** Waits until the killed process's sessions are gone (the server notices a dead client when its statement ends). */
export async function waitForSessionsToEnd(db: TestDatabase, timeoutMs = 20_000): Promise<string | undefined> {
  try {
    await waitFor(async () => (await mutxBackends(db)).length === 0 || undefined, timeoutMs, 20);
    return undefined;
  } catch {
    const left = await mutxBackends(db);
    return `mutx-ops sessions still open ${timeoutMs / 1000}s after the fault: ${left.map((b) => `pid ${b.pid} ${b.state} ${b.query.slice(0, 60)}`).join('; ')}`;
  }
}

/** Catalog ↔ version table ↔ ledger ↔ lock: the state a fault left. */
export async function checkDatabaseState(ctx: FaultContext): Promise<string[]> {
  const problems: string[] = [];
  const lingering = await waitForSessionsToEnd(ctx.db);
  if (lingering) problems.push(lingering);
  const locks = await advisoryLocks(ctx.db);
  if (locks > 0) problems.push(`${locks} advisory lock(s) left on the database`);
  const rows = await versionRows(ctx.db);
  const unknown = rows.filter((id) => !ctx.refs.graph.has(id));
  if (unknown.length) {
    problems.push(`version table holds unknown revisions ${unknown.join(', ')}`);
    return problems;
  }
  const actual = await schemaDump(ctx.db.url);
  const expected = await ctx.refs.get(rows);
  if (actual !== expected) {
    const partials = await ctx.refs.partials(rows);
    if (!partials.includes(actual)) {
      problems.push(`catalog is not at the version table's revision [${rows.join(', ') || 'base'}]: ${firstDifference(expected, actual)}`);
    } else if ((await flaggedPartial(ctx)).length === 0) {
      // A half-applied non-transactional step is allowed only if mutx-ops says so.
      problems.push(`catalog is half-way through a non-transactional step at [${rows.join(', ') || 'base'}] but \`check\` does not flag it as half-applied`);
    }
  }
  const applied = ctx.refs.graph.ancestorsOrSelf(rows);
  const ledger = await ledgerRows(ctx.db);
  for (const id of ctx.refs.graph.order) {
    const last = [...ledger].reverse().find((row) => row.revision === id && ['applied', 'reverted', 'stamped', 'adopted'].includes(row.outcome));
    const ledgerSaysApplied = last !== undefined && last.outcome !== 'reverted';
    if (ledgerSaysApplied !== applied.has(id)) {
      problems.push(`ledger says ${id} is ${ledgerSaysApplied ? 'applied' : 'not applied'} (last row: ${last ? `#${last.id} ${last.outcome}` : 'none'}) but the version table [${rows.join(', ') || 'base'}] says ${applied.has(id) ? 'applied' : 'not applied'}`);
    }
  }
  return problems;
}

/** `audit verify` before and after the next start; the next start closes open operations as interrupted. */
export async function checkAuditAfterFault(ctx: FaultContext): Promise<string[]> {
  const problems: string[] = [];
  const verify = await cli(['audit', 'verify'], { cwd: ctx.project.dir });
  if (verify.exitCode !== 0) problems.push(`audit verify after the kill exited ${verify.exitCode}: ${String(verify.all).trim()}`);
  const open = openOperations(readAuditLines(ctx.project.auditPath));
  const next = await cli(['--database-url', ctx.db.url, 'current'], { cwd: ctx.project.dir });
  if (next.exitCode !== 0) problems.push(`the next start (current) exited ${next.exitCode}: ${String(next.all).trim()}`);
  const records = readAuditLines(ctx.project.auditPath);
  for (const op of open) {
    const end = records.find((r) => r.op_id === op && r.phase === 'end');
    if (!end) problems.push(`the next start did not record the interruption of operation ${op}`);
    else if (end.outcome !== 'interrupted') problems.push(`operation ${op} was closed with outcome ${end.outcome}, not interrupted`);
  }
  problems.push(...auditPairing(records));
  const again = await cli(['audit', 'verify'], { cwd: ctx.project.dir });
  if (again.exitCode !== 0) problems.push(`audit verify after the next start exited ${again.exitCode}: ${String(again.all).trim()}`);
  return problems;
}

/** Half-applied steps as `check --json` reports them (the ledger's unsettled 'started' rows). */
async function flaggedPartial(ctx: FaultContext): Promise<{ revision: string; direction: string }[]> {
  const check = await cli(['--json', '--database-url', ctx.db.url, 'check'], { cwd: ctx.project.dir });
  try {
    return (JSON.parse(String(check.stdout)) as { partial?: { revision: string; direction: string }[] }).partial ?? [];
  } catch {
    return [];
  }
}

/**
 * A rerun finishes: `reconcile` (a no-op unless a step was left half-applied) leaves the
 * catalog exactly at the version table's revision, then upgrade head and check exit 0 and
 * the catalog is the head's.
 */
export async function checkRerun(ctx: FaultContext): Promise<string[]> {
  const problems: string[] = [];
  const reconciled = await cli(['--database-url', ctx.db.url, 'reconcile'], { cwd: ctx.project.dir });
  if (reconciled.exitCode !== 0) problems.push(`reconcile exited ${reconciled.exitCode}: ${String(reconciled.stderr).trim().split('\n').at(-1)}`);
  else {
    const rows = await versionRows(ctx.db);
    const actual = await schemaDump(ctx.db.url);
    if (actual !== (await ctx.refs.get(rows))) problems.push(`after reconcile the catalog is not at [${rows.join(', ') || 'base'}]: ${firstDifference(await ctx.refs.get(rows), actual)}`);
  }
  const up = await cli(['--database-url', ctx.db.url, 'upgrade', 'head'], { cwd: ctx.project.dir });
  if (up.exitCode !== 0) problems.push(`rerun upgrade head exited ${up.exitCode}: ${String(up.stderr).trim().split('\n').at(-1)}`);
  const check = await cli(['--database-url', ctx.db.url, 'check'], { cwd: ctx.project.dir });
  if (check.exitCode !== 0) problems.push(`check after the rerun exited ${check.exitCode}: ${String(check.all).trim()}`);
  const rows = await versionRows(ctx.db);
  if (rows.join(',') !== ctx.head) problems.push(`after the rerun the version table is [${rows}] instead of [${ctx.head}]`);
  else {
    const actual = await schemaDump(ctx.db.url);
    const expected = await ctx.refs.get([ctx.head]);
    if (actual !== expected) problems.push(`after the rerun the catalog is not the head's: ${firstDifference(expected, actual)}`);
  }
  if ((await advisoryLocks(ctx.db)) > 0) problems.push('advisory lock left after the rerun');
  return problems;
}

export async function checkAfterFault(ctx: FaultContext): Promise<string[]> {
  const problems = [...(await checkDatabaseState(ctx)), ...(await checkAuditAfterFault(ctx)), ...(await checkRerun(ctx))];
  if (problems.length > 0) await repair(ctx);
  return problems;
}

/**
 * After a failed iteration, puts the database back at head with the head's catalog (downgrade
 * base, upgrade head; a brand-new database as the last resort) so one failure does not cascade.
 */
export async function repair(ctx: FaultContext): Promise<void> {
  await waitForSessionsToEnd(ctx.db);
  // From a private project: the test project's audit trail may be what is broken.
  const own = createTestProject({ copyMigrations: false });
  for (const name of fs.readdirSync(ctx.project.migrationsDir)) fs.copyFileSync(path.join(ctx.project.migrationsDir, name), path.join(own.migrationsDir, name));
  try {
    await repairFrom(ctx, own);
  } finally {
    own.cleanup();
  }
}

async function repairFrom(ctx: FaultContext, own: TestProject): Promise<void> {
  const run = (...args: string[]) => cli(['--database-url', ctx.db.url, ...args], { cwd: own.dir });
  await run('downgrade', 'base');
  await run('upgrade', 'head');
  if ((await schemaDump(ctx.db.url)) !== (await ctx.refs.get([ctx.head]))) {
    await run('stamp', 'base', '--purge');
    await ctx.db.query('DO $$ DECLARE r record; BEGIN FOR r IN SELECT format(\'%I.%I\', schemaname, viewname) AS v FROM pg_views WHERE schemaname = \'public\' LOOP EXECUTE \'DROP VIEW IF EXISTS \' || r.v || \' CASCADE\'; END LOOP; FOR r IN SELECT format(\'%I.%I\', schemaname, tablename) AS t FROM pg_tables WHERE schemaname = \'public\' AND tablename NOT IN (\'alembic_version\', \'mutx_ops_ledger\', \'mutx_ops_audit\') LOOP EXECUTE \'DROP TABLE IF EXISTS \' || r.t || \' CASCADE\'; END LOOP; END $$');
    await ctx.db.query("DELETE FROM mutx_ops.ledger");
    await run('upgrade', 'head');
  }
}

// ---------------------------------------------------------------------------------------
// Migrations that take some time

function write(dir: string, name: string, text: string): void {
  fs.writeFileSync(path.join(dir, name), text);
}

/**
 * A linear chain of 8 revisions doing real work on a table with rows (inserts, a column with a
 * default, an index build, a rename, a view, a foreign key), each with a short pg_sleep so a
 * random delay lands inside, one non-transactional (CREATE INDEX CONCURRENTLY, idempotent),
 * and verify queries.
 */
export function writeTimedChain(dir: string, rows = 20_000): string[] {
  const ids = ['k01', 'k02', 'k03', 'k04', 'k05', 'k06', 'k07', 'k08'];
  const file = (id: string, parent: string, message: string, body: string) => write(dir, `${id}_${message.replace(/\W+/g, '_')}.sql`, `-- revision: ${id}\n-- revises: ${parent}\n-- message: ${message}\n${body}`);
  file('k01', '', 'items with rows', `\n-- +upgrade\nCREATE TABLE k_items (id int PRIMARY KEY, payload text NOT NULL);\nINSERT INTO k_items SELECT g, md5(g::text) FROM generate_series(1, ${rows}) g;\nSELECT pg_sleep(0.04);\n\n-- +downgrade\nDROP TABLE k_items;\n\n-- +verify\nSELECT count(*) = ${rows} FROM k_items;\n`);
  file('k02', 'k01', 'score column', `\n-- +upgrade\nALTER TABLE k_items ADD COLUMN score int NOT NULL DEFAULT 0;\nUPDATE k_items SET score = id % 97;\nSELECT pg_sleep(0.04);\n\n-- +downgrade\nALTER TABLE k_items DROP COLUMN score;\nSELECT pg_sleep(0.02);\n`);
  file('k03', 'k02', 'score index', `\n-- +upgrade\nCREATE INDEX k_items_score_idx ON k_items (score);\nSELECT pg_sleep(0.04);\n\n-- +downgrade\nDROP INDEX k_items_score_idx;\nSELECT pg_sleep(0.02);\n\n-- +verify\nSELECT to_regclass('k_items_score_idx') IS NOT NULL;\n`);
  file('k04', 'k03', 'tags', `\n-- +upgrade\nCREATE TABLE k_tags (id serial PRIMARY KEY, item_id int NOT NULL, tag text NOT NULL);\nINSERT INTO k_tags (item_id, tag) SELECT id, 'tag' || (id % 10) FROM k_items WHERE id % 3 = 0;\nSELECT pg_sleep(0.04);\n\n-- +downgrade\nDROP TABLE k_tags;\nSELECT pg_sleep(0.02);\n`);
  file('k05', 'k04', 'concurrent payload index', `-- transactional: false\n\n-- +upgrade\nCREATE INDEX CONCURRENTLY IF NOT EXISTS k_items_payload_idx ON k_items (payload);\nSELECT pg_sleep(0.04);\n\n-- +downgrade\nDROP INDEX CONCURRENTLY IF EXISTS k_items_payload_idx;\n\n-- +verify\nSELECT count(*) = 1 FROM pg_index WHERE indexrelid = to_regclass('k_items_payload_idx') AND indisvalid;\n`);
  file('k06', 'k05', 'rename payload', `\n-- +upgrade\nALTER TABLE k_items RENAME COLUMN payload TO body;\nSELECT pg_sleep(0.04);\n\n-- +downgrade\nALTER TABLE k_items RENAME COLUMN body TO payload;\nSELECT pg_sleep(0.02);\n`);
  file('k07', 'k06', 'tag view', `\n-- +upgrade\nCREATE VIEW k_tag_counts AS SELECT tag, count(*) AS n FROM k_tags GROUP BY tag;\nSELECT pg_sleep(0.04);\n\n-- +downgrade\nDROP VIEW k_tag_counts;\nSELECT pg_sleep(0.02);\n\n-- +verify\nSELECT count(*) = 10 FROM k_tag_counts;\n`);
  file('k08', 'k07', 'tag foreign key', `\n-- +upgrade\nALTER TABLE k_tags ADD CONSTRAINT k_tags_item_fk FOREIGN KEY (item_id) REFERENCES k_items (id);\nSELECT pg_sleep(0.04);\n\n-- +downgrade\nALTER TABLE k_tags DROP CONSTRAINT k_tags_item_fk;\nSELECT pg_sleep(0.02);\n`);
  return ids;
}

/**
 * The error is one line on stderr ("mutx-ops: …"), with no stack trace and not an "internal
 * error". With `strict`, stderr holds nothing else; otherwise progress lines may come before it.
 */
export function oneLineErrorProblems(result: Result, strict = false): string[] {
  const problems: string[] = [];
  const stderr = String(result.stderr ?? '');
  const lines = stderr.split('\n').filter((line) => line.trim() !== '');
  const errorLines = lines.filter((line) => line.startsWith('mutx-ops: '));
  if (strict && lines.length !== 1) problems.push(`stderr has ${lines.length} lines instead of one: ${JSON.stringify(stderr.slice(0, 300))}`);
  else if (!strict && errorLines.length !== 1) problems.push(`stderr has ${errorLines.length} error lines instead of one: ${JSON.stringify(stderr.slice(-300))}`);
  if (!strict) {
    const stray = lines.filter((line) => !line.startsWith('mutx-ops: ') && !/^(\[\d+\/\d+\] |  |waiting for the migration lock)/.test(line));
    if (stray.length) problems.push(`unexpected lines on stderr: ${JSON.stringify(stray.join('\n').slice(0, 300))}`);
  }
  if (/^\s+at .+:\d+:\d+\)?$/m.test(stderr) || /\bat (async )?[\w.<>]+ \(/.test(stderr)) problems.push(`stack trace on stderr: ${JSON.stringify(stderr.slice(0, 300))}`);
  if (/internal error/i.test(stderr)) problems.push(`reported as an internal error: ${JSON.stringify(errorLines.join(' / ').slice(0, 300))}`);
  if (strict && lines[0] && !lines[0].startsWith('mutx-ops: ')) problems.push(`stderr does not start with "mutx-ops: ": ${JSON.stringify(lines[0].slice(0, 120))}`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b-\u001f\u007f\u009b]/.test(stderr.replace(/\n$/, ''))) problems.push(`control characters on stderr: ${JSON.stringify(stderr.slice(0, 200))}`);
  return problems;
}

/** Hashes of every file under a folder (relative path → sha256, or 'dir'/'link:target'). */
export function treeSnapshot(dir: string, skip: (relative: string) => boolean = () => false): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (current: string) => {
    for (const name of fs.readdirSync(current).sort()) {
      const full = path.join(current, name);
      const relative = path.relative(dir, full);
      if (skip(relative)) continue;
      const stat = fs.lstatSync(full);
      if (stat.isSymbolicLink()) out.set(relative, `link:${fs.readlinkSync(full)}`);
      else if (stat.isDirectory()) {
        out.set(relative, 'dir');
        walk(full);
      } else if (stat.isFile()) out.set(relative, crypto.createHash('sha256').update(fs.readFileSync(full)).digest('hex'));
      else out.set(relative, `special:${stat.mode.toString(8)}`);
    }
  };
  walk(dir);
  return out;
}

export function snapshotDifference(before: Map<string, string>, after: Map<string, string>): string[] {
  const problems: string[] = [];
  for (const [file, hash] of before) {
    if (!after.has(file)) problems.push(`${file} was removed`);
    else if (after.get(file) !== hash) problems.push(`${file} changed`);
  }
  for (const file of after.keys()) if (!before.has(file)) problems.push(`${file} was created`);
  return problems;
}
