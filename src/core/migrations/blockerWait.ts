import { isMutxError } from '../errors';
import { delay } from './lock';
import { openClient, type CoreContext } from './operations';

/**
 * The "wait" answer to a lock timeout with nothing applied: the sessions the failure named (the
 * transactions holding the table lock, or the holder of the migration lock) are watched until they
 * are gone — the session ended, or (a table lock) its transaction ended, or (the migration lock) it
 * no longer holds an advisory lock — then the caller retries. Read-only: pg_stat_activity and
 * pg_locks, nothing is terminated.
 */
export interface BlockingSession {
  pid: number;
  kind: 'table-lock' | 'migration-lock';
  /** The blocking transaction's start: a new transaction of the same session no longer holds the old locks. */
  xactStart?: string;
  description: string;
}

function iso(value: unknown): string | undefined {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string' && value) return new Date(value).toISOString();
  return undefined;
}

/** The sessions a lock failure named (MutxError details: `blockers` of a table lock timeout, `holder` of the migration lock). */
export function blockingSessionsOf(error: unknown): BlockingSession[] {
  if (!isMutxError(error) || !error.details) return [];
  const details = error.details as { blockers?: { pid?: number; applicationName?: string; state?: string | null; xactStart?: unknown; query?: string }[]; holder?: { pid?: number; applicationName?: string } };
  const sessions: BlockingSession[] = [];
  for (const b of details.blockers ?? []) {
    if (typeof b.pid !== 'number') continue;
    sessions.push({ pid: b.pid, kind: 'table-lock', xactStart: iso(b.xactStart), description: `pid ${b.pid} (${b.applicationName || 'no application_name'}, ${b.state ?? '?'}): ${(b.query ?? '').replace(/\s+/g, ' ').slice(0, 60)}` });
  }
  if (error.kind === 'lock' && typeof details.holder?.pid === 'number') {
    sessions.push({ pid: details.holder.pid, kind: 'migration-lock', description: `pid ${details.holder.pid} (${details.holder.applicationName || 'no application_name'}), holder of the migration lock` });
  }
  return sessions;
}

export interface WaitResult {
  ended: boolean;
  waitedMs: number;
}

export async function waitForBlockers(
  ctx: CoreContext,
  sessions: BlockingSession[],
  options: { signal?: AbortSignal; maxWaitMs?: number; pollMs?: number; onProgress?: (stillBlocking: BlockingSession[], waitedMs: number) => void } = {},
): Promise<WaitResult> {
  const started = Date.now();
  const maxWaitMs = options.maxWaitMs ?? 30 * 60_000;
  const client = await openClient(ctx);
  try {
    for (;;) {
      const result = await client.query<{ pid: number; xact_start: Date | null; advisory: boolean }>(
        "SELECT a.pid, a.xact_start, EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.granted) AS advisory FROM pg_stat_activity a WHERE a.pid = ANY($1::int[])",
        [sessions.map((s) => s.pid)],
      );
      const still = sessions.filter((session) => {
        const row = result.rows.find((r) => r.pid === session.pid);
        if (!row) return false;
        if (session.kind === 'migration-lock') return row.advisory;
        return session.xactStart === undefined ? row.xact_start !== null : iso(row.xact_start) === session.xactStart;
      });
      const waitedMs = Date.now() - started;
      if (still.length === 0) return { ended: true, waitedMs };
      options.onProgress?.(still, waitedMs);
      if (options.signal?.aborted || waitedMs >= maxWaitMs) return { ended: false, waitedMs };
      await delay(options.pollMs ?? 500, options.signal).catch(() => {});
    }
  } finally {
    await client.end().catch(() => {});
  }
}
