import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditTrail } from '../src/core/audit';
import { MutxError } from '../src/core/errors';
import { CREATED_MARKER, writeFileAtomic } from '../src/core/statePaths';
import { createTestDatabase, createTestProject, runCli, type TestDatabase, type TestProject } from './helpers/db';

/**
 * Issue 15, items 5 and 6: state_dir / audit_path / backups_dir never make mutx-ops chmod, fill or
 * write through a folder or file it did not create. A folder made here with mode 1777 stands in for
 * a shared folder like /tmp (never a real system folder); a folder chowned to `nobody` for another
 * user's folder.
 */
let db: TestDatabase;
const scratch: string[] = [];
const tmp = (prefix: string) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  scratch.push(dir);
  return dir;
};
const mode = (p: string) => fs.statSync(p).mode & 0o7777;

beforeAll(async () => {
  db = await createTestDatabase('mutx_statepaths');
});
afterAll(async () => {
  await db?.drop();
  for (const dir of scratch) fs.rmSync(dir, { recursive: true, force: true });
});

function project(settings: string): TestProject {
  const p = createTestProject({ settings: `lock_wait_seconds: 10\n${settings}` });
  scratch.push(p.dir);
  return p;
}

/** True when no revision is recorded (the table is missing or empty): nothing was migrated. */
async function atBase(): Promise<boolean> {
  const result = await db.query(`SELECT to_regclass('public.alembic_version') AS t`);
  if (result.rows[0]!.t === null) return true;
  return (await db.query('SELECT 1 FROM public.alembic_version')).rowCount === 0;
}

async function expectRefused(p: TestProject, args: string[], pattern: RegExp) {
  const result = await runCli(['--database-url', db.url, ...args], { cwd: p.dir });
  expect(result.exitCode, result.all as string).toBe(2);
  const out = String(result.stderr).trim();
  expect(out.split('\n')[0]).toMatch(pattern);
  expect(out).not.toMatch(/\n\s+at /); // no stack trace
  return result;
}

describe('shared and foreign folders are refused, never chmodded', () => {
  it('audit_path in a shared (1777) folder: exit 2, folder untouched, database untouched', async () => {
    const shared = tmp('mutx-shared-');
    fs.chmodSync(shared, 0o1777);
    const p = project(`audit_path: ${shared}/x.jsonl\n`);
    await expectRefused(p, ['upgrade', 'head'], /writable by every user/);
    expect(mode(shared)).toBe(0o1777);
    expect(fs.readdirSync(shared)).toEqual([]);
    expect(await atBase()).toBe(true);
  });

  it('audit_path naming the shared folder itself: refused as a folder, its parent not chmodded', async () => {
    const parent = tmp('mutx-parent-');
    const shared = path.join(parent, 'shared');
    fs.mkdirSync(shared);
    fs.chmodSync(shared, 0o1777);
    fs.chmodSync(parent, 0o755);
    const p = project(`audit_path: ${shared}\n`);
    await expectRefused(p, ['upgrade', 'head'], /is a folder, not a file/);
    expect(mode(shared)).toBe(0o1777);
    expect(mode(parent)).toBe(0o755);
  });

  it('state_dir and backups_dir in a shared folder: refused before anything is written', async () => {
    const shared = tmp('mutx-shared-');
    fs.chmodSync(shared, 0o1777);
    const p = project(`state_dir: ${shared}/state\n`);
    await expectRefused(p, ['upgrade', 'head'], /writable by every user/);
    const q = project(`backups_dir: ${shared}\n`);
    await expectRefused(q, ['backup'], /writable by every user/);
    expect(mode(shared)).toBe(0o1777);
    expect(fs.readdirSync(shared)).toEqual([]);
  });

  it('a folder of another user is refused', async () => {
    const other = tmp('mutx-other-');
    fs.chownSync(other, 65534, 65534);
    fs.chmodSync(other, 0o755);
    const p = project(`backups_dir: ${other}\n`);
    await expectRefused(p, ['backup'], /belongs to another user/);
    expect(fs.readdirSync(other)).toEqual([]);
  });

  it('state_dir naming a file: one line, exit 2, on every command', async () => {
    const file = path.join(tmp('mutx-file-'), 'passwd');
    fs.writeFileSync(file, 'root:x:0:0::/root:/bin/sh\n', { mode: 0o644 });
    const p = project(`state_dir: ${file}\n`);
    for (const args of [['upgrade', 'head'], ['runs'], ['backups'], ['audit', 'verify']]) await expectRefused(p, args, /is a file, not a folder/);
    expect(fs.readFileSync(file, 'utf8')).toBe('root:x:0:0::/root:/bin/sh\n');
    expect(mode(file)).toBe(0o644);
  });

  it('an existing folder the operator made is used as it is; folders mutx-ops creates are 0700 and tightened again', async () => {
    const mine = tmp('mutx-mine-');
    fs.chmodSync(mine, 0o750);
    const p = project(`state_dir: ${mine}\n`);
    const result = await runCli(['--database-url', db.url, 'upgrade', 'head'], { cwd: p.dir });
    expect(result.exitCode, result.all as string).toBe(0);
    expect(mode(mine)).toBe(0o750);
    expect(mode(path.join(mine, 'audit.jsonl'))).toBe(0o600);
    await runCli(['--database-url', db.url, 'downgrade', 'base'], { cwd: p.dir });

    const fresh = project('');
    const up = await runCli(['--database-url', db.url, 'upgrade', 'head'], { cwd: fresh.dir });
    expect(up.exitCode, up.all as string).toBe(0);
    const state = path.join(fresh.dir, '.mutx-ops');
    expect(mode(state)).toBe(0o700);
    expect(fs.existsSync(path.join(state, CREATED_MARKER))).toBe(true);
    fs.chmodSync(state, 0o755);
    const down = await runCli(['--database-url', db.url, 'downgrade', 'base'], { cwd: fresh.dir });
    expect(down.exitCode, down.all as string).toBe(0);
    expect(mode(state)).toBe(0o700);
  });
});

