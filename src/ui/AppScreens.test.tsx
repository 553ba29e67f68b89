/**
 * Issue 12's screens: one key map (help lists every key a screen handles, and no letter means
 * two things), the run view's scrollback and full error, the end-of-run summary, discarding a
 * stale run, frozen dialog questions, and the texts that were wrong. Pure parts render plain
 * data; the rest runs the real engine against a test database (prefix scr_).
 */
import fs from 'node:fs';
import path from 'node:path';
import { cleanup } from 'ink-testing-library';
import React from 'react';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, createTestProject, runCli, type TestDatabase, type TestProject } from '../../test/helpers/db';
import { AuditTrail } from '../core/audit';
import { parseTarget } from '../core/connection';
import { migrate } from '../core/migrations/operations';
import { createServices } from '../cli/tui';
import { runRunbook } from '../runbook/engine';
import type { InputRequest, RunEvent } from '../runbook/events';
import { HeadlessInput } from '../runbook/headless';
import { findRunbook } from '../runbook/loader';
import { listRuns, loadRunState } from '../runbook/state';
import { KEYMAP } from './keymap';
import { HelpProvider, type HelpInfo } from './help';
import { RunScreen } from './screens/RunScreen';
import type { RunSession, SessionSnapshot } from './run/session';
import { applyRunEvents, initialRunState } from './run/runState';
import type { ResumableRun, Services, TargetIdentity } from './services';
import { frame, KEY, press, realServices, renderApp, renderUi, tick, type, waitForFrame, writeRunbook } from './testing/harness';
import type { Key } from 'ink';

afterEach(() => cleanup());

/** One letter per key-map action (digits: the first). */
const letters = Object.values(KEYMAP).flatMap((a) => (/^[a-z]$/i.test(a.hint) ? [a.hint] : a.hint === 'j/k' ? [] : a.hint === 'g/G' ? ['g', 'G'] : a.hint === '1–9' ? ['1'] : []));

const PLAIN_KEY: Key = { upArrow: false, downArrow: false, leftArrow: false, rightArrow: false, pageDown: false, pageUp: false, home: false, end: false, return: false, escape: false, ctrl: false, shift: false, tab: false, backspace: false, delete: false, meta: false, super: false, hyper: false, capsLock: false, numLock: false } as Key;

