import type { AuditEntry, AuditOutcome } from '../audit';
import { ExitCode, MutxError, type ErrorKind } from '../errors';
import type { CatalogContext } from './types';

/**
 * Start/end audit records around a backup operation (like operations.ts `audited()`, plus the
 * 'refused' outcome for a refused confirmation and a hook that runs after the end record, so a
 * restore can mirror its own end record into the restored database).
 */

export interface AuditHandle {
  opId: string;
  note(extra: Partial<AuditEntry>): void;
  /** The outcome when fn returns normally (default 'ok'), e.g. 'failed' for a failed verification. */
  setOutcome(outcome: AuditOutcome): void;
}

/** An error for an operation refused before it changed anything (recorded as 'refused'). */
export function refusal(kind: ErrorKind, message: string, options: { hint?: string; exitCode?: ExitCode; details?: Record<string, unknown> } = {}): MutxError {
  return new MutxError(kind, message, { ...options, details: { ...(options.details ?? {}), refused: true } });
}

function outcomeOf(error: unknown): AuditOutcome {
  if (error instanceof MutxError) {
    if (error.exitCode === ExitCode.interrupted) return 'cancelled';
    if (error.kind === 'timeout') return 'timeout';
    if (error.details?.refused === true || error.kind === 'usage' || error.kind === 'config') return 'refused';
  }
  return 'failed';
}

function errorLine(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error);
}

function merge(extra: Partial<AuditEntry>, more: Partial<AuditEntry>): Partial<AuditEntry> {
  return { ...extra, ...more, details: { ...(extra.details ?? {}), ...(more.details ?? {}) } };
}

export async function withAudit<T>(
  ctx: CatalogContext,
  entry: { action: string; args?: Record<string, unknown>; target?: string },
  fn: (op: AuditHandle) => Promise<T>,
  after?: (outcome: AuditOutcome) => Promise<void>,
): Promise<T> {
  const operation = ctx.audit.begin({ action: entry.action, args: entry.args, target: entry.target ?? ctx.target?.redacted, run_id: ctx.runId, drill: ctx.drill });
  let extra: Partial<AuditEntry> = {};
  let outcome: AuditOutcome = 'ok';
  const handle: AuditHandle = {
    opId: operation.opId,
    note: (more) => {
      extra = merge(extra, more);
    },
    setOutcome: (value) => {
      outcome = value;
    },
  };
  let result: T;
  try {
    result = await fn(handle);
  } catch (error) {
    const failed = outcomeOf(error);
    operation.end(failed, { ...extra, error: errorLine(error) });
    await after?.(failed).catch(() => {});
    throw error;
  }
  operation.end(outcome, extra);
  await after?.(outcome).catch(() => {});
  return result;
}

export function withAuditSync<T>(ctx: CatalogContext, entry: { action: string; args?: Record<string, unknown>; target?: string }, fn: (op: AuditHandle) => T): T {
  const operation = ctx.audit.begin({ action: entry.action, args: entry.args, target: entry.target ?? ctx.target?.redacted, run_id: ctx.runId, drill: ctx.drill });
  let extra: Partial<AuditEntry> = {};
  let outcome: AuditOutcome = 'ok';
  try {
    const result = fn({
      opId: operation.opId,
      note: (more) => {
        extra = merge(extra, more);
      },
      setOutcome: (value) => {
        outcome = value;
      },
    });
    operation.end(outcome, extra);
    return result;
  } catch (error) {
    operation.end(outcomeOf(error), { ...extra, error: errorLine(error) });
    throw error;
  }
}
