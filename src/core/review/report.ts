import path from 'node:path';
import { sizeText } from './format';
import type { Finding, ReviewReport, RevisionReview } from './types';

/** A report as text lines: the plan, each revision's SQL and findings, table sizes, the totals. */
export interface ReportTextOptions {
  /** Paths are shown relative to this folder. */
  root: string;
  /** Show each revision's SQL (default true). */
  sql?: boolean;
  /** Also show each finding's lock and safe alternative (default true). */
  details?: boolean;
}

const LEVEL_WORD = { error: 'ERROR', warning: 'WARN', info: 'info' } as const;

export function reportHeadline(report: ReviewReport): string {
  const where = report.connected ? `on the live database${report.serverVersion ? ` (PostgreSQL ${report.serverVersion})` : ''}` : 'offline: no table sizes';
  const plan = `${report.direction} ${report.target}: ${report.revisions.length} revision(s), ${report.from.join(', ') || 'base'} → ${report.to.join(', ') || 'base'}`;
  return `review of ${plan}, ${where}`;
}

export function reportTotals(report: ReviewReport): string {
  const { error, warning, info } = report.counts;
  return `${error} error(s), ${warning} warning(s), ${info} info${report.waived ? `, ${report.waived} waived` : ''}`;
}

export function findingLines(finding: Finding, root: string, details = true): string[] {
  const where = `${relative(root, finding.file)}:${finding.line}`;
  if (finding.waived) return [`  waived ${finding.rule} ${where}: ${finding.message} — allowed at line ${finding.waived.line}: ${finding.waived.reason}`];
  const lines = [`  ${LEVEL_WORD[finding.level]} ${finding.rule} ${where}: ${finding.message}`];
  if (details) {
    if (finding.lock) lines.push(`      lock: ${finding.lock}`);
    lines.push(`      safe: ${finding.safe}`);
  }
  return lines;
}

export function revisionLines(revision: RevisionReview, options: ReportTextOptions): string[] {
  const lines = [`${revision.direction} ${revision.revision}: ${revision.message} (${relative(options.root, revision.file)})${revision.transactional ? '' : ' [non-transactional]'}`];
  if (options.sql ?? true) {
    if (revision.statements.length === 0) lines.push('  (no SQL)');
    for (const statement of revision.statements) {
      statement.sql.split('\n').forEach((text, i) => lines.push(`  ${String(statement.line + i).padStart(5)} │ ${text}`));
    }
  }
  if (revision.findings.length === 0) lines.push('  no findings');
  for (const finding of revision.findings) lines.push(...findingLines(finding, options.root, options.details));
  return lines;
}

export function reportLines(report: ReviewReport, options: ReportTextOptions): string[] {
  const lines = [reportHeadline(report), ''];
  for (const revision of report.revisions) lines.push(...revisionLines(revision, options), '');
  if (report.tables.length) lines.push(`tables: ${report.tables.map(sizeText).join('; ')}`);
  lines.push(reportTotals(report));
  return lines;
}

function relative(root: string, file: string): string {
  const rel = path.relative(root, file);
  return rel && !rel.startsWith('..') ? rel : file;
}
