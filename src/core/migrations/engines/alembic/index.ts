import fs from 'node:fs';
import path from 'node:path';
import type { ProjectSettings } from '../../../config';
import { ExitCode, MutxError } from '../../../errors';
import type { CreatedRevision, ExecutionContext, InjectedRevision, MigrationEngine, OfflineSqlOptions, PreparedRun, PreparedStamp, RuntimeContext, SectionRun } from '../../engine';
import { describeBlockers, type AppliedStep } from '../../events';
import { RevisionGraph } from '../../graph';
import { ledgerInsertSql, ledgerInsertTemplate, readPartialMigrations } from '../../ledger';
import { lockKeys } from '../../lock';
import type { Direction, Plan, PlanStep } from '../../plan';
import { readVersionRows } from '../../versionTable';
import { LOCK_NOT_AVAILABLE, QUERY_CANCELED, ServerWatch, withLockRetries } from '../../watch';
import { alembicProject, type AlembicProject } from './project';
import { listRevisionFiles, readRevisionFile, type AlembicRevision, type Unreadable } from './revisionFile';
import { RevisionReadCache } from './readCache';
import { revisionSource } from './revisionWriter';
import { runRunnerSync, RunnerSession, type RunnerEnvironment, type RunnerEvent, type RunnerFailure, type RunnerRevision } from './runnerProcess';

const isUnreadable = (value: AlembicRevision | Unreadable): value is Unreadable => 'reason' in value;

/** A failure the runner reported, kept with what the engine knows about it. */
class RunnerFailed extends Error {
  constructor(readonly failure: RunnerFailure) {
    super(failure.error);
  }
}

/**
 * A project's Alembic revisions, unchanged: read statically for the graph (no Python), planned
 * and run by Alembic's own commands with the project's env.py through runner.py. The core above
 * holds the lock and writes the audit trail; the runner writes ledger rows in Alembic's own
 * transaction and the plan mutx-ops shows is the one Alembic resolved.
 */
export class AlembicEngine implements MigrationEngine<AlembicRevision> {
  readonly kind = 'alembic' as const;
  readonly project: AlembicProject;
  private warm?: { session: RunnerSession; runtime: RuntimeContext };

  constructor(private readonly settings: ProjectSettings) {
    this.project = alembicProject(settings);
  }

  get locations(): string[] {
    return this.project.versionLocations;
  }

  private environment(runtime?: RuntimeContext): RunnerEnvironment {
    return { settings: this.settings, project: this.project, target: runtime?.target, operator: runtime?.operator ?? { name: 'mutx-ops', host: 'localhost' }, lockTimeoutSeconds: runtime?.lockTimeoutSeconds };
  }

  loadGraph(): RevisionGraph<AlembicRevision> {
    const files = this.project.staticallyReadable ? listRevisionFiles(this.project.versionLocations) : [];
    // A drill's throwaway copy of the revisions is not worth keeping.
    const cache = RevisionReadCache.open(files.length > 0 && !this.settings.revisionsOverride ? this.settings.statePath : undefined);
    const read = files.map((file) => cache.read(file, readRevisionFile));
    cache.save();
    const unreadable = read.filter(isUnreadable);
    let revisions = read.filter((r): r is AlembicRevision => !isUnreadable(r));
    if (unreadable.length > 0 || !this.project.staticallyReadable) {
      const byPath = new Map(unreadable.map((u) => [fs.realpathSync(u.file), u]));
      const fromAlembic = this.alembicGraph().filter((r) => !this.project.staticallyReadable || byPath.has(fs.realpathSync(r.path)));
      revisions = [...revisions, ...fromAlembic.map((r) => fromRunner(r, byPath.get(fs.realpathSync(r.path))))];
    }
    return RevisionGraph.build(revisions);
  }

  /** Alembic's own reading of every revision (ScriptDirectory), used for what the static reader cannot read. */
  alembicGraph(): RunnerRevision[] {
    const { events, stderr } = runRunnerSync(this.environment(), { op: 'graph' });
    const graph = events.find((e): e is Extract<RunnerEvent, { event: 'graph' }> => e.event === 'graph');
    if (graph) return graph.revisions;
    const failed = events.find((e): e is Extract<RunnerEvent, { event: 'failed' }> => e.event === 'failed');
    if (failed) throw failureError(failed, { what: 'reading the revisions' });
    throw new MutxError('internal', `the Alembic runner ended without listing the revisions${stderr ? `: ${stderr.trim().split('\n').pop()}` : ''}`);
  }

