import type { InputRequest } from './events';

/**
 * Thrown by an InputProvider that cannot answer (headless without --yes, or the app quitting
 * with `q` while a question is open): the run pauses at that step, resumable.
 */
export class NeedsOperator extends Error {
  constructor(readonly request: InputRequest) {
    super('needs the operator');
  }
}
