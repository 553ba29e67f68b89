import v8 from 'node:v8';
import { Command, CommanderError, Option } from 'commander';
import { AuditTrail, takeAuditFailures } from '../core/audit';
import { ExitCode, MutxError } from '../core/errors';
import { findProjectRoot } from '../core/config';
import { settingsFrom, operatorFrom, targetFrom, type GlobalOptions } from './context';
import { COMMAND_MODULES, READ_ONLY_COMMANDS, commandWord } from './commandModules';
import { appInvocation } from './appArgs';
import { exitQuietlyOnBrokenPipe } from './brokenPipe';
import { Output } from './output';
import { PREFERENCE_KEYS, readPreferences, writePreference, type PreferenceKey } from './prefs';

declare const MUTX_OPS_VERSION: string | undefined;

const version = typeof MUTX_OPS_VERSION === 'string' ? MUTX_OPS_VERSION : 'dev';

/**
 * The bin: with a command it runs headless (this file never imports Ink or React); the
 * interactive app is a separate chunk loaded only when there is no command.
 */
async function main(argv: string[]): Promise<number> {
  // A read-only command lives ~0.1 s: V8's optimising compiler would spend more CPU than it saves.
  const word = commandWord(argv);
  if (word && READ_ONLY_COMMANDS.has(word)) v8.setFlagsFromString('--no-opt');
  exitQuietlyOnBrokenPipe();
  const abort = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++;
    if (interrupts > 1 || commandFinished) process.exit(ExitCode.interrupted);
    process.stderr.write(`mutx-ops: ${signal}: cancelling the running statement on the server… (again to force quit)\n`);
    abort.abort(signal);
    // Cancelling takes a round trip or two; whatever still holds the process after that is not
    // worth a hang (what was interrupted is recorded by the next mutx-ops, as after kill -9).
    setTimeout(() => {
      process.stderr.write(`mutx-ops: ${signal}: still running ${SIGNAL_GRACE_MS / 1000} s after the signal: exiting\n`);
      process.exit(ExitCode.interrupted);
    }, SIGNAL_GRACE_MS).unref();
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
    // An end record that could not be written after the operation ran: its result above stands.
    for (const failure of takeAuditFailures()) {
      process.stderr.write(`mutx-ops: audit: ${failure.action} ended (${failure.outcome}) but its end record could not be written: ${failure.error}${failure.hint ? ` — ${failure.hint}` : ''}; the next mutx-ops records it as interrupted\n`);
      if (exitCode === ExitCode.ok) exitCode = ExitCode.failed;
    }
  };

  const owner = COMMAND_MODULES.find((entry) => word !== undefined && entry.commands.includes(word));
  const registrars = await Promise.all((owner ? [owner] : word === 'audit' || word === 'prefs' ? [] : COMMAND_MODULES).map((entry) => entry.load()));
  for (const register of registrars) register(program, run, abort.signal);
  // The settings schema (zod, yaml) is needed to read a mutx-ops.yaml, and by every command that
  // may read one elsewhere (a drill's copy, a runbook); the read-only commands skip it without a file.
  if (!word || !READ_ONLY_COMMANDS.has(word) || findProjectRoot().file) await import('../core/settingsSchema');

  const audit = program.command('audit').description('the tamper-evident audit trail');
  audit
    .command('verify')
    .description("check the hash chain (names the first bad record) and its anchors in the databases' audit mirrors")
    .option('--file-only', 'check the file alone, without connecting to any database')
    .action((opts: { fileOnly?: boolean }) => run(async (globals, out) => (await import('./auditCommands')).auditVerifyCommand(globals, out, opts)));
  audit
    .command('repair')
    .description('move a damaged last record (cut short by a full disk or a truncation) aside, audited')
    .action(() =>
      run(async (globals, out) => {
        const trail = new AuditTrail(settingsFrom(globals).auditPath, await operatorFrom());
        const result = trail.repair();
        out.result({ file: trail.file, ...result }, () =>
          result.repaired
            ? `moved the damaged last record (${result.bytes} bytes, sha256 ${result.sha256.slice(0, 16)}…) of ${trail.file} to ${result.movedTo}; recorded as record ${result.record.seq} (audit.repair)`
            : `nothing repaired in ${trail.file}: ${result.reason}`,
        );
        return result.repaired || /nothing to repair/.test(result.reason) ? ExitCode.ok : ExitCode.failed;
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
            const revs = r.revisions_before || r.revisions_after ? ` [${revisionsText(r.revisions_before)} → ${revisionsText(r.revisions_after)}]` : '';
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

  // No command (only --env / --database-url / --migrations / --debug): the app, on that target.
  const app = appInvocation(argv);
  if (app) {
    if (!process.stdin.isTTY || !process.stdout.isTTY) {
      process.stderr.write('mutx-ops: the interactive app needs a terminal (stdin/stdout is not a TTY); use the headless commands, e.g. `mutx-ops run deploy --yes` — see --help\n');
      return ExitCode.badInput;
    }
    // A target named on the command line that does not resolve (unknown environment, its
    // variable unset, a URL that does not parse): one line and its exit code, as for a command.
    if (app.options.env || app.options.databaseUrl) {
      try {
        await targetFrom(app.options, settingsFrom(app.options));
      } catch (error) {
        return new Output(false).error(error, Boolean(app.options.debug));
      }
    }
    // The app handles Ctrl+C itself (it asks before cancelling a running step).
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    // Start the sandbox (if nothing is configured) while the app's chunk (Ink, React) loads.
    const appStart = performance.now();
    const { prepareAppTarget } = await import('./appTarget');
    let targetReady = 0;
    const [prepared, { runTui }] = await Promise.all([prepareAppTarget(app.options).finally(() => (targetReady = performance.now())), importAppAtTerminal()]);
    const code = await runTui({ prepared, options: app.options, marks: { appStart, targetReady } });
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

/**
 * Ink decides once, as it loads, whether it runs in CI (CI or CONTINUOUS_INTEGRATION set): then it
 * draws nothing until it exits. Here stdin and stdout are a terminal, so an operator in a shell that
 * happens to carry CI=true (a CI debug session, a container image) still gets the live app.
 */
async function importAppAtTerminal(): Promise<typeof import('./tui')> {
  const saved = { CI: process.env.CI, CONTINUOUS_INTEGRATION: process.env.CONTINUOUS_INTEGRATION };
  process.env.CI = 'false';
  process.env.CONTINUOUS_INTEGRATION = 'false';
  try {
    return await import('./tui');
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

/** Revision rows as recorded; undefined (not known, e.g. the operation stopped first) is not "base". */
function revisionsText(rows: string[] | undefined): string {
  return rows === undefined ? '?' : rows.join(',') || 'base';
}

/** After a signal, how long cancelling may take before the process exits anyway. */
const SIGNAL_GRACE_MS = 10_000;
/** After the command finished, how long a stray handle (a socket left open) may keep the process. */
const EXIT_GRACE_MS = 2_000;
let commandFinished = false;

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    commandFinished = true;
    // The command is done: nothing may keep the process alive (an unref'd timer fires only if something else still does).
    setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
  },
  (error: unknown) => {
    process.stderr.write(`mutx-ops: internal error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = ExitCode.failed;
  },
);
