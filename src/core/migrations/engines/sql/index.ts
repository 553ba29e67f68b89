import fs from 'node:fs';
import path from 'node:path';
import type { ProjectSettings } from '../../../config';
import type { CreatedRevision, ExecutionContext, InjectedRevision, MigrationEngine, OfflineSqlOptions, PreparedRun, PreparedStamp, SectionRun } from '../../engine';
import { RevisionGraph } from '../../graph';
import { planDowngrade, planUpgrade, stampHeads, type Direction, type Plan } from '../../plan';
import { createTablesSql, versionTableSql, versionUpdateSql } from '../../versionTable';
import { ledgerInsertSql } from '../../ledger';
import { createMerge, createRevision } from './authoring';
import { PlanExecutor } from './execute';
import { readMigrationDir, type MigrationFile } from './file';
import { splitSqlStatements } from './sqlSplit';

/** mutx-ops' own format: one SQL file per revision, planned with Alembic's semantics and run by mutx-ops. */
export class SqlEngine implements MigrationEngine<MigrationFile> {
  readonly kind = 'sql' as const;
  readonly locations: string[];

  constructor(private readonly settings: ProjectSettings) {
    this.locations = [settings.revisionsOverride ?? settings.migrationsPath];
  }

  loadGraph(): RevisionGraph<MigrationFile> {
    return RevisionGraph.build(readMigrationDir(this.locations[0]!));
  }

