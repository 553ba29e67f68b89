import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadProjectSettings } from '../src/core/config';
import { destroySandbox } from '../src/core/sandbox';
import type { Debrief } from '../src/runbook/drill/drill';
import { createAlembicProject, createMutxAlembicProject, versionRowsOf, type AlembicProject } from './helpers/alembic';
import { createTestDatabase, runCli, type TestDatabase } from './helpers/db';
import { environmentsYaml, logWriter, recordingServer, resetRunbookTarget } from './helpers/runbooks';

// Every runbook, headless, on an Alembic project: the fixture application with a mutx-ops.yaml
// that only names its environments. No runbooks/ of its own: the ones mutx-ops ships are used.
let db: TestDatabase;
let project: AlembicProject;
const HEAD = 'head_0012';
const BEFORE_HEAD = 'e7e7e7e7e7e7';

beforeAll(async () => {
  db = await createTestDatabase('mutx_alembic_runbooks');
  project = createAlembicProject({ extras: [] });
  // The environments of the SQL-engine runbook tests, minus the runbooks folder.
  fs.writeFileSync(path.join(project.dir, 'mutx-ops.yaml'), environmentsYaml().replace(/^runbooks_dir: .*\n/m, ''));
});
afterAll(async () => {
  await db.drop();
  project.cleanup();
});
beforeEach(() => resetRunbookTarget(db, project.dir));

const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { cwd: project.dir, env: { MUTX_TEST_DB_URL: db.url, DATABASE_URL: '', ...env } });
const rows = () => versionRowsOf(db);
const backupCount = () => {
  const dir = path.join(project.dir, '.mutx-ops', 'backups');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => name.endsWith('.meta.json')).length : 0;
};

