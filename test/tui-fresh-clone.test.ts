/**
 * A fresh clone, as a new engineer gets it: `git clone` of the committed state, `npm start`
 * with nothing configured (no DATABASE_URL, no environment in mutx-ops.yaml, no operator
 * preference). The app must build, create the practice sandbox, open on it, and stop it on quit.
 * node_modules comes from this checkout through a symlink (no network); everything else is the
 * clone's own. Under tmux, as in tui-sandbox.test.ts, on a private tmux server.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProjectSettings, PROJECT_FILE, type ProjectSettings } from '../src/core/config';
import { loadGraph } from '../src/core/migrations/operations';
import { destroySandbox, sandboxStatus } from '../src/core/sandbox';
import { REPO_ROOT } from './helpers/db';

/** A tmux server of our own: its sessions inherit nothing from a server someone else started. */
const SOCKET = `mutx-fresh-clone-${process.pid}`;
const SESSION = 'fresh';
const EXIT_MARK = 'npm start exited with';

let tempDir: string | undefined;
let clone: string;
let prefsDir: string;
let settings: ProjectSettings | undefined;

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-u', '-L', SOCKET, ...args], { encoding: 'utf8' });
}

function screen(): string {
  try {
    return tmux('capture-pane', '-p', '-t', SESSION);
  } catch {
    return '(no tmux session)';
  }
}

async function waitForScreen(expected: string | RegExp, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = screen();
    if (typeof expected === 'string' ? text.includes(expected) : expected.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`the terminal never showed ${String(expected)}; it shows:\n${text}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const shellQuote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

beforeAll(() => {
  tempDir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'mutx-fresh-clone-')));
  clone = path.join(tempDir, 'mutx-ops');
  prefsDir = path.join(tempDir, 'prefs');
  fs.mkdirSync(prefsDir);
  execFileSync('git', ['clone', '--quiet', '--local', '--no-hardlinks', REPO_ROOT, clone], { stdio: ['ignore', 'ignore', 'pipe'] });
  // No network: the checkout's installed packages stand in for `npm ci`.
  const modules = path.join(REPO_ROOT, 'node_modules');
  if (!fs.existsSync(modules)) throw new Error(`${modules} is missing: run npm ci in ${REPO_ROOT} first`);
  fs.symlinkSync(modules, path.join(clone, 'node_modules'), 'dir');

  // Whatever the committed mutx-ops.yaml holds, it must name no database: keep its other
  // settings (folders, timeouts), drop its environments.
  const projectFile = path.join(clone, PROJECT_FILE);
  if (fs.existsSync(projectFile)) {
    const parsed = (YAML.parse(fs.readFileSync(projectFile, 'utf8')) ?? {}) as Record<string, unknown>;
    delete parsed.environments;
    delete parsed.default_environment;
    fs.writeFileSync(projectFile, YAML.stringify(parsed));
  }
  settings = loadProjectSettings({ cwd: clone });
});

afterAll(async () => {
  try {
    tmux('kill-server');
  } catch {
    // never started, or already gone
  }
  try {
    if (settings) await destroySandbox(settings);
  } finally {
    if (tempDir) fs.rmSync(tempDir, { recursive: true, force: true });
  }
});

describe('npm start in a fresh clone with nothing configured (tmux)', () => {
  it('builds, opens on a new sandbox at its seeded revision, and stops the sandbox on quit', async () => {
    const s = settings!;
    // Nothing configured: the clone is its own project root (no mutx-ops.yaml further up), no environments.
    expect(s.root).toBe(clone);
    expect(s.default_environment).toBeUndefined();
    expect(Object.keys(s.environments)).toEqual([]);
    expect(fs.existsSync(s.statePath)).toBe(false);
    expect((await sandboxStatus(s)).state).toBe('absent');
    expect(fs.readdirSync(prefsDir)).toEqual([]);

    const graph = loadGraph(s);
    const heads = graph.heads();
    expect(heads).toHaveLength(1);
    const head = heads[0]!;
    const seeded = graph.parents(head);
    expect(seeded).toHaveLength(1);

    // A clean environment (env -i): no DATABASE_URL, no PG* variables, no CI (Ink would print
    // only the final frame), a private, empty preferences folder (no defaultEnvironment).
    const env = [
      `PATH=${process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'}`,
      `HOME=${process.env.HOME ?? os.homedir()}`,
      'LANG=C.UTF-8',
      'TERM=xterm-256color',
      'MUTX_OPERATOR=fresh-clone',
      `MUTX_OPS_PREFS_DIR=${prefsDir}`,
      'npm_config_update_notifier=false',
      'npm_config_fund=false',
      'npm_config_audit=false',
    ];
    const command = `env -i ${env.map(shellQuote).join(' ')} npm start; echo "${EXIT_MARK} $?"; sleep 300`;
    const launched = Date.now();
    tmux('new-session', '-d', '-s', SESSION, '-x', '100', '-y', '30', '-c', clone, command);

    // The home screen on the sandbox: header with the sandbox as target, its revision read, the runbooks.
    const text = await waitForScreen(/pending migration[\s\S]*Runbooks\n/, 30_000);
    const seconds = (Date.now() - launched) / 1000;
    expect(text).toContain('environment: sandbox (practice)');
    expect(text).toContain(`revision ${seeded[0]!.slice(0, 12)} vs head ${head.slice(0, 12)} · 1 pending migration`);
    expect(text).toContain('emergency-rollback');
    expect(text).not.toContain(EXIT_MARK);

    const running = await sandboxStatus(s);
    expect(running.state).toBe('running');
    expect(running.ownedByApp).toBe(true);
    expect(running.dataDir.startsWith(path.join(clone, '.mutx-ops') + path.sep)).toBe(true);
    // The header names the very server the sandbox runs.
    expect(text).toMatch(new RegExp(`postgresql://postgres@%2F\\S*mutx-sandbox-\\w+:${running.port}/mutx`)); // a Unix socket only
    expect(fs.existsSync(path.join(clone, 'dist', 'mutx-ops.js'))).toBe(true);
    process.stderr.write(`[tui-fresh-clone] npm start → home screen on a new sandbox: ${seconds.toFixed(1)} s\n`);

    tmux('send-keys', '-t', SESSION, 'q');
    const after = await waitForScreen(new RegExp(`${EXIT_MARK} \\d+`), 15_000);
    expect(after).toContain(`${EXIT_MARK} 0`);
    // The app waits for the server's fast shutdown before it exits: stopped, not merely stopping.
    const status = await sandboxStatus(s);
    expect(status.state).toBe('stopped');
    expect(status.pid).toBeUndefined();
    expect(running.pid).toBeDefined();
    expect(fs.existsSync(`/proc/${running.pid}`) && !fs.readFileSync(`/proc/${running.pid}/stat`, 'utf8').includes(') Z ')).toBe(false);
  }, 60_000);
});
