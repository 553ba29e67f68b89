import { AuditTrail, type AuditRecord } from '../core/audit';
import { ExitCode, MutxError } from '../core/errors';
import { countMatches, followLog, parseLogSource } from '../core/logs';
import { runRunbook, type RunOptions, type RunResult } from '../runbook/engine';
import type { RunEvent } from '../runbook/events';
import { HeadlessInput, type HeadlessAnswers } from '../runbook/headless';
import { findRunbook } from '../runbook/loader';
import { planLines } from '../runbook/plan';
import { databaseOfUrl, endSummary } from '../runbook/endSummary';

export { loadRunbooks } from '../runbook/loader';
export { isInterrupted, listRuns, loadRunState } from '../runbook/state';
import { loadRunState } from '../runbook/state';
import { formatBytes } from '../core/backup';
import { coreContextFrom, operatorFrom, settingsFrom, type GlobalOptions } from './context';
import { formatDuration, type Output } from './output';

/** One line per event, for a terminal log, a CI job or a Kubernetes Job. */
export function eventPrinter(json: boolean) {
  const lastProgress = new Map<string, number>();
  let started: Extract<RunEvent, { type: 'run-started' }> | undefined;
  return (event: RunEvent) => {
    if (json) {
      process.stdout.write(`${JSON.stringify(event)}\n`);
      return;
    }
    const out = (line: string) => process.stdout.write(`${line}\n`);
    switch (event.type) {
      case 'run-started':
        started = event;
        out(`run ${event.runId}: ${event.title} on ${event.target}${event.environment ? ` [${event.environment}${event.protected ? ', PROTECTED' : ''}]` : ''}${event.drill ? ' [DRILL]' : ''}${event.resumed ? ' (resumed)' : ''}`);
        break;
      case 'plan':
        out(`plan of run ${event.runId} on ${event.target}:`);
        for (const line of planLines(event.steps)) out(`  ${line}`);
        break;
      case 'step-started':
        out(`[${event.index + 1}/${event.total}] ${event.title}`);
        for (const line of event.preview) out(`    → ${line}`);
        break;
      case 'output':
        out(`    ${event.stream === 'match' ? '!' : event.stream === 'stderr' ? '¦' : '|'} ${event.line}`);
        break;
      case 'progress': {
        const now = Date.now();
        if (now - (lastProgress.get(event.stepId) ?? 0) < 2000) break;
        lastProgress.set(event.stepId, now);
        const p = event.progress;
        if (p.kind === 'backup') out(`    … ${formatBytes(p.bytes)} written, ${p.tablesDone}/${p.tablesTotal} tables, ${formatBytes(p.rateBytesPerSec)}/s${p.etaSeconds !== undefined ? `, ETA ${Math.ceil(p.etaSeconds)} s` : ''}`);
        else if (p.kind === 'migration') out(`    … ${p.direction} ${p.index}/${p.total} ${p.revision} (${formatDuration(p.elapsedMs)}${p.expectedMs !== undefined ? `; expected ~${formatDuration(p.expectedMs)}, rehearsed` : ''})`);
        else if (p.kind === 'logs') out(`    … ${p.lines} lines, ${p.matched} matching, ${p.matchesLastMinute}/min (${Math.round(p.elapsedMs / 1000)}/${Math.round(p.durationMs / 1000)} s)`);
        else if (p.kind === 'blocker-wait') out(`    … waiting for ${p.blockers.join('; ')} to end (${formatDuration(p.waitedMs)}), then retry`);
        else if (p.kind === 'lock-wait') out(`    … waiting for the migration lock held by ${p.holder ?? 'another session'}`);
        break;
      }
      case 'needs-input':
        // A review is read in full before it is answered: its SQL and findings, line by line.
        if (event.request.kind === 'review') for (const line of event.request.lines) out(`    │ ${line.text}`);
        if (event.request.kind === 'confirm') for (const line of event.request.detail ?? []) out(`    │ ${line}`);
        if (event.request.kind !== 'logs-watch') out(`    ? ${describe(event.request)}`);
        break;
      case 'input-received':
        break;
      case 'step-finished':
        out(`    ✔ ${event.summary} (${formatDuration(event.durationMs)})`);
        break;
      case 'step-skipped':
        out(`    ⏭ skipped: ${event.reason}`);
        break;
      case 'step-failed':
        out(`    ✖ ${event.error}`);
        break;
      case 'run-finished':
        out(`run ${event.runId} ${event.outcome}: ${event.message}`);
        // Where the database is now, where its backup is, what to run next.
        if (started) for (const line of endSummary({ runId: event.runId, outcome: event.outcome, where: event.where, drill: started.drill, environment: started.environment, database: databaseOfUrl(started.target), protected: started.protected })) out(`  ${line.label.padEnd(9)}${line.text}`);
        break;
    }
  };
}

