/**
 * Keys that belong to the terminal, not to a screen: Ctrl+letter is never the letter (Ctrl+Y
 * does not confirm a plan, Ctrl+A does not open the audit trail) and Ctrl+L draws the whole
 * frame again on a cleared screen. The REAL services over a test database.
 */
import { cleanup } from 'ink-testing-library';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, createTestProject, type TestDatabase, type TestProject } from '../../test/helpers/db';
import { parseTarget } from '../core/connection';
import { migrate } from '../core/migrations/operations';
import { CLEAR_SCREEN } from './redraw';
import { frame, KEY, press, realServices, renderApp, type, waitForFrame, writeRunbook } from './testing/harness';

const HEAD = '9d3e71c2a5b8';
const ctrl = (letter: string) => String.fromCharCode(letter.charCodeAt(0) - 96);

let project: TestProject;
let db: TestDatabase;

beforeAll(async () => {
  project = createTestProject({ settings: 'lock_wait_seconds: 5\nenvironments:\n  staging:\n    url_env: SHELL_KEYS_URL\n' });
  writeRunbook(
    project.dir,
    'keys-downgrade',
    `name: keys-downgrade
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
  );
  db = await createTestDatabase('shell_keys');
});

afterEach(() => cleanup());

afterAll(async () => {
  await db?.drop();
  project?.cleanup();
});

describe('terminal keys', () => {
  it('Ctrl+letter is not the letter; Ctrl+L redraws the whole frame on a cleared screen', async () => {
    const { services, settings, audit } = realServices({ projectDir: project.dir, url: db.url, environment: 'staging' });
    await migrate({ settings, operator: { name: 'tester', host: 'test-host' }, audit, target: parseTarget({ url: db.url }) }, 'upgrade', 'head');
    const revision = async () => (await db.query<{ version_num: string }>('SELECT version_num FROM alembic_version')).rows.map((r) => r.version_num);
    const ui = renderApp(services, { columns: 100, rows: 30 });
    await waitForFrame(ui, `revision ${HEAD} (head)`);

    // Ctrl+A, Ctrl+B, Ctrl+R, Ctrl+Q: home stays home (and the app open); the plain letter still works.
    const before = ui.frames.length;
    await press(ui, ctrl('a'), ctrl('b'), ctrl('r'), ctrl('q'));
    const between = ui.frames.slice(before).join('\n');
    await press(ui, 'a');
    await waitForFrame(ui, 'Audit trail');
    expect(between).not.toContain('Audit trail');
    expect(between).not.toContain('Backups');
    await press(ui, KEY.escape);
    await waitForFrame(ui, 'Runbooks');

    // Ctrl+L: the screen is cleared (Ink then writes its frame again after it: tmux tests see that).
    const beforeRedraw = ui.frames.length;
    await press(ui, ctrl('l'));
    expect(ui.frames.slice(beforeRedraw)).toContain(CLEAR_SCREEN);
    expect(ui.frames.slice(beforeRedraw).join('')).not.toContain('Audit trail');

    // The plan of a downgrade: Ctrl+Y is not y — nothing runs; y runs it.
    await press(ui, '/');
    await type(ui, 'keys-downgrade');
    await press(ui, KEY.enter, KEY.enter);
    await waitForFrame(ui, 'Run this plan?');
    await press(ui, ctrl('y'), ctrl('y'));
    expect(frame(ui)).toContain('Run this plan?');
    expect(await revision()).toEqual([HEAD]);
    await press(ui, 'y');
    await waitForFrame(ui, 'run completed');
    expect(await revision()).not.toEqual([HEAD]);
  });
});
