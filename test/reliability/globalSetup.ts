import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { formatReport, readResults } from './report';

/**
 * Picks the seed (MUTX_SEED or a fresh one, printed so any run can be repeated), hands it and
 * a results file to the test workers, and at the end prints the report table and writes it
 * to test/reliability/REPORT.md.
 */
export default function setup(project: TestProject) {
  const fromEnv = process.env.MUTX_SEED;
  const seed = fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : Math.floor(Math.random() * 2 ** 31);
  if (!Number.isSafeInteger(seed)) throw new Error(`MUTX_SEED must be an integer, not "${fromEnv}"`);
  const resultsFile = path.join(os.tmpdir(), `mutx-reliability-${process.pid}-${Date.now()}.jsonl`);
  fs.writeFileSync(resultsFile, '');
  const started = Date.now();
  process.stdout.write(`\nmutx-ops reliability: MUTX_SEED=${seed}${fromEnv ? '' : ' (random; set MUTX_SEED to repeat this run)'}\n\n`);
  project.provide('mutxSeed', seed);
  project.provide('mutxResultsFile', resultsFile);
  return () => {
    const rows = readResults(resultsFile);
    const report = formatReport(rows, { seed, seconds: (Date.now() - started) / 1000 });
    // Only a full run is the record; a run of some files or tests writes its report aside.
    const partial = isPartialRun(project);
    const target = partial ? path.join(os.tmpdir(), `mutx-reliability-partial-${seed}.md`) : path.join(project.config.root, 'test/reliability/REPORT.md');
    fs.writeFileSync(target, report);
    process.stdout.write(`\n${report}\n${partial ? `(a partial run: report written to ${target}, REPORT.md left as it was)\n` : ''}`);
    fs.rmSync(resultsFile, { force: true });
  };
}

/** A run narrowed by file filters (`vitest run … some.test.ts`) or by `-t`. */
function isPartialRun(project: TestProject): boolean {
  if (project.vitest.config.testNamePattern) return true;
  const args = process.argv.slice(2);
  const valued = new Set(['--config', '-c', '--root', '-r', '--project', '--reporter', '--outputFile', '-t', '--testNamePattern', '--shard']);
  return args.some((arg, i) => !arg.startsWith('-') && arg !== 'run' && !valued.has(args[i - 1] ?? ''));
}
