import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AuditTrail, processAlive } from '../src/core/audit';
import { createTestDatabase, createTestProject, REPO_ROOT, runCli, type TestDatabase, type TestProject } from './helpers/db';

const operator = { name: 'tester', host: 'test-host' };
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function trailWith(records: number): AuditTrail {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mutx-audit-'));
  dirs.push(dir);
  const trail = new AuditTrail(path.join(dir, 'state', 'audit.jsonl'), operator);
  for (let i = 0; i < records; i++) trail.append({ action: `step-${i}`, phase: 'event', details: { i } });
  return trail;
}

const lines = (trail: AuditTrail) => fs.readFileSync(trail.file, 'utf8').trimEnd().split('\n');
const write = (trail: AuditTrail, rows: string[]) => fs.writeFileSync(trail.file, `${rows.join('\n')}\n`);

describe('audit chain', () => {
  it('verifies an untouched chain, with private file modes', () => {
    const trail = trailWith(5);
    expect(trail.verify()).toEqual({ ok: true, records: 5 });
    expect(fs.statSync(trail.file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(trail.file)).mode & 0o777).toBe(0o700);
  });

  it('catches an edited record', () => {
    const trail = trailWith(5);
    const rows = lines(trail);
    rows[2] = rows[2]!.replace('"step-2"', '"step-X"');
    write(trail, rows);
    expect(trail.verify()).toMatchObject({ ok: false, firstBad: { line: 3, seq: 3, reason: expect.stringMatching(/edited/) } });
  });

  it('catches a deleted record', () => {
    const trail = trailWith(5);
    const rows = lines(trail);
    rows.splice(1, 1);
    write(trail, rows);
    expect(trail.verify()).toMatchObject({ ok: false, firstBad: { line: 2, seq: 3, reason: expect.stringMatching(/deleted/) } });
  });

  it('catches reordered records', () => {
    const trail = trailWith(5);
    const rows = lines(trail);
    [rows[1], rows[2]] = [rows[2]!, rows[1]!];
    write(trail, rows);
    expect(trail.verify()).toMatchObject({ ok: false, firstBad: { line: 2, reason: expect.stringMatching(/jumps|order/) } });
  });

  it('catches a truncated tail and a cut line', () => {
    const trail = trailWith(5);
    const rows = lines(trail);
    write(trail, rows.slice(0, 3));
    expect(trail.verify()).toMatchObject({ ok: false, firstBad: { reason: expect.stringMatching(/removed from the end/) } });
    write(trail, [...rows.slice(0, 4), rows[4]!.slice(0, 40)]);
    expect(trail.verify()).toMatchObject({ ok: false, firstBad: { line: 5, reason: expect.stringMatching(/not valid JSON/) } });
  });

  it('catches a whole record recomputed with a forged hash (the next record no longer chains)', () => {
    const trail = trailWith(4);
    const rows = lines(trail);
    const forged = JSON.parse(rows[1]!);
    forged.action = 'forged';
    forged.hash = 'f'.repeat(64);
    rows[1] = JSON.stringify(forged);
    write(trail, rows);
    expect(trail.verify()).toMatchObject({ ok: false, firstBad: { line: 2 } });
  });

  it('never stores a password that a caller passes in', () => {
    const trail = trailWith(0);
    trail.append({ action: 'x', phase: 'event', target: 'postgresql://u:hunter2@h/db', args: { url: 'postgres://a:hunter2@b/c', password: 'hunter2' } });
    expect(fs.readFileSync(trail.file, 'utf8')).not.toContain('hunter2');
  });

  it('keeps one chain when several processes append at once', async () => {
    const trail = trailWith(1);
    const script = `import { AuditTrail } from './src/core/audit.ts';
      const t = new AuditTrail(process.argv[1], { name: 'p', host: 'h' });
      for (let i = 0; i < 40; i++) t.append({ action: 'race', phase: 'event' });`;
    await Promise.all([1, 2, 3].map(() => execa('node', ['--import', 'tsx', '--input-type=module', '-e', script, trail.file], { cwd: REPO_ROOT })));
    expect(trail.verify()).toEqual({ ok: true, records: 121 });
  });
});

/** The pid of a process that has exited and been reaped. */
function deadPid(): number {
  const child = spawnSync('true');
  return child.pid!;
}

const readRecords = (trail: AuditTrail) => fs.readFileSync(trail.file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));

