import type pg from 'pg';
import { connect, type Target } from '../connection';
import type { Operator } from '../identity';

/** PostgreSQL's table lock modes, weakest first (the conflict table's order). */
export const LOCK_MODES = ['AccessShareLock', 'RowShareLock', 'RowExclusiveLock', 'ShareUpdateExclusiveLock', 'ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'] as const;
export type LockMode = (typeof LOCK_MODES)[number];

export function lockStrength(mode: string): number {
  return LOCK_MODES.indexOf(mode as LockMode);
}

export interface ObservedLock {
  relation: string;
  mode: LockMode;
  /** The statement the backend was running when the lock was first seen (pg_stat_activity.query). */
  statement?: string;
}

/** Where the rehearsal is: the poller files each lock under the revision running when it saw it. */
export interface LockCursor {
  key?: string;
}

/**
 * Watches the rehearsal's own backends from a second session on the scratch database: it samples
 * pg_locks (with pg_stat_activity's query) in a loop while the plan runs and keeps, per revision,
 * the strongest lock seen on each relation. Every backend in the scratch database but the poller is
 * the rehearsal's (mutx-ops' session and, for Alembic, its Python child), so both engines are seen
 * the same way. Relations the revision itself created in its open transaction are invisible to
 * another session's pg_class and are left out (a lock on a table nobody else can see blocks nobody);
 * so are system catalogs, mutx-ops' own tables and the version table. A revision that starts and
 * commits between two samples shows no lock: sampling is as fast as the round trip allows.
 */
export class LockObserver {
  private readonly seen = new Map<string, Map<string, ObservedLock>>();
  private client?: pg.Client;
  private running = false;
  private loop?: Promise<void>;
  samples = 0;

  constructor(
    private readonly scratch: Target,
    private readonly operator: Operator,
    private readonly versionTable: { schema: string; table: string },
    private readonly cursor: LockCursor,
    private readonly intervalMs = 2,
  ) {}

  async start(): Promise<void> {
    this.client = await connect(this.scratch, { operator: this.operator, applicationName: 'mutx-ops rehearsal lock observer' });
    this.running = true;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const client = this.client!;
    while (this.running) {
      const key = this.cursor.key;
      if (key !== undefined) {
        try {
          const result = await client.query<{ relation: string; mode: string; query: string | null }>(
            `SELECT format('%I.%I', n.nspname, c.relname) AS relation, l.mode, a.query
               FROM pg_locks l
               JOIN pg_class c ON c.oid = l.relation
               JOIN pg_namespace n ON n.oid = c.relnamespace
               LEFT JOIN pg_stat_activity a ON a.pid = l.pid
              WHERE l.locktype = 'relation' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                AND l.pid <> pg_backend_pid()
                AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'mutx_ops') AND n.nspname NOT LIKE 'pg_toast%'
                AND c.oid <> COALESCE(to_regclass(format('%I.%I', $1::text, $2::text)), 0)
                AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indexrelid = c.oid AND i.indrelid = to_regclass(format('%I.%I', $1::text, $2::text)))`,
            [this.versionTable.schema, this.versionTable.table],
          );
          this.samples++;
          // The revision may have moved on while the query ran: file under the one it started in.
          for (const row of result.rows) this.note(key, row.relation, row.mode, row.query ?? undefined);
        } catch {
          if (!this.running) break;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, this.intervalMs));
    }
  }

  private note(key: string, relation: string, mode: string, query: string | undefined): void {
    if (lockStrength(mode) < 0) return;
    let locks = this.seen.get(key);
    if (!locks) this.seen.set(key, (locks = new Map()));
    const known = locks.get(relation);
    if (!known || lockStrength(mode) > lockStrength(known.mode)) {
      locks.set(relation, { relation, mode: mode as LockMode, statement: query?.replace(/\s+/g, ' ').trim().slice(0, 200) });
    }
  }

  /** Every relation locked under `key`, strongest first. */
  locksOf(key: string): ObservedLock[] {
    return [...(this.seen.get(key)?.values() ?? [])].sort((a, b) => lockStrength(b.mode) - lockStrength(a.mode) || a.relation.localeCompare(b.relation));
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop?.catch(() => {});
    await this.client?.end().catch(() => {});
  }
}
