import type { Target } from '../core/connection';
import { oneLine } from '../core/errors';
import type { PlanConfirmation, PlanRequest, PlanStep } from './events';
import type { Step } from './schema';
import { changesSomething, isDestructive, previewStep, type StepContext } from './steps/index';

/**
 * A run's plan: every step with what it will concretely do, shown before anything runs, and
 * confirmed once before the first step that changes anything (nothing changes unseen).
 */

export function confirmationMode(target: Target): PlanConfirmation {
  if (target.protected) return 'typed';
  return target.sandbox ? 'enter' : 'yes';
}

/** Where the run acts, in one line: environment, redacted URL, protected or not. */
export function planTarget(target: Target): string {
  const where = target.environment ? `${target.environment}${target.protected ? ' (PROTECTED)' : ''}` : target.sandbox ? 'sandbox (practice)' : 'no environment (DATABASE_URL / --database-url)';
  return `${where} · ${target.redacted} · database ${target.database}`;
}

export function planFlag(target: Target): string {
  return target.protected ? `--confirm ${target.database}` : '--yes';
}

/** A review step's plan line: its full review is shown when the step runs (loading it here would parse every revision twice). */
function cheapPreview(step: Step): string[] | undefined {
  if (step.type === 'review') return [`shows what ${step.action} ${step.target} runs and loses, before anything changes`];
  if (step.type === 'checklist') return step.items.map((item) => `[ ] ${item.label}`);
  return undefined;
}

export async function buildPlan(steps: Step[], statuses: { status: PlanStep['status'] }[], contextFor: (index: number) => StepContext, from = 0): Promise<PlanStep[]> {
  const plan: PlanStep[] = [];
  for (let index = from; index < steps.length; index++) {
    const step = steps[index]!;
    const c = contextFor(index);
    const status = statuses[index]?.status ?? 'pending';
    const finished = status === 'done' || status === 'skipped';
    const lines = finished ? [] : cheapPreview(step) ?? (await previewStep(step, c).catch((error: unknown) => [`(preview unavailable: ${oneLine(error)})`]));
    plan.push({ id: step.id, title: step.title, type: step.type, changes: changesSomething(step, c.environment), destructive: isDestructive(step), status, lines });
  }
  return plan;
}

export function planRequest(target: Target, steps: PlanStep[], firstChange: Step): PlanRequest {
  return { kind: 'plan', mode: confirmationMode(target), expected: target.database, target: planTarget(target), firstChange: firstChange.title, steps, flag: planFlag(target) };
}

export { planLines } from './planText';