describe('audit trail after a kill -9 at each point of the writer', () => {
  it('breaks an empty lock file left by a killed process (once it is a moment old) and a dead holder\'s lock', () => {
    const trail = trailWith(1);
    const lock = `${trail.file}.lock`;
    fs.writeFileSync(lock, '');
    const old = new Date(Date.now() - 5_000);
    fs.utimesSync(lock, old, old);
    const started = Date.now();
    trail.append({ action: 'after-empty-lock', phase: 'event' });
    fs.writeFileSync(lock, String(deadPid()));
    trail.append({ action: 'after-dead-lock', phase: 'event' });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(fs.existsSync(lock)).toBe(false);
    expect(fs.readdirSync(path.dirname(trail.file)).filter((n) => n.includes('.lock'))).toEqual([]);
    expect(trail.verify()).toEqual({ ok: true, records: 3 });
  });

  it('accepts a head marker one record behind (killed before the head was rewritten), and the next append repairs it', () => {
    const trail = trailWith(3);
    const head = fs.readFileSync(`${trail.file}.head`, 'utf8');
    trail.append({ action: 'late', phase: 'event' });
    fs.writeFileSync(`${trail.file}.head`, head);
    expect(trail.verify()).toEqual({ ok: true, records: 4 });
    trail.append({ action: 'next', phase: 'event' });
    expect(JSON.parse(fs.readFileSync(`${trail.file}.head`, 'utf8')).seq).toBe(5);
    expect(trail.verify()).toEqual({ ok: true, records: 5 });
  });

  it('still rejects a head marker two records behind, naming the last record', () => {
    const trail = trailWith(3);
    const head = fs.readFileSync(`${trail.file}.head`, 'utf8');
    trail.append({ action: 'a', phase: 'event' });
    trail.append({ action: 'b', phase: 'event' });
    fs.writeFileSync(`${trail.file}.head`, head);
    expect(trail.verify()).toMatchObject({ ok: false, firstBad: { line: 5, seq: 5, reason: expect.stringMatching(/head marker/) } });
  });

  it('writes the open-operation marker before the start record', () => {
    const trail = trailWith(0);
    const op = trail.begin({ action: 'upgrade' });
    const marker = JSON.parse(fs.readFileSync(path.join(`${trail.file}.open`, op.opId), 'utf8'));
    expect(marker).toMatchObject({ op_id: op.opId, pid: process.pid, action: 'upgrade' });
    op.end('ok');
    expect(fs.existsSync(path.join(`${trail.file}.open`, op.opId))).toBe(false);
  });

  const marker = (trail: AuditTrail, opId: string, pid: number) => {
    fs.mkdirSync(`${trail.file}.open`, { recursive: true });
    fs.writeFileSync(path.join(`${trail.file}.open`, opId), JSON.stringify({ op_id: opId, pid, action: 'upgrade' }));
  };

  it('drops the marker of a process killed before its start record was written', () => {
    const trail = trailWith(2);
    marker(trail, 'op-without-start', deadPid());
    expect(trail.recordInterruptedOperations()).toEqual([]);
    expect(fs.readdirSync(`${trail.file}.open`)).toEqual([]);
    expect(readRecords(trail)).toHaveLength(2);
  });

  it('records the interruption of a process killed after its start record', () => {
    const trail = trailWith(2);
    trail.append({ action: 'upgrade', phase: 'start' }, 'op-started');
    trail.append({ action: 'other', phase: 'event' });
    marker(trail, 'op-started', deadPid());
    expect(trail.recordInterruptedOperations()).toMatchObject([{ op_id: 'op-started', phase: 'end', outcome: 'interrupted' }]);
    expect(fs.readdirSync(`${trail.file}.open`)).toEqual([]);
    expect(trail.recordInterruptedOperations()).toEqual([]);
    expect(trail.verify()).toEqual({ ok: true, records: 5 });
  });

  it('gives no second end record to an operation killed after its end record, before the marker was removed', () => {
    const trail = trailWith(1);
    trail.append({ action: 'upgrade', phase: 'start' }, 'op-ended');
    trail.append({ action: 'upgrade', phase: 'end', outcome: 'ok' }, 'op-ended');
    marker(trail, 'op-ended', deadPid());
    expect(trail.recordInterruptedOperations()).toEqual([]);
    expect(fs.readdirSync(`${trail.file}.open`)).toEqual([]);
    expect(readRecords(trail).filter((r) => r.op_id === 'op-ended' && r.phase === 'end')).toHaveLength(1);
  });

  it('finds a start record far from the end of a large file (the backward scan crosses chunks)', () => {
    const trail = trailWith(0);
    trail.append({ action: 'upgrade', phase: 'start' }, 'op-far');
    for (let i = 0; i < 1500; i++) trail.append({ action: 'filler', phase: 'event', details: { pad: 'x'.repeat(300) } });
    expect(fs.statSync(trail.file).size).toBeGreaterThan(256 * 1024);
    marker(trail, 'op-far', deadPid());
    marker(trail, 'op-none', deadPid());
    expect(trail.recordInterruptedOperations()).toMatchObject([{ op_id: 'op-far', outcome: 'interrupted' }]);
    expect(fs.readdirSync(`${trail.file}.open`)).toEqual([]);
  });

  it.runIf(process.platform === 'linux')('does not count a zombie (exited, not yet reaped) as alive', () => {
    const child = spawn('true');
    // The event loop does not run during this wait, so node cannot reap the child: a zombie.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
    expect(processAlive(child.pid!)).toBe(false);
    expect(processAlive(process.pid)).toBe(true);
  });
});

