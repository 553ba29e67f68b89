import crypto from 'node:crypto';
import os from 'node:os';
import type pg from 'pg';
import { processAlive, type AuditTrail } from '../audit';
import { connect, parseTarget, quoteIdent, quoteLiteral, withDatabase, type Target } from '../connection';
import { MutxError } from '../errors';
import type { Operator } from '../identity';

/**
 * Scratch databases for rehearsals: created on a server (the target's by default, or
 * --scratch-url's), named mutx_rehearse_<random>, tagged with a comment naming the process that
 * owns it, and always dropped. A process killed with -9 leaves one behind: the next rehearsal on
 * that server drops it (its owner is gone) and records that in the audit trail.
 */
export const SCRATCH_PREFIX = 'mutx_rehearse_';

interface ScratchTag {
  mutx_ops_rehearsal: 1;
  pid: number;
  host: string;
  started: string;
}

export interface ScratchServer {
  /** A database on the scratch server mutx-ops connects to for CREATE/DROP DATABASE. */
  admin: Target;
  /** Where the scratch server came from, for messages. */
  origin: 'target-server' | 'scratch-url';
}

export interface ScratchDatabase {
  name: string;
  target: Target;
  drop(): Promise<void>;
}

/** Identifies one database on one running server, without writing anything. */
interface DatabaseIdentity {
  datname: string;
  oid: number;
  started: string;
  port: string;
}

async function identityOf(client: pg.Client): Promise<DatabaseIdentity> {
  const row = (
    await client.query<{ datname: string; oid: number; started: string; port: string }>(
      "SELECT current_database() AS datname, (SELECT oid::int FROM pg_database WHERE datname = current_database()) AS oid, pg_postmaster_start_time()::text AS started, current_setting('port') AS port",
    )
  ).rows[0]!;
  return row;
}

/**
 * The server to create the scratch database on: --scratch-url, refused when it is the target
 * itself (the same database of the same running server, however the URL spells the host); else
 * the target's own server through its `postgres` database (falling back to the target database
 * for the CREATE DATABASE statement only, which writes no table of it).
 */
export async function scratchServer(target: Target, targetClient: pg.Client, operator: Operator, scratchUrl: string | undefined, connectTimeoutSeconds: number): Promise<ScratchServer> {
  if (scratchUrl === undefined) {
    const admin = withDatabase(target, 'postgres');
    try {
      const probe = await connect(admin, { operator, connectTimeoutSeconds });
      await probe.end().catch(() => {});
      return { admin, origin: 'target-server' };
    } catch {
      return { admin: target, origin: 'target-server' };
    }
  }
  const admin = parseTarget({ url: scratchUrl, sslMode: process.env.DATABASE_SSL_MODE || undefined });
  const client = await connect(admin, { operator, connectTimeoutSeconds }).catch((error: unknown) => {
    throw new MutxError('connection', `--scratch-url ${admin.redacted}: ${(error as Error).message}`, { hint: 'give a server mutx-ops may create a scratch database on (CREATEDB privilege)' });
  });
  try {
    const [mine, theirs] = await Promise.all([identityOf(client), identityOf(targetClient)]);
    if (mine.datname === theirs.datname && mine.oid === theirs.oid && mine.started === theirs.started && mine.port === theirs.port) {
      throw new MutxError('usage', `--scratch-url ${admin.redacted} is the target database itself`, {
        hint: 'give a maintenance database (e.g. …/postgres) on a server where a throwaway database may be created; the rehearsal never runs on the target',
      });
    }
  } finally {
    await client.end().catch(() => {});
  }
  return { admin, origin: 'scratch-url' };
}

function randomName(): string {
  return `${SCRATCH_PREFIX}${crypto.randomBytes(6).toString('hex')}`;
}

