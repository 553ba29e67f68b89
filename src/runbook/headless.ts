import type { InputProvider, InputRequest, InputResponse } from './events';
import { NeedsOperator } from './engine';

export interface HeadlessAnswers {
  /** Confirm manual steps and checklist items (the operator vouches for them by passing --yes). */
  yes: boolean;
  /** The database name, for destructive steps on a protected environment. */
  confirm?: string;
  onFailure: 'abort' | 'retry' | 'skip' | 'switch' | 'wait';
  /** Required with onFailure skip: recorded in the audit trail. */
  skipReason?: string;
  /** Why the run goes ahead despite an error-level review finding (protected environments, with confirm). */
  acknowledge?: string;
  maxRetries?: number;
  /** A downgrade known to fail: `restore` takes the backup at the target revision instead; `stop` (default) pauses before it. */
  onBrokenDowngrade?: 'restore' | 'stop';
}

/** Answers from command-line flags; anything it cannot answer pauses the run (resumable). */
export class HeadlessInput implements InputProvider {
  private retries = new Map<string, number>();

  constructor(private readonly answers: HeadlessAnswers) {}

  async ask(stepId: string, request: InputRequest, signal: AbortSignal): Promise<InputResponse> {
    switch (request.kind) {
      case 'confirm':
        // Restoring instead of a broken downgrade is chosen explicitly, never by --yes.
        if (request.explicit === 'on-broken-downgrade') {
          if (this.answers.onBrokenDowngrade === 'restore') return { kind: 'confirm', ok: true };
          throw new NeedsOperator(request);
        }
        if (this.answers.yes) return { kind: 'confirm', ok: true };
        throw new NeedsOperator(request);
      case 'checklist-item':
        if (this.answers.yes) return { kind: 'checklist-item', ticked: true };
        throw new NeedsOperator(request);
      case 'typed-confirmation':
        if (this.answers.confirm !== undefined) return { kind: 'typed-confirmation', text: this.answers.confirm };
        throw new NeedsOperator(request);
      case 'skip-reason':
        if (this.answers.skipReason) return { kind: 'skip-reason', reason: this.answers.skipReason };
        throw new NeedsOperator(request);
      case 'select-target':
        throw new NeedsOperator(request);
      case 'review':
        // Headless, the review was printed with the run's events; --yes says it was read.
        if (request.acknowledge) {
          if (this.answers.acknowledge && this.answers.confirm !== undefined) return { kind: 'review', seen: true, reason: this.answers.acknowledge, typed: this.answers.confirm };
          throw new NeedsOperator(request);
        }
        if (this.answers.yes) return { kind: 'review', seen: true };
        throw new NeedsOperator(request);
      case 'plan':
        // Protected: only the database name confirms (--yes is not enough); elsewhere --yes (or that name).
        if (this.answers.confirm !== undefined && (request.mode === 'typed' || this.answers.confirm === request.expected)) return { kind: 'plan', ok: true, typed: this.answers.confirm };
        if (request.mode !== 'typed' && this.answers.yes) return { kind: 'plan', ok: true };
        throw new NeedsOperator(request);
      case 'logs-watch':
        // Headless runs watch for the whole duration; this question never gets an answer.
        return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
      case 'failure': {
        const wanted = this.answers.onFailure;
        if (wanted === 'retry') {
          const used = this.retries.get(stepId) ?? 0;
          if (used < (this.answers.maxRetries ?? 2) && request.offers.includes('retry')) {
            this.retries.set(stepId, used + 1);
            return { kind: 'failure', choice: 'retry' };
          }
          return { kind: 'failure', choice: 'abort' };
        }
        if (wanted === 'wait') {
          // Wait for the blocking session (then retry), as often as a retry; elsewhere like --on-failure abort.
          const used = this.retries.get(stepId) ?? 0;
          if (used < (this.answers.maxRetries ?? 2) && request.offers.includes('wait')) {
            this.retries.set(stepId, used + 1);
            return { kind: 'failure', choice: 'wait' };
          }
          return { kind: 'failure', choice: 'abort' };
        }
        if (wanted === 'skip' && request.offers.includes('skip')) return { kind: 'failure', choice: 'skip', reason: this.answers.skipReason };
        if (wanted === 'switch') {
          const target = request.offers.find((offer): offer is { switch: string } => typeof offer === 'object');
          if (target) return { kind: 'failure', choice: target };
        }
        return { kind: 'failure', choice: 'abort' };
      }
    }
  }
}
