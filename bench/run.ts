/**
 * `npm run bench`: runs every benchmark in bench/ in turn, prints a summary of all goals and
 * writes bench/out/results.json.
 *
 *   node --import tsx bench/run.ts [--only NAME[,NAME]] [--quick] [--rounds N]
 *
 * A bench is a file bench/<name>.ts exporting `bench<Name>(opts)` (e.g. logs.ts →
 * benchLogs, pg-dump.ts → benchPgDump; start.ts → benchStart, `--only start`: npm start →
 * home screen on a new sandbox). migrations is always there; the others are imported
 * only if their file exists. Every bench gets the same options object (BenchOptions below) and
 * picks the keys it knows. A bench may return GoalRow-like rows (an array, or { rows }) with at
 * least `operation` (or `name`) and `pass`; they go into the summary.
 *
 * Exit status: 0 when every bench ran, even if goals failed (benchmarks report, they do not
 * gate); 1 when a bench crashed; 2 for bad arguments.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchMigrations, formatTable } from './migrations';

/** Options handed to every bench; undefined keys mean "the bench's default". */
export interface BenchOptions {
  quick: boolean;
  /** migrations: length of the generated chain. */
  revisions?: number;
  /** Best of this many runs, where a bench repeats measurements. */
  rounds?: number;
  /** logs: size of the generated log file. */
  logMegabytes?: number;
  /** backup: pgbench scale factor of the database to back up. */
  pgbenchScale?: number;
}

type BenchFn = (opts: BenchOptions) => Promise<unknown>;

interface SummaryRow {
  bench: string;
  operation: string;
  measured: number | undefined;
  baseline: number | undefined;
  goal: string;
  pass: boolean;
}

interface BenchOutcome {
  name: string;
  ok: boolean;
  seconds: number;
  result?: unknown;
  error?: string;
}

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
const OUT_FILE = path.join(BENCH_DIR, 'out', 'results.json');
/** Known benches first, in this order; any other bench/<name>.ts follows alphabetically. */
const KNOWN = ['migrations', 'backup', 'logs', 'start', 'rehearse'];
/** Helpers beside the benches, not benches. */
const NOT_BENCHES = new Set(['run', 'pty', 'standalone']);

const exportName = (name: string) => `bench${name.replace(/(^|[-_.])([a-z0-9])/gi, (_, _sep: string, c: string) => c.toUpperCase())}`;

interface Discovered {
  name: string;
  load: () => Promise<BenchFn>;
}

/** The benches present now. A file counts only if it visibly exports bench<Name>, so helpers are never imported. */
function discover(): Discovered[] {
  const found: Discovered[] = [{ name: 'migrations', load: async () => benchMigrations as BenchFn }];
  const files = fs
    .readdirSync(BENCH_DIR)
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && !file.endsWith('.test.ts'))
    .map((file) => file.slice(0, -3))
    .filter((name) => name !== 'migrations' && !NOT_BENCHES.has(name))
    .sort((a, b) => {
      const ka = KNOWN.indexOf(a) === -1 ? KNOWN.length : KNOWN.indexOf(a);
      const kb = KNOWN.indexOf(b) === -1 ? KNOWN.length : KNOWN.indexOf(b);
      return ka - kb || a.localeCompare(b);
    });
  for (const name of files) {
    const file = path.join(BENCH_DIR, `${name}.ts`);
    if (!fs.existsSync(file)) continue;
    const fn = exportName(name);
    const text = fs.readFileSync(file, 'utf8');
    const exported = new RegExp(`export\\s+(?:async\\s+)?function\\s+${fn}\\b|export\\s+(?:const|let)\\s+${fn}\\b|export\\s*\\{[^}]*\\b${fn}\\b`).test(text);
    if (!exported) continue;
    found.push({
      name,
      load: async () => {
        const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
        const bench = mod[fn];
        if (typeof bench !== 'function') throw new Error(`${path.relative(process.cwd(), file)} does not export a function ${fn}`);
        return bench as BenchFn;
      },
    });
  }
  return found;
}

function parseArgs(argv: string[]): { only: string[] | undefined; quick: boolean; rounds: number | undefined } {
  let only: string[] | undefined;
  let quick = false;
  let rounds: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const next = () => {
      const value = inline ?? argv[++i];
      if (value === undefined || value === '') usage(`${flag} needs a value`);
      return value;
    };
    switch (flag) {
      case '--only':
        only = [...(only ?? []), ...next().split(',').map((s) => s.trim()).filter(Boolean)];
        break;
      case '--quick':
        quick = true;
        break;
      case '--rounds': {
        const value = Number(next());
        if (!Number.isInteger(value) || value < 1) usage('--rounds needs a positive integer');
        rounds = value;
        break;
      }
      case '-h':
      case '--help':
        process.stdout.write('usage: node --import tsx bench/run.ts [--only NAME[,NAME]] [--quick] [--rounds N]\n');
        process.exit(0);
        break;
      default:
        usage(`unknown argument ${arg}`);
    }
  }
  return { only, quick, rounds };
}

