import crypto from 'node:crypto';
import type pg from 'pg';
import { MutxError } from '../errors';
import type { VersionTableNames } from './versionTable';

/**
 * One session-level advisory lock per version table. Session-level on purpose: a
 * transaction-scoped lock would be dropped between migrations and cannot be held across
 * non-transactional ones. If the process dies, the server ends the session and frees the lock.
 */
const LOCK_NAMESPACE = 0x6d757478 & 0x7fffffff; // "mutx"

export function lockKeys(names: VersionTableNames): [number, number] {
  const digest = crypto.createHash('sha256').update(`${names.schema}.${names.table}`).digest();
  return [LOCK_NAMESPACE, digest.readUInt32BE(0) & 0x7fffffff];
}

export interface LockHolder {
  pid: number;
  applicationName: string;
  since: Date | null;
  clientAddr: string | null;
  state: string | null;
}

export function describeHolder(holder: LockHolder): string {
  const since = holder.since ? ` since ${holder.since.toISOString()}` : '';
  return `pid ${holder.pid} (${holder.applicationName || 'no application_name'}${holder.clientAddr ? ` from ${holder.clientAddr}` : ''})${since}`;
}

export async function findLockHolder(client: pg.Client, names: VersionTableNames): Promise<LockHolder | undefined> {
  const [classId, objId] = lockKeys(names);
  const result = await client.query<{ pid: number; application_name: string; backend_start: Date | null; client_addr: string | null; state: string | null }>(
    `SELECT a.pid, a.application_name, a.backend_start, host(a.client_addr) AS client_addr, a.state
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2 AND l.granted
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      LIMIT 1`,
    [classId, objId],
  );
  const row = result.rows[0];
  if (!row) return undefined;
  return { pid: row.pid, applicationName: row.application_name, since: row.backend_start, clientAddr: row.client_addr, state: row.state };
}

export interface AcquireOptions {
  waitSeconds: number;
  signal?: AbortSignal;
  onWait?: (holder: LockHolder | undefined, waitedMs: number) => void;
}

export interface MigrationLock {
  release(): Promise<void>;
}

export async function acquireMigrationLock(client: pg.Client, names: VersionTableNames, options: AcquireOptions): Promise<MigrationLock> {
  const [k1, k2] = lockKeys(names);
  const started = Date.now();
  let lastReport = -Infinity;
  let holder: LockHolder | undefined;
  for (let attempt = 0; ; attempt++) {
    const result = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS locked', [k1, k2]);
    if (result.rows[0]?.locked) {
      return {
        release: async () => {
          await client.query('SELECT pg_advisory_unlock($1, $2)', [k1, k2]);
        },
      };
    }
    holder = (await findLockHolder(client, names)) ?? holder;
    const waited = Date.now() - started;
    if (options.signal?.aborted) break;
    if (waited >= options.waitSeconds * 1000) break;
    if (waited - lastReport >= 1000) {
      options.onWait?.(holder, waited);
      lastReport = waited;
    }
    await delay(Math.min(250, 25 * 2 ** Math.min(attempt, 4)), options.signal);
  }
  throw new MutxError('lock', `the migration lock on ${names.schema}.${names.table} is held by ${holder ? describeHolder(holder) : 'another session'}; gave up after ${options.waitSeconds}s`, {
    hint: 'wait for that run to finish, or raise --wait-lock; to end a stuck holder: SELECT pg_terminate_backend(<pid>)',
    details: { holder },
  });
}

export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