  warmUp(runtime: RuntimeContext): void {
    if (this.warm) return;
    this.warm = { session: new RunnerSession(this.environment(runtime)).start(), runtime };
  }

  async release(): Promise<void> {
    const warm = this.warm;
    this.warm = undefined;
    await warm?.session.kill(0);
  }

  /** The warm session when its runtime fits, else a fresh one (plan-only without a runtime). */
  private session(): RunnerSession {
    const warm = this.warm;
    this.warm = undefined;
    return warm?.session ?? new RunnerSession(this.environment()).start();
  }

  async prepare(graph: RevisionGraph<AlembicRevision>, direction: Direction, target: string, versionRows: string[]): Promise<PreparedRun<AlembicRevision>> {
    const runtime = this.warm?.runtime;
    const session = this.session();
    try {
      const plan = await this.plan(session, graph, direction, target, versionRows);
      return {
        plan,
        execute: (context) => this.execute(session, graph, plan, context, runtime),
        dispose: () => session.kill(),
      };
    } catch (error) {
      await session.kill(0);
      throw error;
    }
  }

  private async plan(session: RunnerSession, graph: RevisionGraph<AlembicRevision>, direction: Direction, target: string, versionRows: string[]): Promise<Plan<AlembicRevision>> {
    await session.send({ op: direction, target, current: versionRows, execute: true });
    const event = await expectEvent(session, 'plan', `${direction} ${target}`);
    return toPlan(graph, direction, target, event);
  }

  async prepareStamp(graph: RevisionGraph<AlembicRevision>, target: string, versionRows: string[], options: { purge: boolean }): Promise<PreparedStamp> {
    const session = this.session();
    try {
      await session.send({ op: 'stamp', target, current: versionRows, purge: options.purge, execute: true });
      const event = await expectEvent(session, 'plan', `stamp ${target}`);
      return {
        before: versionRows,
        after: event.heads_after,
        execute: async (context) => {
          await this.runOnce(session, graph.byId.values(), context, `stamp ${target}`);
        },
        dispose: () => session.kill(),
      };
    } catch (error) {
      await session.kill(0);
      throw error;
    }
  }

  private async execute(first: RunnerSession, graph: RevisionGraph<AlembicRevision>, plan: Plan<AlembicRevision>, context: ExecutionContext, runtime: RuntimeContext | undefined): Promise<AppliedStep[]> {
    if (context.singleTransaction) {
      throw new MutxError('usage', '--single-transaction belongs to the SQL-file engine: with Alembic, env.py decides the transactions (transaction_per_migration)', { hint: 'run without it' });
    }
    const done: AppliedStep[] = [];
    let session = first;
    let attempts = 0;
    const progress = { revision: '' };
    const watch = this.watchFor(context, () => session, progress);
    try {
      await withLockRetries({
        retries: context.lockRetries,
        watch,
        signal: context.signal,
        isLockTimeout: (error) => error instanceof RunnerFailed && error.failure.pgcode === LOCK_NOT_AVAILABLE,
        onRetry: (attempt, delayMs) =>
          context.onEvent?.({
            type: 'retry',
            revision: done.length < plan.steps.length ? plan.steps[done.length]!.migration.revision : '',
            attempt,
            of: context.lockRetries,
            delayMs,
            reason: `lock_timeout (${context.lockTimeoutSeconds}s)${watch.lastBlockers.length ? `; blocked by ${describeBlockers(watch.lastBlockers)}` : ''}`,
          }),
        attempt: async () => {
          if (attempts++ > 0) {
            // The revisions not yet applied, planned again by Alembic from where the database is now.
            await session.kill(0);
            session = new RunnerSession(this.environment(runtime ?? { target: context.target, operator: context.operator, lockTimeoutSeconds: context.lockTimeoutSeconds })).start();
            await this.plan(session, graph, plan.direction, plan.target, await readVersionRows(context.client, context.names));
          }
          done.push(...(await this.runOnce(session, graph.byId.values(), context, `${plan.direction} ${plan.target}`, watch, progress)));
        },
      });
      return done;
    } catch (error) {
      throw await this.settleFailure(error, context, watch, plan, done);
    } finally {
      await watch.close();
      await session.kill();
    }
  }

