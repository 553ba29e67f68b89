import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditTrail, type AuditRecord } from '../src/core/audit';
import { backupDatabase, latestVerifiedBackup, listBackups, parseDuration, resolveBackup, restoreBackup, type BackupRecord } from '../src/core/backup';
import { loadProjectSettings } from '../src/core/config';
import { parseTarget, type Target } from '../src/core/connection';
import { MutxError } from '../src/core/errors';
import type { CoreContext } from '../src/core/migrations/operations';
import { createTestDatabase, createTestProject, runCli, type TestDatabase, type TestProject } from './helpers/db';

/** The catalog: prune, latest, latestVerifiedBackup; protected environments need the typed name. */

let db: TestDatabase;
let other: TestDatabase;
let project: TestProject;
const PROD_VAR = 'MUTX_TEST_PROD_URL';

function context(target: Target): CoreContext {
  const settings = loadProjectSettings({ cwd: project.dir });
  const operator = { name: 'tester', host: os.hostname() };
  return { settings, target, operator, audit: new AuditTrail(settings.auditPath, operator) };
}

/** Moves a backup back in time (its sidecar's createdAt), as if taken `hours` ago. */
function age(record: BackupRecord, hours: number): void {
  const body = JSON.parse(fs.readFileSync(record.metaFile, 'utf8')) as Record<string, unknown>;
  body.createdAt = new Date(Date.now() - hours * 3_600_000).toISOString();
  fs.writeFileSync(record.metaFile, JSON.stringify(body));
}

const names = (records: BackupRecord[]) => records.map((r) => path.basename(r.file)).sort();

beforeAll(async () => {
  [db, other] = await Promise.all([createTestDatabase('mutx_bkcat'), createTestDatabase('mutx_bkcat2')]);
  project = createTestProject({
    copyMigrations: false,
    settings: `lock_wait_seconds: 10\nenvironments:\n  prod:\n    url_env: ${PROD_VAR}\n    protected: true\n`,
  });
  for (const database of [db, other]) await database.query(`CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 200) g;`);
});

afterAll(async () => {
  await Promise.all([db?.drop(), other?.drop()]);
  project?.cleanup();
});

describe('prune', () => {
  it('keeps the newest N of each database, honours --older-than and --dry-run, and audits what it removed', async () => {
    const ctx = context(parseTarget({ url: db.url }));
    const otherCtx = context(parseTarget({ url: other.url }));
    const b: BackupRecord[] = [];
    for (let i = 0; i < 4; i++) b.push(await backupDatabase(ctx, { label: `b${i + 1}` }));
    const c = [await backupDatabase(otherCtx, { label: 'c1' }), await backupDatabase(otherCtx, { label: 'c2' })];
    age(b[0]!, 72);
    age(b[1]!, 71);
    age(c[0]!, 1);

    const noDb = { DATABASE_URL: undefined };
    const dry = await runCli(['--json', 'backups', 'prune', '--keep', '1', '--older-than', '2d', '--dry-run'], { cwd: project.dir, env: noDb });
    expect(dry.exitCode, dry.all as string).toBe(0);
    expect(names(JSON.parse(String(dry.stdout)).removed)).toEqual(names([b[0]!, b[1]!]));
    expect(listBackups(ctx.settings)).toHaveLength(6);

    // keep 3 of db (b4 b3 b2) — b1 is beyond them and older than 2 days; both of other stay.
    const first = await runCli(['backups', 'prune', '--keep', '3', '--older-than', '2d'], { cwd: project.dir, env: noDb });
    expect(first.exitCode, first.all as string).toBe(0);
    expect(names(listBackups(ctx.settings))).toEqual(names([b[1]!, b[2]!, b[3]!, ...c]));
    expect(fs.existsSync(b[0]!.file) || fs.existsSync(b[0]!.metaFile)).toBe(false);

    // keep 1 and older than 2d: b2 goes (old), b3 stays (young); c1 is only an hour old.
    const second = await runCli(['backups', 'prune', '--keep', '1', '--older-than', '2d'], { cwd: project.dir, env: noDb });
    expect(second.exitCode, second.all as string).toBe(0);
    expect(names(listBackups(ctx.settings))).toEqual(names([b[2]!, b[3]!, ...c]));

    // With a database given, only its backups are pruned.
    const scoped = await runCli(['--database-url', other.url, 'backups', 'prune', '--keep', '1'], { cwd: project.dir });
    expect(scoped.exitCode, scoped.all as string).toBe(0);
    expect(names(listBackups(ctx.settings))).toEqual(names([b[2]!, b[3]!, c[1]!]));

    const audits = fs
      .readFileSync(project.auditPath, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as AuditRecord)
      .filter((r) => r.action === 'backups prune' && r.phase === 'end');
    expect(audits).toHaveLength(4);
    expect(audits.map((r) => (r.details?.removed as { file: string }[]).length)).toEqual([2, 1, 1, 1]);
    expect((audits[3]!.details?.removed as { file: string; sha256: string }[])[0]).toEqual({ file: c[0]!.file, size_bytes: c[0]!.sizeBytes, sha256: c[0]!.sha256 });
  });
});