describe('the runbooks on an Alembic project', () => {
  it('lists the runbooks mutx-ops ships, and status reads the Alembic revisions', async () => {
    const list = await cli(['runbooks']);
    expect(list.exitCode, String(list.all)).toBe(0);
    expect(String(list.stdout)).toMatch(/^deploy\s/m);
    expect(String(list.stdout)).toMatch(/^emergency-rollback\s/m);
    expect((await cli(['upgrade', BEFORE_HEAD, '--env', 'staging'])).exitCode).toBe(0);
    const status = await cli(['run', 'status', '--env', 'staging']);
    expect(status.exitCode, String(status.all)).toBe(0);
    expect(String(status.stdout)).toMatch(new RegExp(`current: ${BEFORE_HEAD}; head: ${HEAD}`));
    expect(String(status.stdout)).toMatch(/○ head_0012 add region to deployments/);
  });

  it('deploy: checklist, backup, deploy command, Alembic upgrade, verify, a quiet log watch', async () => {
    expect((await cli(['upgrade', BEFORE_HEAD, '--env', 'staging'])).exitCode).toBe(0);
    const app = logWriter(path.join(project.dir, 'app.log'), () => `INFO request ok ${Date.now()}`);
    const result = await cli(['run', 'deploy', '--env', 'staging', '--yes', '--logs-duration', '1.5']).finally(() => app.stop());
    expect(result.exitCode, String(result.all)).toBe(0);
    expect(await rows()).toEqual([HEAD]);
    expect(backupCount()).toBe(1);
    expect(String(result.stdout)).toMatch(new RegExp(`${BEFORE_HEAD} → ${HEAD}: 1 revision`));
    expect(String(result.stdout)).toMatch(/run \S+ completed/);
    const applied = await db.query("SELECT revision FROM mutx_ops.ledger WHERE outcome = 'applied' AND run_id IS NOT NULL");
    expect(applied.rows.map((r) => r.revision)).toEqual([HEAD]);
  });

  it('deploy whose log watch sees errors switches to the emergency rollback, which goes back one revision', async () => {
    expect((await cli(['upgrade', BEFORE_HEAD, '--env', 'staging'])).exitCode).toBe(0);
    const app = logWriter(path.join(project.dir, 'app.log'), () => `ERROR column "region" broke ${Date.now()}`, 10);
    const result = await cli(['run', 'deploy', '--env', 'staging', '--yes', '--logs-duration', '20', '--on-failure', 'switch']).finally(() => app.stop());
    expect(result.exitCode, String(result.all)).toBe(0);
    expect(String(result.stdout)).toMatch(/switching to runbook emergency-rollback/);
    expect(await rows()).toEqual([BEFORE_HEAD]);
    expect((await db.query("SELECT to_regclass('public.ix_deployments_created_at') IS NOT NULL AS kept")).rows[0]!.kept).toBe(true);
  });

  it('rollback-to-revision (a merge point, picked with --target) and production-rollback with the environment commands', async () => {
    expect((await cli(['upgrade', 'head', '--env', 'staging'])).exitCode).toBe(0);
    const back = await cli(['run', 'rollback-to-revision', '--env', 'staging', '--yes', '--target', 'f00dfeedcafe']);
    expect(back.exitCode, String(back.all)).toBe(0);
    expect(await rows()).toEqual(['f00dfeedcafe']);
    expect((await cli(['upgrade', 'head', '--env', 'staging'])).exitCode).toBe(0);
    const production = await cli(['run', 'production-rollback', '--env', 'staging', '--yes', '--logs-duration', '1']);
    expect(production.exitCode, String(production.all)).toBe(0);
    expect(String(production.stdout)).toMatch(new RegExp(`downgrade ${HEAD} → ${BEFORE_HEAD}`));
    // The optional restore offers only a backup of the revision rolled back to: the ones from before
    // the run are at head (restoring one would undo the rollback), so there is none to offer.
    expect(String(production.stdout)).toContain(`no verified backup from before this run holds ${BEFORE_HEAD} (the revision the database is at): none to offer`);
    expect(await rows()).toEqual([BEFORE_HEAD]);
    for (const marker of ['stop', 'deploy_previous', 'start']) expect(fs.existsSync(path.join(project.dir, `${marker}.done`)), marker).toBe(true);
  }, 120_000);

  // test-migrations' chain-test step is `mutx-ops test`'s checks: through Alembic they take ~30-60 s
  // on this fixture, so they are covered by test/ciTest.test.ts, and the runbook by the SQL engine's tests.
  it('initial-setup, not-up-to-date (stamp)', async () => {
    await db.query('DROP SCHEMA public CASCADE; DROP SCHEMA IF EXISTS mutx_ops CASCADE; CREATE SCHEMA public;');
    const setup = await cli(['run', 'initial-setup', '--env', 'dev', '--yes']);
    expect(setup.exitCode, String(setup.all)).toBe(0);
    expect(await rows()).toEqual([HEAD]);
    // A version row no file knows (a revision deployed from another branch of the code).
    await db.query("UPDATE alembic_version SET version_num = 'deadbeef0000'");
    const current = await cli(['current', '--env', 'staging']);
    expect(current.exitCode).toBe(2);
    expect(String(current.stderr)).toMatch(/at revision deadbeef0000, which no migration file knows/);
    const stamped = await cli(['run', 'not-up-to-date', '--env', 'staging', '--yes', '--target', HEAD]);
    expect(stamped.exitCode, String(stamped.all)).toBe(0);
    expect(await rows()).toEqual([HEAD]);
  });

  it('reconcile-half-applied backs out an autocommit block left half-applied', async () => {
    // A half-applied autocommit block: its index was built, the revision's own transaction failed.
    expect((await cli(['upgrade', 'f00dfeedcafe', '--env', 'staging'])).exitCode).toBe(0);
    const file = path.join(project.versionsDir, 'e7e7e7e7e7e7_index_deployments_concurrently.py');
    const original = fs.readFileSync(file, 'utf8');
    try {
      fs.writeFileSync(file, original.replace('ON deployments (created_at)")', 'ON deployments (created_at)")\n    op.execute("SELECT 1/0")'));
      expect((await cli(['upgrade', BEFORE_HEAD, '--env', 'staging'])).exitCode).toBe(1);
    } finally {
      fs.writeFileSync(file, original);
    }
    const reconcile = await cli(['run', 'reconcile-half-applied', '--env', 'staging', '--yes']);
    expect(reconcile.exitCode, String(reconcile.all)).toBe(0);
    expect(String(reconcile.stdout)).toMatch(/reconciled e7e7e7e7e7e7/);
    expect((await cli(['check', '--env', 'staging'])).exitCode).toBe(3);
    expect(String((await cli(['current', '--env', 'staging'])).stdout)).not.toMatch(/HALF-APPLIED/);
    expect(await rows()).toEqual(['f00dfeedcafe']);
  });
});

