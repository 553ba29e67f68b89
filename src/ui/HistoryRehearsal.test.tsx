import { cleanup } from 'ink-testing-library';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, createTestProject, type TestDatabase, type TestProject } from '../../test/helpers/db';
import { parseTarget } from '../core/connection';
import { migrate } from '../core/migrations/operations';
import { rehearse } from '../core/rehearse/rehearse';
import { press, realServices, renderApp, waitForFrame } from './testing/harness';

/** History's detail shows what the record of rehearsals says about the selected revision. */
let db: TestDatabase;
let project: TestProject;

beforeAll(async () => {
  db = await createTestDatabase('mutx_rh_ui');
  project = createTestProject();
});
afterEach(() => cleanup());
afterAll(async () => {
  await db?.drop();
  project?.cleanup();
});

describe('History with rehearsals', () => {
  it('the selected revision shows "downgrade rehearsed ok …" after a rehearsal of downgrade -1', async () => {
    const { services, settings, audit } = realServices({ projectDir: project.dir, url: db.url });
    const ctx = { settings, target: parseTarget({ url: db.url }), operator: { name: 'tester', host: 'test-host' }, audit };
    await migrate(ctx, 'upgrade', 'head');
    const report = await rehearse(ctx, { direction: 'downgrade', target: '-1' });
    expect(report.ok).toBe(true);
    const ui = renderApp(services, { columns: 160, rows: 40 });
    await waitForFrame(ui, 'Runbooks');
    await press(ui, 'h');
    const f = await waitForFrame(ui, 'rehearsal: ');
    expect(f).toMatch(/rehearsal: upgrade never rehearsed; downgrade rehearsed ok \d+ s ago/);
  });
});
