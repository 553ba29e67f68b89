import type { ProjectSettings } from '../../config';
import { parseTarget, type Target } from '../../connection';
import { MutxError } from '../../errors';
import type { MigrationEngine } from '../../migrations/engine';
import type { MigrationFile } from '../../migrations/engines/sql/file';
import type { RevisionGraph } from '../../migrations/graph';
import type { Operator } from '../../identity';
import type { Plan } from '../../migrations/plan';
import type { Parser } from '../parser';
import type { ReviewInput } from '../types';
import { alembicReviewInputs, splitAlembicScript, type AlembicOfflineStep } from './alembic';
import { sqlReviewInputs } from './sql';

export { alembicReviewInputs, splitAlembicScript, type AlembicOfflineStep } from './alembic';
export { sqlReviewInputs } from './sql';

export interface InputSource {
  engine: MigrationEngine;
  graph: RevisionGraph;
  settings: ProjectSettings;
  /** Where the plan would run; Alembic's offline mode renders for it (no connection is made). */
  target?: Target;
  operator?: Operator;
}

/** The review's input for a plan, from whichever engine the project uses. */
export async function reviewInputs(source: InputSource, plan: Plan, parser: Parser): Promise<ReviewInput[]> {
  if (source.engine.kind === 'sql') return sqlReviewInputs(plan as Plan<MigrationFile>, parser);
  return alembicPlanInputs(source, plan);
}

/**
 * Alembic revisions: the SQL Alembic renders for exactly this plan in offline mode (`--sql`),
 * cut per revision at its `-- Running upgrade A -> B` marker and matched to the plan's steps.
 */
async function alembicPlanInputs(source: InputSource, plan: Plan): Promise<ReviewInput[]> {
  if (plan.steps.length === 0) return [];
  const { settings } = source;
  const target = source.target ?? parseTarget({ url: 'postgresql://localhost/offline-review', sslMode: 'disable' });
  const operator = source.operator ?? { name: 'mutx-ops', host: 'localhost' };
  const script = await source.engine.offlineSql(
    source.graph,
    plan,
    { settings, target, operator, names: { schema: settings.version_schema, table: settings.version_table }, lockTimeoutSeconds: settings.lock_timeout_seconds, lockRetries: settings.lock_retries },
    { lockTimeoutSeconds: settings.lock_timeout_seconds, tablesExist: true },
  );
  const chunks = splitAlembicScript(script);
  const steps: AlembicOfflineStep[] = plan.steps.map((step) => {
    const id = step.migration.revision;
    const chunk = chunks.find((c) => c.direction === step.direction && (step.direction === 'upgrade' ? c.to.includes(id) : c.from.includes(id)));
    if (!chunk) {
      throw new MutxError('migration-failed', `Alembic's offline SQL for ${step.direction} ${plan.target} has no "-- Running ${step.direction}" section for ${id}`, {
        hint: 'check `mutx-ops upgrade --sql` for this plan; env.py must support offline mode (context.configure(url=…, literal_binds=True))',
      });
    }
    return { revision: step.migration, direction: step.direction, sql: chunk.sql };
  });
  return alembicReviewInputs(steps, settings.version_table);
}
