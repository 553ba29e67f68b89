/**
 * Sandbox benchmark: the built CLI (dist/mutx-ops.js) in a fresh project folder.
 *
 *   node --import tsx bench/sandbox.ts [--quick] [--rounds N]
 *
 * 1. baseline: a raw `initdb` + `pg_ctl start` of a fresh cluster (initLocalCluster), same run;
 * 2. `sandbox start` from nothing (initdb, start, migrations to the starting revision, rows,
 *    template), reported against the baseline;
 * 3. `sandbox reset` (best of 3: DROP … WITH (FORCE) + CREATE … TEMPLATE);
 * 4. `sandbox stop`, then `sandbox start` of the stopped sandbox (warm start) and stop again.
 *
 * Every run is checked (exit code, JSON result) and everything is destroyed afterwards.
 * Run `npm run build` first (bench/run.ts does).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { loadProjectSettings } from '../src/core/config';
import '../src/core/settingsSchema';
import { initLocalCluster } from '../src/core/localCluster';
import { destroySandbox } from '../src/core/sandbox';
import { formatTable } from './migrations';
import { runStandalone } from './standalone';

export interface BenchSandboxOptions {
  quick?: boolean;
  /** Best of this many for the from-nothing start and the baseline (default 2, quick 1); reset is best of 3 regardless. */
  rounds?: number;
  /** Print the table (default true). */
  print?: boolean;
}

export interface SandboxGoalRow {
  operation: string;
  seconds: number;
  baselineSeconds?: number;
  goal: string;
  pass: boolean;
  samples: number[];
}

export interface BenchSandboxResult {
  rows: SandboxGoalRow[];
  baselineSeconds: number;
  startSeconds: number;
  resetSeconds: number;
  stopSeconds: number;
  warmStartSeconds: number;
}

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(REPO_ROOT, 'dist/mutx-ops.js');
const MIGRATIONS = path.join(REPO_ROOT, 'migrations');
const RESET_GOAL_SECONDS = 2;
const STOP_GOAL_SECONDS = 1;
/** From nothing: the raw initdb + start, plus this much for the schema, the rows and the template. */
const START_OVERHEAD_GOAL_SECONDS = 1.5;

interface CliRun {
  seconds: number;
  json: Record<string, unknown>;
}

function runCli(project: string, args: string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [BIN, '--json', ...args], {
      cwd: project,
      env: { ...process.env, DATABASE_URL: '', MUTX_OPERATOR: 'bench', MUTX_OPS_PREFS_DIR: path.join(project, '.prefs') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      if (code !== 0) {
        reject(new Error(`mutx-ops ${args.join(' ')} exited ${code}: ${stderr.trim() || stdout.trim()}`));
        return;
      }
      try {
        resolve({ seconds, json: JSON.parse(stdout) as Record<string, unknown> });
      } catch {
        reject(new Error(`mutx-ops ${args.join(' ')} printed no JSON: ${stdout.slice(0, 200)}`));
      }
    });
  });
}

function check(condition: unknown, what: string): void {
  if (!condition) throw new Error(`bench sandbox: ${what}`);
}

function freshProject(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mutx-bench-sandbox-'));
  fs.cpSync(MIGRATIONS, path.join(dir, 'migrations'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'mutx-ops.yaml'), 'lock_wait_seconds: 10\n');
  return dir;
}

async function removeProject(dir: string): Promise<void> {
  await destroySandbox(loadProjectSettings({ cwd: dir })).catch((error: unknown) => {
    process.stderr.write(`bench sandbox: could not destroy the sandbox in ${dir}: ${error instanceof Error ? error.message : String(error)}\n`);
  });
  fs.rmSync(dir, { recursive: true, force: true });
}

/** The baseline: raw initdb + pg_ctl start of a fresh cluster (as the postgres OS user when root). */
export async function baselineOnce(): Promise<number> {
  const started = performance.now();
  const cluster = await initLocalCluster();
  const seconds = (performance.now() - started) / 1000;
  await cluster.destroy();
  return seconds;
}

