/**
 * Drills 1 and 2 driven headless to success and to failure on a real sandbox cluster, the
 * debrief's criteria checked against the database; scenario listing, bad input and
 * `drill --env` on a real (non-sandbox) target.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { createDrillProject, criterion, type DrillProject } from './helpers/drills';

let drills: DrillProject;

beforeAll(() => {
  drills = createDrillProject();
});
afterAll(async () => {
  await drills?.cleanup();
});

describe('mutx-ops drill', () => {
  it('lists the four scenarios with their runbook and fault', async () => {
    const result = await drills.cli(['--json', 'drill']);
    expect(result.exitCode).toBe(0);
    const { scenarios } = JSON.parse(String(result.stdout)) as { scenarios: { name: string; runbook: string; fault: string; sandbox_only: boolean }[] };
    expect(scenarios.map((s) => [s.name, s.fault, s.sandbox_only])).toEqual([
      ['backup-fails', 'backup-failure', false],
      ['bad-migration-breaks-app', 'app-errors', false],
      ['half-applied-migration', 'failing-migration', true],
      ['lock-blocks-migration', 'blocking-transaction', false],
    ]);
  });

  it('an unknown scenario or a malformed scenario file is one line, exit 2, and starts nothing', async () => {
    const unknown = await drills.cli(['drill', 'no-such-drill']);
    expect(unknown.exitCode).toBe(2);
    expect(String(unknown.stderr).trim().split('\n')).toHaveLength(1);
    expect(String(unknown.stderr)).toMatch(/no drill scenario named "no-such-drill" .*known: backup-fails, bad-migration-breaks-app/);
    const bad = path.join(drills.project.dir, 'runbooks', 'drills', 'broken.yaml');
    fs.writeFileSync(bad, 'name: broken\ntitle: t\nbriefing: b\nexpected_response: e\nrunbook: deploy\nfault:\n  type: earthquake\nsuccess:\n  revision: [setup]\n');
    try {
      const result = await drills.cli(['drill', 'broken']);
      expect(result.exitCode).toBe(2);
      expect(String(result.stderr)).toMatch(new RegExp(`${bad}:7: drill scenario field "fault.type"`));
      expect(String(result.stderr)).not.toMatch(/\n\s+at /);
      expect(fs.existsSync(path.join(drills.project.dir, '.mutx-ops', 'sandbox'))).toBe(false);
    } finally {
      fs.rmSync(bad);
    }
  });

  it('drill 1 (app errors after deploy): the emergency rollback passes, the debrief checks the database', async () => {
    const { exitCode, debrief } = await drills.drill(['bad-migration-breaks-app', '--yes', '--on-failure', 'switch']);
    expect(exitCode, JSON.stringify(debrief.criteria)).toBe(0);
    expect(debrief.passed).toBe(true);
    expect(debrief.runs.map((r) => [r.runbook, r.status])).toEqual([
      ['deploy', 'switched'],
      ['emergency-rollback', 'completed'],
    ]);
    expect(criterion(debrief, 'errors-stop').ok).toBe(true);
    expect(criterion(debrief, 'revision').observed).toMatch(/\(setup\)$/);
    expect(criterion(debrief, 'schema-matches').ok).toBe(true);
    expect(criterion(debrief, 'data-kept').ok).toBe(true);
    expect(criterion(debrief, 'marked-drill').ok).toBe(true);
    expect(debrief.timeToRecoveryMs).toBeGreaterThan(0);
    // The log watch is what failed first, and the timeline shows the switch to the rollback.
    expect(debrief.timeline.some((t) => t.what === 'deploy · watch-logs' && t.outcome === 'failed')).toBe(true);
    expect(debrief.timeline.some((t) => t.what === 'deploy → emergency-rollback')).toBe(true);
    expect(debrief.skipped).toContainEqual(expect.objectContaining({ runbook: 'deploy', step: 'announce-done' }));
    // The drill is in the audit trail, marked, with its outcome.
    const audit = fs.readFileSync(path.join(drills.project.dir, '.mutx-ops', 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { action: string; phase: string; drill?: boolean; outcome?: string; args?: { drill?: string } });
    const end = audit.find((r) => r.action === 'drill' && r.phase === 'end');
    expect(end).toMatchObject({ drill: true, outcome: 'ok' });
  });

  it('drill 1 fails when the operator skips the log watch: errors go on and the database stays at the bad revision', async () => {
    const { exitCode, debrief } = await drills.drill(['bad-migration-breaks-app', '--yes', '--on-failure', 'skip', '--skip-reason', 'the errors look harmless']);
    expect(exitCode).toBe(3);
    expect(debrief.passed).toBe(false);
    expect(criterion(debrief, 'errors-stop')).toMatchObject({ ok: false });
    expect(criterion(debrief, 'errors-stop').observed).toMatch(/^\d+ error lines in 3 s/);
    expect(criterion(debrief, 'revision')).toMatchObject({ ok: false });
    // Data and schema are still consistent: only what the scenario asks for failed.
    expect(criterion(debrief, 'schema-matches').ok).toBe(true);
    expect(debrief.skipped).toContainEqual({ runbook: 'deploy', step: 'watch-logs', reason: expect.stringMatching(/^the errors look harmless \(after failure: error threshold crossed/) });
    expect(debrief.timeToRecoveryMs).toBeUndefined();
  });

  it('drill 2 (blocking transaction): the failure names the blocker, backing out passes; a stamp over it fails the re-check', async () => {
    const { exitCode, debrief, all } = await drills.drill(['lock-blocks-migration', '--yes']);
    expect(exitCode, JSON.stringify(debrief.criteria)).toBe(0);
    expect(all).toMatch(/blocked by pid \d+ \(mutx-api \(nightly user sync\), idle in transaction/);
    expect(criterion(debrief, 'blocker-named').ok).toBe(true);
    expect(criterion(debrief, 'revision').observed).toMatch(/\(setup\)$/);
    expect(debrief.runs).toEqual([expect.objectContaining({ runbook: 'deploy', status: 'failed' })]);

    // The classic wrong move after a failed migration: stamping the head over an unchanged schema.
    const url = `${(await drills.cli(['sandbox', 'url'])).stdout}`.replace(/\/mutx$/, '/mutx_drill_lock_blocks_migration');
    expect((await drills.cli(['--database-url', url, 'stamp', 'head'])).exitCode).toBe(0);
    const recheck = await drills.cli(['--json', 'drill', '--debrief', debrief.drillId]);
    expect(recheck.exitCode).toBe(3);
    const again = (JSON.parse(String(recheck.stdout)) as { debrief: typeof debrief }).debrief;
    expect(criterion(again, 'revision').ok).toBe(true); // head is allowed…
    expect(criterion(again, 'schema-matches')).toMatchObject({ ok: false }); // …but the schema is not head's
    expect(criterion(again, 'schema-matches').observed).toMatch(/user_identities/);
  });
});

describe('drill --env on a real target', () => {
  let staging: TestDatabase;
  beforeAll(async () => {
    staging = await createTestDatabase('mutx_drill_staging');
  });
  afterAll(async () => {
    await staging?.drop();
  });

  it('runs a non-destructive scenario on it, and refuses a destructive one', async () => {
    const env = { STAGING_URL: staging.url };
    fs.writeFileSync(path.join(drills.project.dir, 'mutx-ops.yaml'), 'lock_wait_seconds: 10\nenvironments:\n  staging:\n    url_env: STAGING_URL\n');
    try {
      const refused = await drills.cli(['drill', 'half-applied-migration', '--env', 'staging'], env);
      expect(refused.exitCode).toBe(2);
      expect(String(refused.stderr)).toMatch(/injects a failing-migration fault, which changes the schema: it runs on the sandbox only, not on staging/);

      expect((await drills.cli(['--env', 'staging', 'upgrade', '692221fc80ff'], env)).exitCode).toBe(0);
      await staging.query("INSERT INTO users (email) VALUES ('bob@mutx.dev')");
      const { exitCode, debrief } = await drills.drill(['lock-blocks-migration', '--env', 'staging', '--yes'], env);
      expect(exitCode, JSON.stringify(debrief.criteria)).toBe(0);
      expect(criterion(debrief, 'blocker-named').ok).toBe(true);
      expect(criterion(debrief, 'schema-matches').ok).toBe(true);
      const rows = await staging.query<{ version_num: string }>('SELECT version_num FROM alembic_version');
      expect(rows.rows).toEqual([{ version_num: '692221fc80ff' }]);
    } finally {
      fs.writeFileSync(path.join(drills.project.dir, 'mutx-ops.yaml'), 'lock_wait_seconds: 10\n');
    }
  });
});