describe('the MUTX schema as an Alembic project (the MUTX team\'s own shape)', () => {
  let mutx: AlembicProject;
  let drills: { cleanup(): Promise<void> } | undefined;
  beforeAll(() => {
    mutx = createMutxAlembicProject({ settings: environmentsYaml().replace(/^runbooks_dir: .*\n/m, '') });
  });
  afterAll(async () => {
    await drills?.cleanup();
    mutx.cleanup();
  });
  const run = (args: string[], env: Record<string, string> = {}) => runCli(args, { cwd: mutx.dir, env: { MUTX_TEST_DB_URL: db.url, DATABASE_URL: '', ...env } });

  it('upgrade-v1.3-to-v1.4: the release runbook with its service-token checks, through Alembic', async () => {
    const jwks = await recordingServer(200);
    const bin = path.join(mutx.dir, 'fakebin');
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, 'helm'), '#!/bin/sh\ncat > /dev/null\n', { mode: 0o755 });
    try {
      const env = { OIDC_ISSUER: 'https://idp.example', OIDC_CLIENT_ID: 'client', OIDC_JWKS_URI: `${jwks.url}/jwks.json`, MUTX_API_KEY: 'k', DATABASE_URL: db.url, PATH: `${bin}:${process.env.PATH}` };
      const release = await run(['run', 'upgrade-v1.3-to-v1.4', '--env', 'staging', '--yes'], env);
      expect(release.exitCode, String(release.all)).toBe(0);
      expect(String(release.stdout)).toMatch(/every service token carries at least one role/);
      expect(await rows()).toEqual(['9d3e71c2a5b8']);
    } finally {
      await jwks.close();
    }
  });

  it('a drill on an Alembic project: its sandbox is built by the project\'s own revisions, the failing revision is injected as a .py', async () => {
    const settings = loadProjectSettings({ cwd: mutx.dir });
    expect(settings.engine).toBe('alembic');
    drills = { cleanup: async () => void (await destroySandbox(settings)) };
    const result = await run(['--json', 'drill', 'half-applied-migration', '--yes', '--on-failure', 'switch']);
    const lines = String(result.stdout).trim().split('\n');
    const debrief = (JSON.parse(lines[lines.length - 1]!) as { debrief: Debrief }).debrief;
    expect(result.exitCode, JSON.stringify(debrief.criteria)).toBe(0);
    const injected = path.join(mutx.dir, '.mutx-ops', 'drills', debrief.drillId, 'migrations', 'd7a1c0ffee01_add_lookup_indexes_on_deployments_and_agents.py');
    expect(fs.readFileSync(injected, 'utf8')).toMatch(/with op\.get_context\(\)\.autocommit_block\(\):\n {8}op\.execute\("CREATE INDEX CONCURRENTLY/);
    expect(String(result.all)).toMatch(/could not create unique index/);
    expect(debrief.runs.map((r) => [r.runbook, r.status])).toEqual([
      ['deploy', 'switched'],
      ['reconcile-half-applied', 'completed'],
    ]);
    // The project's own versions folder was not touched.
    expect(fs.readdirSync(mutx.versionsDir).some((name) => name.startsWith('d7a1c0ffee01'))).toBe(false);
  }, 180_000);
});

