import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, createTestProject, runCli, waitFor, type TestDatabase, type TestProject } from './helpers/db';
import { writeMigration } from './helpers/migrations';

/**
 * `restore` over a database takes the same advisory lock as `upgrade`, so a slow upgrade racing a
 * restore cannot interleave (issue 15, item 2): real processes, a real pg_sleep in the migration.
 */
let db: TestDatabase;
let project: TestProject;
const cli = (args: string[], env: Record<string, string> = {}) => runCli(['--database-url', db.url, ...args], { cwd: project.dir, env });

async function tables(): Promise<string[]> {
  const result = await db.query<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'alembic_version' ORDER BY 1");
  return result.rows.map((row) => row.name);
}
async function versions(): Promise<string[]> {
  return (await db.query<{ v: string }>('SELECT version_num AS v FROM alembic_version ORDER BY 1')).rows.map((row) => row.v);
}
async function ledgerApplied(): Promise<string[]> {
  const rows = await db.query<{ revision: string; direction: string }>("SELECT revision, direction FROM mutx_ops.ledger WHERE outcome = 'applied' ORDER BY id");
  return rows.rows.map((row) => `${row.direction} ${row.revision}`);
}
/** The pid of the session holding the migration lock (an advisory lock in the "mutx" namespace). */
async function lockHolder(): Promise<number | undefined> {
  const rows = await db.query<{ pid: number }>(`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = ${0x6d757478 & 0x7fffffff} AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`);
  return rows.rows[0]?.pid;
}

beforeAll(async () => {
  db = await createTestDatabase('mutx_restorelock');
  project = createTestProject({ copyMigrations: false, settings: 'lock_wait_seconds: 30\n' });
  writeMigration(project.migrationsDir, 'r1', { upgrade: 'CREATE TABLE t1(id int);', downgrade: 'DROP TABLE t1;' });
  writeMigration(project.migrationsDir, 'r3', { revises: 'r1', upgrade: 'CREATE TABLE t3(id int);\nSELECT pg_sleep(2);', downgrade: 'DROP TABLE t3;' });
});
afterAll(async () => {
  await db?.drop();
  project?.cleanup();
});

