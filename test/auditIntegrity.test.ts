import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AuditTrail, readLines } from '../src/core/audit';
import { BIN, createTestDatabase, createTestProject, runCli, waitFor, type TestDatabase, type TestProject } from './helpers/db';
import { writeMigration } from './helpers/migrations';

/**
 * Issue 15, item 3: a short write (disk full, reproduced with a file size limit on the real
 * process) never leaves a partial record; a failing start record stops the operation before it
 * changes anything; a failing end record is reported without losing the result; a damaged last
 * record is named with its repair (`audit repair`), and no path hangs.
 */
let db: TestDatabase;
let project: TestProject;
const cli = (args: string[]) => runCli(['--database-url', db.url, ...args], { cwd: project.dir, timeout: 60_000 });
/** The binary under a file size limit (RLIMIT_FSIZE): writes past `bytes` fail with EFBIG. */
const limited = (bytes: number, args: string[]) =>
  execa('prlimit', [`--fsize=${bytes}`, 'node', BIN, '--database-url', db.url, ...args], { cwd: project.dir, env: { MUTX_OPERATOR: 'tester', MUTX_OPS_PREFS_DIR: path.join(project.dir, '.prefs') }, reject: false, all: true, timeout: 60_000 });
const versions = async () => (await db.query<{ v: string }>("SELECT version_num AS v FROM alembic_version ORDER BY 1").catch(() => ({ rows: [] as { v: string }[] }))).rows.map((r) => r.v);
const size = () => fs.statSync(project.auditPath).size;

beforeAll(async () => {
  db = await createTestDatabase('mutx_auditint');
  project = createTestProject({ copyMigrations: false });
  writeMigration(project.migrationsDir, 'r1', { upgrade: 'CREATE TABLE t1(id int);', downgrade: 'DROP TABLE t1;' });
  writeMigration(project.migrationsDir, 'r2', { revises: 'r1', upgrade: 'CREATE TABLE t2(id int);\nSELECT pg_sleep(1);', downgrade: 'DROP TABLE t2;' });
});
afterAll(async () => {
  await db?.drop();
  project?.cleanup();
});

