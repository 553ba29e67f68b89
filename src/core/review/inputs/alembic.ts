import fs from 'node:fs';
import { splitSqlStatements } from '../../migrations/engines/sql/sqlSplit';
import type { Direction } from '../../migrations/plan';
import type { Revision } from '../../migrations/revision';
import type { ReviewInput, Waiver } from '../types';
import { parseWaiver } from '../waivers';

/**
 * The review's input for Alembic revisions: the offline SQL Alembic renders for exactly the
 * plan (`alembic upgrade A:B --sql`), cut per revision at its `-- Running upgrade A -> B` marker,
 * without Alembic's own bookkeeping (BEGIN/COMMIT around the script or an autocommit block, the
 * version table). Findings point at the revision's `def upgrade()` / `def downgrade()`; waivers
 * are `# mutx-ops: allow RULE -- reason` comments in the .py file (in the function: that
 * direction; at module level: both).
 */
export interface AlembicOfflineChunk {
  direction: Direction;
  from: string[];
  to: string[];
  sql: string;
}

const MARKER = /^-- Running (upgrade|downgrade) (.*?) -> (.*?)\s*$/;

/** Cuts Alembic's offline script into one chunk per revision step. */
export function splitAlembicScript(script: string): AlembicOfflineChunk[] {
  const chunks: AlembicOfflineChunk[] = [];
  let current: (AlembicOfflineChunk & { lines: string[] }) | undefined;
  const ids = (text: string) => text.split(',').map((id) => id.trim()).filter(Boolean);
  for (const line of script.split(/\r?\n/)) {
    const marker = MARKER.exec(line);
    if (marker) {
      if (current) chunks.push(finishChunk(current));
      current = { direction: marker[1] as Direction, from: ids(marker[2]!), to: ids(marker[3]!), sql: '', lines: [] };
      continue;
    }
    current?.lines.push(line);
  }
  if (current) chunks.push(finishChunk(current));
  return chunks;
}

function finishChunk(chunk: AlembicOfflineChunk & { lines: string[] }): AlembicOfflineChunk {
  return { direction: chunk.direction, from: chunk.from, to: chunk.to, sql: chunk.lines.join('\n') };
}

/** One step of an Alembic plan with the offline SQL of exactly that step. */
export interface AlembicOfflineStep {
  revision: Revision;
  direction: Direction;
  sql: string;
}

export function alembicReviewInputs(steps: AlembicOfflineStep[], versionTable: string): ReviewInput[] {
  const versionRow = new RegExp(`\\b${versionTable.replace(/[^A-Za-z0-9_]/g, '')}\\b`, 'i');
  const transactionWord = /^(?:BEGIN|COMMIT)\s*;?$/i;
  return steps.map((step) => {
    const source = pythonSource(step.revision.file);
    const line = defLine(source, step.direction);
    const all = splitSqlStatements(step.sql).filter((statement) => !versionRow.test(statement.sql));
    // Alembic's own BEGIN/COMMIT: around an autocommit block (a non-transactional revision), and
    // the script's last COMMIT; one the revision itself executes in the middle stays reviewed.
    const statements = all
      .filter((statement, i) => !transactionWord.test(statement.sql.trim()) || (step.revision.transactional && i > 0 && i < all.length - 1))
      .map((statement) => ({ sql: statement.sql, line }));
    return {
      revision: step.revision.revision,
      message: step.revision.message,
      file: step.revision.file,
      direction: step.direction,
      transactional: step.revision.transactional,
      statements,
      waivers: pythonWaivers(source, step.direction, step.revision.file),
      line,
    };
  });
}

function pythonSource(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split(/\r?\n/);
  } catch {
    return [];
  }
}

function defLine(lines: string[], direction: Direction): number {
  const at = lines.findIndex((line) => new RegExp(`^def ${direction}\\s*\\(`).test(line));
  return at === -1 ? 1 : at + 1;
}

/** `# mutx-ops: …` comments, at module level (both directions) or inside `def <direction>()`. */
export function pythonWaivers(lines: string[], direction: Direction, file: string): Waiver[] {
  const waivers: Waiver[] = [];
  let inFunction: string | undefined;
  lines.forEach((text, index) => {
    const def = /^def (\w+)\s*\(/.exec(text);
    if (def) inFunction = def[1];
    else if (/^\S/.test(text) && !text.startsWith('#')) inFunction = undefined;
    const hash = text.indexOf('#');
    if (hash === -1 || !/^#\s*mutx-ops\s*:/i.test(text.slice(hash))) return;
    if (inFunction !== undefined && inFunction !== direction) return;
    const waiver = parseWaiver({ text: text.slice(hash).trim(), line: index + 1 }, file, 'file');
    if (waiver) waivers.push(waiver);
  });
  return waivers;
}
