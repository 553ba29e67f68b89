import path from 'node:path';
import { latestVerifiedBackup, listBackups, restoreBackup } from '../../core/backup';
import { MutxError } from '../../core/errors';
import { rerunIfConfirmed } from './command';
import { backupBeforeRun, currentRows, info, planTypedConfirmed, requireFreshBackup, targetDescription, type StepContext, type StepHandler, type StepOf, type StepOutcome } from './context';

/** A backup as a plan names it: its file, the revision it holds, its age, whether it verified. */
export function describeBackupFile(c: StepContext, file: string): string[] {
  const record = listBackups(c.ctx.settings).find((backup) => backup.file === file || path.basename(backup.file) === path.basename(file));
  if (!record) return [`restore ${path.basename(file)} (not in the catalog: revision unknown)`, `from ${path.dirname(file)}`];
  const minutes = Math.max(0, Math.round((Date.now() - Date.parse(record.createdAt)) / 60_000));
  return [`restore ${path.basename(record.file)}`, `holds ${record.revisions.join(', ') || 'base'}, ${minutes} min old${record.verified?.ok ? ', verified' : ', NOT verified'}; from ${path.dirname(record.file)}`];
}

/**
 * `before-run`: the newest verified backup from before this run that holds the revision the
 * database is at now (after a rollback: the revision rolled back to). A backup of any other
 * revision would undo the rollback or leave a state no revision describes.
 */
async function beforeRunAtCurrentRevision(c: StepContext): Promise<{ file?: string; rows: string[] }> {
  const rows = await currentRows(c);
  return { file: backupBeforeRun(c, rows)?.file, rows };
}

async function runRestoreStep(step: StepOf<'restore'>, c: StepContext): Promise<StepOutcome> {
  const beforeRun = step.source === 'before-run' ? await beforeRunAtCurrentRevision(c) : undefined;
  if (beforeRun && !beforeRun.file) {
    const at = beforeRun.rows.join(', ') || 'base';
    if (step.optional) return { skipped: `no verified backup from before this run holds ${at} (the revision the database is at): none to offer` };
    throw new MutxError('restore', `no verified backup from before this run holds ${at}, the revision the database is at`, { hint: 'restore a specific file with `mutx-ops restore FILE`' });
  }
  if (step.optional) {
    const file = beforeRun?.file ?? (step.source === 'run' ? c.state.vars.runBackup : step.source === 'selected' ? c.state.vars.selectedBackup : undefined);
    const detail = [...(file ? describeBackupFile(c, file) : []), step.text, 'everything written since that backup is lost; a safety backup of the current state is taken first'];
    const response = await c.ask({ kind: 'confirm', prompt: `${step.title}: restore it? (default no)`, detail, defaultNo: true });
    if (response.kind === 'confirm' && !response.ok) return { skipped: 'operator: restore not needed' };
  }
  const spec = step.source === 'run' ? c.state.vars.runBackup : step.source === 'selected' ? c.state.vars.selectedBackup : step.source === 'latest' ? 'latest' : beforeRun?.file;
  if (!spec) {
    const why = { selected: 'no backup was selected (a revision was)', run: 'this run took no backup', 'before-run': 'no verified backup from before this run exists', latest: '' }[step.source];
    if (step.source === 'before-run') throw new MutxError('restore', why, { hint: 'restore a specific file with `mutx-ops restore FILE`' });
    return { skipped: why };
  }
  requireFreshBackup(c);
  const result = await restoreForStep(c, spec);
  return { summary: `restored ${result.file}; safety backup ${result.safetyBackup?.file ?? 'none'}; now at ${result.revisionsAfter.join(', ') || 'base'}` };
}

/**
 * A restore as a step does it: a safety backup of the current state first, and on a protected
 * target the typed database name (unless the run's typed plan confirmation already covered it).
 */
export function restoreForStep(c: StepContext, spec: string): ReturnType<typeof restoreBackup> {
  return restoreBackup(c.ctx, spec, {
    safetyBackup: true,
    confirm: c.ctx.target.protected
      ? async ({ database, description }) => {
          if (planTypedConfirmed(c)) return c.ctx.target.database;
          const response = await c.ask({ kind: 'typed-confirmation', prompt: `restore over ${database}: type the database name to go ahead`, expected: database, detail: [description] });
          return response.kind === 'typed-confirmation' ? response.text : '';
        }
      : undefined,
    onEvent: (event) => {
      if (event.type === 'phase') info(c, event.message);
    },
  });
}

export const restoreStep: StepHandler<'restore'> = {
  run: runRestoreStep,
  preview: (step, c) => {
    const file = step.source === 'run' ? c.state.vars.runBackup : step.source === 'selected' ? c.state.vars.selectedBackup : step.source === 'latest' ? latestVerifiedBackup(c.ctx.settings, c.ctx.target, Number.MAX_SAFE_INTEGER)?.file : undefined;
    const missing = { run: '(the backup taken in this run)', selected: '(the selected backup)', latest: '(no verified backup)', 'before-run': 'the newest verified backup from before this run at the revision the database is at then (chosen when the step runs)' }[step.source];
    return [
      ...(file ? describeBackupFile(c, file) : [`restore ${missing}`]),
      `${step.optional ? 'only if you say so (asked, default no); ' : ''}a safety backup of the current state is taken first`,
      `the database ${c.ctx.target.database} is overwritten ${targetDescription(c)}`,
    ];
  },
  recheck: rerunIfConfirmed,
};
