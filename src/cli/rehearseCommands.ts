import path from 'node:path';
import type { Command } from 'commander';
import { ExitCode, MutxError } from '../core/errors';
import type { Direction } from '../core/migrations/plan';
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
}
