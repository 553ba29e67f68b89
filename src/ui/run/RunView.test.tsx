import React from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup } from 'ink-testing-library';
import type { InputRequest, InputResponse, RunEvent } from '../../runbook/events';
import { frame, KEY, press, renderUi, type, waitForFrame } from '../testing/harness';
import type { TargetIdentity } from '../services';
import { DEPLOY_EVENTS, FAILED_EVENTS, MIGRATION_EVENTS, RUN_STARTED } from './fixtures';
import { RunView } from './RunView';
import { applyRunEvents, initialRunState } from './runState';
import type { SessionSnapshot } from './session';

const STAGING: TargetIdentity = { environment: 'staging', protected: false, redacted: 'postgresql://app:***@db:5432/mutx', host: 'db', port: 5432, database: 'mutx' };
const PRODUCTION: TargetIdentity = { ...STAGING, environment: 'production', protected: true };

function snapshotOf(events: RunEvent[], request?: InputRequest, stepId = 'upgrade'): SessionSnapshot {
  return { state: applyRunEvents(initialRunState('deploy'), events), prompt: request ? { id: 1, stepId, request } : undefined, settled: false, cancelling: false };
}

function show(snapshot: SessionSnapshot, identity = STAGING, size = { columns: 80, rows: 24 }) {
  const answers: InputResponse[] = [];
  const ui = renderUi(<RunView snapshot={snapshot} identity={identity} onAnswer={(_id, response) => answers.push(response)} />, size);
  return { ui, answers };
}

afterEach(() => cleanup());

