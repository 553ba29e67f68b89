import type { EnvironmentSettings } from '../core/config';
import { MutxError, oneLine } from '../core/errors';
import { openClient, versionNames, type CoreContext } from '../core/migrations/operations';
import { readVersionRows } from '../core/migrations/versionTable';
import type { FailureOffer, Step } from './schema';
import type { InputProvider, InputRequest, InputResponse, RunEndState, RunEvent, RunOutcome, StepSummary } from './events';
import { latestVerifiedBackup, listBackups } from '../core/backup';
import type { LoadedRunbook } from './loader';
import { claimRun } from './runLock';
import { loadRunState, newRunId, saveRunState, type RunState, type StepState } from './state';
import { classifyFailure, describeFailureState, offersFor, retryCannotPass } from './failureOffers';
import { buildPlan, planFlag, planRequest } from './plan';
import type { Target } from '../core/connection';
import { findRunbook } from './loader';
import { readPartialMigrations } from '../core/migrations/ledger';
import { blockingSessionsOf, waitForBlockers } from '../core/migrations/blockerWait';
import { changesSomething, isDestructive, previewStep, recheckStep, runStep, type StepContext } from './steps/index';
import { registerUrlFromEnv } from './steps/context';

export interface RunOptions {
  loaded: LoadedRunbook;
  ctx: CoreContext;
  environment?: EnvironmentSettings;
  drill?: boolean;
  resume?: RunState;
  input: InputProvider;
  onEvent: (event: RunEvent) => void;
  signal?: AbortSignal;
  /** Preset answers, e.g. a revision picked on the History screen or --target on the command line. */
  preset?: { selectedRevision?: string; selectedBackup?: string; logSource?: string; logDurationSeconds?: number };
}

export interface RunResult {
  runId: string;
  outcome: RunOutcome;
  switchTo?: string;
  message: string;
}

import { NeedsOperator } from './needsOperator';

export { NeedsOperator };

const DEFAULT_OFFERS: FailureOffer[] = ['retry', 'skip', 'abort'];

/**
 * Runs a runbook step by step through the core. Every transition is saved (resumable) and
 * audited with the run id; the caller sees one typed event stream and answers InputRequests.
 */
export async function runRunbook(options: RunOptions): Promise<RunResult> {
  const { loaded, ctx, input, onEvent } = options;
  const { runbook } = loaded;
  const environmentName = ctx.target.environment;
  if (runbook.environments && environmentName && !runbook.environments.includes(environmentName)) {
    throw new MutxError('runbook', `runbook ${runbook.name} may not run on environment "${environmentName}" (allowed: ${runbook.environments.join(', ')})`, { hint: 'choose another environment or runbook' });
  }
  // Webhook and health-check URLs are secrets from the first step on (a command may print them).
  for (const step of runbook.steps) registerUrlFromEnv(step.type === 'notify' ? step.webhook_env : step.type === 'http-check' ? step.url_env : undefined);
  const signal = options.signal ?? new AbortController().signal;
  const runId = options.resume?.id ?? newRunId(runbook.name);
  // One live process per run: a second `run --resume` of a run still going elsewhere stops here (exit 4).
  const claim = claimRun(ctx.settings, runId, ctx.operator.name);
  try {
    return await runClaimed(options, runId, signal);
  } finally {
    claim.release();
  }
}

