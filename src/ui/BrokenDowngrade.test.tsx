/**
 * The app on a rollback whose downgrade is broken (issue 14), real engine and database: the plan
 * says the downgrade is known to fail (found by the quick rehearsal) and names the backup at the
 * target revision; at the step, Enter is a no (the step stops, nothing changed), y restores it.
 */
import { cleanup } from 'ink-testing-library';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, createTestProject, runCli, type TestDatabase, type TestProject } from '../../test/helpers/db';
import { writeMigration } from '../../test/helpers/migrations';
import { environmentsYaml } from '../../test/helpers/runbooks';
import { KEY, press, realServices, renderApp, type, waitForFrame } from './testing/harness';

let db: TestDatabase;
let project: TestProject;
const cli = (args: string[]) => runCli(args, { cwd: project.dir, env: { MUTX_TEST_DB_URL: db.url, DATABASE_URL: '' } });
const revision = async () => (await db.query<{ version_num: string }>('SELECT version_num FROM alembic_version')).rows.map((r) => r.version_num);

beforeAll(async () => {
  db = await createTestDatabase('rbs_broken_ui');
  project = createTestProject({ copyMigrations: false, settings: environmentsYaml() });
  writeMigration(project.migrationsDir, 'r1', { message: 'base', upgrade: 'CREATE TABLE items (id int);', downgrade: 'DROP TABLE items;' });
  writeMigration(project.migrationsDir, 'r2', { revises: 'r1', message: 'kind enum', upgrade: "CREATE TYPE kind AS ENUM ('a');", downgrade: "CREATE TYPE kind AS ENUM ('a');" });
  expect((await cli(['upgrade', 'r1', '--env', 'staging'])).exitCode).toBe(0);
  expect((await cli(['backup', '--env', 'staging', '--label', 'pre-deploy'])).exitCode).toBe(0);
  expect((await cli(['upgrade', 'r2', '--env', 'staging'])).exitCode).toBe(0);
}, 60_000);
afterEach(() => cleanup());
afterAll(async () => {
  await db?.drop();
  project?.cleanup();
});

describe('emergency-rollback in the app, downgrade broken', () => {
  it('the plan says KNOWN TO FAIL and names the backup; Enter at the question stops, y restores it instead', async () => {
    const { services } = realServices({ projectDir: project.dir, url: db.url, environment: 'staging' });
    const ui = renderApp(services, { columns: 160, rows: 60 });
    await waitForFrame(ui, 'Runbooks');
    await press(ui, '/');
    await type(ui, 'emergency-rollback');
    await press(ui, KEY.enter, KEY.enter);
    // The review of the downgrade is read first; then the plan.
    await waitForFrame(ui, 'enter: reviewed', 30_000);
    await press(ui, KEY.enter);
    let f = await waitForFrame(ui, 'Run this plan?', 30_000);
    expect(f).toMatch(/quick rehearsal: the downgrade to r1 FAILED on a schema-only copy/);
    expect(f).toMatch(/the downgrade of r2 is KNOWN TO FAIL: restoring the verified backup taken at the target revision \(r1\) is the safer way back/);
    expect(f).toMatch(/it offers to restore staging_\S+_r1_pre-deploy\.dump/);
    await press(ui, 'y');
    f = await waitForFrame(ui, 'is known to fail: restore', 30_000);
    expect(f).toMatch(/restore staging_\S+_r1_pre-deploy\.dump \(at r1\) instead\?/);
    expect(f).toContain('y yes · enter/n no');
    // Enter is a no: the step stops before the downgrade, naming the backup and the command.
    await press(ui, KEY.enter);
    f = await waitForFrame(ui, 't try again', 30_000);
    expect(f).toMatch(/stopped before the downgrade: the downgrade of r2 is known to fail; the backup at r1 is staging_\S+/);
    expect(await revision()).toEqual(['r2']);
    await press(ui, 't');
    await waitForFrame(ui, 'is known to fail: restore', 30_000);
    await press(ui, 'y');
    f = await waitForFrame(ui, /✔ 5\. Verify the rollback — done in .*: at r1 as expected/, 60_000);
    expect(f).toMatch(/✔ 4\. Roll back the problematic migration \[destructive\] — done in .*: restored staging_\S+_r1_pre-deploy\.dump/);
    expect(await revision()).toEqual(['r1']);
    await press(ui, KEY.enter);
    await waitForFrame(ui, '✔ run completed', 30_000);
  }, 120_000);
});
