/**
 * The deploy runbook's "Review migration changes" in the app (ink-testing-library, real engine,
 * real database) and headless (--json): the review is shown, read to its end, and only then
 * ticked; an error-level finding on a protected environment needs a reason and the database
 * name, recorded in the audit trail.
 */
import fs from 'node:fs';
import path from 'node:path';
import { cleanup } from 'ink-testing-library';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, createTestProject, REPO_ROOT, runCli, type TestDatabase, type TestProject } from '../../test/helpers/db';
import { writeMigration } from '../../test/helpers/migrations';
import { parseTarget } from '../core/connection';
import { migrate } from '../core/migrations/operations';
import { frame, KEY, press, realServices, renderApp, type, waitForFrame } from './testing/harness';

const HEAD = '9d3e71c2a5b8';
const SETTINGS = `lock_wait_seconds: 5
environments:
  staging:
    url_env: MUTX_REVIEW_TEST_STAGING_URL
    log_source: logs/app.log
  production:
    url_env: MUTX_REVIEW_TEST_PROD_URL
    protected: true
    log_source: logs/app.log
`;

let project: TestProject;
const databases: TestDatabase[] = [];

beforeAll(() => {
  project = createTestProject({ settings: SETTINGS });
  fs.mkdirSync(path.join(project.dir, 'runbooks'));
  fs.copyFileSync(path.join(REPO_ROOT, 'runbooks/deploy.yaml'), path.join(project.dir, 'runbooks/deploy.yaml'));
  fs.mkdirSync(path.join(project.dir, 'logs'));
  fs.writeFileSync(path.join(project.dir, 'logs/app.log'), '');
  // The pending revision: a plain index (info: users is small) and a TRUNCATE … CASCADE (an error at any size).
  writeMigration(project.migrationsDir, 'f00d00000001', {
    revises: HEAD,
    message: 'reset api keys',
    upgrade: 'CREATE INDEX users_created_at_idx ON users (created_at);\nTRUNCATE api_keys CASCADE;',
    downgrade: 'DROP INDEX IF EXISTS users_created_at_idx;',
  });
});

afterEach(() => cleanup());

afterAll(async () => {
  for (const db of databases) await db.drop();
  project.cleanup();
});

async function atHead(isProtected: boolean) {
  const db = await createTestDatabase('mutx_review_ui');
  databases.push(db);
  const real = realServices({ projectDir: project.dir, url: db.url, environment: isProtected ? 'production' : 'staging', protected: isProtected });
  await migrate({ settings: real.settings, operator: { name: 'tester', host: 'test-host' }, audit: real.audit, target: parseTarget({ url: db.url }) }, 'upgrade', HEAD);
  return { db, ...real };
}

function auditRecords(): { action: string; details?: Record<string, unknown> }[] {
  return fs
    .readFileSync(project.auditPath, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { action: string; details?: Record<string, unknown> });
}

/** Home → deploy → the checklist's first item (no backup yet) ticked by hand → the review. */
async function openReview(ui: ReturnType<typeof renderApp>) {
  await waitForFrame(ui, 'Runbooks');
  await press(ui, '/');
  await type(ui, 'deploy');
  await press(ui, KEY.enter, KEY.enter);
  await waitForFrame(ui, '[ ] Database backed up', 30_000);
  await press(ui, KEY.space);
  return waitForFrame(ui, 'Review migration changes · 1 error(s), 0 warning(s), 1 info', 30_000);
}

