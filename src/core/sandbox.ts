import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { z } from 'zod';
import { AuditTrail, processAlive, writeFileAtomic, type AuditEntry, type AuditRecord } from './audit';
import { ensurePrivateDir, type ProjectSettings } from './config';
import { parseTarget, quoteIdent, quoteLiteral } from './connection';
import { MutxError } from './errors';
import { currentOperator, type Operator } from './identity';
import { assertServerUser, chownToPostgres, findServerBinaries, freeLoopbackPort, isRoot, runServerTool, ServerToolError, type ServerBinaries } from './localCluster';
import type { MigrationEvent } from './migrations/events';
import type { RevisionGraph } from './migrations/graph';
import { loadGraph, migrate } from './migrations/operations';

/**
 * The sandbox: a throwaway PostgreSQL cluster under the project's `.mutx-ops/sandbox/`, built
 * from the local server binaries, listening only on a Unix socket in a private (0700) folder of
 * its own under the temp folder (no TCP: trust auth there would let any local user in). It carries a database `mutx` at a starting revision with a few rows, cloned from a
 * template database seeded once through the project's own migrations, so `reset` is a
 * DROP + CREATE … TEMPLATE away.
 *
 * Only ever touches its own folder: the postmaster is identified by the postmaster.pid in our
 * data folder (and, on Linux, by its working directory), and a folder is deleted only after
 * checking that it is `<state dir>/sandbox/data` and no symlink leads elsewhere.
 *
 * As root, the server runs as the postgres OS user. The project's `.mutx-ops/` stays 0700
 * root-only: the server tools are handed the data folder as file descriptor 3 and reach it as
 * /proc/self/fd/3, so the postgres user never needs to traverse the project's folders.
 */

export const SANDBOX_DATABASE = 'mutx';
const SUPERUSER = 'postgres';
const TEMPLATE_PREFIX = 'mutx_template_';
/** Bump when the seed rows change, so existing templates are rebuilt. */
const SEED_VERSION = 1;
const DEFAULT_SPEC = 'default';
const FD_DIR = '/proc/self/fd/3';

export interface SandboxPaths {
  /** `.mutx-ops/sandbox` (0700). */
  dir: string;
  /** The cluster's data folder (0700, owned by the postgres OS user when root). */
  dataDir: string;
  stateFile: string;
  lockFile: string;
  /** The server log (inside the data folder, so the server can write it as root too). */
  logFile: string;
}

export function sandboxPaths(settings: Pick<ProjectSettings, 'statePath'>): SandboxPaths {
  const dir = path.join(path.resolve(settings.statePath), 'sandbox');
  const dataDir = path.join(dir, 'data');
  return { dir, dataDir, stateFile: path.join(dir, 'state.json'), lockFile: path.join(dir, 'lock'), logFile: path.join(dataDir, 'server.log') };
}

/**
 * running: our postmaster is alive and answers on its port. stopped: a finished sandbox, no
 * server. absent: none, or an unfinished one (start rebuilds it). stale: a postmaster.pid whose
 * process is gone, or a server that does not answer (start cleans up and starts again).
 */
export type SandboxState = 'running' | 'stopped' | 'absent' | 'stale';

export interface SandboxStatus {
  state: SandboxState;
  port?: number;
  pid?: number;
  url?: string;
  dataDir: string;
  /** Started by the app (stopped when it exits) rather than by `sandbox start`. */
  ownedByApp?: boolean;
  /** The revision(s) `reset` brings the database back to. */
  startingRevisions?: string[];
  createdAt?: string;
  /** Why the state is stale, or what is missing. */
  reason?: string;
}

export interface SandboxProgress {
  step: 'recover' | 'initdb' | 'start' | 'migrate' | 'seed' | 'template' | 'reset' | 'stop';
  message: string;
}

export interface SandboxOptions {
  onProgress?: (progress: SandboxProgress) => void;
  /** Who the seeding migrations are recorded as (default: the current OS user). */
  operator?: Operator;
  signal?: AbortSignal;
}

export interface StartSandboxOptions extends SandboxOptions {
  /** The app (TUI) started it and stops it on exit; `sandbox start` leaves it running. */
  ownedByApp?: boolean;
  /**
   * Starting revision when the sandbox is created: `base`, `head`, `heads`, a revision id or
   * prefix. Default: everything but the head revision(s), so `upgrade head` and `downgrade -1`
   * both have something to do. An existing sandbox keeps its data (use reset to move it).
   */
  revision?: string;
}

export interface StartSandboxResult {
  url: string;
  port: number;
  pid: number;
  /** A new cluster was initialised (initdb + seeding). */
  created: boolean;
  /** It was running already; nothing was started. */
  alreadyRunning: boolean;
  /** A stale postmaster.pid or a dead/hung server was cleaned up first. */
  recovered: boolean;
  startingRevisions: string[];
  durationMs: number;
}

export interface ResetSandboxOptions extends SandboxOptions {
  /** Another starting revision (as for start); default: the one the database was last reset to. */
  revision?: string;
  /** When reset has to start a stopped sandbox: who owns it (as for start). */
  ownedByApp?: boolean;
}

export interface ResetSandboxResult {
  url: string;
  port: number;
  startingRevisions: string[];
  /** The template for this starting revision had to be built (migrations + seed rows). */
  seeded: boolean;
  /** The sandbox was not running and was started (or created) first. */
  started: boolean;
  durationMs: number;
}

// ---------------------------------------------------------------- state file

const templateSchema = z.object({
  database: z.string(),
  spec: z.string(),
  revisions: z.array(z.string()),
  createdAt: z.string(),
});
type TemplateInfo = z.infer<typeof templateSchema>;

const stateSchema = z.object({
  version: z.literal(1),
  port: z.number().int().positive(),
  pid: z.number().int().positive().optional(),
  createdAt: z.string(),
  startedAt: z.string().optional(),
  ownedByApp: z.boolean(),
  ownerPid: z.number().int().positive().optional(),
  bindir: z.string(),
  templates: z.record(z.string(), templateSchema),
  /** Key of the template the `mutx` database was last created from. */
  current: z.string().optional(),
});
type StateFile = z.infer<typeof stateSchema>;