async function runClaimed(options: RunOptions, runId: string, signal: AbortSignal): Promise<RunResult> {
  const { loaded, ctx, input, onEvent } = options;
  const { runbook } = loaded;
  const environmentName = ctx.target.environment;
  let state: RunState;
  const resumed = Boolean(options.resume);
  if (options.resume) {
    // Read again now that this process owns the run: the state the caller loaded may predate the
    // last steps of a process that was still running it.
    state = loadRunState(ctx.settings, runId);
    if (state.status === 'discarded') throw new MutxError('usage', `run ${state.id} was discarded${state.message ? ` (${state.message})` : ''}: it is not resumed`, { hint: 'start a new run' });
    if (state.runbookChecksum !== loaded.checksum) {
      throw new MutxError('runbook', `${loaded.file} changed since run ${state.id} started`, { hint: 'start a new run, or restore the runbook file the run started with' });
    }
    if (state.target !== ctx.target.redacted) {
      throw new MutxError('runbook', `run ${state.id} was started on ${state.target}, not ${ctx.target.redacted}`, { hint: 'resume it against the same database' });
    }
    state.pid = process.pid;
    state.status = 'running';
    // Time has passed and the database may have moved: a resumed run shows its plan and asks again.
    state.vars.planConfirmed = undefined;
    // Answers given now (e.g. --logs-duration, --target on resume) take effect for the remaining steps.
    for (const [key, value] of Object.entries(options.preset ?? {})) {
      if (value !== undefined) (state.vars as Record<string, unknown>)[key] = value;
    }
  } else {
    state = {
      id: runId,
      runbook: runbook.name,
      runbookFile: loaded.file,
      runbookChecksum: loaded.checksum,
      environment: environmentName,
      target: ctx.target.redacted,
      drill: Boolean(options.drill),
      status: 'running',
      currentStep: 0,
      steps: runbook.steps.map((step) => ({ id: step.id, status: 'pending' })),
      vars: { ...options.preset },
      startedAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
      pid: process.pid,
      operator: ctx.operator.name,
    };
  }
  const runCtx: CoreContext = { ...ctx, runId: state.id, drill: state.drill, signal };
  const save = () => saveRunState(ctx.settings, state);
  const audit = (action: string, details: Record<string, unknown>) =>
    ctx.audit.append({ action, phase: 'event', target: ctx.target.redacted, run_id: state.id, drill: state.drill, details: { runbook: runbook.name, ...details } });

  if (!state.vars.startRevisions) state.vars.startRevisions = await readStartRevisions(runCtx);
  save();
  const operation = ctx.audit.begin({ action: 'run', target: ctx.target.redacted, run_id: state.id, drill: state.drill, args: { runbook: runbook.name, resumed, environment: environmentName } });
  onEvent({
    type: 'run-started',
    runId: state.id,
    runbook: runbook.name,
    title: runbook.title,
    environment: environmentName,
    target: ctx.target.redacted,
    protected: ctx.target.protected,
    drill: state.drill,
    resumed,
    startRevisions: state.vars.startRevisions,
    steps: runbook.steps.map((step): StepSummary => ({ id: step.id, title: step.title, type: step.type, text: step.text, destructive: isDestructive(step) })),
  });

  const ask = async (stepId: string, request: InputRequest): Promise<InputResponse> => {
    onEvent({ type: 'needs-input', stepId, request });
    const response = await input.ask(stepId, request, signal);
    onEvent({ type: 'input-received', stepId, response });
    return response;
  };

  const contextFor = (index: number): StepContext => {
    const step = runbook.steps[index]!;
    return {
      steps: runbook.steps,
      ctx: runCtx,
      environment: options.environment,
      state,
      stepState: state.steps[index]!,
      signal,
      emit: (event) => onEvent(event),
      ask: (request) => ask(step.id, request),
      save,
    };
  };

  // Every run starts with its plan: the target and what each step will concretely do.
  onEvent({ type: 'plan', runId: state.id, target: ctx.target.redacted, steps: await buildPlan(runbook.steps, state.steps, contextFor) });

  /**
   * Before the first step that changes anything: the remaining plan, recomputed now (a target
   * chosen meanwhile is concrete), confirmed once — typed name, `y`, or Enter on the sandbox.
   */
  const confirmPlan = async (index: number): Promise<string | undefined> => {
    const step = runbook.steps[index]!;
    const request = planRequest(ctx.target, await buildPlan(runbook.steps, state.steps, contextFor, index), step);
    const response = await ask(step.id, request);
    const typed = response.kind === 'plan' ? response.typed : undefined;
    const ok = response.kind === 'plan' && response.ok && (request.mode !== 'typed' || typed === request.expected);
    if (!ok) {
      audit('run.plan', { status: 'declined', step: step.id });
      const why = response.kind === 'plan' && response.ok ? `"${(typed ?? '').slice(0, 40)}" does not match the database name "${request.expected}"` : 'the plan was not confirmed';
      return `${why}: nothing was changed (stopped before "${step.title}")`;
    }
    state.vars.planConfirmed = { mode: request.mode, at: new Date().toISOString(), step: step.id };
    save();
    audit('run.plan', { status: 'confirmed', mode: request.mode, step: step.id });
    return undefined;
  };

  const finish = async (outcome: RunOutcome, message: string, switchTo?: string): Promise<RunResult> => {
    const where = await endState(runCtx, state);
    state.status = outcome === 'completed' ? 'completed' : outcome === 'switched' ? 'switched' : outcome === 'paused' ? 'waiting' : outcome === 'aborted' ? 'aborted' : 'failed';
    state.switchTo = switchTo;
    state.message = message;
    save();
    const auditOutcome = outcome === 'completed' || outcome === 'switched' ? 'ok' : outcome === 'paused' ? 'interrupted' : outcome === 'aborted' ? 'cancelled' : 'failed';
    operation.end(auditOutcome, { details: { runbook: runbook.name, outcome, switchTo, message } });
    onEvent({ type: 'run-finished', runId: state.id, outcome, switchTo, message, where });
    return { runId: state.id, outcome, switchTo, message };
  };

  try {
    for (let index = state.currentStep; index < runbook.steps.length; index++) {
      const step = runbook.steps[index]!;
      const stepState = state.steps[index]!;
      state.currentStep = index;
      if (stepState.status === 'done' || stepState.status === 'skipped') continue;
      const stepCtx = contextFor(index);
      if (!state.vars.planConfirmed && changesSomething(step, options.environment)) {
        try {
          const declined = await confirmPlan(index);
          if (declined) return finish('aborted', declined);
        } catch (error) {
          if (!(error instanceof NeedsOperator)) throw error;
          audit('run.plan', { status: 'waiting', step: step.id });
          const request = error.request as Extract<InputRequest, { kind: 'plan' }>;
          return finish('paused', `paused before "${step.title}", the first step that changes anything: the plan needs confirming (${request.flag}); resume with \`mutx-ops run --resume ${state.id} ${request.flag}\``);
        }
      }
      const wasMidway = stepState.status === 'running' || stepState.status === 'waiting';
      let attempt = 0;
      for (;;) {
        attempt++;
        if (signal.aborted) return finish('aborted', 'cancelled by the operator');
        const startedAt = Date.now();
        stepState.status = 'running';
        // A step resumed mid-way keeps its first start: the re-check looks for work done since then (e.g. its backup).
        if (!(wasMidway && attempt === 1 && stepState.startedAt)) stepState.startedAt = new Date(startedAt).toISOString();
        stepState.attempts = (stepState.attempts ?? 0) + 1;
        save();
        audit('run.step', { step: step.id, status: 'started', attempt });
        // Where a migration step found the database: a failure is judged against it (what was applied?).
        const rowsBefore = step.type === 'migrate' || step.type === 'reconcile' ? await readStartRevisions(runCtx).catch(() => undefined) : undefined;
        try {
          const preview = await previewStep(step, stepCtx).catch((error: unknown) => [`(preview unavailable: ${oneLine(error)})`]);
          onEvent({ type: 'step-started', stepId: step.id, index, total: runbook.steps.length, title: step.title, stepType: step.type, preview });
          const outcome = (wasMidway && attempt === 1 ? await recheckStep(step, stepCtx) : undefined) ?? (await runStep(step, stepCtx));
          if (outcome.skipped !== undefined) {
            stepState.status = 'skipped';
            stepState.skipReason = outcome.skipped;
            stepState.finishedAt = new Date().toISOString();
            save();
            audit('run.step', { step: step.id, status: 'skipped', reason: outcome.skipped });
            onEvent({ type: 'step-skipped', stepId: step.id, reason: outcome.skipped });
          } else {
            stepState.status = 'done';
            stepState.summary = outcome.summary;
            stepState.finishedAt = new Date().toISOString();
            save();
            audit('run.step', { step: step.id, status: 'done', summary: outcome.summary, duration_ms: Date.now() - startedAt });
            onEvent({ type: 'step-finished', stepId: step.id, summary: outcome.summary, durationMs: Date.now() - startedAt });
          }
          break;
        } catch (error) {
          if (error instanceof NeedsOperator) {
            stepState.status = 'waiting';
            save();
            audit('run.step', { step: step.id, status: 'waiting', request: error.request.kind });
            return finish('paused', `step "${step.title}" needs the operator (${describeRequest(error.request)}); resume with \`mutx-ops run --resume ${state.id}${answeringFlag(error.request, ctx.target)}\` or in the app`);
          }
          const message = oneLine(error);
          stepState.status = 'failed';
          stepState.error = message;
          save();
          audit('run.step', { step: step.id, status: 'failed', error: message });
          if (signal.aborted) {
            onEvent({ type: 'step-failed', stepId: step.id, error: message, offers: [] });
            return finish('aborted', `cancelled by the operator during "${step.title}": ${message}`);
          }
          const after = await readDatabaseState(runCtx);
          const failureState = classifyFailure(step, { error, rowsBefore, rowsAfter: after?.rows, halfApplied: after?.halfApplied ?? 0 });
          // A lock timeout with nothing applied names the session(s) in the way: "wait" until they are gone, then retry.
          const blockers = failureState === 'nothing-applied' && (step.type === 'migrate' || step.type === 'reconcile') ? blockingSessionsOf(error) : [];
          const offers = withWaitOffer(
            offersFor(step.on_failure ?? DEFAULT_OFFERS, failureState, (name) => {
              try {
                return findRunbook(ctx.settings.runbooksPath, name);
              } catch {
                return undefined;
              }
            }).filter((offer) => offer !== 'retry' || !retryCannotPass(error)),
            blockers.length > 0,
          );
          if (step.type === 'migrate' || step.type === 'reconcile' || failureState === 'half-applied') onEvent({ type: 'output', stepId: step.id, line: describeFailureState(failureState), stream: 'info' });
          onEvent({ type: 'step-failed', stepId: step.id, error: message, offers });
          let response: InputResponse;
          try {
            response = await ask(step.id, { kind: 'failure', error: message, offers });
          } catch (askError) {
            // Headless never pauses here (it answers from --on-failure); the app's `q` does: resuming retries the step.
            if (askError instanceof NeedsOperator) return finish('paused', `step "${step.title}" failed: ${message}; paused — resume with \`mutx-ops run --resume ${state.id}\` or from the app's home to retry it`);
            throw askError;
          }
          const choice = response.kind === 'failure' ? response.choice : 'abort';
          if (choice === 'wait' && blockers.length) {
            audit('run.step', { step: step.id, status: 'wait', blockers: blockers.map((b) => b.pid) });
            onEvent({ type: 'output', stepId: step.id, line: `waiting for ${blockers.map((b) => b.description).join('; ')} to end, then retrying (nothing is terminated; x stops the run)`, stream: 'info' });
            const waited = await waitForBlockers(runCtx, blockers, {
              signal,
              onProgress: (still, waitedMs) => onEvent({ type: 'progress', stepId: step.id, progress: { kind: 'blocker-wait', blockers: still.map((b) => b.description), waitedMs } }),
            });
            if (signal.aborted) return finish('aborted', `cancelled by the operator while waiting for the blocking session(s) of "${step.title}"`);
            onEvent({ type: 'output', stepId: step.id, line: waited.ended ? `the blocking session(s) ended after ${Math.round(waited.waitedMs / 1000)} s: retrying` : `still blocked after ${Math.round(waited.waitedMs / 60_000)} min: retrying once more`, stream: 'info' });
            audit('run.step', { step: step.id, status: 'retry', after: 'wait', ended: waited.ended });
            continue;
          }
          if (choice === 'retry') {
            audit('run.step', { step: step.id, status: 'retry' });
            continue;
          }
          if (choice === 'skip') {
            let reason = response.kind === 'failure' ? response.reason : undefined;
            while (!reason?.trim()) {
              const answer = await ask(step.id, { kind: 'skip-reason', prompt: `Why skip "${step.title}"? (recorded in the audit trail)` });
              reason = answer.kind === 'skip-reason' ? answer.reason : undefined;
            }
            stepState.status = 'skipped';
            stepState.skipReason = `${reason!.trim()} (after failure: ${message})`;
            save();
            audit('run.step', { step: step.id, status: 'skipped', reason: stepState.skipReason });
            onEvent({ type: 'step-skipped', stepId: step.id, reason: stepState.skipReason });
            break;
          }
          if (typeof choice === 'object') {
            audit('run.switch', { step: step.id, to: choice.switch });
            return finish('switched', `"${step.title}" failed (${message}); switching to runbook ${choice.switch}`, choice.switch);
          }
          return finish('failed', `aborted at "${step.title}": ${message}`);
        }
      }
    }
    // A run that got through only by skipping failed steps says so: it is not a plain success.
    const skippedAfterFailure = runbook.steps.filter((_step, i) => state.steps[i]?.status === 'skipped' && state.steps[i]?.skipReason?.includes('(after failure:'));
    if (skippedAfterFailure.length) return finish('completed', `runbook ${runbook.name} completed with ${skippedAfterFailure.length} failed step(s) skipped: ${skippedAfterFailure.map((s) => `"${s.title}"`).join(', ')}`);
    return finish('completed', `runbook ${runbook.name} completed`);
  } catch (error) {
    if (error instanceof NeedsOperator) return finish('paused', 'needs the operator');
    await finish(signal.aborted ? 'aborted' : 'failed', oneLine(error));
    throw error;
  }
}

