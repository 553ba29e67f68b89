import type pg from 'pg';
import type { Target } from '../../../connection';
import { ExitCode, MutxError } from '../../../errors';
import type { Operator } from '../../../identity';
import { describeBlockers, type AppliedStep, type MigrationEvent } from '../../events';
import type { Plan, PlanStep } from '../../plan';
import { CONNECTION_CHECK, LOCK_NOT_AVAILABLE, QUERY_CANCELED, ServerWatch, withLockRetries } from '../../watch';
import { versionUpdateSql, type VersionTableNames } from '../../versionTable';
import { ledgerInsertSql, type LedgerEntry } from '../../ledger';
import type { MigrationFile } from './file';
import { GUARD_CODES, guardSql, refuseTransactionControl, TRANSACTION_MARKER } from './guards';
import { splitSqlStatements, type SqlStatement } from './sqlSplit';

export interface ExecuteOptions {
  client: pg.Client;
  target: Target;
  operator: Operator;
  names: VersionTableNames;
  lockTimeoutSeconds: number;
  lockRetries: number;
  /** Wall-clock limit for the whole plan, enforced on the server (exit 124 when it expires). */
  deadline?: number;
  singleTransaction?: boolean;
  signal?: AbortSignal;
  runId?: string;
  auditOpId?: string;
  connectTimeoutSeconds?: number;
  onEvent?: (event: MigrationEvent) => void;
  /** Reconcile: run every step statement by statement, whatever the file says. */
  forceNonTransactional?: boolean;
}

interface PgError extends Error {
  code?: string;
  position?: string;
}

class StepFailure extends Error {
  constructor(
    override readonly cause: PgError | MutxError,
    readonly statement: SqlStatement | undefined,
    readonly section: 'upgrade' | 'downgrade' | 'verify',
  ) {
    super(cause.message);
  }
}

/**
 * Runs a plan: each migration in its own transaction together with its version-table and
 * ledger rows (or all in one with singleTransaction); non-transactional files statement by
 * statement outside a transaction. Lock timeouts are retried with backoff; the deadline and
 * cancellation stop the running statement on the server with pg_cancel_backend.
 */
export class PlanExecutor {
  private currentRevision = '';
  private readonly watch: ServerWatch;

  constructor(private readonly options: ExecuteOptions) {
    this.watch = new ServerWatch({
      target: options.target,
      operator: options.operator,
      connectTimeoutSeconds: options.connectTimeoutSeconds,
      deadline: options.deadline,
      signal: options.signal,
      onBlocked: (blockers) => options.onEvent?.({ type: 'blocked', revision: this.currentRevision, blockers }),
    });
    this.watch.watch((options.client as unknown as { processID: number }).processID);
  }

  private get stopReason() {
    return this.watch.stopReason;
  }

  private get lastBlockers() {
    return this.watch.lastBlockers;
  }

  async run(plan: Plan<MigrationFile>): Promise<AppliedStep[]> {
    const { options } = this;
    const done: AppliedStep[] = [];
    try {
      // Before anything runs: no transactional step may end the transaction that makes it atomic.
      for (const step of plan.steps) {
        if (step.migration.transactional && !options.forceNonTransactional) {
          const section = step.direction === 'upgrade' ? step.migration.upgrade : step.migration.downgrade;
          refuseTransactionControl(step.migration, step.direction, splitSqlStatements(section.sql));
        }
      }
      // client_connection_check_interval (PostgreSQL 14+): if mutx-ops is killed mid-statement the
      // server notices the dropped connection within a second and rolls back, not at the statement's end.
      await options.client.query(`SET lock_timeout = '${Math.round(options.lockTimeoutSeconds * 1000)}ms'; ${CONNECTION_CHECK}`);
      if (options.singleTransaction) {
        if (plan.steps.some((step) => !step.migration.transactional)) {
          const offender = plan.steps.find((step) => !step.migration.transactional)!;
          throw new MutxError('usage', `--single-transaction: ${offender.migration.file} is marked transactional: false and cannot run inside a transaction`, {
            hint: 'run without --single-transaction, or stop before that revision',
          });
        }
        await this.withLockRetries(plan.steps[0]?.migration.revision ?? '', async () => {
          done.length = 0;
          await this.query(`BEGIN; ${TRANSACTION_MARKER}`);
          try {
            for (const [index, step] of plan.steps.entries()) {
              done.push(await this.runStep(step, index, plan.steps.length, 'inside', index === plan.steps.length - 1));
            }
            await this.query('COMMIT');
          } catch (error) {
            await this.rollbackQuietly();
            throw error;
          }
        });
      } else {
        for (const [index, step] of plan.steps.entries()) {
          done.push(await this.runStep(step, index, plan.steps.length, step.migration.transactional && !options.forceNonTransactional ? 'own' : 'none'));
        }
      }
      return done;
    } catch (error) {
      throw this.withProgress(error, done);
    } finally {
      await this.watch.close();
    }
  }

