import fs from 'node:fs';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { execa } from 'execa';
import { libpqEnvironment, redactSecrets, type Target } from '../connection';
import { MutxError } from '../errors';
import type { Operator } from '../identity';

/**
 * The PostgreSQL client programs: found on PATH (or in $MUTX_PG_BIN_DIR), run through execa with
 * an argument array (no shell), the password only in the child's environment (PGPASSWORD).
 */

export type PgTool = 'pg_dump' | 'pg_restore' | 'psql';

function isExecutableFile(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `15` for 150020, `9.6` for 90624. */
export function serverMajor(serverVersionNum: number): number {
  if (serverVersionNum >= 100000) return Math.floor(serverVersionNum / 10000);
  return Math.floor(serverVersionNum / 10000) + (Math.floor(serverVersionNum / 100) % 100) / 10;
}

function clientPackage(major: number | undefined): string {
  return `postgresql-client-${major ?? 15}`;
}

export function findTool(name: PgTool, major?: number): string {
  const dirs = [process.env.MUTX_PG_BIN_DIR, ...(process.env.PATH ?? '').split(path.delimiter)].filter((dir): dir is string => Boolean(dir));
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  throw new MutxError('config', `${name} not found on PATH: install ${clientPackage(major)}`, {
    hint: `e.g. apt-get install ${clientPackage(major)} (Debian/Ubuntu) or brew install libpq (macOS); or set MUTX_PG_BIN_DIR to the folder that holds ${name}`,
  });
}

export interface ToolVersion {
  /** e.g. "15.20" */
  version: string;
  major: number;
}

const versionCache = new Map<string, ToolVersion>();

export async function toolVersion(bin: string, name: PgTool): Promise<ToolVersion> {
  const cached = versionCache.get(bin);
  if (cached) return cached;
  const result = await execa(bin, ['--version'], { reject: false, timeout: 15_000, stdin: 'ignore', env: { LC_ALL: 'C' }, extendEnv: true });
  const text = String(result.stdout ?? '');
  const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(text) ?? /(\d+)\.(\d+)/.exec(text);
  if (result.exitCode !== 0 || !match) {
    throw new MutxError('config', `${bin} --version did not work (${(String(result.stderr ?? '') || text || `exit ${result.exitCode}`).split('\n')[0]})`, {
      hint: `reinstall the PostgreSQL client (${name}) or fix PATH`,
    });
  }
  const first = Number(match[1]);
  const second = match[2] !== undefined ? Number(match[2]) : 0;
  const major = first >= 10 ? first : first + second / 10;
  const version = match[2] !== undefined ? `${match[1]}.${match[2]}${match[3] !== undefined ? `.${match[3]}` : ''}` : String(first);
  const parsed = { version, major };
  versionCache.set(bin, parsed);
  return parsed;
}

/**
 * pg_dump refuses to dump a server newer than itself ("server version mismatch"): say so before
 * starting, with both versions and what to install.
 */
export function checkDumpVersion(name: PgTool, tool: ToolVersion, bin: string, serverVersion: string, serverMajorVersion: number): void {
  if (tool.major >= serverMajorVersion) return;
  const candidate = `/usr/lib/postgresql/${serverMajorVersion}/bin`;
  const found = isExecutableFile(path.join(candidate, name)) ? `; ${candidate}/${name} exists: set MUTX_PG_BIN_DIR=${candidate}` : '';
  throw new MutxError('config', `${name} ${tool.version} (${bin}) is older than the server (PostgreSQL ${serverVersion}): server version mismatch`, {
    hint: `install ${clientPackage(serverMajorVersion)} and put it first on PATH${found}`,
  });
}

/**
 * The child's environment: ours without any inherited libpq settings or DATABASE_URL, plus the
 * target's (PGHOST…, PGPASSWORD, PGSSLMODE). Messages in English so progress lines parse.
 */
export function childEnvironment(target: Target, operator: Operator, overrides: Record<string, string> = {}): Record<string, string> {
  return { ...toolEnvironment(), ...libpqEnvironment(target, operator), ...overrides };
}

/** Our environment minus libpq settings, DATABASE_URL and locale (for tools that connect nowhere). */
export function toolEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (/^PG/.test(key) && key !== 'PGPASSFILE' && key !== 'PGSERVICEFILE') continue;
    if (key === 'DATABASE_URL' || key === 'LANGUAGE' || /^LC_/.test(key)) continue;
    env[key] = value;
  }
  return { ...env, LC_ALL: 'C', LC_MESSAGES: 'C' };
}

/** Splits a byte stream into lines without ever holding more than `maxLine` characters of one line. */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  private discarding = false;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLine = 4096,
  ) {}

  push(chunk: Buffer | string): void {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      this.take(text.slice(start, nl));
      this.emit();
      start = nl + 1;
    }
    if (start < text.length) this.take(text.slice(start));
  }

  end(): void {
    const rest = this.decoder.end();
    if (rest) this.take(rest);
    if (this.partial || this.discarding) this.emit();
  }

  private take(piece: string): void {
    if (this.discarding) return;
    const room = this.maxLine - this.partial.length;
    if (piece.length > room) {
      this.partial += piece.slice(0, room);
      this.discarding = true;
    } else {
      this.partial += piece;
    }
  }

  private emit(): void {
    const line = this.partial.replace(/\r$/, '');
    this.partial = '';
    this.discarding = false;
    this.onLine(line);
  }
}

