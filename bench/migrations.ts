/**
 * Migration benchmark: mutx-ops against the psql floor (the same SQL run by psql, no ledger,
 * lock or audit trail) on N generated revisions.
 *
 *   node --import tsx bench/migrations.ts [--revisions N] [--rounds N] [--quick]
 *
 * Every measurement runs against a fresh database (cloned from a template that is already at
 * head for the downgrade and `current` measurements) and is checked afterwards: a run that
 * exited non-zero, or left the wrong number of tables, fails the benchmark instead of
 * reporting a number. The admin URL is MUTX_BENCH_ADMIN_URL, else MUTX_TEST_ADMIN_URL, else
 * postgresql://postgres@127.0.0.1:5432/postgres.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';

export interface BenchMigrationsOptions {
  /** Length of the generated linear chain (default 300). */
  revisions?: number;
  /** Best of this many runs per measurement (default 3). */
  rounds?: number;
}

/** One goal: what mutx-ops took, what the floor took, and whether the goal is met. */
/**
 * `rounds` samples of each side, taking turns at going first so neither always runs on a warmer
 * server; returns [mutx-ops samples, baseline samples] in seconds.
 */
export async function alternatingRounds(rounds: number, mutx: () => Promise<number>, baseline: () => Promise<number>): Promise<[number[], number[]]> {
  const mutxSamples: number[] = [];
  const baselineSamples: number[] = [];
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      mutxSamples.push(await mutx());
      baselineSamples.push(await baseline());
    } else {
      baselineSamples.push(await baseline());
      mutxSamples.push(await mutx());
    }
  }
  return [mutxSamples, baselineSamples];
}

export interface GoalRow {
  operation: string;
  mutxSeconds: number;
  psqlSeconds: number;
  ratio: number;
  goal: string;
  pass: boolean;
  /** Every round, in seconds (the best one is reported above). */
  mutxSamples: number[];
  psqlSamples: number[];
}

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(REPO_ROOT, 'dist/mutx-ops.js');
const ADMIN_URL = process.env.MUTX_BENCH_ADMIN_URL ?? process.env.MUTX_TEST_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const RATIO_GOAL = 1.15;
const CURRENT_GOAL_SECONDS = 0.15;

export interface Revision {
  id: string;
  parent: string | undefined;
  table: string;
}

export interface ProcResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  seconds: number;
  stdout: string;
  stderr: string;
}

/** A command to time against a database prepared for it, and what must hold afterwards. */
interface Contender {
  label: string;
  /** A fresh database for one run; returns its URL. */
  prepare: () => Promise<string>;
  run: (url: string) => Promise<ProcResult>;
  check: (url: string, result: ProcResult) => Promise<void>;
}

interface Measurement {
  operation: string;
  goal: { kind: 'ratio'; max: number } | { kind: 'seconds'; max: number };
  mutx: Contender;
  psql: Contender;
}

export function urlFor(database: string, base = ADMIN_URL): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Plain-text table with right-aligned numbers. */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((row) => /^[\d.]+[×x]?$|^-$/.test(row[i] ?? '')));
  const line = (cells: string[]) => cells.map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatGoalRows(rows: GoalRow[]): string {
  return formatTable(
    ['operation', 'mutx-ops s', 'psql s', 'ratio', 'goal', 'result'],
    rows.map((row) => [row.operation, row.mutxSeconds.toFixed(3), row.psqlSeconds.toFixed(3), `${row.ratio.toFixed(2)}×`, row.goal, row.pass ? 'PASS' : 'FAIL']),
  );
}

// ---------------------------------------------------------------- generated project

export function generateChain(count: number): Revision[] {
  const seen = new Set<string>();
  const chain: Revision[] = [];
  for (let n = 1; n <= count; n++) {
    let id: string;
    do id = crypto.randomBytes(6).toString('hex');
    while (seen.has(id));
    seen.add(id);
    chain.push({ id, parent: chain[chain.length - 1]?.id, table: `t${n}` });
  }
  return chain;
}

export function upgradeSql(rev: Revision): string[] {
  return [`CREATE TABLE ${rev.table} (id bigint primary key, name text not null);`, `CREATE INDEX ${rev.table}_name_idx ON ${rev.table}(name);`];
}

export function downgradeSql(rev: Revision): string[] {
  return [`DROP TABLE ${rev.table};`];
}