  private watchFor(context: ExecutionContext, session: () => RunnerSession, progress: { revision: string }): ServerWatch {
    return new ServerWatch({
      target: context.target,
      operator: context.operator,
      connectTimeoutSeconds: context.settings.connect_timeout_seconds,
      deadline: context.deadline,
      signal: context.signal,
      onBlocked: (blockers) => context.onEvent?.({ type: 'blocked', revision: progress.revision, blockers }),
      // A revision busy in Python (not in a statement) cannot be cancelled on the server: end the
      // child, and the server rolls its transaction back when the connection drops.
      onStop: () => {
        setTimeout(() => void session().kill(0), 2000).unref();
      },
    });
  }

  /** Sends "go", answers the connection check, follows the run to its end. */
  private async runOnce(session: RunnerSession, revisions: Iterable<AlembicRevision>, context: ExecutionContext, what: string, watch?: ServerWatch, progress: { revision: string } = { revision: '' }): Promise<AppliedStep[]> {
    const [k1, k2] = lockKeys(context.names);
    const byId = new Map([...revisions].map((revision) => [revision.revision, revision]));
    const checksums = Object.fromEntries([...byId.values()].map((revision) => [revision.revision, revision.checksum]));
    await session.send({
      go: true,
      ledger: {
        insert: ledgerInsertTemplate(),
        lock_pid: (context.client as unknown as { processID: number }).processID,
        lock_keys: [k1, k2],
        checksums,
        fields: { operator: context.operator.name, host: context.operator.host, run_id: context.runId ?? null, audit_op_id: context.auditOpId ?? null },
      },
    });
    const done: AppliedStep[] = [];
    let perMigration = false;
    for (;;) {
      const event = await session.next();
      if (!event) {
        const exit = await session.exited();
        if (watch?.stopReason) throw new RunnerFailed({ error: 'canceling statement due to user request', error_type: 'Killed', phase: 'migrate', pgcode: QUERY_CANCELED, traceback: '' });
        throw new MutxError('migration-failed', `the Alembic runner stopped (${exit.signal ?? `exit ${exit.code}`}) during ${what}${session.stderr.length ? `: ${session.stderr[session.stderr.length - 1]}` : ''}`, {
          hint: 'its transaction was rolled back by the server; check `mutx-ops current` and run again',
        });
      }
      switch (event.event) {
        case 'connected': {
          const refusal = await checkConnection(event, context);
          if (refusal) {
            await session.send({ proceed: false, reason: refusal });
            await session.kill();
            throw new MutxError('config', refusal, { hint: 'env.py must connect with DATABASE_URL (or -x url=): mutx-ops passes the target there' });
          }
          perMigration = event.transaction_per_migration;
          watch?.watch(event.pid);
          watch?.busy(true);
          await session.send({ proceed: true });
          break;
        }
        case 'step-started': {
          progress.revision = event.revision;
          context.onEvent?.({ type: 'step-started', index: event.index, total: event.total, revision: event.revision, direction: event.direction, message: event.message ?? byId.get(event.revision)?.message ?? '' });
          break;
        }
        case 'step-finished':
          done.push({ revision: event.revision, direction: event.direction, durationMs: event.duration_ms });
          context.onEvent?.({ type: 'step-finished', index: event.index, total: event.total, revision: event.revision, direction: event.direction, durationMs: event.duration_ms });
          break;
        case 'autocommit':
          context.onEvent?.({ type: 'notice', message: `${event.revision}: autocommit block — runs outside a transaction (marked in the ledger until it finishes)` });
          break;
        case 'failed':
          throw Object.assign(new RunnerFailed(event), { committed: perMigration ? done : [] });
        case 'done':
          return done;
        default:
          break;
      }
    }
  }

