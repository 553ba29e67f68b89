import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminQuery, ADMIN_URL, createTestDatabase, createTestProject, runCli as runBin, type TestDatabase, type TestProject } from './helpers/db';
import { writeMigration } from './helpers/migrations';
import { createAlembicProject, SYSTEM_PYTHON, type AlembicProject } from './helpers/alembic';
import { orphanedScratchDatabases } from './helpers/scratch';

/**
 * `mutx-ops test` (pytest-alembic's checks) on scratch databases built from the files, for both
 * engines: each broken chain fails the check that catches it, naming the revision, its file:line
 * and what differed; a good chain passes; the configured target's database is never touched.
 */
let target: TestDatabase;
const projects: { cleanup(): void }[] = [];

async function runCli(args: string[], cwd: string, env: Record<string, string> = {}) {
  const result = await runBin(['--database-url', target.url, ...args], { cwd, env });
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

function sqlProject(build: (dir: string) => void): TestProject {
  const project = createTestProject({ copyMigrations: false });
  projects.push(project);
  build(project.migrationsDir);
  return project;
}


/** Rehearsal databases whose owning process is gone: left behind (live ones belong to tests running now). */

beforeAll(async () => {
  target = await createTestDatabase('mutx_citest_target');
});

afterAll(async () => {
  await target?.drop();
  for (const p of projects) p.cleanup();
});

describe('mutx-ops test (SQL engine)', () => {
  it('the MUTX chain (branch, merge, CONCURRENTLY) passes every check; --json; the target is untouched', async () => {
    const project = createTestProject();
    projects.push(project);
    const result = await runCli(['--json', 'test'], project.dir);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.checks.map((c: { name: string; ok: boolean }) => `${c.name}:${c.ok}`)).toEqual(['single-head:true', 'base-to-head:true', 'head-to-base:true', 'up-down-consistency:true']);
    expect(report.scratch.dropped).toBe(true);
    expect((await target.query("SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'")).rows[0]).toEqual({ n: 0 });
  });

  it('two heads fail single-head, naming both files', async () => {
    const project = sqlProject((dir) => {
      writeMigration(dir, 'a1', { upgrade: 'CREATE TABLE a (id int);', downgrade: 'DROP TABLE a;' });
      writeMigration(dir, 'b1', { revises: 'a1', upgrade: 'CREATE TABLE b (id int);', downgrade: 'DROP TABLE b;' });
      writeMigration(dir, 'c1', { revises: 'a1', upgrade: 'CREATE TABLE c (id int);', downgrade: 'DROP TABLE c;' });
    });
    const result = await runCli(['test', '--scratch-url', ADMIN_URL], project.dir);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/FAILED +single-head\n\s+2 heads: b1 \(migrations\/b1_b1\.sql\), c1 \(migrations\/c1_c1\.sql\)/);
    expect(result.stdout).toMatch(/ok +up-down-consistency/);
  });

  it('a downgrade that leaves a table behind fails head-to-base, naming the table', async () => {
    const project = sqlProject((dir) => {
      writeMigration(dir, 'a1', { upgrade: 'CREATE TABLE a (id int);', downgrade: 'DROP TABLE a;' });
      writeMigration(dir, 'a2', { revises: 'a1', upgrade: 'CREATE TABLE leftover (id int);', downgrade: 'SELECT 1;' });
    });
    const result = await runCli(['--json', 'test'], project.dir);
    expect(result.exitCode).toBe(1);
    const check = JSON.parse(result.stdout).checks.find((c: { name: string }) => c.name === 'head-to-base');
    expect(check.ok).toBe(false);
    expect(check.failures[0].diff).toContain('+ relation public.leftover kind=r');
  });

  it('a failing downgrade names the revision and file:line', async () => {
    const project = sqlProject((dir) => {
      writeMigration(dir, 'a1', { upgrade: 'CREATE TABLE a (id int);', downgrade: 'DROP TABLE a;' });
      writeMigration(dir, 'a2', { revises: 'a1', upgrade: 'SELECT 1;', downgrade: 'DROP TABLE nosuch;' });
    });
    const result = await runCli(['test'], project.dir);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/FAILED +head-to-base\n\s+a2 \(migrations\/a2_a2\.sql:9\): downgrade a2 failed at migrations\/a2_a2\.sql:9: table "nosuch" does not exist/);
    expect(result.stdout).toMatch(/skipped up-down-consistency/);
  });

  it('a downgrade that drops what an earlier revision made passes head-to-base but fails up-down-consistency with the diff', async () => {
    const project = sqlProject((dir) => {
      writeMigration(dir, 'a1', { upgrade: 'CREATE TABLE a (id int);', downgrade: 'DROP TABLE IF EXISTS a;' });
      writeMigration(dir, 'a2', { revises: 'a1', upgrade: 'CREATE TABLE b (id int);', downgrade: 'DROP TABLE b;\nDROP TABLE a;' });
    });
    const result = await runCli(['--json', 'test'], project.dir);
    expect(result.exitCode).toBe(1);
    const checks = JSON.parse(result.stdout).checks;
    expect(checks.find((c: { name: string }) => c.name === 'head-to-base').ok).toBe(true);
    const consistency = checks.find((c: { name: string }) => c.name === 'up-down-consistency');
    expect(consistency.failures[0]).toMatchObject({ revision: 'a2', file: 'migrations/a2_a2.sql' });
    expect(consistency.failures[0].what).toMatch(/downgrade of a2 does not restore the schema of a1/);
    expect(consistency.failures[0].diff).toContain('- relation public.a kind=r');
  });

  it('bad input: an unreadable chain is exit 2 in one line; no scratch database is left', async () => {
    const project = sqlProject((dir) => {
      writeMigration(dir, 'a1', { revises: 'nosuch', upgrade: 'SELECT 1;' });
    });
    const result = await runCli(['test'], project.dir);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(await orphanedScratchDatabases()).toEqual([]);
  });
});

