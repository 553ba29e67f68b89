import pg from 'pg';
import type { Result } from 'execa';
import { lockKeys } from '../../src/core/migrations/lock';
import { waitFor, type TestDatabase } from '../helpers/db';
import { cli, mutxBackends, sleep, versionRows, type Backend, type FaultContext } from './support';

/**
 * Interesting points of a migration run, made to last: a second session holds a lock that the
 * run's next statement needs, so the statement sits in pg_stat_activity (waiting on a Lock)
 * until the fault is injected. Then the blocker lets go.
 */
export interface FaultPoint {
  name: string;
  /** Chain position to start from (0 = base). */
  from: number;
  args: string[];
  /** Statements a blocker session runs inside a transaction before the command starts. */
  block: (db: TestDatabase) => string[];
  /** The run's session to wait for. */
  match: (backend: Backend) => boolean;
  /** Extra time after the match, e.g. to let the lock-wait loop go round. */
  settleMs?: number;
}

/** The run's session waits on a lock while running a query that contains `pattern` (statements may be batched). */
const waitingOn = (pattern: RegExp) => (b: Backend) => b.wait_event_type === 'Lock' && pattern.test(b.query);

export function faultPoints(ids: string[]): FaultPoint[] {
  const [k1, k2] = lockKeys({ schema: 'public', table: 'alembic_version' });
  return [
    {
      name: 'waiting for the migration lock held by another session',
      from: 2,
      args: ['upgrade', 'head'],
      block: () => [`SELECT pg_advisory_lock(${k1}, ${k2})`],
      match: (b: Backend) => /pg_try_advisory_lock/.test(b.query),
      settleMs: 400,
    },
    {
      name: 'first statement of a transactional upgrade step (ALTER TABLE waits on a lock)',
      from: 1,
      args: ['upgrade', 'head'],
      block: () => ['SELECT count(*) FROM k_items'],
      match: waitingOn(/ALTER TABLE k_items ADD COLUMN/),
    },
    {
      name: 'second statement of a transactional step, after the first ran (INSERT … SELECT waits)',
      from: 3,
      args: ['upgrade', 'head'],
      block: () => ['LOCK TABLE k_items IN ACCESS EXCLUSIVE MODE'],
      match: waitingOn(/INSERT INTO k_tags/),
    },
    {
      name: 'version-table UPDATE of an upgrade step, before COMMIT',
      from: 2,
      args: ['upgrade', '+2'],
      block: () => ['LOCK TABLE alembic_version IN SHARE MODE'],
      match: waitingOn(/UPDATE "?public"?\."?alembic_version/),
    },
    {
      name: 'ledger INSERT of an upgrade step, after the version UPDATE, before COMMIT',
      from: 6,
      args: ['upgrade', 'head'],
      block: () => ['LOCK TABLE mutx_ops.ledger IN SHARE MODE'],
      // The version UPDATE and the ledger INSERT go in one round trip after the guard's DO block, and
      // pg_stat_activity cuts the text at 1 kB: with only the ledger locked, a guarded step waiting
      // on a lock waits on its ledger INSERT.
      match: waitingOn(/INSERT INTO "?mutx_ops"?\."?ledger|^DO \$mutx_guard\$/),
    },
    {
      name: 'first statement of a downgrade step (DROP CONSTRAINT waits)',
      from: 8,
      args: ['downgrade', '-3'],
      block: () => ['SELECT count(*) FROM k_tags'],
      match: waitingOn(/ALTER TABLE k_tags DROP CONSTRAINT/),
    },
    {
      name: 'version-table UPDATE of a downgrade step, before COMMIT',
      from: 7,
      args: ['downgrade', 'base'],
      block: () => ['LOCK TABLE alembic_version IN SHARE MODE'],
      match: waitingOn(/UPDATE "?public"?\."?alembic_version/),
    },
    {
      name: 'non-transactional step: CREATE INDEX CONCURRENTLY waits for its table lock',
      from: 4,
      args: ['upgrade', 'head'],
      block: () => ['LOCK TABLE k_items IN SHARE MODE'],
      match: waitingOn(/CREATE INDEX CONCURRENTLY/),
    },
    {
      name: 'non-transactional step done, its version-table bookkeeping waits',
      from: 4,
      args: ['upgrade', '+1'],
      block: () => ['LOCK TABLE alembic_version IN SHARE MODE'],
      match: waitingOn(/UPDATE "?public"?\."?alembic_version/),
    },
    {
      name: 'non-transactional downgrade (DROP INDEX CONCURRENTLY waits)',
      from: 5,
      args: ['downgrade', '-1'],
      block: () => ['SELECT count(*) FROM k_items'],
      match: waitingOn(/DROP INDEX CONCURRENTLY/),
    },
    {
      name: 'audit mirror into mutx_ops.audit after the end record',
      from: 6,
      args: ['upgrade', 'head'],
      block: () => ['LOCK TABLE mutx_ops.audit IN SHARE MODE'],
      match: waitingOn(/INSERT INTO "?mutx_ops"?\."?audit/),
    },
  ].map((point) => ({ ...point, from: Math.min(point.from, ids.length) }));
}

/** Moves the database to chain position `to` without faults. */
export async function reach(ctx: FaultContext, ids: string[], to: number): Promise<void> {
  const rows = await versionRows(ctx.db);
  const now = rows.length === 0 ? 0 : ids.indexOf(rows[0]!) + 1;
  if (now === to) return;
  const result = await cli(['--database-url', ctx.db.url, to > now ? 'upgrade' : 'downgrade', to === 0 ? 'base' : ids[to - 1]!], { cwd: ctx.project.dir });
  if (result.exitCode !== 0) throw new Error(`could not reach position ${to}: ${String(result.all)}`);
}

/**
 * Runs the point's command, waits until its session is at the point, then calls `fault`
 * (kill -9 of the process, or pg_terminate_backend of its sessions), lets the blocker go and
 * returns the command's result.
 */
export async function runToPoint(ctx: FaultContext, ids: string[], point: FaultPoint, fault: (run: ReturnType<typeof cli>) => Promise<void>): Promise<{ result: Result; reached: boolean }> {
  await reach(ctx, ids, point.from);
  // Make sure the audit mirror table exists for the mirror point (it is created on the first run).
  const blocker = new pg.Client({ connectionString: ctx.db.url, application_name: 'reliability-blocker' });
  await blocker.connect();
  let reached = false;
  try {
    await blocker.query('BEGIN');
    for (const sql of point.block(ctx.db)) await blocker.query(sql);
    const run = cli(['--database-url', ctx.db.url, ...point.args], { cwd: ctx.project.dir });
    try {
      await waitFor(async () => (await mutxBackends(ctx.db)).some(point.match) || undefined, 20_000, 10);
      reached = true;
      if (point.settleMs) await sleep(point.settleMs);
    } catch {
      // Reported by the caller: the command never reached the point.
    }
    await fault(run);
    await blocker.query('ROLLBACK');
    await blocker.end();
    return { result: await run, reached };
  } catch (error) {
    await blocker.end().catch(() => {});
    throw error;
  }
}
