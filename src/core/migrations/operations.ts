import type pg from 'pg';
import type { AuditEntry, AuditTrail } from '../audit';
import type { ProjectSettings } from '../config';
import type { FaultHooks } from '../faults';
import { connect, type Target } from '../connection';
import { ExitCode, MutxError } from '../errors';
import type { Operator } from '../identity';
import type { CreatedRevision, ExecutionContext, MigrationEngine, SectionRun } from './engine';
import { engineFor } from './engines';
import type { AppliedStep, MigrationEvent } from './events';
import type { RevisionGraph } from './graph';
import { OWN_SCHEMA, type MovedTable } from './ownTables';
import { acquireMigrationLock, describeHolder, findLockHolder, type LockHolder } from './lock';
import { appliedSet, type Direction, type Plan } from './plan';
import { ensureTables, readVersionRows, tablesExist, type VersionTableNames } from './versionTable';
import { ledgerInsertSql, readLedger, readPartialMigrations, readRecordedChecksums, type LedgerRow, type PartialMigration } from './ledger';

/** Everything an operation needs: where, who, how to report. Shared by the CLI and the runbook engine. */
export interface CoreContext {
  settings: ProjectSettings;
  target: Target;
  operator: Operator;
  audit: AuditTrail;
  runId?: string;
  drill?: boolean;
  signal?: AbortSignal;
  onEvent?: (event: MigrationEvent) => void;
  /** Only in practice drills: see core/faults.ts. */
  faults?: FaultHooks;
}

export function versionNames(settings: ProjectSettings): VersionTableNames {
  return { schema: settings.version_schema, table: settings.version_table };
}

/** The revisions of the project, read statically by its engine (no database). */
export function loadGraph(settings: ProjectSettings): RevisionGraph {
  return engineFor(settings).loadGraph();
}

/** `revision -m MSG`: a new revision file revising the single head, written by the project's engine. */
export async function createRevision(settings: ProjectSettings, message: string): Promise<CreatedRevision> {
  const engine = engineFor(settings);
  return engine.createRevision(engine.loadGraph(), message, {});
}

/**
 * `revision --autogenerate -m MSG`: Alembic compares the target's schema with the models (it
 * only reads the database, so no lock) and writes the new file; audited like any read.
 */
export async function autogenerateRevision(ctx: CoreContext, message: string): Promise<CreatedRevision> {
  const engine = engineFor(ctx.settings);
  return audited(ctx, { action: 'revision --autogenerate', args: { message } }, async ({ note }) => {
    const created = await engine.createRevision(engine.loadGraph(), message, { autogenerate: true, runtime: { target: ctx.target, operator: ctx.operator, lockTimeoutSeconds: ctx.settings.lock_timeout_seconds } });
    note({ details: { revision: created.revision, file: created.file } });
    return created;
  });
}

/** The plan of `direction target` from these version rows, resolved by the project's engine; nothing runs. */
export async function planMigration(settings: ProjectSettings, direction: Direction, target: string, versionRows: string[]): Promise<Plan> {
  const engine = engineFor(settings);
  const prepared = await engine.prepare(engine.loadGraph(), direction, target, versionRows);
  await prepared.dispose();
  return prepared.plan;
}

function executionContext(ctx: CoreContext, client: pg.Client, opId: string, options: { lockTimeoutSeconds?: number; deadline?: number; singleTransaction?: boolean } = {}): ExecutionContext {
  return {
    client,
    settings: ctx.settings,
    target: ctx.target,
    operator: ctx.operator,
    names: versionNames(ctx.settings),
    lockTimeoutSeconds: options.lockTimeoutSeconds ?? ctx.settings.lock_timeout_seconds,
    lockRetries: ctx.settings.lock_retries,
    deadline: options.deadline,
    singleTransaction: options.singleTransaction,
    signal: ctx.signal,
    runId: ctx.runId,
    auditOpId: opId,
    onEvent: ctx.onEvent,
  };
}

export async function openClient(ctx: Pick<CoreContext, 'target' | 'operator' | 'settings'>): Promise<pg.Client> {
  return connect(ctx.target, { operator: ctx.operator, connectTimeoutSeconds: ctx.settings.connect_timeout_seconds });
}

/**
 * Runs `fn` between a start and an end audit record; the end record carries the outcome, the
 * revisions before/after and the error line. A client registered with `useClient` receives the
 * records (mirror) after the end record is written, and is closed here.
 */