export function writeProject(dir: string, chain: Revision[]): void {
  fs.writeFileSync(path.join(dir, 'mutx-ops.yaml'), 'lock_wait_seconds: 10\n');
  const migrations = path.join(dir, 'migrations');
  fs.mkdirSync(migrations);
  for (const rev of chain) {
    const text = [
      `-- revision: ${rev.id}`,
      `-- revises: ${rev.parent ?? ''}`.trimEnd(),
      `-- message: create ${rev.table}`,
      '',
      '-- +upgrade',
      ...upgradeSql(rev),
      '',
      '-- +downgrade',
      ...downgradeSql(rev),
      '',
    ].join('\n');
    fs.writeFileSync(path.join(migrations, `${rev.id}_create_${rev.table}.sql`), text);
  }
}

const lit = (value: string) => `'${value.replace(/'/g, "''")}'`;

/** What mutx-ops runs minus its bookkeeping: the migrations plus Alembic's version-table rows. */
function floorUpgradeSql(chain: Revision[], perMigrationTransaction: boolean): string {
  const lines = ['CREATE TABLE alembic_version (version_num varchar(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));'];
  for (const rev of chain) {
    if (perMigrationTransaction) lines.push('BEGIN;');
    lines.push(...upgradeSql(rev));
    lines.push(
      rev.parent === undefined
        ? `INSERT INTO alembic_version (version_num) VALUES (${lit(rev.id)});`
        : `UPDATE alembic_version SET version_num=${lit(rev.id)} WHERE version_num=${lit(rev.parent)};`,
    );
    if (perMigrationTransaction) lines.push('COMMIT;');
  }
  return `${lines.join('\n')}\n`;
}

