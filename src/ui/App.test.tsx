/**
 * The app's flows against the REAL engine, core and a test database: keypresses in, frames
 * and database state out. Runbooks are small files written into the test project.
 */
import fs from 'node:fs';
import path from 'node:path';
import { cleanup } from 'ink-testing-library';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, createTestProject, type TestDatabase, type TestProject } from '../../test/helpers/db';
import { backupDatabase } from '../core/backup';
import { parseTarget } from '../core/connection';
import { migrate } from '../core/migrations/operations';
import { runRunbook } from '../runbook/engine';
import { HeadlessInput } from '../runbook/headless';
import { findRunbook } from '../runbook/loader';
import { listRuns } from '../runbook/state';
import { frame, KEY, press, realServices, renderApp, type, waitForFrame, writeRunbook } from './testing/harness';

const HEAD = '9d3e71c2a5b8';

const RUNBOOKS: Record<string, string> = {
  'flow-basic': `name: flow-basic
title: Basic flow
category: deploy
description: A checklist, upgrade to head, verify.
steps:
  - id: checks
    title: Pre-flight checklist
    type: checklist
    text: Tick each item only when it is done.
    items:
      - id: reviewed
        label: Changes reviewed
      - id: window
        label: Maintenance window scheduled
  - id: upgrade
    title: Upgrade to head
    type: migrate
    action: upgrade
    target: head
    text: Runs every pending migration.
  - id: verify
    title: Verify head
    type: verify
    expect: head
    text: The database must now be at head.
`,
  'flow-downgrade': `name: flow-downgrade
title: Downgrade one revision
category: emergency
description: Roll back the last migration.
steps:
  - id: downgrade
    title: Roll back one revision
    type: migrate
    action: downgrade
    target: "-1"
    text: Downgrades the newest revision.
`,
  'flow-skip': `name: flow-skip
title: Failing check, then more
category: maintenance
description: A check that fails, with skip offered.
steps:
  - id: wrong-check
    title: Expect an empty database
    type: verify
    expect: base
    text: Fails when anything is applied.
    on_failure: [retry, skip, abort]
  - id: look
    title: Show the current revision
    type: inspect
    show: current
    text: Just looks.
`,
  'flow-switch': `name: flow-switch
title: Failing check that offers a switch
category: maintenance
description: A failing check whose on_failure names another runbook.
steps:
  - id: wrong-check
    title: Expect an empty database
    type: verify
    expect: base
    text: Fails when anything is applied.
    on_failure: [{ switch: flow-recover }, abort]
`,
  'flow-recover': `name: flow-recover
title: Recovery runbook
category: recovery
description: Where the failing switch runbook goes.
steps:
  - id: look
    title: Look at the lock
    type: inspect
    show: lock
    text: Who holds the migration lock.
`,
  'flow-cancel': `name: flow-cancel
title: A long command
category: maintenance
description: Runs a command that takes a while.
steps:
  - id: slow
    title: Slow command
    type: command
    command: [sleep, "30"]
    text: Sleeps.
`,
  'restore-backup': `name: restore-backup
title: Restore a chosen backup
category: recovery
description: Pick a backup and restore it.
steps:
  - id: choose
    title: Choose the backup
    type: select-target
    from: backups
    text: Pick one.
  - id: restore
    title: Restore it
    type: restore
    source: selected
    text: Replaces the database with the backup.
`,
  'rollback-to-revision': `name: rollback-to-revision
title: Roll back to a chosen revision
category: recovery
description: Pick a revision and downgrade to it.
steps:
  - id: choose
    title: Choose the revision
    type: select-target
    from: history
    text: Pick one.
  - id: downgrade
    title: Roll back to the chosen revision
    type: migrate
    action: downgrade
    target: selected
    text: Downgrades.
  - id: verify
    title: Verify
    type: verify
    expect: selected
    text: At the chosen revision.
`,
};