function readState(paths: SandboxPaths): StateFile | undefined {
  let text: string;
  try {
    text = fs.readFileSync(paths.stateFile, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = stateSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function writeState(paths: SandboxPaths, state: StateFile): void {
  writeFileAtomic(paths.stateFile, `${JSON.stringify(state, null, 2)}\n`);
}

// ---------------------------------------------------------------- the postmaster

interface PostmasterPid {
  pid: number;
  port: number;
  /** The folder holding the server's Unix socket (line 5). */
  socketDir: string;
  /** `ready`, `starting`, `stopping` or `standby` (line 8, written by the server). */
  status: string;
}

function readPostmasterPid(paths: SandboxPaths): PostmasterPid | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(paths.dataDir, 'postmaster.pid'), 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0) return { pid: 0, port: 0, socketDir: '', status: 'damaged' };
  const pidFile = { pid, port: Number(lines[3]) || 0, socketDir: (lines[4] ?? '').trim(), status: (lines[7] ?? '').trim() };
  if (pidFile.port && pidFile.socketDir) socketDirs.set(pidFile.port, pidFile.socketDir);
  return pidFile;
}

const HAS_PROC = fs.existsSync('/proc/self/cwd');

function realpathOr(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return path.resolve(file);
  }
}

/**
 * The process exists and is not a zombie. A server we stopped is reparented to init, which in
 * some containers never reaps it: kill(pid, 0) alone would call that zombie alive.
 */
export function isRunning(pid: number): boolean {
  if (!pid || !processAlive(pid)) return false;
  if (!HAS_PROC) return true;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The process is alive, not a zombie, and (on Linux) works in our data folder: a postmaster of ours. */
function isOurProcess(pid: number, dataDir: string): boolean {
  if (!isRunning(pid)) return false;
  if (!HAS_PROC) return true;
  try {
    return fs.readlinkSync(`/proc/${pid}/cwd`) === realpathOr(dataDir);
  } catch {
    // Gone, or a zombie (no cwd any more).
    return false;
  }
}

/** Processes (Linux) whose working directory is our data folder: a postmaster and its children. */
function processesIn(dataDir: string): number[] {
  if (!HAS_PROC) return [];
  const real = realpathOr(dataDir);
  const found: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (fs.readlinkSync(`/proc/${name}/cwd`) === real) found.push(Number(name));
    } catch {
      // gone, or not ours to look at
    }
  }
  return found;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(probe: () => boolean, timeoutMs: number, intervalMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (probe()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}

/**
 * The socket folder of the server on each port, learnt from its postmaster.pid (every path to a
 * port reads it first: inspect() or startServer()), so URLs and clients can name the socket.
 */
const socketDirs = new Map<number, string>();

function socketDirOf(port: number): string {
  const dir = socketDirs.get(port);
  if (!dir) throw new MutxError('internal', `no socket folder known for the sandbox on port ${port}`);
  return dir;
}

/** A fresh private folder for the server's socket: 0700, the server's OS user's (postgres, as root). */
function newSocketDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mutx-sandbox-'));
  fs.chmodSync(dir, 0o700);
  chownToPostgres(dir, { recursive: false });
  return dir;
}

/** Removes a socket folder left by a server that is gone (only our own mkdtemp names). */
function removeSocketDir(dir: string | undefined): void {
  if (!dir || path.dirname(dir) !== os.tmpdir() || !path.basename(dir).startsWith('mutx-sandbox-')) return;
  try {
    for (const name of fs.readdirSync(dir)) if (name.startsWith('.s.PGSQL.')) fs.rmSync(path.join(dir, name), { force: true });
    fs.rmdirSync(dir);
  } catch {
    // Still in use, or already gone.
  }
}

/**
 * Socket folders of sandbox servers that are gone (killed, or stopped by the app's exit handler,
 * which does not wait): a folder whose socket lock names a dead process, or an empty one older than
 * a minute (a starting server writes its lock within milliseconds). Other users' folders are left.
 */
