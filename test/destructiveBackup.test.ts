import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, createTestProject, runCli, type TestDatabase, type TestProject } from './helpers/db';
import { writeMigration } from './helpers/migrations';
import { environmentsYaml } from './helpers/runbooks';

/**
 * Issue 12, item 4 for runbooks without a backup step (not-up-to-date, a custom one): a
 * destructive step (downgrade, stamp) runs only with a verified backup of the current revision;
 * without one, on a target that is not protected, it takes one first — said in the plan — and
 * names it; on a protected target it stops.
 */
let db: TestDatabase;
let project: TestProject;
const cli = (args: string[]) => runCli(args, { cwd: project.dir, env: { MUTX_TEST_DB_URL: db.url, DATABASE_URL: '' } });
const versionRows = async () => (await db.query<{ version_num: string }>('SELECT version_num FROM alembic_version ORDER BY 1')).rows.map((r) => r.version_num);
const backups = () => {
  const dir = path.join(project.dir, '.mutx-ops', 'backups');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.dump')) : [];
};

const DOWN = `name: down-only
title: Downgrade without a backup step
description: A custom runbook that only downgrades.
steps:
  - id: down
    title: Downgrade one
    type: migrate
    action: downgrade
    target: "-1"
    quick_rehearsal: false
    text: Downgrades the newest revision.
`;

beforeAll(async () => {
  db = await createTestDatabase('rbs_autobackup');
  project = createTestProject({ copyMigrations: false, settings: environmentsYaml() });
  writeMigration(project.migrationsDir, 'b1', { message: 'one', upgrade: 'CREATE TABLE one (id int);', downgrade: 'DROP TABLE one;' });
  writeMigration(project.migrationsDir, 'b2', { revises: 'b1', message: 'two', upgrade: 'CREATE TABLE two (id int);', downgrade: 'DROP TABLE two;' });
  fs.writeFileSync(path.join(project.dir, 'down-only.yaml'), DOWN);
  expect((await cli(['upgrade', 'b2', '--env', 'staging'])).exitCode).toBe(0);
});

afterAll(async () => {
  await db?.drop();
  project?.cleanup();
});

describe('a destructive step in a runbook without a backup step', () => {
  it('protected: the plan says the step will stop, and it does (nothing changed, no backup taken)', async () => {
    const result = await cli(['run', path.join(project.dir, 'down-only.yaml'), '--env', 'production', '--confirm', db.name]);
    const out = String(result.stdout);
    expect(result.exitCode, String(result.all)).toBe(1);
    expect(out).toMatch(/no verified backup at b2 younger than 30 min: the step will stop/);
    expect(out).toMatch(/no verified backup of rbs_autobackup_\w+ at its current revision b2.*refusing to change a protected environment/);
    expect(await versionRows()).toEqual(['b2']);
    expect(backups()).toEqual([]);
  });

  it('not protected: the plan says it takes a backup first; the downgrade relies on it and names it', async () => {
    const result = await cli(['run', path.join(project.dir, 'down-only.yaml'), '--env', 'staging', '--yes']);
    const out = String(result.stdout);
    expect(result.exitCode, String(result.all)).toBe(0);
    expect(out).toMatch(/1\. Downgrade one \[destructive\][\s\S]*no verified backup at b2 younger than 60 min: takes one first \(pg_dump --format=custom into .*, verified\)/);
    expect(out).toMatch(/this runbook has no backup step: taking one first/);
    const taken = backups();
    expect(taken).toHaveLength(1);
    expect(taken[0]).toMatch(/_b2_/);
    expect(out).toContain(`relies on backup ${taken[0]} (at b2, taken in this run before this step, verified)`);
    expect(out).toMatch(new RegExp(`✔ downgrade b2 → b1 \\(1 revision\\(s\\)\\); backup ${taken[0]!.replace(/\./g, '\\.')}`));
    expect(await versionRows()).toEqual(['b1']);
  });

  it('not-up-to-date: the stamp relies on a fresh verified backup of the current revision when one exists (none taken again)', async () => {
    // The downgrade's own backup is of b2; a backup at b1 taken now is the one the stamp relies on.
    expect((await cli(['backup', '--env', 'staging'])).exitCode).toBe(0);
    const before = backups().length;
    const result = await cli(['run', 'not-up-to-date', '--env', 'staging', '--yes', '--target', 'b2']);
    const out = String(result.stdout);
    expect(result.exitCode, String(result.all)).toBe(0);
    expect(out).toMatch(/Stamp the version table \[destructive\][\s\S]*relies on backup \S+_b1\.dump \(at b1, \d+ min old, verified\)/);
    expect(out).toMatch(/✔ stamped b1 → b2; backup \S+_b1\.dump/);
    expect(backups()).toHaveLength(before);
    expect(await versionRows()).toEqual(['b2']);
  });
});
