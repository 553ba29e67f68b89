import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditTrail, type AuditRecord } from '../src/core/audit';
import { backupDatabase, hashDirectory, latestVerifiedBackup, listBackups, type BackupEvent, type BackupRecord } from '../src/core/backup';
import { loadProjectSettings } from '../src/core/config';
import { parseTarget } from '../src/core/connection';
import type { CoreContext } from '../src/core/migrations/operations';
import { adminQuery, createTestDatabase, createTestProject, runCli, type TestDatabase, type TestProject } from './helpers/db';

/** Round trips in every format, plain dumps from outside, checksums, verification, the catalog. */

let db: TestDatabase;
let project: TestProject;
let head: string[];
const tmpDirs: string[] = [];

const cli = (...args: string[]) => runCli(['--database-url', db.url, ...args], { cwd: project.dir });
const json = <T>(stdout: unknown): T => JSON.parse(String(stdout)) as T;
const mode = (file: string) => fs.statSync(file).mode & 0o777;

function coreContext(): CoreContext {
  const settings = loadProjectSettings({ cwd: project.dir });
  const operator = { name: 'tester', host: os.hostname() };
  return { settings, target: parseTarget({ url: db.url }), operator, audit: new AuditTrail(settings.auditPath, operator) };
}

interface State {
  revision: string[];
  users: number;
  orders: number;
  orderSum: number;
  names: string;
}

async function state(): Promise<State> {
  const rows = (await db.query<{ version_num: string }>('SELECT version_num FROM alembic_version ORDER BY 1')).rows.map((r) => r.version_num);
  const counts = (
    await db.query<{ users: number; orders: number; order_sum: number; names: string }>(
      `SELECT (SELECT count(*) FROM users)::int AS users, (SELECT count(*) FROM orders)::int AS orders,
              (SELECT coalesce(sum(id), 0) FROM orders)::float8 AS order_sum,
              (SELECT string_agg(display_name, ',' ORDER BY email) FROM users) AS names`,
    )
  ).rows[0]!;
  return { revision: rows, users: counts.users, orders: counts.orders, orderSum: counts.order_sum, names: counts.names };
}

async function scramble(): Promise<void> {
  await db.query(`DELETE FROM orders WHERE id > 5000; UPDATE users SET display_name = 'changed'`);
  const down = await cli('downgrade', '-1');
  expect(down.exitCode, down.all as string).toBe(0);
}

function auditRecords(): AuditRecord[] {
  return fs
    .readFileSync(project.auditPath, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditRecord);
}

function lastEnd(action: string): AuditRecord | undefined {
  return auditRecords()
    .filter((r) => r.action === action && r.phase === 'end')
    .pop();
}