  /** Records the failure in the ledger (as the SQL engine does) and turns it into one operator line. */
  private async settleFailure(error: unknown, context: ExecutionContext, watch: ServerWatch, plan: Plan<AlembicRevision>, done: AppliedStep[]): Promise<unknown> {
    if (!(error instanceof RunnerFailed)) return error;
    const failure = error.failure;
    const mapped = failureError({ event: 'failed', ...failure }, { what: `${plan.direction} ${plan.target}`, stopReason: watch.stopReason, lockTimeoutSeconds: context.lockTimeoutSeconds, retries: context.lockRetries, blockers: watch.lastBlockers });
    let revision = failure.phase === 'migrate' ? failure.revision ?? plan.steps[done.length]?.migration.revision : undefined;
    // Stopped right after a revision that committed itself: nothing is half-applied, nothing failed.
    if (failure.error_type === 'TransactionEnded' && failure.half_applied === false) revision = undefined;
    let hint = mapped.hint;
    if (failure.phase === 'migrate' || failure.phase === 'after') {
      const rows = await readVersionRows(context.client, context.names).catch(() => undefined);
      if (failure.error_type === 'TransactionEnded' && rows && !failure.revision) {
        // Seen only at the commit (a driver that does not report the server's transaction state):
        // the revisions before the COMMIT are committed with their version rows, the next one is not.
        const heads = [...rows].sort().join(',');
        revision = plan.steps.find((step) => [...step.headsBefore].sort().join(',') === heads)?.migration.revision ?? revision;
      }
      if (rows) hint = `${hint ? `${hint}; ` : ''}the database is at ${rows.join(', ') || 'base'}`;
      // An autocommit block commits what ran before it: its revision may now be half-applied.
      const partial = await readPartialMigrations(context.client, context.names).catch(() => []);
      if (partial.length > 0) hint = `${hint}; ${partial.map((p) => p.revision).join(', ')} ran outside a transaction and is half-applied: \`mutx-ops reconcile\` backs it out`;
    }
    if (revision) {
      // What ran before a COMMIT/ROLLBACK inside the revision is committed: half-applied until reconcile.
      if (failure.error_type === 'TransactionEnded' && failure.half_applied !== false) {
        await context.client
          .query(ledgerInsertSql(context.names, { revision, direction: (failure.direction as Direction | undefined) ?? plan.direction, checksum: null, operator: context.operator.name, host: context.operator.host, startedAt: new Date(), durationMs: 0, outcome: 'started', runId: context.runId, auditOpId: context.auditOpId }))
          .catch(() => {});
        hint = `${hint}; it is flagged half-applied: \`mutx-ops reconcile\` runs its downgrade()`;
      }
      const outcome = mapped.kind === 'timeout' ? 'timeout' : mapped.exitCode === ExitCode.interrupted ? 'cancelled' : 'failed';
      await context.client
        .query(
          ledgerInsertSql(context.names, {
            revision,
            direction: (failure.direction as Direction | undefined) ?? plan.direction,
            checksum: plan.steps.find((s) => s.migration.revision === revision)?.migration.checksum ?? null,
            operator: context.operator.name,
            host: context.operator.host,
            startedAt: new Date(),
            durationMs: 0,
            outcome,
            failedStatement: failure.statement?.slice(0, 4000) ?? null,
            error: mapped.message.slice(0, 4000),
            runId: context.runId,
            auditOpId: context.auditOpId,
          }),
        )
        .catch(() => {});
    }
    return new MutxError(mapped.kind, mapped.message, {
      hint,
      exitCode: mapped.exitCode,
      details: { ...(mapped.details ?? {}), completed: (error as RunnerFailed & { committed?: AppliedStep[] }).committed ?? [] },
    });
  }

  async runSections(steps: SectionRun<AlembicRevision>[], context: ExecutionContext): Promise<AppliedStep[]> {
    const session = this.session();
    const progress = { revision: '' };
    const watch = this.watchFor(context, () => session, progress);
    try {
      await session.send({ op: 'sections', sections: steps.map((s) => ({ revision: s.revision.revision, direction: s.direction })) });
      await expectEvent(session, 'ready', 'reconcile');
      return await this.runOnce(session, steps.map((s) => s.revision), context, 'reconcile', watch, progress);
    } catch (error) {
      if (error instanceof RunnerFailed) throw failureError({ event: 'failed', ...error.failure }, { what: 'reconcile', stopReason: watch.stopReason });
      throw error;
    } finally {
      await watch.close();
      await session.kill();
    }
  }

