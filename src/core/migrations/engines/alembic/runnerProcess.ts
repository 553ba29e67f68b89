import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ProjectSettings } from '../../../config';
import { redactSecrets, targetUrl, type Target } from '../../../connection';
import { MutxError } from '../../../errors';
import { applicationName, type Operator } from '../../../identity';
import type { AlembicProject } from './project';
import { pythonCandidates, type PythonCandidate } from './python';

/** What the runner (runner.py) reports on its file descriptor 3, one JSON object per line. */
export type RunnerEvent =
  | { event: 'imported'; python: string; alembic: string }
  | { event: 'no-alembic'; python: string; error: string }
  | { event: 'unsupported'; python: string; alembic: string; minimum: string }
  | { event: 'ready'; alembic: string; sqlalchemy: string; python: string }
  | { event: 'plan'; direction: string; steps: RunnerPlanStep[]; heads_before: string[]; heads_after: string[] }
  | { event: 'connected'; pid: number; database: string; application_name: string; backend_start: string; version_table: string; version_table_schema: string; transaction_per_migration: boolean; configure_count: number }
  | { event: 'step-started'; revision: string; direction: 'upgrade' | 'downgrade'; index: number; total: number; message: string }
  | { event: 'step-finished'; revision: string; direction: 'upgrade' | 'downgrade'; duration_ms: number; heads: string[]; index: number; total: number }
  | { event: 'autocommit'; revision: string; direction: 'upgrade' | 'downgrade' }
  | { event: 'done'; heads: string[] }
  | { event: 'graph'; revisions: RunnerRevision[]; heads: string[]; bases: string[] }
  | { event: 'created'; revisions: { revision: string; path: string; down_revision: string[] }[] }
  | { event: 'compared'; diffs: string[]; has_metadata: boolean }
  | ({ event: 'failed' } & RunnerFailure);

export interface RunnerPlanStep {
  revision: string | null;
  direction: 'upgrade' | 'downgrade' | 'stamp';
  message: string;
  heads_before: string[];
  heads_after: string[];
}

export interface RunnerRevision {
  revision: string;
  down_revision: string[];
  branch_labels: string[];
  depends_on: string[];
  doc: string;
  longdoc: string;
  path: string;
}

export interface RunnerFailure {
  error: string;
  error_type: string;
  /** load, plan, env (env.py before the first revision), connected, migrate. */
  phase: string;
  revision?: string | null;
  direction?: string | null;
  file?: string;
  line?: number;
  function?: string;
  pgcode?: string | null;
  statement?: string;
  traceback: string;
  /** A revision ended its transaction and failed after it: part of it is committed. */
  half_applied?: boolean;
}

export interface RunnerEnvironment {
  settings: ProjectSettings;
  project: AlembicProject;
  /** The database env.py must reach; absent for commands that do not connect (revision -m). */
  target?: Target;
  operator: Operator;
  lockTimeoutSeconds?: number;
}

/** The runner ships next to this module (src) or beside the bundle (dist/alembic-runner.py). */
export function runnerScript(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const candidate of [path.join(here, 'runner.py'), path.join(here, 'alembic-runner.py'), path.join(here, '..', 'alembic-runner.py')]) {
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new MutxError('internal', `the Alembic runner is missing next to ${here}`, { hint: 'reinstall mutx-ops (npm ci && npm run build)' });
}

function childEnvironment(env: RunnerEnvironment): Record<string, string | undefined> {
  const vars: Record<string, string | undefined> = {
    MUTX_ALEMBIC_CONFIG: env.project.iniPath,
    MUTX_ALEMBIC_SECTION: env.project.section,
    MUTX_PARENT_PID: String(process.pid),
    // A drill's copy of the revisions (with its injected one) instead of the project's folder.
    MUTX_VERSION_LOCATIONS: env.settings.revisionsOverride,
    PYTHONUNBUFFERED: '1',
  };
  if (env.target) {
    // The URL env.py reads from DATABASE_URL (and `-x url=`): no password, no sslmode in it.
    const url = targetUrl(env.target, { secret: false });
    const userOptions = process.env.PGOPTIONS ? `${process.env.PGOPTIONS} ` : '';
    Object.assign(vars, {
      DATABASE_URL: url,
      MUTX_URL: url,
      PGHOST: env.target.host,
      PGPORT: String(env.target.port),
      PGUSER: env.target.user,
      PGDATABASE: env.target.database,
      PGPASSWORD: env.target.password,
      PGSSLMODE: env.target.sslMode,
      PGSSLROOTCERT: env.target.sslRootCert ?? process.env.PGSSLROOTCERT,
      // So the child's backend can be told apart in pg_stat_activity, and lock_timeout holds on the server.
      PGAPPNAME: `${applicationName(env.operator)} alembic`.slice(0, 63),
      PGOPTIONS: env.lockTimeoutSeconds !== undefined ? `${userOptions}-c lock_timeout=${Math.round(env.lockTimeoutSeconds * 1000)}ms` : process.env.PGOPTIONS,
      PGCONNECT_TIMEOUT: String(Math.max(2, Math.round(env.settings.connect_timeout_seconds))),
    });
  }
  return vars;
}