describe('deploy: Review migration changes, in the app', () => {
  it('shows the SQL and findings, and ticks the item only once the review was read to its end', async () => {
    const { services } = await atHead(false);
    const ui = renderApp(services, { columns: 120, rows: 24 });
    let f = await openReview(ui);
    expect(f).toContain('upgrade f00d00000001: reset api keys');
    expect(f).toMatch(/\d+ │ CREATE INDEX users_created_at_idx ON users \(created_at\);/);
    expect(f).toContain('read to the end to confirm');
    // Enter pages on until the last line has been on screen; only then does it tick.
    for (let i = 0; i < 10 && !frame(ui).includes('enter: reviewed'); i++) await press(ui, KEY.enter);
    f = await waitForFrame(ui, 'enter: reviewed');
    expect(f).toMatch(/ERROR data\/truncate-cascade .*f00d00000001_reset_api_keys\.sql:7: TRUNCATE api_keys CASCADE/);
    expect(auditRecords().some((r) => r.action === 'review.shown')).toBe(false);
    await press(ui, KEY.enter);
    f = await waitForFrame(ui, '[ ] Tested in the staging environment');
    expect(f).toContain('✔ Review migration changes');
    const shown = auditRecords().filter((r) => r.action === 'review.shown');
    expect(shown).toHaveLength(1);
    expect(shown[0]!.details).toMatchObject({ step: 'pre-checklist', direction: 'upgrade', counts: { error: 1, warning: 0, info: 1 } });
  });

  it('on a protected environment an error-level finding needs a reason and the database name, recorded in the audit trail', async () => {
    const { services, db } = await atHead(true);
    const ui = renderApp(services, { columns: 120, rows: 30 });
    await openReview(ui);
    for (let i = 0; i < 10 && !frame(ui).includes('enter: acknowledge'); i++) await press(ui, KEY.enter);
    await press(ui, KEY.enter);
    await waitForFrame(ui, 'Why is it safe to go ahead?');
    await type(ui, 'api_keys holds only test keys');
    await press(ui, KEY.enter);
    await waitForFrame(ui, `Type ${db.name} to acknowledge`);
    await type(ui, 'wrong');
    await press(ui, KEY.enter);
    await waitForFrame(ui, 'does not match');
    await press(ui, ...Array.from({ length: 5 }, () => KEY.backspace));
    await type(ui, db.name);
    await press(ui, KEY.enter);
    const f = await waitForFrame(ui, '[ ] Tested in the staging environment');
    expect(f).toContain('✔ Review migration changes — reviewed 1 revision(s): 1 error(s), 0 warning(s), 1 info; 1 error(s) acknowledged');
    const ack = auditRecords().filter((r) => r.action === 'review.acknowledged');
    expect(ack).toHaveLength(1);
    expect(ack[0]!.details).toMatchObject({ reason: 'api_keys holds only test keys', findings: [{ rule: 'data/truncate-cascade', revision: 'f00d00000001', line: 7 }] });
  });
});

describe('History: a revision\'s findings', () => {
  it('the detail shows the selected revision\'s review, upgrade and downgrade', async () => {
    const { services } = await atHead(false);
    const ui = renderApp(services, { columns: 140, rows: 30 });
    await waitForFrame(ui, 'Runbooks');
    await press(ui, 'h');
    await waitForFrame(ui, /review upgrade: /);
    // From the current revision up to the pending one that empties api_keys.
    for (let i = 0; i < 3 && !frame(ui).includes('f00d00000001 — reset api keys'); i++) await press(ui, 'k');
    const f = await waitForFrame(ui, /review upgrade: 1 finding\(s\) — ERROR data\/truncate-cascade \(line 7\): TRUNCATE api_keys CASCADE/);
    expect(f).toContain('f00d00000001 — reset api keys');
    expect(f).toMatch(/review downgrade: (no findings|1 finding)/);
  });
});

describe('deploy: the review headless', () => {
  it('--json prints the review in the events; a protected run pauses until --confirm and --acknowledge are given', async () => {
    const db = await createTestDatabase('mutx_review_cli');
    databases.push(db);
    const env = { MUTX_REVIEW_TEST_PROD_URL: db.url };
    const up = await runCli(['--env', 'production', 'upgrade', HEAD, '--confirm', db.name], { cwd: project.dir, env });
    expect(up.exitCode, String(up.all)).toBe(0);
    const first = await runCli(['--env', 'production', '--json', 'run', 'deploy', '--yes'], { cwd: project.dir, env });
    expect(first.exitCode, String(first.all)).toBe(5);
    const events = String(first.stdout).trim().split('\n').map((line) => JSON.parse(line) as { type: string; request?: { kind: string; lines: { text: string }[]; acknowledge?: { expected: string } }; runId?: string });
    const review = events.find((e) => e.type === 'needs-input' && e.request?.kind === 'review')!;
    expect(review.request!.acknowledge?.expected).toBe(db.name);
    expect(review.request!.lines.map((l) => l.text).join('\n')).toMatch(/│ TRUNCATE api_keys CASCADE;[\s\S]*ERROR data\/truncate-cascade/);
    const runId = events.find((e) => e.type === 'run-started')!.runId!;
    // Nothing changed while paused: the database is still at the old head.
    expect((await db.query('SELECT version_num FROM alembic_version')).rows).toEqual([{ version_num: HEAD }]);

    const second = await runCli(['--env', 'production', 'run', '--resume', runId, '--yes', '--confirm', db.name, '--acknowledge', 'api_keys holds only test keys', '--logs-duration', '1'], { cwd: project.dir, env });
    expect(String(second.stdout)).toMatch(/✔ Review migration changes — reviewed 1 revision\(s\): 1 error\(s\), 0 warning\(s\), 1 info; 1 error\(s\) acknowledged: api_keys holds only test keys/);
    expect(second.exitCode, String(second.all)).toBe(0);
    expect((await db.query('SELECT version_num FROM alembic_version')).rows).toEqual([{ version_num: 'f00d00000001' }]);
    const ack = auditRecords().filter((r) => r.action === 'review.acknowledged' && (r as { run_id?: string }).run_id === runId);
    expect(ack).toHaveLength(1);
  });
});
