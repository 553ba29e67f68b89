import type { ProjectSettings } from '../../config';
import type { MigrationEngine } from '../engine';
import { SqlEngine } from './sql';

/** The engine a project's settings name (`engine:`), detected from the files when they do not. */
export function engineFor(settings: ProjectSettings): MigrationEngine {
  return new SqlEngine(settings) as unknown as MigrationEngine;
}
