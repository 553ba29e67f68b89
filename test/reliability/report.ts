import fs from 'node:fs';

/** One line of the report table: written by a scenario when it finishes (pass or fail). */
export interface ScenarioRow {
  scenario: string;
  iterations: number;
  failures: number;
  checked: string;
  seconds: number;
  /** The first few failure descriptions, for the report's notes. */
  examples?: string[];
  file?: string;
}

export function readResults(file: string): ScenarioRow[] {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as ScenarioRow);
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim();

export function formatReport(rows: ScenarioRow[], run: { seed: number; seconds: number }): string {
  const sorted = [...rows].sort((a, b) => (a.file ?? '').localeCompare(b.file ?? '') || a.scenario.localeCompare(b.scenario));
  const total = sorted.reduce((sum, row) => sum + row.iterations, 0);
  const failed = sorted.reduce((sum, row) => sum + row.failures, 0);
  const lines = [
    '# mutx-ops reliability report',
    '',
    `Seed: MUTX_SEED=${run.seed} · wall time ${run.seconds.toFixed(0)} s · ${sorted.length} scenarios · ${total} iterations · ${failed} failures`,
    '',
    '| scenario | iterations | failures | time (s) | what was checked |',
    '| --- | ---: | ---: | ---: | --- |',
    ...sorted.map((row) => `| ${cell(row.scenario)} | ${row.iterations} | ${row.failures} | ${row.seconds.toFixed(1)} | ${cell(row.checked)} |`),
  ];
  const withExamples = sorted.filter((row) => row.failures > 0 && row.examples?.length);
  if (withExamples.length) {
    lines.push('', '## Failures (first examples per scenario)', '');
    for (const row of withExamples) {
      lines.push(`- **${cell(row.scenario)}**`);
      for (const example of row.examples!.slice(0, 5)) lines.push(`  - ${cell(example).slice(0, 400)}`);
    }
  }
  if (sorted.length === 0) lines.push('', '(no scenario reported a result: did the test files fail to load?)');
  return `${lines.join('\n')}\n`;
}
