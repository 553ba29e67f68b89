import { MutxError, oneLine } from '../../core/errors';
import { loadGraph, versionNames } from '../../core/migrations/operations';
import { readVersionRows } from '../../core/migrations/versionTable';
import { info, withClient, type StepContext, type StepHandler, type StepOf, type StepOutcome } from './context';

async function runVerifyStep(step: StepOf<'verify'>, c: StepContext): Promise<StepOutcome> {
  const graph = loadGraph(c.ctx.settings);
  const start = c.state.vars.startRevisions ?? [];
  let expected: string[];
  switch (step.expect) {
    case 'head':
      expected = graph.heads();
      break;
    case 'start':
      expected = start;
      break;
    case 'previous': {
      // From several heads the rollback was chosen (steps/severalHeads.ts): what it left is "previous".
      if (start.length > 1 && c.state.vars.severalHeadsAfter) {
        expected = c.state.vars.severalHeadsAfter;
        break;
      }
      if (start.length !== 1) throw new MutxError('runbook', `"previous" needs one revision at the start of the run (had ${start.join(', ') || 'base'})`);
      expected = graph.get(start[0]!).revises;
      break;
    }
    case 'selected': {
      const vars = c.state.vars;
      // The plan's result, not the picked id: downgrading to one parent of a merge leaves both parents (Alembic's semantics).
      const selected = vars.selectedRevision ? vars.selectedHeadsAfter ?? [vars.selectedRevision] : vars.selectedBackupRevisions;
      if (!selected) throw new MutxError('runbook', 'no revision or backup was selected');
      expected = selected.filter((id) => id !== 'base');
      break;
    }
    default:
      expected = step.expect === 'base' ? [] : [graph.resolve(step.expect)];
  }
  return withClient(c, async (client) => {
    const rows = await readVersionRows(client, versionNames(c.ctx.settings));
    const sorted = (list: string[]) => [...list].sort().join(', ');
    info(c, `current: ${rows.join(', ') || 'base'}; expected (${step.expect}): ${expected.join(', ') || 'base'}`);
    if (sorted(rows) !== sorted(expected)) {
      throw new MutxError('verify-failed', `the database is at ${rows.join(', ') || 'base'}, expected ${expected.join(', ') || 'base'} (${step.expect})`);
    }
    for (const check of step.checks) {
      let value: unknown;
      try {
        const result = await client.query(check.sql);
        const row = result.rows[0] as Record<string, unknown> | undefined;
        value = row ? Object.values(row)[0] : undefined;
      } catch (error) {
        throw new MutxError('verify-failed', `check "${check.description}" failed: ${oneLine(error)}`);
      }
      if (!(value === true || (typeof value === 'number' && value !== 0) || value === 't')) {
        throw new MutxError('verify-failed', `check "${check.description}" returned ${JSON.stringify(value ?? null)}`);
      }
      info(c, `✔ ${check.description}`);
    }
    return { summary: `at ${rows.join(', ') || 'base'} as expected${step.checks.length ? `; ${step.checks.length} check(s) passed` : ''}` };
  });
}

export const verifyStep: StepHandler<'verify'> = {
  run: runVerifyStep,
  preview: (step) => [`expect the database at "${step.expect}"`, ...step.checks.map((check) => `check: ${check.description}`)],
};
