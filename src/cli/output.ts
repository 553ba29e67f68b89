import { redactSecrets } from '../core/connection';
import { escapeControl, ExitCode, MutxError, oneLine } from '../core/errors';
import { terminalText } from '../core/terminalText';

/** Where a command writes: results on stdout (JSON with --json), progress and errors on stderr. */
export class Output {
  constructor(readonly json: boolean) {}

  /** The command's result: human text, or the JSON document with --json. */
  result(value: unknown, human: () => string | string[]): void {
    if (this.json) {
      process.stdout.write(`${JSON.stringify(value, jsonReplacer)}\n`);
      return;
    }
    const text = human();
    const lines = Array.isArray(text) ? text : [text];
    // Revision messages, log lines, audit fields, prefs: nothing reaches the terminal raw.
    if (lines.length) process.stdout.write(`${terminalText(lines.join('\n'))}\n`);
  }

  /** A progress line (never on stdout, which belongs to the result). */
  progress(line: string): void {
    if (!this.json) process.stderr.write(`${terminalText(redactSecrets(line))}\n`);
  }

  error(error: unknown, debug: boolean): number {
    const exitCode = error instanceof MutxError ? error.exitCode : ExitCode.failed;
    const line = redactSecrets(error instanceof MutxError ? oneLine(error) : `internal error: ${oneLine(error)}`);
    process.stderr.write(`mutx-ops: ${line}\n`);
    // A child's own trace (the Alembic runner's Python traceback) is shown with --debug only.
    const { traceback, ...details } = (error instanceof MutxError ? error.details : undefined) ?? {};
    if (debug && typeof traceback === 'string' && traceback) process.stderr.write(`${redactSecrets(traceback).split('\n').map(escapeControl).join('\n')}\n`);
    if (debug && error instanceof Error && error.stack) process.stderr.write(`${redactSecrets(error.stack).split('\n').map(escapeControl).join('\n')}\n`);
    if (!debug && !(error instanceof MutxError)) process.stderr.write('mutx-ops: run again with --debug for the stack trace\n');
    if (this.json) {
      const body = error instanceof MutxError ? { kind: error.kind, message: error.message, hint: error.hint, details: debug ? error.details : details } : { kind: 'internal', message: oneLine(error) };
      process.stdout.write(`${JSON.stringify({ ok: false, exitCode, error: body }, jsonReplacer)}\n`);
    }
    return exitCode;
  }
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  return value;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}
