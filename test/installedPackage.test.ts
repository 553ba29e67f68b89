/**
 * Installed, not only cloned: the package `npm pack` makes, installed with `npm install -g` into a
 * private prefix, run inside another folder (an Alembic project): its headless commands, the
 * runbooks it ships, the review, and the app under tmux. The tarball is packed from this checkout's
 * dist/ (built by `npm test`), so nothing here rebuilds it under the other test files.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlembicProject, versionRowsOf, type AlembicProject } from './helpers/alembic';
import { createTestDatabase, REPO_ROOT, type TestDatabase } from './helpers/db';

let work: string;
let bin: string;
let project: AlembicProject;
let db: TestDatabase;
const SOCKET = `mutx-installed-${process.pid}`;

beforeAll(async () => {
  work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'mutx-installed-')));
  const packed = await execa('npm', ['pack', '--ignore-scripts', '--pack-destination', work], { cwd: REPO_ROOT });
  const tarball = path.join(work, packed.stdout.trim().split('\n').pop()!);
  const prefix = path.join(work, 'prefix');
  await execa('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: work });
  bin = path.join(prefix, 'bin', 'mutx-ops');
  project = createAlembicProject();
  db = await createTestDatabase('mutx_installed');
}, 180_000);
afterAll(async () => {
  try {
    execFileSync('tmux', ['-L', SOCKET, 'kill-server'], { stdio: 'ignore' });
  } catch {
    // no server
  }
  await db?.drop();
  project?.cleanup();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const installed = (args: string[]) => execa(bin, args, { cwd: project.dir, env: { DATABASE_URL: db.url, MUTX_OPERATOR: 'tester', MUTX_OPS_PREFS_DIR: path.join(work, 'prefs') }, reject: false, all: true });

describe('the installed package in an Alembic project', () => {
  it('ships the bundle, its Alembic runner and the runbooks, and nothing else it needs from the repository', async () => {
    const root = path.join(work, 'prefix', 'lib', 'node_modules', 'mutx-ops');
    expect(fs.existsSync(path.join(root, 'dist', 'alembic-runner.py'))).toBe(true);
    expect(fs.readdirSync(path.join(root, 'runbooks'))).toContain('emergency-rollback.yaml');
    expect(fs.existsSync(path.join(root, 'src'))).toBe(false);
    const runbooks = await installed(['runbooks']);
    expect(runbooks.exitCode, String(runbooks.all)).toBe(0);
    expect(String(runbooks.stdout)).toMatch(/^deploy\s/m);
  });

  it('migrates the project through its own Alembic, reviews, and rolls back', async () => {
    const up = await installed(['upgrade', 'head']);
    expect(up.exitCode, String(up.all)).toBe(0);
    expect(await versionRowsOf(db)).toEqual(['head_0012']);
    const review = await installed(['review', 'downgrade', '-1']);
    expect(review.exitCode, String(review.all)).toBe(0);
    expect(String(review.stdout)).toMatch(/ALTER TABLE deployments DROP COLUMN region/);
    const down = await installed(['downgrade', '-1']);
    expect(down.exitCode, String(down.all)).toBe(0);
    expect(await versionRowsOf(db)).toEqual(['e7e7e7e7e7e7']);
  }, 60_000);

  it('opens the app on the project (tmux): home shows the Alembic revision against head', async () => {
    const stderrFile = path.join(work, 'app.stderr');
    // CI=true as on a CI machine: Ink would draw nothing until exit; the app at a terminal draws anyway.
    const command = `CI=true DATABASE_URL='${db.url}' MUTX_OPS_PREFS_DIR='${path.join(work, 'prefs')}' TERM=xterm-256color '${bin}' 2>'${stderrFile}'; echo "app exited $?"; sleep 60`;
    execFileSync('tmux', ['-u', '-L', SOCKET, 'new-session', '-d', '-s', 'app', '-x', '100', '-y', '30', '-c', project.dir, command]);
    // Generous: under a loaded CI machine the first frame has taken seconds.
    const deadline = Date.now() + 50_000;
    let screen = '';
    while (Date.now() < deadline) {
      screen = execFileSync('tmux', ['-u', '-L', SOCKET, 'capture-pane', '-p', '-t', 'app'], { encoding: 'utf8' });
      if (/vs head head_0012/.test(screen) && screen.includes('Runbooks')) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const stderr = fs.existsSync(stderrFile) ? fs.readFileSync(stderrFile, 'utf8') : '(no stderr file)';
    expect(screen, `stderr of the app: ${stderr}`).toMatch(/revision e7e7e7e7e7e7 .*vs head head_0012/);
    execFileSync('tmux', ['-L', SOCKET, 'send-keys', '-t', 'app', 'q']);
  }, 90_000);
});
