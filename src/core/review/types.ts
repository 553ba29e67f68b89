import type { Direction } from '../migrations/plan';
import type { Level, RuleId } from './ruleIds';

export type { Level, RuleId };

/** One statement as the engine will send it, with the 1-based line it starts on in `file`. */
export interface ReviewStatement {
  sql: string;
  line: number;
}

/** A waiver written in the revision's file: `-- mutx-ops: allow RULE -- reason` (SQL) or `# mutx-ops: allow …` (Python). */
export interface Waiver {
  rules: RuleId[];
  reason?: string;
  line: number;
  /** Lines the waiver covers: a statement's span, or the whole file (a waiver in the header). */
  scope: { from: number; to: number } | 'file';
}

/**
 * What the review reads, engine-neutral: one entry per step of a plan. The SQL engine builds it
 * from its files' sections; the Alembic engine from the offline SQL of each revision.
 */
export interface ReviewInput {
  revision: string;
  message: string;
  file: string;
  direction: Direction;
  /** False for `-- transactional: false` (or Alembic's autocommit_block): statements run one by one. */
  transactional: boolean;
  statements: ReviewStatement[];
  waivers: Waiver[];
  /** Where a finding that has no line of its own points (the section marker, Alembic's def upgrade). */
  line: number;
}

/** Size of a table as the live database reports it (pg_class.reltuples, pg_total_relation_size). */
export interface TableSize {
  /** Schema-qualified, as the database resolved the name. */
  name: string;
  /** Planner estimate; undefined when the table was never analysed (reltuples = -1). */
  rows?: number;
  bytes: number;
}

export interface Finding {
  rule: RuleId;
  level: Level;
  revision: string;
  direction: Direction;
  file: string;
  line: number;
  /** One line saying what this statement does wrong, with the table and its size when known. */
  message: string;
  /** The lock the statement takes and what that blocks. */
  lock?: string;
  /** The safe way to do the same. */
  safe: string;
  statement: string;
  table?: string;
  size?: TableSize;
  /** Set when a waiver in the file allows it: it does not count towards the exit code. */
  waived?: { reason: string; line: number };
}

export interface RevisionReview {
  revision: string;
  message: string;
  file: string;
  direction: Direction;
  transactional: boolean;
  statements: ReviewStatement[];
  findings: Finding[];
}

export interface ReviewReport {
  direction: Direction;
  target: string;
  /** Version rows the plan starts from (base when offline). */
  from: string[];
  to: string[];
  revisions: RevisionReview[];
  /** Findings not waived, by level. */
  counts: Record<Level, number>;
  waived: number;
  /** The live database was read for sizes (false: offline, sizes unknown). */
  connected: boolean;
  serverVersion?: string;
  /** Every existing table a finding names, largest first. */
  tables: TableSize[];
}
