import type { ProjectSettings } from '../../config';
import type { MigrationEngine } from '../engine';
import { AlembicEngine } from './alembic';
import { SqlEngine } from './sql';

/**
 * The engine a project's settings name (`engine:` in mutx-ops.yaml; an alembic.ini at the root
 * means alembic). Each engine's methods receive back the graph it read itself, so the cast to the
 * common interface is sound.
 */
export function engineFor(settings: ProjectSettings): MigrationEngine {
  return (settings.engine === 'alembic' ? new AlembicEngine(settings) : new SqlEngine(settings)) as unknown as MigrationEngine;
}
