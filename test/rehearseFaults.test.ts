import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminQuery, createTestDatabase, createTestProject, runCli, urlFor, type TestDatabase, type TestProject } from './helpers/db';
import { writeMigration } from './helpers/migrations';

/**
 * Rehearsal inputs that cannot work, each one line with exit 2 and nothing created: a pg_dump
 * older than the server, and a role that may not create the scratch database.
 */
let db: TestDatabase;
let project: TestProject;
let fakeBin: string;
const role = `mutx_rh_nocreate_${process.pid}`;

beforeAll(async () => {
  db = await createTestDatabase('mutx_rh_faults');
  project = createTestProject({ copyMigrations: false });
  writeMigration(project.migrationsDir, 'f1', { upgrade: 'CREATE TABLE f (id int);', downgrade: 'DROP TABLE f;' });
  fakeBin = fs.mkdtempSync(path.join(os.tmpdir(), 'mutx-fake-pgbin-'));
  fs.writeFileSync(path.join(fakeBin, 'pg_dump'), '#!/bin/sh\necho "pg_dump (PostgreSQL) 12.3"\n', { mode: 0o755 });
  await adminQuery(`DROP ROLE IF EXISTS ${role}`);
  await adminQuery(`CREATE ROLE ${role} LOGIN NOCREATEDB`);
  await db.query(`GRANT ALL ON SCHEMA public TO ${role}`);
});

afterAll(async () => {
  await db?.drop();
  await adminQuery(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
  project?.cleanup();
  fs.rmSync(fakeBin, { recursive: true, force: true });
});

async function scratchCount(): Promise<number> {
  return (await adminQuery<{ n: number }>(`SELECT count(*)::int AS n FROM pg_database WHERE starts_with(datname, 'mutx_rehearse_') AND shobj_description(oid, 'pg_database') LIKE '%"pid":%'`)).rows[0]!.n;
}

describe('rehearse: inputs that cannot work', () => {
  it('a pg_dump older than the server is refused before the copy, naming both versions (exit 2)', async () => {
    const result = await runCli(['--database-url', db.url, 'rehearse'], { cwd: project.dir, env: { MUTX_PG_BIN_DIR: fakeBin } });
    expect(result.exitCode).toBe(2);
    const stderr = String(result.stderr).trim();
    expect(stderr.split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/pg_dump 12\.3 .* is older than the server \(PostgreSQL 15[.\d]*\): server version mismatch/);
    expect((await db.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'")).rows[0]).toEqual({ n: 0 });
  });

  it('a role without CREATEDB gets one line saying to pass --scratch-url (exit 2), nothing created', async () => {
    const before = await scratchCount();
    const url = urlFor(db.name).replace('postgres@', `${role}@`);
    const result = await runCli(['--database-url', url, 'rehearse'], { cwd: project.dir });
    expect(result.exitCode).toBe(2);
    const stderr = String(result.stderr).trim();
    expect(stderr.split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/cannot create the scratch database .*permission denied to create database.*--scratch-url/);
    expect(await scratchCount()).toBeLessThanOrEqual(before);
  });
});