const STDERR_LINES = 200;

/**
 * One run of the Python runner. It is started early (importing Alembic and loading the revision
 * files takes a few hundred ms) and fed its request when the core has read the version table. An
 * interpreter that cannot import Alembic reports so and exits; the next candidate is tried.
 */
export class RunnerSession {
  private child?: ChildProcess;
  private readonly queue: RunnerEvent[] = [];
  private waiters: ((event: RunnerEvent | undefined) => void)[] = [];
  private closed = false;
  private stdout = '';
  readonly stderr: string[] = [];
  private candidates: PythonCandidate[];
  private tried: { candidate: PythonCandidate; why: string }[] = [];
  private exitPromise?: Promise<{ code?: number; signal?: string }>;
  private imported?: Promise<void>;
  python?: string;

  constructor(private readonly env: RunnerEnvironment) {
    this.candidates = pythonCandidates(env.settings);
  }

  /** Starts the interpreter (no request yet). */
  start(): this {
    if (!this.imported) {
      this.imported = this.spawnUntilImported();
      // Awaited by send(); a warm-up nobody uses must not become an unhandled rejection.
      this.imported.catch(() => {});
    }
    return this;
  }

  private async spawnUntilImported(): Promise<void> {
    for (;;) {
      const candidate = this.candidates.shift();
      if (!candidate) {
        const tried = this.tried.map((t) => `${t.candidate.path} (${t.candidate.source}): ${t.why}`).join('; ');
        throw new MutxError('config', `no Python that can import alembic was found${tried ? ` — tried ${tried}` : ' (no python3 on PATH)'}`, {
          hint: 'install Alembic in the project (e.g. a .venv), or point mutx-ops at the interpreter: alembic.python in mutx-ops.yaml, or MUTX_PYTHON',
        });
      }
      await this.spawn(candidate);
      const first = await this.next();
      if (first?.event === 'imported') {
        this.python = candidate.path;
        return;
      }
      if (first?.event === 'unsupported') {
        throw new MutxError('config', `${candidate.path} has Alembic ${first.alembic}; mutx-ops needs ${first.minimum} or newer (tested with 1.8)`, { hint: 'upgrade Alembic in that environment, or point alembic.python at another interpreter' });
      }
      const why = first?.event === 'no-alembic' ? `cannot import alembic (${first.error})` : `did not start (${this.stderr.slice(-1)[0] ?? 'no output'})`;
      this.tried.push({ candidate, why });
      await this.exited();
      this.reset();
    }
  }

  /** Set by kill(): a spawn still waiting for execa to load must not start a child afterwards. */
  private killRequested = false;

  private reset(): void {
    this.queue.length = 0;
    this.closed = false;
    this.stdout = '';
    this.stderr.length = 0;
    this.child = undefined;
    this.exitPromise = undefined;
  }