function floorDowngradeSql(chain: Revision[], perMigrationTransaction: boolean): string {
  const lines: string[] = [];
  for (const rev of [...chain].reverse()) {
    if (perMigrationTransaction) lines.push('BEGIN;');
    lines.push(...downgradeSql(rev));
    lines.push(
      rev.parent === undefined
        ? `DELETE FROM alembic_version WHERE version_num=${lit(rev.id)};`
        : `UPDATE alembic_version SET version_num=${lit(rev.parent)} WHERE version_num=${lit(rev.id)};`,
    );
    if (perMigrationTransaction) lines.push('COMMIT;');
  }
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------- processes

let currentChild: ChildProcess | undefined;

export function runTimed(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ProcResult> {
  return new Promise((resolve, reject) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const started = performance.now();
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    currentChild = child;
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.once('error', (error) => {
      currentChild = undefined;
      reject(new Error(`cannot run ${command}: ${error.message}`));
    });
    child.once('close', (code, signal) => {
      const seconds = (performance.now() - started) / 1000;
      currentChild = undefined;
      resolve({ code, signal, seconds, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') });
    });
  });
}

function describeRun(what: string, result: ProcResult): string {
  const output = `${result.stderr}\n${result.stdout}`.trim().split('\n').slice(-8).join('\n');
  return `${what} exited ${result.code ?? result.signal}${output ? `:\n${output}` : ''}`;
}

export function mustSucceed(what: string, result: ProcResult): void {
  if (result.code !== 0) throw new Error(describeRun(what, result));
}

// ---------------------------------------------------------------- databases

export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

interface DbState {
  tables: number;
  indexes: number;
  versions: string[];
}

async function dbState(url: string): Promise<DbState> {
  return withClient(url, async (client) => {
    const counts = await client.query<{ tables: number; indexes: number }>(
      `SELECT count(*) FILTER (WHERE c.relkind = 'r')::int AS tables, count(*) FILTER (WHERE c.relkind = 'i')::int AS indexes
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relname ~ '^t[0-9]+(_name_idx)?$'`,
    );
    const exists = await client.query<{ present: boolean }>(`SELECT to_regclass('public.alembic_version') IS NOT NULL AS present`);
    const versions = exists.rows[0]?.present ? (await client.query<{ version_num: string }>('SELECT version_num FROM public.alembic_version ORDER BY 1')).rows.map((row) => row.version_num) : [];
    return { tables: counts.rows[0]!.tables, indexes: counts.rows[0]!.indexes, versions };
  });
}

async function expectState(what: string, url: string, expected: DbState): Promise<void> {
  const state = await dbState(url);
  const same = state.tables === expected.tables && state.indexes === expected.indexes && state.versions.join(',') === expected.versions.join(',');
  if (!same) {
    throw new Error(
      `${what}: the database has ${state.tables} table(s), ${state.indexes} index(es), version [${state.versions.join(', ')}]; expected ${expected.tables}, ${expected.indexes}, [${expected.versions.join(', ')}]`,
    );
  }
}

export class Databases {
  private readonly names = new Set<string>();
  private counter = 0;
  private readonly prefix = `mutx_bench_${crypto.randomBytes(3).toString('hex')}`;

  constructor(private readonly admin: pg.Client) {}

  async create(label: string, template?: string): Promise<string> {
    const name = `${this.prefix}_${label}_${++this.counter}`;
    const sql = `CREATE DATABASE "${name}"${template ? ` TEMPLATE "${template}"` : ''}`;
    // A template must have no sessions; a backend of the process that just exited may linger a moment.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.admin.query(sql);
        break;
      } catch (error) {
        if ((error as { code?: string }).code !== '55006' || attempt >= 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    this.names.add(name);
    return name;
  }

  async drop(name: string): Promise<void> {
    await this.admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    this.names.delete(name);
  }

  async dropAll(): Promise<void> {
    for (const name of [...this.names]) await this.drop(name).catch(() => {});
  }
}

// ---------------------------------------------------------------- the benchmark

export async function benchMigrations(opts: BenchMigrationsOptions = {}): Promise<GoalRow[]> {
  const revisions = opts.revisions ?? 300;
  const rounds = opts.rounds ?? 3;
  if (!Number.isInteger(revisions) || revisions < 1) throw new Error(`revisions must be a positive integer, not ${revisions}`);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`rounds must be a positive integer, not ${rounds}`);
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run -s build\` first`);
  const log = (line: string) => process.stderr.write(`[migrations] ${line}\n`);

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mutx-bench-migrations-'));
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  admin.on('error', () => {});
  const databases = new Databases(admin);
  let cleaned: Promise<void> | undefined;
  const cleanup = () =>
    (cleaned ??= (async () => {
      currentChild?.kill('SIGKILL');
      await databases.dropAll();
      await admin.end().catch(() => {});
      fs.rmSync(work, { recursive: true, force: true });
    })());
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`[migrations] ${signal}: cleaning up\n`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    await admin.connect();
    const chain = generateChain(revisions);
    const head = chain[chain.length - 1]!.id;
    writeProject(work, chain);
    const floorDir = path.join(work, 'floor');
    fs.mkdirSync(floorDir);
    const floorFile = (name: string, sql: string) => {
      const file = path.join(floorDir, name);
      fs.writeFileSync(file, sql);
      return file;
    };
    const upPerTx = floorFile('upgrade-per-migration.sql', floorUpgradeSql(chain, true));
    const upSingle = floorFile('upgrade-single.sql', floorUpgradeSql(chain, false));
    const downPerTx = floorFile('downgrade-per-migration.sql', floorDowngradeSql(chain, true));
    const downSingle = floorFile('downgrade-single.sql', floorDowngradeSql(chain, false));

    const mutxEnv: NodeJS.ProcessEnv = { ...process.env, MUTX_OPERATOR: 'bench', MUTX_OPS_PREFS_DIR: path.join(work, '.prefs') };
    const mutx = (url: string, ...args: string[]) => runTimed(process.execPath, [BIN, '--database-url', url, ...args], { cwd: work, env: mutxEnv });
    const psql = (url: string, ...args: string[]) => runTimed('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', ...args, url]);

    const atHead: DbState = { tables: revisions, indexes: revisions, versions: [head] };
    const atBase: DbState = { tables: 0, indexes: 0, versions: [] };

    // Templates at head, one per tool, so each downgrade starts from what that tool leaves.
    log(`${revisions} revisions in ${work}; preparing templates`);
    const mutxTemplate = await databases.create('tpl_mutx');
    mustSucceed('template: mutx-ops upgrade head --single-transaction', await mutx(urlFor(mutxTemplate), 'upgrade', 'head', '--single-transaction'));
    await expectState('template (mutx-ops)', urlFor(mutxTemplate), atHead);
    const psqlTemplate = await databases.create('tpl_psql');
    mustSucceed('template: psql -1', await psql(urlFor(psqlTemplate), '-1', '-f', upSingle));
    await expectState('template (psql)', urlFor(psqlTemplate), atHead);

    // One throwaway connection first: the first session in a new database builds its relcache
    // init file, a cost no operator sees on a long-lived database.
    const fresh = (label: string, template?: string) => async () => {
      const url = urlFor(await databases.create(label, template));
      await withClient(url, (client) => client.query('SELECT count(*) FROM pg_class'));
      return url;
    };
    const contender = (label: string, prepare: () => Promise<string>, run: (url: string) => Promise<ProcResult>, expected: DbState, extra?: (result: ProcResult) => void): Contender => ({
      label,
      prepare,
      run,
      check: async (url, result) => {
        mustSucceed(label, result);
        extra?.(result);
        await expectState(label, url, expected);
      },
    });

    const ratio = { kind: 'ratio', max: RATIO_GOAL } as const;
    const measurements: Measurement[] = [
      {
        operation: 'upgrade head (txn per migration)',
        goal: ratio,
        mutx: contender('mutx-ops upgrade head', fresh('up'), (url) => mutx(url, 'upgrade', 'head'), atHead),
        psql: contender('psql upgrade', fresh('up'), (url) => psql(url, '-f', upPerTx), atHead),
      },
      {
        operation: 'upgrade head --single-transaction',
        goal: ratio,
        mutx: contender('mutx-ops upgrade head --single-transaction', fresh('up1'), (url) => mutx(url, 'upgrade', 'head', '--single-transaction'), atHead),
        psql: contender('psql -1 upgrade', fresh('up1'), (url) => psql(url, '-1', '-f', upSingle), atHead),
      },
      {
        operation: 'current',
        goal: { kind: 'seconds', max: CURRENT_GOAL_SECONDS },
        mutx: contender('mutx-ops current', fresh('cur', mutxTemplate), (url) => mutx(url, 'current'), atHead, (result) => {
          if (!result.stdout.includes(head)) throw new Error(`mutx-ops current did not print the head ${head}:\n${result.stdout}`);
        }),
        psql: contender('psql current', fresh('cur', mutxTemplate), (url) => runTimed('psql', ['-X', '-At', '-c', 'select version_num from alembic_version', url]), atHead, (result) => {
          if (result.stdout.trim() !== head) throw new Error(`psql printed ${JSON.stringify(result.stdout.trim())}, expected ${head}`);
        }),
      },
      {
        operation: 'downgrade base (txn per migration)',
        goal: ratio,
        mutx: contender('mutx-ops downgrade base', fresh('down', mutxTemplate), (url) => mutx(url, 'downgrade', 'base'), atBase),
        psql: contender('psql downgrade', fresh('down', psqlTemplate), (url) => psql(url, '-f', downPerTx), atBase),
      },
      {
        operation: 'downgrade base --single-transaction',
        goal: ratio,
        mutx: contender('mutx-ops downgrade base --single-transaction', fresh('down1', mutxTemplate), (url) => mutx(url, 'downgrade', 'base', '--single-transaction'), atBase),
        psql: contender('psql -1 downgrade', fresh('down1', psqlTemplate), (url) => psql(url, '-1', '-f', downSingle), atBase),
      },
    ];

    const once = async (c: Contender): Promise<number> => {
      const url = await c.prepare();
      try {
        const result = await c.run(url);
        await c.check(url, result);
        return result.seconds;
      } finally {
        await databases.drop(new URL(url).pathname.slice(1));
      }
    };

    const rows: GoalRow[] = [];
    for (const m of measurements) {
      const [mutxSamples, psqlSamples] = await alternatingRounds(rounds, () => once(m.mutx), () => once(m.psql));
      const mutxSeconds = Math.min(...mutxSamples);
      const psqlSeconds = Math.min(...psqlSamples);
      const row: GoalRow = {
        operation: m.operation,
        mutxSeconds,
        psqlSeconds,
        ratio: mutxSeconds / psqlSeconds,
        goal: m.goal.kind === 'ratio' ? `≤ ${m.goal.max}× psql` : `≤ ${m.goal.max} s`,
        pass: m.goal.kind === 'ratio' ? mutxSeconds / psqlSeconds <= m.goal.max : mutxSeconds <= m.goal.max,
        mutxSamples,
        psqlSamples,
      };
      log(`${row.operation}: mutx-ops ${mutxSamples.map((s) => s.toFixed(3)).join(' ')} | psql ${psqlSamples.map((s) => s.toFixed(3)).join(' ')}`);
      rows.push(row);
    }

    process.stdout.write(`\nmigrations: ${revisions} revisions, best of ${rounds}\n${formatGoalRows(rows)}\n`);
    return rows;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await cleanup();
  }
}

// ---------------------------------------------------------------- run directly

function isMain(): boolean {
  const entry = process.argv[1];
  return entry !== undefined && import.meta.url === pathToFileURL(path.resolve(entry)).href;
}

if (isMain()) {
  const args = process.argv.slice(2);
  const value = (flag: string) => {
    const index = args.indexOf(flag);
    if (index === -1) return undefined;
    const raw = Number(args[index + 1]);
    if (!Number.isInteger(raw) || raw < 1) {
      process.stderr.write(`${flag} needs a positive integer\n`);
      process.exit(2);
    }
    return raw;
  };
  benchMigrations({ revisions: value('--revisions') ?? (args.includes('--quick') ? 100 : undefined), rounds: value('--rounds') }).then(
    () => {
      process.exitCode = 0;
    },
    (error: unknown) => {
      process.stderr.write(`bench migrations failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
