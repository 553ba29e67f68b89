import { latestVerifiedBackup, listBackups } from '../../core/backup';
import { MutxError } from '../../core/errors';
import { reportHeadline, reportTotals, revisionLines } from '../../core/review/report';
import { sizeText } from '../../core/review/format';
import type { ReviewReport } from '../../core/review/types';
import type { ReviewLine, ReviewRequest } from '../events';
import type { ReviewSpec } from '../schema';
import { currentRows, info, type StepContext, type StepHandler, type StepOf, type StepOutcome } from './context';
import { isRelative, resolveSeveralHeads, severalHeadsChoices } from './severalHeads';
import { migrateTarget } from './migrate';

/**
 * A migration review inside a run: the plan of `action target` from where the database is now,
 * each revision's SQL, the findings and table sizes. The operator answers once it was shown; an
 * error-level finding on a protected environment needs the database name typed and a reason,
 * which go into the audit trail. Used as its own step (rollbacks: what the downgrade loses, next
 * to the restore alternative) and by a checklist item with `review:` (deploy).
 */
async function reviewFor(spec: ReviewSpec, c: StepContext): Promise<ReviewReport | undefined> {
  const target = migrateTarget(spec, c);
  if (target === undefined) return undefined;
  const { reviewPlan } = await import('../../core/review/review');
  return reviewPlan(c.ctx, spec.action, target);
}

function requestLines(report: ReviewReport, c: StepContext): ReviewLine[] {
  const lines: ReviewLine[] = [];
  for (const revision of report.revisions) {
    revisionLines(revision, { root: c.ctx.settings.root }).forEach((text, i) => {
      const trimmed = text.trimStart();
      const style: ReviewLine['style'] = i === 0 ? 'heading' : /^\d+ │/.test(trimmed) ? 'sql' : trimmed.startsWith('ERROR') ? 'error' : trimmed.startsWith('WARN') ? 'warning' : trimmed.startsWith('info') ? 'info' : trimmed.startsWith('waived') ? 'waived' : 'detail';
      lines.push({ text, style });
    });
  }
  if (report.tables.length) lines.push({ text: `tables: ${report.tables.map(sizeText).join('; ')}`, style: 'detail' });
  const restore = restoreAlternative(report, c);
  if (restore) lines.push({ text: restore, style: 'heading' });
  return lines;
}

/** For a downgrade that loses data: the backup that would bring the database back instead. */
function restoreAlternative(report: ReviewReport, c: StepContext): string | undefined {
  if (report.direction !== 'downgrade' || report.revisions.length === 0) return undefined;
  const loses = report.revisions.some((r) => r.findings.some((f) => f.rule.startsWith('data/downgrade-')));
  const backup = listBackups(c.ctx.settings, { database: c.ctx.target.database }).find((b) => b.verified?.ok && b.revisions.join(',') === report.to.join(',')) ?? latestVerifiedBackup(c.ctx.settings, c.ctx.target, Number.MAX_SAFE_INTEGER);
  const what = loses ? 'this downgrade loses the data named above' : 'this downgrade keeps the data';
  if (!backup) return `restore instead? ${what}; no verified backup of ${c.ctx.target.database} exists to restore`;
  const minutes = Math.round((Date.now() - Date.parse(backup.createdAt)) / 60_000);
  return `restore instead? ${what}; or restore ${backup.file} (at ${backup.revisions.join(', ') || 'base'}, ${minutes} min old): everything written since is lost there`;
}

