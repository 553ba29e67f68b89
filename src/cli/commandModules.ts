import type { Command } from 'commander';
import type { Runner } from './migrationCommands';

export type Registrar = (program: Command, run: Runner, signal: AbortSignal) => void;

/**
 * Which module registers which top-level commands. A command loads only its own module (and what
 * it imports): `heads` does not load pg, execa, zod or the backup code. `--help`, an unknown
 * command or none loads them all. test/commandModules.test.ts checks this table against what the
 * modules really register.
 */
export const COMMAND_MODULES: { commands: readonly string[]; load: () => Promise<Registrar> }[] = [
  { commands: ['current', 'history', 'heads', 'show', 'check', 'upgrade', 'downgrade', 'reconcile', 'stamp', 'revision', 'merge'], load: async () => (await import('./migrationCommands')).registerMigrationCommands },
  { commands: ['sandbox'], load: async () => (await import('./sandboxCommands')).registerSandboxCommands },
  { commands: ['backup', 'backups', 'restore'], load: async () => (await import('./backupCommands')).registerBackupCommands },
  { commands: ['runbooks', 'run', 'drill', 'runs', 'logs'], load: async () => (await import('./runCommands')).registerRunCommands },
  { commands: ['review'], load: async () => (await import('./reviewCommands')).registerReviewCommands },
  { commands: ['rehearse', 'test'], load: async () => (await import('./rehearseCommands')).registerRehearseCommands },
];

/** Commands that read only files and the version table: they load the settings schema only when there is a settings file. */
export const READ_ONLY_COMMANDS = new Set(['current', 'history', 'heads', 'show', 'check']);

/** The command word of argv: the first argument that is neither an option nor a global option's value. */
export function commandWord(argv: string[]): string | undefined {
  const valued = new Set(['--database-url', '--env', '--migrations']);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return argv[i + 1];
    if (valued.has(arg)) {
      i++;
      continue;
    }
    if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}
