import { describe, expect, it } from 'vitest';
import type { RunEvent, StepSummary } from '../runbook/events';
import type { TargetIdentity, TargetStatus } from '../ui/services';
import { exitSummaryLines, SessionRecord } from './exitSummary';

const identity: TargetIdentity = { environment: 'staging', protected: false, redacted: 'postgresql://app:***@db.internal:5432/mutx', host: 'db.internal', port: 5432, database: 'mutx' };
const at = (current: string[], pending: string[] = []): TargetStatus => ({ serverVersion: '15.2', current, heads: ['9d3e71c2a5b8'], pending, drift: 0 });

const steps: StepSummary[] = [
  { id: 'backup-now', title: 'Take a database backup immediately', type: 'backup', text: '', destructive: false },
  { id: 'downgrade', title: 'Roll back the problematic migration', type: 'migrate', text: '', destructive: true },
  { id: 'staging-reminder', title: 'Test in staging before proceeding', type: 'manual', text: '', destructive: false },
];

function started(runId: string, runbook: string, extra: Partial<Extract<RunEvent, { type: 'run-started' }>> = {}): RunEvent {
  return { type: 'run-started', runId, runbook, title: runbook, environment: 'staging', target: identity.redacted, protected: false, drill: false, resumed: false, steps, ...extra };
}

function step(stepId: string, index: number, title: string, stepType: StepSummary['type']): RunEvent {
  return { type: 'step-started', stepId, index, total: steps.length, title, stepType, preview: [] };
}

describe('the exit summary', () => {
  it('names each run with its whole id, the backups taken with their paths, and the revision before → after', () => {
    const record = new SessionRecord();
    record.status({ ok: true, status: at(['9d3e71c2a5b8']) });
    const rollback = record.run('emergency-rollback');
    const id = '20261202T031800Z-emergency-rollback-a1b2c3';
    rollback(started(id, 'emergency-rollback'));
    rollback(step('backup-now', 0, 'Take a database backup immediately', 'backup'));
    rollback({ type: 'step-finished', stepId: 'backup-now', summary: '/srv/app/.mutx-ops/backups/staging_mutx_20261202T031801Z.dump (41 KB, sha256 0123456789ab, at 9d3e71c2a5b8), verified', durationMs: 300 });
    rollback(step('downgrade', 1, 'Roll back the problematic migration', 'migrate'));
    // A migrate step's summary is no backup, even with a path-like start.
    rollback({ type: 'step-finished', stepId: 'downgrade', summary: 'downgrade 9d3e71c2a5b8 → 071fffe7fb4c (1 revision)', durationMs: 80 });
    rollback({ type: 'run-finished', runId: id, outcome: 'completed', message: 'all steps done' });
    // A second run left paused (q on its question): resumable, and the summary says how.
    const deploy = record.run('deploy');
    const paused = '20261202T032000Z-deploy-d4e5f6';
    deploy(started(paused, 'deploy'));
    deploy(step('staging-reminder', 2, 'Test in staging before proceeding', 'manual'));
    deploy({ type: 'run-finished', runId: paused, outcome: 'paused', message: 'paused' });
    record.status({ ok: true, status: at(['071fffe7fb4c'], ['9d3e71c2a5b8']) });

    expect(record.changedTarget).toBe(true);
    expect(exitSummaryLines(record, identity)).toEqual([
      'mutx-ops session summary — staging · mutx@db.internal:5432',
      '  database: 9d3e71c2a5b8 → 071fffe7fb4c',
      `  run ${id} (emergency-rollback): completed`,
      `  run ${paused} (deploy): paused at step 3/3 "Test in staging before proceeding" (nothing aborted)`,
      `    resume: mutx-ops run --resume ${paused}`,
      '  backup taken: /srv/app/.mutx-ops/backups/staging_mutx_20261202T031801Z.dump',
    ]);
  });

  it('a session that ran nothing says so, with the database unchanged', () => {
    const record = new SessionRecord();
    record.status({ ok: true, status: at(['9d3e71c2a5b8']) });
    record.status({ ok: true, status: at(['9d3e71c2a5b8']) });
    expect(record.changedTarget).toBe(false);
    expect(exitSummaryLines(record, identity)).toEqual(['mutx-ops session summary — staging · mutx@db.internal:5432', '  database: at 9d3e71c2a5b8 (head) (unchanged)', '  runs: none started', '  backups taken: none']);
  });

  it('a database unreachable at exit, a failed run, a run that never got an id, a drill and a resumed backup that was not taken now', () => {
    const record = new SessionRecord();
    record.status({ ok: true, status: at(['bd6f005d71a4'], ['a', 'b']) });
    const failed = record.run('deploy');
    failed(started('20261202T033000Z-deploy-000001', 'deploy', { resumed: true }));
    failed(step('backup-now', 0, 'Take a database backup immediately', 'backup'));
    failed({ type: 'step-finished', stepId: 'backup-now', summary: 'backup /srv/b.dump had completed before the interruption (re-checked, not re-run)', durationMs: 1 });
    failed(step('downgrade', 1, 'Roll back the problematic migration', 'migrate'));
    failed({ type: 'run-finished', runId: '20261202T033000Z-deploy-000001', outcome: 'failed', message: 'lock timeout: pid 42 holds \u001b[31mthe lock\nsecond line' });
    record.run('status'); // the engine refused it before run-started (e.g. a runbook file that changed)
    const drill = record.run('emergency-rollback');
    drill(started('20261202T033100Z-emergency-rollback-000002', 'emergency-rollback', { drill: true, target: 'postgresql://postgres@%2Ftmp/drill_x' }));
    record.status({ ok: false, problem: 'connect ECONNREFUSED 127.0.0.1:5432' });
    expect(exitSummaryLines(record, identity)).toEqual([
      'mutx-ops session summary — staging · mutx@db.internal:5432',
      '  database: was at bd6f005d71a4; not readable at exit: connect ECONNREFUSED 127.0.0.1:5432',
      '  run 20261202T033000Z-deploy-000001 (deploy, resumed): failed at step 2/3 "Roll back the problematic migration" — lock timeout: pid 42 holds \\x1b[31mthe lock',
      '  run (no run id: it did not start) (status): not finished',
      '  run 20261202T033100Z-emergency-rollback-000002 (emergency-rollback, drill on postgresql://postgres@%2Ftmp/drill_x): not finished',
      '    resume: mutx-ops run --resume 20261202T033100Z-emergency-rollback-000002',
      '  backups taken: none',
    ]);
  });
});
