import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execaSync } from 'execa';
import pg from 'pg';
import { MutxError } from './errors';

/**
 * A throwaway PostgreSQL cluster built from the local server binaries: for the sandbox and
 * for tests that need a server we can configure (password auth, a server that goes away).
 * As root, initdb and postgres refuse to run, so they run as the `postgres` OS user.
 */
export interface ServerBinaries {
  bindir: string;
  initdb: string;
  pgCtl: string;
  postgres: string;
}

const USUAL_BINDIRS = ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin', '/usr/local/pgsql/bin', '/usr/pgsql-15/bin', '/opt/homebrew/bin', '/usr/local/bin', '/usr/bin'];

export function findServerBinaries(): ServerBinaries {
  const candidates: string[] = [];
  try {
    candidates.push(execaSync('pg_config', ['--bindir']).stdout.trim());
  } catch {
    // pg_config is optional; fall back to PATH and the usual folders.
  }
  candidates.push(...(process.env.PATH ?? '').split(path.delimiter), ...USUAL_BINDIRS);
  for (const bindir of candidates) {
    if (!bindir) continue;
    const initdb = path.join(bindir, 'initdb');
    const pgCtl = path.join(bindir, 'pg_ctl');
    const postgres = path.join(bindir, 'postgres');
    if ([initdb, pgCtl, postgres].every((file) => fs.existsSync(file))) return { bindir, initdb, pgCtl, postgres };
  }
  throw new MutxError('config', 'PostgreSQL server binaries (initdb, pg_ctl, postgres) not found via pg_config, PATH or the usual folders', {
    hint: 'install postgresql-15 (apt-get install postgresql-15), or set DATABASE_URL to a running server',
  });
}

export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** The OS user the server runs as when we are root. */
export const SERVER_OS_USER = 'postgres';

let serverUserChecked = false;

/**
 * As root, initdb and postgres refuse to run, so they run as the postgres OS user: one clear
 * error when that user does not exist. A no-op when not root.
 */
export function assertServerUser(): void {
  if (!isRoot() || serverUserChecked) return;
  try {
    execaSync('id', ['-u', SERVER_OS_USER]);
  } catch {
    throw new MutxError('config', `running as root, the PostgreSQL server must run as the "${SERVER_OS_USER}" OS user, which does not exist`, {
      hint: `create it (useradd --system --create-home ${SERVER_OS_USER}; installing postgresql-15 does), run mutx-ops as a non-root user, or set DATABASE_URL`,
    });
  }
  serverUserChecked = true;
}

/** The environment of a server tool: ours without PG* variables, which would change its defaults (PGDATA, PGPORT…). */
function serverEnvironment(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^PG/.test(key)) env[key] = value;
  }
  return { ...env, ...extra };
}

export interface ServerToolOptions {
  env?: Record<string, string>;
  /**
   * A directory handed to the tool as file descriptor 3, so it can reach it as /proc/self/fd/3
   * even when the postgres OS user may not traverse its parents (a root-only project folder).
   */
  dirFd?: number;
  cwd?: string;
}

export interface ServerToolResult {
  stdout: string;
  stderr: string;
}

/** A server tool that exited non-zero; `stderr` holds what it said. */
export class ServerToolError extends Error {
  constructor(
    readonly tool: string,
    readonly exitCode: number | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    const said = stderr.trim().split('\n').filter(Boolean).pop() ?? stdout.trim().split('\n').filter(Boolean).pop() ?? '';
    super(`${path.basename(tool)} failed (exit ${exitCode ?? 'by signal'})${said ? `: ${said}` : ''}`);
    this.name = 'ServerToolError';
  }
}

