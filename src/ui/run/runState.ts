import type { InputRequest, InputResponse, RunEndState, RunEvent, RunOutcome, StepProgress, StepStatus } from '../../runbook/events';
import type { FailureOffer, StepType } from '../../runbook/schema';

/**
 * What the run screen shows, folded from the engine's RunEvent stream. Pure: the screen feeds
 * it batches of events (flushed on a timer), and tests feed it recorded arrays.
 */
export interface ChecklistTick {
  itemId: string;
  label: string;
  ticked: boolean;
}

export interface StepView {
  id: string;
  title: string;
  type: StepType;
  text: string;
  destructive: boolean;
  status: StepStatus;
  skipReason?: string;
  error?: string;
  summary?: string;
  durationMs?: number;
  /** What the step will do (step-started's preview): command line, SQL target, revisions. */
  preview: string[];
  progress?: StepProgress;
  /** When the step started (receipt time, epoch ms). */
  startedAt?: number;
  checklist: ChecklistTick[];
  offers?: FailureOffer[];
  attempts: number;
}

export interface OutputLine {
  seq: number;
  stepId: string;
  line: string;
  stream: 'stdout' | 'stderr' | 'info' | 'match';
}

export interface RunViewState {
  runbook: string;
  title: string;
  runId?: string;
  environment?: string;
  target?: string;
  protected: boolean;
  drill: boolean;
  resumed: boolean;
  /** Version rows when the run began (the picker marks them). */
  startRevisions?: string[];
  steps: StepView[];
  /** Index of the step that last started (-1 before the first). */
  current: number;
  /** The newest output lines, at most MAX_OUTPUT_LINES. */
  output: OutputLine[];
  outputTotal: number;
  /** The question the engine asked last and is still waiting on. */
  pending?: { stepId: string; request: InputRequest };
  finished?: { outcome: RunOutcome; message: string; switchTo?: string; where?: RunEndState };
  /** startRun itself threw (bad runbook, no database…). */
  error?: string;
}

export const MAX_OUTPUT_LINES = 400;

export interface StepSeed {
  id: string;
  status: StepStatus;
  skipReason?: string;
  error?: string;
}

export function initialRunState(runbook: string, title = runbook): RunViewState {
  return { runbook, title, protected: false, drill: false, resumed: false, steps: [], current: -1, output: [], outputTotal: 0 };
}

/** A received event and when it arrived. */
export interface Stamped {
  event: RunEvent;
  at: number;
}

/**
 * Applies a batch. Copies the state once per batch (not per event), so thousands of output
 * lines a second cost one array slice per flush.
 */