const SETTINGS = `lock_wait_seconds: 5
environments:
  staging:
    url_env: MUTX_TUI_TEST_STAGING_URL
    log_source: logs/app.log
  production:
    url_env: MUTX_TUI_TEST_PROD_URL
    protected: true
    log_source: logs/app.log
`;

let project: TestProject;
const databases: TestDatabase[] = [];

beforeAll(() => {
  project = createTestProject({ settings: SETTINGS });
  for (const [name, yaml] of Object.entries(RUNBOOKS)) writeRunbook(project.dir, name, yaml);
  fs.mkdirSync(path.join(project.dir, 'logs'));
  fs.writeFileSync(path.join(project.dir, 'logs/app.log'), '');
});

afterEach(() => cleanup());

afterAll(async () => {
  for (const db of databases) await db.drop();
  project.cleanup();
});

async function setup(options: { protected?: boolean; atHead?: boolean } = {}) {
  const db = await createTestDatabase('mutx_tui');
  databases.push(db);
  const env = options.protected ? 'production' : 'staging';
  const real = realServices({ projectDir: project.dir, url: db.url, environment: env, protected: options.protected });
  if (options.atHead) {
    await migrate({ settings: real.settings, operator: { name: 'tester', host: 'test-host' }, audit: real.audit, target: parseTarget({ url: db.url }) }, 'upgrade', 'head');
  }
  const revision = async () => (await db.query<{ version_num: string }>('SELECT version_num FROM alembic_version')).rows.map((r) => r.version_num);
  return { db, ...real, revision };
}

/** From home: filter to the runbook and start it. */
async function start(ui: ReturnType<typeof renderApp>, name: string) {
  await waitForFrame(ui, 'Runbooks');
  await press(ui, '/');
  await type(ui, name);
  await press(ui, KEY.enter, KEY.enter);
}

describe('home', () => {
  it('makes the target unmistakable and lists runbooks, emergencies first', async () => {
    const { services } = await setup();
    const ui = renderApp(services);
    const f = await waitForFrame(ui, 'PostgreSQL');
    expect(f).toContain('environment: staging');
    expect(f).toMatch(/postgresql:\/\/postgres@127\.0\.0\.1:\d+\/mutx_tui_\w+ · PostgreSQL \d+/);
    await waitForFrame(ui, '12 pending migrations');
    expect(frame(ui)).toContain('revision base (empty) vs head');
    expect(frame(ui)).toContain('no verified backup');
    expect(frame(ui)).toContain('migration lock free');
    const lines = frame(ui).split('\n');
    const first = lines.findIndex((l) => l.includes('flow-downgrade'));
    expect(lines[first]).toMatch(/^› ⚠ flow-downgrade/);
    expect(first).toBeLessThan(lines.findIndex((l) => l.includes('flow-recover')));
    expect(lines.findIndex((l) => l.includes('flow-recover'))).toBeLessThan(lines.findIndex((l) => l.includes('flow-basic')));
    expect(frame(ui)).toContain('enter start / resume · / filter · h history · b backups · l logs · a audit');
  });

  it('a protected environment gets a banner that says so in words', async () => {
    const { services } = await setup({ protected: true });
    const ui = renderApp(services, { columns: 80, rows: 24 });
    const f = await waitForFrame(ui, 'PROTECTED ENVIRONMENT: production');
    expect(f.split('\n').length).toBeLessThan(24);
  });

  it('? opens the help overlay, any key closes it; q quits', async () => {
    const { services } = await setup();
    const ui = renderApp(services);
    await waitForFrame(ui, 'Runbooks');
    await press(ui, '?');
    await waitForFrame(ui, 'Keys — home');
    expect(frame(ui)).toContain('ctrl+c');
    await press(ui, 'x');
    await waitForFrame(ui, (f) => !f.includes('Keys — home') && f.includes('Runbooks'));
  });
});

