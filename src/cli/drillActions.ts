import fs from 'node:fs';
import path from 'node:path';
import { ExitCode, MutxError } from '../core/errors';
import { HeadlessInput, type HeadlessAnswers } from '../runbook/headless';
import { debriefLines, findScenario, loadScenarios, prepareDrill, redebrief, type Debrief, type DrillState } from '../runbook/drill/drill';
import { isDestructiveFault } from '../runbook/drill/schema';
import { coreContextFrom, operatorFrom, settingsFrom, type GlobalOptions } from './context';
import type { Output } from './output';
import { eventPrinter, runFollowingSwitches, type RunFlags } from './runActions';

export interface DrillFlags extends Pick<RunFlags, 'yes' | 'confirm' | 'onFailure' | 'skipReason' | 'env'> {
  debrief?: string;
  listRuns?: boolean;
}

/** `mutx-ops drill`: lists scenarios; `drill NAME`: sets up the fault, runs the runbook headless, debriefs. */
export async function drillCommand(globals: GlobalOptions, out: Output, name: string | undefined, flags: DrillFlags, signal: AbortSignal): Promise<number> {
  const settings = settingsFrom(globals);
  if (flags.debrief) {
    const debrief = await redebrief(settings, await operatorFrom(), flags.debrief);
    return printDebrief(out, debrief);
  }
  if (flags.listRuns) {
    const dir = path.join(settings.statePath, 'drills');
    const states = (fs.existsSync(dir) ? fs.readdirSync(dir) : [])
      .map((id) => {
        try {
          return JSON.parse(fs.readFileSync(path.join(dir, id, 'drill.json'), 'utf8')) as DrillState;
        } catch {
          return undefined;
        }
      })
      .filter((s): s is DrillState => s !== undefined)
      .sort((a, b) => a.startedAt.localeCompare(b.startedAt));
    out.result({ drills: states.map(({ debrief, ...s }) => ({ ...s, passed: debrief?.passed ?? null })) }, () =>
      states.length === 0 ? 'no drills yet' : states.map((s) => `${s.id}  ${s.debrief ? (s.debrief.passed ? 'PASSED' : 'NOT PASSED') : 'unfinished'}  on ${s.target}`),
    );
    return ExitCode.ok;
  }
  if (!name) {
    const { scenarios, errors } = loadScenarios(settings);
    out.result(
      { scenarios: scenarios.map(({ scenario, file }) => ({ name: scenario.name, title: scenario.title, runbook: scenario.runbook, fault: scenario.fault.type, sandbox_only: isDestructiveFault(scenario.fault), file })), errors: errors.map((e) => e.message) },
      () => [
        ...scenarios.map(({ scenario }) => `${scenario.name.padEnd(26)} ${scenario.title} (runbook ${scenario.runbook}, fault ${scenario.fault.type}${isDestructiveFault(scenario.fault) ? ', sandbox only' : ''})`),
        ...errors.map((e) => `INVALID ${e.message}`),
      ],
    );
    return errors.length ? ExitCode.badInput : ExitCode.ok;
  }

  const onFailure = (flags.onFailure ?? 'abort') as HeadlessAnswers['onFailure'];
  if (!['abort', 'retry', 'skip', 'switch'].includes(onFailure)) throw new MutxError('usage', `--on-failure must be abort, retry, skip or switch, not "${String(flags.onFailure).slice(0, 20)}"`);
  if (onFailure === 'skip' && !flags.skipReason) throw new MutxError('usage', '--on-failure skip needs --skip-reason TEXT (it goes into the audit trail)');
  const loaded = findScenario(settings, name);
  const envName = flags.env ?? globals.env;
  // On a real environment the target is that environment; otherwise the sandbox (started if needed).
  const real = envName || globals.databaseUrl ? await coreContextFrom({ ...globals, env: envName }) : undefined;
  const session = await prepareDrill({
    settings,
    operator: await operatorFrom(),
    loaded,
    realTarget: real ? { target: real.target, environment: real.target.environment ? settings.environments[real.target.environment] : undefined } : undefined,
    onProgress: (p) => out.progress(`drill: ${p.message}`),
  });
  const json = Boolean(globals.json);
  if (!json) {
    process.stdout.write(`DRILL ${loaded.scenario.name} (${session.state.id}) on ${session.state.target}\n${loaded.scenario.briefing.trim()}\n`);
    for (const note of session.state.faultNotes) process.stdout.write(`  fault: ${note.what}\n`);
  }
  let debrief: Debrief;
  try {
    const input = new HeadlessInput({ yes: Boolean(flags.yes), confirm: flags.confirm, onFailure, skipReason: flags.skipReason });
    await runFollowingSwitches(
      { loaded: session.runbook, ctx: { ...session.ctx, signal }, environment: session.environment, drill: true, input, onEvent: eventPrinter(json), signal, preset: session.preset },
      session.preset,
      (result) => session.recordRun(result),
    );
  } finally {
    debrief = await session.finish();
  }
  return printDebrief(out, debrief);
}

function printDebrief(out: Output, debrief: Debrief): number {
  out.result({ debrief }, () => ['', ...debriefLines(debrief)]);
  return debrief.passed ? ExitCode.ok : ExitCode.checkFailed;
}