  async offlineSql(_graph: RevisionGraph<AlembicRevision>, plan: Plan<AlembicRevision>, context: Omit<ExecutionContext, 'client'>): Promise<string> {
    const from = plan.headsBefore;
    const to = plan.headsAfter;
    if (from.length > 1 || (plan.direction === 'downgrade' && to.length > 1)) {
      throw new MutxError('usage', `--sql: the database is at several heads (${from.join(', ')}); Alembic's offline mode starts from one revision`, { hint: 'run the offline SQL per branch: upgrade/downgrade a named revision from each head' });
    }
    if (plan.steps.length === 0) return `-- nothing to do: already at ${from.join(', ') || 'base'}\n`;
    const start = from[0] ?? 'base';
    const end = to.length === 0 ? 'base' : to.length === 1 ? to[0]! : 'heads';
    const session = new RunnerSession(this.environment({ target: context.target, operator: context.operator, lockTimeoutSeconds: context.lockTimeoutSeconds })).start();
    try {
      await session.send({ op: 'sql', direction: plan.direction, range: `${start}:${end}`, sql: true });
      await expectEvent(session, 'done', `${plan.direction} --sql`);
      return session.output;
    } finally {
      await session.kill();
    }
  }

  sections(revision: AlembicRevision) {
    const source = fs.readFileSync(revision.file, 'utf8');
    const body = (name: string) => {
      const match = new RegExp(`^def ${name}\\([^)]*\\)[^\\n]*:\\n([\\s\\S]*?)(?=^\\S|(?![\\s\\S]))`, 'm').exec(source);
      return match ? `def ${name}():\n${match[1]!.replace(/\s+$/, '')}` : `(no ${name}() in ${path.basename(revision.file)})`;
    };
    return [
      ...(revision.longDoc ? [{ title: '"""', text: revision.longDoc }] : []),
      { title: '# upgrade', text: body('upgrade') },
      { title: '# downgrade', text: body('downgrade') },
    ];
  }

  async createRevision(_graph: RevisionGraph<AlembicRevision>, message: string, options: { autogenerate?: boolean; runtime?: RuntimeContext }): Promise<CreatedRevision> {
    return this.author({ op: 'revision', message, autogenerate: Boolean(options.autogenerate) }, options.runtime, options.autogenerate ? 'revision --autogenerate' : 'revision');
  }

  injectRevision(graph: RevisionGraph<AlembicRevision>, dir: string, revision: InjectedRevision): { settings: ProjectSettings; file: string } {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const file of listRevisionFiles(this.project.versionLocations)) fs.copyFileSync(file, path.join(dir, path.basename(file)));
    const text = revisionSource({ ...revision, revises: graph.heads(), transactional: false });
    const file = path.join(dir, `${revision.revision}_${revision.message.replace(/\W+/g, '_').slice(0, 60)}.py`);
    fs.writeFileSync(file, text, { mode: 0o600 });
    return { settings: { ...this.settings, revisionsOverride: dir }, file };
  }

  async createMerge(graph: RevisionGraph<AlembicRevision>, message: string, revisions: string[]): Promise<CreatedRevision> {
    const resolved = revisions.map((spec) => graph.resolve(spec));
    return this.author({ op: 'merge', message, revisions: resolved.length ? resolved : 'heads' }, undefined, 'merge');
  }

  /**
   * `mutx-ops test`: what autogenerate finds between the project's models (env.py's
   * target_metadata) and the database at `runtime.target` — nothing, when they match. No file is
   * written. Only reads that database.
   */
  async compareModels(runtime: RuntimeContext): Promise<{ diffs: string[]; hasMetadata: boolean }> {
    const session = new RunnerSession(this.environment(runtime)).start();
    try {
      await session.send({ op: 'compare' });
      for (;;) {
        const event = await session.next();
        if (!event) throw new MutxError('migration-failed', `the Alembic runner ended while comparing the models${session.stderr.length ? `: ${session.stderr[session.stderr.length - 1]}` : ''}`);
        if (event.event === 'connected') await session.send({ proceed: event.database === runtime.target.database, reason: `env.py connected to ${event.database}, not ${runtime.target.database}` });
        else if (event.event === 'failed') throw failureError(event, { what: 'comparing the models with the schema' });
        else if (event.event === 'compared') return { diffs: event.diffs, hasMetadata: event.has_metadata };
      }
    } finally {
      await session.kill();
    }
  }

  private async author(request: Record<string, unknown>, runtime: RuntimeContext | undefined, what: string): Promise<CreatedRevision> {
    const target = runtime?.target;
    const session = new RunnerSession(this.environment(runtime)).start();
    try {
      await session.send(request);
      for (;;) {
        const event = await session.next();
        if (!event) throw new MutxError('migration-failed', `the Alembic runner ended during ${what}${session.stderr.length ? `: ${session.stderr[session.stderr.length - 1]}` : ''}`);
        if (event.event === 'connected') {
          // Autogenerate compares the target's schema with the models: read-only, on the target.
          await session.send({ proceed: event.database === target?.database, reason: `env.py connected to ${event.database}, not ${target?.database}` });
        } else if (event.event === 'failed') {
          throw failureError(event, { what });
        } else if (event.event === 'created') {
          const created = event.revisions[0];
          if (!created) throw new MutxError('migration-failed', `${what}: Alembic created no file`);
          return { revision: created.revision, file: created.path, revises: created.down_revision };
        }
      }
    } finally {
      await session.kill();
    }
  }
}

