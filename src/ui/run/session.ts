import type { InputProvider, InputRequest, InputResponse, RunEvent } from '../../runbook/events';
import { NeedsOperator } from '../../runbook/needsOperator';
import type { RunResult, Services } from '../services';
import { applyRunEvents, initialRunState, type RunViewState, type Stamped, type StepSeed } from './runState';

/** A question from the engine that the screen has not answered yet. */
export interface PendingPrompt {
  id: number;
  stepId: string;
  request: InputRequest;
}

/**
 * The InputProvider the app hands to the engine: `ask` parks the question here, the prompt
 * component shows it and calls `answer`. Aborting the run's signal withdraws the question.
 */
export class PromptBroker implements InputProvider {
  private pending: (PendingPrompt & { resolve: (response: InputResponse) => void; reject: (error: Error) => void }) | undefined;
  private readonly listeners = new Set<() => void>();
  private seq = 0;

  ask(stepId: string, request: InputRequest, signal: AbortSignal): Promise<InputResponse> {
    return new Promise<InputResponse>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason instanceof Error ? signal.reason : new Error('cancelled'));
        return;
      }
      const id = ++this.seq;
      const onAbort = () => {
        if (this.pending?.id === id) {
          this.pending = undefined;
          this.emit();
        }
        reject(signal.reason instanceof Error ? signal.reason : new Error('cancelled'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.pending = {
        id,
        stepId,
        request,
        resolve: (response) => {
          signal.removeEventListener('abort', onAbort);
          resolve(response);
        },
        reject: (error) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      this.emit();
    });
  }

  current(): PendingPrompt | undefined {
    return this.pending ? { id: this.pending.id, stepId: this.pending.stepId, request: this.pending.request } : undefined;
  }

  /** Answers the question `id`; false when it is no longer the open one. */
  answer(id: number, response: InputResponse): boolean {
    const pending = this.pending;
    if (!pending || pending.id !== id) return false;
    this.pending = undefined;
    pending.resolve(response);
    this.emit();
    return true;
  }

  /** Leaves the open question unanswered: the engine pauses the run there (resumable). False when none is open. */
  pauseOpen(): boolean {
    const pending = this.pending;
    if (!pending) return false;
    this.pending = undefined;
    pending.reject(new NeedsOperator(pending.request));
    this.emit();
    return true;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }
}

export interface RunSpec {
  name: string;
  title?: string;
  resumeRunId?: string;
  seeds?: StepSeed[];
  selectedRevision?: string;
  selectedBackup?: string;
  /** A practice drill scenario this run belongs to. */
  drill?: string;
}

export interface SessionSnapshot {
  state: RunViewState;
  prompt: PendingPrompt | undefined;
  result?: RunResult;
  settled: boolean;
  cancelling: boolean;
}

/**
 * One run of a runbook, owned by the app (not by a screen), so the operator can look at the
 * logs or history while it runs. Engine events are buffered and folded into the state on a
 * timer (FLUSH_MS): a log at thousands of lines a second costs one render per flush.
 */
export class RunSession {
  static readonly FLUSH_MS = 80;
  readonly broker = new PromptBroker();
  private readonly controller = new AbortController();
  private buffer: Stamped[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly listeners = new Set<() => void>();
  private snapshot: SessionSnapshot;
  private donePromise: Promise<RunResult | undefined> | undefined;

  constructor(
    private readonly services: Services,
    readonly spec: RunSpec,
    private readonly flushMs = RunSession.FLUSH_MS,
  ) {
    this.snapshot = { state: initialRunState(spec.name, spec.title), prompt: undefined, settled: false, cancelling: false };
    this.broker.subscribe(() => this.flush());
  }

  start(): Promise<RunResult | undefined> {
    if (this.donePromise) return this.donePromise;
    this.donePromise = this.services
      .startRun(this.spec.name, {
        input: this.broker,
        onEvent: (event) => this.push(event),
        signal: this.controller.signal,
        resumeRunId: this.spec.resumeRunId,
        selectedRevision: this.spec.selectedRevision,
        selectedBackup: this.spec.selectedBackup,
        drill: Boolean(this.spec.drill),
        drillScenario: this.spec.drill,
      })
      .then(
        (result) => {
          this.flush();
          this.update({ result, settled: true });
          return result;
        },
        (error: unknown) => {
          this.flush();
          const message = error instanceof Error ? (error.message.split('\n')[0] ?? String(error)) : String(error);
          const hint = (error as { hint?: string }).hint;
          this.update({ state: { ...this.snapshot.state, error: hint ? `${message} — ${hint}` : message }, settled: true });
          return undefined;
        },
      );
    return this.donePromise;
  }

  /** Settles when the engine has finished (after a cancel: once it has cleaned up). */
  get done(): Promise<RunResult | undefined> {
    return this.donePromise ?? Promise.resolve(undefined);
  }

  /** Cancels the running step / stops the run: the engine cancels server-side and rolls back. */
  cancel(): void {
    if (this.snapshot.settled || this.controller.signal.aborted) return;
    this.controller.abort(new Error('cancelled by the operator'));
    this.update({ cancelling: true });
  }

  answer(id: number, response: InputResponse): boolean {
    return this.broker.answer(id, response);
  }

  /** `q` on a run waiting for the operator: the run stays paused at its step, resumable (not aborted). */
  pause(): Promise<RunResult | undefined> {
    this.broker.pauseOpen();
    return this.done;
  }

  getSnapshot = (): SessionSnapshot => this.snapshot;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  /** Stops the flush timer (tests, unmount after the run settled). */
  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private push(event: RunEvent): void {
    this.buffer.push({ event, at: Date.now() });
    // A logs step that ended by itself leaves its "enter when satisfied" question open: close it.
    if (event.type === 'step-finished' || event.type === 'step-skipped' || event.type === 'step-failed') {
      const open = this.broker.current();
      if (open && open.stepId === event.stepId && open.request.kind === 'logs-watch') this.broker.answer(open.id, { kind: 'logs-watch', done: true });
    }
    if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, this.flushMs);
    }
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const batch = this.buffer;
    this.buffer = [];
    const state = batch.length ? applyRunEvents(this.snapshot.state, batch, this.spec.seeds) : this.snapshot.state;
    const prompt = this.broker.current();
    if (state === this.snapshot.state && prompt?.id === this.snapshot.prompt?.id) return;
    this.update({ state, prompt });
  }

  private update(patch: Partial<SessionSnapshot>): void {
    this.snapshot = { ...this.snapshot, ...patch };
    for (const listener of this.listeners) listener();
  }
}
