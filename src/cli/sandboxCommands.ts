import type { Command } from 'commander';
import { ExitCode, MutxError } from '../core/errors';
import { resetSandbox, sandboxStatus, startSandbox, stopSandbox, type SandboxProgress } from '../core/sandbox';
import { operatorFrom, settingsFrom } from './context';
import type { Runner } from './migrationCommands';
import { formatDuration, type Output } from './output';

const progressPrinter = (out: Output) => (progress: SandboxProgress) => out.progress(progress.message);

const revisions = (ids: string[]) => ids.join(', ') || 'base';

/** `mutx-ops sandbox start|stop|status|reset|url`: the throwaway local cluster under .mutx-ops/sandbox. */
export function registerSandboxCommands(program: Command, run: Runner, signal: AbortSignal): void {
  const sandbox = program
    .command('sandbox')
    .description('a throwaway local PostgreSQL with the MUTX schema and sample rows (the target when no database is configured)');

  sandbox
    .command('start')
    .description('start the sandbox, creating it first if needed (it keeps running until `sandbox stop`)')
    .option('--revision <rev>', 'starting revision when it is created: base, head, or a revision id (default: the one before head)')
    .action((opts: { revision?: string }) =>
      run(async (globals, out) => {
        const settings = settingsFrom(globals);
        const result = await startSandbox(settings, { revision: opts.revision, operator: await operatorFrom(), signal, onProgress: progressPrinter(out) });
        if (opts.revision && !result.created) out.progress(`the sandbox exists already, so --revision was not used: \`mutx-ops sandbox reset --revision ${opts.revision}\` moves it`);
        out.result({ ok: true, url: result.url, port: result.port, pid: result.pid, created: result.created, already_running: result.alreadyRunning, recovered: result.recovered, starting_revisions: result.startingRevisions, duration_ms: result.durationMs }, () => {
          if (result.alreadyRunning) return `sandbox already running: ${result.url}`;
          const how = result.created ? `created at ${revisions(result.startingRevisions)}` : result.recovered ? 'recovered from a stale state' : 'started';
          return [`sandbox ${how} in ${formatDuration(result.durationMs)}: ${result.url}`, 'commands without --database-url, --env or DATABASE_URL now use it; `mutx-ops sandbox stop` stops it'];
        });
      }),
    );

  sandbox
    .command('stop')
    .description('stop the sandbox server (its data stays for the next start)')
    .action(() =>
      run(async (globals, out) => {
        const result = await stopSandbox(settingsFrom(globals), { onProgress: progressPrinter(out) });
        out.result({ ok: true, was_running: result.wasRunning }, () => (result.wasRunning ? 'sandbox stopped' : 'sandbox was not running'));
      }),
    );

  sandbox
    .command('status')
    .description('running, stopped, absent or stale (exit 0 only when running, 3 otherwise)')
    .action(() =>
      run(async (globals, out) => {
        const status = await sandboxStatus(settingsFrom(globals));
        out.result(
          {
            state: status.state,
            url: status.url ?? null,
            port: status.port ?? null,
            pid: status.pid ?? null,
            owned_by_app: status.ownedByApp ?? null,
            starting_revisions: status.startingRevisions ?? null,
            created_at: status.createdAt ?? null,
            data_dir: status.dataDir,
            reason: status.reason ?? null,
          },
          () => {
            switch (status.state) {
              case 'running':
                return [`sandbox running: ${status.url} (pid ${status.pid}${status.ownedByApp ? ', stops when the app exits' : ''})`, `starting point: ${revisions(status.startingRevisions ?? [])}; data in ${status.dataDir}`];
              case 'stopped':
                return `sandbox stopped (data in ${status.dataDir}); \`mutx-ops sandbox start\` starts it`;
              case 'stale':
                return `sandbox stale: ${status.reason ?? 'unknown'}; \`mutx-ops sandbox start\` cleans up and starts it`;
              case 'absent':
                return `no sandbox${status.reason ? ` (${status.reason})` : ''}; \`mutx-ops sandbox start\` creates one`;
            }
          },
        );
        return status.state === 'running' ? ExitCode.ok : ExitCode.checkFailed;
      }),
    );

  sandbox
    .command('reset')
    .description('put database mutx back to its starting point (starts the sandbox if needed)')
    .option('--revision <rev>', 'move the starting point: base, head, or a revision id')
    .action((opts: { revision?: string }) =>
      run(async (globals, out) => {
        const result = await resetSandbox(settingsFrom(globals), { revision: opts.revision, operator: await operatorFrom(), signal, onProgress: progressPrinter(out) });
        out.result({ ok: true, url: result.url, port: result.port, starting_revisions: result.startingRevisions, seeded: result.seeded, started: result.started, duration_ms: result.durationMs }, () =>
          `sandbox reset to ${revisions(result.startingRevisions)} in ${formatDuration(result.durationMs)}: ${result.url}`,
        );
      }),
    );

  sandbox
    .command('url')
    .description('print the URL of the running sandbox (e.g. export DATABASE_URL=$(mutx-ops sandbox url))')
    .action(() =>
      run(async (globals, out) => {
        const status = await sandboxStatus(settingsFrom(globals));
        if (!status.url) {
          throw new MutxError('config', `the sandbox is not running (${status.state}${status.reason ? `: ${status.reason}` : ''})`, { hint: 'start it with `mutx-ops sandbox start`' });
        }
        out.result({ url: status.url }, () => status.url!);
      }),
    );
}