/** A revision as Alembic read it (a file the static reader could not read). */
function fromRunner(r: RunnerRevision, unreadable: Unreadable | undefined): AlembicRevision {
  const created = /^Create Date:\s*(.+)$/m.exec(r.longdoc)?.[1]?.trim();
  return {
    revision: r.revision,
    revises: r.down_revision,
    dependsOn: r.depends_on,
    branchLabels: r.branch_labels,
    message: r.doc.replace(/\s*\n\s*/g, ' '),
    longDoc: r.longdoc,
    file: r.path,
    headers: created ? { created } : {},
    headerLines: { revision: 1, revises: 1 },
    transactional: unreadable?.transactional ?? !fs.readFileSync(r.path, 'latin1').includes('autocommit_block'),
    checksum: unreadable?.checksum ?? '',
    readBy: 'alembic',
  };
}

function toPlan(graph: RevisionGraph<AlembicRevision>, direction: Direction, target: string, event: Extract<RunnerEvent, { event: 'plan' }>): Plan<AlembicRevision> {
  const steps: PlanStep<AlembicRevision>[] = event.steps
    .filter((step) => step.revision !== null)
    .map((step) => ({ direction: step.direction as Direction, migration: graph.get(step.revision!), headsBefore: step.heads_before, headsAfter: step.heads_after }));
  return { direction, target, steps, headsBefore: event.heads_before, headsAfter: event.heads_after };
}

async function expectEvent<T extends RunnerEvent['event']>(session: RunnerSession, type: T, what: string): Promise<Extract<RunnerEvent, { event: T }>> {
  for (;;) {
    const event = await session.next();
    if (!event) {
      const exit = await session.exited();
      throw new MutxError('migration-failed', `the Alembic runner ended (${exit.signal ?? `exit ${exit.code}`}) during ${what}${session.stderr.length ? `: ${session.stderr[session.stderr.length - 1]}` : ''}`, { hint: 'run with --debug to see its output' });
    }
    if (event.event === 'failed') throw failureError(event, { what });
    if (event.event === type) return event as Extract<RunnerEvent, { event: T }>;
  }
}