describe('restore and upgrade serialise on the migration lock', () => {
  it('a restore started while a slow upgrade runs waits for it, then restores a consistent state', async () => {
    expect((await cli(['upgrade', 'r1'])).exitCode).toBe(0);
    expect((await cli(['backup', '--format', 'plain'])).exitCode).toBe(0);
    const upgrade = cli(['upgrade', 'head'], { MUTX_OPERATOR: 'upgrader' });
    // The upgrade holds the lock and is inside r3's pg_sleep.
    await waitFor(async () => (await db.query("SELECT 1 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(2)%' AND state = 'active' AND pid <> pg_backend_pid()")).rowCount === 1, 20_000);
    expect(await lockHolder()).toBeDefined();
    const restore = await cli(['restore', 'latest', '--yes', '--no-safety-backup'], { MUTX_OPERATOR: 'restorer' });
    const upgraded = await upgrade;
    expect(upgraded.exitCode, String(upgraded.all)).toBe(0);
    expect(restore.exitCode, String(restore.all)).toBe(0);
    expect(String(restore.stderr)).toMatch(/waiting for the migration lock, held by pid \d+ \(mutx-ops:upgrader@/);
    // The restore ran after the upgrade committed: everything is the backup's r1.
    expect(await versions()).toEqual(['r1']);
    expect(await tables()).toEqual(['t1']);
    expect(await ledgerApplied()).toEqual(['upgrade r1']);
    expect(await lockHolder()).toBeUndefined();
  });

  it('an upgrade started while a restore holds the lock waits, then plans from the restored state', async () => {
    // A slow restore: a plain file whose load sleeps 2 s (uncatalogued, so its content is ours).
    const dump = await runCli(['--database-url', db.url, 'backup', '--format', 'plain', '--out', `${project.dir}/slow`], { cwd: project.dir });
    expect(dump.exitCode, String(dump.all)).toBe(0);
    const file = fs.readdirSync(`${project.dir}/slow`).find((name) => name.endsWith('.sql'))!;
    const slow = `${project.dir}/slow.sql`;
    const text = fs.readFileSync(`${project.dir}/slow/${file}`, 'utf8');
    fs.writeFileSync(slow, text.replace(/(-- PostgreSQL database dump complete)/, 'SELECT pg_sleep(2);\n\n$1'));
    const restore = cli(['restore', slow, '--yes', '--no-safety-backup'], { MUTX_OPERATOR: 'restorer' });
    await waitFor(async () => (await db.query("SELECT 1 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(2)%' AND state = 'active' AND pid <> pg_backend_pid()")).rowCount === 1, 20_000);
    const upgrade = await cli(['upgrade', 'head'], { MUTX_OPERATOR: 'upgrader' });
    const restored = await restore;
    expect(restored.exitCode, String(restored.all)).toBe(0);
    expect(upgrade.exitCode, String(upgrade.all)).toBe(0);
    expect(String(upgrade.stderr)).toMatch(/waiting for the migration lock, held by pid \d+ \(mutx-ops:restorer@/);
    expect(await versions()).toEqual(['r3']);
    expect(await tables()).toEqual(['t1', 't3']);
    expect(await ledgerApplied()).toEqual(['upgrade r1', 'upgrade r3']);
  });

  it('a restore that cannot get the lock in time gives up with exit 4 naming the holder, changing nothing', async () => {
    const upgrade = cli(['downgrade', 'r1'], { MUTX_OPERATOR: 'upgrader' });
    expect((await upgrade).exitCode).toBe(0);
    const again = cli(['upgrade', 'head'], { MUTX_OPERATOR: 'upgrader' });
    await waitFor(async () => (await db.query("SELECT 1 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(2)%' AND state = 'active' AND pid <> pg_backend_pid()")).rowCount === 1, 20_000);
    const restore = await cli(['restore', 'latest', '--yes', '--no-safety-backup', '--wait-lock', '0.2'], { MUTX_OPERATOR: 'restorer' });
    expect(restore.exitCode, String(restore.all)).toBe(4);
    expect(String(restore.stderr)).toMatch(/migration lock .* held by pid \d+ \(mutx-ops:upgrader@/);
    expect((await again).exitCode).toBe(0);
    expect(await versions()).toEqual(['r3']);
    expect(await tables()).toEqual(['t1', 't3']);
  });

  it('SIGTERM while the restore waits for the lock ends it at once (exit 130), nothing restored, no session left', async () => {
    const upgrade = cli(['downgrade', 'r1'], { MUTX_OPERATOR: 'upgrader' });
    expect((await upgrade).exitCode).toBe(0);
    const again = cli(['upgrade', 'head'], { MUTX_OPERATOR: 'upgrader' });
    await waitFor(async () => (await db.query("SELECT 1 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(2)%' AND state = 'active' AND pid <> pg_backend_pid()")).rowCount === 1, 20_000);
    const restore = cli(['restore', 'latest', '--yes', '--no-safety-backup'], { MUTX_OPERATOR: 'restorer' });
    let stderr = '';
    restore.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor(() => /waiting for the migration lock/.test(stderr) || undefined, 20_000);
    restore.kill('SIGTERM');
    const result = await restore;
    expect(result.exitCode, String(result.all)).toBe(130);
    expect(String(result.stderr)).toMatch(/restore into "mutx_restorelock_\w+" cancelled by the operator/);
    expect((await again).exitCode).toBe(0);
    expect(await versions()).toEqual(['r3']);
    const left = await db.query("SELECT 1 FROM pg_stat_activity WHERE application_name LIKE 'mutx-ops:restorer%'");
    expect(left.rowCount).toBe(0);
  });
});
