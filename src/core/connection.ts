import fs from 'node:fs';
import type pg from 'pg';
import type { SslMode } from './config';
import { MutxError } from './errors';
import { applicationName, type Operator } from './identity';

const SSL_MODES: readonly SslMode[] = ['disable', 'require', 'verify-ca', 'verify-full'];

/** A database to act on. `password` stays in memory: it is never printed, logged or put in argv. */
export interface Target {
  host: string;
  port: number;
  database: string;
  user: string;
  password?: string;
  sslMode: SslMode;
  sslRootCert?: string;
  /** The URL with the password replaced by ***, safe for screens, logs and the audit trail. */
  redacted: string;
  environment?: string;
  protected: boolean;
  /** The local practice sandbox (or a drill's database in it): a run's plan may be confirmed with Enter. */
  sandbox?: boolean;
}

export interface TargetInput {
  url: string;
  /** DATABASE_SSL_MODE (or an environment's ssl_mode); wins over `sslmode=` in the URL. */
  sslMode?: string;
  sslRootCert?: string;
  environment?: string;
  protected?: boolean;
  sandbox?: boolean;
}

/** Secrets known by value (a webhook URL's path token): replaced by *** wherever text is shown or stored. */
const registeredSecrets = new Set<string>();

/** Makes redactSecrets hide `value` from now on (values shorter than 8 characters are too common to hide). */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 8) registeredSecrets.add(value);
}