/** The env.py connection must be the target: same database, and its backend visible on the target's server. */
async function checkConnection(event: Extract<RunnerEvent, { event: 'connected' }>, context: ExecutionContext): Promise<string | undefined> {
  if (event.configure_count > 1) return 'env.py configured Alembic more than once (a multi-database env.py): mutx-ops runs one database per command';
  const seen = await context.client.query<{ datname: string; backend_start: string }>('SELECT datname, backend_start::text AS backend_start FROM pg_stat_activity WHERE pid = $1', [event.pid]);
  const row = seen.rows[0];
  if (!row || row.backend_start !== event.backend_start || row.datname !== context.target.database) {
    return `env.py connected to database "${event.database}" (backend pid ${event.pid}${row ? ` on this server as "${row.datname}"` : ', not on the target server'}), not the target ${context.target.redacted}: refusing to run`;
  }
  if (event.version_table !== context.names.table || event.version_table_schema !== context.names.schema) {
    return `env.py configures the version table ${event.version_table_schema}.${event.version_table}, but mutx-ops locks and reads ${context.names.schema}.${context.names.table}: refusing to run`;
  }
  return undefined;
}

interface FailureContext {
  what: string;
  stopReason?: 'timeout' | 'cancelled';
  lockTimeoutSeconds?: number;
  retries?: number;
  blockers?: import('../../events').Blocker[];
}

/** One operator line for a runner failure: where (the project's file:line), what, what to do. */
function failureError(event: Extract<RunnerEvent, { event: 'failed' }>, context: FailureContext): MutxError {
  const where = event.file ? `${event.file}:${event.line}` : undefined;
  const at = where ? ` at ${where}` : '';
  // A server error speaks for itself; a Python exception is named.
  const error = event.pgcode ? event.error : `${event.error_type}: ${event.error}`;
  const details = { file: event.file, line: event.line, pgcode: event.pgcode, statement: event.statement, traceback: event.traceback };
  if (event.phase === 'load') {
    return new MutxError('migration-file', `${where ?? 'a revision file'}: ${event.error_type}: ${event.error}`, { hint: 'fix the revision file; nothing was run', details });
  }
  if (event.phase === 'plan') {
    return new MutxError('revision', `${context.what}: ${event.error}`, { hint: 'see `mutx-ops history` for the revisions and heads', details });
  }
  if (event.pgcode === QUERY_CANCELED && context.stopReason === 'timeout') {
    return new MutxError('timeout', `${context.what}: --timeout expired${event.revision ? ` during ${event.direction} ${event.revision}` : ''}${at}; the statement was cancelled on the server`, { hint: 'Alembic\'s transaction was rolled back', details });
  }
  if (event.pgcode === QUERY_CANCELED && context.stopReason === 'cancelled') {
    return new MutxError('migration-failed', `${context.what}: cancelled by the operator${event.revision ? ` during ${event.revision}` : ''}${at}`, { exitCode: ExitCode.interrupted, hint: 'Alembic\'s transaction was rolled back', details });
  }
  if (event.pgcode === LOCK_NOT_AVAILABLE) {
    const blockers = context.blockers?.length ? ` — blocked by ${describeBlockers(context.blockers)}` : '';
    return new MutxError('migration-failed', `${event.direction ?? ''} ${event.revision ?? ''} could not get a table lock within lock_timeout ${context.lockTimeoutSeconds}s after ${context.retries} retries${at}${blockers}`.trim(), {
      hint: 'end or wait for the blocking transaction (SELECT pg_terminate_backend(pid)), then run again',
      details: { ...details, blockers: context.blockers },
    });
  }
  if (event.error_type === 'TransactionEnded' && event.half_applied === false) {
    return new MutxError('migration-failed', `${context.what}: ${event.error}`, { hint: 'nothing is half-applied; fix the revision (mutx-ops opens and commits the transactions), then run again', details });
  }
  if (event.phase === 'migrate') {
    return new MutxError('migration-failed', `${event.direction} ${event.revision} failed${at}: ${error}`, { hint: 'Alembic rolled back its transaction', details });
  }
  if (event.phase === 'after') {
    return new MutxError('migration-failed', `${context.what}: env.py failed after the revisions ran${at}: ${error}`, { hint: 'what its transaction held was rolled back, what was committed stays', details });
  }
  if (event.pgcode && /^(08|28|3D)/.test(event.pgcode)) {
    return new MutxError('connection', `env.py could not connect: ${event.error}`, { hint: 'check the database URL and credentials', details });
  }
  return new MutxError('config', `${where ? `${where}: ` : ''}${context.what}: ${event.error_type}: ${event.error}`, { hint: 'the project\'s env.py (or alembic.ini) failed before any revision ran; nothing was changed', details });
}
