import { isCatalogued, listBackups, resolveBackup } from '../../core/backup';
import { MutxError } from '../../core/errors';
import { loadGraph } from '../../core/migrations/operations';
import type { TargetOption } from '../events';
import { currentRows, type StepContext, type StepHandler, type StepOf, type StepOutcome } from './context';

async function runSelectTarget(step: StepOf<'select-target'>, c: StepContext): Promise<StepOutcome> {
  const vars = c.state.vars;
  if (vars.selectedBackup && !vars.selectedBackupRevisions) {
    // Preset from --backup or the Backups screen: the catalog knows the revision it was taken at.
    const resolved = resolveBackup(c.ctx.settings, vars.selectedBackup);
    vars.selectedBackup = resolved.file;
    vars.selectedBackupRevisions = isCatalogued(resolved) ? resolved.revisions : undefined;
    c.save();
  }
  if (vars.selectedRevision || vars.selectedBackup) return { summary: `selected ${vars.selectedRevision ? `revision ${vars.selectedRevision}` : `backup ${vars.selectedBackup}`}` };
  const graph = loadGraph(c.ctx.settings);
  const rows = await currentRows(c);
  const applied = graph.ancestorsOrSelf(rows.filter((id) => graph.has(id)));
  const options: TargetOption[] = [];
  if (step.from !== 'backups') {
    for (const id of [...graph.order].reverse()) {
      if (!step.include_unapplied && (!applied.has(id) || rows.includes(id))) continue;
      const file = graph.get(id);
      options.push({ kind: 'revision', value: id, revision: id, label: `${id} ${file.message}${file.headers.created ? ` (${file.headers.created})` : ''}` });
    }
    options.push({ kind: 'revision', value: 'base', revision: 'base', label: 'base — no migrations (dangerous)' });
  }
  if (step.from !== 'history') {
    for (const backup of listBackups(c.ctx.settings, { database: c.ctx.target.database }).slice(0, 20)) {
      options.push({ kind: 'backup', value: backup.file, revision: backup.revisions[0], label: `${backup.createdAt} backup at ${backup.revisions.join(', ') || 'base'}${backup.verified?.ok ? ' (verified)' : ''}` });
    }
  }
  const response = await c.ask({ kind: 'select-target', options });
  const value = response.kind === 'select-target' ? response.value : undefined;
  const chosen = options.find((option) => option.value === value);
  if (!chosen) throw new MutxError('runbook', 'no target chosen', { hint: 'pick a revision or a backup' });
  if (chosen.kind === 'revision') vars.selectedRevision = chosen.value;
  else {
    vars.selectedBackup = chosen.value;
    vars.selectedBackupRevisions = listBackups(c.ctx.settings).find((backup) => backup.file === chosen.value)?.revisions ?? [];
  }
  c.save();
  return { summary: `selected ${chosen.kind} ${chosen.label}` };
}

export const selectTargetStep: StepHandler<'select-target'> = { run: runSelectTarget };