  injectRevision(graph: RevisionGraph<MigrationFile>, dir: string, revision: InjectedRevision): { settings: ProjectSettings; file: string } {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const name of fs.readdirSync(this.locations[0]!)) {
      if (name.endsWith('.sql')) fs.copyFileSync(path.join(this.locations[0]!, name), path.join(dir, name));
    }
    const lines = [`-- revision: ${revision.revision}`, `-- revises: ${graph.heads().join(', ')}`, `-- message: ${revision.message}`, '-- transactional: false', '', '-- +upgrade', revision.upgrade.trimEnd(), '', '-- +downgrade', revision.downgrade.trimEnd()];
    if (revision.verify) lines.push('', '-- +verify', revision.verify.trimEnd());
    const file = path.join(dir, `${revision.revision}_${revision.message.replace(/\W+/g, '_').slice(0, 60)}.sql`);
    fs.writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
    return { settings: { ...this.settings, revisionsOverride: dir }, file };
  }

  async prepare(graph: RevisionGraph<MigrationFile>, direction: Direction, target: string, versionRows: string[]): Promise<PreparedRun<MigrationFile>> {
    const plan = direction === 'upgrade' ? planUpgrade(graph, versionRows, target) : planDowngrade(graph, versionRows, target);
    return {
      plan,
      execute: (context) => executor(context).run(plan),
      dispose: async () => {},
    };
  }

  async prepareStamp(graph: RevisionGraph<MigrationFile>, target: string, versionRows: string[], options: { purge: boolean }): Promise<PreparedStamp> {
    const after = stampHeads(graph, target, options.purge ? [] : versionRows);
    return {
      before: versionRows,
      after,
      execute: async (context) => {
        const { names } = context;
        const statements = options.purge ? [`DELETE FROM ${versionTableSql(names)}`, ...versionUpdateSql(names, [], after)] : versionUpdateSql(names, versionRows, after);
        const startedAt = new Date();
        for (const revision of after.filter((id) => !versionRows.includes(id))) {
          statements.push(ledgerInsertSql(names, { revision, direction: 'stamp', checksum: graph.get(revision).checksum, operator: context.operator.name, host: context.operator.host, startedAt, durationMs: 0, outcome: 'stamped', runId: context.runId, auditOpId: context.auditOpId }));
        }
        await context.client.query('BEGIN');
        try {
          for (const sql of statements) await context.client.query(sql);
          await context.client.query('COMMIT');
        } catch (error) {
          await context.client.query('ROLLBACK').catch(() => {});
          throw error;
        }
      },
      dispose: async () => {},
    };
  }

  runSections(steps: SectionRun<MigrationFile>[], context: ExecutionContext) {
    const plan: Plan<MigrationFile> = {
      direction: 'downgrade',
      target: 'reconcile',
      steps: steps.map((step) => ({ direction: step.direction, migration: step.revision, headsBefore: [], headsAfter: [] })),
      headsBefore: [],
      headsAfter: [],
    };
    // The file's own transactional flag is what failed half-way; run it the same way, and the
    // version table stays where it is (headsBefore = headsAfter).
    return executor(context, { forceNonTransactional: true }).run(plan);
  }

  async offlineSql(_graph: RevisionGraph<MigrationFile>, plan: Plan<MigrationFile>, context: Omit<ExecutionContext, 'client'>, options: OfflineSqlOptions): Promise<string> {
    const { names } = context;
    const lines: string[] = [`-- mutx-ops ${plan.direction} ${plan.target} on ${context.target.redacted}`, `-- from ${plan.headsBefore.join(', ') || 'base'} to ${plan.headsAfter.join(', ') || 'base'}: ${plan.steps.length} step(s)`];
    if (!options.tablesExist) lines.push(...createTablesSql(names).map((sql) => `${sql};`));
    lines.push(`SET lock_timeout = '${Math.round(options.lockTimeoutSeconds * 1000)}ms';`);
    if (options.singleTransaction) lines.push('BEGIN;');
    const statementsOf = (sql: string) => splitSqlStatements(sql).map((statement) => (statement.sql.endsWith(';') ? statement.sql : `${statement.sql};`));
    for (const step of plan.steps) {
      const m = step.migration;
      lines.push('', `-- ${step.direction} ${m.revision}: ${m.message} (${m.file})${m.transactional ? '' : ' [non-transactional]'}`);
      if (m.transactional && !options.singleTransaction) lines.push('BEGIN;');
      lines.push(...statementsOf(step.direction === 'upgrade' ? m.upgrade.sql : m.downgrade.sql));
      if (step.direction === 'upgrade' && m.verify) lines.push(`-- verify (must return true):`, ...statementsOf(m.verify.sql));
      if (!m.transactional && !options.singleTransaction) lines.push('BEGIN;');
      for (const sql of versionUpdateSql(names, step.headsBefore, step.headsAfter)) lines.push(`${sql};`);
      lines.push(`${ledgerInsertSql(names, { revision: m.revision, direction: step.direction, checksum: m.checksum, operator: context.operator.name, host: context.operator.host, startedAt: new Date(0), durationMs: 0, outcome: step.direction === 'upgrade' ? 'applied' : 'reverted', runId: context.runId })};`);
      if (!options.singleTransaction) lines.push('COMMIT;');
    }
    if (options.singleTransaction) lines.push('COMMIT;');
    return `${lines.join('\n')}\n`;
  }

  sections(revision: MigrationFile) {
    return [
      { title: '-- +upgrade', text: revision.upgrade.sql.trim() },
      { title: '-- +downgrade', text: revision.downgrade.sql.trim() },
      ...(revision.verify ? [{ title: '-- +verify', text: revision.verify.sql.trim() }] : []),
    ];
  }

  async createRevision(graph: RevisionGraph<MigrationFile>, message: string, options: { autogenerate?: boolean }): Promise<CreatedRevision> {
    if (options.autogenerate) {
      const { MutxError } = await import('../../../errors');
      throw new MutxError('usage', '--autogenerate needs an Alembic project (SQLAlchemy models to compare with)', { hint: 'write the SQL of the new revision by hand' });
    }
    return createRevision(graph, this.settings.migrationsPath, message);
  }

  async createMerge(graph: RevisionGraph<MigrationFile>, message: string, revisions: string[]): Promise<CreatedRevision> {
    return createMerge(graph, this.settings.migrationsPath, message, revisions);
  }
}

function executor(context: ExecutionContext, extra: { forceNonTransactional?: boolean } = {}): PlanExecutor {
  return new PlanExecutor({
    client: context.client,
    target: context.target,
    operator: context.operator,
    names: context.names,
    lockTimeoutSeconds: context.lockTimeoutSeconds,
    lockRetries: context.lockRetries,
    deadline: context.deadline,
    singleTransaction: context.singleTransaction,
    signal: context.signal,
    runId: context.runId,
    auditOpId: context.auditOpId,
    connectTimeoutSeconds: context.settings.connect_timeout_seconds,
    onEvent: context.onEvent,
    ...extra,
  });
}