describe('runbook flows (real engine)', () => {
  it('checklist items are ticked one by one, then the plan (y, not Enter), the upgrade and the check run', async () => {
    const { services, revision, db } = await setup();
    const ui = renderApp(services);
    await start(ui, 'flow-basic');
    let f = await waitForFrame(ui, '[ ] Changes reviewed');
    expect(f).toContain('(item 1 of 2)');
    expect(f).toContain('● 1. Pre-flight checklist — waiting for you');
    await press(ui, KEY.space);
    f = await waitForFrame(ui, '[ ] Maintenance window scheduled');
    expect(f).toContain('✔ Changes reviewed');
    await press(ui, KEY.space);
    // Before the upgrade: the plan, from → to; Enter is not a yes here (only the sandbox takes it).
    f = await waitForFrame(ui, 'Run this plan? Next: "Upgrade to head"', 30_000);
    expect(f).toMatch(/base → 9d3e71c2a5b8: 12 revision\(s\)/);
    await press(ui, KEY.enter, KEY.enter);
    await waitForFrame(ui, 'enter is not enough here: press y');
    expect((await db.query("SELECT to_regclass('alembic_version') AS t")).rows[0]?.t).toBeNull();
    await press(ui, 'y');
    f = await waitForFrame(ui, '✔ run completed', 30_000);
    expect(f).toContain('✔ 1. Pre-flight checklist — done');
    expect(f).toMatch(/✔ 2\. Upgrade to head — done in .*: upgrade base → 9d3e71c2a5b8 \(12 revision\(s\)\)/);
    expect(f).toContain('✔ 3. Verify head — done');
    expect(await revision()).toEqual([HEAD]);
    await press(ui, KEY.enter);
    await waitForFrame(ui, 'revision 9d3e71c2a5b8 (head)');
  });

  it('typed confirmation on a protected environment: wrong name refused in place, exact name goes on (and the backup guard holds)', async () => {
    const { services, revision } = await setup({ protected: true, atHead: true });
    const ui = renderApp(services);
    await start(ui, 'flow-downgrade');
    let f = await waitForFrame(ui, 'Run this plan? Next: "Roll back one revision"');
    expect(f).toContain('1. Roll back one revision [destructive]');
    expect(f).toMatch(/9d3e71c2a5b8 → \w{12}: 1 revision/);
    expect(f).toMatch(/on production \(PROTECTED\) · postgresql:/);
    expect(f).toMatch(/Type mutx_tui_\w+ to run this plan/);
    const expected = /Type (mutx_tui_\w+) to run this plan/.exec(f)![1]!;
    await type(ui, 'qj?');
    await press(ui, KEY.enter);
    f = await waitForFrame(ui, 'does not match');
    expect(f).toContain('"qj?" does not match');
    await press(ui, KEY.backspace, KEY.backspace, KEY.backspace);
    await type(ui, expected);
    await press(ui, KEY.enter);
    // No verified backup younger than backup_max_age_minutes: the engine refuses to touch production.
    f = await waitForFrame(ui, 'refusing to change a protected', 30_000);
    expect(f).toContain('no verified backup of');
    expect(f).toContain('x stop the run (aborted)');
    await press(ui, 'x');
    await waitForFrame(ui, '✖ run failed');
    expect(await revision()).toEqual([HEAD]);
  });

  it('skip with a reason: the failure prompt asks why, the step shows it, the run goes on', async () => {
    const { services, audit } = await setup({ atHead: true });
    const ui = renderApp(services);
    await start(ui, 'flow-skip');
    let f = await waitForFrame(ui, 't try again · s skip (with a reason) · x stop the run (aborted)', 30_000);
    expect(f).toContain('✖ 1. Expect an empty database — failed');
    await press(ui, 's');
    await waitForFrame(ui, 'Why skip it?');
    await type(ui, 'checked by hand');
    await press(ui, KEY.enter);
    // Not a plain success: the end says a failed step was skipped.
    f = await waitForFrame(ui, 'run completed with failed steps skipped', 30_000);
    expect(f).toContain('completed with 1 failed step(s) skipped: "Expect an empty database"');
    expect(f).toContain('⏭ 1. Expect an empty database — skipped: checked by hand');
    expect(f).toContain('✔ 2. Show the current revision — done');
    expect(JSON.stringify(audit.readAll())).toContain('checked by hand');
  });

  it('failure → on_failure offer: switching starts the named runbook', async () => {
    const { services } = await setup({ atHead: true });
    const ui = renderApp(services);
    await start(ui, 'flow-switch');
    await waitForFrame(ui, '1 switch to flow-recover', 30_000);
    await press(ui, '1');
    const f = await waitForFrame(ui, (fr) => fr.includes('Recovery runbook (flow-recover)') && fr.includes('✔ run completed'), 30_000);
    expect(f).toContain('✔ 1. Look at the lock — done');
  });

  it('Ctrl+C while a step runs asks first, then cancels it cleanly (run aborted, nothing left running)', async () => {
    const { services, settings } = await setup();
    const ui = renderApp(services);
    await start(ui, 'flow-cancel');
    await waitForFrame(ui, 'Run this plan?');
    await press(ui, 'y');
    await waitForFrame(ui, '1. Slow command — running');
    await press(ui, KEY.ctrlC);
    let f = await waitForFrame(ui, 'Cancel the running step "Slow command"?');
    // Says what cancelling this step does: a command has no transaction to roll back.
    expect(f).toContain('The command is stopped (SIGTERM, then SIGKILL).');
    expect(f).not.toContain('rolls back its transaction');
    await press(ui, 'n');
    f = await waitForFrame(ui, '1. Slow command — running');
    await press(ui, 'q');
    f = await waitForFrame(ui, 'Quit mutx-ops?');
    expect(f).toContain('quitting cancels it first');
    await press(ui, 'n');
    await waitForFrame(ui, '1. Slow command — running');
    await press(ui, KEY.ctrlC);
    await waitForFrame(ui, 'Cancel the running step');
    await press(ui, 'y');
    f = await waitForFrame(ui, '✖ run aborted', 15_000);
    expect(f).toContain('cancelled by the operator');
    const run = listRuns(settings).find((r) => r.runbook === 'flow-cancel')!;
    expect(run.status).toBe('aborted');
  });

  it('q on a run waiting for an answer leaves it paused and resumable (not aborted), and says so', async () => {
    const { services, settings } = await setup();
    const ui = renderApp(services);
    await start(ui, 'flow-basic');
    await waitForFrame(ui, '[ ] Changes reviewed');
    await press(ui, 'q');
    const f = await waitForFrame(ui, 'Quit and leave the run paused?');
    expect(f).toContain('It stays paused there: nothing is aborted or undone.');
    expect(f).toMatch(/mutx-ops run --resume \S+-flow-basic-\w+/);
    await press(ui, 'y');
    const deadline = Date.now() + 15_000;
    let run = listRuns(settings).find((r) => r.runbook === 'flow-basic');
    while (run?.status !== 'waiting' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      run = listRuns(settings).find((r) => r.runbook === 'flow-basic');
    }
    expect(run?.status).toBe('waiting');
    expect(run?.steps[0]?.status).toBe('waiting');
    // Opened again, home offers it to resume.
    cleanup();
    const again = renderApp(services);
    await waitForFrame(again, '↻ resume flow-basic at step 1/3 "Pre-flight checklist"');
  });

  it('an unfinished run is offered on home and resumes at its step', async () => {
    const { services, settings, audit, db } = await setup();
    // A headless run without --yes stops at the first question: a real paused run.
    const ctx = { settings, operator: { name: 'tester', host: 'test-host' }, audit, target: parseTarget({ url: db.url, environment: 'staging' }) };
    const paused = await runRunbook({ loaded: findRunbook(settings.runbooksPath, 'flow-basic'), ctx, input: new HeadlessInput({ yes: false, onFailure: 'abort' }), onEvent: () => {} });
    expect(paused.outcome).toBe('paused');
    const ui = renderApp(services);
    let f = await waitForFrame(ui, '↻ resume flow-basic at step 1/3 "Pre-flight checklist"');
    expect(f.split('\n').find((l) => l.includes('↻ resume'))).toMatch(/^› /);
    await press(ui, KEY.enter);
    f = await waitForFrame(ui, '[ ] Changes reviewed');
    expect(f).toContain('· resumed');
    await press(ui, KEY.space, KEY.space);
    await waitForFrame(ui, 'Run this plan?', 30_000);
    await press(ui, 'y');
    await waitForFrame(ui, '✔ run completed', 30_000);
    expect(listRuns(settings).find((r) => r.id === paused.runId)?.status).toBe('completed');
  });
});