function describe(request: import('../runbook/events').InputRequest): string {
  switch (request.kind) {
    case 'confirm':
      return request.prompt;
    case 'checklist-item':
      return `[${request.index + 1}/${request.total}] ${request.label}`;
    case 'typed-confirmation':
      return `${request.prompt} (expects "${request.expected}")`;
    case 'failure':
      return `failed — options: ${request.offers.map((o) => (typeof o === 'string' ? o : `switch to ${o.switch}`)).join(', ')}`;
    case 'skip-reason':
      return request.prompt;
    case 'select-target':
      return request.prompt ? `${request.prompt} ${request.options.map((o) => `--target ${o.value}`).join(' or ')}` : `choose one of ${request.options.length} revisions/backups (--target REV or --backup FILE)`;
    case 'logs-watch':
      return request.prompt;
    case 'review':
      return request.acknowledge ? `${request.title}: ${request.counts.error} error-level finding(s): ${request.acknowledge.prompt} (--confirm ${request.acknowledge.expected} --acknowledge REASON)` : `${request.title}: ${request.headline} (--yes once read)`;    case 'plan':
      return request.mode === 'typed'
        ? `confirm the plan above before "${request.firstChange}" on ${request.target}: pass --confirm ${request.expected} (--yes is not enough on a protected environment)`
        : `confirm the plan above before "${request.firstChange}" on ${request.target}: pass --yes`;
  }
}

export function exitFor(result: RunResult): number {
  if (result.outcome === 'completed') return ExitCode.ok;
  if (result.outcome === 'paused') return ExitCode.needsOperator;
  return ExitCode.failed;
}

export interface RunFlags {
  env?: string;
  yes?: boolean;
  confirm?: string;
  onFailure?: string;
  skipReason?: string;
  acknowledge?: string;
  onBrokenDowngrade?: string;
  resume?: string;
  drill?: boolean;
  target?: string;
  backup?: string;
  logSource?: string;
  logsDuration?: string;
}

export async function headlessRun(globals: GlobalOptions, name: string | undefined, flags: RunFlags, signal: AbortSignal): Promise<number> {
  const onFailure = (flags.onFailure ?? 'abort') as HeadlessAnswers['onFailure'];
  if (!['abort', 'retry', 'skip', 'switch', 'wait'].includes(onFailure)) throw new MutxError('usage', `--on-failure must be abort, retry, skip, switch or wait, not "${String(flags.onFailure).slice(0, 20)}"`);
  const onBrokenDowngrade = flags.onBrokenDowngrade as HeadlessAnswers['onBrokenDowngrade'];
  if (onBrokenDowngrade !== undefined && !['restore', 'stop'].includes(onBrokenDowngrade)) throw new MutxError('usage', `--on-broken-downgrade must be restore or stop, not "${String(flags.onBrokenDowngrade).slice(0, 20)}"`);
  if (onFailure === 'skip' && !flags.skipReason) throw new MutxError('usage', '--on-failure skip needs --skip-reason TEXT (it goes into the audit trail)');
  // A resumed run goes back to the environment it started on unless told otherwise.
  const resume = flags.resume ? loadRunState(settingsFrom(globals), flags.resume) : undefined;
  const ctx = await coreContextFrom({ ...globals, env: flags.env ?? globals.env ?? resume?.environment }, { signal });
  const environment = ctx.target.environment ? ctx.settings.environments[ctx.target.environment] : undefined;
  let runbookName = resume?.runbook ?? name;
  if (!runbookName) throw new MutxError('usage', 'name a runbook, or --resume RUN_ID', { hint: '`mutx-ops runbooks` lists them' });
  const logDurationSeconds = flags.logsDuration === undefined ? undefined : Number(flags.logsDuration);
  if (logDurationSeconds !== undefined && !(logDurationSeconds > 0)) throw new MutxError('usage', `--logs-duration must be a positive number of seconds, not "${String(flags.logsDuration).slice(0, 20)}"`);
  const preset = { selectedRevision: flags.target, selectedBackup: flags.backup, logSource: flags.logSource, logDurationSeconds };
  const input = new HeadlessInput({ yes: Boolean(flags.yes), confirm: flags.confirm, onFailure, skipReason: flags.skipReason, acknowledge: flags.acknowledge, onBrokenDowngrade });
  const onEvent = eventPrinter(Boolean(globals.json));
  const loaded = resume ? findRunbook(ctx.settings.runbooksPath, resume.runbookFile) : findRunbook(ctx.settings.runbooksPath, runbookName);
  const result = await runFollowingSwitches({ loaded, ctx, environment, drill: flags.drill, resume, input, onEvent, signal, preset }, { logSource: flags.logSource, logDurationSeconds });
  return exitFor(result);
}