export async function audited<T>(
  ctx: CoreContext,
  entry: Omit<AuditEntry, 'phase' | 'target' | 'run_id' | 'drill'>,
  fn: (op: { opId: string; note: (extra: Partial<AuditEntry>) => void; useClient: (client: pg.Client, mirror: boolean) => pg.Client }) => Promise<T>,
): Promise<T> {
  const operation = ctx.audit.begin({ ...entry, target: ctx.target.redacted, run_id: ctx.runId, drill: ctx.drill });
  let extra: Partial<AuditEntry> = {};
  let session: { client: pg.Client; mirror: boolean } | undefined;
  const note = (more: Partial<AuditEntry>) => {
    extra = { ...extra, ...more, details: { ...(extra.details ?? {}), ...(more.details ?? {}) } };
  };
  const useClient = (client: pg.Client, mirror: boolean) => {
    session = { client, mirror };
    return client;
  };
  const finish = async () => {
    if (!session) return;
    // Mirroring creates the table only where mutx-ops already writes (migrations, stamps).
    await ctx.audit.mirror(session.client, { schema: ctx.settings.version_schema, create: session.mirror }).catch(() => 0);
    await session.client.end().catch(() => {});
  };
  try {
    const result = await fn({ opId: operation.opId, note, useClient });
    operation.end('ok', extra);
    await finish();
    return result;
  } catch (error) {
    const outcome = error instanceof MutxError ? (error.kind === 'timeout' ? 'timeout' : error.exitCode === ExitCode.interrupted ? 'cancelled' : error.kind === 'lock' || error.kind === 'drift' || error.kind === 'partial' ? 'refused' : 'failed') : 'failed';
    operation.end(outcome, { ...extra, error: error instanceof Error ? error.message.split('\n')[0] : String(error) });
    await finish();
    throw error;
  }
}

export interface DriftEntry {
  revision: string;
  file: string;
  recorded: string;
  current: string;
}

export function findDrift(graph: RevisionGraph, applied: Set<string>, recorded: Map<string, string>): DriftEntry[] {
  const drift: DriftEntry[] = [];
  for (const id of graph.order) {
    if (!applied.has(id)) continue;
    const was = recorded.get(id);
    const file = graph.get(id);
    if (was && was !== file.checksum) drift.push({ revision: id, file: file.file, recorded: was, current: file.checksum });
  }
  return drift;
}

export interface Status {
  versionRows: string[];
  heads: string[];
  applied: string[];
  pending: string[];
  drift: DriftEntry[];
  ledger: LedgerRow[];
  lockHolder?: LockHolder;
  /** Non-transactional steps that started and never settled: `reconcile` first. */
  partial: PartialMigration[];
  serverVersion: string;
}

export async function readStatus(client: pg.Client, graph: RevisionGraph, names: VersionTableNames, options: { withLedger?: boolean } = {}): Promise<Status> {
  const versionRows = await readVersionRows(client, names);
  const applied = appliedSet(graph, versionRows);
  const ledger = options.withLedger ? await readLedger(client, names) : [];
  const server = await client.query<{ server_version: string }>('SHOW server_version');
  return {
    versionRows,
    heads: graph.heads(),
    applied: graph.order.filter((id) => applied.has(id)),
    pending: graph.order.filter((id) => !applied.has(id)),
    drift: findDrift(graph, applied, await readRecordedChecksums(client, names)),
    ledger,
    lockHolder: await findLockHolder(client, names),
    partial: await readPartialMigrations(client, names),
    serverVersion: server.rows[0]?.server_version ?? '?',
  };
}

export async function status(ctx: CoreContext, options: { action?: string; graph?: RevisionGraph; withLedger?: boolean } = {}): Promise<Status> {
  const graph = options.graph ?? loadGraph(ctx.settings);
  return audited(ctx, { action: options.action ?? 'current' }, async ({ note, useClient }) => {
    const client = useClient(await openClient(ctx), false);
    const result = await readStatus(client, graph, versionNames(ctx.settings), { withLedger: options.withLedger });
    note({ revisions_before: result.versionRows, revisions_after: result.versionRows });
    return result;
  });
}

