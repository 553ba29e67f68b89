import { escapeControl } from './errors';

/**
 * Text that came from outside — log lines, migration files, the audit trail and ledger, run state,
 * preferences, a runbook — may carry terminal escapes (`ESC]0;title`, `ESC[2J`, a carriage return
 * that overwrites the line). Everything printed to the operator's terminal goes through one of these.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/;

/** Several lines: newlines and tabs kept, every other control character escaped (ESC → \x1b). */
export function terminalText(text: string): string {
  if (!CONTROL.test(text)) return text;
  return text.split('\n').map((line) => line.split('\t').map(escapeControl).join('\t')).join('\n');
}

/** One line: newlines escaped too (\n → \\n). */
export function terminalLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(text) ? escapeControl(text) : text;
}
