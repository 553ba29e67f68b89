import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { terminalLine, terminalText } from '../src/core/terminalText';
import { truncate, wrapText } from '../src/ui/format';
import { LineRing } from '../src/ui/logs/ring';
import { BIN, createTestDatabase, createTestProject, runCli, type TestDatabase, type TestProject } from './helpers/db';
import { writeMigration } from './helpers/migrations';

/**
 * Issue 15, items 11, 12, 13 and 15 (prefs): clear errors instead of crashes, hangs or silent
 * wrong values, and no terminal escapes from untrusted text.
 */
const ESC = '\u001b';
const scratch: string[] = [];
const tmp = (prefix: string) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  scratch.push(dir);
  return dir;
};
let db: TestDatabase;
let project: TestProject;
const cli = (args: string[], env?: Record<string, string>) => runCli(['--database-url', db.url, ...args], { cwd: project.dir, env });
const oneLine = (text: unknown) => String(text).trim().split('\n');

beforeAll(async () => {
  db = await createTestDatabase('mutx_hostile_input');
  project = createTestProject();
  scratch.push(project.dir);
});
afterAll(async () => {
  await db?.drop();
  for (const dir of scratch) fs.rmSync(dir, { recursive: true, force: true });
});

describe('duration options outside sane bounds (item 11)', () => {
  it.each([
    [['--lock-timeout', '0.0001'], /--lock-timeout must be a number of seconds from 0\.001 to 3600, not "0\.0001"/],
    [['--timeout', '99999999999'], /--timeout must be a number of seconds from 0\.01 to 604800/],
    [['--wait-lock', '-1'], /--wait-lock must be a number of seconds from 0 to 86400/],
    [['--wait-lock', '1e12'], /--wait-lock must be/],
    [['--lock-timeout', 'Infinity'], /--lock-timeout must be/],
  ])('upgrade head %j: one line, exit 2, nothing applied', async (flags, pattern) => {
    const result = await cli(['upgrade', 'head', ...flags]);
    expect(result.exitCode, String(result.all)).toBe(2);
    expect(oneLine(result.stderr)).toHaveLength(1);
    expect(String(result.stderr)).toMatch(pattern);
    const table = await db.query(`SELECT to_regclass('public.alembic_version') AS t`);
    expect(table.rows[0]!.t).toBeNull();
  });

  it('lock_timeout_seconds: 0.0001 in mutx-ops.yaml is refused too', async () => {
    const p = createTestProject({ settings: 'lock_timeout_seconds: 0.0001\n' });
    scratch.push(p.dir);
    const result = await runCli(['--database-url', db.url, 'upgrade', 'head'], { cwd: p.dir });
    expect(result.exitCode).toBe(2);
    expect(String(result.stderr)).toMatch(/mutx-ops\.yaml:1: .*lock_timeout_seconds.*at least 0\.001/);
  });

  it('values inside the bounds still work', async () => {
    const result = await cli(['upgrade', 'head', '--lock-timeout', '0.5', '--timeout', '600', '--wait-lock', '0']);
    expect(result.exitCode, String(result.all)).toBe(0);
  });
});

