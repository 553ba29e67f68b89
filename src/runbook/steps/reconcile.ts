import { describePartial, reconcile, versionNames } from '../../core/migrations/operations';
import { readPartialMigrations } from '../../core/migrations/ledger';
import { backupNote, backupPlanLine, confirmDestructive, info, requireBackupOfCurrentRevision, withClient, type StepContext, type StepHandler, type StepOf, type StepOutcome } from './context';

async function runReconcileStep(step: StepOf<'reconcile'>, c: StepContext): Promise<StepOutcome> {
  const partial = await withClient(c, (client) => readPartialMigrations(client, versionNames(c.ctx.settings)));
  if (partial.length === 0) return { skipped: 'no half-applied migration: nothing to reconcile' };
  await confirmDestructive(step, c, partial.map(describePartial));
  const reliedOn = await requireBackupOfCurrentRevision(c, step);
  const result = await reconcile({ ...c.ctx, onEvent: (event) => event.type === 'step-finished' && info(c, `✔ ${event.direction} section of ${event.revision} (${event.durationMs} ms)`) }, { timeoutSeconds: step.timeout_seconds });
  return { summary: `reconciled ${result.reconciled.map((r) => `${r.revision} (ran ${r.ran.join(' then ')})`).join(', ')}; the database is at ${result.versionRows.join(', ') || 'base'}${backupNote(reliedOn)}` };
}

export const reconcileStep: StepHandler<'reconcile'> = {
  run: runReconcileStep,
  preview: async (_step, c) => {
    const partial = await withClient(c, (client) => readPartialMigrations(client, versionNames(c.ctx.settings)));
    if (partial.length === 0) return ['no half-applied migration: nothing to reconcile'];
    const backup = await backupPlanLine(c, _step);
    return [...partial.map((p) => `${describePartial(p)}: its downgrade section runs${p.direction === 'downgrade' ? ', then its upgrade section again' : ''}`), ...(backup ? [backup] : [])];
  },
};
