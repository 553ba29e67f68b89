import fs from 'node:fs';
import type { MigrationFile } from '../../migrations/engines/sql/file';
import { splitSqlStatements } from '../../migrations/engines/sql/sqlSplit';
import type { Plan, PlanStep } from '../../migrations/plan';
import type { Parser } from '../parser';
import type { ReviewInput } from '../types';
import type { CommentLine } from '../waivers';
import { fileWaivers, statementWaivers } from './waiverScopes';

/** The review's input from a plan of the SQL-file engine: each step's section, split as mutx-ops will run it. */
export function sqlReviewInputs(plan: Plan<MigrationFile>, parser: Parser): ReviewInput[] {
  return plan.steps.map((step) => sqlStepInput(step, parser));
}

export function sqlStepInput(step: PlanStep<MigrationFile>, parser: Parser): ReviewInput {
  const file = step.migration;
  const section = step.direction === 'upgrade' ? file.upgrade : file.downgrade;
  const statements = splitSqlStatements(section.sql).map((statement) => ({ sql: statement.sql, line: section.line + statement.line - 1 }));
  const comments = sectionComments(section.sql, section.line, parser);
  return {
    revision: file.revision,
    message: file.message,
    file: file.file,
    direction: step.direction,
    transactional: file.transactional,
    statements,
    waivers: [...fileWaivers(headerComments(file), file.file), ...statementWaivers(comments, statements, file.file)],
    line: section.line - 1,
  };
}

/** Comments of a section, found by PostgreSQL's scanner (a `--` inside a string is not one). */
function sectionComments(sql: string, firstLine: number, parser: Parser): CommentLine[] {
  // Only comments that are directives matter: without the word, there is nothing to scan for.
  if (!/mutx-ops\s*:/i.test(sql)) return [];
  const found = parser.comments(sql);
  if (!found) {
    // The scanner gave up (an unterminated quote, which the parser reports as a finding): read lines.
    return sql.split('\n').flatMap((text, i) => {
      const at = text.indexOf('--');
      return at === -1 ? [] : [{ text: text.slice(at), line: firstLine + i }];
    });
  }
  const lineStarts = [0];
  for (let i = 0; i < sql.length; i++) if (sql.charCodeAt(i) === 10) lineStarts.push(i + 1);
  const lineOf = (offset: number) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return firstLine + lo;
  };
  return found.map((comment) => ({ text: comment.text, line: lineOf(comment.start) }));
}

/** The header area (before the first section marker) holds only comments: waivers there cover the whole file. */
function headerComments(file: MigrationFile): CommentLine[] {
  const firstSection = Math.min(file.upgrade.line, file.downgrade.line, file.verify?.line ?? Infinity) - 1;
  let text: string;
  try {
    text = fs.readFileSync(file.file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split(/\r?\n/)
    .slice(0, firstSection - 1)
    .flatMap((line, i) => (line.trim().startsWith('--') ? [{ text: line.trim(), line: i + 1 }] : []));
}