function sweepStaleSocketDirs(): void {
  let names: string[];
  try {
    names = fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith('mutx-sandbox-'));
  } catch {
    return;
  }
  const owner = isRoot() ? undefined : process.getuid?.();
  for (const name of names) {
    const dir = path.join(os.tmpdir(), name);
    try {
      const stat = fs.lstatSync(dir);
      if (!stat.isDirectory() || (owner !== undefined && stat.uid !== owner)) continue;
      const locks = fs.readdirSync(dir).filter((entry) => /^\.s\.PGSQL\.\d+\.lock$/.test(entry));
      const stale = locks.length
        ? locks.every((lock) => !isRunning(Number(fs.readFileSync(path.join(dir, lock), 'utf8').split('\n')[0])))
        : Date.now() - stat.mtimeMs > 60_000;
      if (stale) removeSocketDir(dir);
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
}

function portAnswers(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ path: path.join(socketDirOf(port), `.s.PGSQL.${port}`) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}


/**
 * Stops a postmaster of ours: fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL.
 * Signals only a process whose working directory is our data folder.
 */
async function stopPostmaster(pid: number, dataDir: string): Promise<void> {
  const steps: Array<[NodeJS.Signals, number]> = [
    ['SIGINT', 15_000],
    ['SIGQUIT', 5_000],
    ['SIGKILL', 5_000],
  ];
  for (const [signal, waitMs] of steps) {
    if (!isOurProcess(pid, dataDir)) break;
    try {
      process.kill(pid, signal);
    } catch {
      break;
    }
    if (await waitUntil(() => !isOurProcess(pid, dataDir), waitMs)) break;
  }
  if (isOurProcess(pid, dataDir)) throw new MutxError('internal', `the sandbox server (pid ${pid}) did not stop`, { hint: `stop it by hand: kill -9 ${pid}` });
  await waitForChildren(dataDir);
}

/** After the postmaster is gone its children notice and exit; a new one cannot start while they hold shared memory. */
async function waitForChildren(dataDir: string): Promise<void> {
  await waitUntil(() => processesIn(dataDir).length === 0, 10_000, 25);
}

// ---------------------------------------------------------------- inspection

interface Inspection {
  state: SandboxState;
  reason?: string;
  stored?: StateFile;
  pidFile?: PostmasterPid;
  /** The pid in postmaster.pid is a live postmaster of ours. */
  alive: boolean;
  /** initdb finished and a template was seeded. */
  complete: boolean;
}

async function inspect(paths: SandboxPaths): Promise<Inspection> {
  const stored = readState(paths);
  const initialised = fs.existsSync(path.join(paths.dataDir, 'PG_VERSION'));
  const complete = Boolean(initialised && stored?.current && stored.templates[stored.current]);
  const pidFile = readPostmasterPid(paths);
  // Another mutx-ops creating or starting it right now: not stale, just not ready yet.
  const busy = lockHolder(paths);
  const base = { stored, pidFile, complete, alive: false };
  const inProgress = (): Inspection | undefined =>
    busy ? { ...base, state: complete ? 'stopped' : 'absent', reason: `mutx-ops (pid ${busy}) is ${complete ? 'starting or changing' : 'creating'} it` } : undefined;
  if (!pidFile) {
    if (!complete) return inProgress() ?? { ...base, state: 'absent', reason: initialised || fs.existsSync(paths.dataDir) ? 'an unfinished sandbox (start rebuilds it)' : undefined };
    return { ...base, state: 'stopped' };
  }
  if (!isOurProcess(pidFile.pid, paths.dataDir)) {
    return inProgress() ?? { ...base, state: 'stale', reason: `postmaster.pid names process ${pidFile.pid || '?'}, which is not running` };
  }
  const alive = { ...base, alive: true };
  const answers = pidFile.status === 'ready' && (await portAnswers(pidFile.port));
  if (!answers || !complete) {
    const pending = inProgress();
    if (pending) return { ...pending, alive: true };
    return { ...alive, state: 'stale', reason: answers ? 'the server runs but the sandbox was never finished' : `the server (pid ${pidFile.pid}) does not answer on port ${pidFile.port || '?'}` };
  }
  return { ...alive, state: 'running' };
}

function urlFor(port: number, database = SANDBOX_DATABASE): string {
  return `postgresql://${SUPERUSER}@${encodeURIComponent(socketDirOf(port))}:${port}/${database}`;
}

export async function sandboxStatus(settings: Pick<ProjectSettings, 'statePath'>): Promise<SandboxStatus> {
  const paths = sandboxPaths(settings);
  const seen = await inspect(paths);
  const template = seen.stored?.current ? seen.stored.templates[seen.stored.current] : undefined;
  const status: SandboxStatus = { state: seen.state, dataDir: paths.dataDir, reason: seen.reason };
  if (seen.stored && seen.complete) {
    status.port = seen.stored.port;
    status.createdAt = seen.stored.createdAt;
    status.startingRevisions = template?.revisions;
  }
  if (seen.state === 'running' && seen.pidFile) {
    status.port = seen.pidFile.port;
    status.pid = seen.pidFile.pid;
    status.url = urlFor(seen.pidFile.port);
    status.ownedByApp = seen.stored?.ownedByApp ?? false;
  }
  return status;
}

/** The URL of the running sandbox, or undefined when it is not running. */
export async function sandboxUrl(settings: Pick<ProjectSettings, 'statePath'>): Promise<string | undefined> {
  return (await sandboxStatus(settings)).url;
}

// ---------------------------------------------------------------- lock

/** The live process (not this one) holding the sandbox lock, if any. */
function lockHolder(paths: SandboxPaths): number | undefined {
  try {
    const holder = Number(fs.readFileSync(paths.lockFile, 'utf8'));
    return holder && holder !== process.pid && isRunning(holder) ? holder : undefined;
  } catch {
    return undefined;
  }
}

/** One process at a time creates, starts, stops or resets the sandbox. */
async function withSandboxLock<T>(paths: SandboxPaths, fn: () => Promise<T>, timeoutMs = 120_000): Promise<T> {
  ensurePrivateDir(path.dirname(paths.dir));
  assertPlainFolder(paths.dir);
  ensurePrivateDir(paths.dir, { mark: false });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = fs.openSync(paths.lockFile, 'wx', 0o600);
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let holder = 0;
      try {
        holder = Number(fs.readFileSync(paths.lockFile, 'utf8'));
      } catch {
        continue;
      }
      if (!holder || !isRunning(holder)) {
        fs.rmSync(paths.lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new MutxError('lock', `another mutx-ops (pid ${holder}) is busy with the sandbox`, { hint: `wait for it, or if that process is gone delete ${paths.lockFile}` });
      }
      await sleep(100);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(paths.lockFile, { force: true });
  }
}

// ---------------------------------------------------------------- the cluster on disk

/** Runs a server tool with the data folder reachable: via fd 3 as root, by its path otherwise. */
async function withDataDir<T>(paths: SandboxPaths, fn: (dir: string, dirFd: number | undefined) => Promise<T>): Promise<T> {
  if (!isRoot()) return fn(paths.dataDir, undefined);
  const fd = fs.openSync(paths.dataDir, 'r');
  try {
    return await fn(FD_DIR, fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** The sandbox writes and deletes only in real folders of its own: never through a symlink. */
function assertPlainFolder(dir: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(dir);
  } catch {
    return;
  }
  if (stat.isSymbolicLink() || !stat.isDirectory()) {
    throw new MutxError('config', `${dir} is not a plain folder; refusing to use or delete it`, { hint: 'move it away by hand; the sandbox only ever works in its own folder' });
  }
}

/** Deletes `<state dir>/sandbox/data`, after checking that this is what the path really is. */
function removeDataDir(settings: Pick<ProjectSettings, 'statePath'>, paths: SandboxPaths): void {
  const expected = path.join(path.resolve(settings.statePath), 'sandbox', 'data');
  if (path.resolve(paths.dataDir) !== expected) throw new MutxError('internal', `refusing to delete ${paths.dataDir}: not the sandbox folder ${expected}`);
  assertPlainFolder(paths.dir);
  assertPlainFolder(paths.dataDir);
  if (!fs.existsSync(paths.dataDir)) return;
  const stateReal = realpathOr(settings.statePath);
  if (path.dirname(path.dirname(realpathOr(paths.dataDir))) !== stateReal) {
    throw new MutxError('internal', `refusing to delete ${paths.dataDir}: it resolves outside ${stateReal}`);
  }
  const running = processesIn(paths.dataDir);
  if (running.length > 0) throw new MutxError('internal', `refusing to delete ${paths.dataDir}: processes ${running.join(', ')} still use it`);
  fs.rmSync(paths.dataDir, { recursive: true, force: true });
}

const SERVER_SETTINGS = [
  // No TCP: a Unix socket in a 0700 folder (given at each start: -k DIR -h ''), reachable only by
  // the sandbox's own OS user (and root).
  "listen_addresses = ''",
  // A throwaway cluster: no fsync (only an OS crash could lose data). Commits stay synchronous,
  // so a killed server (a crash drill) keeps every committed transaction.
  'fsync = off',
  'full_page_writes = off',
  'shared_buffers = 32MB',
  'max_connections = 50',
  "log_line_prefix = '%m [%p] '",
];

async function initCluster(binaries: ServerBinaries, paths: SandboxPaths): Promise<void> {
  fs.mkdirSync(paths.dataDir, { mode: 0o700 });
  fs.chmodSync(paths.dataDir, 0o700);
  chownToPostgres(paths.dataDir, { recursive: false });
  await withDataDir(paths, (dir, dirFd) =>
    runServerTool(binaries.initdb, ['-D', dir, '-U', SUPERUSER, '--no-sync', '-E', 'UTF8', '--locale=C', '--auth=trust', '--no-instructions'], { dirFd, cwd: '/' }),
  ).catch((error) => {
    throw new MutxError('internal', `initdb of the sandbox failed: ${error instanceof Error ? error.message : String(error)}`, { hint: `see ${paths.dataDir}`, cause: error });
  });
  fs.appendFileSync(path.join(paths.dataDir, 'postgresql.conf'), `\n# mutx-ops sandbox\n${SERVER_SETTINGS.join('\n')}\n`);
}

function logTail(paths: SandboxPaths): string {
  try {
    const text = fs.readFileSync(paths.logFile, 'utf8');
    const lines = text.slice(-4000).split('\n').filter((line) => /FATAL|PANIC|ERROR/.test(line));
    return lines.pop()?.replace(/^\S+ \S+ \S+ \[\d+\] /, '') ?? '';
  } catch {
    return '';
  }
}

/**
 * pg_ctl start on the stored port (the socket's name; its folder is new and private, so any port
 * is free), listening on no TCP address whatever an older postgresql.conf says.
 */
async function startServer(binaries: ServerBinaries, paths: SandboxPaths, preferredPort: number | undefined): Promise<{ port: number; pid: number }> {
  let port = preferredPort ?? (await freeLoopbackPort());
  for (let attempt = 1; ; attempt++) {
    const logSize = fs.existsSync(paths.logFile) ? fs.statSync(paths.logFile).size : 0;
    if (attempt === 1) sweepStaleSocketDirs();
    const socketDir = newSocketDir();
    try {
      await withDataDir(paths, (dir, dirFd) =>
        runServerTool(binaries.pgCtl, ['-D', dir, '-l', path.join(dir, 'server.log'), '-o', `-p ${port} -k ${socketDir} -h ''`, '-w', '-t', '60', 'start'], { dirFd, cwd: '/' }),
      );
      const pidFile = readPostmasterPid(paths);
      if (!pidFile?.pid) throw new MutxError('internal', 'the sandbox server started but wrote no postmaster.pid');
      return { port, pid: pidFile.pid };
    } catch (error) {
      removeSocketDir(socketDir);
      if (!(error instanceof ServerToolError)) throw error;
      const reason = logTail(paths) || error.message;
      const portTaken = /could not bind|Address already in use|could not create any TCP\/IP sockets/i.test(fs.existsSync(paths.logFile) ? fs.readFileSync(paths.logFile, 'utf8').slice(logSize) : reason);
      if (portTaken && attempt < 3) {
        port = await freeLoopbackPort();
        continue;
      }
      throw new MutxError('internal', `the sandbox server did not start: ${reason}`, { hint: `see ${paths.logFile}`, cause: error });
    }
  }
}

// ---------------------------------------------------------------- seeding

/** Marks the audit records of the seeding migrations as sandbox work. */
class SandboxAuditTrail extends AuditTrail {
  override append(entry: AuditEntry, opId?: string): AuditRecord {
    return super.append({ ...entry, details: { ...(entry.details ?? {}), sandbox: true } }, opId);
  }
}

/** The revisions a starting point leaves applied: the tips to upgrade to, in order. */
function startingRevisions(graph: RevisionGraph, spec: string): string[] {
  if (spec === DEFAULT_SPEC || spec === '') {
    const heads = new Set(graph.heads());
    return graph.headsOf(new Set(graph.order.filter((id) => !heads.has(id))));
  }
  if (spec === 'base') return [];
  if (spec === 'head' || spec === 'heads') return graph.heads();
  if (/[+-]\d+$/.test(spec)) {
    throw new MutxError('usage', `sandbox revision "${spec.slice(0, 40)}": relative steps are not supported here`, { hint: 'use default, base, head, heads or a revision id' });
  }
  return [graph.resolve(spec)];
}

/** Template identity: the applied files' checksums and the seed version, so a changed file means a new template. */
function templateKey(graph: RevisionGraph, revisions: string[]): string {
  const applied = [...graph.ancestorsOrSelf(revisions)].sort();
  const hash = crypto.createHash('sha256').update(`seed ${SEED_VERSION}\n`);
  for (const id of applied) hash.update(`${id} ${graph.get(id).checksum}\n`);
  return hash.digest('hex').slice(0, 16);
}

async function adminClient(port: number, database = 'postgres'): Promise<pg.Client> {
  const client = new pg.Client({ host: socketDirOf(port), port, user: SUPERUSER, database, application_name: 'mutx-ops:sandbox', connectionTimeoutMillis: 10_000 });
  client.on('error', () => {});
  await client.connect();
  return client;
}

async function databaseExists(client: pg.Client, name: string): Promise<boolean> {
  const result = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return (result.rowCount ?? 0) > 0;
}

async function dropDatabase(client: pg.Client, name: string): Promise<void> {
  if (!(await databaseExists(client, name))) return;
  await client.query(`ALTER DATABASE ${quoteIdent(name)} WITH IS_TEMPLATE false ALLOW_CONNECTIONS true`);
  await client.query(`DROP DATABASE ${quoteIdent(name)} WITH (FORCE)`);
}

interface SeedGroup {
  /** Tables (and `table.column`s) that must exist at the starting revision. */
  requires: string[];
  sql: string;
}

const uid = (n: number) => `'00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}'`;
const USERS = { alice: uid(1), bob: uid(2), carol: uid(3), dave: uid(4), ci: uid(5) };
const AGENTS = { triage: uid(0xa1), billing: uid(0xa2), reports: uid(0xa3), incidents: uid(0xa4) };
const fakeHash = (seed: string) => `encode(sha256(convert_to(${quoteLiteral(seed)}, 'UTF8')), 'hex')`;

/** A few realistic rows, each group inserted only if the starting revision has its tables. */
const SEED: SeedGroup[] = [
  {
    requires: ['users'],
    sql: `INSERT INTO users (id, email, display_name, password_hash, is_active, created_at, updated_at) VALUES
      (${USERS.alice}, 'alice@mutx.dev', 'Alice Admin', '$argon2id$v=19$m=65536,t=3,p=4$sandbox$not-a-real-hash', true, now() - interval '120 days', now() - interval '3 days'),
      (${USERS.bob}, 'bob@mutx.dev', 'Bob Operator', '$argon2id$v=19$m=65536,t=3,p=4$sandbox$not-a-real-hash', true, now() - interval '95 days', now() - interval '10 days'),
      (${USERS.carol}, 'Carol@mutx.dev', 'Carol Viewer', '$argon2id$v=19$m=65536,t=3,p=4$sandbox$not-a-real-hash', true, now() - interval '60 days', now() - interval '60 days'),
      (${USERS.dave}, 'dave@mutx.dev', 'Dave (left)', NULL, false, now() - interval '200 days', now() - interval '30 days'),
      (${USERS.ci}, 'ci-bot@mutx.dev', 'CI bot', NULL, true, now() - interval '150 days', now() - interval '150 days')`,
  },
  {
    requires: ['users', 'roles', 'user_roles'],
    sql: `INSERT INTO user_roles (user_id, role_id, granted_by, granted_at)
      SELECT v.user_id::uuid, r.id, ${USERS.alice}::uuid, now() - interval '50 days'
      FROM (VALUES (${USERS.alice}, 'admin'), (${USERS.bob}, 'operator'), (${USERS.carol}, 'viewer'), (${USERS.ci}, 'operator')) AS v(user_id, role)
      JOIN roles r ON r.name = v.role
      ON CONFLICT DO NOTHING`,
  },
  {
    requires: ['users', 'agents'],
    sql: `INSERT INTO agents (id, owner_id, name, runtime, config, created_at, updated_at) VALUES
      (${AGENTS.triage}, ${USERS.alice}, 'support-triage', 'python', '{"model": "mutx-large", "max_turns": 12, "tools": ["search", "tickets"]}', now() - interval '80 days', now() - interval '2 days'),
      (${AGENTS.billing}, ${USERS.bob}, 'billing-reconciler', 'node', '{"schedule": "*/15 * * * *", "dry_run": false}', now() - interval '70 days', now() - interval '9 days'),
      (${AGENTS.reports}, ${USERS.bob}, 'nightly-reports', 'python', '{"schedule": "0 2 * * *"}', now() - interval '40 days', now() - interval '40 days'),
      (${AGENTS.incidents}, ${USERS.alice}, 'incident-summarizer', 'python', '{"model": "mutx-small"}', now() - interval '12 days', now() - interval '1 day')`,
  },
  {
    requires: ['agents.description'],
    sql: `UPDATE agents SET description = v.description FROM (VALUES
      (${AGENTS.triage}, 'Routes incoming support tickets'),
      (${AGENTS.billing}, 'Matches invoices against payments every 15 minutes'),
      (${AGENTS.reports}, 'Builds the nightly usage reports')) AS v(id, description)
      WHERE agents.id = v.id::uuid`,
  },
  {
    requires: ['users', 'agents', 'deployments'],
    sql: `INSERT INTO deployments (agent_id, version, status, environment, deployed_by, started_at, finished_at, created_at)
      SELECT v.agent_id::uuid, v.version, v.status, v.environment, v.deployed_by::uuid,
             now() - v.age, CASE WHEN v.status IN ('succeeded', 'failed', 'rolled_back') THEN now() - v.age + interval '4 minutes' END, now() - v.age
      FROM (VALUES
        (${AGENTS.triage}, '1.4.0', 'succeeded', 'production', ${USERS.bob}, interval '20 days'),
        (${AGENTS.triage}, '1.5.0', 'rolled_back', 'production', ${USERS.bob}, interval '6 days'),
        (${AGENTS.triage}, '1.5.1', 'succeeded', 'production', ${USERS.ci}, interval '5 days'),
        (${AGENTS.billing}, '0.9.2', 'succeeded', 'staging', ${USERS.ci}, interval '3 days'),
        (${AGENTS.billing}, '0.9.3', 'failed', 'production', ${USERS.ci}, interval '2 days'),
        (${AGENTS.reports}, '2.0.0', 'succeeded', 'production', ${USERS.bob}, interval '30 days'),
        (${AGENTS.incidents}, '0.1.0', 'running', 'staging', ${USERS.alice}, interval '10 minutes'),
        (${AGENTS.incidents}, '0.1.1', 'pending', 'staging', ${USERS.ci}, interval '1 minute')
      ) AS v(agent_id, version, status, environment, deployed_by, age)`,
  },
  {
    requires: ['users', 'api_keys'],
    sql: `INSERT INTO api_keys (user_id, name, key_prefix, key_hash, scopes, created_at, last_used_at, revoked_at) VALUES
      (${USERS.alice}, 'laptop', 'mk_a1b2c3d4', ${fakeHash('sandbox-key-alice')}, '{agents:write,deployments:write}', now() - interval '40 days', now() - interval '1 hour', NULL),
      (${USERS.bob}, 'ci', 'mk_b0b0c1c1', ${fakeHash('sandbox-key-bob')}, '{deployments:write}', now() - interval '35 days', now() - interval '5 minutes', NULL),
      (${USERS.bob}, 'old laptop', 'mk_0ld0b0b0', ${fakeHash('sandbox-key-bob-old')}, '{agents:read}', now() - interval '90 days', now() - interval '60 days', now() - interval '30 days')`,
  },
  {
    requires: ['users', 'service_tokens'],
    sql: `INSERT INTO service_tokens (name, token_prefix, token_hash, roles, created_by, created_at, last_used_at) VALUES
      ('ci-deployer', 'st_ci01', ${fakeHash('sandbox-token-ci')}, '{operator}', ${USERS.alice}, now() - interval '20 days', now() - interval '2 minutes'),
      ('metrics-exporter', 'st_mx01', ${fakeHash('sandbox-token-metrics')}, '{viewer}', ${USERS.alice}, now() - interval '15 days', now() - interval '30 seconds')`,
  },
  {
    requires: ['events'],
    sql: `INSERT INTO events (occurred_at, actor, actor_type, kind, subject_type, subject_id, payload)
      SELECT now() - n * interval '37 minutes',
             (ARRAY['alice@mutx.dev', 'bob@mutx.dev', 'ci-deployer', 'scheduler'])[1 + n % 4],
             (ARRAY['user', 'user', 'service_token', 'system'])[1 + n % 4],
             (ARRAY['deployment.started', 'deployment.finished', 'agent.updated', 'api_key.used', 'user.login'])[1 + n % 5],
             'agent',
             (ARRAY[${AGENTS.triage}, ${AGENTS.billing}, ${AGENTS.reports}])[1 + n % 3],
             jsonb_build_object('seq', n, 'source', 'sandbox')
      FROM generate_series(1, 120) AS n`,
  },
  {
    requires: ['users', 'user_identities'],
    sql: `INSERT INTO user_identities (user_id, issuer, subject, email, email_verified, created_at, last_login_at) VALUES
      (${USERS.alice}, 'https://accounts.google.com', '104857392011223344556', 'alice@mutx.dev', true, now() - interval '7 days', now() - interval '1 hour'),
      (${USERS.carol}, 'https://login.microsoftonline.com/mutx/v2.0', 'c4r0l-0000-1111', 'carol@mutx.dev', false, now() - interval '2 days', NULL)`,
  },
];

/**
 * Inserts the seed groups whose tables and columns exist (in the schema the migrations create
 * them in: the current one). The rows are the MUTX schema's; another project's schema (an
 * Alembic project with its own tables) gets the groups that fit, each in its own savepoint, so a
 * group that does not fit is left out rather than failing the sandbox.
 */
async function insertSeedRows(client: pg.Client): Promise<number> {
  const columns = await client.query<{ table_name: string; column_name: string }>('SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()');
  const present = new Set<string>();
  for (const row of columns.rows) {
    present.add(row.table_name);
    present.add(`${row.table_name}.${row.column_name}`);
  }
  let groups = 0;
  await client.query('BEGIN');
  try {
    for (const group of SEED) {
      if (![...group.requires, ...insertedColumns(group.sql)].every((name) => present.has(name))) continue;
      await client.query('SAVEPOINT seed_group');
      try {
        await client.query(group.sql);
        await client.query('RELEASE SAVEPOINT seed_group');
        groups++;
      } catch {
        await client.query('ROLLBACK TO SAVEPOINT seed_group');
      }
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw new MutxError('internal', `seeding the sandbox failed: ${(error as Error).message}`, { cause: error });
  }
  return groups;
}

/** `INSERT INTO t (a, b)` → t.a, t.b: the columns a seed group needs. */
function insertedColumns(sql: string): string[] {
  return [...sql.matchAll(/INSERT INTO (\w+) \(([^)]*)\)/g)].flatMap((match) => match[2]!.split(',').map((column) => `${match[1]}.${column.trim()}`));
}

/** Builds a template database at a starting revision: the project's migrations through the core, then the seed rows. */
async function buildTemplate(settings: ProjectSettings, port: number, spec: string, options: SandboxOptions): Promise<[string, TemplateInfo]> {
  const graph = loadGraph(settings);
  const revisions = startingRevisions(graph, spec);
  const key = templateKey(graph, revisions);
  const database = `${TEMPLATE_PREFIX}${key}`;
  const admin = await adminClient(port);
  try {
    await dropDatabase(admin, database);
    await admin.query(`CREATE DATABASE ${quoteIdent(database)}`);
  } finally {
    await admin.end().catch(() => {});
  }
  const operator = options.operator ?? currentOperator();
  const ctx = {
    settings,
    target: parseTarget({ url: urlFor(port, database) }),
    operator,
    audit: new SandboxAuditTrail(settings.auditPath, operator),
    signal: options.signal,
    onEvent: (event: MigrationEvent) => {
      if (event.type === 'step-started') options.onProgress?.({ step: 'migrate', message: `[${event.index + 1}/${event.total}] upgrade ${event.revision}: ${event.message}` });
    },
  };
  for (const revision of revisions) await migrate(ctx, 'upgrade', revision);
  options.onProgress?.({ step: 'seed', message: 'inserting sample rows (users, roles, agents, deployments, events…)' });
  const client = await adminClient(port, database);
  try {
    await insertSeedRows(client);
  } finally {
    await client.end().catch(() => {});
  }
  const admin2 = await adminClient(port);
  try {
    await admin2.query(`ALTER DATABASE ${quoteIdent(database)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
  } finally {
    await admin2.end().catch(() => {});
  }
  return [key, { database, spec, revisions, createdAt: new Date().toISOString() }];
}

/** (Re)creates `mutx` from the template for `spec`, building the template first if needed. */
async function recreateDatabase(settings: ProjectSettings, port: number, state: StateFile, spec: string, options: SandboxOptions, database = SANDBOX_DATABASE): Promise<{ seeded: boolean; revisions: string[] }> {
  const graph = loadGraph(settings);
  const key = templateKey(graph, startingRevisions(graph, spec));
  let seeded = false;
  const admin = await adminClient(port);
  try {
    let template = state.templates[key];
    if (!template || !(await databaseExists(admin, template.database))) {
      options.onProgress?.({ step: 'template', message: `building the starting point (${spec === DEFAULT_SPEC ? 'one before head' : spec}) from the migrations` });
      const [builtKey, built] = await buildTemplate(settings, port, spec, options);
      // Templates of the same starting point built from older files (or seed rows) are outdated.
      for (const [otherKey, other] of Object.entries(state.templates)) {
        if (otherKey === builtKey || other.spec !== spec) continue;
        await dropDatabase(admin, other.database);
        delete state.templates[otherKey];
      }
      state.templates[builtKey] = built;
      template = built;
      seeded = true;
    }
    options.onProgress?.({ step: 'reset', message: `recreating database ${database} from ${template.database}` });
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${quoteIdent(database)} TEMPLATE ${quoteIdent(template.database)}`);
    if (database === SANDBOX_DATABASE) state.current = key;
    return { seeded, revisions: template.revisions };
  } finally {
    await admin.end().catch(() => {});
  }
}

// ---------------------------------------------------------------- start / stop / reset

function ownership(previous: StateFile | undefined, wasRunning: boolean, requested: boolean | undefined): Pick<StateFile, 'ownedByApp' | 'ownerPid'> {
  if (!wasRunning || !previous) return requested ? { ownedByApp: true, ownerPid: process.pid } : { ownedByApp: false, ownerPid: undefined };
  // Already running: `sandbox start` (not owned) makes it permanent; an app adopts only an app-owned one whose owner is gone.
  if (!requested) return { ownedByApp: false, ownerPid: undefined };
  if (previous.ownedByApp && (!previous.ownerPid || !isRunning(previous.ownerPid))) return { ownedByApp: true, ownerPid: process.pid };
  return { ownedByApp: previous.ownedByApp, ownerPid: previous.ownerPid };
}

async function startLocked(settings: ProjectSettings, paths: SandboxPaths, options: StartSandboxOptions): Promise<StartSandboxResult & { state: StateFile }> {
  const started = Date.now();
  const binaries = findServerBinaries();
  assertServerUser();
  const seen = await inspect(paths);
  const template = () => (seen.stored?.current ? seen.stored.templates[seen.stored.current] : undefined);

  if (seen.state === 'running' && seen.stored && seen.pidFile) {
    const state: StateFile = { ...seen.stored, pid: seen.pidFile.pid, port: seen.pidFile.port, ...ownership(seen.stored, true, options.ownedByApp) };
    writeState(paths, state);
    return { url: urlFor(seen.pidFile.port), port: seen.pidFile.port, pid: seen.pidFile.pid, created: false, alreadyRunning: true, recovered: false, startingRevisions: template()?.revisions ?? [], durationMs: Date.now() - started, state };
  }

  let recovered = false;
  if (seen.pidFile) {
    recovered = true;
    if (seen.alive) {
      options.onProgress?.({ step: 'recover', message: `${seen.reason ?? 'the server is in a bad state'}: stopping it` });
      await stopPostmaster(seen.pidFile.pid, paths.dataDir);
    } else {
      options.onProgress?.({ step: 'recover', message: `${seen.reason ?? 'stale postmaster.pid'}: cleaning up` });
      await waitForChildren(paths.dataDir);
    }
    // Remove the pid file only once the process it names is gone (or is no postmaster of ours).
    const still = readPostmasterPid(paths);
    if (still && !isOurProcess(still.pid, paths.dataDir)) fs.rmSync(path.join(paths.dataDir, 'postmaster.pid'), { force: true });
  }

  let created = false;
  let state: StateFile;
  if (!seen.complete) {
    if (fs.existsSync(paths.dataDir)) removeDataDir(settings, paths);
    fs.rmSync(paths.stateFile, { force: true });
    options.onProgress?.({ step: 'initdb', message: `creating a PostgreSQL cluster in ${paths.dataDir} (${binaries.bindir})` });
    await initCluster(binaries, paths);
    created = true;
    state = { version: 1, port: 0, createdAt: new Date().toISOString(), ownedByApp: false, bindir: binaries.bindir, templates: {} };
  } else {
    state = { ...seen.stored! };
  }

  options.onProgress?.({ step: 'start', message: 'starting the sandbox server (Unix socket only, in a private folder)' });
  const { port, pid } = await startServer(binaries, paths, state.port || undefined);
  state = { ...state, port, pid, startedAt: new Date().toISOString(), bindir: binaries.bindir, ...ownership(seen.stored, false, options.ownedByApp) };
  try {
    if (created) {
      await recreateDatabase(settings, port, state, options.revision ?? DEFAULT_SPEC, options);
    } else {
      const admin = await adminClient(port);
      const missing = await databaseExists(admin, SANDBOX_DATABASE).then((exists) => !exists).finally(() => admin.end().catch(() => {}));
      if (missing) await recreateDatabase(settings, port, state, template()?.spec ?? DEFAULT_SPEC, options);
    }
  } catch (error) {
    // A cluster that never got its database is rebuilt next time: leave no server running for it.
    if (created) await stopPostmaster(pid, paths.dataDir).catch(() => {});
    else writeState(paths, state);
    throw error;
  }
  writeState(paths, state);
  const current = state.current ? state.templates[state.current] : undefined;
  return { url: urlFor(port), port, pid, created, alreadyRunning: false, recovered, startingRevisions: current?.revisions ?? [], durationMs: Date.now() - started, state };
}

/**
 * Starts the sandbox, creating it (initdb, migrations to the starting revision, sample rows)
 * if there is none, and recovering from a stale postmaster.pid or a server that stopped answering.
 */
export async function startSandbox(settings: ProjectSettings, options: StartSandboxOptions = {}): Promise<StartSandboxResult> {
  const paths = sandboxPaths(settings);
  const { state: _state, ...result } = await withSandboxLock(paths, () => startLocked(settings, paths, options));
  return result;
}

async function stopLocked(paths: SandboxPaths, options: SandboxOptions): Promise<{ wasRunning: boolean }> {
  const pidFile = readPostmasterPid(paths);
  let wasRunning = false;
  if (pidFile && isOurProcess(pidFile.pid, paths.dataDir)) {
    options.onProgress?.({ step: 'stop', message: `stopping the sandbox server (pid ${pidFile.pid})` });
    await stopPostmaster(pidFile.pid, paths.dataDir);
    wasRunning = true;
  } else if (pidFile) {
    await waitForChildren(paths.dataDir);
  }
  // Fast shutdown removes postmaster.pid; a stale one goes too, its process being gone.
  const still = readPostmasterPid(paths);
  if (still && !isOurProcess(still.pid, paths.dataDir)) fs.rmSync(path.join(paths.dataDir, 'postmaster.pid'), { force: true });
  if (!readPostmasterPid(paths)) removeSocketDir(pidFile?.socketDir);
  const state = readState(paths);
  if (state) writeState(paths, { ...state, pid: undefined, ownedByApp: false, ownerPid: undefined });
  return { wasRunning };
}

/** Stops the sandbox server (fast shutdown); its data stays for the next start. */
export async function stopSandbox(settings: Pick<ProjectSettings, 'statePath'>, options: SandboxOptions = {}): Promise<{ wasRunning: boolean }> {
  const paths = sandboxPaths(settings);
  if (!fs.existsSync(paths.dataDir)) return { wasRunning: false };
  return withSandboxLock(paths, () => stopLocked(paths, options));
}

/**
 * For the app on exit: stops the sandbox only if this process started it with ownedByApp
 * (a `sandbox start` from the CLI meanwhile makes it permanent).
 */
export async function releaseSandbox(settings: Pick<ProjectSettings, 'statePath'>): Promise<{ stopped: boolean }> {
  const paths = sandboxPaths(settings);
  const state = readState(paths);
  if (!state?.ownedByApp || state.ownerPid !== process.pid) return { stopped: false };
  const { wasRunning } = await stopSandbox(settings);
  return { stopped: wasRunning };
}

/**
 * The synchronous form of releaseSandbox for a `process.on('exit')` handler: sends the fast
 * shutdown signal and returns without waiting for the server to finish.
 */
export function releaseSandboxSync(settings: Pick<ProjectSettings, 'statePath'>): boolean {
  const paths = sandboxPaths(settings);
  const state = readState(paths);
  if (!state?.ownedByApp || state.ownerPid !== process.pid) return false;
  const pidFile = readPostmasterPid(paths);
  if (!pidFile || !isOurProcess(pidFile.pid, paths.dataDir)) return false;
  try {
    process.kill(pidFile.pid, 'SIGINT');
    writeState(paths, { ...state, pid: undefined, ownedByApp: false, ownerPid: undefined });
    return true;
  } catch {
    return false;
  }
}

/** Under the sandbox lock: the running sandbox's state and port, starting it first if it is not running. */
async function runningOrStarted(settings: ProjectSettings, paths: SandboxPaths, options: StartSandboxOptions): Promise<{ state: StateFile; port: number; started: boolean; created: boolean }> {
  const seen = await inspect(paths);
  if (seen.state === 'running' && seen.stored && seen.pidFile) return { state: { ...seen.stored }, port: seen.pidFile.port, started: false, created: false };
  const result = await startLocked(settings, paths, options);
  return { state: result.state, port: result.port, started: true, created: result.created };
}

/**
 * Puts `mutx` back to its starting point (fast: DROP … WITH (FORCE) and CREATE … TEMPLATE).
 * Starts the sandbox first if it is not running; a new `revision` builds (once) a template for it.
 */
export async function resetSandbox(settings: ProjectSettings, options: ResetSandboxOptions = {}): Promise<ResetSandboxResult> {
  const started = Date.now();
  const paths = sandboxPaths(settings);
  return withSandboxLock(paths, async () => {
    const { state, port, started: wasStarted, created } = await runningOrStarted(settings, paths, options);
    if (created) {
      const current = state.current ? state.templates[state.current] : undefined;
      return { url: urlFor(port), port, startingRevisions: current?.revisions ?? [], seeded: true, started: true, durationMs: Date.now() - started };
    }
    const spec = options.revision ?? (state.current ? state.templates[state.current]?.spec : undefined) ?? DEFAULT_SPEC;
    const { seeded } = await recreateDatabase(settings, port, state, spec, options);
    writeState(paths, state);
    const current = state.current ? state.templates[state.current] : undefined;
    return { url: urlFor(port), port, startingRevisions: current?.revisions ?? [], seeded, started: wasStarted, durationMs: Date.now() - started };
  });
}

/** Stops the sandbox and deletes its folder (data, state, log). */
export async function destroySandbox(settings: Pick<ProjectSettings, 'statePath'>): Promise<{ existed: boolean }> {
  const paths = sandboxPaths(settings);
  if (!fs.existsSync(paths.dir)) return { existed: false };
  await withSandboxLock(paths, async () => {
    await stopLocked(paths, {});
    removeDataDir(settings, paths);
    fs.rmSync(paths.stateFile, { force: true });
  });
  try {
    fs.rmdirSync(paths.dir);
  } catch {
    // Another process took the lock meanwhile, or something else lives there: leave the folder.
  }
  return { existed: true };
}

/** Drill databases live beside `mutx` in the sandbox and are named so nothing else is touched. */
export const DRILL_DATABASE_PREFIX = 'mutx_drill_';

/**
 * A fresh database in the sandbox at a starting revision with the seed rows (for a drill),
 * cloned from the same templates as `mutx`. Starts the sandbox if needed.
 */
export async function createSandboxDatabase(settings: ProjectSettings, database: string, options: ResetSandboxOptions = {}): Promise<{ url: string; revisions: string[] }> {
  if (!database.startsWith(DRILL_DATABASE_PREFIX) || !/^[a-z0-9_]{1,63}$/.test(database)) {
    throw new MutxError('internal', `sandbox database name "${database.slice(0, 70)}" must start with ${DRILL_DATABASE_PREFIX}`);
  }
  const paths = sandboxPaths(settings);
  return withSandboxLock(paths, async () => {
    const { state, port } = await runningOrStarted(settings, paths, options);
    const { revisions } = await recreateDatabase(settings, port, state, options.revision ?? DEFAULT_SPEC, options, database);
    writeState(paths, state);
    return { url: urlFor(port, database), revisions };
  });
}

/** Drops a drill database (only names created by createSandboxDatabase). */
export async function dropSandboxDatabase(settings: Pick<ProjectSettings, 'statePath'>, database: string): Promise<void> {
  if (!database.startsWith(DRILL_DATABASE_PREFIX)) return;
  const port = (await sandboxStatus(settings)).port;
  if (!port) return;
  const admin = await adminClient(port);
  try {
    await dropDatabase(admin, database);
  } finally {
    await admin.end().catch(() => {});
  }
}
