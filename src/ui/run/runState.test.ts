import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../runbook/events';
import { DEPLOY_EVENTS, FAILED_EVENTS, RUN_STARTED } from './fixtures';
import { applyRunEvents, focusStep, initialRunState, isStepRunning, MAX_OUTPUT_LINES } from './runState';

const fold = (events: RunEvent[]) => applyRunEvents(initialRunState('deploy'), events);

describe('applyRunEvents', () => {
  it('tracks each step: skipped with reason, checklist ticks one by one, running with progress and preview', () => {
    const state = fold(DEPLOY_EVENTS);
    expect(state.steps.map((s) => s.status)).toEqual(['skipped', 'done', 'running', 'pending', 'pending', 'pending']);
    expect(state.steps[0]!.skipReason).toMatch(/no webhook/);
    expect(state.steps[1]!.checklist).toEqual([
      { itemId: 'reviewed', label: 'Migration changes reviewed', ticked: true },
      { itemId: 'staging', label: 'Tested in staging', ticked: true },
    ]);
    expect(state.steps[2]!.preview[0]).toMatch(/^pg_dump --format=custom/);
    expect(state.steps[2]!.progress).toMatchObject({ kind: 'backup', bytes: 12_900_000 });
    expect(focusStep(state)?.id).toBe('backup');
    expect(isStepRunning(state)).toBe(true);
  });

  it('a failure keeps its offers and the open question', () => {
    const state = fold(FAILED_EVENTS);
    const upgrade = state.steps.find((s) => s.id === 'upgrade')!;
    expect(upgrade.status).toBe('failed');
    expect(upgrade.offers).toContainEqual({ switch: 'emergency-rollback' });
    expect(state.pending?.request.kind).toBe('failure');
  });

  it('batches of the same events give the same state as one event at a time', () => {
    const oneByOne = FAILED_EVENTS.reduce((state, event) => applyRunEvents(state, [event]), initialRunState('deploy'));
    const batched = fold(FAILED_EVENTS);
    expect({ ...batched, steps: batched.steps.map((s) => ({ ...s, startedAt: 0 })) }).toEqual({ ...oneByOne, steps: oneByOne.steps.map((s) => ({ ...s, startedAt: 0 })) });
  });

  it('keeps a bounded window of output however much arrives', () => {
    const lines: RunEvent[] = Array.from({ length: 20_000 }, (_, i) => ({ type: 'output', stepId: 'backup', line: `pg_dump: dumping table t${i}`, stream: 'stderr' }));
    const state = fold([RUN_STARTED, ...lines]);
    expect(state.output.length).toBe(MAX_OUTPUT_LINES);
    expect(state.outputTotal).toBe(20_000);
    expect(state.output.at(-1)!.line).toBe('pg_dump: dumping table t19999');
  });

  it('a logs watch question leaves its step running; run-finished closes what was open', () => {
    const state = fold([
      RUN_STARTED,
      { type: 'step-started', stepId: 'watch-logs', index: 5, total: 6, title: 'Monitor', stepType: 'logs', preview: [] },
      { type: 'needs-input', stepId: 'watch-logs', request: { kind: 'logs-watch', prompt: 'enter when satisfied' } },
    ]);
    expect(state.steps[5]!.status).toBe('running');
    const done = applyRunEvents(state, [{ type: 'run-finished', runId: 'r', outcome: 'aborted', message: 'cancelled by the operator' }]);
    expect(done.steps[5]!.status).toBe('failed');
    expect(done.finished?.outcome).toBe('aborted');
    expect(isStepRunning(done)).toBe(false);
  });

  it('a resumed run shows the steps done before the interruption', () => {
    const state = applyRunEvents(initialRunState('deploy'), [{ ...RUN_STARTED, resumed: true } as RunEvent], [
      { id: 'announce', status: 'skipped', skipReason: 'no webhook' },
      { id: 'pre-checklist', status: 'done' },
      { id: 'backup', status: 'running' },
    ]);
    expect(state.steps.slice(0, 3).map((s) => s.status)).toEqual(['skipped', 'done', 'pending']);
    expect(state.resumed).toBe(true);
  });
});
