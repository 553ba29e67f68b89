import { catalogSnapshot, diffCatalogs } from '../../core/catalog';
import { MutxError } from '../../core/errors';
import { info, withClient, type StepContext, type StepHandler, type StepOf, type StepOutcome } from './context';

async function runCatalog(step: StepOf<'catalog'>, c: StepContext): Promise<StepOutcome> {
  const snapshot = await withClient(c, (client) => catalogSnapshot(client, { exclude: [c.ctx.settings.version_table] }));
  const catalogs = (c.state.vars.catalogs ??= {});
  if (step.action === 'snapshot') {
    catalogs[step.name] = snapshot;
    c.save();
    return { summary: `catalog "${step.name}": ${snapshot.length} object line(s)` };
  }
  const before = catalogs[step.name];
  if (!before) throw new MutxError('runbook', `no catalog snapshot named "${step.name}" in this run`, { hint: 'add a catalog snapshot step before it' });
  const diff = diffCatalogs(before, snapshot);
  for (const line of diff.slice(0, 20)) info(c, line);
  if (diff.length) throw new MutxError('verify-failed', `the catalog differs from snapshot "${step.name}" in ${diff.length} line(s): ${diff[0]}`, { hint: 'a downgrade does not exactly reverse its upgrade' });
  return { summary: `catalog identical to "${step.name}" (${snapshot.length} object line(s))` };
}

export const catalogStep: StepHandler<'catalog'> = { run: runCatalog };
