import path from 'node:path';
import type pg from 'pg';
import { catalogSnapshot, diffCatalogs } from '../catalog';
import { connect } from '../connection';
import { ExitCode, MutxError } from '../errors';
import type { MigrationEvent } from '../migrations/events';
import { audited, loadGraph, migrate, openClient, planMigration, versionNames, type CoreContext } from '../migrations/operations';
import { LEDGER_TABLE } from '../migrations/ownTables';
import type { Direction } from '../migrations/plan';
import { readVersionRows } from '../migrations/versionTable';
import { cloneTarget, cloneTools, targetFacts, WITH_DATA_LIMIT_BYTES, type TargetFacts } from './clone';
import { LockObserver, type LockCursor, type ObservedLock } from './locks';
import { appendRehearsals, fileChecksum, type RehearsalRecord } from './record';
import { createScratch, dropOrphans, scratchServer, type OrphanDropped, type ScratchDatabase } from './scratch';

export const DEFAULT_REHEARSAL_TIMEOUT_SECONDS = 600;

export interface RehearseOptions {
  direction: Direction;
  target: string;
  roundTrip?: boolean;
  scratchUrl?: string;
  withData?: boolean;
  timeoutSeconds?: number;
  /** Sample pg_locks while the plan runs (default on). */
  observeLocks?: boolean;
  /** Keep the result in the record of rehearsals (default on). */
  record?: boolean;
  onProgress?: (line: string) => void;
}

export type Phase = 'plan' | 'inverse' | 'again';

export interface RevisionOutcome {
  phase: Phase;
  revision: string;
  message: string;
  file: string;
  direction: Direction;
  outcome: 'ok' | 'failed' | 'timeout' | 'not-run';
  durationMs?: number;
  error?: string;
  /** file:line of the failing statement, as the engine named it. */
  where?: string;
  /** The failing statement's text, when the engine recorded it. */
  statement?: string;
  locks: ObservedLock[];
}

export interface RoundTripResult {
  ok: boolean;
  inverseDirection: Direction;
  inverseTarget?: string;
  /** Set when a round trip cannot be built from where the target is (several heads). */
  skipped?: string;
  /** Catalog lines that differ between "before the plan" and "after plan + inverse" (- before, + after). */
  leftBehind: string[];
  /** Catalog lines that differ between "after the plan" and "after plan + inverse + plan". */
  againDiff: string[];
}

export interface RehearsalReport {
  ok: boolean;
  direction: Direction;
  target: string;
  source: string;
  serverVersion: string;
  withData: boolean;
  versionRows: string[];
  plan: { revision: string; message: string }[];
  steps: RevisionOutcome[];
  roundTrip?: RoundTripResult;
  scratch?: { server: string; origin: string; database: string; dropped: boolean };
  orphansDropped: OrphanDropped[];
  copyMs: number;
  totalMs: number;
  /** The first failure, as one line. */
  error?: string;
  lockSamples: number;
}

function inverseOf(direction: Direction, versionRows: string[], heads: string[]): { direction: Direction; target?: string; skipped?: string } {
  const inverse: Direction = direction === 'upgrade' ? 'downgrade' : 'upgrade';
  if (versionRows.length === 0) return direction === 'upgrade' ? { direction: inverse, target: 'base' } : { direction: inverse, skipped: 'the target is at base: a downgrade has nothing to undo' };
  if (versionRows.length === 1) return { direction: inverse, target: versionRows[0] };
  if (direction === 'downgrade' && [...versionRows].sort().join() === [...heads].sort().join()) return { direction: inverse, target: 'heads' };
  return { direction: inverse, skipped: `the target is at several revisions (${versionRows.join(', ')}): no single ${inverse} target leads back there` };
}

/** `… failed at migrations/x.sql:12: relation "users" does not exist` → where and the server's words. */
function splitError(message: string): { where?: string; error: string } {
  const match = /\bat (\S+?:\d+)(?::|;|$)\s*(.*)$/.exec(message);
  if (!match) return { error: message };
  return { where: match[1], error: match[2] ? match[2] : message };
}

/**
 * `mutx-ops rehearse`: copies the target's schema (and the version table's and ledger's rows)
 * into a throwaway database, runs the same plan through the same core operation and engine there,
 * optionally the inverse plan and the plan again with the catalogs compared, observes the locks
 * taken, records the result per revision, and drops the copy however it ends. The target is only
 * read: a read-only session and pg_dump's read-only snapshot.
 */
