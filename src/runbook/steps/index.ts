import type { Step } from '../schema';
import { backupStep } from './backup';
import { catalogStep } from './catalog';
import { chainTestStep } from './chainTest';
import { checklistStep } from './checklist';
import { commandStep } from './command';
import type { StepContext, StepHandler, StepOutcome } from './context';
import { envCheckStep } from './envCheck';
import { httpCheckStep } from './httpCheck';
import { inspectStep } from './inspect';
import { logsStep } from './logs';
import { manualStep } from './manual';
import { migrateStep } from './migrate';
import { notifyStep } from './notify';
import { reconcileStep } from './reconcile';
import { rehearseStep } from './rehearse';
import { restoreStep } from './restore';
import { reviewStep } from './review';
import { selectTargetStep } from './selectTarget';
import { verifyStep } from './verify';

export { changesSomething, isDestructive, type StepContext, type StepOutcome } from './context';

/** One handler per step type (one file each); the engine only sees runStep/previewStep/recheckStep. */
const handlers: { [K in Step['type']]: StepHandler<K> } = {
  checklist: checklistStep,
  manual: manualStep,
  command: commandStep,
  backup: backupStep,
  restore: restoreStep,
  migrate: migrateStep,
  reconcile: reconcileStep,
  verify: verifyStep,
  logs: logsStep,
  'env-check': envCheckStep,
  'http-check': httpCheckStep,
  notify: notifyStep,
  inspect: inspectStep,
  'select-target': selectTargetStep,
  catalog: catalogStep,
  review: reviewStep,
  rehearse: rehearseStep,
  'chain-test': chainTestStep,
};

function handlerFor<T extends Step['type']>(step: Extract<Step, { type: T }>): StepHandler<T> {
  return handlers[step.type as T] as StepHandler<T>;
}

export function runStep(step: Step, c: StepContext): Promise<StepOutcome> {
  return handlerFor(step).run(step, c);
}

export async function previewStep(step: Step, c: StepContext): Promise<string[]> {
  return (await handlerFor(step).preview?.(step, c)) ?? [];
}

export async function recheckStep(step: Step, c: StepContext): Promise<StepOutcome | undefined> {
  return handlerFor(step).recheck?.(step, c);
}