describe('one key map', () => {
  it('no printable key means two things (y/n/1–9 only answer an open question)', () => {
    for (let code = 32; code < 127; code++) {
      const input = String.fromCharCode(code);
      const meanings = Object.entries(KEYMAP).filter(([, action]) => action.match(input, PLAIN_KEY)).map(([id]) => id);
      expect(meanings.length, `${JSON.stringify(input)} means ${meanings.join(', ')}`).toBeLessThanOrEqual(1);
    }
    // The letters the issue found overloaded: r is only reload, a only audit.
    expect(KEYMAP.reload.match('r', PLAIN_KEY) && !KEYMAP.retry.match('r', PLAIN_KEY) && !KEYMAP.restore.match('r', PLAIN_KEY) && !KEYMAP.rollback.match('r', PLAIN_KEY)).toBe(true);
    expect(KEYMAP.audit.match('a', PLAIN_KEY) && !KEYMAP.matching.match('a', PLAIN_KEY) && !KEYMAP.stop.match('a', PLAIN_KEY)).toBe(true);
  });

  const IDENTITY: TargetIdentity = { environment: 'staging', protected: false, redacted: 'postgresql://app:***@db:5432/mutx', host: 'db', port: 5432, database: 'mutx' };
  const STALE: ResumableRun = { id: '20260101T000000Z-deploy-abcdef', runbook: 'deploy', target: IDENTITY.redacted, status: 'waiting', currentStep: 1, stepCount: 3, stepTitle: 'Back up', updatedAt: new Date(Date.now() - 86_400_000).toISOString(), interrupted: false, drill: false, steps: [] };
  function plainServices(calls: string[]): Services {
    return {
      target: () => IDENTITY,
      targetStatus: async () => ({ serverVersion: '16.1', current: ['b2'], heads: ['c3'], pending: ['c3'], drift: 0 }),
      lastVerifiedBackup: async () => undefined,
      runbooks: () => ({ runbooks: [{ name: 'deploy', title: 'Deploy', description: 'Deploys.', category: 'deploy', file: 'deploy.yaml', steps: 3, stepTypes: [], allowed: true }], errors: [] }),
      resumableRuns: () => [STALE],
      discardRun: (id) => calls.push(`discard ${id}`),
      startRun: async () => {
        calls.push('startRun');
        throw new Error('not in this test');
      },
      history: async () => ({
        nodes: [
          { id: 'a1', message: 'first', parents: [], children: ['b2'], file: 'a1.sql', transactional: true, applied: true, current: false, head: false },
          { id: 'b2', message: 'second', parents: ['a1'], children: ['c3'], file: 'b2.sql', transactional: true, applied: true, current: true, head: false },
          { id: 'c3', message: 'third', parents: ['b2'], children: [], file: 'c3.sql', transactional: true, applied: false, current: false, head: true },
        ],
        current: ['b2'],
        heads: ['c3'],
      }),
      backups: async () => [{ file: '/b/one.dump', name: 'one.dump', createdAt: new Date().toISOString(), sizeBytes: 10, revisions: ['b2'], verified: true }],
      verifyBackup: async () => ({ ok: true, message: 'verified' }),
      logSource: () => 'logs/app.log',
      followLogs: () => ({ description: 'logs/app.log', stop: async () => {} }),
      audit: () => ({ file: '/a/audit.jsonl', records: [], verification: { ok: true, records: 0 } }),
    };
  }

  /** The `?` overlay's rows for this screen (above "everywhere"), as key → label. */
  async function helpOf(ui: ReturnType<typeof renderApp>, screen: string): Promise<string[]> {
    await press(ui, '?');
    const f = await waitForFrame(ui, `Keys — ${screen}`);
    const own = f.slice(f.indexOf(`Keys — ${screen}`), f.indexOf('everywhere'));
    await press(ui, KEY.escape);
    await waitForFrame(ui, (fr) => !fr.includes('Keys —'));
    return own.split('\n').slice(1).map((line) => line.replace(/^[│\s]+/, '').replace(/[│\s]+$/, '')).filter(Boolean);
  }


  it.each([
    ['home', ''],
    ['history', 'h'],
    ['backups', 'b'],
    ['logs', 'l'],
    ['audit', 'a'],
  ])('%s: help lists every key the screen handles — a letter it does not list does nothing', async (screen, open) => {
    const calls: string[] = [];
    const ui = renderApp(plainServices(calls), { columns: 120, rows: 40 });
    await waitForFrame(ui, 'deploy');
    if (open) await press(ui, open);
    await waitForFrame(ui, screen === 'home' ? 'Runbooks' : screen === 'history' ? 'c3' : screen === 'backups' ? 'one.dump' : screen === 'logs' ? 'filter /error/' : 'Audit trail');
    await tick(200); // let the screen's own loads land before frames are compared
    const help = await helpOf(ui, screen);
    expect(help.length).toBeGreaterThan(2);
    // Every listed key is the key map's.
    const hints = new Set(Object.values(KEYMAP).map((a) => a.hint));
    for (const row of help) expect([...hints].some((h) => row.startsWith(h)), row).toBe(true);
    const listed = new Set(help.map((row) => row.split(/\s{2,}/)[0]!));
    for (const letter of letters) {
      if (letter === 'q' || letter === '?') continue;
      const action = Object.values(KEYMAP).find((a) => a.match(letter, PLAIN_KEY))!;
      if (listed.has(action.hint)) continue;
      const before = frame(ui);
      await press(ui, letter);
      await tick(30);
      expect(frame(ui), `${screen}: "${letter}" is not in its help but changed the screen`).toBe(before);
    }
    expect(calls).toEqual([]);
  });

  it('home: x on a stale run asks, then discards it through the services (n keeps it)', async () => {
    const calls: string[] = [];
    const ui = renderApp(plainServices(calls), { columns: 120, rows: 40 });
    await waitForFrame(ui, '↻ resume deploy at step 2/3');
    await tick(100);
    expect((await helpOf(ui, 'home')).some((row) => /^x +discard this unfinished run \(asks first\)$/.test(row))).toBe(true);
    await press(ui, 'x');
    let f = await waitForFrame(ui, `Discard the unfinished run ${STALE.id}?`);
    expect(f).toContain('marked discarded');
    expect(f).toContain('Nothing in the database is changed');
    await press(ui, 'n');
    await waitForFrame(ui, (fr) => !fr.includes('Discard the unfinished run'));
    expect(calls).toEqual([]);
    await press(ui, 'x');
    await waitForFrame(ui, 'Discard the unfinished run');
    await press(ui, 'y');
    f = await waitForFrame(ui, `discarded run ${STALE.id}`);
    expect(calls).toEqual([`discard ${STALE.id}`]);
  });
});