export async function rehearse(ctx: CoreContext, options: RehearseOptions): Promise<RehearsalReport> {
  const started = Date.now();
  const timeoutSeconds = options.timeoutSeconds ?? DEFAULT_REHEARSAL_TIMEOUT_SECONDS;
  const deadline = started + timeoutSeconds * 1000;
  const progress = options.onProgress ?? (() => {});
  const graph = loadGraph(ctx.settings);
  const names = versionNames(ctx.settings);
  return audited(ctx, { action: 'rehearse', args: { direction: options.direction, target: options.target, round_trip: Boolean(options.roundTrip), with_data: Boolean(options.withData), scratch_url: options.scratchUrl ? 'given' : undefined } }, async ({ note }) => {
    // Never registered with useClient: the audit mirror would write into the target.
    const source = await openClient(ctx);
    let facts: TargetFacts;
    let versionRows: string[];
    let dataTables: { schema: string; table: string }[];
    let snapshot: string | undefined;
    try {
      await source.query('SET default_transaction_read_only = on');
      await source.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      facts = await targetFacts(source);
      versionRows = await readVersionRows(source, names);
      dataTables = await existingTables(source, [names, { schema: LEDGER_TABLE.split('.')[0]!, table: LEDGER_TABLE.split('.')[1]! }, { schema: names.schema, table: 'mutx_ops_ledger' }]);
      snapshot = (await source.query<{ s: string }>('SELECT pg_export_snapshot() AS s')).rows[0]!.s;
    } catch (error) {
      await source.end().catch(() => {});
      throw error instanceof MutxError ? error : new MutxError('connection', `reading ${ctx.target.redacted} for the rehearsal failed: ${(error as Error).message.split('\n')[0]}`, { hint: 'nothing was changed' });
    }
    note({ revisions_before: versionRows, revisions_after: versionRows });
    const report: RehearsalReport = {
      ok: false,
      direction: options.direction,
      target: options.target,
      source: ctx.target.redacted,
      serverVersion: facts.serverVersion,
      withData: Boolean(options.withData),
      versionRows,
      plan: [],
      steps: [],
      orphansDropped: [],
      copyMs: 0,
      totalMs: 0,
      lockSamples: 0,
    };
    let scratch: ScratchDatabase | undefined;
    let observer: LockObserver | undefined;
    const timer = new AbortController();
    const timeout = setTimeout(() => timer.abort(new Error('timeout')), Math.max(0, deadline - Date.now()));
    const signal = ctx.signal ? AbortSignal.any([ctx.signal, timer.signal]) : timer.signal;
    try {
      if (options.withData && facts.databaseBytes > WITH_DATA_LIMIT_BYTES) {
        throw new MutxError('usage', `--with-data: ${ctx.target.database} holds ${(facts.databaseBytes / 1e6).toFixed(0)} MB, over the ${WITH_DATA_LIMIT_BYTES / 1e6} MB limit of a rehearsal with data`, { hint: 'rehearse the schema only (without --with-data), or restore a backup into a staging database and deploy there' });
      }
      const plan = await planMigration(ctx.settings, options.direction, options.target, versionRows);
      report.plan = plan.steps.map((step) => ({ revision: step.migration.revision, message: step.migration.message }));
      if (plan.steps.length === 0) {
        report.ok = true;
        return report;
      }
      await cloneTools(facts);
      const server = await scratchServer(ctx.target, source, ctx.operator, options.scratchUrl, ctx.settings.connect_timeout_seconds);
      report.orphansDropped = await dropOrphans(server, ctx.operator, ctx.audit, ctx.settings.connect_timeout_seconds).catch(() => []);
      for (const orphan of report.orphansDropped) progress(`dropped ${orphan.name}, left by rehearsal process ${orphan.pid} (${orphan.started}) that ended without cleaning up`);
      scratch = await createScratch(server, ctx.operator, facts, ctx.settings.connect_timeout_seconds);
      report.scratch = { server: server.admin.redacted.replace(/\/[^/]*$/, ''), origin: server.origin, database: scratch.name, dropped: false };
      progress(`copying ${options.withData ? 'the schema and rows' : 'the schema'} of ${ctx.target.redacted} into ${scratch.name}…`);
      const copyStart = Date.now();
      await cloneTarget({ source: ctx.target, into: scratch.target, operator: ctx.operator, facts, dataTables, snapshot, withData: Boolean(options.withData), signal, lockWaitSeconds: ctx.settings.lock_wait_seconds });
      report.copyMs = Date.now() - copyStart;
      await source.query('COMMIT').catch(() => {});

      const scratchClient = await connect(scratch.target, { operator: ctx.operator, connectTimeoutSeconds: ctx.settings.connect_timeout_seconds });
      const cursor: LockCursor = {};
      if (options.observeLocks ?? true) {
        observer = new LockObserver(scratch.target, ctx.operator, names, cursor);
        await observer.start();
      }
      try {
        const exclude = [names.table];
        const before = await catalogSnapshot(scratchClient, { exclude });
        const runPhase = async (phase: Phase, direction: Direction, target: string): Promise<boolean> => {
          // The migrate enforces the deadline itself (server-side cancel, reported as a timeout); only the operator's Ctrl+C is passed on.
          const outcomes = await runOnScratch(ctx, scratch!, phase, direction, target, cursor, deadline, progress);
          for (const outcome of outcomes.steps) outcome.locks = observer?.locksOf(`${phase}:${outcome.revision}`) ?? [];
          if (!outcomes.ok && outcomes.failed) {
            const failedStatement = await lastFailedStatement(scratchClient).catch(() => undefined);
            if (failedStatement && !outcomes.failed.statement) outcomes.failed.statement = failedStatement;
          }
          report.steps.push(...outcomes.steps);
          if (!outcomes.ok) report.error ??= outcomes.error;
          return outcomes.ok;
        };
        if (!(await runPhase('plan', options.direction, options.target))) return report;
        if (options.roundTrip) {
          const after = await catalogSnapshot(scratchClient, { exclude });
          const inverse = inverseOf(options.direction, versionRows, graph.heads());
          const roundTrip: RoundTripResult = { ok: false, inverseDirection: inverse.direction, inverseTarget: inverse.target, skipped: inverse.skipped, leftBehind: [], againDiff: [] };
          report.roundTrip = roundTrip;
          if (inverse.target === undefined) {
            roundTrip.ok = true;
            progress(`round trip skipped: ${inverse.skipped}`);
          } else {
            if (!(await runPhase('inverse', inverse.direction, inverse.target))) return report;
            roundTrip.leftBehind = diffCatalogs(before, await catalogSnapshot(scratchClient, { exclude }));
            if (roundTrip.leftBehind.length > 0) report.error ??= `after ${options.direction} ${options.target} and ${inverse.direction} ${inverse.target} the schema differs from the one before: ${roundTrip.leftBehind.slice(0, 3).join('; ')}${roundTrip.leftBehind.length > 3 ? ` (+${roundTrip.leftBehind.length - 3} more)` : ''}`;
            if (!(await runPhase('again', options.direction, options.target))) return report;
            roundTrip.againDiff = diffCatalogs(after, await catalogSnapshot(scratchClient, { exclude }));
            if (roundTrip.againDiff.length > 0) report.error ??= `${options.direction} ${options.target} run again after the round trip leaves a different schema: ${roundTrip.againDiff.slice(0, 3).join('; ')}`;
            roundTrip.ok = roundTrip.leftBehind.length === 0 && roundTrip.againDiff.length === 0;
          }
        }
        report.ok = report.error === undefined;
        return report;
      } finally {
        await observer?.stop();
        report.lockSamples = observer?.samples ?? 0;
        await scratchClient.end().catch(() => {});
      }
    } finally {
      clearTimeout(timeout);
      await source.end().catch(() => {});
      if (scratch) {
        await scratch.drop().then(
          () => (report.scratch!.dropped = true),
          (error: unknown) => progress(`could not drop the scratch database ${scratch!.name}: ${(error as Error).message.split('\n')[0]} — the next rehearsal drops it`),
        );
      }
      report.totalMs = Date.now() - started;
      if (options.record ?? true) appendRehearsals(ctx.settings, recordsOf(ctx, report, graph, facts));
      note({ ...(report.error ? { error: `rehearsal failed: ${report.error.slice(0, 300)}` } : {}), details: { rehearsal_ok: report.ok, scratch: report.scratch?.database, steps: report.steps.length, error: report.error } });
    }
  });
}

