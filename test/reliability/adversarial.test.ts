import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { argumentCases, malformedFileCases } from './corpus';
import { closeHarness, createHarness, FILE_COMMANDS, runArgCase, runFileCase, type Harness } from './adversarialRunner';
import { runSeed, Scenario } from './support';

/**
 * The whole hostile-input corpus through the built CLI: every malformed migration file with
 * several commands, and every hostile command line. Each must exit with its documented code,
 * print one line on stderr (no stack trace), and change nothing: catalog (pg_dump -s), table
 * data (version table, ledger, the canary users row), project files, and the audit trail
 * (byte-for-byte when the error is caught before connecting; exactly one start/end pair after).
 */
const fileCases = malformedFileCases('HEAD_PLACEHOLDER', runSeed());
const argCases = argumentCases();

let h: Harness;
const files = new Scenario(
  `adversarial: ${fileCases.length} malformed migration files × 2 commands`,
  'exit 2; one stderr line naming the file, no stack trace, nothing on stdout; catalog (pg_dump -s), table data, project files and audit file (byte-for-byte) unchanged',
  'adversarial',
);
const args = new Scenario(
  `adversarial: ${argCases.length} hostile command lines (revision ids, env names, URLs, options)`,
  'documented exit code (2); one stderr line, no stack trace, no control characters; nothing changed; audit byte-for-byte unchanged when caught before connecting, else exactly one start + end(failed) record carrying the printed error',
  'adversarial',
);

beforeAll(async () => {
  h = await createHarness();
}, 120_000);
afterAll(async () => {
  files.report();
  args.report();
  await closeHarness(h);
});

describe('malformed migration files', () => {
  it('has at least 100 cases', () => {
    expect(fileCases.length).toBeGreaterThanOrEqual(100);
  });
  for (const [index, c] of fileCases.entries()) {
    it(`${c.name}${c.knownBug ? ' [bug]' : ''}`, async () => {
      const real = malformedFileCases(h.head, runSeed())[index]!;
      // Every case runs upgrade head, plus one other command in rotation.
      const commands = [FILE_COMMANDS[0]!, FILE_COMMANDS[1 + (index % (FILE_COMMANDS.length - 1))]!];
      const problems = await runFileCase(h, real, commands);
      files.iteration(c.name, problems);
      expect(problems).toEqual([]);
    }, 120_000);
  }
});

describe('hostile command lines', () => {
  for (const c of argCases) {
    it(`${c.name}${c.knownBug ? ' [bug]' : ''}`, async () => {
      const problems = await runArgCase(h, c);
      args.iteration(c.name, problems);
      expect(problems).toEqual([]);
    }, 60_000);
  }
});