const SCHEME_CHAR = /[a-z0-9+.-]/i;
const USER_END = /[:/?#@\s]/;
const SPACE = /\s/;

/**
 * Redacts the password of anything that looks like a connection URL inside free text (any scheme:
 * a mistyped mysql:// URL carries a password too; up to the last @ of the token), and every
 * registered secret. One pass from each `://`, never back over text already passed: linear in the
 * text (a regular expression with a leading scheme pattern was quadratic on long words).
 */
export function redactSecrets(text: string): string {
  let out = text.includes('://') ? redactUrlPasswords(text) : text;
  for (const secret of registeredSecrets) if (out.includes(secret)) out = out.split(secret).join('***');
  return out;
}

function redactUrlPasswords(text: string): string {
  let out = '';
  let last = 0;
  let i = text.indexOf('://');
  while (i !== -1) {
    let start = i;
    let letter = false;
    while (start > last && i - start < 40 && SCHEME_CHAR.test(text[start - 1]!)) {
      start--;
      if (/[a-z]/i.test(text[start]!)) letter = true;
    }
    let j = i + 3;
    while (j < text.length && !USER_END.test(text[j]!)) j++;
    if (!letter || text[j] !== ':') {
      i = text.indexOf('://', i + 3);
      continue;
    }
    let end = j + 1;
    while (end < text.length && !SPACE.test(text[end]!)) end++;
    const at = text.lastIndexOf('@', end - 1);
    if (at <= j) {
      // No @ after this point in the token: no later URL in it has a password either.
      i = text.indexOf('://', end);
      continue;
    }
    out += `${text.slice(last, j + 1)}***@`;
    last = at + 1;
    i = text.indexOf('://', last);
  }
  return out + text.slice(last);
}

/**
 * A URL that did not parse cannot be redacted reliably (a password with a space, `?password=`):
 * it is shown only when nothing in it can be a secret the redaction missed.
 */
function showUnparsedUrl(url: string): string {
  const base = url.split(/[?#]/)[0]!;
  const tail = base.length < url.length ? '?…' : '';
  const shown = redactSecrets(base);
  const userinfo = /^[a-z][a-z0-9+.-]*:\/\/([^/]*)@/i.exec(shown)?.[1];
  if (/\s/.test(url) || (userinfo !== undefined && userinfo.includes(':') && !userinfo.endsWith(':***')) || (userinfo === undefined && base.includes('@'))) return '(not shown: it may hold a password)';
  return `"${shown}${tail}"`;
}

export function parseTarget(input: TargetInput): Target {
  const shown = showUnparsedUrl(input.url);
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    throw new MutxError('connection', `invalid database URL ${shown}`, {
      hint: 'expected postgresql://user@host:5432/database (password in the URL or PGPASSWORD)',
    });
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new MutxError('connection', `invalid database URL ${shown}: scheme "${url.protocol.slice(0, 20)}" is not postgresql:`, {
      hint: 'expected postgresql://user@host:5432/database (password in the URL or PGPASSWORD)',
    });
  }
  const hostParam = url.searchParams.get('host');
  const host = decodeURIComponent(url.hostname.replace(/^\[|\]$/g, '')) || hostParam || '127.0.0.1';
  const port = url.port ? Number(url.port) : Number(url.searchParams.get('port') ?? 5432);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new MutxError('connection', `invalid database URL ${shown}: bad port`, { hint: 'use a port between 1 and 65535' });
  }
  const user = decodeURIComponent(url.username) || process.env.PGUSER || 'postgres';
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || user;
  const password = url.password ? decodeURIComponent(url.password) : process.env.PGPASSWORD || undefined;
  const requestedSsl = (input.sslMode || url.searchParams.get('sslmode') || 'disable').toLowerCase();
  // libpq's "prefer"/"allow" try SSL opportunistically; we only speak the four explicit modes.
  const sslMode = (requestedSsl === 'prefer' || requestedSsl === 'allow' ? 'disable' : requestedSsl) as SslMode;
  if (!SSL_MODES.includes(sslMode)) {
    throw new MutxError('connection', `invalid SSL mode "${requestedSsl}"`, {
      hint: `DATABASE_SSL_MODE must be one of ${SSL_MODES.join(', ')}`,
    });
  }
  const sslRootCert = input.sslRootCert ?? url.searchParams.get('sslrootcert') ?? process.env.PGSSLROOTCERT ?? undefined;
  const redactedUrl = `postgresql://${encodeURIComponent(user)}${password ? ':***' : ''}@${host.startsWith('/') ? encodeURIComponent(host) : host.includes(':') ? `[${host}]` : host}:${port}/${encodeURIComponent(database)}`;
  return {
    host,
    port,
    database,
    user,
    password,
    sslMode,
    sslRootCert,
    redacted: redactedUrl,
    environment: input.environment,
    protected: input.protected ?? false,
    ...(input.sandbox ? { sandbox: true } : {}),
  };
}

/** The same target, pointing at another database on the same server (scratch restores, createdb). */
/**
 * The target as a libpq URL. With its password and sslmode for a child that needs the URL itself
 * (on stdin; never argv or screen); without both for env.py, which gets them as PGPASSWORD and
 * PGSSLMODE like pg_dump, so an env.py that logs its URL logs no secret.
 */
export function targetUrl(target: Target, options: { secret: boolean } = { secret: true }): string {
  const credentials = `${encodeURIComponent(target.user)}${options.secret && target.password ? `:${encodeURIComponent(target.password)}` : ''}`;
  const database = encodeURIComponent(target.database);
  const sslMode = options.secret ? `sslmode=${target.sslMode}` : '';
  if (target.host.startsWith('/')) return `postgresql://${credentials}@/${database}?host=${encodeURIComponent(target.host)}&port=${target.port}${sslMode ? `&${sslMode}` : ''}`;
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `postgresql://${credentials}@${host}:${target.port}/${database}${sslMode ? `?${sslMode}` : ''}`;
}

export function withDatabase(target: Target, database: string): Target {
  const redacted = target.redacted.replace(/\/[^/]*$/, `/${encodeURIComponent(database)}`);
  return { ...target, database, redacted };
}

function sslOptions(target: Target): pg.ClientConfig['ssl'] {
  switch (target.sslMode) {
    case 'disable':
      return false;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
    case 'verify-full': {
      let ca: string | undefined;
      if (target.sslRootCert) {
        try {
          ca = fs.readFileSync(target.sslRootCert, 'utf8');
        } catch {
          throw new MutxError('connection', `cannot read the SSL root certificate ${target.sslRootCert}`, {
            hint: 'set PGSSLROOTCERT to a readable CA file',
          });
        }
      }
      return {
        rejectUnauthorized: true,
        ca,
        // verify-ca checks the chain only; verify-full also checks the host name (node's default).
        ...(target.sslMode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}),
      };
    }
  }
}