async function existingTables(client: pg.Client, tables: { schema: string; table: string }[]): Promise<{ schema: string; table: string }[]> {
  const found: { schema: string; table: string }[] = [];
  for (const t of tables) {
    const row = (await client.query<{ present: boolean }>('SELECT to_regclass(format(\'%I.%I\', $1::text, $2::text)) IS NOT NULL AS present', [t.schema, t.table])).rows[0]!;
    if (row.present && !found.some((f) => f.schema === t.schema && f.table === t.table)) found.push(t);
  }
  return found;
}

async function lastFailedStatement(client: pg.Client): Promise<string | undefined> {
  const result = await client.query<{ failed_statement: string | null }>(`SELECT failed_statement FROM ${LEDGER_TABLE} WHERE outcome IN ('failed', 'timeout', 'cancelled') ORDER BY started_at DESC LIMIT 1`);
  return result.rows[0]?.failed_statement ?? undefined;
}

interface PhaseOutcome {
  ok: boolean;
  steps: RevisionOutcome[];
  failed?: RevisionOutcome;
  error?: string;
}

/** One migrate on the scratch database through the core (lock, ledger, engine, timeout), its events turned into per-revision outcomes. */
async function runOnScratch(ctx: CoreContext, scratch: ScratchDatabase, phase: Phase, direction: Direction, target: string, cursor: LockCursor, deadline: number, progress: (line: string) => void): Promise<PhaseOutcome> {
  const graph = loadGraph(ctx.settings);
  const steps: RevisionOutcome[] = [];
  let running: RevisionOutcome | undefined;
  const rel = (file: string) => path.relative(ctx.settings.root, file) || file;
  const onEvent = (event: MigrationEvent) => {
    if (event.type === 'plan') {
      for (const step of event.steps) {
        const file = graph.has(step.revision) ? rel(graph.get(step.revision).file) : '';
        steps.push({ phase, revision: step.revision, message: step.message, file, direction: event.direction, outcome: 'not-run', locks: [] });
      }
    } else if (event.type === 'step-started') {
      running = steps.find((s) => s.revision === event.revision && s.outcome === 'not-run');
      cursor.key = `${phase}:${event.revision}`;
      progress(`  [${phase}] ${event.direction} ${event.revision}: ${event.message}`);
    } else if (event.type === 'step-finished') {
      const step = steps.find((s) => s.revision === event.revision && s.outcome === 'not-run');
      if (step) {
        step.outcome = 'ok';
        step.durationMs = event.durationMs;
      }
      running = undefined;
    }
  };
  const seconds = (deadline - Date.now()) / 1000;
  const startedAt = Date.now();
  try {
    if (seconds <= 0) throw new MutxError('timeout', 'the rehearsal\'s --timeout expired before this phase');
    await migrate({ ...ctx, target: scratch.target, onEvent }, direction, target, { timeoutSeconds: seconds, lockWaitSeconds: 0 });
    // An engine that reports no per-step events still ran the plan: every step is ok.
    for (const step of steps) if (step.outcome === 'not-run') step.outcome = 'ok';
    return { ok: true, steps };
  } catch (error) {
    if (error instanceof MutxError && (error.kind === 'usage' || error.kind === 'config' || error.kind === 'graph' || error.kind === 'revision' || error.kind === 'migration-file')) throw error;
    const message = (error instanceof Error ? error.message : String(error)).split('\n')[0]!.split(`${ctx.settings.root}${path.sep}`).join('');
    const timedOut = error instanceof MutxError && (error.kind === 'timeout' || error.exitCode === ExitCode.timeout);
    const failed = running ?? steps.find((s) => s.outcome === 'not-run');
    const split = splitError(message);
    const where = split.where && path.isAbsolute(split.where) ? rel(split.where) : split.where;
    const serverError = split.error;
    if (failed) {
      failed.outcome = timedOut ? 'timeout' : 'failed';
      failed.durationMs = Date.now() - startedAt - steps.reduce((sum, s) => sum + (s.outcome === 'ok' ? (s.durationMs ?? 0) : 0), 0);
      failed.error = serverError;
      failed.where = where;
    }
    return { ok: false, steps, failed, error: `${phase === 'plan' ? '' : `${phase === 'inverse' ? 'round trip, inverse' : 'round trip, plan again'}: `}${message}` };
  }
}

function recordsOf(ctx: CoreContext, report: RehearsalReport, graph: ReturnType<typeof loadGraph>, facts: TargetFacts): RehearsalRecord[] {
  const at = new Date().toISOString();
  const records: RehearsalRecord[] = [];
  for (const step of report.steps) {
    if (step.outcome === 'not-run') continue;
    // "Again" repeats the plan: it only adds news when it fails.
    if (step.phase === 'again' && step.outcome === 'ok') continue;
    if (!graph.has(step.revision)) continue;
    const file = graph.get(step.revision).file;
    records.push({
      revision: step.revision,
      file: step.file,
      file_checksum: fileChecksum(file),
      direction: step.direction,
      server_major: facts.serverMajor,
      outcome: step.outcome,
      error: step.error?.slice(0, 500),
      where: step.where,
      duration_ms: step.durationMs ?? 0,
      at,
      target: ctx.target.redacted,
      operator: ctx.operator.name,
    });
  }
  return records;
}
