/**
 * The app on an Alembic project (the fixture application, REAL engine and Alembic runner): home
 * shows its revisions, heads and pending; History draws its graph with the four-parent merge and
 * rolls back through Alembic.
 */
import { cleanup } from 'ink-testing-library';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAlembicProject, versionRowsOf, type AlembicProject } from '../../test/helpers/alembic';
import { createTestDatabase, runCli, type TestDatabase } from '../../test/helpers/db';
import fs from 'node:fs';
import { frame, KEY, press, realServices, renderApp, type, waitForFrame } from './testing/harness';

let db: TestDatabase;
let project: AlembicProject;

beforeAll(async () => {
  db = await createTestDatabase('mutx_alembic_tui');
  project = createAlembicProject({ settings: 'lock_wait_seconds: 10\n' });
  const up = await runCli(['--database-url', db.url, 'upgrade', 'e7e7e7e7e7e7'], { cwd: project.dir });
  if (up.exitCode !== 0) throw new Error(String(up.all));
});
afterEach(() => cleanup());
afterAll(async () => {
  await db.drop();
  project.cleanup();
});

describe('the app on an Alembic project', () => {
  it('home: the Alembic revision vs head, what is pending, the runbooks mutx-ops ships', async () => {
    const { services } = realServices({ projectDir: project.dir, url: db.url });
    const ui = renderApp(services, { columns: 120, rows: 40 });
    await waitForFrame(ui, '1 pending migration');
    const f = frame(ui);
    expect(f).toMatch(/revision e7e7e7e7e7e7 .*vs head head_0012/);
    expect(f).toContain('emergency-rollback');
    expect(f).toContain('deploy');
  });

  it('history: the graph with its branch point and four-parent merge; d shows the downgrade SQL, y rolls back through Alembic', async () => {
    const { services } = realServices({ projectDir: project.dir, url: db.url });
    const ui = renderApp(services, { columns: 140, rows: 45 });
    await waitForFrame(ui, 'Runbooks');
    await press(ui, 'h');
    const f = await waitForFrame(ui, 'f00dfeedcafe');
    expect(f).toContain('current e7e7e7e7e7e7');
    expect(f).toMatch(/○ +head_0012 +pending \(head\)/);
    expect(f).toMatch(/e7e7e7e7e7e7 +applied \(current\)/);
    // Ids of every shape whole, never cut: 15 and 13 characters here.
    expect(f).toMatch(/auth_fields_001 +applied \(branchpoint\)/);
    expect(f).toMatch(/4b2c9d1e8f7a6 +applied \(branchpoint\)/);
    expect(f).toMatch(/├─╮─╮─╮/);
    // Down to the merge, one row below the current revision, and roll back to it.
    await press(ui, 'j');
    await waitForFrame(ui, /› \S* +f00dfeedcafe/);
    await press(ui, 'd');
    // Alembic's offline downgrade SQL first, before any run starts.
    await waitForFrame(ui, 'the downgrade SQL of', 30_000);
    await waitForFrame(ui, 'DROP INDEX CONCURRENTLY IF EXISTS ix_deployments_created_at', 30_000);
    await press(ui, 'y');
    // The downgrade's review (through Alembic's offline SQL) is read before anything changes.
    await waitForFrame(ui, 'DROP INDEX CONCURRENTLY IF EXISTS ix_deployments_created_at', 30_000);
    await press(ui, KEY.enter);
    // Then the plan: the backup, the downgrade to the picked revision; only y runs it.
    const plan = await waitForFrame(ui, 'Run this plan?', 30_000);
    expect(plan).toMatch(/→ f00dfeedcafe/);
    await press(ui, 'y');
    await waitForFrame(ui, '✔ run completed', 60_000);
    expect(await versionRowsOf(db)).toEqual(['f00dfeedcafe']);
  }, 90_000);

  it('history: c writes a new revision through Alembic and shows the whole file; autogenerate on a database behind head says why not', async () => {
    const { services } = realServices({ projectDir: project.dir, url: db.url });
    const ui = renderApp(services, { columns: 140, rows: 45 });
    await waitForFrame(ui, 'Runbooks');
    await press(ui, 'h');
    await waitForFrame(ui, 'c new revision');
    await press(ui, 'c');
    await waitForFrame(ui, 'message:');
    await type(ui, 'add notes to agents');
    await press(ui, KEY.enter);
    await waitForFrame(ui, '1 autogenerates');
    await press(ui, '1');
    // Alembic refuses to autogenerate against a database that is not at head: its reason, nothing written.
    await waitForFrame(ui, /✖ .*not up to date/i, 30_000);
    const before = fs.readdirSync(`${project.dir}/src/api/models/migrations/versions`).length;
    await press(ui, KEY.escape);
    await press(ui, 'c');
    await waitForFrame(ui, 'message:');
    await type(ui, 'add notes to agents');
    await press(ui, KEY.enter);
    await press(ui, '2');
    const shown = await waitForFrame(ui, /✔ created .*add_notes_to_agents\.py/, 30_000);
    expect(shown).toContain("down_revision = 'head_0012'");
    expect(shown).toContain('def upgrade()');
    expect(shown).toContain('review the generated file below');
    expect(fs.readdirSync(`${project.dir}/src/api/models/migrations/versions`).length).toBe(before + 1);
    await press(ui, KEY.enter);
    const back = await waitForFrame(ui, /○ +\S+ +pending \(head\) add notes to agents/);
    expect(back).toMatch(/created \S+ \(pending\)/);
    expect(back).toMatch(/› ○ +\S+ +pending \(head\) add notes to agents/);
    // Nothing was applied: the database is where it was.
    expect(await versionRowsOf(db)).toEqual(['f00dfeedcafe']);
  }, 90_000);
});
