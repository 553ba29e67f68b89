/**
 * The plan prompt and text fields, frame by frame: what confirms a plan in each mode, and a
 * pasted name with its Enter in one chunk (a paste, or fast typing over SSH) is not lost.
 */
import { cleanup } from 'ink-testing-library';
import React from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import type { InputResponse, PlanRequest } from '../../runbook/events';
import { frame, KEY, press, renderUi, tick, waitForFrame } from '../testing/harness';
import { PlanPrompt } from './prompts/PlanPrompt';

afterEach(() => cleanup());

function request(mode: PlanRequest['mode']): PlanRequest {
  return {
    kind: 'plan',
    mode,
    expected: 'orders_prod',
    target: 'production (PROTECTED) · postgresql://app:***@db.internal:5432/orders_prod · database orders_prod',
    firstChange: 'Take a database backup immediately',
    flag: mode === 'typed' ? '--confirm orders_prod' : '--yes',
    steps: [
      { id: 'backup-now', title: 'Take a database backup immediately', type: 'backup', changes: true, destructive: false, status: 'pending', lines: ['pg_dump --format=custom on postgresql://app:***@db.internal:5432/orders_prod', 'into /srv/app/.mutx-ops/backups, then verified'] },
      { id: 'downgrade', title: 'Roll back the problematic migration', type: 'migrate', changes: true, destructive: true, status: 'pending', lines: ['mutx-ops downgrade -1 --timeout 300', '9d3e71c2a5b8 → 692221fc80ff: 1 revision(s)'] },
    ],
  };
}

function mount(mode: PlanRequest['mode']) {
  const answers: InputResponse[] = [];
  const ui = renderUi(<PlanPrompt request={request(mode)} maxRows={14} onAnswer={(r) => answers.push(r)} />, { columns: 80, rows: 24 });
  return { ui, answers };
}

describe('the plan prompt', () => {
  it('lists every step with from → to and the backup destination, redacted', async () => {
    const { ui } = mount('yes');
    const f = await waitForFrame(ui, 'Run this plan?');
    expect(f).toContain('9d3e71c2a5b8 → 692221fc80ff: 1 revision(s)');
    expect(f).toContain('into /srv/app/.mutx-ops/backups');
    expect(f).toContain('2. Roll back the problematic migration [destructive]');
    expect(f).not.toMatch(/app:[^*]/);
  });

  it('elsewhere: Enter (and Enter Enter) confirms nothing; y does; n declines', async () => {
    const { ui, answers } = mount('yes');
    await waitForFrame(ui, 'Run this plan?');
    await press(ui, KEY.enter, KEY.enter);
    await waitForFrame(ui, 'enter is not enough here: press y');
    expect(answers).toEqual([]);
    await press(ui, 'y');
    expect(answers).toEqual([{ kind: 'plan', ok: true }]);
    const other = mount('yes');
    await waitForFrame(other.ui, 'Run this plan?');
    await press(other.ui, 'n');
    expect(other.answers).toEqual([{ kind: 'plan', ok: false }]);
  });

  it('the sandbox takes Enter', async () => {
    const { ui, answers } = mount('enter');
    await waitForFrame(ui, 'enter/y run this plan');
    await press(ui, KEY.enter);
    expect(answers).toEqual([{ kind: 'plan', ok: true }]);
  });

  it('protected: only the database name typed; a pasted name with its Enter in one chunk confirms', async () => {
    const { ui, answers } = mount('typed');
    await waitForFrame(ui, 'Type orders_prod to run this plan');
    await press(ui, 'y', KEY.enter);
    await waitForFrame(ui, '"y" does not match');
    expect(answers).toEqual([]);
    await press(ui, KEY.backspace);
    ui.stdin.write('orders_prod\r');
    await tick(60);
    expect(answers).toEqual([{ kind: 'plan', ok: true, typed: 'orders_prod' }]);
    expect(frame(ui)).toContain('orders_prod');
  });
});
