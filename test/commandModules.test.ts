import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMAND_MODULES, commandWord } from '../src/cli/commandModules';

/**
 * The bin loads only the module that registers the command it runs: the table must name every
 * command each module registers, and no command twice (else that command would be unknown).
 */
describe('command modules', () => {
  it('each module registers exactly the commands the table gives it', async () => {
    const seen = new Set<string>();
    for (const entry of COMMAND_MODULES) {
      const program = new Command('mutx-ops');
      (await entry.load())(program, async () => {}, new AbortController().signal);
      const registered = program.commands.map((command) => command.name()).sort();
      expect(registered).toEqual([...entry.commands].sort());
      for (const name of registered) {
        expect(seen.has(name), `${name} registered twice`).toBe(false);
        seen.add(name);
      }
    }
    expect(seen.has('audit') || seen.has('prefs')).toBe(false);
  });

  it('finds the command word past global options and their values', () => {
    expect(commandWord(['--env', 'heads', 'history'])).toBe('history');
    expect(commandWord(['--database-url', 'postgresql://x/heads', '--json', 'current', '-v'])).toBe('current');
    expect(commandWord(['--json'])).toBeUndefined();
    expect(commandWord(['--', 'upgrade'])).toBe('upgrade');
  });
});