  private async runStep(step: PlanStep<MigrationFile>, index: number, total: number, transaction: 'own' | 'inside' | 'none', lastInside = false): Promise<AppliedStep> {
    const { options } = this;
    const { migration, direction } = step;
    this.currentRevision = migration.revision;
    options.onEvent?.({ type: 'step-started', index, total, revision: migration.revision, direction, message: migration.message });
    const startedAt = new Date();
    const section = direction === 'upgrade' ? migration.upgrade : migration.downgrade;
    const statements = splitSqlStatements(section.sql);
    // Reconcile runs sections without moving the version table: nothing to compare-and-set.
    const guard = () =>
      options.forceNonTransactional ? [] : [guardSql(options.names, step, { transaction: transaction !== 'none', lock: transaction !== 'inside' || lastInside })];
    const bookkeeping = () => [
      ...guard(),
      ...versionUpdateSql(options.names, step.headsBefore, step.headsAfter),
      ledgerInsertSql(options.names, this.ledgerEntry(step, startedAt, direction === 'upgrade' ? 'applied' : 'reverted')),
    ];
    try {
      if (transaction === 'none') {
        // Committed before the first statement: if this process dies or the step fails mid-way,
        // the ledger says so and migrate refuses to go on until `reconcile` settles it.
        await this.query(ledgerInsertSql(options.names, this.ledgerEntry(step, startedAt, 'started')));
        let from = 0;
        await this.withLockRetries(migration.revision, async () => {
          // Statements before a lock timeout are committed; resume at the one that timed out.
          for (; from < statements.length; from++) await this.runStatement(statements[from]!, direction);
        });
        if (direction === 'upgrade' && migration.verify) {
          try {
            await this.runVerify(step);
          } catch (error) {
            await this.revertNonTransactional(step);
            throw error;
          }
        }
        try {
          await this.query(['BEGIN', ...bookkeeping(), 'COMMIT'].join(';\n'));
        } catch (error) {
          await this.rollbackQuietly();
          throw error;
        }
      } else {
        // Round trips are the client's main cost: BEGIN rides with the first statement, and the
        // version/ledger rows with COMMIT. Statements still run one by one, so a failure names its line.
        const ownTransaction = transaction === 'own';
        const body = async () => {
          for (const [i, statement] of statements.entries()) await this.runStatement(statement, direction, i === 0 && ownTransaction ? `BEGIN; ${TRANSACTION_MARKER};\n` : '');
          if (statements.length === 0 && ownTransaction) await this.query(`BEGIN; ${TRANSACTION_MARKER}`);
          if (direction === 'upgrade' && migration.verify) await this.runVerify(step);
          await this.query([...bookkeeping(), ...(ownTransaction ? ['COMMIT'] : [])].join(';\n'));
        };
        if (!ownTransaction) {
          await body();
        } else {
          await this.withLockRetries(migration.revision, async () => {
            try {
              await body();
            } catch (error) {
              await this.rollbackQuietly();
              throw error;
            }
          });
        }
      }
    } catch (error) {
      const failure = error instanceof StepFailure ? error : undefined;
      const mapped = this.describeFailure(step, error, failure);
      options.onEvent?.({ type: 'step-failed', index, total, revision: migration.revision, direction, error: mapped.message });
      // What ran before a COMMIT/ROLLBACK inside the migration is committed: half-applied until reconcile.
      if ((failure?.cause as PgError | undefined)?.code === GUARD_CODES.transactionEnded) await this.query(ledgerInsertSql(options.names, this.ledgerEntry(step, startedAt, 'started'))).catch(() => {});
      if (transaction !== 'inside' || (failure?.cause as PgError | undefined)?.code === GUARD_CODES.transactionEnded) await this.recordFailure(step, startedAt, mapped, failure);
      throw mapped;
    }
    const durationMs = Date.now() - startedAt.getTime();
    options.onEvent?.({ type: 'step-finished', index, total, revision: migration.revision, direction, durationMs });
    return { revision: migration.revision, direction, durationMs };
  }

