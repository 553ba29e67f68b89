import { withDatabase } from '../../core/connection';
import { MutxError } from '../../core/errors';
import { info, type StepContext, type StepHandler, type StepOf, type StepOutcome } from './context';

/**
 * The whole chain rehearsed, as `mutx-ops test` does it (core/rehearse/chainTest.ts): a scratch
 * database built from the files on the target's server (`postgres` database for CREATE DATABASE;
 * the target database itself is not touched), then single-head, base → head, models-match
 * (Alembic with target_metadata), head → base, and each revision upgraded, downgraded and upgraded
 * again with the catalog compared. The step fails naming the revision, file:line and the diff.
 */
async function runChainTest(step: StepOf<'chain-test'>, c: StepContext): Promise<StepOutcome> {
  const { testChain, chainServer } = await import('../../core/rehearse/chainTest');
  const report = await testChain({ ...c.ctx, signal: c.signal }, chainServer(withDatabase(c.ctx.target, 'postgres')), { onProgress: (line) => info(c, line) });
  const failed: string[] = [];
  for (const check of report.checks) {
    info(c, `${check.ok ? (check.skipped ? '⏭' : '✔') : '✘'} ${check.name}${check.skipped ? ` (skipped: ${check.skipped})` : ''}`);
    for (const failure of check.failures) {
      const line = `${failure.revision ? `${failure.revision}${failure.where ? ` (${failure.where})` : failure.file ? ` (${failure.file})` : ''}: ` : ''}${failure.what}`;
      info(c, `    ${line}`);
      for (const diff of (failure.diff ?? []).slice(0, 10)) info(c, `      ${diff}`);
      failed.push(`${check.name}: ${line}`);
    }
  }
  if (!report.ok) throw new MutxError('verify-failed', `the chain rehearsal failed (${failed.length} finding(s)): ${failed[0] ?? 'see the output'}`, { hint: 'fix the revision named, then retry this step; the target was not touched' });
  const ran = report.checks.filter((check) => !check.skipped).length;
  return { summary: `chain of ${report.revisions} revision(s) rehearsed on ${report.scratch.database} (${report.scratch.dropped ? 'dropped' : 'NOT dropped'}): ${ran} check(s) passed${report.checks.some((check) => check.skipped) ? `, ${report.checks.filter((check) => check.skipped).map((check) => check.name).join(', ')} skipped` : ''}` };
}

export const chainTestStep: StepHandler<'chain-test'> = {
  run: runChainTest,
  preview: (_step, c) => [
    `mutx-ops test: a scratch database built from the files on the server of ${c.ctx.target.redacted}, dropped afterwards (the target database is not touched)`,
    'checks: single-head, base → head, models-match (Alembic with target_metadata), head → base, each revision upgrade/downgrade/upgrade with the catalog compared',
  ],
};
