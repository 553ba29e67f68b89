import path from 'node:path';
import type { Command } from 'commander';
import { ExitCode, MutxError } from '../core/errors';
import type { Direction } from '../core/migrations/plan';
import { parseTarget, withDatabase } from '../core/connection';
import { coreContextFrom } from './context';
import type { Runner } from './migrationCommands';
import { formatDuration } from './output';

/**
 * `mutx-ops rehearse [upgrade|downgrade] [TARGET]`: the plan on a throwaway copy of the target's
 * schema (exit 0 passed, 1 failed, 2 bad input). The core is loaded only here.
 */
export function registerRehearseCommands(program: Command, run: Runner, signal: AbortSignal): void {
  program
    .command('rehearse')
    .description('run the plan on a throwaway copy of the target\'s schema first (exit 0 passed, 1 failed, 2 bad input); the target is only read')
    .argument('[direction]', 'upgrade (default) or downgrade')
    .argument('[target]', 'upgrade: head (default), heads, +N, ID; downgrade: -1 (default), -N, ID, base')
    .option('--round-trip', 'then the inverse plan and the plan again, comparing the catalogs (nothing left behind)')
    .option('--scratch-url <url>', 'server to create the scratch database on (default: the target\'s server)')
    .option('--with-data', 'copy the rows too (databases up to 100 MB)')
    .option('--timeout <seconds>', 'the whole rehearsal, cancelled on the server when it expires', '600')
    .option('--no-locks', 'do not sample pg_locks while it runs')
    .action((first: string | undefined, second: string | undefined, opts: { roundTrip?: boolean; scratchUrl?: string; withData?: boolean; timeout: string; locks: boolean }) =>
      run(async (globals, out) => {
        if (first !== undefined && first !== 'upgrade' && first !== 'downgrade' && second !== undefined) {
          throw new MutxError('usage', `rehearse: "${first.slice(0, 30)}" is not upgrade or downgrade`, { hint: 'mutx-ops rehearse [upgrade|downgrade] [TARGET]' });
        }
        const direction: Direction = first === 'downgrade' ? 'downgrade' : 'upgrade';
        const target = (first === 'upgrade' || first === 'downgrade' ? second : first) ?? (direction === 'upgrade' ? 'head' : '-1');
        const timeoutSeconds = Number(opts.timeout);
        if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) throw new MutxError('usage', `--timeout must be a positive number of seconds, not "${opts.timeout.slice(0, 20)}"`);
        const ctx = await coreContextFrom(globals, { signal });
        const { rehearse } = await import('../core/rehearse/rehearse');
        const { reportLines } = await import('../core/rehearse/report');
        const report = await rehearse(ctx, { direction, target, roundTrip: opts.roundTrip, scratchUrl: opts.scratchUrl, withData: opts.withData, timeoutSeconds, observeLocks: opts.locks, onProgress: (line) => out.progress(line) });
        out.result(report, () => reportLines(report, (file) => path.relative(ctx.settings.root, file) || file, formatDuration));
        return report.ok ? ExitCode.ok : ExitCode.failed;
      }),
    );

  program
    .command('test')
    .description('check the whole chain on a scratch database built from the files: one head, base → head, head → base, upgrade/downgrade/upgrade of each revision with the catalog compared (exit 0 passed, 1 failed, 2 bad input)')
    .option('--scratch-url <url>', 'server to build the scratch database on (default: the configured target\'s server; its database is not touched)')
    .action((opts: { scratchUrl?: string }) =>
      run(async (globals, out) => {
        const ctx = await coreContextFrom(globals, { signal });
        const { testChain, chainServer } = await import('../core/rehearse/chainTest');
        const admin = opts.scratchUrl ? parseTarget({ url: opts.scratchUrl, sslMode: process.env.DATABASE_SSL_MODE || undefined }) : withDatabase(ctx.target, 'postgres');
        const report = await testChain(ctx, chainServer(admin), { onProgress: (line) => out.progress(line) });
        out.result(report, () => {
          const lines = [`mutx-ops test: ${report.revisions} revision(s), engine ${report.engine}, on ${report.scratch.database} (${report.scratch.dropped ? 'dropped' : 'NOT dropped'})`];
          for (const check of report.checks) {
            lines.push(`  ${check.ok ? 'ok     ' : check.skipped ? 'skipped' : 'FAILED '} ${check.name}${check.skipped ? ` (${check.skipped})` : ''}`);
            for (const failure of check.failures) lines.push(`      ${failure.revision ? `${failure.revision}${failure.where ? ` (${failure.where})` : failure.file ? ` (${failure.file})` : ''}: ` : ''}${failure.what}`);
          }
          lines.push(`${report.ok ? 'PASSED' : 'FAILED'} in ${formatDuration(report.totalMs)}`);
          return lines;
        });
        return report.ok ? ExitCode.ok : ExitCode.failed;
      }),
    );
}
