import { leadingTrivia } from '../engine';
import type { ReviewStatement, Waiver } from '../types';
import { parseWaiver, type CommentLine } from '../waivers';

/** The lines a statement spans, from its first token to its last character. */
export function statementSpan(statement: ReviewStatement): { from: number; to: number } {
  const count = (to: number) => {
    let n = 0;
    for (let i = 0; i < to; i++) if (statement.sql.charCodeAt(i) === 10) n++;
    return n;
  };
  return { from: statement.line + count(leadingTrivia(statement.sql)), to: statement.line + count(statement.sql.length) };
}

/**
 * A waiver comment covers the statement it stands in or after (`…; -- mutx-ops: allow …` on the
 * statement's last line), else the next statement, else the one before it.
 */
export function statementWaivers(comments: CommentLine[], statements: ReviewStatement[], file: string): Waiver[] {
  const spans = statements.map(statementSpan);
  const waivers: Waiver[] = [];
  for (const comment of comments) {
    const inside = spans.find((span) => comment.line >= span.from && comment.line <= span.to);
    const next = spans.find((span) => span.from > comment.line);
    const previous = [...spans].reverse().find((span) => span.to < comment.line);
    const scope = inside ?? next ?? previous ?? { from: comment.line, to: comment.line };
    const waiver = parseWaiver(comment, file, scope);
    if (waiver) waivers.push(waiver);
  }
  return waivers;
}

export function fileWaivers(comments: CommentLine[], file: string): Waiver[] {
  return comments.flatMap((comment) => parseWaiver(comment, file, 'file') ?? []);
}
