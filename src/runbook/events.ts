import type { FailureOffer, StepType } from './schema';

/**
 * The one event stream a run emits. The headless runner prints it line by line (or as JSON
 * lines); the TUI renders it. Neither adds behaviour: everything the operator can do is an
 * InputRequest answered with an InputResponse.
 */
export type StepStatus = 'pending' | 'running' | 'waiting' | 'done' | 'skipped' | 'failed';

export interface StepSummary {
  id: string;
  title: string;
  type: StepType;
  text: string;
  destructive: boolean;
}

export type StepProgress =
  | { kind: 'backup'; tablesDone: number; tablesTotal: number; bytes: number; rateBytesPerSec: number; etaSeconds?: number }
  | {
      kind: 'migration';
      index: number;
      total: number;
      revision: string;
      direction: string;
      elapsedMs: number;
      /** This revision's duration in its last ok rehearsal (same file checksum, same direction), when there is one. */
      expectedMs?: number;
    }
  | { kind: 'logs'; matched: number; lines: number; matchesLastMinute: number; elapsedMs: number; durationMs: number }
  | { kind: 'command'; elapsedMs: number; timeoutMs: number }
  | { kind: 'lock-wait'; holder?: string; waitedMs: number }
  /** The "wait" failure offer: waiting for the session(s) that blocked the step to go away, then retrying. */
  | { kind: 'blocker-wait'; blockers: string[]; waitedMs: number };

export type InputRequest =
  | {
      kind: 'confirm';
      prompt: string;
      detail?: string[];
      /** Enter answers no (a question whose yes loses data). */
      defaultNo?: boolean;
      /** Headless, `--yes` does not answer it: only this flag's explicit value (`--on-broken-downgrade restore`). */
      explicit?: 'on-broken-downgrade';
    }
  | { kind: 'checklist-item'; itemId: string; label: string; index: number; total: number }
  | { kind: 'typed-confirmation'; prompt: string; expected: string; detail: string[] }
  | { kind: 'failure'; error: string; offers: FailureOffer[] }
  | { kind: 'skip-reason'; prompt: string }
  | { kind: 'select-target'; options: TargetOption[]; /** What is being chosen, when it is not "a revision or backup" (several heads). */ prompt?: string }
  | { kind: 'logs-watch'; prompt: string }
  | ReviewRequest
  | PlanRequest;

/**
 * How a run's plan is confirmed: the database name typed (protected environment), an explicit
 * `y` (anything else), Enter (the practice sandbox). Headless: `--confirm DBNAME` / `--yes`.
 */
export type PlanConfirmation = 'typed' | 'yes' | 'enter';

/** One step of a run's plan: what it will concretely do, and whether it changes anything. */
export interface PlanStep {
  id: string;
  title: string;
  type: StepType;
  changes: boolean;
  destructive: boolean;
  /** done / skipped steps of a resumed run are listed as such. */
  status: StepStatus;
  lines: string[];
}

/** Asked once, before the first step that changes anything: the whole remaining plan. */
export interface PlanRequest {
  kind: 'plan';
  mode: PlanConfirmation;
  /** The database name (what `typed` expects, what `--confirm` must say). */
  expected: string;
  /** Where the plan acts: environment, redacted URL, protected or not. */
  target: string;
  /** The first step that changes anything. */
  firstChange: string;
  steps: PlanStep[];
  /** The headless flag that answers it: `--yes` or `--confirm DBNAME`. */
  flag: string;
}

/**
 * A migration review to read (SQL per revision, findings, table sizes). Answered once it was
 * shown; with `acknowledge` (an error-level finding on a protected environment) only with a
 * reason and the database name typed.
 */
export interface ReviewRequest {
  kind: 'review';
  title: string;
  headline: string;
  lines: ReviewLine[];
  counts: { error: number; warning: number; info: number; waived: number };
  acknowledge?: { expected: string; prompt: string };
}

export interface ReviewLine {
  text: string;
  style?: 'heading' | 'sql' | 'error' | 'warning' | 'info' | 'waived' | 'detail';
}

export interface TargetOption {
  kind: 'revision' | 'backup';
  /** Revision id, or the backup file. */
  value: string;
  label: string;
  revision?: string;
}

export type InputResponse =
  | { kind: 'confirm'; ok: boolean }
  | { kind: 'checklist-item'; ticked: boolean }
  | { kind: 'typed-confirmation'; text: string }
  | { kind: 'failure'; choice: 'retry' | 'skip' | 'abort' | 'wait' | { switch: string }; reason?: string }
  | { kind: 'skip-reason'; reason: string }
  | { kind: 'select-target'; value: string | undefined }
  | { kind: 'logs-watch'; done: true }
  | { kind: 'review'; seen: boolean; reason?: string; typed?: string }
  | { kind: 'plan'; ok: boolean; typed?: string };

export type RunOutcome = 'completed' | 'aborted' | 'failed' | 'switched' | 'paused';

export type RunEvent =
  | { type: 'run-started'; runId: string; runbook: string; title: string; environment?: string; target: string; protected: boolean; drill: boolean; resumed: boolean; steps: StepSummary[]; /** Version rows when the run began. */ startRevisions?: string[] }
  | { type: 'plan'; runId: string; target: string; steps: PlanStep[] }
  | { type: 'step-started'; stepId: string; index: number; total: number; title: string; stepType: StepType; preview: string[] }
  | { type: 'output'; stepId: string; line: string; stream: 'stdout' | 'stderr' | 'info' | 'match' }
  | { type: 'progress'; stepId: string; progress: StepProgress }
  | { type: 'needs-input'; stepId: string; request: InputRequest }
  | { type: 'input-received'; stepId: string; response: InputResponse }
  | { type: 'step-finished'; stepId: string; summary: string; durationMs: number }
  | { type: 'step-skipped'; stepId: string; reason: string }
  | { type: 'step-failed'; stepId: string; error: string; offers: FailureOffer[] }
  | { type: 'run-finished'; runId: string; outcome: RunOutcome; switchTo?: string; message: string; where?: RunEndState };

/** Where a run left things, for its end-of-run summary: the database's revision(s) and the backup to go back to. */
export interface RunEndState {
  /** Version rows when the run ended; undefined when the database did not answer. */
  revisions?: string[];
  /** Version rows when the run began. */
  startRevisions?: string[];
  /** The backup this run took, or else the newest verified one of this target. */
  backup?: { file: string; revisions: string[]; verified: boolean; takenInRun: boolean };
}

/** Answers the engine's questions: the headless runner from flags, the TUI from keypresses. */
export interface InputProvider {
  ask(stepId: string, request: InputRequest, signal: AbortSignal): Promise<InputResponse>;
}
