import { isMutxError } from '../core/errors';
import type { FailureOffer, Step } from './schema';
import type { LoadedRunbook } from './loader';

/**
 * What a failed step left behind, and so which of its on_failure offers make sense:
 * - nothing applied (a lock timeout, bad configuration, the database unchanged) → retry / skip / abort,
 *   never a rollback of a healthy revision nor a reconcile of nothing;
 * - half-applied (a non-transactional migration stopped mid-way) → reconcile, not a rollback
 *   (a `downgrade -1` then would roll back the revision *before* the broken one);
 * - applied and broken (the revision moved, the app logs errors) → rollback, not reconcile.
 */
export type FailureState = 'nothing-applied' | 'half-applied' | 'applied';

export interface FailureFacts {
  error: unknown;
  rowsBefore?: string[];
  rowsAfter?: string[];
  halfApplied: number;
}

const NOTHING_HAPPENED_KINDS = new Set(['usage', 'config', 'lock', 'connection', 'runbook', 'revision', 'graph', 'migration-file', 'drift', 'timeout']);

export function classifyFailure(step: Step, facts: FailureFacts): FailureState {
  if (facts.halfApplied > 0) return 'half-applied';
  const key = (rows?: string[]) => (rows ? [...rows].sort().join(',') : undefined);
  if (step.type === 'migrate' || step.type === 'reconcile') {
    return key(facts.rowsBefore) !== undefined && key(facts.rowsBefore) === key(facts.rowsAfter) ? 'nothing-applied' : 'applied';
  }
  // A step that could not even start its work (no log source, a bad setting) says nothing about the release.
  if (isMutxError(facts.error) && ['usage', 'config'].includes(facts.error.kind)) return 'nothing-applied';
  return 'applied';
}

type SwitchKind = 'rollback' | 'reconcile' | 'other';

function switchKind(name: string, find: (name: string) => LoadedRunbook | undefined): SwitchKind {
  const runbook = find(name)?.runbook;
  if (!runbook) return 'other';
  if (runbook.steps.some((s) => s.type === 'reconcile')) return 'reconcile';
  if (runbook.steps.some((s) => (s.type === 'migrate' && s.action === 'downgrade') || s.type === 'restore')) return 'rollback';
  return 'other';
}

export function offersFor(offers: FailureOffer[], state: FailureState, find: (name: string) => LoadedRunbook | undefined): FailureOffer[] {
  const kept = offers.filter((offer) => {
    if (typeof offer !== 'object') return true;
    const kind = switchKind(offer.switch, find);
    if (state === 'nothing-applied') return kind === 'other';
    if (state === 'half-applied') return kind !== 'rollback';
    return kind !== 'reconcile';
  });
  if (kept.length === 0) return ['abort'];
  return kept.includes('abort') || kept.length === offers.length ? kept : [...kept, 'abort'];
}

export function describeFailureState(state: FailureState): string {
  switch (state) {
    case 'nothing-applied':
      return 'nothing was applied: the database is where the step found it';
    case 'half-applied':
      return 'a migration is left half-applied: reconcile it before anything else';
    case 'applied':
      return 'changes were applied';
  }
}

/** A failure no retry in this process can fix (a variable the running process cannot gain): retry is not offered. */
export function retryCannotPass(error: unknown): boolean {
  return isMutxError(error) && (error.details as { retryCannotPass?: unknown } | undefined)?.retryCannotPass === true;
}
