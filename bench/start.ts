/**
 * Start-up benchmark: from `npm start` to the home screen on a NEW practice sandbox, the way a
 * new engineer meets the tool (nothing configured, no .mutx-ops folder yet).
 *
 *   node --import tsx bench/start.ts [--quick] [--rounds N]
 *
 * The working tree (tracked and untracked files, not ignored ones) is copied into a temporary
 * project with this checkout's node_modules symlinked in. Each round, in a pseudo-terminal
 * (util-linux `script`, 100×30), with no DATABASE_URL, no PG*, no CI and an empty preferences
 * folder:
 *   1. baseline: a raw `initdb` + `pg_ctl start` of a fresh cluster (initLocalCluster, as the
 *      postgres OS user when root — the baseline bench/sandbox.ts uses);
 *   2. `npm start` (build + app) → home screen on the sandbox it creates;
 *   3. `node dist/mutx-ops.js` → the same, without the build.
 * "Home screen" = the header shows the sandbox as target with its revision read ("… pending
 * migration") and the runbooks are listed. The app is quit with `q` (it must exit 0), then the
 * sandbox is destroyed before the next round. Medians of N rounds (3 with --quick, else 5); the
 * order of the three rotates each round. Goal: ≤ 3 s. The copy builds its own dist.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { loadProjectSettings, PROJECT_FILE, type ProjectSettings } from '../src/core/config';
import '../src/core/settingsSchema';
import { destroySandbox, sandboxStatus } from '../src/core/sandbox';
import { formatTable } from './migrations';
import { baselineOnce } from './sandbox';
import { runStandalone } from './standalone';
import { Pty, stripAnsi } from './pty';

export interface BenchStartOptions {
  quick?: boolean;
  /** Rounds; the median is reported. Default 5 (quick: 3). */
  rounds?: number;
  /** Print the table (default true). */
  print?: boolean;
}

export interface StartGoalRow {
  operation: string;
  seconds: number;
  /** Raw initdb + pg_ctl start, median of the same rounds. */
  baselineSeconds: number;
  ratio: number;
  goal: string;
  pass: boolean;
  samples: number[];
  baselineSamples: number[];
}

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const GOAL_SECONDS = 3;
const HOME_TIMEOUT_MS = 60_000;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

function check(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`bench start: ${what}`);
}

/**
 * A copy of the working tree (what `git clone` + uncommitted changes would give), with this
 * checkout's node_modules symlinked in; mutx-ops.yaml, if any, keeps no environment.
 */
function copyProject(): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'mutx-bench-start-')));
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO_ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
    .split('\0')
    .filter(Boolean);
  for (const file of files) {
    const from = path.join(REPO_ROOT, file);
    if (!fs.existsSync(from) || !fs.statSync(from).isFile()) continue; // deleted, or a submodule
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.copyFileSync(from, path.join(dir, file));
  }
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  const projectFile = path.join(dir, PROJECT_FILE);
  if (fs.existsSync(projectFile)) {
    const parsed = (YAML.parse(fs.readFileSync(projectFile, 'utf8')) ?? {}) as Record<string, unknown>;
    delete parsed.environments;
    delete parsed.default_environment;
    fs.writeFileSync(projectFile, YAML.stringify(parsed));
  }
  fs.rmSync(path.join(dir, '.mutx-ops'), { recursive: true, force: true });
  return dir;
}

/** What an engineer's shell would hold: none of DATABASE_URL, PG*, CI, npm's run-script variables. */
function cleanEnvironment(prefsDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (/^(DATABASE_URL|DATABASE_SSL_MODE|PG.*|CI|CONTINUOUS_INTEGRATION|npm_.*|INIT_CWD|NODE_ENV|NODE_OPTIONS|MUTX_.*|VITEST.*)$/i.test(key)) continue;
    env[key] = value;
  }
  return { ...env, TERM: 'xterm-256color', MUTX_OPERATOR: 'bench', MUTX_OPS_PREFS_DIR: prefsDir, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
}

interface AppRun {
  seconds: number;
  /** In-process marks (ms since the app's node started) from MUTX_OPS_TRACE_STARTUP. */
  trace?: { appStart?: number; targetReady?: number; tuiLoaded?: number; servicesReady?: number; firstFrame?: number };
}

/** Launches `command` in the project, waits for home on a new sandbox, quits with q, destroys the sandbox. */
async function appOnce(command: string, project: string, settings: ProjectSettings, env: NodeJS.ProcessEnv): Promise<AppRun> {
  check(!fs.existsSync(settings.statePath), `${settings.statePath} exists before the round: not a new sandbox`);
  const traceFile = path.join(os.tmpdir(), `mutx-bench-start-trace-${process.pid}.json`);
  fs.rmSync(traceFile, { force: true });
  const started = performance.now();
  const app = new Pty(command, project, { ...env, MUTX_OPS_TRACE_STARTUP: traceFile });
  try {
    await app.waitFor(/pending migration/, HOME_TIMEOUT_MS);
    const shown = await app.waitFor(/Runbooks\r?\n[\s\S]*emergency-rollback/, HOME_TIMEOUT_MS);
    const seconds = (shown - started) / 1000;
    const text = stripAnsi(app.output);
    check(text.includes('environment: sandbox (practice)'), `${command}: the home screen does not show the sandbox as target:\n${text.slice(-2000)}`);
    const status = await sandboxStatus(settings);
    check(status.state === 'running' && status.ownedByApp === true, `${command}: the sandbox is ${status.state}${status.ownedByApp ? '' : ' (not owned by the app)'}`);
    check(/postgresql:\/\/postgres@%2F\S*mutx-sandbox-\w+:\d+\/mutx/.test(text) && text.includes(`:${status.port}/mutx`), `${command}: the header does not name the sandbox on port ${status.port}`);
    app.write('q');
    const code = await app.exit(20_000);
    check(code === 0, `${command}: exited ${code === undefined ? '(killed: no exit 20 s after q)' : code} after q`);
    let trace: AppRun['trace'];
    try {
      trace = JSON.parse(fs.readFileSync(traceFile, 'utf8')) as AppRun['trace'];
    } catch {
      trace = undefined;
    }
    return { seconds, trace };
  } finally {
    if (app.child.exitCode === null) {
      app.child.kill('SIGHUP');
      await app.exited;
    }
    fs.rmSync(traceFile, { force: true });
    await destroySandbox(settings);
    fs.rmSync(settings.statePath, { recursive: true, force: true });
  }
}

