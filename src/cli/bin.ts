import { Command, CommanderError, Option } from 'commander';
import { AuditTrail } from '../core/audit';
import { ExitCode, MutxError } from '../core/errors';
import { settingsFrom, operatorFrom, type GlobalOptions } from './context';
import { registerBackupCommands } from './backupCommands';
import { exitQuietlyOnBrokenPipe } from './brokenPipe';
import { registerMigrationCommands } from './migrationCommands';
import { registerReviewCommands } from './reviewCommands';
import { registerSandboxCommands } from './sandboxCommands';
import { registerRunCommands } from './runCommands';
import { Output } from './output';
import { PREFERENCE_KEYS, readPreferences, writePreference, type PreferenceKey } from './prefs';

declare const MUTX_OPS_VERSION: string | undefined;
const version = typeof MUTX_OPS_VERSION === 'string' ? MUTX_OPS_VERSION : 'dev';

/**
 * The bin: with a command it runs headless (this file never imports Ink or React); the
 * interactive app is a separate chunk loaded only when there is no command.
 */
async function main(argv: string[]): Promise<number> {
  exitQuietlyOnBrokenPipe();
  const abort = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++;
    if (interrupts > 1) process.exit(ExitCode.interrupted);
    process.stderr.write(`mutx-ops: ${signal}: cancelling the running statement on the server… (again to force quit)\n`);
    abort.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let exitCode: number = ExitCode.ok;
  const program = new Command('mutx-ops')
    .description('Guided, audited PostgreSQL migrations (Alembic-compatible) for on-call engineers')
    .version(version, '--version')
    .addOption(new Option('--database-url <url>', 'target database (default: $DATABASE_URL)'))
    .option('--env <name>', 'environment from mutx-ops.yaml')
    .option('--migrations <dir>', 'migrations folder (default: migrations_dir setting)')
    .option('--json', 'machine-readable output')
    .option('--debug', 'print stack traces')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      // Commander puts its suggestion ("(Did you mean upgrade?)") on a second line: keep every
      // error on one line so scripts and operators see one message.
      writeErr: (text) => process.stderr.write(text.startsWith('error:') ? `mutx-ops: ${text.trimEnd().replace(/\s*\n\s*/g, ' ')}\n` : text),
    });

  const run = async (fn: (globals: GlobalOptions, out: Output) => Promise<number | void>) => {
    const globals = program.opts<GlobalOptions>();
    const out = new Output(Boolean(globals.json));
    try {
      exitCode = (await fn(globals, out)) ?? ExitCode.ok;
    } catch (error) {
      exitCode = out.error(error, Boolean(globals.debug));
    }
  };

  registerMigrationCommands(program, run, abort.signal);
  registerSandboxCommands(program, run, abort.signal);
  registerBackupCommands(program, run, abort.signal);
  registerRunCommands(program, run, abort.signal);
  registerReviewCommands(program, run, abort.signal);

  const audit = program.command('audit').description('the tamper-evident audit trail');
  audit
    .command('verify')
    .description('check the hash chain; names the first bad record')
    .action(() =>
      run(async (globals, out) => {
        const trail = new AuditTrail(settingsFrom(globals).auditPath, await operatorFrom());
        const result = trail.verify();
        out.result({ file: trail.file, ...result }, () =>
          result.ok ? `audit trail OK: ${result.records} record(s) in ${trail.file}` : `audit trail BROKEN at ${trail.file}:${result.firstBad!.line}${result.firstBad!.seq ? ` (record ${result.firstBad!.seq})` : ''}: ${result.firstBad!.reason}`,
        );
        return result.ok ? ExitCode.ok : ExitCode.failed;
      }),
    );
  audit
    .command('show')
    .description('print the latest records')
    .option('--last <n>', 'how many', '20')
    .action((opts: { last: string }) =>
      run(async (globals, out) => {
        const count = Number(opts.last);
        if (!Number.isInteger(count) || count <= 0) throw new MutxError('usage', `--last must be a positive integer, not "${opts.last.slice(0, 20)}"`);
        const trail = new AuditTrail(settingsFrom(globals).auditPath, await operatorFrom());
        const records = trail.last(count);
        out.result({ records }, () =>
          records.map((r) => {
            const revs = r.revisions_before || r.revisions_after ? ` [${(r.revisions_before ?? []).join(',') || 'base'} → ${(r.revisions_after ?? []).join(',') || 'base'}]` : '';
            return `${String(r.seq).padStart(5)} ${r.ts} ${r.operator}@${r.host} ${r.action} ${r.phase}${r.outcome ? ` ${r.outcome}` : ''}${r.duration_ms !== undefined ? ` ${r.duration_ms} ms` : ''}${revs}${r.target ? ` ${r.target}` : ''}${r.error ? ` — ${r.error}` : ''}`;
          }),
        );
      }),
    );

  const prefs = program.command('prefs').description('operator preferences (stored in your user config folder)');
  prefs
    .command('show')
    .action(() => run(async (_globals, out) => {
      const values = await readPreferences();
      out.result(values, () => PREFERENCE_KEYS.map((key) => `${key}: ${values[key] ?? '(unset)'}`));
    }));
  prefs
    .command('set')
    .argument('<key>', PREFERENCE_KEYS.join(' | '))
    .argument('[value]', 'omit to unset')
    .action((key: string, value: string | undefined) =>
      run(async (_globals, out) => {
        if (!(PREFERENCE_KEYS as readonly string[]).includes(key)) throw new MutxError('usage', `unknown preference "${key.slice(0, 30)}"`, { hint: `one of ${PREFERENCE_KEYS.join(', ')}` });
        const file = await writePreference(key as PreferenceKey, value);
        out.result({ key, value: value ?? null, file }, () => `${key} ${value === undefined ? 'unset' : `= ${value}`} (${file})`);
      }),
    );

  if (argv.length === 0) {
    if (!process.stdin.isTTY || !process.stdout.isTTY) {
      process.stderr.write('mutx-ops: the interactive app needs a terminal (stdin/stdout is not a TTY); use the headless commands, e.g. `mutx-ops run deploy --yes` — see --help\n');
      return ExitCode.badInput;
    }
    // The app handles Ctrl+C itself (it asks before cancelling a running step).
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    // Start the sandbox (if nothing is configured) while the app's chunk (Ink, React) loads.
    const appStart = performance.now();
    const { prepareAppTarget } = await import('./appTarget');
    let targetReady = 0;
    const [prepared, { runTui }] = await Promise.all([prepareAppTarget().finally(() => (targetReady = performance.now())), import('./tui')]);
    const code = await runTui({ prepared, marks: { appStart, targetReady } });
    // Pool sockets or a follower may still hold the loop: the app is done, so is the process.
    process.exit(code);
  }

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return ExitCode.ok;
      return ExitCode.badInput;
    }
    throw error;
  }
  return exitCode;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`mutx-ops: internal error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = ExitCode.failed;
  },
);