export interface MigrateOptions {
  timeoutSeconds?: number;
  lockTimeoutSeconds?: number;
  lockWaitSeconds?: number;
  singleTransaction?: boolean;
  acceptChanged?: string[];
}

export interface MigrateResult {
  direction: Direction;
  target: string;
  steps: AppliedStep[];
  headsBefore: string[];
  headsAfter: string[];
  acceptedChanged: string[];
}

/** `upgrade`/`downgrade`: lock, check drift, plan (the engine resolves the target), execute, record. */
export async function migrate(ctx: CoreContext, direction: Direction, target: string, options: MigrateOptions = {}): Promise<MigrateResult> {
  return withEngine(ctx, options.lockTimeoutSeconds, (engine, graph) => migrateWith(engine, graph, ctx, direction, target, options));
}

/**
 * The project's engine, started early (warmUp: a Python interpreter loads while mutx-ops
 * connects) and released however the operation ends.
 */
async function withEngine<T>(ctx: CoreContext, lockTimeoutSeconds: number | undefined, fn: (engine: MigrationEngine, graph: RevisionGraph) => Promise<T>): Promise<T> {
  const engine = engineFor(ctx.settings);
  engine.warmUp?.({ target: ctx.target, operator: ctx.operator, lockTimeoutSeconds: lockTimeoutSeconds ?? ctx.settings.lock_timeout_seconds });
  try {
    return await fn(engine, engine.loadGraph());
  } finally {
    await engine.release?.();
  }
}

async function migrateWith(engine: MigrationEngine, graph: RevisionGraph, ctx: CoreContext, direction: Direction, target: string, options: MigrateOptions): Promise<MigrateResult> {
  const names = versionNames(ctx.settings);
  const deadline = options.timeoutSeconds !== undefined ? Date.now() + options.timeoutSeconds * 1000 : undefined;
  return audited(
    ctx,
    { action: direction, args: { target, ...options } },
    async ({ opId, note, useClient }) => {
      // The audit mirror creates its table only once this run has something to change.
      const client = useClient(await openClient(ctx), false);
      const lost = (action: string) => (error: unknown): never => {
        throw connectionFailure(ctx.target, action, error);
      };
      const lock = await acquireLock(ctx, client, names, options.lockWaitSeconds, deadline, options.timeoutSeconds);
      ctx.onEvent?.({ type: 'lock-acquired' });
      try {
        // Read and plan first: a bad target (or nothing to do) must not create any table.
        const versionRows = await readVersionRows(client, names).catch(lost('reading the version table'));
        note({ revisions_before: versionRows });
        const partial = await readPartialMigrations(client, names).catch(lost('reading the ledger'));
        if (partial.length > 0) throw partialError(partial);
        const applied = appliedSet(graph, versionRows);
        const prepared = await engine.prepare(graph, direction, target, versionRows);
        try {
          const { plan } = prepared;
          const acceptChanged = options.acceptChanged ?? [];
          // Bad --accept-changed arguments are refused before any table is created.
          for (const spec of acceptChanged) {
            const revision = graph.resolve(spec);
            if (!applied.has(revision)) throw new MutxError('revision', `--accept-changed ${spec}: revision ${revision} is not applied`, { hint: 'only applied revisions carry a recorded checksum' });
          }
          const willWrite = plan.steps.length > 0 || acceptChanged.length > 0;
          recordMovedTables(ctx, opId, await ensureTables(client, names, { create: willWrite }).catch(lost('creating the version and ledger tables')));
          if (willWrite) useClient(client, true);
          const exists = await tablesExist(client, names).catch(lost('reading the version table'));
          let accepted: string[] = [];
          if (exists.version && exists.ledger) {
            accepted = await acceptChangedRevisions(client, ctx, graph, applied, names, acceptChanged, opId).catch(lost('recording --accept-changed'));
            await adoptUnrecorded(client, ctx, graph, applied, names, opId).catch(lost('recording checksums of adopted revisions'));
            const drift = findDrift(graph, applied, await readRecordedChecksums(client, names).catch(lost('reading the ledger')));
            if (drift.length > 0) throw driftError(drift);
          }
          ctx.onEvent?.({ type: 'plan', direction, steps: plan.steps.map((step) => ({ revision: step.migration.revision, message: step.migration.message })) });
          try {
            const steps = await prepared.execute(executionContext(ctx, client, opId, { ...options, deadline })).catch(lost(`${direction} ${target}`));
            note({ revisions_after: plan.headsAfter, details: { steps: steps.length } });
            return { direction, target, steps, headsBefore: plan.headsBefore, headsAfter: plan.headsAfter, acceptedChanged: accepted };
          } catch (error) {
            const now = await readVersionRows(client, names).catch(() => undefined);
            note({ revisions_after: now });
            throw error;
          }
        } finally {
          await prepared.dispose();
        }
      } finally {
        await lock.release().catch(() => {});
      }
    },
  );
}

