import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../src/core/audit';
import { listBackups, type BackupRecord } from '../src/core/backup';
import { loadProjectSettings } from '../src/core/config';
import { BIN, createTestDatabase, createTestProject, runCli, waitFor, type TestDatabase, type TestProject } from './helpers/db';

/** Failures and interruptions: nothing half-written is ever catalogued, the password never reaches argv. */

let db: TestDatabase;
let project: TestProject;
const tmpDirs: string[] = [];

const cli = (...args: string[]) => runCli(['--database-url', db.url, ...args], { cwd: project.dir });
const backupsDir = () => path.join(project.dir, '.mutx-ops', 'backups');
const backupFiles = () => (fs.existsSync(backupsDir()) ? fs.readdirSync(backupsDir()) : []);
const catalog = () => listBackups(loadProjectSettings({ cwd: project.dir }));

function tmpDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpDirs.push(dir);
  return dir;
}

function auditEnds(action: string): AuditRecord[] {
  if (!fs.existsSync(project.auditPath)) return [];
  return fs
    .readFileSync(project.auditPath, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditRecord)
    .filter((r) => r.action === action && r.phase === 'end');
}

function readProc(pid: string, what: 'cmdline' | 'environ'): string[] | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/${what}`, 'utf8').split('\0');
  } catch {
    return undefined;
  }
}

/** The pg_dump/pg_restore child working on our database (found by PGDATABASE in its environment). */
function findTool(tool: string, database = db.name): number | undefined {
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const argv = readProc(pid, 'cmdline');
    if (!argv?.some((arg) => path.basename(arg) === tool)) continue;
    if (readProc(pid, 'environ')?.includes(`PGDATABASE=${database}`)) return Number(pid);
  }
  return undefined;
}

/** A session holding a lock, so that the tool's session waits on it for as long as the test needs. */
async function holdLock(sql: string): Promise<{ release: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query('BEGIN');
  await client.query(sql);
  return {
    release: async () => {
      await client.query('ROLLBACK').catch(() => {});
      await client.end().catch(() => {});
    },
  };
}

/** Waits until one of our tool's server sessions (application_name "mutx-ops:… #id") waits on a lock. */
async function toolWaitingOnLock(): Promise<void> {
  await waitFor(async () => {
    const rows = await db.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'mutx-ops:% #%' AND wait_event_type = 'Lock'`, [db.name]);
    return (rowsCount(rows) > 0) || undefined;
  }, 15_000);
}
const rowsCount = (result: { rowCount: number | null }) => result.rowCount ?? 0;

beforeAll(async () => {
  db = await createTestDatabase('mutx_bksafe');
  project = createTestProject({ copyMigrations: false });
  await db.query(`CREATE TABLE filler (id int PRIMARY KEY, payload text NOT NULL);
                  INSERT INTO filler SELECT g, md5(g::text) || md5((g + 1)::text) || md5((g + 2)::text) FROM generate_series(1, 30000) g;
                  CREATE TABLE small (id int PRIMARY KEY, v text); INSERT INTO small VALUES (1, 'original');`);
});