function usage(message: string): never {
  process.stderr.write(`bench: ${message}\nusage: node --import tsx bench/run.ts [--only NAME[,NAME]] [--quick] [--rounds N]\n`);
  process.exit(2);
}

/** Goal rows from whatever a bench returned: an array of rows, or { rows: [...] }. */
function goalRows(bench: string, result: unknown): SummaryRow[] {
  const list = Array.isArray(result) ? result : result && typeof result === 'object' && Array.isArray((result as { rows?: unknown }).rows) ? (result as { rows: unknown[] }).rows : [];
  const rows: SummaryRow[] = [];
  for (const item of list) {
    if (!item || typeof item !== 'object') continue;
    const row = item as Record<string, unknown>;
    if (typeof row.pass !== 'boolean') continue;
    const num = (...keys: string[]) => {
      for (const key of keys) if (typeof row[key] === 'number' && Number.isFinite(row[key])) return row[key] as number;
      return undefined;
    };
    rows.push({
      bench,
      operation: String(row.operation ?? row.name ?? row.label ?? '?'),
      measured: num('mutxSeconds', 'seconds', 'value', 'measured'),
      baseline: num('psqlSeconds', 'baselineSeconds', 'baseline'),
      goal: String(row.goal ?? ''),
      pass: row.pass,
    });
  }
  return rows;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const available = discover();
  const unknown = (args.only ?? []).filter((name) => !available.some((bench) => bench.name === name));
  if (unknown.length > 0) usage(`no bench named ${unknown.join(', ')} (available: ${available.map((b) => b.name).join(', ')})`);
  const selected = args.only ? available.filter((bench) => args.only!.includes(bench.name)) : available;
  const options: BenchOptions = args.quick ? { quick: true, revisions: 100, logMegabytes: 100, pgbenchScale: 10, rounds: args.rounds } : { quick: false, rounds: args.rounds };

  const startedAt = new Date();
  const outcomes: BenchOutcome[] = [];
  for (const bench of selected) {
    process.stdout.write(`\n== ${bench.name}${args.quick ? ' (quick)' : ''} ==\n`);
    const started = performance.now();
    try {
      const fn = await bench.load();
      const result = await fn({ ...options });
      outcomes.push({ name: bench.name, ok: true, seconds: (performance.now() - started) / 1000, result });
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      process.stderr.write(`bench ${bench.name} CRASHED: ${message}\n`);
      outcomes.push({ name: bench.name, ok: false, seconds: (performance.now() - started) / 1000, error: error instanceof Error ? error.message : String(error) });
    }
  }

  const goals = outcomes.flatMap((outcome) => (outcome.ok ? goalRows(outcome.name, outcome.result) : []));
  const fmt = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(3));
  const summary: string[][] = goals.map((g) => [g.bench, g.operation, fmt(g.measured), fmt(g.baseline), g.goal, g.pass ? 'PASS' : 'FAIL']);
  for (const outcome of outcomes) {
    if (!outcome.ok) summary.push([outcome.name, `CRASHED: ${(outcome.error ?? '').split('\n')[0]!.slice(0, 80)}`, '-', '-', '-', 'CRASH']);
    else if (goalRows(outcome.name, outcome.result).length === 0) summary.push([outcome.name, '(no goals reported)', '-', '-', '-', '-']);
  }
  process.stdout.write(`\n== summary ==\n${formatTable(['bench', 'operation', 'measured s', 'baseline s', 'goal', 'result'], summary)}\n`);
  const failed = goals.filter((g) => !g.pass).length;
  const crashed = outcomes.filter((o) => !o.ok).length;
  process.stdout.write(`${goals.length - failed}/${goals.length} goal(s) met${crashed ? `; ${crashed} bench(es) crashed` : ''}\n`);

  fs.mkdirSync(path.dirname(OUT_FILE), { recursive: true });
  const report = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    options,
    machine: { node: process.version, platform: `${os.platform()} ${os.release()}`, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? null },
    goals,
    benches: outcomes,
  };
  fs.writeFileSync(OUT_FILE, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`results: ${path.relative(process.cwd(), OUT_FILE) || OUT_FILE}\n`);
  return crashed > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
