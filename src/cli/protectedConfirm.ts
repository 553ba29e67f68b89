import readline from 'node:readline/promises';
import type { Target } from '../core/connection';
import { ExitCode, MutxError } from '../core/errors';

/**
 * A command that changes a protected environment's database (upgrade, downgrade, stamp,
 * reconcile) goes ahead only with the database name: `--confirm DBNAME`, or typed on a
 * terminal. Without a terminal and without it: exit 5 before anything is done.
 */
export async function requireProtectedConfirmation(target: Target, what: string, confirm: string | undefined, signal: AbortSignal): Promise<void> {
  if (!target.protected) return;
  const database = target.database;
  const where = `protected environment ${target.environment ?? ''} (${target.redacted})`.replace('  ', ' ');
  if (confirm !== undefined) {
    if (confirm === database) return;
    throw new MutxError('usage', `--confirm "${confirm.slice(0, 64)}" does not match the database name "${database}": nothing was done`, { hint: `pass --confirm ${database}` });
  }
  if (!(process.stdin.isTTY && process.stderr.isTTY)) {
    throw new MutxError('usage', `${what} changes ${database} on ${where}: nothing was done without the database name`, {
      hint: `pass --confirm ${database} (--yes is not enough on a protected environment)`,
      exitCode: ExitCode.needsOperator,
    });
  }
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  let answer = '';
  try {
    answer = await rl.question(`${what} on ${where}. Type the database name (${database}) to go ahead: `, { signal });
  } catch {
    throw new MutxError('usage', 'not confirmed: nothing was done', { exitCode: ExitCode.interrupted });
  } finally {
    rl.close();
  }
  if (answer.trim() !== database) throw new MutxError('usage', `typed "${answer.trim().slice(0, 64)}" instead of "${database}": nothing was done`, { hint: 'type the database name exactly' });
}