/** Shows the review and waits for the operator's answer; returns the step summary. */
export async function presentReview(spec: ReviewSpec, c: StepContext, title: string): Promise<StepOutcome> {
  // A relative rollback from several heads: the operator chooses which one first (kept for the downgrade step).
  if (spec.action === 'downgrade') await resolveSeveralHeads(c, spec.target);
  const report = await reviewFor(spec, c);
  if (!report) {
    if (spec.target === 'selected' && c.state.vars.selectedBackup) return { skipped: 'a backup was selected: nothing is migrated, so there is nothing to review' };
    throw new MutxError('runbook', `${title}: no target revision (target "${spec.target}" was not chosen)`, { hint: 'pick a revision in the select step, or pass --target REV' });
  }
  info(c, reportHeadline(report));
  if (report.revisions.length === 0) return { summary: `nothing to review: ${report.direction} ${report.target} changes nothing` };
  for (const finding of report.revisions.flatMap((r) => r.findings)) {
    info(c, `${finding.waived ? 'waived' : finding.level.toUpperCase()} ${finding.rule} ${finding.revision}: ${finding.message}`);
  }
  info(c, reportTotals(report));
  const errors = report.revisions.flatMap((r) => r.findings).filter((f) => !f.waived && f.level === 'error');
  const database = c.ctx.target.database;
  const request: ReviewRequest = {
    kind: 'review',
    title,
    headline: reportHeadline(report),
    lines: requestLines(report, c),
    counts: { ...report.counts, waived: report.waived },
    acknowledge: c.ctx.target.protected && errors.length > 0 ? { expected: database, prompt: `type ${database} and why it is safe to go ahead` } : undefined,
  };
  const response = await c.ask(request);
  if (response.kind !== 'review' || !response.seen) {
    throw new MutxError('runbook', `${title}: the review was not acknowledged`, { hint: 'read it and confirm, or change the migrations and retry' });
  }
  const audit = (action: string, details: Record<string, unknown>) =>
    c.ctx.audit.append({ action, phase: 'event', target: c.ctx.target.redacted, run_id: c.state.id, drill: c.state.drill, details: { step: c.stepState.id, direction: report.direction, target: report.target, ...details } });
  if (request.acknowledge) {
    const reason = response.reason?.trim();
    if (!reason || response.typed !== database) {
      throw new MutxError('runbook', `${title}: ${errors.length} error-level finding(s) on protected ${c.ctx.target.environment ?? database} need the database name typed and a reason`, { hint: 'retry and type both; or fix the migrations' });
    }
    audit('review.acknowledged', { reason, findings: errors.map((f) => ({ rule: f.rule, revision: f.revision, line: f.line, message: f.message })) });
    return { summary: `reviewed ${report.revisions.length} revision(s): ${reportTotals(report)}; ${errors.length} error(s) acknowledged: ${reason}` };
  }
  audit('review.shown', { counts: report.counts, waived: report.waived });
  return { summary: `reviewed ${report.revisions.length} revision(s): ${reportTotals(report)}` };
}

/** The review's short form for a plan shown before the run: the headline, what it finds, the restore alternative. */
export async function reviewPreview(spec: ReviewSpec, c: StepContext): Promise<string[]> {
  if (spec.action === 'downgrade' && isRelative(spec.target) && !c.state.vars.severalHeadsTarget) {
    const rows = await currentRows(c);
    if (rows.length > 1) return severalHeadsChoices(c, rows).lines;
  }
  const report = await reviewFor(spec, c);
  if (!report) return [`review of ${spec.action} ${spec.target} (target chosen earlier in the run)`];
  const findings = report.revisions.flatMap((r) => r.findings.filter((f) => !f.waived && f.level !== 'info').map((f) => `${f.level === 'error' ? 'ERROR' : 'WARN'} ${f.revision}: ${f.message}`));
  const restore = restoreAlternative(report, c);
  return [reportHeadline(report), ...findings.slice(0, 6), ...(findings.length > 6 ? [`… and ${findings.length - 6} more`] : []), `${reportTotals(report)}`, ...(restore ? [restore] : [])];
}

export const reviewStep: StepHandler<'review'> = {
  run: (step: StepOf<'review'>, c) => presentReview(step, c, step.title),
  preview: (step, c) => reviewPreview(step, c),
};
