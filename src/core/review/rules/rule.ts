import type { Node } from 'libpg-query';
import type { Direction } from '../../migrations/plan';
import type { RelName } from '../ast';
import type { Catalog } from '../catalog';
import type { Level, RuleId } from '../ruleIds';
import type { PlanState } from '../planState';

/** One statement as a rule sees it. */
export interface StatementContext {
  node: Node;
  sql: string;
  revision: string;
  direction: Direction;
  /** The statement runs inside a transaction: a transactional revision, or inside a DO block. */
  inTransaction: boolean;
  /** The revision itself is transactional (a DO block in a non-transactional file is not). */
  transactionalRevision: boolean;
  insideDo: boolean;
  catalog: Catalog;
  /** What earlier statements of the plan did (tables created, checks added and validated). */
  plan: PlanState;
}

/** What a rule reports about one statement; the engine adds level, size, file:line and waivers. */
export interface Hit {
  message: string;
  /** The table the hazard is on: its size raises the level; a table new in this plan drops the hit. */
  table?: RelName;
  /** Replaces the rule's effect text for this hit. */
  effect?: string;
  /** Replaces the rule's level for this hit (before size and configuration). */
  level?: Level;
}

/**
 * A rule: what it detects, the lock it takes and what that blocks, the safe alternative and why
 * (one page per rule in docs/rules/, generated from these fields), and its check.
 */
export interface Rule {
  id: RuleId;
  /** What it detects, as a short title. */
  title: string;
  level: Level;
  /** The lock the statement takes and what that blocks (empty for rules about data or transactions). */
  lock: string;
  /** What happens to the running system, appended to each finding's message. */
  effect: string;
  safe: string;
  why: string;
  /** Directions it applies to (default both). */
  directions?: Direction[];
  /**
   * Size-aware: on the live database a small table lowers the level one step, a large one raises
   * it one step; a table created earlier in the plan (or not existing yet) is no hazard at all.
   */
  sizeAware?: boolean;
  /** No hazard on a table this plan creates (without the size levels). */
  newTableSafe?: boolean;
  /** A statement that fires the rule and its safe form, for the docs and the corpus test. */
  example: { bad: string; good: string; goodHeader?: string };
  check(s: StatementContext): Hit[];
}