describe('audit through the CLI', () => {
  let db: TestDatabase;
  let project: TestProject;
  beforeAll(async () => {
    db = await createTestDatabase();
    project = createTestProject();
  });
  afterAll(async () => {
    await db.drop();
    project.cleanup();
  });

  it('records before and after, mirrors into the database, and `audit verify` names the first bad record', async () => {
    expect((await runCli(['--database-url', db.url, 'upgrade', '+2'], { cwd: project.dir })).exitCode).toBe(0);
    const records = fs.readFileSync(project.auditPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const start = records.find((r) => r.action === 'upgrade' && r.phase === 'start');
    const end = records.find((r) => r.action === 'upgrade' && r.phase === 'end');
    expect(start).toMatchObject({ operator: 'tester', target: expect.stringContaining(db.name), args: { target: '+2' } });
    expect(end).toMatchObject({ outcome: 'ok', op_id: start.op_id, revisions_before: [], revisions_after: [expect.any(String)] });
    const mirrored = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM mutx_ops.audit WHERE action = 'upgrade'");
    expect(mirrored.rows[0]!.n).toBe(2);
    expect((await runCli(['audit', 'verify'], { cwd: project.dir })).exitCode).toBe(0);
    const show = await runCli(['audit', 'show', '--last', '2'], { cwd: project.dir });
    expect(String(show.stdout).trim().split('\n')).toHaveLength(2);
    const rows = fs.readFileSync(project.auditPath, 'utf8').trimEnd().split('\n');
    rows[0] = rows[0]!.replace('"tester"', '"mallory"');
    fs.writeFileSync(project.auditPath, `${rows.join('\n')}\n`);
    const broken = await runCli(['audit', 'verify'], { cwd: project.dir });
    expect(broken.exitCode).toBe(1);
    expect(String(broken.stdout)).toMatch(/audit trail BROKEN at .*audit\.jsonl:1 \(record 1\): content does not match its hash/);
  });

  it('records an operation whose process was killed as interrupted on the next start', async () => {
    const p = createTestProject({ copyMigrations: false });
    await db.query('DROP SCHEMA public CASCADE; DROP SCHEMA IF EXISTS mutx_ops CASCADE; CREATE SCHEMA public;');
    try {
      fs.writeFileSync(path.join(p.migrationsDir, 'kk01_sleep.sql'), '-- revision: kk01\n-- +upgrade\nSELECT pg_sleep(30);\n-- +downgrade\nSELECT 1;\n');
      const run = runCli(['--database-url', db.url, 'upgrade', 'head'], { cwd: p.dir });
      const started = Date.now();
      while (!fs.existsSync(p.auditPath) || !fs.readFileSync(p.auditPath, 'utf8').includes('"phase":"start"')) {
        if (Date.now() - started > 10_000) throw new Error('no start record');
        await new Promise((r) => setTimeout(r, 20));
      }
      run.kill('SIGKILL');
      await run;
      const next = await runCli(['--database-url', db.url, 'current'], { cwd: p.dir });
      expect(next.exitCode, String(next.all)).toBe(0);
      const records = fs.readFileSync(p.auditPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(records.find((r) => r.outcome === 'interrupted')).toMatchObject({ action: 'upgrade', phase: 'end', error: expect.stringMatching(/ended without finishing/) });
      expect((await runCli(['audit', 'verify'], { cwd: p.dir })).exitCode).toBe(0);
      // The server ended the session, so the lock is free and the version table untouched.
      const locks = await db.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())");
      expect(locks.rows).toHaveLength(0);
    } finally {
      p.cleanup();
    }
  });
});