/** "wait" is offered (after retry) exactly when there is a blocking session to wait for. */
function withWaitOffer(offers: FailureOffer[], canWait: boolean): FailureOffer[] {
  const without = offers.filter((offer) => offer !== 'wait');
  if (!canWait) return without.length ? without : ['abort'];
  const at = without.indexOf('retry');
  return at >= 0 ? [...without.slice(0, at + 1), 'wait', ...without.slice(at + 1)] : ['wait', ...without];
}

/** The flag that answers a question headless, for the pause hint (never a generic one that would not). */
function answeringFlag(request: InputRequest, target: Target): string {
  switch (request.kind) {
    case 'typed-confirmation':
      return ` --confirm ${request.expected}`;
    case 'plan':
      return ` ${request.flag}`;
    case 'review':
      return request.acknowledge ? ` --confirm ${request.acknowledge.expected} --acknowledge REASON` : ' --yes';
    case 'select-target':
      return request.prompt ? ` ${planFlag(target)} --target REV` : ' --target REV (or --backup FILE)';
    case 'skip-reason':
      return ' --skip-reason TEXT';
    case 'confirm':
      return request.explicit === 'on-broken-downgrade' ? ` ${planFlag(target)} --on-broken-downgrade restore` : ' --yes';
    default:
      return ' --yes';
  }
}