  private async runStatement(statement: SqlStatement, section: 'upgrade' | 'downgrade' | 'verify', prefix = ''): Promise<pg.QueryResult> {
    this.throwIfStopped();
    this.watch.busy(true);
    try {
      const result = await this.options.client.query(prefix + statement.sql);
      // With a prefix the driver returns one result per statement; the statement's is the last.
      return Array.isArray(result) ? (result[result.length - 1] as pg.QueryResult) : result;
    } catch (error) {
      throw new StepFailure(error as PgError, statement, section);
    } finally {
      this.watch.busy(false);
    }
  }

  private async runVerify(step: PlanStep<MigrationFile>): Promise<void> {
    const verify = step.migration.verify!;
    const statements = splitSqlStatements(verify.sql);
    let result: pg.QueryResult | undefined;
    for (const statement of statements) result = await this.runStatement(statement, 'verify');
    const row = result?.rows[0] as Record<string, unknown> | undefined;
    const value = row ? Object.values(row)[0] : undefined;
    const ok = value === true || value === 't' || (typeof value === 'number' && value !== 0) || (typeof value === 'string' && /^[1-9]\d*$/.test(value));
    if (!ok) {
      const got = row === undefined ? 'no rows' : JSON.stringify(value ?? null);
      throw new StepFailure(
        new MutxError('verify-failed', `${step.migration.file}:${verify.line}: verify of ${step.migration.revision} returned ${got}`, {
          hint: 'the upgrade was rolled back; fix the migration (or its verify query) and run again',
        }),
        statements[statements.length - 1],
        'verify',
      );
    }
    this.options.onEvent?.({ type: 'verified', revision: step.migration.revision });
  }

  /** A failed verify after a non-transactional upgrade: undo it with its downgrade. */
  private async revertNonTransactional(step: PlanStep<MigrationFile>): Promise<void> {
    let clean = true;
    for (const statement of splitSqlStatements(step.migration.downgrade.sql)) {
      await this.options.client.query(statement.sql).catch(() => {
        clean = false;
      });
    }
    // Fully undone: nothing is left half-applied, so no reconcile is needed.
    if (clean) {
      const entry = { ...this.ledgerEntry(step, new Date(), 'reconciled' as const), direction: 'reconcile' as const };
      await this.options.client.query(ledgerInsertSql(this.options.names, entry)).catch(() => {});
    }
  }

  private withLockRetries(revision: string, attempt: () => Promise<void>): Promise<void> {
    return withLockRetries({
      retries: this.options.lockRetries,
      watch: this.watch,
      signal: this.options.signal,
      isLockTimeout: (error) => error instanceof StepFailure && (error.cause as PgError).code === LOCK_NOT_AVAILABLE,
      onRetry: (attempt, delayMs) =>
        this.options.onEvent?.({
          type: 'retry',
          revision,
          attempt,
          of: this.options.lockRetries,
          delayMs,
          reason: `lock_timeout (${this.options.lockTimeoutSeconds}s)${this.lastBlockers.length ? `; blocked by ${describeBlockers(this.lastBlockers)}` : ''}`,
        }),
      attempt,
    });
  }