export function applyRunEvents(previous: RunViewState, batch: readonly (RunEvent | Stamped)[], seeds?: StepSeed[]): RunViewState {
  if (batch.length === 0) return previous;
  const state: RunViewState = { ...previous, steps: previous.steps.slice() };
  const touched = new Set<number>();
  const step = (id: string): StepView | undefined => {
    const index = state.steps.findIndex((s) => s.id === id);
    if (index < 0) return undefined;
    if (!touched.has(index)) {
      state.steps[index] = { ...state.steps[index]!, checklist: state.steps[index]!.checklist.slice() };
      touched.add(index);
    }
    return state.steps[index];
  };
  let output: OutputLine[] | undefined;
  for (const item of batch) {
    const { event, at } = 'event' in item ? item : { event: item, at: Date.now() };
    switch (event.type) {
      case 'run-started': {
        state.runId = event.runId;
        state.runbook = event.runbook;
        state.title = event.title;
        state.environment = event.environment;
        state.target = event.target;
        state.protected = event.protected;
        state.drill = event.drill;
        state.resumed = event.resumed;
        state.startRevisions = event.startRevisions;
        state.finished = undefined;
        state.steps = event.steps.map((summary) => {
          const seeded = (summary as { status?: StepStatus }).status ?? seeds?.find((s) => s.id === summary.id)?.status;
          const seed = seeds?.find((s) => s.id === summary.id);
          const status: StepStatus = seeded === 'done' || seeded === 'skipped' ? seeded : 'pending';
          return {
            id: summary.id,
            title: summary.title,
            type: summary.type,
            text: summary.text,
            destructive: summary.destructive,
            status,
            skipReason: status === 'skipped' ? seed?.skipReason : undefined,
            preview: [],
            checklist: [],
            attempts: 0,
          };
        });
        touched.clear();
        for (let i = 0; i < state.steps.length; i++) touched.add(i);
        break;
      }
      case 'plan': {
        // The plan's lines are each pending step's "Will do" until it starts.
        for (const planned of event.steps) {
          const s = step(planned.id);
          if (s && s.status === 'pending') s.preview = planned.lines;
        }
        break;
      }
      case 'step-started': {
        const s = step(event.stepId);
        if (!s) break;
        s.status = 'running';
        s.preview = event.preview;
        s.startedAt = at;
        s.progress = undefined;
        s.error = undefined;
        s.offers = undefined;
        s.attempts += 1;
        state.current = state.steps.findIndex((x) => x.id === event.stepId);
        break;
      }
      case 'output': {
        output ??= state.output.slice();
        output.push({ seq: state.outputTotal++, stepId: event.stepId, line: event.line, stream: event.stream });
        if (output.length > MAX_OUTPUT_LINES * 2) output = output.slice(-MAX_OUTPUT_LINES);
        break;
      }
      case 'progress': {
        const s = step(event.stepId);
        if (s) s.progress = event.progress;
        break;
      }
      case 'needs-input': {
        const s = step(event.stepId);
        // A logs watch asks "enter when satisfied" while it keeps running.
        if (s && event.request.kind !== 'logs-watch' && (s.status === 'running' || s.status === 'pending')) s.status = 'waiting';
        if (s && state.current < 0) state.current = state.steps.indexOf(s);
        state.pending = { stepId: event.stepId, request: event.request };
        break;
      }
      case 'input-received': {
        const s = step(event.stepId);
        const asked = state.pending?.stepId === event.stepId ? state.pending.request : undefined;
        if (s && asked?.kind === 'checklist-item' && event.response.kind === 'checklist-item') {
          s.checklist.push({ itemId: asked.itemId, label: asked.label, ticked: event.response.ticked });
        }
        if (s && s.status === 'waiting') s.status = 'running';
        state.pending = undefined;
        break;
      }
      case 'step-finished': {
        const s = step(event.stepId);
        if (!s) break;
        s.status = 'done';
        s.summary = event.summary;
        s.durationMs = event.durationMs;
        if (state.pending?.stepId === event.stepId) state.pending = undefined;
        break;
      }
      case 'step-skipped': {
        const s = step(event.stepId);
        if (!s) break;
        s.status = 'skipped';
        s.skipReason = event.reason;
        if (state.pending?.stepId === event.stepId) state.pending = undefined;
        break;
      }
      case 'step-failed': {
        const s = step(event.stepId);
        if (!s) break;
        s.status = 'failed';
        s.error = event.error;
        s.offers = event.offers;
        break;
      }
      case 'run-finished': {
        state.runId = event.runId;
        state.finished = { outcome: event.outcome, message: event.message, switchTo: event.switchTo, where: event.where };
        state.pending = undefined;
        for (let i = 0; i < state.steps.length; i++) {
          const s = state.steps[i]!;
          if (s.status === 'running' || s.status === 'waiting') {
            const copy = step(s.id)!;
            copy.status = event.outcome === 'completed' ? 'done' : 'failed';
            if (event.outcome !== 'completed' && !copy.error) copy.error = event.outcome === 'paused' ? 'paused' : event.outcome;
          }
        }
        break;
      }
      default:
        break;
    }
  }
  if (output) state.output = output.length > MAX_OUTPUT_LINES ? output.slice(-MAX_OUTPUT_LINES) : output;
  return state;
}

/** The step the operator is looking at: the current one, or the first not yet finished. */
export function focusStep(state: RunViewState): StepView | undefined {
  if (state.pending) {
    const asked = state.steps.find((s) => s.id === state.pending!.stepId);
    if (asked) return asked;
  }
  return state.steps[state.current] ?? state.steps.find((s) => s.status === 'pending');
}

export function isStepRunning(state: RunViewState): boolean {
  return !state.finished && state.steps.some((s) => s.status === 'running');
}

export function describeResponse(response: InputResponse): string {
  switch (response.kind) {
    case 'confirm':
      return response.ok ? 'confirmed' : 'declined';
    case 'checklist-item':
      return response.ticked ? 'ticked' : 'not ticked';
    case 'typed-confirmation':
      return 'typed confirmation';
    case 'failure':
      return typeof response.choice === 'string' ? response.choice : `switch to ${response.choice.switch}`;
    case 'skip-reason':
      return `skip: ${response.reason}`;
    case 'select-target':
      return response.value ? `selected ${response.value}` : 'none selected';
    case 'logs-watch':
      return 'watch ended';
    case 'review':
      return response.seen ? (response.reason ? `acknowledged: ${response.reason}` : 'reviewed') : 'not reviewed';    case 'plan':
      return response.ok ? 'plan confirmed' : 'plan declined';
  }
}
