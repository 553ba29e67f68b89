import type { Command } from 'commander';
import type { Runner } from './migrationCommands';
import type { RunFlags } from './runActions';
import { AuditTrail } from '../core/audit';
import { ExitCode, MutxError } from '../core/errors';
import { operatorFrom, settingsFrom } from './context';

/** The runbook engine, its zod schemas and the log follower load only when a run command runs. */
const actions = () => import('./runActions');

export function registerRunCommands(program: Command, run: Runner, signal: AbortSignal): void {
  program
    .command('runbooks')
    .description('list the runbooks (and any file that does not validate)')
    .action(() =>
      run(async (globals, out) => {
        const settings = settingsFrom(globals);
        const { loadRunbooks } = await actions();
        const { runbooks, errors } = loadRunbooks(settings.runbooksPath);
        out.result(
          { runbooks: runbooks.map((r) => ({ name: r.runbook.name, title: r.runbook.title, category: r.runbook.category, description: r.runbook.description, file: r.file, steps: r.runbook.steps.length })), errors: errors.map((e) => e.message) },
          () => [...runbooks.map((r) => `${r.runbook.name.padEnd(24)} ${r.runbook.title} (${r.runbook.steps.length} steps)`), ...errors.map((e) => `INVALID ${e.message}`)],
        );
        return errors.length ? ExitCode.badInput : ExitCode.ok;
      }),
    );

  program
    .command('run')
    .description('run a runbook headless: one line per event (JSON lines with --json)')
    .argument('[runbook]', 'runbook name or file')
    .option('--yes', 'confirm manual steps and checklist items')
    .option('--confirm <dbname>', 'type the database name for destructive steps on a protected environment')
    .option('--on-failure <what>', 'abort (default), retry, skip, switch (to the runbook the step offers) or wait (a lock timeout: until the blocking session ends, then retry)')
    .option('--skip-reason <text>', 'reason recorded when --on-failure skip skips a step')
    .option('--on-broken-downgrade <what>', 'a downgrade known to fail: restore (the verified backup at the target revision instead) or stop (default: pause before it, exit 5)')
    .option('--acknowledge <reason>', 'go ahead despite an error-level review finding on a protected environment (with --confirm; recorded in the audit trail)')
    .option('--resume <runId>', 'continue an interrupted or paused run at its step')
    .option('--drill', 'mark the run as a practice drill in the audit trail')
    .option('--target <rev>', 'answer a "choose a revision" step')
    .option('--backup <file>', 'answer a "choose a backup" step')
    .option('--log-source <spec>', 'follow this log (file, or cmd:COMMAND) instead of the environment\'s')
    .option('--logs-duration <seconds>', 'watch the log for this long in every logs step')
    .action((name: string | undefined, flags: RunFlags) => run(async (globals) => (await actions()).headlessRun(globals, name, flags, signal)));

  program
    .command('drill')
    .description('practice drills on the sandbox: set up a fault, run its runbook headless, debrief (no scenario: list them)')
    .argument('[scenario]', 'scenario name (runbooks/drills/NAME.yaml) or file')
    .option('--yes', 'confirm manual steps and checklist items')
    .option('--confirm <dbname>', 'type the database name for destructive steps (scenarios practised as protected)')
    .option('--on-failure <what>', 'abort (default), retry, skip or switch (to the runbook the step offers)')
    .option('--skip-reason <text>', 'reason recorded when --on-failure skip skips a step')
    .option('--debrief <drillId>', 'check the success criteria of an earlier drill again, against the database as it is now')
    .option('--list-runs', 'list earlier drills and whether they passed')
    .action((name: string | undefined, flags: import('./drillActions').DrillFlags) =>
      run(async (globals, out) => (await import('./drillActions')).drillCommand(globals, out, name, flags, signal)),
    );

  const runs = program
    .command('runs')
    .description('list runs: active, interrupted (resumable), finished')
    .action(() =>
      run(async (globals, out) => {
        const settings = settingsFrom(globals);
        const { listRuns } = await actions();
        const all = listRuns(settings);
        out.result({ runs: all }, () =>
          all.length === 0
            ? 'no runs yet'
            : all.map((r) => {
                const state = runStateWord(r) + (r.interrupted || r.status === 'waiting' ? ' (resumable)' : '');
                const step = r.steps[r.currentStep];
                return `${r.id}  ${state.padEnd(10)} ${r.runbook} on ${r.target}${r.drill ? ' [drill]' : ''} — step ${r.currentStep + 1}/${r.steps.length}${step ? ` ${step.id}` : ''}`;
              }),
        );
      }),
    );
  runs
    .command('show')
    .description("a run's timeline from the audit trail")
    .argument('<runId>')
    .option('--format <fmt>', 'text or md (Markdown for the incident write-up)', 'text')
    .action((runId: string, opts: { format: string }) =>
      run(async (globals, out) => {
        const settings = settingsFrom(globals);
        const { loadRunState, runTimelineMarkdown, isInterrupted } = await actions();
        if (!['text', 'md'].includes(opts.format)) throw new MutxError('usage', `--format must be text or md, not "${opts.format.slice(0, 20)}"`);
        const state = loadRunState(settings, runId);
        const records = new AuditTrail(settings.auditPath, await operatorFrom()).readAll().filter((r) => r.run_id === runId);
        if (opts.format === 'md') {
          process.stdout.write(`${runTimelineMarkdown(runId, records)}\n`);
          return;
        }
        out.result({ run: state, records }, () => [
          `${state.id} ${state.runbook} ${runStateWord({ ...state, interrupted: isInterrupted(state) })} on ${state.target}`,
          ...state.steps.map((s) => `  ${(s.status === 'waiting' ? 'paused' : s.status).padEnd(8)} ${s.id}${s.summary ? ` — ${s.summary}` : ''}${s.skipReason ? ` — skipped: ${s.skipReason}` : ''}${s.error ? ` — ${s.error}` : ''}`),
        ]);
      }),
    );

  program
    .command('logs')
    .description("follow or count the application log (default: the environment's log_source)")
    .argument('[source]', 'file path, or cmd:COMMAND')
    .option('--filter <regex>', 'case-insensitive filter', 'error')
    .option('--follow', 'keep following (like tail -F) until Ctrl+C')
    .option('--all', 'print every line, not only matches')
    .action((source: string | undefined, opts: { filter: string; follow?: boolean; all?: boolean }) =>
      run(async (globals, out) => (await actions()).logsCommand(globals, out, source, opts, signal)),
    );
}


/**
 * One word per state everywhere (runs, runs show, the app's home and run view): a run whose
 * process was killed mid-step is interrupted; one left waiting for the operator is paused.
 */
export function runStateWord(run: { status: string; interrupted: boolean }): string {
  return run.status === 'running' && run.interrupted ? 'interrupted' : run.status === 'waiting' ? 'paused' : run.status;
}