  private async spawn(candidate: PythonCandidate): Promise<void> {
    if (this.killRequested) throw new MutxError('migration-failed', 'the Alembic runner was stopped before it started');
    // Node's own spawn, not execa: loading execa's module took 30-80 ms here, and every Alembic
    // run waits on this spawn (Python's import of Alembic starts only then). As with execa: no
    // shell, the arguments are fixed, secrets travel in the environment only.
    const child = spawn(candidate.path, ['-X', 'utf8', runnerScript()], {
      cwd: this.env.project.cwd,
      env: { ...process.env, ...childEnvironment(this.env) } as NodeJS.ProcessEnv,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    // A runner that died (or never started) makes writes to its stdin fail with EPIPE: the exit
    // is what reports it, not an unhandled stream error.
    child.stdin?.on('error', () => {});
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
    if (child.stderr) {
      readline.createInterface({ input: child.stderr }).on('line', (line) => {
        this.stderr.push(redactSecrets(line));
        if (this.stderr.length > STDERR_LINES) this.stderr.shift();
      });
    }
    const events = child.stdio[3] as NodeJS.ReadableStream;
    readline.createInterface({ input: events }).on('line', (line) => {
      let event: RunnerEvent;
      try {
        event = JSON.parse(line) as RunnerEvent;
      } catch {
        return;
      }
      this.push(event);
    });
    this.exitPromise = new Promise((resolve) => {
      // 'close' comes once stdout and the event pipe are drained too: the runner ends with
      // os._exit right after its last line, so at 'exit' offline SQL may still be in the pipe.
      // A process the runner left holding the pipes must not keep mutx-ops waiting: 1 s at most.
      child.on('close', (code, signal) => resolve({ code: code ?? undefined, signal: signal ?? undefined }));
      child.on('exit', (code, signal) => setTimeout(() => resolve({ code: code ?? undefined, signal: signal ?? undefined }), 1000).unref());
      child.on('error', (error) => {
        this.stderr.push(redactSecrets(String((error as Error).message)));
        resolve({ code: 127 });
      });
    });
    void this.exitPromise.then(() => {
      // Lines still in the pipe arrive before 'close'; give readline a tick to deliver them.
      setImmediate(() => {
        this.closed = true;
        for (const waiter of this.waiters.splice(0)) waiter(undefined);
      });
    });
  }

  private push(event: RunnerEvent): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(event);
    else this.queue.push(event);
  }

  /** The next event, or undefined once the process has exited and every event was read. */
  next(): Promise<RunnerEvent | undefined> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async send(message: unknown): Promise<void> {
    await this.start().imported;
    const stdin = this.child?.stdin;
    if (!stdin || stdin.destroyed) return;
    await new Promise<void>((resolve) => stdin.write(`${JSON.stringify(message)}\n`, () => resolve()));
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Everything the runner printed on stdout (offline SQL). */
  get output(): string {
    return this.stdout;
  }

  exited(): Promise<{ code?: number; signal?: string }> {
    return this.exitPromise ?? Promise.resolve({});
  }

  /** Ends the runner: stdin closes (it exits by itself when it waits), then SIGKILL after a grace. */
  async kill(graceMs = 2000): Promise<void> {
    this.killRequested = true;
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
    await this.exited();
    clearTimeout(timer);
  }

  /** The imported promise of start(), for callers that must know the interpreter works. */
  ready(): Promise<void> {
    return this.start().imported!;
  }
}

/**
 * The runner run to completion synchronously, for the one caller that cannot wait: reading the
 * revision graph when a file is beyond the static reader (rare; ~0.5 s). Tries the candidates
 * like RunnerSession does.
 */
export function runRunnerSync(env: RunnerEnvironment, request: unknown): { events: RunnerEvent[]; stderr: string } {
  const tried: string[] = [];
  for (const candidate of pythonCandidates(env.settings)) {
    const result = spawnSync(candidate.path, ['-X', 'utf8', runnerScript()], {
      cwd: env.project.cwd,
      env: { ...process.env, ...childEnvironment(env) } as NodeJS.ProcessEnv,
      input: `${JSON.stringify(request)}\n`,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
      timeout: 120_000,
    });
    const output = (result.output?.[3] as Buffer | null | undefined)?.toString('utf8') ?? '';
    const events = output
      .split('\n')
      .filter((line) => line.trim() !== '')
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as RunnerEvent];
        } catch {
          return [];
        }
      });
    const first = events[0];
    if (first?.event === 'no-alembic' || !first) {
      tried.push(`${candidate.path} (${candidate.source}): ${first?.event === 'no-alembic' ? 'cannot import alembic' : result.error ? String(result.error.message) : 'did not start'}`);
      continue;
    }
    if (first.event === 'unsupported') {
      throw new MutxError('config', `${candidate.path} has Alembic ${first.alembic}; mutx-ops needs ${first.minimum} or newer (tested with 1.8)`, { hint: 'upgrade Alembic in that environment, or point alembic.python at another interpreter' });
    }
    return { events, stderr: redactSecrets(result.stderr?.toString('utf8') ?? '') };
  }
  throw new MutxError('config', `no Python that can import alembic was found${tried.length ? ` — tried ${tried.join('; ')}` : ' (no python3 on PATH)'}`, {
    hint: 'install Alembic in the project (e.g. a .venv), or point mutx-ops at the interpreter: alembic.python in mutx-ops.yaml, or MUTX_PYTHON',
  });
}