describe('screens (real services)', () => {
  it('backups: the catalog with verified state; v verifies; o restores through the restore runbook', async () => {
    const { services, settings, audit, db, revision } = await setup({ atHead: true });
    const ctx = { settings, operator: { name: 'tester', host: 'test-host' }, audit, target: parseTarget({ url: db.url, environment: 'staging' }) };
    const record = await backupDatabase(ctx, { verify: true, label: 'before-change' });
    await migrate(ctx, 'downgrade', '-1');
    expect(await revision()).not.toEqual([HEAD]);
    const ui = renderApp(services, { columns: 120, rows: 30 });
    await waitForFrame(ui, 'Runbooks');
    await press(ui, 'b');
    let f = await waitForFrame(ui, '1 in the catalog · 1 verified');
    expect(f).toContain('[before-change]');
    expect(f).toContain(path.dirname(record.file));
    expect(f).toMatch(/✔ yes/);
    expect(f).toContain('o restore (restore-backup)');
    await press(ui, 'v');
    f = await waitForFrame(ui, /✔ verified: checksum ok, \d+ TOC entries/, 30_000);
    await press(ui, 'o');
    // The plan names the backup and says the database is overwritten; y runs it.
    f = await waitForFrame(ui, 'Run this plan? Next: "Restore it"', 30_000);
    expect(f).toMatch(/the database mutx_tui_\w+ is overwritten/);
    expect(f).toContain(path.basename(record.file));
    expect(f).toContain('holds 9d3e71c2a5b8');
    await press(ui, 'y');
    f = await waitForFrame(ui, '✔ run completed', 60_000);
    expect(f).toMatch(/✔ 1\. Choose the backup — done .*selected backup/);
    expect(f).toMatch(/✔ 2\. Restore it (\[destructive\] )?— done/);
    expect(await revision()).toEqual([HEAD]);
  });

  it('follows a resize: the frame always stays shorter than the terminal', async () => {
    const { services } = await setup();
    const ui = renderApp(services, { columns: 100, rows: 30 });
    await waitForFrame(ui, 'pending migrations');
    expect(frame(ui).split('\n').length).toBeLessThan(30);
    const { App } = await import('./App');
    const { makeTheme } = await import('./theme');
    const React = await import('react');
    ui.rerender(React.createElement(App, { services, theme: makeTheme({ NO_COLOR: '1' }), size: { columns: 80, rows: 12 }, flushMs: 20 }));
    const f = await waitForFrame(ui, (fr) => fr.split('\n').length < 12 && fr.includes('Runbooks'));
    for (const line of f.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
  });

  it('history: the graph shows the merge, applied vs pending; d shows the downgrade SQL, then y rolls back to the picked revision', async () => {
    const { services, revision } = await setup({ atHead: true });
    const ui = renderApp(services, { columns: 120, rows: 40 });
    await waitForFrame(ui, 'Runbooks');
    await press(ui, 'h');
    let f = await waitForFrame(ui, '├─╮');
    expect(f).toContain('current 9d3e71c2a5b8');
    expect(f).toMatch(/› ● +9d3e71c2a5b8 applied \(head, current\)/);
    expect(f).toMatch(/mergepoint|merge/);
    expect(f).toMatch(/9d3e71c2a5b8 applied \(head, current\) ◀ the database is here/);
    await press(ui, 'd');
    f = await waitForFrame(ui, 'is the current revision: nothing to roll back');
    await press(ui, 'j');
    f = await waitForFrame(ui, (fr) => /› \S* +\w{12} applied/.test(fr) && !/› \S* +9d3e71c2a5b8/.test(fr));
    const picked = /› \S* +(\w{12}) applied/.exec(f)![1]!;
    await press(ui, 'd');
    // Before any run starts: the SQL the downgrade runs, revision by revision.
    f = await waitForFrame(ui, `Roll back 9d3e71c2a5b8 → ${picked}: the downgrade SQL of 1 revision(s)`, 30_000);
    expect(f).toMatch(/-- 9d3e71c2a5b8 — /);
    expect(f).toMatch(/DROP|ALTER|DELETE/);
    expect(await revision()).toEqual([HEAD]);
    await press(ui, 'y');
    f = await waitForFrame(ui, 'Run this plan?', 30_000);
    expect(f).toContain(`9d3e71c2a5b8 → ${picked}`);
    await press(ui, 'y');
    f = await waitForFrame(ui, '✔ run completed', 30_000);
    expect(f).toContain(`selected revision ${picked}`);
    expect(await revision()).toEqual([picked]);
  });

  it('logs: follows the source, highlights errors, filters with /, toggles all lines, pauses', async () => {
    const { services } = await setup();
    const log = path.join(project.dir, 'logs/app.log');
    const ui = renderApp(services);
    await waitForFrame(ui, 'Runbooks');
    await press(ui, 'l');
    await waitForFrame(ui, 'filter /error/');
    await new Promise((r) => setTimeout(r, 300));
    fs.appendFileSync(log, 'GET /health 200\nERROR db timeout on users\nWARN slow query\n');
    let f = await waitForFrame(ui, '✖ ERROR db timeout on users');
    expect(f).not.toContain('GET /health');
    await press(ui, 'm');
    await waitForFrame(ui, 'showing all lines');
    await new Promise((r) => setTimeout(r, 300));
    fs.appendFileSync(log, 'GET /ready 200\n');
    f = await waitForFrame(ui, 'GET /ready 200');
    expect(f).toContain('✖ ERROR db timeout on users');
    await press(ui, '/');
    for (let i = 0; i < 'error'.length; i++) await press(ui, KEY.backspace);
    await type(ui, 'warn');
    await press(ui, KEY.enter);
    await waitForFrame(ui, 'filter /warn/');
    await new Promise((r) => setTimeout(r, 300));
    fs.appendFileSync(log, 'WARN disk 91%\n');
    f = await waitForFrame(ui, '✖ WARN disk 91%');
    await press(ui, KEY.space);
    await waitForFrame(ui, 'PAUSED');
    await press(ui, KEY.escape);
    await waitForFrame(ui, 'Runbooks');
  });

  it('audit: latest records and whether the chain verifies', async () => {
    const { services, audit } = await setup({ atHead: true });
    const ui = renderApp(services);
    await waitForFrame(ui, 'Runbooks');
    await press(ui, 'a');
    let f = await waitForFrame(ui, 'chain verifies');
    expect(f).toMatch(/upgrade end ok/);
    await press(ui, '/');
    await type(ui, 'upgrade');
    await press(ui, KEY.enter);
    f = await waitForFrame(ui, /filter: upgrade · \d+ of \d+/);
    const rows = f.split('\n').filter((line) => /^. +\d+ \d{4}-\d\d-\d\d /.test(line));
    expect(rows.length).toBeGreaterThan(0);
    expect(f).toMatch(/upgrade end ok/);
    await press(ui, KEY.escape);
    await waitForFrame(ui, (fr) => !fr.includes('filter: upgrade'));
    await press(ui, KEY.escape);
    await waitForFrame(ui, 'Runbooks');
    const text = fs.readFileSync(audit.file, 'utf8').replace('"upgrade"', '"upgradX"');
    fs.writeFileSync(audit.file, text);
    await press(ui, 'a');
    f = await waitForFrame(ui, 'chain BROKEN');
    expect(f).toMatch(/content does not match its hash|does not chain/);
  });
});