describe('audit screen', () => {
  it('names the database and the runbook step of each record', async () => {
    const base = { op_id: 'o', operator: 'alice', host: 'ops1', pid: 1, prev: '0', hash: 'h' };
    const records = [
      { ...base, seq: 1, hash: 'h1', ts: '2026-01-01T10:00:00.000Z', action: 'run.step', phase: 'event' as const, target: 'postgresql://app:***@db.internal:5432/mutx_prod', run_id: 'r1', details: { runbook: 'deploy', step: 'backup', status: 'done' } },
      { ...base, seq: 2, hash: 'h2', ts: '2026-01-01T10:00:01.000Z', action: 'upgrade', phase: 'end' as const, outcome: 'ok' as const, target: 'postgresql://postgres@%2Ftmp%2Fmutx-sandbox-1:5433/mutx_drill_held_lock' },
    ];
    const services = {
      target: () => ({ environment: 'production', protected: true, redacted: 'postgresql://app:***@db.internal:5432/mutx_prod', host: 'db.internal', port: 5432, database: 'mutx_prod' }),
      targetStatus: async () => ({ serverVersion: '16', current: [], heads: [], pending: [], drift: 0 }),
      lastVerifiedBackup: async () => undefined,
      runbooks: () => ({ runbooks: [], errors: [] }),
      resumableRuns: () => [],
      audit: () => ({ file: '/a/audit.jsonl', records, verification: { ok: true, records: 2 } }),
    } as unknown as Services;
    const ui = renderApp(services, { columns: 140, rows: 30 });
    await waitForFrame(ui, 'Runbooks');
    await press(ui, 'a');
    const f = await waitForFrame(ui, 'chain verifies');
    expect(f).toContain('database');
    expect(f).toMatch(/1 2026-01-01 10:00:00 alice@ops1 +mutx_prod +run\.step event · step deploy\/backup done/);
    expect(f).toMatch(/2 2026-01-01 10:00:01 alice@ops1 +mutx_drill_held_lock upgrade end ok/);
  });
});

