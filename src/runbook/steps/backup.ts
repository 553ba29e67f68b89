import { backupDatabase, formatBytes, listBackups, verifyBackup } from '../../core/backup';
import { MutxError } from '../../core/errors';
import { info, targetDescription, type StepContext, type StepHandler, type StepOf, type StepOutcome } from './context';

function backupLabel(step: StepOf<'backup'>, c: StepContext): string {
  return step.label ?? `${c.state.runbook}/${step.id} run ${c.state.id}`;
}

async function runBackupStep(step: StepOf<'backup'>, c: StepContext): Promise<StepOutcome> {
  const record = await backupDatabase(c.ctx, {
    format: step.format,
    label: backupLabel(step, c),
    reason: 'runbook',
    onEvent: (event) => {
      if (event.type === 'progress') {
        c.emit({ type: 'progress', stepId: step.id, progress: { kind: 'backup', tablesDone: event.tablesDone, tablesTotal: event.tablesTotal, bytes: event.bytes, rateBytesPerSec: event.rateBytesPerSec, etaSeconds: event.etaSeconds } });
      }
    },
  });
  c.state.vars.runBackup = record.file;
  c.save();
  let verified = '';
  if (step.verify) {
    const result = await verifyBackup(c.ctx, record.file, {});
    if (!result.ok) throw new MutxError('backup', `backup ${record.file} failed verification: ${result.problems?.join('; ') ?? 'unknown'}`);
    verified = `, verified (${result.tocEntries ?? '?'} TOC entries)`;
  }
  return { summary: `${record.file} (${formatBytes(record.sizeBytes)}, sha256 ${record.sha256.slice(0, 12)}, at ${record.revisions.join(', ') || 'base'})${verified}` };
}

export const backupStep: StepHandler<'backup'> = {
  run: runBackupStep,
  preview: (step, c) => [`pg_dump --format=${step.format} ${targetDescription(c)}`, `into ${c.ctx.settings.backupsPath}${step.verify ? ', then verified (checksum + pg_restore --list)' : ''}`],
  recheck: async (step, c) => {
    const startedAt = c.stepState.startedAt ?? '';
    const done = listBackups(c.ctx.settings).find((backup) => backup.label === backupLabel(step, c) && backup.createdAt >= startedAt);
    // Killed between the dump and its verification: verify it now rather than trust it.
    const usable = done && (!step.verify || done.verified?.ok || (await verifyBackup(c.ctx, done.file, {}).then((r) => r.ok, () => false)));
    if (done && usable) {
      c.state.vars.runBackup = done.file;
      return { summary: `backup ${done.file} had completed before the interruption (re-checked, not re-run)${step.verify && !done.verified?.ok ? ', verified now' : ''}` };
    }
    if (done) info(c, `the backup taken before the interruption (${done.file}) does not verify: taking a new one`);
    return undefined;
  },
};