describe('mutx-ops test (Alembic engine)', () => {
  let project: AlembicProject;
  beforeAll(() => {
    project = createAlembicProject({ extras: ['plan_enum_001_add_user_plan.py', 'alter_plan_column.py'] });
    projects.push(project);
  });

  it('the fixture app with the broken downgrade fails head-to-base at alter_plan_column.py:25', async () => {
    const result = await runCli(['--json', 'test'], project.dir, { MUTX_PYTHON: SYSTEM_PYTHON });
    expect(result.exitCode, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout);
    expect(report.engine).toBe('alembic');
    const check = report.checks.find((c: { name: string }) => c.name === 'head-to-base');
    expect(check.failures[0]).toMatchObject({ revision: 'alter_plan_column', where: 'src/api/models/migrations/versions/alter_plan_column.py:25' });
    expect(check.failures[0].what).toContain('type "plan" already exists');
    expect(report.checks.find((c: { name: string }) => c.name === 'base-to-head').ok).toBe(true);
    // plan_enum_001 adds users.plan, which the fixture's models do not have: autogenerate would drop it.
    const models = report.checks.find((c: { name: string }) => c.name === 'models-match');
    expect(models.ok).toBe(false);
    expect(models.failures[0].diff).toEqual(['remove_column users.plan']);
    // Nothing was written into the project by the comparison.
    expect(fs.readdirSync(project.versionsDir).filter((f) => f.includes('compare'))).toEqual([]);
  });

  it('the fixture app as it is passes every check, models included (a full walk through Alembic)', async () => {
    const plain = createAlembicProject();
    projects.push(plain);
    const result = await runCli(['--json', 'test'], plain.dir, { MUTX_PYTHON: SYSTEM_PYTHON });
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.checks.map((c: { name: string; ok: boolean; skipped?: string }) => `${c.name}:${c.ok}:${c.skipped ?? ''}`)).toEqual(['single-head:true:', 'base-to-head:true:', 'models-match:true:', 'head-to-base:true:', 'up-down-consistency:true:']);
  }, 240_000);
});