/** Moving mutx-ops' tables into their own schema changes the database: it is audited. */
function recordMovedTables(ctx: CoreContext, opId: string, moved: MovedTable[]): void {
  if (moved.length === 0) return;
  ctx.audit.append({ action: 'move-own-tables', phase: 'event', target: ctx.target.redacted, run_id: ctx.runId, details: { moved } }, opId);
  ctx.onEvent?.({ type: 'notice', message: `moved ${moved.map((m) => `${m.from} → ${m.to} (${m.rows} rows)`).join(', ')}: mutx-ops keeps its own tables in the ${OWN_SCHEMA} schema` });
}

async function acquireLock(ctx: CoreContext, client: pg.Client, names: VersionTableNames, lockWaitSeconds: number | undefined, deadline?: number, timeoutSeconds?: number) {
  return acquireMigrationLock(client, names, {
    waitSeconds: Math.min(lockWaitSeconds ?? ctx.settings.lock_wait_seconds, deadline ? Math.max(0, (deadline - Date.now()) / 1000) : Infinity),
    signal: ctx.signal,
    onWait: (holder, waitedMs) => ctx.onEvent?.({ type: 'lock-waiting', holder: holder ? describeHolder(holder) : undefined, waitedMs }),
  }).catch((error) => {
    if (deadline && Date.now() >= deadline - 50) {
      throw new MutxError('timeout', `--timeout ${timeoutSeconds}s expired while waiting for the migration lock (${(error as Error).message})`);
    }
    throw connectionFailure(ctx.target, 'acquiring the migration lock', error);
  });
}

/**
 * A raw driver error outside a migration step (lock, table setup, reads, ledger writes) as one
 * operator line. MutxErrors pass through unchanged.
 */
function connectionFailure(target: Target, action: string, error: unknown): MutxError {
  if (error instanceof MutxError) return error;
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
  const code = (error as { code?: unknown } | undefined)?.code;
  const sqlState = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
  // A SQLSTATE outside class 08 / 57P0x is the server refusing a statement: the connection is fine.
  if (sqlState && !/^08|^57P0[1-3]$/.test(sqlState)) {
    return new MutxError('migration-failed', `${action} on ${target.host}:${target.port} failed: ${message}`, {
      hint: 'nothing was migrated; check the database role\'s privileges and rerun',
      cause: error,
    });
  }
  return new MutxError('migration-failed', `connection to ${target.host}:${target.port} lost during ${action}: ${message}`, {
    hint: 'the server rolled back the open transaction; check the database and rerun',
    cause: error,
  });
}

export function describePartial(partial: PartialMigration): string {
  const how = partial.outcome === 'started' ? 'was interrupted' : partial.outcome === 'timeout' ? 'timed out' : partial.outcome === 'cancelled' ? 'was cancelled' : 'failed';
  return `non-transactional ${partial.direction} of ${partial.revision} ${how} mid-way (${partial.startedAt.toISOString()}, ${partial.operator}@${partial.host})`;
}

function partialError(partial: PartialMigration[]): MutxError {
  const first = partial[0]!;
  return new MutxError('partial', `${describePartial(first)}: the schema may be half-changed${partial.length > 1 ? ` (and ${partial.length - 1} more)` : ''}`, {
    hint: '`mutx-ops reconcile` undoes the half-applied step with its idempotent downgrade section (and re-applies an interrupted downgrade\'s revision), then migrate again',
    details: { partial },
  });
}

export interface ReconcileResult {
  reconciled: { revision: string; attempted: 'upgrade' | 'downgrade'; ran: Direction[] }[];
  versionRows: string[];
}

/**
 * Settles half-applied non-transactional steps so the schema matches the version table again:
 * the revision's downgrade section runs (its statements are idempotent: DROP … IF EXISTS),
 * and a revision the version table still lists (an interrupted downgrade) is applied again
 * with its verify. Nothing moves the version table.
 */