/** Runs a server binary, as the postgres OS user when we are root; rejects with ServerToolError on a non-zero exit. */
export async function runServerTool(file: string, args: string[], options: ServerToolOptions = {}): Promise<ServerToolResult> {
  const [command, argv] = isRoot() ? ['runuser', ['-u', SERVER_OS_USER, '--', file, ...args]] : [file, args];
  const child = spawn(command, argv, {
    env: serverEnvironment(options.env ?? {}),
    cwd: options.cwd,
    stdio: options.dirFd !== undefined ? ['ignore', 'pipe', 'pipe', options.dirFd] : ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  if (exitCode !== 0) throw new ServerToolError(file, exitCode, stdout, stderr);
  return { stdout, stderr };
}

/** Hands a file or folder to the postgres OS user (recursively) when we are root. */
export function chownToPostgres(target: string, options: { recursive?: boolean } = {}): void {
  if (!isRoot()) return;
  assertServerUser();
  try {
    execaSync('chown', [...(options.recursive === false ? [] : ['-R']), `${SERVER_OS_USER}:${SERVER_OS_USER}`, target]);
  } catch {
    throw new MutxError('config', `cannot hand ${target} to the ${SERVER_OS_USER} OS user`, { hint: `check that the ${SERVER_OS_USER} user and group exist, or run as a non-root user` });
  }
}

export interface LocalCluster {
  dataDir: string;
  port: number;
  superuser: string;
  password?: string;
  url(database?: string): string;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

export interface InitOptions {
  /** Parent folder; its own folder is created inside (mode 0700). */
  baseDir?: string;
  port?: number;
  /** With a password the cluster uses scram-sha-256 on TCP; without, trust. */
  password?: string;
  superuser?: string;
}

export async function initLocalCluster(options: InitOptions = {}): Promise<LocalCluster> {
  const binaries = findServerBinaries();
  const baseDir = options.baseDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mutx-cluster-'));
  fs.mkdirSync(baseDir, { recursive: true, mode: 0o700 });
  const dataDir = path.join(baseDir, 'data');
  const socketDir = path.join(baseDir, 'run');
  fs.mkdirSync(socketDir, { recursive: true, mode: 0o700 });
  const superuser = options.superuser ?? 'postgres';
  const initArgs = ['-D', dataDir, '-U', superuser, '--no-sync', '-E', 'UTF8', '--locale=C'];
  // A password is set after start over the Unix socket (trust there), not with --pwfile: no
  // file holds it, and initdb (run as another OS user) need not be able to read one of ours.
  initArgs.push(...(options.password ? ['--auth-host=scram-sha-256', '--auth-local=trust'] : ['--auth=trust']));
  chownToPostgres(baseDir);
  await runServerTool(binaries.initdb, initArgs);
  const port = options.port ?? (await freeLoopbackPort());
  fs.appendFileSync(
    path.join(dataDir, 'postgresql.conf'),
    `\nlisten_addresses = '127.0.0.1'\nport = ${port}\nunix_socket_directories = '${socketDir}'\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\nshared_buffers = 32MB\nmax_connections = 40\n`,
  );
  const cluster: LocalCluster = {
    dataDir,
    port,
    superuser,
    password: options.password,
    url: (database = 'postgres') => `postgresql://${superuser}${options.password ? `:${encodeURIComponent(options.password)}` : ''}@127.0.0.1:${port}/${database}`,
    start: async () => {
      await runServerTool(binaries.pgCtl, ['-D', dataDir, '-l', path.join(baseDir, 'server.log'), '-w', '-t', '30', 'start']);
    },
    stop: async () => {
      await runServerTool(binaries.pgCtl, ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => {});
    },
    destroy: async () => {
      await cluster.stop();
      fs.rmSync(baseDir, { recursive: true, force: true });
    },
  };
  await cluster.start();
  if (options.password) await setPassword(socketDir, port, superuser, options.password);
  return cluster;
}

async function setPassword(socketDir: string, port: number, role: string, password: string): Promise<void> {
  const client = new pg.Client({ host: socketDir, port, user: role, database: 'postgres' });
  await client.connect();
  try {
    await client.query(`ALTER ROLE ${client.escapeIdentifier(role)} PASSWORD ${client.escapeLiteral(password)}`);
  } finally {
    await client.end();
  }
}
