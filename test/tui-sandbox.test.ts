/**
 * `mutx-ops` with no database configured opens the app on the practice sandbox: it starts it
 * (owned by the app), shows it as the target at its seeded revision, and stops it on quit.
 * The built binary under tmux, as in tui-e2e.test.ts.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProjectSettings, type ProjectSettings } from '../src/core/config';
import { loadGraph } from '../src/core/migrations/operations';
import { destroySandbox, sandboxStatus } from '../src/core/sandbox';
import { BIN, createTestProject, type TestProject } from './helpers/db';

const SESSION = `mutx-sandbox-${process.pid}`;

let project: TestProject;
let settings: ProjectSettings;

function tmux(...args: string[]): string {
  return execFileSync('tmux', args, { encoding: 'utf8' });
}

async function waitForScreen(expected: string | RegExp, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let text = '';
    try {
      text = tmux('capture-pane', '-p', '-t', SESSION);
    } catch {
      text = '(no tmux session)';
    }
    if (typeof expected === 'string' ? text.includes(expected) : expected.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`the terminal never showed ${String(expected)}; it shows:\n${text}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function closeTerminal(): void {
  try {
    tmux('kill-session', '-t', SESSION);
  } catch {
    // already gone
  }
}

beforeAll(() => {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run npm run build first (npm test does)`);
  project = createTestProject();
  settings = loadProjectSettings({ cwd: project.dir });
});

afterAll(async () => {
  closeTerminal();
  if (settings) await destroySandbox(settings);
  project?.cleanup();
});

describe('mutx-ops with no database configured (tmux)', () => {
  it('opens on the sandbox it starts, at the seeded revision, and stops it on quit', async () => {
    expect((await sandboxStatus(settings)).state).toBe('absent');
    const graph = loadGraph(settings);
    const head = graph.heads()[0]!;
    const seeded = graph.parents(head);
    expect(seeded).toHaveLength(1);

    // DATABASE_URL='' and a private prefs folder: nothing configured at all.
    const env = ['DATABASE_URL=', 'MUTX_OPERATOR=e2e', `MUTX_OPS_PREFS_DIR=${path.join(project.dir, '.prefs')}`, 'TERM=xterm-256color'];
    const command = `env -u CI -u CONTINUOUS_INTEGRATION ${env.join(' ')} node ${BIN}; echo "mutx-ops exited with $?"; sleep 300`;
    tmux('new-session', '-d', '-s', SESSION, '-x', '100', '-y', '30', '-c', project.dir, command);

    const text = await waitForScreen('pending migration', 90_000);
    expect(text).toContain('environment: sandbox (practice)');
    expect(text).toContain(`revision ${seeded[0]!.slice(0, 12)} vs head ${head.slice(0, 12)} · 1 pending migration`);
    expect(text).toMatch(/postgresql:\/\/postgres@%2F\S*mutx-sandbox-\w+:\d+\/mutx/);

    const running = await sandboxStatus(settings);
    expect(running.state).toBe('running');
    expect(running.ownedByApp).toBe(true);

    tmux('send-keys', '-t', SESSION, 'q');
    await waitForScreen('mutx-ops exited with 0', 30_000);
    const deadline = Date.now() + 15_000;
    while ((await sandboxStatus(settings)).state === 'running' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await sandboxStatus(settings)).state).not.toBe('running');
  });
});