describe('latest', () => {
  it('latest is the newest complete, non-safety backup of the same server and database; latestVerifiedBackup needs a verified one in time', async () => {
    const target = parseTarget({ url: db.url });
    const ctx = context(target);
    const plain = await backupDatabase(ctx, { format: 'plain' });
    expect(resolveBackup(ctx.settings, 'latest', { target })).toMatchObject({ file: plain.file });
    expect(latestVerifiedBackup(ctx.settings, target, 60)).toBeUndefined();

    // A safety backup is newer, but `latest` never picks it (restoring latest twice must not undo the first restore).
    const safety = await backupDatabase(ctx, { reason: 'safety', verify: true });
    expect(resolveBackup(ctx.settings, 'latest', { target })).toMatchObject({ file: plain.file });
    expect(latestVerifiedBackup(ctx.settings, target, 60)?.file).toBe(safety.file);
    age(safety, 2);
    expect(latestVerifiedBackup(ctx.settings, target, 60)).toBeUndefined();

    // Another database on the same server does not count.
    expect(resolveBackup(ctx.settings, 'latest', { target: parseTarget({ url: other.url }) })).toMatchObject({ database: other.name });
    const nowhere = parseTarget({ url: db.url.replace('127.0.0.1', 'localhost') });
    expect(() => resolveBackup(ctx.settings, 'latest', { target: nowhere })).toThrow(/no complete backup of database/);
  });
});

describe('protected environment', () => {
  it('requires the database name typed (--confirm), never just --yes', async () => {
    const env = { [PROD_VAR]: db.url, DATABASE_URL: undefined };
    const prod = (...args: string[]) => runCli(['--env', 'prod', ...args], { cwd: project.dir, env });
    const taken = await prod('--json', 'backup');
    expect(taken.exitCode, taken.all as string).toBe(0);
    const record = JSON.parse(String(taken.stdout)) as BackupRecord;
    expect(record.environment).toBe('prod');
    expect(path.basename(record.file)).toMatch(/^prod_mutx_bkcat_/);
    await db.query(`UPDATE items SET name = 'changed'`);
    const changed = async () => (await db.query(`SELECT count(*)::int AS n FROM items WHERE name = 'changed'`)).rows[0]!.n;

    const yesOnly = await prod('restore', 'latest', '--yes');
    expect(yesOnly.exitCode).toBe(2);
    expect(String(yesOnly.stderr)).toContain(`refusing to restore into "${db.name}" on protected environment prod`);
    expect(String(yesOnly.stderr)).toContain(`--confirm ${db.name}`);
    const wrong = await prod('restore', 'latest', '--confirm', 'someotherdb');
    expect(wrong.exitCode).toBe(2);
    expect(String(wrong.stderr)).toContain('does not match the database name');
    expect(await changed()).toBe(200);

    const right = await prod('restore', 'latest', '--confirm', db.name, '--no-safety-backup');
    expect(right.exitCode, right.all as string).toBe(0);
    expect(await changed()).toBe(0);

    const outcomes = fs
      .readFileSync(project.auditPath, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as AuditRecord)
      .filter((r) => r.action === 'restore' && r.phase === 'end')
      .map((r) => r.outcome);
    expect(outcomes.slice(-3)).toEqual(['refused', 'refused', 'ok']);
  });

  it('core API: the confirm callback is asked on a protected target; a wrong answer is refused', async () => {
    const target = parseTarget({ url: db.url, environment: 'prod', protected: true });
    const ctx = context(target);
    const prompts: { database: string; description: string }[] = [];
    const refused = await restoreBackup(ctx, 'latest', { safetyBackup: false, confirm: async (prompt) => (prompts.push(prompt), 'nope') }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(MutxError);
    expect((refused as MutxError).exitCode).toBe(2);
    expect(prompts[0]!.database).toBe(db.name);
    expect(prompts[0]!.description).toContain('its current contents will be replaced');
    const result = await restoreBackup(ctx, 'latest', { safetyBackup: false, confirm: async ({ database }) => database });
    expect(result.database).toBe(db.name);
  });
});

describe('durations', () => {
  it('parses units and refuses bare or unknown ones', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('2w')).toBe(1_209_600_000);
    for (const bad of ['', '10', 'd', '5x', '-1d', '1d x']) expect(() => parseDuration(bad)).toThrow(/bad duration/);
  });
});
