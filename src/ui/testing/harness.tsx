/**
 * Test harness for the app and its screens: renders with ink-testing-library at a fixed
 * terminal size, sends keys, and waits for a frame. Also builds the REAL services over a test
 * project and database (no mocks: the engine, the core and PostgreSQL do the work).
 */
import fs from 'node:fs';
import path from 'node:path';
import { render } from 'ink-testing-library';
import React, { type ReactElement } from 'react';
import { createServices } from '../../cli/tui';
import { AuditTrail } from '../../core/audit';
import { loadProjectSettings, type ProjectSettings } from '../../core/config';
import { parseTarget } from '../../core/connection';
import { App } from '../App';
import { UiProvider, type TerminalSize } from '../context';
import { KeyboardRoot } from '../keys';
import type { Services } from '../services';
import { makeTheme } from '../theme';

export const KEY = {
  up: '\u001B[A',
  down: '\u001B[B',
  enter: '\r',
  escape: '\u001B',
  ctrlC: '\u0003',
  backspace: '\u007F',
  space: ' ',
} as const;

export type Rendered = ReturnType<typeof render>;

/** Renders inside the providers a screen needs (keyboard, theme without colour, fixed size). */
export function renderUi(node: ReactElement, size: TerminalSize = { columns: 100, rows: 30 }): Rendered {
  return render(
    <UiProvider theme={makeTheme({ NO_COLOR: '1' })} size={size}>
      <KeyboardRoot>{node}</KeyboardRoot>
    </UiProvider>,
  );
}

export function renderApp(services: Services, size: TerminalSize = { columns: 100, rows: 30 }, flushMs = 20, homePollMs?: number): Rendered {
  return render(<App services={services} theme={makeTheme({ NO_COLOR: '1' })} size={size} flushMs={flushMs} homePollMs={homePollMs} />);
}

export const tick = (ms = 20) => new Promise((resolve) => setTimeout(resolve, ms));

/** The last frame (debug mode writes whole frames); trailing blanks trimmed per line. */
export function frame(ui: Rendered): string {
  return (ui.lastFrame() ?? '')
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n');
}

/** Waits until the frame contains `text` (or matches); throws with the last frame when it never does. */
export async function waitForFrame(ui: Rendered, expected: string | RegExp | ((frame: string) => boolean), timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  const test = typeof expected === 'function' ? expected : (f: string) => (typeof expected === 'string' ? f.includes(expected) : expected.test(f));
  for (;;) {
    const current = frame(ui);
    if (test(current)) return current;
    if (Date.now() > deadline) throw new Error(`frame never showed ${String(expected)}; last frame:\n${current}`);
    await tick(15);
  }
}

/** Types keys one at a time, a tick apart (Ink reads a keypress per stdin write). */
export async function press(ui: Rendered, ...keys: string[]): Promise<void> {
  for (const key of keys) {
    ui.stdin.write(key);
    await tick(25);
  }
}

export async function type(ui: Rendered, text: string): Promise<void> {
  for (const ch of text) {
    ui.stdin.write(ch);
    await tick(5);
  }
  await tick(25);
}

export interface RealServicesOptions {
  projectDir: string;
  url: string;
  environment?: string;
  protected?: boolean;
}

/** The real services over a test project folder and database. */
export function realServices(options: RealServicesOptions): { services: Services; settings: ProjectSettings; audit: AuditTrail } {
  const settings = loadProjectSettings({ cwd: options.projectDir });
  const operator = { name: 'tester', host: 'test-host' };
  const audit = new AuditTrail(settings.auditPath, operator);
  const target = parseTarget({ url: options.url, environment: options.environment, protected: options.protected });
  return { services: createServices({ settings, operator, audit, target }), settings, audit };
}

export function writeRunbook(projectDir: string, name: string, yaml: string): void {
  const dir = path.join(projectDir, 'runbooks');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${name}.yaml`), yaml);
}
