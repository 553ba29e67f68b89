import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminQuery, createTestDatabase, createTestProject, runCli, type TestDatabase, type TestProject } from './helpers/db';
import { writeMigration } from './helpers/migrations';
import { environmentsYaml } from './helpers/runbooks';
import { orphanedScratchDatabases } from './helpers/scratch';

/**
 * The runbooks with rehearsals, headless: deploy on a protected environment rehearses the pending
 * upgrade (with its round trip) and stops when it fails, the target untouched; the rollbacks'
 * plans say whether the downgrade is known to work.
 */
let db: TestDatabase;
let project: TestProject;

const cli = (args: string[]) => runCli(args, { cwd: project.dir, env: { MUTX_TEST_DB_URL: db.url, DATABASE_URL: '' } });
const versionRows = async () => (await db.query<{ version_num: string }>('SELECT version_num FROM alembic_version ORDER BY 1')).rows.map((r) => r.version_num);


/** Rehearsal databases whose owning process is gone: left behind (live ones belong to tests running now). */

beforeAll(async () => {
  db = await createTestDatabase('mutx_rh_runbook');
  project = createTestProject({ copyMigrations: false, settings: environmentsYaml() });
  writeMigration(project.migrationsDir, 'r1', { message: 'base', upgrade: 'CREATE TABLE items (id int);', downgrade: 'DROP TABLE items;' });
  writeMigration(project.migrationsDir, 'r2', { revises: 'r1', message: 'kind enum', upgrade: "CREATE TYPE kind AS ENUM ('a');", downgrade: "CREATE TYPE kind AS ENUM ('a');" });
  expect((await cli(['upgrade', 'r1', '--env', 'staging'])).exitCode).toBe(0);
});

afterAll(async () => {
  await db?.drop();
  project?.cleanup();
});

describe('runbooks with rehearsals', () => {
  it('deploy on a protected environment stops when the rehearsal (round trip) fails; the target is untouched', async () => {
    // --yes answers the checklist; the plan of a protected environment needs its database name.
    const result = await cli(['run', 'deploy', '--env', 'production', '--yes', '--confirm', db.name, '--logs-duration', '1']);
    const out = String(result.stdout) + String(result.stderr);
    expect(result.exitCode, out).toBe(1);
    expect(out).toMatch(/rehearsing upgrade r2 on a copy of the target first/);
    expect(out).toMatch(/the rehearsal on a copy failed: round trip, inverse: downgrade r2 failed at migrations\/r2_kind_enum\.sql:\d+: type "kind" already exists/);
    expect(await versionRows()).toEqual(['r1']);
    expect((await db.query("SELECT count(*)::int AS n FROM pg_type WHERE typname = 'kind'")).rows[0]).toEqual({ n: 0 });
    expect(await orphanedScratchDatabases()).toEqual([]);
  });

  it('on an environment that is not protected there is no rehearsal and the deploy runs', async () => {
    const result = await cli(['run', 'deploy', '--env', 'staging', '--yes', '--logs-duration', '1']);
    expect(result.exitCode, String(result.all)).toBe(0);
    expect(String(result.all)).not.toMatch(/rehearsing upgrade/);
    // The upgrade was rehearsed ok before (the protected deploy's rehearsal): its duration is the expected time.
    expect(String(result.stdout)).toMatch(/✔ upgrade r2 \(\d+ ms; rehearsed \d+ ms\)/);
    expect(await versionRows()).toEqual(['r2']);
  });

  it('the emergency rollback plan says the downgrade is known to fail and points at the backup', async () => {
    const result = await cli(['run', 'emergency-rollback', '--env', 'production', '--yes']);
    expect(result.exitCode, String(result.all)).toBe(5);
    expect(String(result.stdout)).toMatch(/r2: downgrade FAILS: type "kind" already exists at migrations\/r2_kind_enum\.sql:\d+/);
    expect(String(result.stdout)).toMatch(/KNOWN TO FAIL: restoring the verified backup taken at the target revision \(r1\) is the safer way back/);
    expect(await versionRows()).toEqual(['r2']);
  });
});

void fs;
void path;
