import type { ProjectSettings } from '../../config';
import { MutxError } from '../../errors';
import type { EngineKind } from '../../migrations/engine';
import type { MigrationFile } from '../../migrations/engines/sql/file';
import type { Plan } from '../../migrations/plan';
import type { Parser } from '../parser';
import type { ReviewInput } from '../types';
import { sqlReviewInputs } from './sql';

export { alembicReviewInputs, splitAlembicScript, type AlembicOfflineStep } from './alembic';
export { sqlReviewInputs } from './sql';

/** The review's input for a plan, from whichever engine the project uses. */
export async function reviewInputs(kind: EngineKind, plan: Plan, parser: Parser, _settings: ProjectSettings): Promise<ReviewInput[]> {
  if (kind === 'sql') return sqlReviewInputs(plan as Plan<MigrationFile>, parser);
  return alembicOfflineInputsTodo(plan);
}

/**
 * TODO(alembic engine): render the plan's offline SQL with the Alembic engine (its per-revision
 * `--sql` output), then `alembicReviewInputs(steps, settings.version_table)`. The splitting and
 * waiver mapping are written and tested (inputs/alembic.ts); the engine that renders the SQL is
 * not on main yet.
 */
function alembicOfflineInputsTodo(plan: Plan): never {
  throw new MutxError('usage', `review of Alembic revisions is not finished (${plan.steps.length} step(s) planned)`, {
    hint: 'it needs the Alembic engine’s offline SQL per revision; review the SQL with `mutx-ops upgrade head --sql` meanwhile',
  });
}