export async function reconcile(ctx: CoreContext, options: { timeoutSeconds?: number; lockWaitSeconds?: number; dryRun?: boolean } = {}): Promise<ReconcileResult> {
  return withEngine(ctx, undefined, async (engine, graph) => {
    const names = versionNames(ctx.settings);
    const deadline = options.timeoutSeconds !== undefined ? Date.now() + options.timeoutSeconds * 1000 : undefined;
    return audited(ctx, { action: 'reconcile', args: { dry_run: Boolean(options.dryRun) } }, async ({ opId, note, useClient }) => {
      const client = useClient(await openClient(ctx), !options.dryRun);
      const lost = (action: string) => (error: unknown): never => {
        throw connectionFailure(ctx.target, action, error);
      };
      const lock = await acquireLock(ctx, client, names, options.lockWaitSeconds, deadline, options.timeoutSeconds);
      try {
        const versionRows = await readVersionRows(client, names).catch(lost('reading the version table'));
        note({ revisions_before: versionRows, revisions_after: versionRows });
        const applied = appliedSet(graph, versionRows);
        const partial = await readPartialMigrations(client, names).catch(lost('reading the ledger'));
        const sections: SectionRun[] = [];
        const reconciled: ReconcileResult['reconciled'] = [];
        for (const entry of partial.reverse()) {
          if (!graph.has(entry.revision)) {
            throw new MutxError('revision', `${describePartial(entry)}, but no migration file defines ${entry.revision}`, { hint: 'restore the migration file (git), then reconcile' });
          }
          const revision = graph.get(entry.revision);
          const ran: Direction[] = ['downgrade'];
          sections.push({ revision, direction: 'downgrade' });
          if (applied.has(entry.revision)) {
            sections.push({ revision, direction: 'upgrade' });
            ran.push('upgrade');
          }
          reconciled.push({ revision: entry.revision, attempted: entry.direction, ran });
        }
        ctx.onEvent?.({ type: 'plan', direction: 'downgrade', steps: sections.map((step) => ({ revision: step.revision.revision, message: `${step.direction} section (reconcile)` })) });
        if (options.dryRun || sections.length === 0) return { reconciled, versionRows };
        await engine.runSections(sections, executionContext(ctx, client, opId, { deadline })).catch(lost('reconcile'));
        const settled = reconciled.map((entry) =>
          ledgerInsertSql(names, { revision: entry.revision, direction: 'reconcile', checksum: graph.get(entry.revision).checksum, operator: ctx.operator.name, host: ctx.operator.host, startedAt: new Date(), durationMs: 0, outcome: 'reconciled', runId: ctx.runId, auditOpId: opId }),
        );
        await client.query(['BEGIN', ...settled, 'COMMIT'].join(';\n')).catch(lost('recording the reconcile in the ledger'));
        note({ details: { reconciled } });
        return { reconciled, versionRows };
      } finally {
        await lock.release().catch(() => {});
      }
    });
  });
}

function driftError(drift: DriftEntry[]): MutxError {
  const first = drift[0]!;
  return new MutxError('drift', `${first.file}: applied revision ${first.revision} was changed after it was applied (checksum ${first.recorded.slice(0, 12)} → ${first.current.slice(0, 12)})${drift.length > 1 ? ` and ${drift.length - 1} more` : ''}`, {
    hint: `never edit an applied migration — write a new one; if the change is cosmetic, run again with --accept-changed ${first.revision}`,
    details: { drift },
  });
}

async function acceptChangedRevisions(client: pg.Client, ctx: CoreContext, graph: RevisionGraph, applied: Set<string>, names: VersionTableNames, requested: string[], opId: string): Promise<string[]> {
  const accepted: string[] = [];
  for (const spec of requested) {
    const revision = graph.resolve(spec);
    if (!applied.has(revision)) {
      throw new MutxError('revision', `--accept-changed ${spec}: revision ${revision} is not applied`, { hint: 'only applied revisions carry a recorded checksum' });
    }
    const file = graph.get(revision);
    await client.query(
      ledgerInsertSql(names, { revision, direction: 'accept-changed', checksum: file.checksum, operator: ctx.operator.name, host: ctx.operator.host, startedAt: new Date(), durationMs: 0, outcome: 'accepted', runId: ctx.runId, auditOpId: opId }),
    );
    ctx.audit.append({ action: 'accept-changed', phase: 'event', target: ctx.target.redacted, run_id: ctx.runId, details: { revision, file: file.file, checksum: file.checksum } }, opId);
    accepted.push(revision);
  }
  return accepted;
}