export async function benchSandbox(opts: BenchSandboxOptions = {}): Promise<BenchSandboxResult> {
  check(fs.existsSync(BIN), `${BIN} is missing: run \`npm run build\` first`);
  const rounds = Math.max(1, opts.rounds ?? (opts.quick ? 1 : 2));
  const print = opts.print ?? true;

  const baselineSamples: number[] = [];
  for (let i = 0; i < rounds; i++) baselineSamples.push(await baselineOnce());

  const startSamples: number[] = [];
  const resetSamples: number[] = [];
  const stopSamples: number[] = [];
  const warmSamples: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const project = freshProject();
    try {
      const start = await runCli(project, ['sandbox', 'start']);
      check(start.json.created === true && typeof start.json.url === 'string', `sandbox start did not create a sandbox: ${JSON.stringify(start.json)}`);
      startSamples.push(start.seconds);
      if (round > 0) continue;
      for (let i = 0; i < 3; i++) {
        const reset = await runCli(project, ['sandbox', 'reset']);
        check(reset.json.ok === true && reset.json.seeded === false, `sandbox reset: ${JSON.stringify(reset.json)}`);
        resetSamples.push(reset.seconds);
      }
      const stop = await runCli(project, ['sandbox', 'stop']);
      check(stop.json.was_running === true, `sandbox stop: ${JSON.stringify(stop.json)}`);
      stopSamples.push(stop.seconds);
      const warm = await runCli(project, ['sandbox', 'start']);
      check(warm.json.created === false && warm.json.already_running === false, `warm sandbox start: ${JSON.stringify(warm.json)}`);
      warmSamples.push(warm.seconds);
      const stopAgain = await runCli(project, ['sandbox', 'stop']);
      stopSamples.push(stopAgain.seconds);
    } finally {
      await removeProject(project);
    }
  }

  const best = (samples: number[]) => Math.min(...samples);
  const baselineSeconds = best(baselineSamples);
  const startSeconds = best(startSamples);
  const resetSeconds = best(resetSamples);
  const stopSeconds = best(stopSamples);
  const warmStartSeconds = best(warmSamples);
  const rows: SandboxGoalRow[] = [
    {
      operation: 'sandbox start (from nothing)',
      seconds: startSeconds,
      baselineSeconds,
      goal: `≤ initdb+start + ${START_OVERHEAD_GOAL_SECONDS} s`,
      pass: startSeconds <= baselineSeconds + START_OVERHEAD_GOAL_SECONDS,
      samples: startSamples,
    },
    { operation: 'sandbox reset (best of 3)', seconds: resetSeconds, goal: `≤ ${RESET_GOAL_SECONDS} s`, pass: resetSeconds <= RESET_GOAL_SECONDS, samples: resetSamples },
    { operation: 'sandbox stop', seconds: stopSeconds, goal: `≤ ${STOP_GOAL_SECONDS} s`, pass: stopSeconds <= STOP_GOAL_SECONDS, samples: stopSamples },
    { operation: 'sandbox start (stopped → running)', seconds: warmStartSeconds, baselineSeconds, goal: '≤ initdb+start', pass: warmStartSeconds <= baselineSeconds, samples: warmSamples },
  ];
  if (print) {
    process.stdout.write(`baseline: raw initdb + pg_ctl start of a fresh cluster, best of ${rounds}: ${baselineSeconds.toFixed(3)} s\n`);
    process.stdout.write(
      `${formatTable(
        ['operation', 'seconds', 'baseline s', 'goal', 'result'],
        rows.map((row) => [row.operation, row.seconds.toFixed(3), row.baselineSeconds === undefined ? '-' : row.baselineSeconds.toFixed(3), row.goal, row.pass ? 'PASS' : 'FAIL']),
      )}\n`,
    );
  }
  return { rows, baselineSeconds, startSeconds, resetSeconds, stopSeconds, warmStartSeconds };
}

runStandalone(import.meta.url, 'sandbox', benchSandbox);