/** Creates the scratch database with the target's encoding and collation when the server has them. */
export async function createScratch(server: ScratchServer, operator: Operator, like: { encoding: string; collate: string; ctype: string } | undefined, connectTimeoutSeconds: number): Promise<ScratchDatabase> {
  const client = await connect(server.admin, { operator, connectTimeoutSeconds });
  const name = randomName();
  const tag: ScratchTag = { mutx_ops_rehearsal: 1, pid: process.pid, host: os.hostname(), started: new Date().toISOString() };
  try {
    const base = `CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0`;
    try {
      await client.query(like ? `${base} ENCODING ${quoteLiteral(like.encoding)} LC_COLLATE ${quoteLiteral(like.collate)} LC_CTYPE ${quoteLiteral(like.ctype)}` : base);
    } catch (error) {
      // Another server may not have the target's locale: the server's default is close enough.
      if (!like || (error as { code?: string }).code === '42501') throw error;
      await client.query(base);
    }
    await client.query(`COMMENT ON DATABASE ${quoteIdent(name)} IS ${quoteLiteral(JSON.stringify(tag))}`);
  } catch (error) {
    await client.end().catch(() => {});
    const code = (error as { code?: string }).code;
    throw new MutxError(code === '42501' ? 'usage' : 'migration-failed', `cannot create the scratch database on ${server.admin.host}:${server.admin.port}: ${(error as Error).message.split('\n')[0]}`, {
      hint: code === '42501' ? 'the target\'s role may not CREATE DATABASE: pass --scratch-url postgresql://…/postgres of a server where it may (e.g. `mutx-ops sandbox url`)' : 'check the scratch server',
    });
  }
  await client.end().catch(() => {});
  const target: Target = { ...withDatabase(server.admin, name), environment: undefined, protected: false };
  let dropped = false;
  return {
    name,
    target,
    drop: async () => {
      if (dropped) return;
      await dropDatabase(server, operator, name, connectTimeoutSeconds);
      dropped = true;
    },
  };
}

async function dropDatabase(server: ScratchServer, operator: Operator, name: string, connectTimeoutSeconds: number): Promise<void> {
  // Only ever a database this module named: never anything else, whatever a comment says.
  if (!name.startsWith(SCRATCH_PREFIX)) throw new MutxError('internal', `refusing to drop ${name}: not a rehearsal database`);
  const client = await connect(server.admin, { operator, connectTimeoutSeconds });
  try {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
  } finally {
    await client.end().catch(() => {});
  }
}

export interface OrphanDropped {
  name: string;
  pid: number;
  started: string;
}

/**
 * Drops rehearsal databases whose owning process (on this host) is gone — left by a kill -9 —
 * and records each drop in the audit trail. Databases of other hosts' live rehearsals are kept.
 */
export async function dropOrphans(server: ScratchServer, operator: Operator, audit: AuditTrail, connectTimeoutSeconds: number): Promise<OrphanDropped[]> {
  const client = await connect(server.admin, { operator, connectTimeoutSeconds });
  let rows: { datname: string; comment: string | null }[];
  try {
    rows = (await client.query<{ datname: string; comment: string | null }>("SELECT datname, shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE starts_with(datname, $1)", [SCRATCH_PREFIX])).rows;
  } finally {
    await client.end().catch(() => {});
  }
  const dropped: OrphanDropped[] = [];
  for (const row of rows) {
    let tag: ScratchTag | undefined;
    try {
      tag = JSON.parse(row.comment ?? '') as ScratchTag;
    } catch {
      continue;
    }
    if (tag?.mutx_ops_rehearsal !== 1 || tag.host !== os.hostname() || processAlive(tag.pid)) continue;
    await dropDatabase(server, operator, row.datname, connectTimeoutSeconds).catch(() => {});
    audit.append({ action: 'rehearse.orphan-dropped', phase: 'event', target: withDatabase(server.admin, row.datname).redacted, details: { database: row.datname, pid: tag.pid, started: tag.started, reason: 'its rehearsal process ended without dropping it (killed or crashed)' } });
    dropped.push({ name: row.datname, pid: tag.pid, started: tag.started });
  }
  return dropped;
}