function sha256Of(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

beforeAll(async () => {
  db = await createTestDatabase('mutx_bk');
  project = createTestProject();
  const up = await cli('upgrade', 'head');
  expect(up.exitCode, up.all as string).toBe(0);
  await db.query(`
    INSERT INTO users (email, display_name) SELECT 'user' || g || '@example.com', 'User ' || g FROM generate_series(1, 50) g;
    CREATE TABLE orders (id int PRIMARY KEY, note text NOT NULL);
    INSERT INTO orders SELECT g, md5(g::text) || md5((g * 7)::text) FROM generate_series(1, 20000) g;`);
  head = (await state()).revision;
  expect(head.length).toBe(1);
});

afterAll(async () => {
  await db?.drop();
  if (db) await adminQuery(`DROP DATABASE IF EXISTS "mutx_bk_into_plain_${db.name.slice(-10)}" WITH (FORCE)`).catch(() => {});
  project?.cleanup();
  for (const dir of tmpDirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('backup → restore round trip', () => {
  for (const format of ['custom', 'plain', 'directory'] as const) {
    it(`${format} format: data and revision come back; files private; safety backup taken; audit mirrored back`, async () => {
      const before = await state();
      const args = ['--json', 'backup', '--format', format, '--label', `round ${format}`, ...(format === 'directory' ? ['--jobs', '2'] : [])];
      const taken = await cli(...args);
      expect(taken.exitCode, taken.all as string).toBe(0);
      const record = json<BackupRecord>(taken.stdout);
      expect(record.format).toBe(format);
      expect(record.revisions).toEqual(head);
      // The CLI reads the archive back right after the dump (pg_restore --list) unless --no-verify.
      expect(record.verified).toMatchObject({ ok: true, restoreTest: false });
      if (format !== 'plain') expect(record.verified?.tocEntries).toBeGreaterThan(20);
      expect(path.basename(record.file)).toContain(db.name);
      expect(path.basename(record.file)).toContain(head[0]!);
      expect(record.target).toBe(`postgresql://postgres@127.0.0.1:5432/${db.name}`);
      expect(String(taken.stderr)).toBe(''); // --json: progress is not printed

      // Private files, hash of what is on disk.
      const backupsDir = path.join(project.dir, '.mutx-ops', 'backups');
      expect(mode(backupsDir)).toBe(0o700);
      expect(mode(record.metaFile)).toBe(0o600);
      if (format === 'directory') {
        expect(mode(record.file)).toBe(0o700);
        for (const name of fs.readdirSync(record.file)) expect(mode(path.join(record.file, name))).toBe(0o600);
        expect((await hashDirectory(record.file)).sha256).toBe(record.sha256);
      } else {
        expect(mode(record.file)).toBe(0o600);
        expect(sha256Of(record.file)).toBe(record.sha256);
        expect(fs.statSync(record.file).size).toBe(record.sizeBytes);
      }
      const backupAudit = lastEnd('backup')!;
      expect(backupAudit.outcome).toBe('ok');
      expect(backupAudit.details).toMatchObject({ file: record.file, size_bytes: record.sizeBytes, sha256: record.sha256 });

      await scramble();
      const scrambled = await state();
      expect(scrambled).not.toEqual(before);

      const restored = await cli('--json', 'restore', record.file, '--yes');
      expect(restored.exitCode, restored.all as string).toBe(0);
      const result = json<{ revisionsAfter: string[]; revisionsBefore: string[]; safetyBackup: BackupRecord; checksumVerified: boolean; untouchedTables: string[] }>(restored.stdout);
      expect(result.revisionsAfter).toEqual(head);
      expect(result.revisionsBefore).toEqual(scrambled.revision);
      expect(result.checksumVerified).toBe(true);
      expect(result.untouchedTables).toEqual([]);
      expect(await state()).toEqual(before);

      // The safety backup holds the state just before the restore, and is catalogued.
      expect(result.safetyBackup.reason).toBe('safety');
      expect(result.safetyBackup.revisions).toEqual(scrambled.revision);
      expect(result.safetyBackup.verified?.ok).toBe(true);
      expect(fs.existsSync(result.safetyBackup.file)).toBe(true);
      expect(listBackups(coreContext().settings).map((b) => b.file)).toContain(result.safetyBackup.file);

      // Restore audited with its file and checksum; the restored database's audit mirror has every record back.
      const restoreAudit = lastEnd('restore')!;
      expect(restoreAudit.outcome).toBe('ok');
      expect(restoreAudit.details).toMatchObject({ file: record.file, sha256: record.sha256, safety_backup: result.safetyBackup.file });
      expect(restoreAudit.revisions_after).toEqual(head);
      const mirrored = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM mutx_ops.audit');
      expect(mirrored.rows[0]!.n).toBe(auditRecords().length);
    });
  }

  it('restores a backup from an earlier revision over a database that moved on: later objects go, in one transaction', async () => {
    const before = await state();
    const down = await cli('downgrade', '-2');
    expect(down.exitCode, down.all as string).toBe(0);
    const older = await state();
    const taken = await cli('--json', 'backup');
    expect(taken.exitCode, taken.all as string).toBe(0);
    const record = json<BackupRecord>(taken.stdout);
    expect(record.revisions).toEqual(older.revision);

    const up = await cli('upgrade', 'head');
    expect(up.exitCode, up.all as string).toBe(0);
    await db.query(`CREATE TABLE made_by_hand (id int REFERENCES users (id) ON DELETE CASCADE)`.replace('int', 'uuid'));
    await db.query(`DELETE FROM orders WHERE id <= 100`);

    // pg_restore --clean alone would stop at "cannot drop ... other objects depend on it" (or leave the later tables behind).
    const restored = await cli('--json', 'restore', record.file, '--yes', '--no-safety-backup');
    expect(restored.exitCode, restored.all as string).toBe(0);
    expect(json<{ revisionsAfter: string[] }>(restored.stdout).revisionsAfter).toEqual(older.revision);
    expect(await state()).toEqual(older);
    expect((await db.query(`SELECT to_regclass('made_by_hand') AS t`)).rows[0]!.t).toBeNull();

    // ...and `upgrade head` works again from there (no leftover tables in its way).
    const again = await cli('upgrade', 'head');
    expect(again.exitCode, again.all as string).toBe(0);
    expect((await state()).revision).toEqual(before.revision);
  });

  it('restores a plain `pg_dump URL > file` made outside mutx-ops (uncatalogued), over the database and into a new one', async () => {
    const before = await state();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mutx-seed-'));
    tmpDirs.push(dir);
    const file = path.join(dir, `backup_${Date.now()}.sql`);
    await execa('pg_dump', [db.url], { stdout: { file } });
    await db.query('CREATE TABLE scratch_after_dump (x int)');
    await scramble();

    const restored = await cli('restore', file, '--yes');
    expect(restored.exitCode, restored.all as string).toBe(0);
    expect(String(restored.stdout)).toContain(`now at ${head[0]}`);
    expect(await state()).toEqual(before);
    // A plain dump has no DROPs: the database is emptied first (in the same transaction), as a fresh restore would be.
    expect((await db.query(`SELECT to_regclass('scratch_after_dump') AS t`)).rows[0]!.t).toBeNull();
    expect(lastEnd('restore')!.details).toMatchObject({ file, sha256: sha256Of(file) });

    const into = `mutx_bk_into_plain_${db.name.slice(-10)}`;
    const copied = await cli('restore', file, '--into', into, '--yes');
    expect(copied.exitCode, copied.all as string).toBe(0);
    const rows = await adminQuery<{ n: number }>('SELECT count(*)::int AS n FROM orders', [], into);
    expect(rows.rows[0]!.n).toBe(before.orders);
    await adminQuery(`DROP DATABASE "${into}" WITH (FORCE)`);
  });
});

describe('checksums and verification', () => {
  it('refuses to restore a backup whose checksum does not match, and changes nothing', async () => {
    const taken = await cli('--json', 'backup');
    expect(taken.exitCode, taken.all as string).toBe(0);
    const record = json<BackupRecord>(taken.stdout);
    const bytes = fs.readFileSync(record.file);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = bytes[at]! ^ 0xff;
    fs.writeFileSync(record.file, bytes);

    await db.query('UPDATE users SET display_name = $1', ['after-backup']);
    const catalogBefore = listBackups(coreContext().settings).length;
    const restore = await cli('restore', record.file, '--yes');
    expect(restore.exitCode).toBe(1);
    const errors = String(restore.stderr).split('\n').filter((line) => line.startsWith('mutx-ops:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/checksum mismatch .* refusing to restore/);
    expect((await db.query('SELECT DISTINCT display_name FROM users')).rows).toEqual([{ display_name: 'after-backup' }]);
    expect(listBackups(coreContext().settings).length).toBe(catalogBefore); // no safety backup either
    expect(lastEnd('restore')!.outcome).toBe('refused');

    const verify = await cli('backup', 'verify', record.file);
    expect(verify.exitCode).toBe(1);
    expect(String(verify.stdout)).toContain('checksum mismatch');
    fs.rmSync(record.file);
    fs.rmSync(record.metaFile);
  });

  it('verify re-reads the checksum and the TOC; --restore-test restores into a scratch database, compares and drops it', async () => {
    const taken = await cli('--json', 'backup');
    const record = json<BackupRecord>(taken.stdout);

    const quick = await cli('--json', 'backup', 'verify', record.file);
    expect(quick.exitCode, quick.all as string).toBe(0);
    const quickResult = json<{ ok: boolean; checksumOk: boolean; tocEntries: number; tableDataEntries: number }>(quick.stdout);
    expect(quickResult).toMatchObject({ ok: true, checksumOk: true });
    expect(quickResult.tableDataEntries).toBeGreaterThanOrEqual(10);

    const full = await cli('--json', 'backup', 'verify', 'latest', '--restore-test');
    expect(full.exitCode, full.all as string).toBe(0);
    const fullResult = json<{ ok: boolean; restoreTest: { ok: boolean; database: string; tables: { table: string; restoredRows: number; sourceRows: number }[]; sourceCompared: boolean } }>(full.stdout);
    expect(fullResult.restoreTest.ok).toBe(true);
    expect(fullResult.restoreTest.sourceCompared).toBe(true);
    expect(fullResult.restoreTest.tables.find((t) => t.table === 'public.orders')).toMatchObject({ restoredRows: 20000, sourceRows: 20000 });
    const scratch = await adminQuery('SELECT 1 FROM pg_database WHERE datname = $1', [fullResult.restoreTest.database]);
    expect(scratch.rowCount).toBe(0);

    const sidecar = JSON.parse(fs.readFileSync(record.metaFile, 'utf8')) as BackupRecord;
    expect(sidecar.verified).toMatchObject({ ok: true, restoreTest: true });
    expect(latestVerifiedBackup(coreContext().settings, coreContext().target, 60)?.file).toBe(record.file);
    expect(lastEnd('backup verify')!.details).toMatchObject({ file: record.file, sha256: record.sha256, ok: true });
  });

  it('--restore-test catches a truncated file that the table of contents alone does not', async () => {
    const latest = listBackups(coreContext().settings).find((b) => b.format === 'custom' && b.reason !== 'safety')!;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mutx-trunc-'));
    tmpDirs.push(dir);
    const copy = path.join(dir, 'truncated.dump');
    fs.writeFileSync(copy, fs.readFileSync(latest.file).subarray(0, Math.floor(latest.sizeBytes * 0.7)));

    const quick = await cli('backup', 'verify', copy);
    expect(quick.exitCode, quick.all as string).toBe(0); // header and TOC are intact: only a restore shows the damage
    const full = await cli('backup', 'verify', copy, '--restore-test');
    expect(full.exitCode).toBe(1);
    expect(String(full.stdout)).toMatch(/restore test: restore into a scratch database failed: pg_restore/);
    const leftovers = await adminQuery(`SELECT datname FROM pg_database WHERE datname LIKE 'mutx_verify_%' AND datname LIKE $1`, [`%${db.name.slice(0, 30)}%`]);
    expect(leftovers.rows).toEqual([]);

    // Restoring it over the database: pg_restore dies half-way, psql must not COMMIT what it got.
    await db.query(`UPDATE users SET display_name = 'kept'`);
    const before = await state();
    const restore = await cli('restore', copy, '--yes', '--no-safety-backup');
    expect(restore.exitCode).toBe(1);
    expect(String(restore.stderr)).toMatch(/failed: pg_restore exited with code 1: .* is unchanged/);
    expect(await state()).toEqual(before);
  });
});

describe('catalog and progress', () => {
  it('lists only complete backups, newest first; leftovers without a sidecar are ignored', async () => {
    const settings = coreContext().settings;
    fs.writeFileSync(path.join(settings.backupsPath, 'junk.dump.partial'), 'PGDMP');
    fs.writeFileSync(path.join(settings.backupsPath, 'orphan.dump'), 'PGDMP');
    const listed = await cli('--json', 'backups');
    expect(listed.exitCode).toBe(0);
    const backups = json<{ backups: BackupRecord[] }>(listed.stdout).backups;
    expect(backups.length).toBeGreaterThan(3);
    expect(backups.some((b) => /junk|orphan/.test(b.file))).toBe(false);
    const times = backups.map((b) => b.createdAt);
    expect([...times].sort().reverse()).toEqual(times);
    const human = await cli('backups');
    expect(String(human.stdout)).toMatch(/^AGE\s+SIZE\s+FORMAT\s+REVISION\s+VERIFIED\s+BY\s+DATABASE\s+FILE/);
    expect(String(human.stdout)).toContain('[safety]');
    fs.rmSync(path.join(settings.backupsPath, 'junk.dump.partial'));
    fs.rmSync(path.join(settings.backupsPath, 'orphan.dump'));
  });

  it('emits typed events: started, progress against the catalog table count, finished (core API)', async () => {
    const events: BackupEvent[] = [];
    const record = await backupDatabase(coreContext(), { format: 'plain', onEvent: (e) => events.push(e) });
    const tables = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname IN ('public', 'mutx_ops')`);
    expect(events[0]).toMatchObject({ type: 'started', operation: 'backup', file: record.file, tablesTotal: tables.rows[0]!.n });
    const progress = events.filter((e): e is Extract<BackupEvent, { type: 'progress' }> => e.type === 'progress');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatchObject({ tablesDone: tables.rows[0]!.n, tablesTotal: tables.rows[0]!.n, bytes: record.sizeBytes });
    expect(events.at(-1)).toMatchObject({ type: 'finished', file: record.file, bytes: record.sizeBytes, sha256: record.sha256 });
    expect(record.tables).toBe(tables.rows[0]!.n);
  });
});
