import { restoreBackup } from '../../core/backup';
import { MutxError } from '../../core/errors';
import { rerunIfConfirmed } from './command';
import { backupBeforeRun, info, requireFreshBackup, targetDescription, type StepContext, type StepHandler, type StepOf, type StepOutcome } from './context';

async function runRestoreStep(step: StepOf<'restore'>, c: StepContext): Promise<StepOutcome> {
  if (step.optional) {
    const response = await c.ask({ kind: 'confirm', prompt: `${step.title}: is a restore needed?`, detail: [step.text] });
    if (response.kind === 'confirm' && !response.ok) return { skipped: 'operator: restore not needed' };
  }
  const spec = step.source === 'run' ? c.state.vars.runBackup : step.source === 'selected' ? c.state.vars.selectedBackup : step.source === 'latest' ? 'latest' : backupBeforeRun(c)?.file;
  if (!spec) {
    const why = { selected: 'no backup was selected (a revision was)', run: 'this run took no backup', 'before-run': 'no verified backup from before this run exists', latest: '' }[step.source];
    if (step.source === 'before-run') throw new MutxError('restore', why, { hint: 'restore a specific file with `mutx-ops restore FILE`' });
    return { skipped: why };
  }
  requireFreshBackup(c);
  const result = await restoreBackup(c.ctx, spec, {
    safetyBackup: true,
    confirm: c.ctx.target.protected
      ? async ({ database, description }) => {
          const response = await c.ask({ kind: 'typed-confirmation', prompt: `restore over ${database}: type the database name to go ahead`, expected: database, detail: [description] });
          return response.kind === 'typed-confirmation' ? response.text : '';
        }
      : undefined,
    onEvent: (event) => {
      if (event.type === 'phase') info(c, event.message);
    },
  });
  return { summary: `restored ${result.file}; safety backup ${result.safetyBackup?.file ?? 'none'}; now at ${result.revisionsAfter.join(', ') || 'base'}` };
}

export const restoreStep: StepHandler<'restore'> = {
  run: runRestoreStep,
  preview: (step, c) => {
    const source =
      step.source === 'run' ? c.state.vars.runBackup ?? '(the backup taken in this run)' : step.source === 'selected' ? c.state.vars.selectedBackup ?? '(the selected backup)' : step.source === 'latest' ? 'the latest verified backup' : backupBeforeRun(c)?.file ?? '(no verified backup from before this run)';
    return [`restore ${source} ${targetDescription(c)}`, 'a safety backup of the current state is taken first', `the database ${c.ctx.target.database} is overwritten`];
  },
  recheck: rerunIfConfirmed,
};