/** A failed step that offers another runbook (e.g. deploy → emergency-rollback) runs it next, up to 3 hops. */
export async function runFollowingSwitches(first: RunOptions, nextPreset: RunOptions['preset'], onResult?: (result: RunResult) => void): Promise<RunResult> {
  let result = await runRunbook(first);
  onResult?.(result);
  for (let hops = 0; result.outcome === 'switched' && result.switchTo && hops < 3; hops++) {
    const loaded = findRunbook(first.ctx.settings.runbooksPath, result.switchTo);
    result = await runRunbook({ ...first, loaded, resume: undefined, preset: nextPreset });
    onResult?.(result);
  }
  return result;
}

export function runTimelineMarkdown(runId: string, records: AuditRecord[]): string {
  const lines = [`# Run ${runId}`, ''];
  const first = records[0];
  if (first) {
    lines.push(`- Runbook: ${String((first.details as { runbook?: string } | undefined)?.runbook ?? (first.args as { runbook?: string } | undefined)?.runbook ?? '?')}`);
    lines.push(`- Target: ${first.target ?? '?'}`, `- Operator: ${first.operator}@${first.host}`, `- Started: ${first.ts}`);
    if (records.some((r) => r.drill)) lines.push('- **Drill** (practice run)');
    lines.push('');
  }
  lines.push('| Time (UTC) | Who | What | Outcome | Details |', '|---|---|---|---|---|');
  for (const r of records) {
    const details = r.details ?? {};
    const step = (details as { step?: string }).step;
    const status = (details as { status?: string }).status;
    const what = step ? `step ${step}` : `${r.action} ${r.phase}`;
    const outcome = status ?? r.outcome ?? '';
    const extra = [
      (details as { summary?: string }).summary,
      (details as { reason?: string }).reason ? `reason: ${(details as { reason?: string }).reason}` : undefined,
      (details as { error?: string }).error ?? r.error,
      r.revisions_before || r.revisions_after ? `${(r.revisions_before ?? []).join(',') || 'base'} → ${(r.revisions_after ?? []).join(',') || 'base'}` : undefined,
      r.duration_ms !== undefined ? formatDuration(r.duration_ms) : undefined,
    ]
      .filter(Boolean)
      .join('; ')
      .replace(/\|/g, '\\|');
    lines.push(`| ${r.ts.replace('T', ' ').replace(/\.\d+Z$/, '')} | ${r.operator} | ${what} | ${outcome} | ${extra} |`);
  }
  return lines.join('\n');
}

export async function logsCommand(globals: GlobalOptions, out: Output, source: string | undefined, opts: { filter: string; follow?: boolean; all?: boolean }, signal: AbortSignal): Promise<number> {
  const settings = settingsFrom(globals);
  const envName = globals.env ?? settings.default_environment;
  const spec = source ?? (envName ? settings.environments[envName]?.log_source : undefined);
  if (!spec) throw new MutxError('usage', 'no log source', { hint: 'pass a file or cmd:COMMAND, or set log_source for the environment' });
  if (!opts.follow) {
    const result = await countMatches(parseLogSource(spec), opts.filter, { cwd: settings.root, signal });
    out.result(result, () => `${result.matched} of ${result.lines} line(s) match /${opts.filter}/i`);
    return ExitCode.ok;
  }
  const follower = followLog({
    source: parseLogSource(spec),
    filter: opts.filter,
    emitAll: opts.all,
    cwd: settings.root,
    signal,
    onEvent: (event) => {
      if (event.type === 'line') process.stdout.write(globals.json ? `${JSON.stringify(event)}\n` : `${event.text}\n`);
      else if (event.type === 'stats' && !globals.json) process.stderr.write(`\r${event.stats.matchedLines} matching, ${event.stats.matchesLastMinute}/min   `);
      else if (event.type === 'rotated') out.progress(`\n(log rotated: ${event.how})`);
    },
  });
  const summary = await follower.done;
  if (!globals.json) process.stderr.write('\n');
  return summary.reason === 'failed' ? ExitCode.failed : ExitCode.ok;
}