/** The last lines of a tool's stderr and its first error lines: bounded, for the one-line failure. */
export class OutputTail {
  readonly last: string[] = [];
  readonly errors: string[] = [];
  /** What the server said, when the tool relays it ("pg_dump: detail: Error message from server: …"). */
  serverMessage?: string;

  constructor(private readonly keep = 20) {}

  push(line: string): void {
    if (!line.trim()) return;
    this.last.push(line);
    if (this.last.length > this.keep) this.last.shift();
    if (/\b(error|ERROR|FATAL|PANIC):/.test(line) && this.errors.length < 10) this.errors.push(line);
    const relayed = /^\S+: detail: Error message from server: (.+)$/.exec(line);
    if (relayed && this.serverMessage === undefined) this.serverMessage = relayed[1]!.trim();
  }
}

export interface ToolOutcome {
  exitCode?: number;
  signal?: string;
  canceled: boolean;
  ok: boolean;
  spawnError?: string;
  tail: OutputTail;
}

export interface ToolRun {
  pid?: number;
  stdout?: Readable;
  stdin?: Writable;
  kill(signal?: NodeJS.Signals): void;
  done: Promise<ToolOutcome>;
}

export interface RunToolOptions {
  env: Record<string, string>;
  signal?: AbortSignal;
  /** 'stream': the caller consumes `stdout`; 'lines': split into onStdoutLine; 'ignore'. */
  stdout: 'stream' | 'lines' | 'ignore';
  /** 'pipe': the caller writes the tool's input to `stdin`. */
  stdin?: 'pipe' | 'ignore';
  onStderrLine?: (line: string) => void;
  onStdoutLine?: (line: string) => void;
}

export function runTool(bin: string, args: string[], options: RunToolOptions): ToolRun {
  const subprocess = execa(bin, args, {
    env: options.env,
    extendEnv: false,
    stdin: options.stdin ?? 'ignore',
    stdout: options.stdout === 'ignore' ? 'ignore' : 'pipe',
    stderr: 'pipe',
    buffer: false,
    reject: false,
    cancelSignal: options.signal,
    forceKillAfterDelay: 5000,
    cleanup: true,
    encoding: 'buffer',
  });
  const tail = new OutputTail();
  const stderrLines = new LineSplitter((line) => {
    tail.push(line);
    options.onStderrLine?.(line);
  });
  const stderr = subprocess.stderr as Readable | null;
  stderr?.on('data', (chunk: Buffer) => stderrLines.push(chunk));
  const stdout = (subprocess.stdout as Readable | null) ?? undefined;
  if (options.stdout === 'lines' && stdout) {
    const stdoutLines = new LineSplitter((line) => options.onStdoutLine?.(line));
    stdout.on('data', (chunk: Buffer) => stdoutLines.push(chunk));
    stdout.on('end', () => stdoutLines.end());
  }
  const done = (async (): Promise<ToolOutcome> => {
    const result = await subprocess;
    stderrLines.end();
    const exitCode = typeof result.exitCode === 'number' ? result.exitCode : undefined;
    const signal = typeof result.signal === 'string' ? result.signal : undefined;
    const spawnError = exitCode === undefined && !signal && result.failed ? String((result as { originalMessage?: string }).originalMessage ?? result.message ?? 'could not start').split('\n')[0] : undefined;
    return { exitCode, signal, canceled: Boolean(result.isCanceled), ok: exitCode === 0 && !result.failed, spawnError, tail };
  })();
  return {
    pid: subprocess.pid,
    stdout: options.stdout === 'stream' ? stdout : undefined,
    stdin: options.stdin === 'pipe' ? ((subprocess.stdin as Writable | null) ?? undefined) : undefined,
    kill: (signal = 'SIGTERM') => {
      subprocess.kill(signal);
    },
    done,
  };
}

const CHATTER = /^(pg_dump|pg_restore): (dumping|processing|reading|saving|creating|executing|finding|flagging|identifying|last built-in|connecting|launching|finished|dropping|setting|implied|entering|restoring|while|from TOC)/;

/** One line saying why a tool failed, without its progress chatter; never contains a password. */
export function describeFailure(name: PgTool, outcome: ToolOutcome): string {
  const pick = outcome.tail.errors[0] ?? [...outcome.tail.last].reverse().find((line) => !CHATTER.test(line));
  let detail = pick
    ?.replace(new RegExp(`^${name}: (error|warning|detail|hint): `), '')
    .replace(/^psql:[^:]*:\d+: /, '')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 400);
  // "PQgetCopyData() failed." alone does not say why: add the server's words (e.g. the connection
  // was terminated, or the server closed it).
  const server = outcome.tail.serverMessage?.replace(/\s+/g, ' ').slice(0, 200);
  if (detail && server && !detail.includes(server)) detail = `${detail} (server: ${server})`;
  let text: string;
  if (outcome.spawnError) text = `${name} could not be started: ${outcome.spawnError}`;
  else if (outcome.signal) text = `${name} was killed by ${outcome.signal}${detail ? ` (${detail})` : ''}`;
  else text = `${name} exited with code ${outcome.exitCode ?? '?'}${detail ? `: ${detail}` : ''}`;
  return redactSecrets(text);
}

/** A database name for `pg_restore --dbname`: the bare name when libpq cannot mistake it for a conninfo/URI. */
export function dbnameArgument(database: string): string {
  if (/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(database)) return database;
  return `dbname='${database.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
