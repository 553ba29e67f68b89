import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, createTestProject, runCli, waitFor, type TestDatabase, type TestProject } from './helpers/db';
import { writeMigration } from './helpers/migrations';

/**
 * The "wait" failure offer (issue 12, item 6): a lock timeout with nothing applied offers retry /
 * wait / abort; wait shows the blocking session, watches it until its transaction ends, then
 * retries — headless with --on-failure wait, against a real blocking transaction.
 */
let db: TestDatabase;
let project: TestProject;
const versionRows = async () => (await db.query<{ version_num: string }>('SELECT version_num FROM alembic_version ORDER BY 1')).rows.map((r) => r.version_num);

const RUNBOOK = `name: add-note
title: Add the note column
description: One upgrade with a short lock timeout.
steps:
  - id: upgrade
    title: Upgrade to head
    type: migrate
    action: upgrade
    target: head
    lock_timeout_seconds: 1
    text: The ALTER TABLE needs an ACCESS EXCLUSIVE lock on items.
    on_failure: [retry, abort]
`;

beforeAll(async () => {
  db = await createTestDatabase('rbs_wait');
  project = createTestProject({ copyMigrations: false, settings: 'lock_wait_seconds: 5\nlock_retries: 0\n' });
  writeMigration(project.migrationsDir, 'w1', { message: 'items', upgrade: 'CREATE TABLE items (id int);', downgrade: 'DROP TABLE items;' });
  writeMigration(project.migrationsDir, 'w2', { revises: 'w1', message: 'note', upgrade: 'ALTER TABLE items ADD COLUMN note text;', downgrade: 'ALTER TABLE items DROP COLUMN note;' });
  fs.writeFileSync(path.join(project.dir, 'add-note.yaml'), RUNBOOK);
  const up = await runCli(['upgrade', 'w1'], { cwd: project.dir, env: { DATABASE_URL: db.url } });
  expect(up.exitCode, String(up.all)).toBe(0);
});

afterAll(async () => {
  await db?.drop();
  project?.cleanup();
});

describe('the wait offer after a lock timeout', () => {
  it('offers retry, wait, abort; --on-failure wait names the blocker, waits until its transaction ends, then retries and finishes', async () => {
    const blocker = new pg.Client({ connectionString: db.url, application_name: 'rbs-blocker' });
    await blocker.connect();
    try {
      const pid = (await blocker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      await blocker.query('BEGIN');
      await blocker.query('SELECT * FROM items');
      const run = runCli(['run', path.join(project.dir, 'add-note.yaml'), '--yes', '--on-failure', 'wait'], { cwd: project.dir, env: { DATABASE_URL: db.url } });
      let out = '';
      run.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
      await waitFor(() => out.includes('waiting for pid'), 30_000);
      // Still blocked: nothing applied yet, and the run is waiting, not failing.
      expect(await versionRows()).toEqual(['w1']);
      await blocker.query('COMMIT');
      const result = await run;
      const all = String(result.stdout);
      expect(result.exitCode, String(result.all)).toBe(0);
      expect(all).toMatch(/nothing was applied: the database is where the step found it/);
      expect(all).toMatch(/\? failed — options: retry, wait, abort/);
      expect(all).toContain(`waiting for pid ${pid} (rbs-blocker, idle in transaction): SELECT * FROM items to end, then retrying`);
      expect(all).toMatch(/the blocking session\(s\) ended after \d+ s: retrying/);
      expect(all).toMatch(/✔ upgrade w1 → w2 \(1 revision\(s\)\)/);
      expect(await versionRows()).toEqual(['w2']);
    } finally {
      await blocker.end().catch(() => {});
    }
  }, 60_000);

  it('a failure with no blocking session does not offer wait, even when the runbook lists it', async () => {
    fs.writeFileSync(path.join(project.dir, 'check.yaml'), `name: check
title: Expect w1
description: A verify that fails.
steps:
  - id: check
    title: Expect w1
    type: verify
    expect: w1
    text: The database is at w2 now, so this fails.
    on_failure: [retry, wait, abort]
`);
    const result = await runCli(['run', path.join(project.dir, 'check.yaml'), '--on-failure', 'wait'], { cwd: project.dir, env: { DATABASE_URL: db.url } });
    expect(result.exitCode).toBe(1);
    expect(String(result.stdout)).toMatch(/\? failed — options: retry, abort/);
  });
});
