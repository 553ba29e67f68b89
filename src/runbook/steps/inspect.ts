import { listBackups } from '../../core/backup';
import { describeHolder, findLockHolder } from '../../core/migrations/lock';
import { describePartial, loadGraph, versionNames } from '../../core/migrations/operations';
import { readPartialMigrations } from '../../core/migrations/ledger';
import { currentRows, info, withClient, type StepContext, type StepHandler, type StepOf, type StepOutcome } from './context';

async function runInspect(step: StepOf<'inspect'>, c: StepContext): Promise<StepOutcome> {
  const graph = loadGraph(c.ctx.settings);
  const rows = await currentRows(c);
  const applied = graph.ancestorsOrSelf(rows.filter((id) => graph.has(id)));
  if (step.show === 'current' || step.show === 'history') {
    const unknown = rows.filter((id) => !graph.has(id));
    info(c, `current: ${rows.join(', ') || 'base'}${unknown.length ? ` — ${unknown.join(', ')} unknown to the migration files` : ''}; head: ${graph.heads().join(', ')}`);
    const partial = await withClient(c, (client) => readPartialMigrations(client, versionNames(c.ctx.settings)));
    for (const p of partial) info(c, `HALF-APPLIED: ${describePartial(p)}${p.error ? ` — ${p.error.slice(0, 160)}` : ''}: reconcile before any rollback`);
  }
  if (step.show === 'history') {
    for (const id of [...graph.order].reverse().slice(0, 15)) {
      const file = graph.get(id);
      info(c, `${applied.has(id) ? '●' : '○'} ${id} ${file.message}${rows.includes(id) ? ' (current)' : ''}${file.headers.created ? ` — ${file.headers.created}` : ''}`);
    }
  }
  // Each summary says what the step looked at (a lock step's summary is about the lock, not the revision).
  if (step.show === 'backups') {
    const backups = listBackups(c.ctx.settings);
    for (const backup of backups.slice(0, 10)) info(c, `${backup.createdAt} ${backup.file} at ${backup.revisions.join(', ') || 'base'}${backup.verified?.ok ? ' verified' : ''}`);
    const newest = backups[0];
    return { summary: newest ? `${backups.length} backup(s); newest ${newest.createdAt} holds ${newest.revisions.join(', ') || 'base'}${newest.verified?.ok ? ', verified' : ', not verified'}` : 'no backups in the catalog' };
  }
  if (step.show === 'lock') {
    const holder = await withClient(c, (client) => findLockHolder(client, versionNames(c.ctx.settings)));
    const line = holder ? `migration lock held by ${describeHolder(holder)}` : 'migration lock free';
    info(c, line);
    return { summary: line };
  }
  return { summary: `at ${rows.join(', ') || 'base'}` };
}

export const inspectStep: StepHandler<'inspect'> = { run: runInspect };
