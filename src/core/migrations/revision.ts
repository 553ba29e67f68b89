import crypto from 'node:crypto';

/**
 * One revision as every part of mutx-ops above the engine seam sees it, whichever engine reads
 * it (our SQL files or Alembic's Python files): Alembic's model of ids, parents, branch labels
 * and dependencies, plus what mutx-ops adds (a checksum for drift, whether it runs in a transaction).
 */
export interface Revision {
  revision: string;
  /** The parents (Alembic's down_revision): applied before it, replaced by it in the version table. */
  revises: string[];
  /** Alembic's depends_on: applied before it (a version row it replaces, if present), though it stays a head of the graph. */
  dependsOn: string[];
  /** Alembic's branch_labels: `label@head` names the head of the branch. */
  branchLabels: string[];
  message: string;
  file: string;
  /** Every header the file declares, including ones mutx-ops does not interpret (e.g. created). */
  headers: Record<string, string>;
  /** 1-based line of each header (revision, revises, …), for file:line errors. */
  headerLines: Record<string, number>;
  /**
   * False when the revision runs (partly) outside a transaction: `-- transactional: false`, or an
   * Alembic `autocommit_block()`. Such a step is marked in the ledger before it starts, so a crash
   * mid-way is visible as half-applied.
   */
  transactional: boolean;
  /** sha256 of the normalised text drift is judged by. */
  checksum: string;
}

/** Line endings and trailing whitespace do not count as a change. */
export function normaliseText(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/[ \t]+$/gm, '')
    .replace(/^\n+|\n+$/g, '');
}

export function checksumText(text: string): string {
  return crypto.createHash('sha256').update(normaliseText(text)).digest('hex');
}

/** Words every command reads as a target, so a revision with such an id could never be named. */
export const RESERVED_IDS = new Set(['head', 'heads', 'base']);