describe('RunView (recorded events)', () => {
  it('lists every step with its state, the current step, what it does, and backup progress', async () => {
    const { ui } = show(snapshotOf(DEPLOY_EVENTS));
    const f = await waitForFrame(ui, 'Step 3/6');
    expect(f).toContain('⏭ 1. Tell the channel — skipped: no webhook configured');
    expect(f).toContain('✔ 2. Pre-migration checklist — done in 4.2 s: 2 item(s) confirmed');
    expect(f).toMatch(/› . 3\. Back up the database — running/);
    expect(f).toContain('· 4. Run the migrations — pending');
    expect(f).toContain('pg_dump --format=custom on postgresql://app:***@db:5432/mutx (staging)');
    expect(f).toContain('tables 3/12 · 12 MB · 4.1 MB/s · ETA 8.0 s');
    expect(f.split('\n').length).toBeLessThan(24);
  });

  it('shows migration i/N with the revision and elapsed time', async () => {
    const { ui } = show(snapshotOf(MIGRATION_EVENTS));
    const f = await waitForFrame(ui, 'migration 1/3');
    expect(f).toContain('migration 1/3 · upgrade 5570bd6d8f6c · 2.1 s');
    expect(f).toContain('a1 → c3: 3 revision(s)');
  });

  it('a lock timeout with a blocker offers 1 (wait for it to end, then try again); the wait shows who it waits for', async () => {
    const request: InputRequest = { kind: 'failure', error: 'upgrade w2 could not get a table lock within lock_timeout 1s — blocked by pid 4242 (nightly, idle in transaction)', offers: ['retry', 'wait', 'abort'] };
    const { ui, answers } = show(snapshotOf([...MIGRATION_EVENTS, { type: 'step-failed', stepId: 'upgrade', error: request.error, offers: request.offers }, { type: 'needs-input', stepId: 'upgrade', request }], request));
    const f = await waitForFrame(ui, '1 wait for the blocker to end, then try again');
    expect(f).toContain('t try again · 1 wait for the blocker to end, then try again · x stop the run (aborted)');
    await press(ui, '1');
    expect(answers).toEqual([{ kind: 'failure', choice: 'wait' }]);
    cleanup();
    const waiting = show(snapshotOf([...MIGRATION_EVENTS, { type: 'progress', stepId: 'upgrade', progress: { kind: 'blocker-wait', blockers: ['pid 4242 (nightly, idle in transaction): UPDATE users'], waitedMs: 3000 } }]));
    await waitForFrame(waiting.ui, 'waiting for pid 4242 (nightly, idle in transaction): UPDATE users to end · 3.0 s (then retry)');
  });

  it('with a rehearsal on record, a migration shows its rehearsed duration as the expected time', async () => {
    const events: RunEvent[] = [...MIGRATION_EVENTS, { type: 'progress', stepId: 'upgrade', progress: { kind: 'migration', index: 2, total: 3, revision: 'b2b2b2b2b2b2', direction: 'upgrade', elapsedMs: 2600, expectedMs: 1400 } }];
    const { ui } = show(snapshotOf(events));
    const f = await waitForFrame(ui, 'migration 2/3');
    expect(f).toContain('migration 2/3 · upgrade b2b2b2b2b2b2 · 2.6 s · expected ~1.4 s (rehearsed)');
  });

  it('a failure shows the error and the on_failure offers as keys; a switch is answered with its runbook', async () => {
    const failure = FAILED_EVENTS.at(-1)! as Extract<RunEvent, { type: 'needs-input' }>;
    const { ui, answers } = show(snapshotOf(FAILED_EVENTS, failure.request));
    const f = await waitForFrame(ui, 'switch to emergency-rollback');
    expect(f).toContain('✖ 5570bd6d8f6c: relation "users" does not exist');
    expect(f).toContain('t try again · 1 switch to emergency-rollback · x stop the run (aborted)');
    await press(ui, '1');
    expect(answers).toEqual([{ kind: 'failure', choice: { switch: 'emergency-rollback' } }]);
  });

  it('skip asks for a reason before answering', async () => {
    const request: InputRequest = { kind: 'failure', error: 'boom', offers: ['retry', 'skip', 'abort'] };
    const { ui, answers } = show(snapshotOf(FAILED_EVENTS, request));
    await waitForFrame(ui, 's skip (with a reason)');
    await press(ui, 's');
    await waitForFrame(ui, 'Why skip it?');
    await press(ui, KEY.enter);
    expect(answers).toEqual([]);
    await type(ui, 'known flaky; checked by hand');
    await press(ui, KEY.enter);
    expect(answers).toEqual([{ kind: 'failure', choice: 'skip', reason: 'known flaky; checked by hand' }]);
  });

  it('typed confirmation on a protected environment: shows what will happen, refuses a wrong name, accepts the exact one', async () => {
    const request: InputRequest = {
      kind: 'typed-confirmation',
      prompt: 'Roll back on protected environment production: type the database name to go ahead',
      expected: 'mutx',
      detail: ['mutx-ops downgrade -1 on postgresql://app:***@db:5432/mutx (production, PROTECTED)', 'c3 → b2: 1 revision(s)'],
    };
    const { ui, answers } = show(snapshotOf([{ ...RUN_STARTED, protected: true, environment: 'production' } as RunEvent], request, 'upgrade'), PRODUCTION);
    let f = await waitForFrame(ui, 'Type mutx to confirm');
    expect(f).toContain('⚠ PROTECTED ENVIRONMENT: production');
    expect(f).toContain('c3 → b2: 1 revision(s)');
    await type(ui, 'mutx_prod');
    await press(ui, KEY.enter);
    f = await waitForFrame(ui, 'does not match');
    expect(answers).toEqual([]);
    // q and ? are letters in the field, not quit/help.
    for (let i = 0; i < 'mutx_prod'.length; i++) await press(ui, KEY.backspace);
    await type(ui, 'mutx');
    await press(ui, KEY.enter);
    expect(answers).toEqual([{ kind: 'typed-confirmation', text: 'mutx' }]);
    expect(frame(ui)).toContain('Type mutx to confirm');
  });

  it('a finished run says how it ended', async () => {
    const { ui } = show({ ...snapshotOf([...MIGRATION_EVENTS, { type: 'run-finished', runId: 'r1', outcome: 'switched', switchTo: 'emergency-rollback', message: 'switching' }]), settled: true });
    await waitForFrame(ui, '↪ run switched — switching to emergency-rollback');
  });

  it('at 80×24 the run id is whole: on its own line when the title line cannot hold it', async () => {
    const long: RunEvent = { ...RUN_STARTED, runId: '20261201T225652Z-production-rollback-748c33', runbook: 'production-rollback', title: 'Production rollback (stop, downgrade, restore if needed, redeploy)' } as RunEvent;
    const { ui } = show(snapshotOf([long, ...DEPLOY_EVENTS.slice(1)]));
    const f = await waitForFrame(ui, 'Production rollback');
    expect(f.split('\n')).toContain('run 20261201T225652Z-production-rollback-748c33');
    expect(f.split('\n').length).toBeLessThan(24);
    // A short title keeps it on the title line.
    const short = show(snapshotOf(DEPLOY_EVENTS));
    const g = await waitForFrame(short.ui, 'Deploy a release');
    expect(g).toContain('Deploy a release (deploy) · run 20260101T000000Z-deploy-abc123');
  });

  it('fits 80×24 with a long runbook and a flood of output', async () => {
    const many: RunEvent[] = Array.from({ length: 5000 }, (_, i) => ({ type: 'output', stepId: 'backup', line: `pg_dump: dumping contents of table "public.t${i}" ${'x'.repeat(120)}`, stream: 'stderr' }));
    const { ui } = show(snapshotOf([...DEPLOY_EVENTS, ...many]));
    const f = await waitForFrame(ui, 't4999');
    const lines = f.split('\n');
    expect(lines.length).toBeLessThan(24);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(100);
  });
});
