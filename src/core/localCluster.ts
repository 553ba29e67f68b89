import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa, execaSync } from 'execa';
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

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Runs a server binary, as the postgres OS user when we are root. */
async function runServerTool(file: string, args: string[], env: Record<string, string> = {}) {
  if (isRoot()) {
    return execa('runuser', ['-u', 'postgres', '--', file, ...args], { env, extendEnv: true });
  }
  return execa(file, args, { env, extendEnv: true });
}

function chownToPostgres(target: string): void {
  if (!isRoot()) return;
  try {
    execaSync('chown', ['-R', 'postgres:postgres', target]);
  } catch {
    throw new MutxError('config', `cannot hand ${target} to the postgres OS user`, { hint: 'create the postgres user (apt-get install postgresql-15 does), or run as a non-root user' });
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
  let pwFile: string | undefined;
  if (options.password) {
    pwFile = path.join(baseDir, 'pwfile');
    fs.writeFileSync(pwFile, `${options.password}\n`, { mode: 0o600 });
    initArgs.push('--auth-host=scram-sha-256', '--auth-local=trust', `--pwfile=${pwFile}`);
  } else {
    initArgs.push('--auth=trust');
  }
  chownToPostgres(baseDir);
  try {
    await runServerTool(binaries.initdb, initArgs);
  } finally {
    if (pwFile) fs.rmSync(pwFile, { force: true });
  }
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
  return cluster;
}
