/**
 * Benchmark of the interactive app (the bundled binary in a pseudo-terminal from `script`).
 *
 *   node --import tsx bench/tui.ts [--rounds 5] [--follow-seconds 10] [--rate 50000]
 *
 * 1. cold start: spawn → first frame (the home screen's "Runbooks" line), median of N, with
 *    `node -e 0` (spawn → exit, same pty) measured in the same run as the floor. Goal ≤ 0.3 s.
 * 2. memory: the Logs screen (all lines shown) following a file written at 50k lines/s; peak
 *    RSS of the app's process from /proc. Goal < 150 MB.
 * 3. idle CPU: utime+stime from /proc/<pid>/stat over 5 s on the home screen. Goal ≈ 0.
 * 4. keystrokes: from launch to a finished `emergency-rollback` (backup, downgrade -1, verify)
 *    on a non-protected environment, counted as they are typed. Goal ≤ 12.
 *
 * Needs the build (npm run build), PostgreSQL at MUTX_TEST_ADMIN_URL and the repo's runbooks.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { migratedAppEnv } from './appProject';
import { Pty, sleep, stripAnsi } from './pty';
import { BIN, createTestDatabase, createTestProject, REPO_ROOT } from '../test/helpers/db';

export interface BenchTuiOptions {
  /** Cold starts measured; the median is kept. Default 5. */
  rounds?: number;
  /** Length of the log-follow memory measurement. Default 10 (quick: 5). */
  followSeconds?: number;
  /** Lines per second written to the followed log. Default 50 000. */
  rate?: number;
  quick?: boolean;
  print?: boolean;
  /** Runbooks copied into the bench project. Default: the repo's runbooks/. */
  runbooksDir?: string;
}

export interface BenchTuiRow {
  operation: string;
  value: number;
  unit: string;
  goal: string;
  pass: boolean;
  /** Cold start: the `node -e 0` floor measured in the same run. */
  baseline?: number;
}

const PAGE = 4096;
const TICKS = 100; // USER_HZ on Linux

function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