describe('short writes of the audit trail', () => {
  it('a start record that does not fit stops the upgrade before it changes anything, leaving no partial record', async () => {
    expect((await cli(['upgrade', 'r1'])).exitCode).toBe(0);
    const before = fs.readFileSync(project.auditPath);
    const result = await limited(before.length + 40, ['upgrade', 'head']);
    expect(result.timedOut).toBe(false);
    expect(result.exitCode, String(result.all)).toBe(1);
    expect(String(result.stderr)).toMatch(/^mutx-ops: upgrade did not run: the audit trail could not record its start: .*audit\.jsonl: could not write an audit record: the file size limit was reached \(EFBIG\); nothing partial was left in the file — free space/m);
    expect(String(result.stderr).trim().split('\n')).toHaveLength(1);
    expect(fs.readFileSync(project.auditPath).equals(before)).toBe(true);
    expect(await versions()).toEqual(['r1']);
    expect((await cli(['audit', 'verify'])).exitCode).toBe(0);
  });

  it('an end record that does not fit: the upgrade result stands and is printed, the failure is reported, the process ends', async () => {
    const before = size();
    const run = cli(['upgrade', 'head']);
    // The start record is in and r2 sleeps: now the disk "fills up" for that process.
    await waitFor(() => size() > before || undefined);
    await waitFor(async () => (await db.query("SELECT 1 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(1)%' AND state = 'active' AND pid <> pg_backend_pid()")).rowCount === 1, 20_000);
    const atStart = size();
    await execa('prlimit', ['--pid', String(run.pid), `--fsize=${atStart + 10}`]);
    const result = await run;
    expect(result.timedOut).toBe(false);
    expect(String(result.stdout)).toMatch(/r1 → r2/);
    expect(String(result.stderr)).toMatch(/mutx-ops: audit: upgrade ended \(ok\) but its end record could not be written: .*EFBIG.*the next mutx-ops records it as interrupted/);
    expect(result.exitCode).toBe(1);
    expect(await versions()).toEqual(['r2']);
    // Whole records only; the next command closes the operation as interrupted.
    expect(size()).toBe(atStart);
    expect((await cli(['audit', 'verify'])).exitCode).toBe(0);
    expect((await cli(['current'])).exitCode).toBe(0);
    const records = new AuditTrail(project.auditPath, { name: 't', host: 'h' }).readAll();
    expect(records.some((r) => r.action === 'upgrade' && r.phase === 'end' && r.outcome === 'interrupted')).toBe(true);
    expect((await cli(['audit', 'verify'])).exitCode).toBe(0);
  });

  it('truncate -s -1 (the last newline gone, the record whole): the next command continues the chain', async () => {
    fs.truncateSync(project.auditPath, size() - 1);
    const result = await cli(['current']);
    expect(result.exitCode, String(result.all)).toBe(0);
    const verify = await cli(['audit', 'verify']);
    expect(verify.exitCode, String(verify.all)).toBe(0);
  });

  it('a cut last record: every command says what is wrong and how to repair, exits, changes nothing; audit repair moves it aside, audited', async () => {
    fs.truncateSync(project.auditPath, size() - 30);
    const damaged = fs.readFileSync(project.auditPath);
    for (const args of [['current'], ['downgrade', '-1']]) {
      const result = await cli(args);
      expect(result.timedOut).toBe(false);
      expect(result.exitCode, String(result.all)).toBe(1);
      expect(String(result.stderr)).toMatch(/audit\.jsonl: the last record \(\d+ bytes at byte \d+\) is cut short .*refusing to extend a broken chain — .*`mutx-ops audit repair` moves a damaged last record aside/);
      expect(String(result.stderr).trim().split('\n')).toHaveLength(1);
    }
    expect(fs.readFileSync(project.auditPath).equals(damaged)).toBe(true);
    expect(await versions()).toEqual(['r2']);
    expect((await cli(['audit', 'verify'])).exitCode).toBe(1);

    const repair = await cli(['audit', 'repair']);
    expect(repair.exitCode, String(repair.all)).toBe(0);
    const moved = /to (\S+audit\.jsonl\.damaged-\S+);/.exec(String(repair.stdout))?.[1];
    expect(moved).toBeDefined();
    expect(damaged.subarray(damaged.length - fs.statSync(moved!).size).equals(fs.readFileSync(moved!))).toBe(true);
    expect(fs.statSync(moved!).mode & 0o777).toBe(0o600);
    const verify = await cli(['audit', 'verify']);
    expect(verify.exitCode, String(verify.all)).toBe(0);
    // The database had seen the record that was cut: the anchor check names the repair.
    expect(String(verify.stdout)).toMatch(/REPAIRED: database "mutx_auditint_\w+" .*: record \d+, the newest this database saw, was damaged on disk and moved aside by `audit repair`/);
    const last = new AuditTrail(project.auditPath, { name: 't', host: 'h' }).last(1)[0]!;
    expect(last).toMatchObject({ action: 'audit.repair', details: { moved_to: moved } });
    expect((await cli(['downgrade', '-1'])).exitCode).toBe(0);
    expect(await versions()).toEqual(['r1']);
    // Nothing left to repair now.
    expect(String((await cli(['audit', 'repair'])).stdout)).toMatch(/nothing to repair/);
  });

  it('audit repair refuses when the damage is not only in the last record', async () => {
    const rows = fs.readFileSync(project.auditPath, 'utf8').split('\n');
    rows[1] = rows[1]!.replace('"tester"', '"mallory"');
    fs.writeFileSync(project.auditPath, rows.join('\n').slice(0, -20));
    const repair = await cli(['audit', 'repair']);
    expect(repair.exitCode).toBe(1);
    expect(String(repair.stdout)).toMatch(/line 2: content does not match its hash .*keep the file as evidence/);
  });
});

describe('streamed reading', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });
  it('lines split across read chunks of any size come out whole, with their offsets', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mutx-lines-'));
    dirs.push(dir);
    const trail = new AuditTrail(path.join(dir, 'audit.jsonl'), { name: 'tester', host: 'h' });
    for (let i = 0; i < 40; i++) trail.append({ action: `a${i}`, phase: 'event', details: { pad: 'x'.repeat(i * 7) } });
    const text = fs.readFileSync(trail.file, 'utf8');
    const expected = text.trimEnd().split('\n');
    for (const chunk of [1, 7, 64, 1000, 1 << 20]) {
      const got = [...readLines(trail.file, chunk)];
      expect(got.map((l) => l.line)).toEqual(expected);
      for (const { line, offset } of got) expect(text.slice(offset, offset + line.length)).toBe(line);
      expect(trail.verify({ chunkBytes: chunk })).toEqual({ ok: true, records: 40 });
    }
    expect(trail.last(3).map((r) => r.action)).toEqual(['a37', 'a38', 'a39']);
  });
});
