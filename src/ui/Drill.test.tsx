/**
 * A practice drill from the home screen, against the REAL engine and a real sandbox cluster:
 * the drill is listed after the runbooks, its briefing is asked before it starts, the fault
 * bites (a blocking transaction named in the failure), and the debrief shows what the
 * database says.
 */
import fs from 'node:fs';
import path from 'node:path';
import { cleanup } from 'ink-testing-library';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, createTestProject, type TestDatabase, type TestProject } from '../../test/helpers/db';
import { destroySandbox, sandboxStatus } from '../core/sandbox';
import { releaseOwnSandbox } from '../cli/appTarget';
import { appServices } from '../cli/tui';
import { KEY, press, realServices, renderApp, type, waitForFrame, writeRunbook } from './testing/harness';

let project: TestProject;
let db: TestDatabase;

beforeAll(async () => {
  project = createTestProject();
  db = await createTestDatabase('mutx_tui_drill');
  writeRunbook(
    project.dir,
    'drill-upgrade',
    `name: drill-upgrade
title: Upgrade to head
category: deploy
description: Upgrade, then verify.
steps:
  - id: upgrade
    title: Upgrade to head
    type: migrate
    action: upgrade
    target: head
    text: Runs every pending migration.
    on_failure: [retry, abort]
  - id: verify
    title: Verify head
    type: verify
    expect: head
    text: The database must now be at head.
`,
  );
  fs.mkdirSync(path.join(project.dir, 'runbooks', 'drills'));
  fs.writeFileSync(
    path.join(project.dir, 'runbooks', 'drills', 'held-lock.yaml'),
    `name: held-lock
title: A held lock blocks the upgrade
briefing: A report job keeps a transaction open on users. Upgrade anyway.
expected_response: Find the blocker in the failure, then back out cleanly.
runbook: drill-upgrade
fault:
  type: blocking-transaction
  application_name: nightly-report
  statement: UPDATE users SET updated_at = updated_at WHERE email = 'bob@mutx.dev'
settings:
  lock_timeout_seconds: 0.5
  lock_retries: 0
success:
  revision: [setup, head]
  blocker_named: true
`,
  );
});
afterEach(() => cleanup());
afterAll(async () => {
  const { settings } = realServices({ projectDir: project.dir, url: db.url });
  await destroySandbox(settings);
  await db.drop();
  project.cleanup();
});

describe('nothing configured', () => {
  it('the app opens on the practice sandbox (started as its own) and stops it when released', async () => {
    const saved = { cwd: process.cwd(), url: process.env.DATABASE_URL, prefs: process.env.MUTX_OPS_PREFS_DIR };
    process.chdir(project.dir);
    delete process.env.DATABASE_URL;
    process.env.MUTX_OPS_PREFS_DIR = path.join(project.dir, '.prefs');
    try {
      const resolved = await appServices();
      if (typeof resolved === 'number') throw new Error(`appServices exited ${resolved}`);
      const status = await sandboxStatus(resolved.sandboxOf!);
      expect(status).toMatchObject({ state: 'running', ownedByApp: true });
      const ui = renderApp(resolved.services);
      const f = await waitForFrame(ui, (fr) => fr.includes('sandbox (practice)') && fr.includes('692221fc80ff'), 30_000);
      expect(f).toContain(`mutx-sandbox-`); // the sandbox listens on a Unix socket only
      expect(f).toContain(`:${status.port}/mutx`);
      expect(f).toMatch(/1 pending/);
      cleanup();
      await releaseOwnSandbox(resolved.sandboxOf);
      expect((await sandboxStatus(resolved.sandboxOf!)).state).toBe('stopped');
    } finally {
      process.chdir(saved.cwd);
      if (saved.url !== undefined) process.env.DATABASE_URL = saved.url;
      if (saved.prefs === undefined) delete process.env.MUTX_OPS_PREFS_DIR;
      else process.env.MUTX_OPS_PREFS_DIR = saved.prefs;
    }
  }, 60_000);
});

describe('drills in the app', () => {
  it('a protected environment\'s home offers no drills', async () => {
    const { services } = realServices({ projectDir: project.dir, url: db.url, environment: 'production', protected: true });
    const ui = renderApp(services, { columns: 120, rows: 40 });
    const f = await waitForFrame(ui, 'drill-upgrade');
    expect(f).not.toContain('◎ drill');
  });

  it('home lists the drill; enter shows its briefing; the run fails on the blocker and the debrief passes after abort', async () => {
    const { services, settings } = realServices({ projectDir: project.dir, url: db.url, environment: 'staging' });
    const ui = renderApp(services, { columns: 120, rows: 40 });
    let f = await waitForFrame(ui, '◎ drill held-lock');
    expect(f).toMatch(/◎ drill held-lock\s+A held lock blocks the upgrade \[practice on the sandbox\]/);
    // Drills come after every runbook.
    expect(f.indexOf('◎ drill')).toBeGreaterThan(f.indexOf('drill-upgrade'));
    await press(ui, '/');
    await type(ui, 'held-lock');
    await press(ui, KEY.enter, KEY.enter);
    f = await waitForFrame(ui, 'Start the practice drill "A held lock blocks the upgrade"?');
    expect(f).toContain('A report job keeps a transaction open on users.');
    // The dialog names the drill's own database, not the app's target.
    expect(f).toContain('◎ PRACTICE DRILL on mutx_drill_held_lock in the local sandbox');
    expect(f).not.toContain(db.name);
    await press(ui, 'y');
    // The drill's own database is in the sandbox: its plan takes Enter.
    f = await waitForFrame(ui, 'Run this plan?', 60_000);
    expect(f).toContain('enter/y run this plan');
    expect(f).toContain('mutx_drill_held_lock');
    await press(ui, KEY.enter);
    f = await waitForFrame(ui, 't try again · 1 wait for the blocker to end, then try again · x stop the run (aborted)', 60_000);
    expect(f).toMatch(/waiting on locks held by pid \d+ \(nightly-report, idle in transaction\)/);
    expect(f).toMatch(/^◎ PRACTICE DRILL on postgresql:\/\/postgres@%2F\S*mutx-sandbox-\w+:\d+\/mutx_drill_held_lock$/m);
    expect(f).not.toContain('environment: staging');
    await press(ui, 'x');
    f = await waitForFrame(ui, 'Drill debrief:', 60_000);
    expect(f).toContain('Drill debrief: PASSED');
    expect(f).toMatch(/✔ mutx-ops named the blocking session to the operator — pid \d+ appears/);
    expect(f).toMatch(/✔ the database ends at setup or head — at \w+ \(setup\)/);
    // The drill ran on the sandbox, not on the app's own target.
    expect((await db.query("SELECT to_regclass('users') AS t")).rows[0]?.t).toBeNull();
    expect((await sandboxStatus(settings)).state).toBe('running');
  }, 120_000);
});
