import { MutxError } from '../../core/errors';
import { planMigration } from '../../core/migrations/operations';
import type { Direction } from '../../core/migrations/plan';
import { readRehearsals, rehearsalStatus } from '../../core/rehearse/record';
import { currentRows, info, targetDescription, type StepContext, type StepHandler, type StepOf, type StepOutcome } from './context';
import { migrateTarget } from './migrate';

/**
 * A rehearsal of the plan on a throwaway copy of the target's schema (core/rehearse): before the
 * real upgrade on a protected environment, it stops the run with the findings when the plan (or,
 * with round_trip, its inverse) fails. Nothing is written to the target, so it needs no backup
 * and no confirmation. On an environment that is not protected it is skipped (protected_only).
 */
async function runRehearseStep(step: StepOf<'rehearse'>, c: StepContext): Promise<StepOutcome> {
  if (step.protected_only && !c.ctx.target.protected) return { skipped: 'not a protected environment: rehearsals run before protected upgrades only (protected_only: true)' };
  const target = migrateTarget(step, c);
  if (target === undefined) throw new MutxError('runbook', `${step.title}: no target revision (target "${step.target}" was not chosen)`, { hint: 'pick a revision in the select step' });
  return rehearseAndReport(c, step.action, target, step.round_trip, step.timeout_seconds);
}

/** A migrate step with `rehearse_first`: the same rehearsal (round trip included) just before the real run. */
export async function rehearseBeforeMigrate(c: StepContext, direction: Direction, target: string): Promise<void> {
  info(c, `rehearsing ${direction} ${target} on a copy of the target first (rehearse_first)`);
  const outcome = await rehearseAndReport(c, direction, target, true, 600);
  if (outcome.summary) info(c, outcome.summary);
}

async function rehearseAndReport(c: StepContext, direction: Direction, target: string, roundTrip: boolean, timeoutSeconds: number): Promise<StepOutcome> {
  const step = { action: direction };
  const { rehearse } = await import('../../core/rehearse/rehearse');
  const report = await rehearse({ ...c.ctx, signal: c.signal }, { direction, target, roundTrip, timeoutSeconds, onProgress: (line) => info(c, line) });
  if (report.plan.length === 0) return { summary: `nothing to rehearse: ${step.action} ${target} runs no revision` };
  for (const s of report.steps) {
    if (s.outcome === 'not-run') continue;
    const lock = s.locks[0] ? `, ${s.locks[0].mode} on ${s.locks[0].relation}` : '';
    info(c, `${s.outcome === 'ok' ? '✔' : '✘'} [${s.phase}] ${s.direction} ${s.revision} ${s.outcome} (${s.durationMs ?? 0} ms${lock})${s.where ? ` at ${s.where}` : ''}${s.error && s.outcome !== 'ok' ? `: ${s.error}` : ''}`);
  }
  if (!report.ok) {
    throw new MutxError('migration-failed', `the rehearsal on a copy failed: ${report.error ?? 'see the output'}`, { hint: 'the target was not touched; fix the revision, then retry this step (or abort the deploy)' });
  }
  const planned = report.steps.filter((s) => s.phase === 'plan');
  const ms = planned.reduce((sum, s) => sum + (s.durationMs ?? 0), 0);
  return { summary: `rehearsed ${planned.length} revision(s) ok on a copy${report.roundTrip ? (report.roundTrip.skipped ? ' (round trip skipped)' : ', round trip ok') : ''}; expected time of the real ${step.action}: about ${(ms / 1000).toFixed(1)} s on an idle server` };
}

/**
 * What the record of rehearsals says about each revision of a plan, for the plans of rollbacks:
 * "downgrade rehearsed ok 2 h ago" / "downgrade FAILS: … at file:line" / "never rehearsed".
 */
export async function rehearsalKnowledge(c: StepContext, direction: Direction, target: string): Promise<string[]> {
  try {
    const plan = await planMigration(c.ctx.settings, direction, target, await currentRows(c));
    if (plan.steps.length === 0) return [];
    const records = readRehearsals(c.ctx.settings);
    const lines = plan.steps.map((s) => `  ${s.migration.revision}: ${rehearsalStatus(records, s.migration, direction).text}`);
    const failing = plan.steps.filter((s) => rehearsalStatus(records, s.migration, direction).state === 'fails');
    return [`rehearsals of this ${direction}:`, ...lines, ...(failing.length ? [`the ${direction} of ${failing.map((s) => s.migration.revision).join(', ')} is KNOWN TO FAIL: restoring the verified backup taken at the target revision is the safer way back`] : [])];
  } catch {
    return [];
  }
}

export const rehearseStep: StepHandler<'rehearse'> = {
  run: runRehearseStep,
  preview: async (step, c) => {
    const lines = [`mutx-ops rehearse ${step.action} ${step.target}${step.round_trip ? ' --round-trip' : ''} --timeout ${step.timeout_seconds} ${targetDescription(c)} (on a throwaway copy; the target is only read)`];
    if (step.protected_only && !c.ctx.target.protected) lines.push('skipped here: the target is not a protected environment');
    const target = migrateTarget(step, c);
    if (target) lines.push(...(await rehearsalKnowledge(c, step.action, target)));
    return lines;
  },
};
