import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, createTestProject, type TestDatabase, type TestProject } from '../helpers/db';
import { TAMPER_KINDS, tamper } from './auditTamper';
import { cli, Rng, rngFor, runScenario, Scenario, writeTimedChain } from './support';

/**
 * A real audit trail (written by the CLI: upgrades, downgrades, a failure, status reads) is
 * tampered with at seeded random positions: a field edited, a record edited and re-hashed,
 * deleted, swapped, moved, duplicated, the file truncated, a blank line inserted. `mutx-ops
 * audit verify` must exit 1 and name the first bad record's line.
 */
const CASES = Number(process.env.MUTX_TAMPER_CASES ?? 64);

let db: TestDatabase;
let source: TestProject;
let original = '';
let head = '';

beforeAll(async () => {
  db = await createTestDatabase('mutx_rel_tamper');
  source = createTestProject({ copyMigrations: false });
  writeTimedChain(source.migrationsDir, 100);
  const run = (...args: string[]) => cli(['--database-url', db.url, ...args], { cwd: source.dir });
  for (const args of [['upgrade', '+3'], ['current'], ['downgrade', '-1'], ['upgrade', 'nope'], ['upgrade', 'head'], ['check'], ['downgrade', 'base'], ['stamp', 'k02'], ['current']]) await run(...args);
  original = fs.readFileSync(source.auditPath, 'utf8');
  head = fs.readFileSync(`${source.auditPath}.head`, 'utf8');
  const ok = await cli(['audit', 'verify'], { cwd: source.dir });
  if (ok.exitCode !== 0) throw new Error(`the untouched trail does not verify: ${String(ok.all)}`);
});
afterAll(async () => {
  await db?.drop();
  source?.cleanup();
});

it(`audit verify catches ${CASES} seeded tamperings and names the first bad record`, async () => {
  const scenario = new Scenario(
    'audit tampering: edit / edit+re-hash / delete / swap / move / duplicate / truncate / blank line at seeded positions',
    '`mutx-ops audit verify` exits 1 and its BROKEN line names the first bad record (file:line)',
    'audit-tamper',
  );
  await runScenario(scenario, async (s) => {
    const rng = rngFor('audit-tamper');
    const project = createTestProject({ copyMigrations: false });
    try {
      fs.mkdirSync(path.dirname(project.auditPath), { recursive: true, mode: 0o700 });
      for (let i = 0; i < CASES; i++) {
        const kind = TAMPER_KINDS[i % TAMPER_KINDS.length]!;
        const t = tamper(original, kind, rng);
        fs.writeFileSync(project.auditPath, t.text, { mode: 0o600 });
        fs.writeFileSync(`${project.auditPath}.head`, head, { mode: 0o600 });
        const result = await cli(['audit', 'verify'], { cwd: project.dir });
        const problems: string[] = [];
        const out = String(result.stdout);
        if (result.exitCode !== 1) problems.push(`exit ${result.exitCode}: ${out.trim() || String(result.stderr).trim()}`);
        const named = /BROKEN at .*audit\.jsonl:(\d+)/.exec(out);
        if (!named) problems.push(`no BROKEN line: ${JSON.stringify(out.slice(0, 200))}`);
        else if (Number(named[1]) !== t.expectedLine) problems.push(`names line ${named[1]}, the first bad record is line ${t.expectedLine}: ${out.trim()}`);
        s.iteration(t.description, problems);
      }
      // Always include the case a random position rarely hits: the last record edited and re-hashed.
      for (let k = 0; k < 500; k++) {
        const t = tamper(original, 'edit-rehash', new Rng(k));
        if (!/record (\d+)\/\1$/.test(t.description)) continue;
        fs.writeFileSync(project.auditPath, t.text, { mode: 0o600 });
        fs.writeFileSync(`${project.auditPath}.head`, head, { mode: 0o600 });
        const result = await cli(['audit', 'verify'], { cwd: project.dir });
        const named = /BROKEN at .*audit\.jsonl:(\d+)/.exec(String(result.stdout));
        s.iteration(`${t.description} (the last record)`, result.exitCode === 1 && named && Number(named[1]) === t.expectedLine ? [] : [`exit ${result.exitCode}, names line ${named?.[1]}, the first bad record is line ${t.expectedLine}: ${String(result.stdout).trim()}`]);
        break;
      }
    } finally {
      project.cleanup();
    }
  });
  expect(scenario.failures).toEqual([]);
});