describe('crashes and hangs (item 12)', () => {
  it('history --json | head -c 100: exits quietly, no EPIPE stack', async () => {
    const dir = tmp('mutx-many-');
    let prev: string | undefined;
    for (let i = 0; i < 1500; i++) {
      const id = `r${String(i).padStart(11, '0')}`;
      writeMigration(dir, id, { revises: prev, message: `step ${i} ${'m'.repeat(100)}`, upgrade: 'SELECT 1;' });
      prev = id;
    }
    const child = spawn('node', [BIN, '--migrations', dir, 'history', '--json'], { cwd: project.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy(); // what `head -c 100` does once it has its bytes
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).not.toMatch(/EPIPE|\n\s+at /);
    expect(code).toBe(0);
  });

  it('a YAML alias bomb in runbooks/ is reported with file:line; the other runbooks are still listed', async () => {
    const p = createTestProject({ settings: 'runbooks_dir: books\n' });
    scratch.push(p.dir);
    fs.mkdirSync(path.join(p.dir, 'books'));
    fs.copyFileSync(path.join(__dirname, '..', 'runbooks', 'status.yaml'), path.join(p.dir, 'books', 'status.yaml'));
    let bomb = 'name: bomb\na: &a ["x","x","x","x","x","x","x","x","x"]\n';
    for (let i = 1; i < 12; i++) bomb += `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]\n`;
    fs.writeFileSync(path.join(p.dir, 'books', 'bomb.yaml'), bomb);
    const result = await runCli(['runbooks'], { cwd: p.dir, timeout: 30_000 });
    expect(result.timedOut).toBe(false);
    expect(String(result.all)).toMatch(/status\s+Check the migration status/);
    expect(String(result.all)).toMatch(/bomb\.yaml:3: .*alias/i);
    expect(String(result.all)).not.toMatch(/internal error/);
  });

  it('logs DIR and logs FIFO: one line, exit 2, no hang', async () => {
    const dir = tmp('mutx-logs-');
    const fifo = path.join(dir, 'pipe');
    await execa('mkfifo', [fifo]);
    for (const [source, pattern] of [
      [dir, /is a folder, not a log file/],
      [fifo, /is a named pipe \(FIFO\), not a log file .*cmd:cat/],
    ] as const) {
      const result = await runCli(['logs', source], { cwd: project.dir, timeout: 30_000 });
      expect(result.timedOut, `logs ${source} hung`).toBe(false);
      expect(result.exitCode, String(result.all)).toBe(2);
      expect(oneLine(result.stderr)).toHaveLength(1);
      expect(String(result.stderr)).toMatch(pattern);
    }
  });

  it('logs FIFO --follow with no writer ends on SIGTERM', async () => {
    const dir = tmp('mutx-logs-');
    const fifo = path.join(dir, 'pipe');
    await execa('mkfifo', [fifo]);
    const child = runCli(['logs', fifo, '--follow'], { cwd: project.dir, timeout: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    child.kill('SIGTERM');
    const result = await child;
    expect(result.timedOut, 'still running a minute after SIGTERM').toBe(false);
  });
});

describe('control characters from untrusted text (item 13)', () => {
  it('the shared functions escape ESC and friends; the app helpers and the log ring use them', () => {
    const hostile = `a${ESC}]0;pwned\u0007b${ESC}[2Jc\rd`;
    expect(terminalLine(hostile)).toBe('a\\x1b]0;pwned\\x07b\\x1b[2Jc\\rd');
    expect(terminalText(`x\n${hostile}\ty`)).toBe('x\na\\x1b]0;pwned\\x07b\\x1b[2Jc\\rd\ty');
    expect(truncate(hostile, 200)).not.toContain(ESC);
    expect(wrapText(hostile, 40).join('\n')).not.toContain(ESC);
    const ring = new LineRing(4);
    ring.push(hostile, true);
    expect(ring.last(1)[0]!.text).toBe(terminalLine(hostile));
  });

  it('history prints a revision message with escapes escaped; prefs show too', async () => {
    const dir = tmp('mutx-esc-');
    writeMigration(dir, 'aaaaaaaaaaaa', { message: `evil ${ESC}]0;owned${ESC}\\ ${ESC}[2J`, upgrade: 'SELECT 1;' });
    const history = await runCli(['--migrations', dir, 'history'], { cwd: project.dir });
    expect(String(history.all)).toContain('evil');
    expect(String(history.all)).not.toContain(ESC);
    const prefsDir = path.join(project.dir, '.prefs');
    fs.mkdirSync(prefsDir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(prefsDir, 'config.json'), JSON.stringify({ operator: `eve${ESC}[2J` }));
    const prefs = await runCli(['prefs', 'show'], { cwd: project.dir });
    expect(String(prefs.all)).toContain('eve');
    expect(String(prefs.all)).not.toContain(ESC);
  });
});

describe('prefs file mode (item 15)', () => {
  it('0600 in a 0700 folder even under umask 000', async () => {
    const home = tmp('mutx-prefs-');
    const prefsDir = path.join(home, 'conf', 'mutx-ops');
    const result = await execa('sh', ['-c', `umask 000; exec node "${BIN}" prefs set operator alice`], { cwd: project.dir, env: { MUTX_OPS_PREFS_DIR: prefsDir }, reject: false });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(fs.statSync(path.join(prefsDir, 'config.json')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(prefsDir).mode & 0o777).toBe(0o700);
  });
});