function rssMB(pid: number): number {
  const statm = fs.readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ');
  return (Number(statm[1]) * PAGE) / (1024 * 1024);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function benchTui(opts: BenchTuiOptions = {}): Promise<{ rows: BenchTuiRow[] }> {
  const rounds = opts.rounds ?? 5;
  const followSeconds = opts.followSeconds ?? (opts.quick ? 5 : 10);
  const rate = opts.rate ?? 50_000;
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run npm run build first`);
  const db = await createTestDatabase('mutx_bench_tui');
  const project = createTestProject({ settings: ['lock_wait_seconds: 10', 'default_environment: bench', 'environments:', '  bench:', '    url_env: BENCH_DATABASE_URL', '    log_source: logs/app.log', ''].join('\n') });
  const rows: BenchTuiRow[] = [];
  try {
    fs.cpSync(opts.runbooksDir ?? path.join(REPO_ROOT, 'runbooks'), path.join(project.dir, 'runbooks'), { recursive: true });
    fs.mkdirSync(path.join(project.dir, 'logs'));
    const logFile = path.join(project.dir, 'logs', 'app.log');
    fs.writeFileSync(logFile, '');
    const env = await migratedAppEnv(project.dir, db.url);

    // 1. cold start, with the floor in the same run.
    const starts: number[] = [];
    const floors: number[] = [];
    const inProcess: number[] = [];
    const traceFile = path.join(project.dir, 'startup-trace.json');
    for (let i = 0; i < rounds; i++) {
      const t0 = performance.now();
      const floor = new Pty(`node -e 0`, project.dir, env);
      await floor.exited;
      floors.push((performance.now() - t0) / 1000);
      const t1 = performance.now();
      const app = new Pty(`node ${BIN}`, project.dir, { ...env, MUTX_OPS_TRACE_STARTUP: traceFile });
      const shown = await app.waitFor('Runbooks');
      starts.push((shown - t1) / 1000);
      await app.kill();
      try {
        inProcess.push((JSON.parse(fs.readFileSync(traceFile, 'utf8')) as { firstFrame: number }).firstFrame / 1000);
      } catch {
        // no trace
      }
    }
    const start = median(starts);
    rows.push({ operation: 'cold start to first frame (spawn → frame on the pty)', value: start, unit: 's', baseline: median(floors), goal: '≤ 0.3 s', pass: start <= 0.3 });
    if (inProcess.length) rows.push({ operation: 'first frame, measured inside the process (since node started)', value: median(inProcess), unit: 's', goal: 'info', pass: true });

    // 3. idle CPU on the home screen (after the database status arrived).
    const idle = new Pty(`node ${BIN}`, project.dir, env);
    await idle.waitFor('(head)');
    const pid = await idle.appPid();
    await sleep(1000);
    const before = cpuSeconds(pid);
    await sleep(5000);
    const idleCpu = (cpuSeconds(pid) - before) / 5;
    rows.push({ operation: 'CPU while idle on home (share of a core, 5 s)', value: idleCpu, unit: 'cores', goal: '≈ 0 (< 0.01)', pass: idleCpu < 0.01 });

    // 2. memory while following a log at `rate` lines/s (all lines shown: the worst case).
    idle.write('l');
    await idle.waitFor('filter /error/');
    const follow = async (): Promise<number> => {
      let peak = rssMB(pid);
      const writer = spawn(process.execPath, ['-e', WRITER, logFile, String(rate), String(followSeconds)], { stdio: 'ignore' });
      const sampler = setInterval(() => {
        try {
          peak = Math.max(peak, rssMB(pid));
        } catch {
          // exited
        }
      }, 100);
      await new Promise((resolve) => writer.once('exit', resolve));
      await sleep(500);
      clearInterval(sampler);
      return peak;
    };
    const errorsPeak = await follow();
    const sawErrors = stripAnsi(idle.output.slice(-20_000)).includes('ERROR line');
    rows.push({ operation: `peak RSS following a log at ${rate} lines/s for ${followSeconds} s (errors view, the default)`, value: errorsPeak, unit: 'MB', goal: '< 150 MB', pass: errorsPeak < 150 && sawErrors });
    idle.write('m'); // the key map's "matching lines only / all lines"
    await idle.waitFor('showing all lines');
    const allPeak = await follow();
    const sawLines = stripAnsi(idle.output.slice(-20_000)).includes('INFO line');
    rows.push({ operation: `peak RSS following a log at ${rate} lines/s for ${followSeconds} s (all lines shown)`, value: allPeak, unit: 'MB', goal: '< 150 MB', pass: allPeak < 150 && sawLines });
    await idle.kill();

    // 4. keystrokes from launch to a finished emergency rollback.
    const rollback = new Pty(`node ${BIN}`, project.dir, env);
    let keystrokes = 0;
    const key = (k: string) => {
      keystrokes++;
      rollback.write(k);
    };
    await rollback.waitFor('(head)');
    await rollback.waitFor('› ⚠ emergency-rollback');
    key('\r'); // choose it (emergencies are listed first, the cursor is on it): its review, then its plan
    await rollback.waitFor('Review what the rollback loses ·', 60_000);
    // Enter reads the review to its end; the plan comes next (Enter alone never confirms a plan).
    const reviewStarted = Date.now();
    while (!stripAnsi(rollback.output).includes('Run this plan?')) {
      if (Date.now() - reviewStarted > 60_000) throw new Error('the plan never showed after the review');
      key('\r');
      await sleep(350);
    }
    key('y'); // the plan, confirmed explicitly (not the sandbox, not protected)
    await rollback.waitFor('confirm when done', 120_000); // backup, downgrade -1, verify ran
    key('\r'); // the closing manual step
    await rollback.waitFor('run completed', 60_000);
    key('q');
    await new Promise((resolve) => rollback.child.once('exit', resolve));
    const at = (await db.query<{ version_num: string }>('SELECT version_num FROM alembic_version')).rows.map((r) => r.version_num);
    const down = at.length === 1 && at[0] !== '9d3e71c2a5b8';
    rows.push({ operation: 'keystrokes: launch → finished emergency rollback → quit', value: keystrokes, unit: 'keys', goal: '≤ 12', pass: keystrokes <= 12 && down });
  } finally {
    await db.drop();
    project.cleanup();
  }
  if (opts.print ?? false) {
    for (const row of rows) {
      process.stdout.write(`${row.pass ? 'PASS' : 'FAIL'}  ${row.operation}: ${row.unit === 's' || row.unit === 'cores' ? row.value.toFixed(3) : Math.round(row.value)} ${row.unit}${row.baseline !== undefined ? ` (node -e 0: ${row.baseline.toFixed(3)} s)` : ''} — goal ${row.goal}\n`);
    }
  }
  return { rows };
}

/** Appends numbered lines (1% errors) at `rate` per second for `seconds`. */
const WRITER = `
const fs = require('node:fs');
const [file, rate, seconds] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const fd = fs.openSync(file, 'a');
const start = Date.now();
let n = 0;
const tick = () => {
  const due = Math.min(rate * seconds, Math.floor(((Date.now() - start) / 1000) * rate));
  let chunk = '';
  for (; n < due; n++) chunk += (n % 100 === 0 ? 'ERROR ' : 'INFO ') + 'line ' + n + ' GET /api/v1/items?page=' + (n % 50) + ' 200 12ms\\n';
  if (chunk) fs.writeSync(fd, chunk);
  if (n >= rate * seconds) { fs.closeSync(fd); return; }
  setTimeout(tick, 10);
};
tick();
`;

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const value = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : undefined;
  };
  benchTui({ runbooksDir: args.includes('--runbooks') ? args[args.indexOf('--runbooks') + 1] : undefined, rounds: value('--rounds'), followSeconds: value('--follow-seconds'), rate: value('--rate'), quick: args.includes('--quick'), print: true }).then(
    () => {
      process.exitCode = 0;
    },
    (error: unknown) => {
      process.stderr.write(`bench tui: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
