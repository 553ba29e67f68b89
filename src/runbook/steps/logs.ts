import { redactSecrets } from '../../core/connection';
import { MutxError } from '../../core/errors';
import { compareErrorRates, followLog, parseLogSource, type LogStats } from '../../core/logs';
import { info, type StepContext, type StepHandler, type StepOf, type StepOutcome } from './context';

const MAX_PRINTED_MATCHES = 200;

async function runLogsStep(step: StepOf<'logs'>, c: StepContext): Promise<StepOutcome> {
  const spec = c.state.vars.logSource ?? step.source ?? c.environment?.log_source;
  if (!spec) throw new MutxError('config', 'no log source: set log_source for the environment in mutx-ops.yaml (a file, or cmd: + command)', { hint: 'or skip this step with a reason' });
  const durationMs = (c.state.vars.logDurationSeconds ?? step.duration_seconds) * 1000;
  const watch = new AbortController();
  const onAbort = () => watch.abort();
  c.signal.addEventListener('abort', onAbort, { once: true });
  let printed = 0;
  let breach: string | undefined;
  let last: LogStats | undefined;
  const follower = followLog({
    source: parseLogSource(spec),
    filter: step.filter,
    cwd: c.ctx.settings.root,
    signal: watch.signal,
    onEvent: (event) => {
      if (event.type === 'line' && event.matched) {
        if (printed < MAX_PRINTED_MATCHES) c.emit({ type: 'output', stepId: step.id, line: redactSecrets(event.text), stream: 'match' });
        printed++;
      } else if (event.type === 'stats') {
        last = event.stats;
        c.emit({ type: 'progress', stepId: step.id, progress: { kind: 'logs', matched: event.stats.matchedLines, lines: event.stats.totalLines, matchesLastMinute: event.stats.matchesLastMinute, elapsedMs: event.stats.elapsedMs, durationMs } });
        if (step.max_matches_per_minute !== undefined && event.stats.matchesLastMinute > step.max_matches_per_minute) {
          breach = `${event.stats.matchesLastMinute} lines matching /${step.filter}/i in the last minute (threshold ${step.max_matches_per_minute}/min)`;
          watch.abort();
        }
      } else if (event.type === 'rotated') {
        info(c, `log rotated (${event.how}); following the new file`);
      } else if (event.type === 'error') {
        info(c, `log source: ${event.message}`);
      }
    },
  });
  const timer = setTimeout(() => watch.abort(), durationMs);
  if (step.until_operator) {
    // The TUI may end the watch early; a headless provider cannot, which is fine.
    c.ask({ kind: 'logs-watch', prompt: 'Press enter when satisfied with what the log shows' }).then(
      () => watch.abort(),
      () => {},
    );
  }
  const summary = await follower.done;
  clearTimeout(timer);
  c.signal.removeEventListener('abort', onAbort);
  const stats = summary.stats ?? last;
  if (c.signal.aborted) throw new MutxError('runbook', 'log watch cancelled by the operator');
  if (summary.reason === 'failed') throw new MutxError('runbook', `cannot follow ${spec}: ${summary.lastError ?? 'unknown error'}`);
  if (breach) throw new MutxError('runbook', `error threshold crossed: ${breach}`, { hint: 'the migration may have broken the application: consider the emergency rollback' });
  const baselines = (c.state.vars.logBaselines ??= {});
  const earlier = Object.values(baselines)[0];
  const perMinute = stats.elapsedMs > 0 ? (stats.matchedLines * 60_000) / stats.elapsedMs : 0;
  baselines[step.id] = { perMinute, windowMs: stats.elapsedMs, matched: stats.matchedLines };
  c.save();
  let comparison = '';
  if (earlier) {
    comparison = `; ${compareErrorRates(fakeStats(earlier), stats).text}`;
  }
  return { summary: `${stats.totalLines} line(s) read, ${stats.matchedLines} matching /${step.filter}/i over ${(stats.elapsedMs / 1000).toFixed(0)} s${comparison}` };
}

/** A stored baseline as the LogStats shape compareErrorRates reads. */
function fakeStats(baseline: { perMinute: number; windowMs: number; matched: number }): LogStats {
  return { startedAt: 0, at: baseline.windowMs, elapsedMs: baseline.windowMs, totalLines: 0, matchedLines: baseline.matched, truncatedLines: 0, bytesRead: 0, matchesLastMinute: 0, linesLastMinute: 0, perMinute: [], rotations: 0 };
}

export const logsStep: StepHandler<'logs'> = {
  run: runLogsStep,
  preview: (step, c) => {
    const source = c.state.vars.logSource ?? step.source ?? c.environment?.log_source;
    return [`follow ${source ?? '(no log source configured)'} for ${c.state.vars.logDurationSeconds ?? step.duration_seconds}s, filter /${step.filter}/i${step.max_matches_per_minute !== undefined ? `, fail above ${step.max_matches_per_minute} matches/min` : ''}`];
  },
};
