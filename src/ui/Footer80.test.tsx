/**
 * At 80×24 every screen's last line is its footer, and the footer ends with `? help · q quit`
 * uncut (the screen's own keys give way to `…` first). The REAL services over a test database.
 */
import { cleanup } from 'ink-testing-library';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { createTestDatabase, createTestProject, REPO_ROOT, type TestDatabase, type TestProject } from '../../test/helpers/db';
import { backupDatabase } from '../core/backup';
import { parseTarget } from '../core/connection';
import { migrate } from '../core/migrations/operations';
import { footerText } from './components/Footer';
import { KEY, press, realServices, renderApp, type Rendered, waitForFrame, writeRunbook } from './testing/harness';

const SIZE = { columns: 80, rows: 24 };

let project: TestProject;
let db: TestDatabase;

beforeAll(async () => {
  project = createTestProject({ settings: 'lock_wait_seconds: 5\nenvironments:\n  staging:\n    url_env: SHELL_FOOTER_URL\n    log_source: logs/app.log\n' });
  // The shipped runbooks (a home list longer than 24 rows can hold), and one long-running step.
  fs.cpSync(path.join(REPO_ROOT, 'runbooks'), path.join(project.dir, 'runbooks'), { recursive: true });
  writeRunbook(
    project.dir,
    'footer-long',
    `name: footer-long
title: A long command with a very long title that fills the whole title line of the run screen
category: maintenance
description: Sleeps, then asks.
steps:
  - id: slow
    title: Sleep for a while (a step title long enough to fill the row at eighty columns)
    type: command
    command: [sleep, "30"]
    text: Sleeps.
`,
  );
  db = await createTestDatabase('shell_footer');
});

afterEach(() => cleanup());

afterAll(async () => {
  await db?.drop();
  project?.cleanup();
});

/** The frame's rows: fewer than the terminal has, the last one the footer with its tail whole. */
function expectFooter(text: string): void {
  const rows = text.split('\n');
  // Below the terminal's height: Ink then rewrites only the lines that changed (at full height it clears the screen every frame).
  expect(rows.length, text).toBeLessThanOrEqual(SIZE.rows - 1);
  const last = rows[rows.length - 1]!;
  expect(last.length, text).toBeLessThan(SIZE.columns);
  expect(last, text).toMatch(/\? help · q quit$/);
}

async function onScreen(ui: Rendered, marker: string | RegExp): Promise<string> {
  return waitForFrame(ui, (f) => (typeof marker === 'string' ? f.includes(marker) : marker.test(f)) && /\? help · q quit$/.test(f));
}

describe('the footer at 80×24', () => {
  it('footerText keeps `? help · q quit` whole and elides the screen keys that do not fit', () => {
    const keys = [['enter', 'start / resume'], ['/', 'filter'], ['h', 'history'], ['b', 'backups'], ['l', 'logs'], ['a', 'audit'], ['r', 'refresh'], ['?', 'help'], ['q', 'quit']] as const;
    expect(footerText(keys, 200)).toBe('enter start / resume · / filter · h history · b backups · l logs · a audit · r refresh · ? help · q quit');
    expect(footerText(keys, 80)).toBe('enter start / resume · / filter · h history · b backups · … · ? help · q quit');
    // A screen without them still ends with them; a very narrow one keeps as much of the tail as fits.
    expect(footerText([['esc', 'back']], 80)).toBe('esc back · ? help · q quit');
    expect(footerText([['esc', 'back']], 12)).toBe('? help · q…');
  });

  it('home, history, backups, logs, audit and a running step all end with the whole tail', async () => {
    const { services, settings, audit } = realServices({ projectDir: project.dir, url: db.url, environment: 'staging' });
    const ctx = { settings, operator: { name: 'tester', host: 'test-host' }, audit, target: parseTarget({ url: db.url, environment: 'staging' }) };
    await migrate(ctx, 'upgrade', 'head');
    await backupDatabase(ctx, { verify: true });
    const ui = renderApp(services, SIZE);
    expectFooter(await onScreen(ui, 'Runbooks'));
    expectFooter(await onScreen(ui, '(head)'));
    for (const [key, marker] of [['h', /History|revision/], ['b', /Backups|backup/], ['l', /Logs|log/], ['a', /Audit|audit/]] as const) {
      await press(ui, key);
      const text = await onScreen(ui, marker);
      expect(text).not.toContain('Runbooks');
      expectFooter(text);
      await press(ui, KEY.escape);
      await onScreen(ui, 'Runbooks');
    }
    await press(ui, '/');
    for (const ch of 'footer-long') ui.stdin.write(ch);
    await press(ui, KEY.enter, KEY.enter);
    let text = await onScreen(ui, /Run this plan\?|running/);
    expectFooter(text);
    if (text.includes('Run this plan?')) await press(ui, 'y');
    text = await onScreen(ui, 'step running');
    expectFooter(text);
    // The run stops (x, then yes): the finished run's screen too.
    await press(ui, 'x');
    await waitForFrame(ui, 'Stop the run');
    await press(ui, 'y');
    expectFooter(await onScreen(ui, /run aborted|aborted/));
  });
});