/** Revisions applied by another tool (e.g. Alembic) get their checksum recorded once, so drift is visible from now on. */
async function adoptUnrecorded(client: pg.Client, ctx: CoreContext, graph: RevisionGraph, applied: Set<string>, names: VersionTableNames, opId: string): Promise<void> {
  const recorded = await readRecordedChecksums(client, names);
  const missing = graph.order.filter((id) => applied.has(id) && !recorded.has(id));
  if (missing.length === 0) return;
  const statements = missing.map((revision) =>
    ledgerInsertSql(names, { revision, direction: 'adopt', checksum: graph.get(revision).checksum, operator: ctx.operator.name, host: ctx.operator.host, startedAt: new Date(), durationMs: 0, outcome: 'adopted', runId: ctx.runId, auditOpId: opId }),
  );
  await client.query(['BEGIN', ...statements, 'COMMIT'].join(';\n'));
}

export interface StampResult {
  before: string[];
  after: string[];
}

export async function stamp(ctx: CoreContext, target: string, options: { purge?: boolean; lockWaitSeconds?: number } = {}): Promise<StampResult> {
  return withEngine(ctx, undefined, async (engine, graph) => {
    const names = versionNames(ctx.settings);
    return audited(
      ctx,
      { action: 'stamp', args: { target, purge: options.purge ?? false } },
      async ({ opId, note, useClient }) => {
        const client = useClient(await openClient(ctx), true);
        const lost = (action: string) => (error: unknown): never => {
          throw connectionFailure(ctx.target, action, error);
        };
        const lock = await acquireLock(ctx, client, names, options.lockWaitSeconds);
        try {
          recordMovedTables(ctx, opId, await ensureTables(client, names).catch(lost('creating the version and ledger tables')));
          const before = await readVersionRows(client, names).catch(lost('reading the version table'));
          note({ revisions_before: before });
          const unknown = before.filter((id) => !graph.has(id));
          if (unknown.length > 0 && !options.purge) {
            throw new MutxError('revision', `the version table holds ${unknown.join(', ')}, which no migration file knows`, { hint: 'add --purge to replace every row' });
          }
          const prepared = await engine.prepareStamp(graph, target, before, { purge: Boolean(options.purge) });
          try {
            await prepared.execute(executionContext(ctx, client, opId)).catch((error: unknown) => {
              if (error instanceof MutxError) throw error;
              throw new MutxError('migration-failed', `stamp ${target} failed: ${(error as Error).message}`, { hint: 'nothing was changed' });
            });
          } finally {
            await prepared.dispose();
          }
          note({ revisions_after: prepared.after });
          return { before, after: prepared.after };
        } finally {
          await lock.release().catch(() => {});
        }
      },
    );
  });
}

/**
 * `--sql`: the exact statements a migrate would run, version-table and ledger rows included,
 * without changing anything (the database is only read to learn the current revision).
 */
export async function renderPlanSql(ctx: CoreContext, direction: Direction, target: string, options: MigrateOptions = {}): Promise<{ plan: Plan; sql: string }> {
  return withEngine(ctx, options.lockTimeoutSeconds, async (engine, graph) => {
    const names = versionNames(ctx.settings);
    return audited(ctx, { action: `${direction} --sql`, args: { target } }, async ({ opId, note, useClient }) => {
      const client = useClient(await openClient(ctx), false);
      const exists = await tablesExist(client, names);
      const versionRows = await readVersionRows(client, names);
      note({ revisions_before: versionRows, revisions_after: versionRows });
      const prepared = await engine.prepare(graph, direction, target, versionRows);
      try {
        const { client: _unused, ...context } = executionContext(ctx, client, opId, options);
        const sql = await engine.offlineSql(graph, prepared.plan, context, { lockTimeoutSeconds: context.lockTimeoutSeconds, singleTransaction: options.singleTransaction, tablesExist: exists.version && exists.ledger });
        return { plan: prepared.plan, sql };
      } finally {
        await prepared.dispose();
      }
    });
  });
}

export { describeHolder };