afterAll(async () => {
  await db?.drop();
  project?.cleanup();
  for (const dir of tmpDirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('interrupted and failed dumps leave nothing catalogued', () => {
  it('pg_dump killed with SIGKILL mid-run: partial removed, audit says failed, one line says why', async () => {
    const lock = await holdLock('LOCK TABLE filler IN ACCESS EXCLUSIVE MODE');
    const running = cli('backup');
    try {
      await toolWaitingOnLock();
      const pid = await waitFor(() => findTool('pg_dump'));
      expect(backupFiles().some((name) => name.endsWith('.partial'))).toBe(true);
      process.kill(pid, 'SIGKILL');
    } finally {
      await lock.release();
    }
    const result = await running;
    expect(result.exitCode).toBe(1);
    const errors = String(result.stderr).split('\n').filter((line) => line.startsWith('mutx-ops:'));
    expect(errors).toEqual([expect.stringMatching(/^mutx-ops: backup of "mutx_bksafe_\w+" failed: pg_dump was killed by SIGKILL/)]);
    expect(backupFiles()).toEqual([]);
    expect(catalog()).toEqual([]);
    const end = auditEnds('backup').pop()!;
    expect(end.outcome).toBe('failed');
    expect(end.error).toContain('SIGKILL');
    expect(String(end.details?.file)).toMatch(/\.dump$/);
  });

  it('Ctrl+C (SIGINT) stops pg_dump, removes the partial and exits 130', async () => {
    const lock = await holdLock('LOCK TABLE filler IN ACCESS EXCLUSIVE MODE');
    const running = cli('backup', '--format', 'directory');
    let dumpPid: number;
    try {
      await toolWaitingOnLock();
      dumpPid = await waitFor(() => findTool('pg_dump'));
      running.kill('SIGINT');
      const result = await running;
      expect(result.exitCode).toBe(130);
      expect(String(result.stderr)).toContain('cancelled by the operator');
    } finally {
      await lock.release();
    }
    expect(fs.existsSync(`/proc/${dumpPid}`)).toBe(false);
    expect(backupFiles()).toEqual([]);
    expect(auditEnds('backup').pop()!.outcome).toBe('cancelled');
  });

  it('disk full (file size limit via prlimit --fsize) mid-dump: nothing catalogued, audit says failed', async () => {
    const result = await execa('prlimit', [`--fsize=${256 * 1024}`, process.execPath, BIN, '--database-url', db.url, 'backup', '--format', 'plain'], {
      cwd: project.dir,
      env: { MUTX_OPERATOR: 'tester', MUTX_OPS_PREFS_DIR: path.join(project.dir, '.prefs') },
      reject: false,
    });
    expect(result.exitCode).toBe(1);
    const errors = String(result.stderr).split('\n').filter((line) => line.startsWith('mutx-ops:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/failed: writing .*\.sql\.partial failed: file too large.*EFBIG/);
    expect(backupFiles()).toEqual([]);
    expect(auditEnds('backup').pop()!.outcome).toBe('failed');
  });

  it('refuses up front when the folder has less free space than the database, with the numbers', async (ctx) => {
    if (process.getuid?.() !== 0) ctx.skip();
    const dir = tmpDir('mutx-tiny-');
    const mounted = await execa('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', dir], { reject: false });
    if (mounted.exitCode !== 0) ctx.skip();
    try {
      const result = await cli('backup', '--out', dir);
      expect(result.exitCode).toBe(1);
      expect(String(result.stderr)).toMatch(/not enough free space in .*: \d+(\.\d)? [kM]B free, database "mutx_bksafe_\w+" is \d+(\.\d)? MB \(pg_database_size\)/);
      expect(fs.readdirSync(dir)).toEqual([]);
      expect(auditEnds('backup').pop()!.outcome).toBe('refused');
    } finally {
      await execa('umount', [dir], { reject: false });
    }
  });
});

describe('secrets and file modes', () => {
  it('passes the password only through PGPASSWORD (never argv) and DATABASE_SSL_MODE as PGSSLMODE', async () => {
    const suffix = crypto.randomBytes(4).toString('hex');
    const role = `mutx_pw_${suffix}`;
    const password = `S3cret-${crypto.randomBytes(6).toString('hex')}`;
    await db.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'; GRANT pg_read_all_data TO ${role}`);
    try {
      const url = `postgresql://${role}:${password}@127.0.0.1:5432/${db.name}?sslmode=require`;
      const lock = await holdLock('LOCK TABLE small IN ACCESS EXCLUSIVE MODE');
      const running = runCli(['backup'], { cwd: project.dir, env: { DATABASE_URL: url, DATABASE_SSL_MODE: 'disable' } });
      const seen: string[] = [];
      try {
        const pid = await waitFor(() => findTool('pg_dump'));
        await toolWaitingOnLock();
        for (let round = 0; round < 5; round++) {
          for (const proc of fs.readdirSync('/proc')) {
            if (!/^\d+$/.test(proc)) continue;
            const argv = readProc(proc, 'cmdline');
            if (argv?.join(' ').includes(password)) seen.push(argv.join(' '));
          }
          await new Promise((resolve) => setTimeout(resolve, 40));
        }
        const environ = readProc(String(pid), 'environ') ?? [];
        expect(environ).toContain(`PGPASSWORD=${password}`);
        expect(environ).toContain('PGSSLMODE=disable');
        expect(environ).toContain(`PGUSER=${role}`);
        expect(environ.some((entry) => entry.startsWith('DATABASE_URL='))).toBe(false);
        expect(readProc(String(pid), 'cmdline')!.join(' ')).not.toContain(password);
      } finally {
        await lock.release();
      }
      const result = await running;
      expect(result.exitCode, result.all as string).toBe(0);
      expect(seen).toEqual([]);
      const record = catalog()[0]!;
      expect(record.target).toBe(`postgresql://${role}:***@127.0.0.1:5432/${db.name}`);
      for (const name of backupFiles().filter((n) => n.endsWith('.json'))) expect(fs.readFileSync(path.join(backupsDir(), name), 'utf8')).not.toContain(password);
      expect(fs.readFileSync(project.auditPath, 'utf8')).not.toContain(password);
    } finally {
      await db.query(`DROP ROLE IF EXISTS ${role}`);
    }
  });

  it('writes backups 0600 inside a 0700 folder, also with --out into a new folder', async () => {
    const out = path.join(tmpDir('mutx-out-'), 'nested', 'backups');
    const result = await cli('--json', 'backup', '--out', out, '--format', 'plain');
    expect(result.exitCode, result.all as string).toBe(0);
    const record = JSON.parse(String(result.stdout)) as BackupRecord;
    expect(path.dirname(record.file)).toBe(out);
    expect(fs.statSync(out).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.dirname(out)).mode & 0o777).toBe(0o700);
    expect(fs.statSync(record.file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(record.metaFile).mode & 0o777).toBe(0o600);
    expect(fs.statSync(backupsDir()).mode & 0o777).toBe(0o700);
  });
});

describe('restore interrupted', () => {
  it('Ctrl+C during pg_restore --single-transaction leaves the target untouched', async () => {
    const taken = await cli('--json', 'backup');
    expect(taken.exitCode, taken.all as string).toBe(0);
    const record = JSON.parse(String(taken.stdout)) as BackupRecord;
    await db.query(`UPDATE small SET v = 'changed after the backup'; DELETE FROM filler WHERE id > 100`);

    // A reader keeps an ACCESS SHARE lock on filler: the restore's DROP/TRUNCATE of it waits, mid-transaction.
    const lock = await holdLock('SELECT count(*) FROM filler');
    const running = cli('restore', record.file, '--yes', '--no-safety-backup');
    try {
      await toolWaitingOnLock();
      await waitFor(() => findTool('pg_restore'));
      running.kill('SIGINT');
      const result = await running;
      expect(result.exitCode).toBe(130);
      expect(String(result.stderr)).toMatch(/cancelled by the operator: "mutx_bksafe_\w+" is unchanged/);
    } finally {
      await lock.release();
    }
    expect((await db.query('SELECT v FROM small')).rows).toEqual([{ v: 'changed after the backup' }]);
    expect((await db.query('SELECT count(*)::int AS n FROM filler')).rows).toEqual([{ n: 100 }]);
    expect(auditEnds('restore').pop()!.outcome).toBe('cancelled');
  });
});

describe('bad input changes nothing', () => {
  it('missing pg_dump → exit 2 naming the package; a pg_dump older than the server → exit 2 naming both versions', async () => {
    const nodeOnly = tmpDir('mutx-path-');
    fs.symlinkSync(process.execPath, path.join(nodeOnly, 'node'));
    const fake = tmpDir('mutx-fakepg-');
    fs.writeFileSync(path.join(fake, 'pg_dump'), '#!/bin/sh\necho "pg_dump (PostgreSQL) 13.14"\n', { mode: 0o755 });
    const before = backupFiles();

    const missing = await runCli(['--database-url', db.url, 'backup'], { cwd: project.dir, env: { PATH: nodeOnly } });
    expect(missing.exitCode).toBe(2);
    expect(String(missing.stderr)).toMatch(/^mutx-ops: pg_dump not found on PATH: install postgresql-client-15/);

    const old = await runCli(['--database-url', db.url, 'backup'], { cwd: project.dir, env: { PATH: `${fake}:${nodeOnly}` } });
    expect(old.exitCode).toBe(2);
    expect(String(old.stderr)).toMatch(/pg_dump 13\.14 .* is older than the server \(PostgreSQL 15\.\d+.*server version mismatch — install postgresql-client-15/);
    expect(backupFiles()).toEqual(before);
  });

  it('bad --format, --jobs, file, duration, --into → exit 2', async () => {
    const before = backupFiles();
    const notBackup = path.join(tmpDir('mutx-junk-'), 'notes.txt');
    fs.writeFileSync(notBackup, 'hello\n');
    const cases: [string[], RegExp][] = [
      [['backup', '--format', 'tar'], /unknown backup format "tar"/],
      [['backup', '--jobs', '4'], /--jobs 4 needs --format directory/],
      [['backup', '--format', 'directory', '--jobs', 'many'], /--jobs must be a whole number/],
      [['restore', '/nonexistent/backup.dump', '--yes'], /backup not found: \/nonexistent\/backup\.dump/],
      [['restore', notBackup, '--yes'], /is not a backup: no pg_dump header/],
      [['backup', 'verify', notBackup], /is not a backup/],
      [['restore', 'latest', '--into', 'template1', '--yes'], /refusing to restore into template1/],
      [['backups', 'prune', '--keep', '1', '--older-than', '5 parsecs'], /bad duration "5 parsecs"/],
      [['backups', 'prune', '--keep', '0'], /--keep must be a whole number of at least 1/],
    ];
    for (const [args, message] of cases) {
      const result = await cli(...args);
      expect(result.exitCode, `${args.join(' ')}: ${result.all}`).toBe(2);
      expect(String(result.stderr), args.join(' ')).toMatch(message);
    }
    const noYes = await cli('restore', 'latest');
    expect(noYes.exitCode).toBe(2);
    expect(String(noYes.stderr)).toContain('pass --yes');
    expect(backupFiles()).toEqual(before);
  });
});
