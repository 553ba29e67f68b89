import { MutxError } from '../errors';
import type { LogSource } from './types';

/**
 * Reads a log source spec as an operator types it:
 * - `cmd:kubectl logs -f deploy/mutx` → a command, split on whitespace (no shell, no quoting);
 * - `file:logs/app.log` or just `logs/app.log` → a file path.
 */
export function parseLogSource(spec: string): LogSource {
  const trimmed = spec.trim();
  if (trimmed.startsWith('cmd:')) {
    const words = trimmed.slice('cmd:'.length).split(/\s+/).filter((word) => word.length > 0);
    const [command, ...args] = words;
    if (command === undefined) {
      throw new MutxError('usage', `log source "${spec}": no command after "cmd:"`, {
        hint: 'write it like cmd:kubectl logs -f deploy/app',
      });
    }
    return { kind: 'command', command, args };
  }
  const path = trimmed.startsWith('file:') ? trimmed.slice('file:'.length).trim() : trimmed;
  if (path.length === 0) {
    throw new MutxError('usage', 'log source is empty', { hint: 'give a file path, or cmd: followed by a command' });
  }
  return { kind: 'file', path };
}

/** One line for the operator: the path, or `cmd: command args…`. */
export function describeLogSource(source: LogSource): string {
  return source.kind === 'file' ? source.path : `cmd: ${[source.command, ...source.args].join(' ')}`;
}
