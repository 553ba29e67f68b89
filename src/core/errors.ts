/**
 * Exit codes are part of the contract with scripts and CI: the same on every command,
 * documented in the README. Keep this list and the README table in step.
 */
export const ExitCode = {
  ok: 0,
  failed: 1,
  badInput: 2,
  checkFailed: 3,
  lockNotAcquired: 4,
  /** A headless run paused: a step needs the operator (resume with --yes, or in the TUI). */
  needsOperator: 5,
  timeout: 124,
  /** Stopped by the operator (Ctrl+C / SIGINT), like a shell's 128+2. */
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export type ErrorKind =
  | 'usage'
  | 'config'
  | 'migration-file'
  | 'graph'
  | 'revision'
  | 'connection'
  | 'drift'
  | 'partial'
  | 'lock'
  | 'timeout'
  | 'migration-failed'
  | 'verify-failed'
  | 'backup'
  | 'restore'
  | 'runbook'
  | 'audit'
  | 'internal';

const exitCodeOfKind: Record<ErrorKind, ExitCode> = {
  usage: ExitCode.badInput,
  config: ExitCode.badInput,
  'migration-file': ExitCode.badInput,
  graph: ExitCode.badInput,
  revision: ExitCode.badInput,
  connection: ExitCode.badInput,
  drift: ExitCode.checkFailed,
  partial: ExitCode.checkFailed,
  lock: ExitCode.lockNotAcquired,
  timeout: ExitCode.timeout,
  'migration-failed': ExitCode.failed,
  'verify-failed': ExitCode.failed,
  backup: ExitCode.failed,
  restore: ExitCode.failed,
  runbook: ExitCode.badInput,
  audit: ExitCode.failed,
  internal: ExitCode.failed,
};

/**
 * An error meant for the operator: `message` is one line saying what happened and where,
 * `hint` says what to do next. Never carries a password (callers redact URLs first).
 */
export class MutxError extends Error {
  readonly kind: ErrorKind;
  readonly hint?: string;
  readonly exitCode: ExitCode;
  readonly details?: Record<string, unknown>;

  constructor(
    kind: ErrorKind,
    message: string,
    options: { hint?: string; exitCode?: ExitCode; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    // One line by contract: input echoed in a message (ids, paths, URLs) cannot break it.
    super(escapeControl(message), { cause: options.cause });
    this.name = 'MutxError';
    this.kind = kind;
    this.hint = options.hint === undefined ? undefined : escapeControl(options.hint);
    this.exitCode = options.exitCode ?? exitCodeOfKind[kind];
    this.details = options.details;
  }
}

export function isMutxError(error: unknown): error is MutxError {
  return error instanceof MutxError;
}

/**
 * Makes text safe for one terminal line: control characters (C0, DEL, C1) and the Unicode
 * line/paragraph separators are escaped (\n → \\n, ESC → \\x1b, …), so input echoed in an
 * error can neither break the line nor send escape sequences to the operator's terminal.
 */
export function escapeControl(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (ch) => {
    switch (ch) {
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
      default: {
        const code = ch.charCodeAt(0);
        return code > 0xff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\x${code.toString(16).padStart(2, '0')}`;
      }
    }
  });
}

/** The one line an operator sees for an error (control characters escaped). */
export function oneLine(error: unknown): string {
  if (error instanceof MutxError) {
    return escapeControl(error.hint ? `${error.message} — ${error.hint}` : error.message);
  }
  const message = error instanceof Error ? error.message : String(error);
  return escapeControl(message.split('\n')[0] ?? message);
}