function describeRequest(request: InputRequest): string {
  switch (request.kind) {
    case 'confirm':
      // A question only an explicit flag answers names what it would do by hand too.
      return request.explicit ? `${request.prompt} — ${request.detail?.at(-1) ?? ''}` : request.prompt;
    case 'checklist-item':
      return `checklist item "${request.label}"`;
    case 'typed-confirmation':
      return `type "${request.expected}" to confirm: ${request.prompt}`;
    case 'failure':
      return request.error;
    case 'skip-reason':
      return request.prompt;
    case 'select-target':
      return request.prompt ? `${request.prompt} ${request.options.map((o) => `--target ${o.value}`).join(' or ')}` : 'choose a revision or backup (--target REV or --backup FILE)';
    case 'logs-watch':
      return request.prompt;
    case 'review':
      return request.acknowledge ? `${request.title}: ${request.counts.error} error-level finding(s) — ${request.acknowledge.prompt}` : `${request.title}: ${request.headline}`;
    case 'plan':
      return `confirm the plan before "${request.firstChange}"`;
  }
}

/** After a failure: the version rows and how many migrations are half-applied (undefined when the database does not answer). */
async function readDatabaseState(ctx: CoreContext): Promise<{ rows: string[]; halfApplied: number } | undefined> {
  try {
    const client = await openClient(ctx);
    try {
      const names = versionNames(ctx.settings);
      return { rows: await readVersionRows(client, names), halfApplied: (await readPartialMigrations(client, names).catch(() => [])).length };
    } finally {
      await client.end().catch(() => {});
    }
  } catch {
    return undefined;
  }
}

/** The end-of-run summary's facts: the revision now (read again) and the backup to go back to. */
async function endState(ctx: CoreContext, state: RunState): Promise<RunEndState> {
  const rows = await readDatabaseState({ ...ctx, signal: undefined });
  let backup: RunEndState['backup'];
  try {
    const taken = state.vars.runBackup ? listBackups(ctx.settings).find((b) => b.file === state.vars.runBackup) : undefined;
    const record = taken ?? latestVerifiedBackup(ctx.settings, ctx.target, Number.POSITIVE_INFINITY);
    if (record) backup = { file: record.file, revisions: record.revisions, verified: record.verified?.ok === true, takenInRun: record === taken };
  } catch {
    backup = undefined;
  }
  return { revisions: rows?.rows, startRevisions: state.vars.startRevisions, backup };
}

async function readStartRevisions(ctx: CoreContext): Promise<string[]> {
  const client = await openClient(ctx);
  try {
    // Unknown rows are allowed here: the not-up-to-date runbook exists to stamp them away.
    return await readVersionRows(client, versionNames(ctx.settings));
  } finally {
    await client.end().catch(() => {});
  }
}

export type { StepState, Step };
