/**
 * Review benchmark: `mutx-ops review` of the generated N-revision chain (bench/migrations.ts,
 * default 300) against an empty database — every revision pending, every table looked up in the
 * live catalog — and offline, each against a plain `node -e 0` start measured in the same run.
 * The parser's load time (import libpg-query + compile its WebAssembly) is reported separately.
 *
 *   node --import tsx bench/review.ts [--revisions N] [--rounds N]
 *
 * Goal: ≤ 1 s in all for the connected review of 300 revisions.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { formatTable, generateChain, urlFor, writeProject } from './migrations';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(REPO_ROOT, 'dist/mutx-ops.js');
const ADMIN_URL = process.env.MUTX_BENCH_ADMIN_URL ?? process.env.MUTX_TEST_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const GOAL_SECONDS = 1;

export interface BenchReviewOptions {
  revisions?: number;
  rounds?: number;
}

interface Row {
  operation: string;
  mutxSeconds: number;
  baselineSeconds: number;
  ratio: number;
  goal: string;
  pass: boolean;
  samples: number[];
}

function timed(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<{ seconds: number; code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ seconds: (performance.now() - started) / 1000, code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

const best = (samples: number[]) => Math.min(...samples);

export async function benchReview(opts: BenchReviewOptions = {}): Promise<Row[]> {
  const revisions = opts.revisions ?? 300;
  const rounds = opts.rounds ?? 3;
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run -s build\` first`);
  const log = (line: string) => process.stderr.write(`[review] ${line}\n`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mutx-bench-review-'));
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  const database = `mutx_bench_review_${crypto.randomBytes(3).toString('hex')}`;
  try {
    writeProject(work, generateChain(revisions));
    await admin.query(`CREATE DATABASE "${database}"`);
    const url = urlFor(database, ADMIN_URL);
    const env = { ...process.env, MUTX_OPERATOR: 'bench', MUTX_OPS_PREFS_DIR: path.join(work, '.prefs') };
    log(`${revisions} revisions in ${work}, database ${database} at base`);

    const check = (what: string, result: { code: number | null; stdout: string; stderr: string }) => {
      if (result.code !== 0 || !result.stdout.includes(`${revisions} revision(s)`) || !result.stdout.includes('0 error(s)')) {
        throw new Error(`${what} exited ${result.code}: ${(result.stderr || result.stdout).split('\n').slice(-5).join('\n')}`);
      }
    };
    const node: number[] = [];
    const connected: number[] = [];
    const offline: number[] = [];
    const parser: number[] = [];
    const loadScript = "const t = performance.now(); (await import('node:v8')).default.setFlagsFromString('--liftoff-only'); const m = await import('libpg-query'); await m.loadModule(); process.stdout.write(String(performance.now() - t));";
    for (let round = 0; round < rounds; round++) {
      node.push((await timed(process.execPath, ['-e', '0'], work)).seconds);
      const live = await timed(process.execPath, [BIN, '--database-url', url, 'review', '--brief'], work, env);
      check('mutx-ops review', live);
      connected.push(live.seconds);
      const off = await timed(process.execPath, [BIN, 'review', '--offline', '--brief'], work, env);
      check('mutx-ops review --offline', off);
      offline.push(off.seconds);
      const load = await timed(process.execPath, ['--input-type=module', '-e', loadScript], REPO_ROOT);
      if (load.code !== 0) throw new Error(`loading libpg-query failed: ${load.stderr}`);
      parser.push(Number(load.stdout) / 1000);
    }
    const baseline = best(node);
    const row = (operation: string, samples: number[], goal: string, pass: boolean): Row => ({ operation, mutxSeconds: best(samples), baselineSeconds: baseline, ratio: best(samples) / baseline, goal, pass, samples });
    const rows = [
      row(`review ${revisions} revisions (connected, sizes looked up)`, connected, `≤ ${GOAL_SECONDS} s`, best(connected) <= GOAL_SECONDS),
      row(`review ${revisions} revisions --offline`, offline, `≤ ${GOAL_SECONDS} s`, best(offline) <= GOAL_SECONDS),
      row('parser load (import libpg-query + WebAssembly)', parser, 'reported', true),
    ];
    process.stdout.write(
      `${formatTable(
        ['operation', 'seconds', 'node -e 0 s', 'ratio', 'cost over node', 'goal', 'result'],
        rows.map((r) => [r.operation, r.mutxSeconds.toFixed(3), r.baselineSeconds.toFixed(3), `${r.ratio.toFixed(2)}×`, r.operation.startsWith('parser') ? '-' : `+${(r.mutxSeconds - r.baselineSeconds).toFixed(3)}`, r.goal, r.pass ? 'PASS' : 'FAIL']),
      )}\n`,
    );
    return rows;
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`).catch(() => {});
    await admin.end().catch(() => {});
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = (name: string) => {
    const at = process.argv.indexOf(name);
    return at === -1 ? undefined : Number(process.argv[at + 1]);
  };
  benchReview({ revisions: arg('--revisions'), rounds: arg('--rounds') }).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
