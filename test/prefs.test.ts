import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, createTestProject, runCli, type TestDatabase, type TestProject } from './helpers/db';

let db: TestDatabase;
let project: TestProject;
let home: string;
beforeAll(async () => {
  db = await createTestDatabase();
  project = createTestProject();
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'mutx-home-'));
});
afterAll(async () => {
  await db.drop();
  project.cleanup();
  fs.rmSync(home, { recursive: true, force: true });
});

it('the operator preference written by conf names the operator in the audit trail and the ledger', async () => {
  // No MUTX_OPERATOR and no MUTX_OPS_PREFS_DIR: the real per-user location under $HOME/.config.
  const env = { HOME: home, XDG_CONFIG_HOME: '', MUTX_OPERATOR: '', MUTX_OPS_PREFS_DIR: '' };
  const set = await runCli(['prefs', 'set', 'operator', 'carol'], { cwd: project.dir, env });
  expect(set.exitCode, String(set.all)).toBe(0);
  expect(fs.existsSync(path.join(home, '.config', 'mutx-ops', 'config.json'))).toBe(true);
  const up = await runCli(['--database-url', db.url, 'upgrade', '+1'], { cwd: project.dir, env });
  expect(up.exitCode, String(up.all)).toBe(0);
  const ledger = await db.query<{ operator: string }>("SELECT operator FROM mutx_ops.ledger WHERE outcome = 'applied'");
  expect(ledger.rows.map((r) => r.operator)).toEqual(['carol']);
  expect(fs.readFileSync(project.auditPath, 'utf8')).toContain('"operator":"carol"');
});
