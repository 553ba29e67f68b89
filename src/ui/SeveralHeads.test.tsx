/**
 * The app at two branch heads (after a rollback to one parent of a merge): emergency-rollback's
 * plan lists the rollbacks one downgrade can reach, the review asks which (the question names the
 * heads), and the run ends where the choice said. Real engine and database, the MUTX chain.
 */
import { cleanup } from 'ink-testing-library';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, createTestProject, runCli, type TestDatabase, type TestProject } from '../../test/helpers/db';
import { environmentsYaml } from '../../test/helpers/runbooks';
import { KEY, press, realServices, renderApp, type, waitForFrame } from './testing/harness';

let db: TestDatabase;
let project: TestProject;
const cli = (args: string[]) => runCli(args, { cwd: project.dir, env: { MUTX_TEST_DB_URL: db.url, DATABASE_URL: '' } });
const revision = async () => (await db.query<{ version_num: string }>('SELECT version_num FROM alembic_version ORDER BY 1')).rows.map((r) => r.version_num);

beforeAll(async () => {
  db = await createTestDatabase('rbs_heads_ui');
  project = createTestProject({ settings: environmentsYaml() });
  expect((await cli(['upgrade', '071fffe7fb4c', '--env', 'staging'])).exitCode).toBe(0);
  expect((await cli(['downgrade', 'dd52f99353f0', '--env', 'staging'])).exitCode).toBe(0);
}, 60_000);
afterEach(() => cleanup());
afterAll(async () => {
  await db?.drop();
  project?.cleanup();
});

describe('emergency-rollback in the app at two branch heads', () => {
  it('the plan offers the choices, the review asks which rollback, the run ends at the branches\' base', async () => {
    const { services } = realServices({ projectDir: project.dir, url: db.url, environment: 'staging' });
    const ui = renderApp(services, { columns: 180, rows: 50 });
    await waitForFrame(ui, 'Runbooks');
    await press(ui, '/');
    await type(ui, 'emergency-rollback');
    await press(ui, KEY.enter, KEY.enter);
    let f = await waitForFrame(ui, 'which rollback?', 30_000);
    expect(f).toContain('Choose: the database is at 2 heads (b0f1c770ae98, dd52f99353f0): which rollback?');
    expect(f).toMatch(/revision downgrade to 5570bd6d8f6c, the base of b0f1c770ae98 and dd52f99353f0 \(undoes every branch head\)/);
    expect(f).toContain('or forward to the merge again: `mutx-ops upgrade 071fffe7fb4c`');
    await press(ui, KEY.enter);
    await waitForFrame(ui, 'enter: reviewed', 30_000);
    await press(ui, KEY.enter);
    f = await waitForFrame(ui, 'Run this plan?', 30_000);
    expect(f).toMatch(/b0f1c770ae98, dd52f99353f0 → 5570bd6d8f6c: 2 revision\(s\)/);
    await press(ui, 'y');
    f = await waitForFrame(ui, /✔ 5\. Verify the rollback — done in .*: at 5570bd6d8f6c as expected/, 60_000);
    expect(await revision()).toEqual(['5570bd6d8f6c']);
  }, 120_000);
});
