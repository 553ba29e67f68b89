import type { RunEvent, StepSummary } from '../../runbook/events';

/** Recorded event streams (as the engine emitted them) for rendering tests. */
export const DEPLOY_STEPS: StepSummary[] = [
  { id: 'announce', title: 'Tell the channel', type: 'notify', text: 'Stakeholders first.', destructive: false },
  { id: 'pre-checklist', title: 'Pre-migration checklist', type: 'checklist', text: 'Tick each item only when done.', destructive: false },
  { id: 'backup', title: 'Back up the database', type: 'backup', text: 'A custom-format pg_dump, checksummed and verified.', destructive: false },
  { id: 'upgrade', title: 'Run the migrations', type: 'migrate', text: 'upgrade head under the migration lock.', destructive: false },
  { id: 'verify', title: 'Verify the migration', type: 'verify', text: 'The database must be at head.', destructive: false },
  { id: 'watch-logs', title: 'Monitor the application log', type: 'logs', text: 'More than 5 errors a minute fails.', destructive: false },
];

export const RUN_STARTED: RunEvent = {
  type: 'run-started',
  runId: '20260101T000000Z-deploy-abc123',
  runbook: 'deploy',
  title: 'Deploy a release',
  environment: 'staging',
  target: 'postgresql://app:***@db:5432/mutx',
  protected: false,
  drill: false,
  resumed: false,
  steps: DEPLOY_STEPS,
};

/** A deploy up to a running backup and a running migration. */
export const DEPLOY_EVENTS: RunEvent[] = [
  RUN_STARTED,
  { type: 'step-started', stepId: 'announce', index: 0, total: 6, title: 'Tell the channel', stepType: 'notify', preview: ['POST to $MUTX_OPS_WEBHOOK_URL: "starting"'] },
  { type: 'step-skipped', stepId: 'announce', reason: 'no webhook configured ($MUTX_OPS_WEBHOOK_URL)' },
  { type: 'step-started', stepId: 'pre-checklist', index: 1, total: 6, title: 'Pre-migration checklist', stepType: 'checklist', preview: [] },
  { type: 'needs-input', stepId: 'pre-checklist', request: { kind: 'checklist-item', itemId: 'reviewed', label: 'Migration changes reviewed', index: 0, total: 2 } },
  { type: 'input-received', stepId: 'pre-checklist', response: { kind: 'checklist-item', ticked: true } },
  { type: 'output', stepId: 'pre-checklist', line: '✔ Migration changes reviewed', stream: 'info' },
  { type: 'needs-input', stepId: 'pre-checklist', request: { kind: 'checklist-item', itemId: 'staging', label: 'Tested in staging', index: 1, total: 2 } },
  { type: 'input-received', stepId: 'pre-checklist', response: { kind: 'checklist-item', ticked: true } },
  { type: 'step-finished', stepId: 'pre-checklist', summary: '2 item(s) confirmed', durationMs: 4200 },
  {
    type: 'step-started',
    stepId: 'backup',
    index: 2,
    total: 6,
    title: 'Back up the database',
    stepType: 'backup',
    preview: ['pg_dump --format=custom on postgresql://app:***@db:5432/mutx (staging)', 'into /srv/mutx/.mutx-ops/backups, then verified'],
  },
  { type: 'progress', stepId: 'backup', progress: { kind: 'backup', tablesDone: 3, tablesTotal: 12, bytes: 12_900_000, rateBytesPerSec: 4_300_000, etaSeconds: 8 } },
];

export const MIGRATION_EVENTS: RunEvent[] = [
  ...DEPLOY_EVENTS,
  { type: 'step-finished', stepId: 'backup', summary: 'backup.dump (12 MB), verified', durationMs: 3000 },
  { type: 'step-started', stepId: 'upgrade', index: 3, total: 6, title: 'Run the migrations', stepType: 'migrate', preview: ['mutx-ops upgrade head --timeout 300 on postgresql://app:***@db:5432/mutx (staging)', 'a1 → c3: 3 revision(s)'] },
  { type: 'progress', stepId: 'upgrade', progress: { kind: 'migration', index: 1, total: 3, revision: '5570bd6d8f6c', direction: 'upgrade', elapsedMs: 2100 } },
];

export const FAILED_EVENTS: RunEvent[] = [
  ...MIGRATION_EVENTS,
  { type: 'step-failed', stepId: 'upgrade', error: '5570bd6d8f6c: relation "users" does not exist', offers: ['retry', { switch: 'emergency-rollback' }, 'abort'] },
  { type: 'needs-input', stepId: 'upgrade', request: { kind: 'failure', error: '5570bd6d8f6c: relation "users" does not exist', offers: ['retry', { switch: 'emergency-rollback' }, 'abort'] } },
];