describe('run view: scrollback and the full error (recorded events)', () => {
  const STEPS = [
    { id: 'backup', title: 'Back up the database', type: 'backup' as const, text: '', destructive: false },
    { id: 'upgrade', title: 'Run the migrations', type: 'migrate' as const, text: '', destructive: false },
  ];
  const EVENTS: RunEvent[] = [
    { type: 'run-started', runId: 'r-1', runbook: 'deploy', title: 'Deploy', environment: 'staging', target: 'postgresql://app:***@db:5432/mutx', protected: false, drill: false, resumed: false, steps: STEPS },
    { type: 'step-started', stepId: 'backup', index: 0, total: 2, title: 'Back up the database', stepType: 'backup', preview: [] },
    ...Array.from({ length: 30 }, (_, i): RunEvent => ({ type: 'output', stepId: 'backup', line: `pg_dump: dumping table t${i}`, stream: 'stderr' })),
    { type: 'step-finished', stepId: 'backup', summary: 'backup written', durationMs: 1200 },
    { type: 'step-started', stepId: 'upgrade', index: 1, total: 2, title: 'Run the migrations', stepType: 'migrate', preview: [] },
    { type: 'output', stepId: 'upgrade', line: 'upgrade a1 → b2', stream: 'info' },
    { type: 'step-failed', stepId: 'upgrade', error: 'x', offers: ['retry', 'abort'] },
  ];
  const ERROR = ['migration b2 failed: ERROR: column "email" contains null values', 'DETAIL: Failing row contains (17, null, 2026-01-01).', 'CONTEXT: SQL statement "ALTER TABLE users ALTER COLUMN email SET NOT NULL"', 'HINT: backfill the column first', 'where: b2_users_email.sql:3'].join('\n');
  const request: InputRequest = { kind: 'failure', error: ERROR, offers: ['retry', 'abort'] };

  function fakeSession(snapshot: SessionSnapshot): RunSession {
    return { subscribe: () => () => {}, getSnapshot: () => snapshot, spec: { name: 'deploy' }, answer: () => true } as unknown as RunSession;
  }

  it('run view: its help lists every key it handles (the open question’s too) — an unlisted letter does nothing', async () => {
    let info: HelpInfo | undefined;
    const answers: unknown[] = [];
    const snapshot: SessionSnapshot = { state: applyRunEvents(initialRunState('deploy'), EVENTS), prompt: { id: 1, stepId: 'upgrade', request }, settled: false, cancelling: false };
    const session = { ...(fakeSession(snapshot) as object), answer: (_id: number, response: unknown) => answers.push(response) } as unknown as RunSession;
    const identity: TargetIdentity = { environment: 'staging', protected: false, redacted: 'postgresql://app:***@db:5432/mutx', host: 'db', port: 5432, database: 'mutx' };
    const calls: string[] = [];
    const ui = renderUi(
      <HelpProvider onChange={(next) => (info = next)}>
        <RunScreen session={session} identity={identity} onBack={() => calls.push('back')} onOpenLogs={() => calls.push('logs')} onStop={() => calls.push('stop')} />
      </HelpProvider>,
      { columns: 100, rows: 30 },
    );
    await waitForFrame(ui, 'upgrade a1 → b2');
    const listed = new Set(info!.keys.map(([k]) => k));
    for (const k of ['t', 'x', 'f', 'l', 'j/k', 'pgup/pgdn', 'g/G', 'esc']) expect(listed.has(k), k).toBe(true);
    for (const letter of letters) {
      if (letter === 'q' || letter === '?') continue;
      const action = Object.values(KEYMAP).find((a) => a.match(letter, PLAIN_KEY))!;
      if (listed.has(action.hint) || listed.has(letter)) continue;
      const before = frame(ui);
      await press(ui, letter);
      await tick(30);
      expect(frame(ui), `run view: "${letter}" is not in its help but changed the screen`).toBe(before);
    }
    expect(answers).toEqual([]);
    expect(calls).toEqual([]);
  });

  it('scrolled back, the lines being read stay put while new output arrives', async () => {
    let snapshot: SessionSnapshot = { state: applyRunEvents(initialRunState('deploy'), EVENTS.slice(0, -1)), prompt: undefined, settled: false, cancelling: false };
    const listeners = new Set<() => void>();
    const session = { subscribe: (l: () => void) => (listeners.add(l), () => listeners.delete(l)), getSnapshot: () => snapshot, spec: { name: 'deploy' }, answer: () => true } as unknown as RunSession;
    const identity: TargetIdentity = { environment: 'staging', protected: false, redacted: 'postgresql://app:***@db:5432/mutx', host: 'db', port: 5432, database: 'mutx' };
    const ui = renderUi(<RunScreen session={session} identity={identity} onBack={() => {}} onOpenLogs={() => {}} onStop={() => {}} />, { columns: 80, rows: 24 });
    await waitForFrame(ui, 'upgrade a1 → b2');
    await press(ui, 'k', 'k', 'k', 'k', 'k');
    const before = await waitForFrame(ui, 'output of the whole run');
    const shown = before.split('\n').filter((line) => line.includes('pg_dump: dumping table'));
    expect(shown.length).toBeGreaterThan(2);
    snapshot = { ...snapshot, state: applyRunEvents(snapshot.state, Array.from({ length: 6 }, (_, i): RunEvent => ({ type: 'output', stepId: 'upgrade', line: `new line ${i}`, stream: 'stdout' }))) };
    for (const listener of listeners) listener();
    await tick(50);
    const after = frame(ui);
    expect(after.split('\n').filter((line) => line.includes('pg_dump: dumping table'))).toEqual(shown);
    expect(after).not.toContain('new line 5');
    await press(ui, 'G');
    await waitForFrame(ui, 'new line 5');
  });

  it('the rollback picker says where the database is and marks a backup of that revision', async () => {
    const started: RunEvent = { ...(EVENTS[0] as Extract<RunEvent, { type: 'run-started' }>), startRevisions: ['b2'] };
    const pick: InputRequest = { kind: 'select-target', options: [{ kind: 'revision', value: 'a1', revision: 'a1', label: 'a1 first' }, { kind: 'backup', value: '/b/x.dump', revision: 'b2', label: 'backup at b2 (verified)' }] };
    const snapshot: SessionSnapshot = { state: applyRunEvents(initialRunState('deploy'), [started]), prompt: { id: 1, stepId: 'backup', request: pick }, settled: false, cancelling: false };
    const identity: TargetIdentity = { environment: 'staging', protected: false, redacted: 'postgresql://app:***@db:5432/mutx', host: 'db', port: 5432, database: 'mutx' };
    const ui = renderUi(<RunScreen session={fakeSession(snapshot)} identity={identity} onBack={() => {}} onOpenLogs={() => {}} onStop={() => {}} />, { columns: 120, rows: 24 });
    const f = await waitForFrame(ui, 'Choose the target');
    expect(f).toContain('the database is at b2');
    expect(f).toMatch(/backup {3}backup at b2 \(verified\) ◀ holds the revision the database is at/);
    expect(f).not.toMatch(/a1 first ◀/);
  });

  it('at 80×24 the end-of-run summary fits, its backup path wrapped whole under its label', async () => {
    const file = '/srv/app/.mutx-ops/backups/staging_mutx_20260101T100000Z_9d3e71c2a5b8_emergency-rollback-backup.dump';
    const events: RunEvent[] = [
      ...EVENTS.slice(0, -1),
      { type: 'step-finished', stepId: 'upgrade', summary: 'downgrade 9d3e71c2a5b8 → 071fffe7fb4c', durationMs: 80 },
      { type: 'run-finished', runId: 'r-1', outcome: 'failed', message: 'aborted at "Verify": expected head', where: { revisions: ['071fffe7fb4c'], startRevisions: ['9d3e71c2a5b8'], backup: { file, revisions: ['9d3e71c2a5b8'], verified: true, takenInRun: true } } },
    ];
    const snapshot: SessionSnapshot = { state: applyRunEvents(initialRunState('deploy'), events), prompt: undefined, settled: true, cancelling: false };
    const identity: TargetIdentity = { environment: 'staging', protected: false, redacted: 'postgresql://app:***@db:5432/mutx', host: 'db', port: 5432, database: 'mutx' };
    const ui = renderUi(<RunScreen session={fakeSession(snapshot)} identity={identity} onBack={() => {}} onOpenLogs={() => {}} onStop={() => {}} />, { columns: 80, rows: 24 });
    const f = await waitForFrame(ui, 'run failed');
    expect(f.split('\n').length).toBeLessThan(24);
    for (const line of f.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    expect(f).toMatch(/database +mutx is at 071fffe7fb4c \(was 9d3e71c2a5b8\)/);
    // A path longer than the row continues on the next rows under the label: joined, it is whole.
    const joined = f.replace(/\n {11}/g, '');
    expect(f).toMatch(/ {2}backup {3}\/srv\/app\//);
    expect(joined).toContain(file);
    expect(f).toContain('taken in this run');
    expect(f).toMatch(/next +mutx-ops runs show r-1\n {11}mutx-ops restore\n/);
    expect(joined).toContain(`${file} --env staging --yes`);
  });

  it('earlier steps’ output is reviewable (j/k, PgUp/PgDn, g/G) and f expands the whole server error', async () => {
    const snapshot: SessionSnapshot = { state: applyRunEvents(initialRunState('deploy'), EVENTS), prompt: { id: 1, stepId: 'upgrade', request }, settled: false, cancelling: false };
    const identity: TargetIdentity = { environment: 'staging', protected: false, redacted: 'postgresql://app:***@db:5432/mutx', host: 'db', port: 5432, database: 'mutx' };
    const ui = renderUi(<RunScreen session={fakeSession(snapshot)} identity={identity} onBack={() => {}} onOpenLogs={() => {}} onStop={() => {}} />, { columns: 80, rows: 24 });
    let f = await waitForFrame(ui, 'upgrade a1 → b2');
    // Live: the failing step's output only; the error is cut with a way to see it whole.
    expect(f).not.toContain('pg_dump: dumping table');
    expect(f).toMatch(/… \d+ more line\(s\) · f shows the full error/);
    expect(f).not.toContain('where: b2_users_email.sql:3');
    expect(f.split('\n').length).toBeLessThan(24);
    await press(ui, 'f');
    f = await waitForFrame(ui, 'where: b2_users_email.sql:3');
    expect(f).toContain('HINT: backfill the column first');
    expect(f.split('\n').length).toBeLessThan(24);
    await press(ui, 'f');
    await waitForFrame(ui, (fr) => !fr.includes('where: b2_users_email.sql:3'));
    // Back through the run: the earlier step's lines, under its title.
    await press(ui, 'k');
    f = await waitForFrame(ui, 'output of the whole run');
    await press(ui, '\u001B[5~');
    f = await waitForFrame(ui, 'pg_dump: dumping table t2');
    await press(ui, 'g');
    f = await waitForFrame(ui, '── step 1: Back up the database ──');
    expect(f).toContain('pg_dump: dumping table t0');
    expect(f.split('\n').length).toBeLessThan(24);
    await press(ui, 'G');
    f = await waitForFrame(ui, (fr) => !fr.includes('output of the whole run'));
    expect(f).not.toContain('pg_dump: dumping table t0');
    // The help lists the scroll and expand keys (no claim of keys the run view does not handle).
  });
});

const RUNBOOKS: Record<string, string> = {
  'scr-backup-down': `name: scr-backup-down
title: Back up, then roll back one
category: emergency
description: Backup and downgrade -1.
steps:
  - id: backup
    title: Back up
    type: backup
    text: Takes a backup.
  - id: down
    title: Roll back one revision
    type: migrate
    action: downgrade
    target: "-1"
    text: Downgrades the newest revision.
`,
  'scr-slow-then-check': `name: scr-slow-then-check
title: A short command, then a checklist
category: maintenance
description: Sleeps a moment, then asks.
steps:
  - id: slow
    title: Short command
    type: command
    command: [sleep, "1"]
    text: Sleeps.
  - id: checks
    title: Checklist
    type: checklist
    text: Tick.
    items:
      - id: one
        label: Item one
`,
  'scr-watch': `name: scr-watch
title: Watch the logs
category: maintenance
description: A log watch.
steps:
  - id: watch
    title: Watch the log
    type: logs
    duration_seconds: 60
    text: Watches.
`,
  'scr-paused': `name: scr-paused
title: A checklist, then an upgrade
category: deploy
description: Pauses at the checklist headless.
steps:
  - id: checks
    title: Pre-flight checklist
    type: checklist
    text: Tick.
    items:
      - id: one
        label: Item one
  - id: upgrade
    title: Upgrade to head
    type: migrate
    action: upgrade
    target: head
    text: Upgrades.
`,
};

const SETTINGS = `lock_wait_seconds: 5
environments:
  staging:
    url_env: SCR_TEST_STAGING_URL
    log_source: logs/app.log
`;

describe('real engine (scr_ databases)', () => {
  let project: TestProject;
  const databases: TestDatabase[] = [];
  beforeAll(() => {
    project = createTestProject({ settings: SETTINGS });
    for (const [name, yaml] of Object.entries(RUNBOOKS)) writeRunbook(project.dir, name, yaml);
    fs.mkdirSync(path.join(project.dir, 'logs'));
    fs.writeFileSync(path.join(project.dir, 'logs/app.log'), '');
  });
  afterAll(async () => {
    for (const db of databases) await db.drop();
    project.cleanup();
  });
  async function setup(atHead = true) {
    const db = await createTestDatabase('scr');
    databases.push(db);
    const real = realServices({ projectDir: project.dir, url: db.url, environment: 'staging' });
    if (atHead) await migrate({ settings: real.settings, operator: { name: 'tester', host: 'test-host' }, audit: real.audit, target: parseTarget({ url: db.url }) }, 'upgrade', 'head');
    const revision = async () => (await db.query<{ version_num: string }>('SELECT version_num FROM alembic_version')).rows.map((r) => r.version_num);
    return { db, ...real, revision };
  }
  async function start(ui: ReturnType<typeof renderApp>, name: string) {
    await waitForFrame(ui, 'Runbooks');
    await press(ui, '/');
    await type(ui, name);
    await press(ui, KEY.enter, KEY.enter);
  }

  it('the end of a run says where the database is now, where its backup is, and what to do next', async () => {
    const { services, revision, db } = await setup();
    const ui = renderApp(services, { columns: 160, rows: 40 });
    await start(ui, 'scr-backup-down');
    await waitForFrame(ui, 'Run this plan?', 30_000);
    await press(ui, 'y');
    const f = await waitForFrame(ui, '✔ run completed', 60_000);
    const now = (await revision()).join('+');
    expect(f).toMatch(new RegExp(`database +${db.name} is at ${now} \\(was 9d3e71c2a5b8\\)`));
    const backup = listRuns(loadProjectSettingsOf(project.dir)).find((r) => r.runbook === 'scr-backup-down')!.vars.runBackup!;
    // Wrapped under its label when long, never cut.
    const joined = f.replace(/\n +/g, ' ').replace(/ +/g, ' ');
    expect(joined).toContain(`backup ${backup} (at 9d3e71c2a5b8, taken in this run, verified)`);
    expect(f).toMatch(/next +mutx-ops check --env staging/);
    expect(f).toMatch(/mutx-ops runs show \S+-scr-backup-down-\w+ --format md/);
    // Headless `run` ends with the same three facts.
    await migrate({ settings: loadProjectSettingsOf(project.dir), operator: { name: 'tester', host: 'test-host' }, audit: new AuditTrail(loadProjectSettingsOf(project.dir).auditPath, { name: 'tester', host: 'h' }), target: parseTarget({ url: db.url }) }, 'upgrade', 'head');
    const headless = await runCli(['run', 'scr-backup-down', '--env', 'staging', '--yes'], { cwd: project.dir, env: { SCR_TEST_STAGING_URL: db.url } });
    expect(headless.exitCode, String(headless.all)).toBe(0);
    const out = String(headless.stdout);
    expect(out).toMatch(new RegExp(`\n  database ${db.name} is at ${now} \\(was 9d3e71c2a5b8\\)\n`));
    expect(out).toMatch(/\n  backup {3}\S+\.dump \(at 9d3e71c2a5b8, taken in this run, verified\)\n/);
    expect(out).toMatch(/\n  next {5}mutx-ops check --env staging\n {11}mutx-ops runs show \S+ --format md$/);
  }, 90_000);

  it('a dialog keeps its question while open, even when the step it asked about ends meanwhile', async () => {
    const { services, settings } = await setup();
    const ui = renderApp(services);
    await start(ui, 'scr-slow-then-check');
    await waitForFrame(ui, 'Run this plan?', 30_000);
    await press(ui, 'y');
    await waitForFrame(ui, '1. Short command — running');
    await press(ui, KEY.ctrlC);
    const asked = await waitForFrame(ui, 'Cancel the running step "Short command"?');
    // The command ends by itself while the dialog is open.
    const deadline = Date.now() + 15_000;
    while (listRuns(settings).find((r) => r.runbook === 'scr-slow-then-check')?.steps[0]?.status !== 'done' && Date.now() < deadline) await tick(50);
    await tick(150);
    expect(frame(ui)).toBe(asked);
    await press(ui, 'n');
    await waitForFrame(ui, '[ ] Item one');
  }, 60_000);

  it('x and Ctrl+C on a log watch say the watch stops (no transaction to roll back); the in-progress notice goes when the run ends', async () => {
    const { services } = await setup();
    const ui = renderApp(services);
    await start(ui, 'scr-watch');
    await waitForFrame(ui, '1. Watch the log — running', 30_000);
    await press(ui, 'x');
    let f = await waitForFrame(ui, 'Stop the run of scr-watch?');
    expect(f).toContain('the log watch stops (nothing to roll back)');
    expect(f).not.toMatch(/rollback|rolls back its transaction/);
    await press(ui, 'n');
    await press(ui, KEY.ctrlC);
    f = await waitForFrame(ui, 'Cancel the running step "Watch the log"?');
    expect(f).toContain('The log watch stops (nothing to roll back).');
    await press(ui, 'n');
    // Home while it runs: starting another run is refused with a notice…
    await press(ui, KEY.escape);
    await waitForFrame(ui, 'Runbooks');
    await press(ui, '/');
    await type(ui, 'scr-backup-down');
    // The run in progress stays first in the list: one down to the runbook.
    await press(ui, KEY.enter, KEY.down, KEY.enter);
    await waitForFrame(ui, 'a run of scr-watch is in progress');
    // …which goes once that run has ended.
    await press(ui, KEY.escape);
    await waitForFrame(ui, (fr) => !fr.includes('filter:'));
    await press(ui, KEY.up, KEY.up, KEY.up);
    await press(ui, KEY.enter);
    await waitForFrame(ui, '1. Watch the log — running');
    await press(ui, 'x');
    await waitForFrame(ui, 'Stop the run of scr-watch?');
    await press(ui, 'y');
    await waitForFrame(ui, '✖ run aborted', 15_000);
    await press(ui, KEY.enter);
    f = await waitForFrame(ui, 'Runbooks');
    expect(f).not.toContain('is in progress');
  }, 60_000);

  it('a stale run is discarded from home: asked first, marked discarded (kept), audited, never resumed', async () => {
    const { services, settings, audit, db } = await setup(false);
    const ctx = { settings, operator: { name: 'tester', host: 'test-host' }, audit, target: parseTarget({ url: db.url, environment: 'staging' }) };
    const paused = await runRunbook({ loaded: findRunbook(settings.runbooksPath, 'scr-paused'), ctx, input: new HeadlessInput({ yes: false, onFailure: 'abort' }), onEvent: () => {} });
    expect(paused.outcome).toBe('paused');
    const ui = renderApp(services, { columns: 120, rows: 30 });
    await waitForFrame(ui, '↻ resume scr-paused at step 1/2');
    await press(ui, 'x');
    await waitForFrame(ui, `Discard the unfinished run ${paused.runId}?`);
    await press(ui, 'y');
    const f = await waitForFrame(ui, `discarded run ${paused.runId}`);
    await waitForFrame(ui, (fr) => !fr.includes('↻ resume scr-paused'));
    expect(f).toBeTruthy();
    const state = loadRunState(settings, paused.runId);
    expect(state.status).toBe('discarded');
    expect(state.message).toMatch(/discarded by tester at step 1\/2 \(was waiting\)/);
    expect(audit.readAll().some((r) => r.action === 'run.discard' && r.run_id === paused.runId)).toBe(true);
    await expect(runRunbook({ loaded: findRunbook(settings.runbooksPath, 'scr-paused'), ctx, resume: state, input: new HeadlessInput({ yes: true, onFailure: 'abort' }), onEvent: () => {} })).rejects.toThrow(/was discarded/);
    const shown = await runCli(['runs'], { cwd: project.dir });
    expect(String(shown.stdout)).toMatch(new RegExp(`${paused.runId} +discarded`));
  }, 60_000);

  it('a paused run is "paused" in runs and runs show (not waiting / interrupted)', async () => {
    const { settings, audit, db } = await setup(false);
    const ctx = { settings, operator: { name: 'tester', host: 'test-host' }, audit, target: parseTarget({ url: db.url, environment: 'staging' }) };
    const paused = await runRunbook({ loaded: findRunbook(settings.runbooksPath, 'scr-paused'), ctx, input: new HeadlessInput({ yes: false, onFailure: 'abort' }), onEvent: () => {} });
    const list = await runCli(['runs'], { cwd: project.dir });
    expect(String(list.stdout)).toMatch(new RegExp(`${paused.runId} +paused \\(resumable\\)`));
    const show = await runCli(['runs', 'show', paused.runId], { cwd: project.dir });
    expect(String(show.stdout)).toContain(`${paused.runId} scr-paused paused on`);
    expect(String(show.stdout)).toMatch(/ {2}paused +checks/);
    expect(String(show.stdout)).not.toMatch(/waiting|interrupted/);
  }, 60_000);

  it('the sandbox Logs screen does not talk about DATABASE_URL', async () => {
    const settings = loadProjectSettingsOf(project.dir);
    const services = createServices({ settings, operator: { name: 'tester', host: 'h' }, audit: new AuditTrail(settings.auditPath, { name: 'tester', host: 'h' }), target: parseTarget({ url: 'postgresql://postgres@%2Ftmp%2Fx:5432/mutx' }), label: 'sandbox (practice)' });
    expect(() => services.followLogs({ filter: 'error', emitAll: false, onEvent: () => {}, signal: new AbortController().signal })).toThrow(/no log source for the sandbox \(practice\)/);
    try {
      services.followLogs({ filter: 'error', emitAll: false, onEvent: () => {}, signal: new AbortController().signal });
    } catch (error) {
      expect(String(error)).not.toContain('DATABASE_URL');
    }
  });
});

import { loadProjectSettings } from '../core/config';
function loadProjectSettingsOf(dir: string) {
  return loadProjectSettings({ cwd: dir });
}