export async function benchStart(opts: BenchStartOptions = {}): Promise<{ rows: StartGoalRow[] }> {
  const rounds = Math.max(1, opts.rounds ?? (opts.quick ? 3 : 5));
  const print = opts.print ?? true;
  const log = (line: string) => process.stderr.write(`[start] ${line}\n`);
  check(fs.existsSync(path.join(REPO_ROOT, 'node_modules')), `${path.join(REPO_ROOT, 'node_modules')} is missing: run npm ci first`);

  const project = copyProject();
  const prefsDir = path.join(project, '.prefs-bench');
  fs.mkdirSync(prefsDir);
  const settings = loadProjectSettings({ cwd: project });
  const env = cleanEnvironment(prefsDir);
  const baselineSamples: number[] = [];
  const npmRuns: AppRun[] = [];
  const nodeRuns: AppRun[] = [];
  try {
    check(settings.root === project, `the copy's project root is ${settings.root} (a mutx-ops.yaml further up?)`);
    check(!settings.default_environment && Object.keys(settings.environments).length === 0, 'the copy configures an environment');
    // The direct runs need the copy's dist; the first npm start of each round rebuilds it anyway.
    execFileSync('npm', ['run', '-s', 'build'], { cwd: project, env, stdio: ['ignore', 'ignore', 'inherit'] });

    type Step = 'baseline' | 'npm' | 'node';
    const steps: Record<Step, () => Promise<void>> = {
      baseline: async () => void baselineSamples.push(await baselineOnce()),
      npm: async () => void npmRuns.push(await appOnce('npm start', project, settings, env)),
      node: async () => void nodeRuns.push(await appOnce(`${process.execPath} dist/mutx-ops.js`, project, settings, env)),
    };
    const order: Step[] = ['baseline', 'npm', 'node'];
    for (let round = 0; round < rounds; round++) {
      const rotated = [...order.slice(round % 3), ...order.slice(0, round % 3)];
      for (const step of rotated) await steps[step]();
      const trace = nodeRuns.at(-1)!.trace;
      const marks = trace ? ` (node's trace, ms since it started: tui loaded ${Math.round(trace.tuiLoaded ?? NaN)}, sandbox ready ${Math.round(trace.servicesReady ?? NaN)}, first frame ${Math.round(trace.firstFrame ?? NaN)})` : '';
      log(`round ${round + 1}/${rounds}: initdb+start ${baselineSamples.at(-1)!.toFixed(3)} s · npm start ${npmRuns.at(-1)!.seconds.toFixed(3)} s · node ${nodeRuns.at(-1)!.seconds.toFixed(3)} s${marks}`);
    }
  } finally {
    await destroySandbox(settings).catch(() => {});
    fs.rmSync(project, { recursive: true, force: true });
  }

  const baselineSeconds = median(baselineSamples);
  const row = (operation: string, samples: number[], goal: string, pass: (seconds: number) => boolean): StartGoalRow => {
    const seconds = median(samples);
    return { operation, seconds, baselineSeconds, ratio: seconds / baselineSeconds, goal, pass: pass(seconds), samples, baselineSamples };
  };
  const withinGoal = (seconds: number) => seconds <= GOAL_SECONDS;
  const rows: StartGoalRow[] = [
    row('npm start → home on a new sandbox', npmRuns.map((r) => r.seconds), `≤ ${GOAL_SECONDS} s`, withinGoal),
    row('node dist/mutx-ops.js → home on a new sandbox', nodeRuns.map((r) => r.seconds), `≤ ${GOAL_SECONDS} s`, withinGoal),
  ];
  // Where the direct run's time goes, from the app's own trace (ms since its node started).
  const traced = nodeRuns.map((r) => r.trace).filter((t): t is NonNullable<AppRun['trace']> => t?.appStart !== undefined && t.targetReady !== undefined);
  if (traced.length === nodeRuns.length && traced.length > 0) {
    // The sandbox starts while the app's chunk loads: this is its own time, overlapped with that load.
    rows.push(row('  of which: sandbox creation inside the app', traced.map((t) => (t.targetReady! - t.appStart!) / 1000), 'info', () => true));
  }

  if (print) {
    process.stdout.write(`start: median of ${rounds}; baseline = raw initdb + pg_ctl start of a fresh cluster, same rounds: ${baselineSeconds.toFixed(3)} s\n`);
    process.stdout.write(
      `${formatTable(
        ['operation', 'mutx-ops s', 'initdb+start s', 'ratio', 'goal', 'result'],
        rows.map((r) => [r.operation, r.seconds.toFixed(3), r.baselineSeconds.toFixed(3), `${r.ratio.toFixed(2)}×`, r.goal, r.goal === 'info' ? '-' : r.pass ? 'PASS' : 'FAIL']),
      )}\n`,
    );
  }
  return { rows };
}

runStandalone(import.meta.url, 'start', benchStart);
