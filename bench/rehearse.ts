/**
 * Rehearsal benchmark: `mutx-ops rehearse upgrade head --round-trip` of an N-revision chain
 * (upgrade, downgrade and upgrade again on a scratch copy, with lock sampling) against the
 * same-run baseline of what an operator would do by hand: `mutx-ops upgrade head` on an empty
 * database plus a raw `pg_dump --schema-only | psql` copy of the migrated schema. Goal ≤ 2.5×.
 * Also reported: the rehearsal without lock sampling, and the raw copy alone.
 *
 *   node --import tsx bench/rehearse.ts [--revisions N] [--rounds N] [--quick]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { Databases, formatTable, generateChain, mustSucceed, runTimed, urlFor, writeProject } from './migrations';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(REPO_ROOT, 'dist/mutx-ops.js');
const ADMIN_URL = process.env.MUTX_BENCH_ADMIN_URL ?? process.env.MUTX_TEST_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const RATIO_GOAL = 2.5;

export interface BenchRehearseOptions {
  revisions?: number;
  rounds?: number;
  quick?: boolean;
}

interface Row {
  operation: string;
  measured: number;
  baseline: number;
  ratio: number;
  goal: string;
  pass: boolean;
}

/** pg_dump --schema-only of `from` streamed into psql on `into`, timed as one. */
function rawCopy(from: string, into: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const dump = spawn('pg_dump', ['--schema-only', '--no-owner', '--no-privileges', from], { stdio: ['ignore', 'pipe', 'inherit'] });
    const restore = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', into], { stdio: ['pipe', 'ignore', 'inherit'] });
    dump.stdout.pipe(restore.stdin);
    let left = 2;
    let failed = false;
    const done = (what: string) => (code: number | null) => {
      if (code !== 0 && !failed) {
        failed = true;
        reject(new Error(`${what} exited ${code}`));
      }
      if (--left === 0 && !failed) resolve((performance.now() - started) / 1000);
    };
    dump.once('close', done('pg_dump'));
    restore.once('close', done('psql'));
  });
}

export async function benchRehearse(opts: BenchRehearseOptions = {}): Promise<Row[]> {
  const revisions = opts.revisions ?? (opts.quick ? 60 : 300);
  const rounds = opts.rounds ?? (opts.quick ? 1 : 2);
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run -s build\` first`);
  const log = (line: string) => process.stderr.write(`[rehearse] ${line}\n`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mutx-bench-rehearse-'));
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  admin.on('error', () => {});
  await admin.connect();
  const databases = new Databases(admin);
  const env = { ...process.env, MUTX_OPERATOR: 'bench', MUTX_OPS_PREFS_DIR: path.join(work, '.prefs') };
  try {
    writeProject(work, generateChain(revisions));
    const best = { rehearse: Infinity, noLocks: Infinity, upgrade: Infinity, copy: Infinity };
    for (let round = 1; round <= rounds; round++) {
      log(`round ${round}/${rounds}: ${revisions} revisions`);
      const target = await databases.create('target');
      const rehearsal = await runTimed('node', [BIN, '--database-url', urlFor(target, ADMIN_URL), '--json', 'rehearse', 'upgrade', 'head', '--round-trip'], { cwd: work, env });
      mustSucceed('rehearse --round-trip', rehearsal);
      const report = JSON.parse(rehearsal.stdout) as { ok: boolean; steps: unknown[]; lockSamples: number };
      if (!report.ok || report.steps.length !== revisions * 3) throw new Error(`the rehearsal did not run ${revisions * 3} steps`);
      best.rehearse = Math.min(best.rehearse, rehearsal.seconds);
      log(`  rehearse --round-trip ${rehearsal.seconds.toFixed(2)} s (${report.lockSamples} lock samples)`);
      const noLocks = await runTimed('node', [BIN, '--database-url', urlFor(target, ADMIN_URL), 'rehearse', 'upgrade', 'head', '--round-trip', '--no-locks'], { cwd: work, env });
      mustSucceed('rehearse --round-trip --no-locks', noLocks);
      best.noLocks = Math.min(best.noLocks, noLocks.seconds);
      // The baseline: the plain upgrade, then a raw copy of the schema it made.
      const plain = await databases.create('plain');
      const upgrade = await runTimed('node', [BIN, '--database-url', urlFor(plain, ADMIN_URL), 'upgrade', 'head'], { cwd: work, env });
      mustSucceed('upgrade head', upgrade);
      const copyInto = await databases.create('copy');
      const copy = await rawCopy(urlFor(plain, ADMIN_URL), urlFor(copyInto, ADMIN_URL));
      best.upgrade = Math.min(best.upgrade, upgrade.seconds);
      best.copy = Math.min(best.copy, copy);
      log(`  upgrade head ${upgrade.seconds.toFixed(2)} s, pg_dump --schema-only | psql ${copy.toFixed(2)} s`);
      for (const name of [target, plain, copyInto]) await databases.drop(name);
    }
    const baseline = best.upgrade + best.copy;
    const rows: Row[] = [
      { operation: `rehearse upgrade head --round-trip (${revisions} revisions)`, measured: best.rehearse, baseline, ratio: best.rehearse / baseline, goal: `≤ ${RATIO_GOAL}× upgrade + schema copy`, pass: best.rehearse / baseline <= RATIO_GOAL },
      { operation: 'the same with --no-locks', measured: best.noLocks, baseline, ratio: best.noLocks / baseline, goal: 'report', pass: true },
      { operation: 'raw pg_dump --schema-only | psql of the migrated schema', measured: best.copy, baseline: best.upgrade, ratio: best.copy / best.upgrade, goal: 'report (vs upgrade head)', pass: true },
    ];
    process.stdout.write(`${formatTable(['operation', 'measured s', 'baseline s', 'ratio', 'goal', 'pass'], rows.map((r) => [r.operation, r.measured.toFixed(2), r.baseline.toFixed(2), `${r.ratio.toFixed(2)}×`, r.goal, r.pass ? 'yes' : 'NO']))}\n`);
    return rows;
  } finally {
    await databases.dropAll();
    await admin.end().catch(() => {});
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const value = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? Number(args[i + 1]) : undefined;
  };
  benchRehearse({ revisions: value('--revisions'), rounds: value('--rounds'), quick: args.includes('--quick') }).catch((error: unknown) => {
    process.stderr.write(`bench/rehearse: ${(error as Error).message}\n`);
    process.exitCode = 1;
  });
}