export interface ConnectOptions {
  operator: Operator;
  connectTimeoutSeconds?: number;
  /** Instead of mutx-ops:OPERATOR@HOST (a drill's simulated application). */
  applicationName?: string;
}

export async function connect(target: Target, options: ConnectOptions): Promise<pg.Client> {
  // Loaded on the first connection: commands that read only files (heads, history) never pay for pg.
  const { default: pgModule } = await import('pg');
  const client = new pgModule.Client({
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database: target.database,
    ssl: sslOptions(target),
    application_name: options.applicationName ?? applicationName(options.operator),
    connectionTimeoutMillis: Math.round((options.connectTimeoutSeconds ?? 5) * 1000),
  });
  // An idle client whose server goes away emits 'error'; without a listener node would crash.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw describeConnectionError(error, target, options.connectTimeoutSeconds ?? 5);
  }
  return client;
}

export function describeConnectionError(error: unknown, target: Target, timeoutSeconds: number): MutxError {
  const err = error as { code?: string; message?: string };
  const where = `${target.host}:${target.port}`;
  const message = redactSecrets(err.message ?? String(error));
  const make = (text: string, hint: string) => new MutxError('connection', text, { hint, cause: error });
  switch (err.code) {
    case 'ECONNREFUSED':
      return make(`cannot connect to ${where}: connection refused`, 'is PostgreSQL running there? check the host and port of the URL');
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return make(`cannot resolve host "${target.host}"`, 'check the host name in the URL');
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return make(`cannot reach ${where}: ${err.code}`, 'check the network path to the database');
    case '28P01':
      return make(`password authentication failed for user "${target.user}" on ${where}`, 'check the password in the URL (or PGPASSWORD)');
    case '28000':
      return make(`${where} refused user "${target.user}": ${message}`, 'check pg_hba.conf and the user name');
    case '3D000':
      return make(`database "${target.database}" does not exist on ${where}`, 'check the database name in the URL');
    default:
      break;
  }
  if (/timeout/i.test(message)) {
    return make(`no answer from ${where} within ${timeoutSeconds}s`, 'check the host, port and firewall (or raise connect_timeout_seconds)');
  }
  if (/does not support SSL/i.test(message)) {
    return make(
      `${where} does not accept SSL but SSL mode is ${target.sslMode}`,
      target.sslMode === 'require' && !target.protected ? 'enable SSL on the server, or set DATABASE_SSL_MODE=disable if this server is on a trusted network' : 'enable SSL on the server (the connection is not made without it)',
    );
  }
  if (/certificate|self[- ]signed|SSL|TLS/i.test(message)) {
    return make(`SSL verification of ${where} failed (${target.sslMode}): ${message}`, 'set PGSSLROOTCERT to the CA that signed the server certificate');
  }
  return make(`cannot connect to ${where}: ${message}`, 'check the database URL');
}

/**
 * Environment for pg_dump/pg_restore/psql children: the password goes through PGPASSWORD,
 * never argv, and the SSL mode through PGSSLMODE.
 */
export function libpqEnvironment(target: Target, operator: Operator): Record<string, string> {
  const env: Record<string, string> = {
    PGHOST: target.host,
    PGPORT: String(target.port),
    PGUSER: target.user,
    PGDATABASE: target.database,
    PGSSLMODE: target.sslMode,
    PGAPPNAME: applicationName(operator),
    PGCONNECT_TIMEOUT: '10',
  };
  if (target.password !== undefined) env.PGPASSWORD = target.password;
  if (target.sslRootCert) env.PGSSLROOTCERT = target.sslRootCert;
  return env;
}

/** Quotes an SQL identifier (schema, table, database names we build into statements). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes an SQL literal for statements we print with --sql and run as one string. */
export function quoteLiteral(value: string | null): string {
  if (value === null) return 'NULL';
  // standard_conforming_strings is on since PostgreSQL 9.1: only quotes need doubling.
  return `'${value.replace(/\u0000/g, '').replace(/'/g, "''")}'`;
}