  private describeFailure(step: PlanStep<MigrationFile>, error: unknown, failure: StepFailure | undefined): MutxError {
    const { migration, direction } = step;
    const cause = failure?.cause ?? (error as PgError);
    if (cause instanceof MutxError) return cause;
    const where = failure?.statement
      ? `${migration.file}:${(failure.section === 'verify' ? migration.verify!.line : direction === 'upgrade' ? migration.upgrade.line : migration.downgrade.line) + failure.statement.line - 1}`
      : migration.file;
    const pgMessage = (cause?.message ?? String(error)).split('\n')[0];
    const notTransactional = !migration.transactional && !this.options.singleTransaction;
    if (cause?.code === GUARD_CODES.transactionEnded) {
      return new MutxError('migration-failed', `${direction} ${migration.revision} (${migration.file}): ${pgMessage}`, {
        hint: `what ran before that point is committed while the version table still says ${step.headsBefore.join(', ') || 'base'}: it is flagged half-applied; \`mutx-ops reconcile\` backs it out with the downgrade section`,
      });
    }
    if (cause?.code === GUARD_CODES.versionChanged || cause?.code === GUARD_CODES.lockLost) {
      return new MutxError('migration-failed', `${direction} ${migration.revision} stopped before it was recorded: ${pgMessage}`, {
        hint: 'rolled back; someone else changed the database behind the migration lock: check `mutx-ops current` and the audit trail before running again',
      });
    }
    if (cause?.code === QUERY_CANCELED && this.stopReason === 'timeout') {
      return new MutxError('timeout', `${direction} ${migration.revision} stopped by --timeout at ${where}; the statement was cancelled on the server`, {
        hint: notTransactional ? 'statements before it in this non-transactional file stay applied; rerun when ready (its statements use IF NOT EXISTS)' : 'the transaction was rolled back; the database is at the revision before it',
      });
    }
    if (cause?.code === QUERY_CANCELED && this.stopReason === 'cancelled') {
      return new MutxError('migration-failed', `${direction} ${migration.revision} cancelled by the operator at ${where}`, {
        exitCode: ExitCode.interrupted,
        hint: notTransactional ? 'statements before it in this non-transactional file stay applied' : 'the transaction was rolled back',
      });
    }
    if (cause?.code === LOCK_NOT_AVAILABLE) {
      const blockers = this.lastBlockers.length ? ` — blocked by ${describeBlockers(this.lastBlockers)}` : '';
      return new MutxError('migration-failed', `${direction} ${migration.revision} could not get a table lock within lock_timeout ${this.options.lockTimeoutSeconds}s after ${this.options.lockRetries} retries at ${where}${blockers}`, {
        hint: 'end or wait for the blocking transaction (SELECT pg_terminate_backend(pid)), then run again',
        details: { blockers: this.lastBlockers },
      });
    }
    if (notTransactional) {
      return new MutxError('migration-failed', `${direction} ${migration.revision} failed at ${where}: ${pgMessage}`, {
        hint: `this file runs without a transaction: statements before line ${where.split(':').pop()} stay applied and the version table still says ${step.headsBefore.join(', ') || 'base'}; \`mutx-ops reconcile\` backs them out, then fix the cause and run again`,
      });
    }
    return new MutxError('migration-failed', `${direction} ${migration.revision} failed at ${where}: ${pgMessage}`, {
      hint: `rolled back; the database is at ${this.options.singleTransaction ? 'the revision before the run' : step.headsBefore.join(', ') || 'base'}`,
    });
  }

  private async recordFailure(step: PlanStep<MigrationFile>, startedAt: Date, error: MutxError, failure: StepFailure | undefined): Promise<void> {
    const outcome = error.kind === 'timeout' ? 'timeout' : error.exitCode === ExitCode.interrupted ? 'cancelled' : 'failed';
    const entry = { ...this.ledgerEntry(step, startedAt, outcome), failedStatement: failure?.statement?.sql.slice(0, 4000) ?? null, error: error.message.slice(0, 4000) };
    await this.options.client.query(ledgerInsertSql(this.options.names, entry)).catch(() => {});
  }

  private ledgerEntry(step: PlanStep<MigrationFile>, startedAt: Date, outcome: LedgerEntry['outcome']): LedgerEntry {
    return {
      revision: step.migration.revision,
      direction: step.direction,
      checksum: step.migration.checksum,
      operator: this.options.operator.name,
      host: this.options.operator.host,
      startedAt,
      durationMs: Date.now() - startedAt.getTime(),
      outcome,
      runId: this.options.runId,
      auditOpId: this.options.auditOpId,
    };
  }

  private throwIfStopped(): void {
    if (!this.stopReason) return;
    const cancelled = Object.assign(new Error('canceling statement due to user request'), { code: QUERY_CANCELED });
    throw new StepFailure(cancelled, undefined, 'upgrade');
  }

  private async query(sql: string): Promise<void> {
    try {
      await this.options.client.query(sql);
    } catch (error) {
      throw new StepFailure(error as PgError, { sql, offset: 0, line: 1 }, 'upgrade');
    }
  }

  private async rollbackQuietly(): Promise<void> {
    await this.options.client.query('ROLLBACK').catch(() => {});
  }

  private withProgress(error: unknown, done: AppliedStep[]): unknown {
    if (error instanceof MutxError) {
      Object.assign(error, { details: { ...(error.details ?? {}), completed: done } });
    }
    if (error instanceof StepFailure) return error.cause;
    return error;
  }
}