describe('links in the state folder are not followed', () => {
  it('audit.jsonl linked to a foreign file: refused, the file keeps its content and mode', async () => {
    const victim = path.join(tmp('mutx-victim-'), 'victim.txt');
    fs.writeFileSync(victim, 'precious\n', { mode: 0o644 });
    const p = project('');
    fs.mkdirSync(path.join(p.dir, '.mutx-ops'), { mode: 0o700 });
    fs.symlinkSync(victim, p.auditPath);
    await expectRefused(p, ['upgrade', 'head'], /symbolic link/);
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(mode(victim)).toBe(0o644);
    expect(await atBase()).toBe(true);
  });

  it('a linked backups/ or .mutx-ops/ is refused, its target neither chmodded nor filled', async () => {
    const elsewhere = tmp('mutx-elsewhere-');
    fs.chmodSync(elsewhere, 0o755);
    const p = project('');
    fs.mkdirSync(path.join(p.dir, '.mutx-ops'), { mode: 0o700 });
    fs.symlinkSync(elsewhere, path.join(p.dir, '.mutx-ops', 'backups'));
    await expectRefused(p, ['backup'], /symbolic link/);
    const q = project('');
    fs.symlinkSync(elsewhere, path.join(q.dir, '.mutx-ops'));
    await expectRefused(q, ['upgrade', 'head'], /symbolic link/);
    expect(mode(elsewhere)).toBe(0o755);
    expect(fs.readdirSync(elsewhere)).toEqual([]);
  });

  it('planted temp-file links (the old predictable names) are never written through', () => {
    const dir = tmp('mutx-plant-');
    const victim = path.join(tmp('mutx-victim-'), 'victim.txt');
    fs.writeFileSync(victim, 'precious\n', { mode: 0o644 });
    const file = path.join(dir, 'audit.jsonl');
    for (const planted of [`${file}.head.${process.pid}.tmp`, `${file}.lock.${process.pid}.tmp`, `${file}.${process.pid}.tmp`]) fs.symlinkSync(victim, planted);
    writeFileAtomic(`${file}.x`, 'data\n');
    const trail = new AuditTrail(file, { name: 'tester', host: 'h' } as never);
    trail.append({ action: 'test', phase: 'end', outcome: 'ok' } as never);
    trail.append({ action: 'test', phase: 'end', outcome: 'ok' } as never);
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(mode(victim)).toBe(0o644);
    expect(trail.verify().ok).toBe(true);
  });

  it('a run state or sidecar planted as a link is not read', async () => {
    const foreign = path.join(tmp('mutx-foreign-'), 'state.json');
    fs.writeFileSync(foreign, JSON.stringify({ id: 'evil', runbook: 'status', status: 'finished', steps: [], vars: {}, pid: 1, createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z' }));
    const p = project('');
    fs.mkdirSync(path.join(p.dir, '.mutx-ops', 'runs'), { recursive: true, mode: 0o700 });
    fs.mkdirSync(path.join(p.dir, '.mutx-ops', 'backups'), { recursive: true, mode: 0o700 });
    fs.symlinkSync(foreign, path.join(p.dir, '.mutx-ops', 'runs', 'evil.json'));
    fs.symlinkSync(foreign, path.join(p.dir, '.mutx-ops', 'backups', 'x.dump.json'));
    const shown = await runCli(['runs', 'show', 'evil'], { cwd: p.dir });
    expect(shown.exitCode).toBe(2);
    expect(String(shown.stderr)).toMatch(/no run with id evil/);
    const listed = await runCli(['--json', 'runs'], { cwd: p.dir });
    expect(String(listed.stdout)).not.toContain('evil');
  });

  it('an audit file of another user is refused', () => {
    const dir = tmp('mutx-owner-');
    const file = path.join(dir, 'audit.jsonl');
    fs.writeFileSync(file, '', { mode: 0o600 });
    fs.chownSync(file, 65534, 65534);
    const trail = new AuditTrail(file, { name: 'tester', host: 'h' } as never);
    expect(() => trail.append({ action: 'test', phase: 'end', outcome: 'ok' } as never)).toThrow(MutxError);
  });
});
