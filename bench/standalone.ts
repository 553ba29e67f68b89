import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * `node --import tsx bench/NAME.ts [--quick] [--rounds N]`: runs the bench when its file is the
 * entry point (not when bench/run.ts imports it). Benchmarks report, they do not gate: a missed
 * goal shows as FAIL in the table, and only a bench that could not run exits 1.
 */
export function runStandalone(moduleUrl: string, name: string, bench: (options: { quick: boolean; rounds?: number }) => Promise<unknown>): void {
  const entry = process.argv[1];
  if (entry === undefined || moduleUrl !== pathToFileURL(path.resolve(entry)).href) return;
  const args = process.argv.slice(2);
  const roundsAt = args.indexOf('--rounds');
  const rounds = roundsAt === -1 ? undefined : Number(args[roundsAt + 1]);
  if (rounds !== undefined && (!Number.isInteger(rounds) || rounds < 1)) {
    process.stderr.write('--rounds needs a positive integer\n');
    process.exit(2);
  }
  bench({ quick: args.includes('--quick'), rounds }).then(
    () => {
      process.exitCode = 0;
    },
    (error: unknown) => {
      process.stderr.write(`bench ${name} failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
