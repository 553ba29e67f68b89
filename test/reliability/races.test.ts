import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, createTestProject, schemaDump, type TestProject } from '../helpers/db';
import { advisoryLocks, auditPairing, cli, firstDifference, readAuditLines, ReferenceCatalogs, runScenario, Scenario, versionRows, writeTimedChain } from './support';

/**
 * Two and three `upgrade head` at once, 20 rounds each, on a fresh database per round. Odd
 * rounds wait for the lock (every run exits 0, the losers print who holds it); even rounds use
 * --wait-lock 0.3 so the losers give up (exit 4) naming the holder.
 */
const ROUNDS = Number(process.env.MUTX_RACE_ROUNDS ?? 20);

let project: TestProject;
let refs: ReferenceCatalogs;
let ids: string[];
let headCatalog: string;

beforeAll(async () => {
  project = createTestProject({ copyMigrations: false, settings: 'lock_wait_seconds: 60\n' });
  ids = writeTimedChain(project.migrationsDir, 5_000);
  refs = new ReferenceCatalogs(project.migrationsDir);
  headCatalog = await refs.get([ids.at(-1)!]);
});
afterAll(async () => {
  await refs?.close();
  project?.cleanup();
});

for (const racers of [2, 3]) {
  it(`${racers} concurrent upgrade head, ${ROUNDS} rounds: each migration applied exactly once`, async () => {
    const scenario = new Scenario(
      `race: ${racers} × upgrade head at once (${ROUNDS} rounds, half waiting, half --wait-lock 0.3)`,
      'ledger: each revision applied exactly once; exactly one run applied steps; waiting losers print the holder; failing losers exit 4 naming a racer that held the lock; version = head; catalog = reference head; no advisory lock; audit verify; one end record per op',
      'races',
    );
    await runScenario(scenario, async (s) => {
      for (let round = 1; round <= ROUNDS; round++) {
        const db = await createTestDatabase('mutx_rel_race');
        const problems: string[] = [];
        const waitShort = round % 2 === 0;
        try {
          const results = await Promise.all(
            Array.from({ length: racers }, (_, i) =>
              cli(['--database-url', db.url, 'upgrade', 'head', ...(waitShort ? ['--wait-lock', '0.3'] : [])], { cwd: project.dir, env: { MUTX_OPERATOR: `racer-${i + 1}` } }),
            ),
          );
          const ok = results.map((r, i) => ({ r, i: i + 1 })).filter(({ r }) => r.exitCode === 0);
          const appliedBy = ok.filter(({ r }) => /^upgraded base → /.test(String(r.stdout))).map(({ i }) => i);
          for (const { r, i } of ok) if (!/^(upgraded base → |nothing to do)/.test(String(r.stdout))) problems.push(`racer ${i}: unexpected output ${JSON.stringify(String(r.stdout).slice(0, 120))}`);
          if (appliedBy.length !== 1) problems.push(`${appliedBy.length} runs applied steps (racers ${appliedBy.join(', ') || 'none'}): exit codes ${results.map((r) => r.exitCode).join(', ')}`);
          for (const [index, result] of results.entries()) {
            const me = index + 1;
            const stderr = String(result.stderr);
            if (result.exitCode === 0) {
              if (!appliedBy.includes(me)) {
                const waited = /waiting for the migration lock, held by pid \d+ \(mutx-ops:racer-(\d)@/.exec(stderr);
                if (waitShort) continue; // started after the holder finished
                if (!waited) problems.push(`racer ${me} found nothing to do without saying it waited for the lock: ${JSON.stringify(stderr.slice(0, 200))}`);
                else if (Number(waited[1]) === me) problems.push(`racer ${me} says it waited for itself`);
              }
              continue;
            }
            if (result.exitCode !== 4) {
              problems.push(`racer ${me} exited ${result.exitCode}: ${stderr.trim().split('\n').at(-1)}`);
              continue;
            }
            if (!waitShort) problems.push(`racer ${me} gave up (exit 4) although it was allowed to wait 60 s`);
            const holder = /held by pid \d+ \(mutx-ops:racer-(\d)@[^)]*\)/.exec(stderr);
            if (!holder) problems.push(`racer ${me} exit 4 does not name the holder: ${JSON.stringify(stderr.slice(0, 200))}`);
            else if (Number(holder[1]) === me || !ok.some(({ i }) => i === Number(holder[1]))) problems.push(`racer ${me} names racer-${holder[1]} as the holder, which did not hold the lock`);
          }
          const ledger = await db.query<{ revision: string; n: number; ops: number }>(
            "SELECT revision, count(*)::int AS n, count(DISTINCT operator)::int AS ops FROM mutx_ops.ledger WHERE direction = 'upgrade' AND outcome = 'applied' GROUP BY revision ORDER BY revision",
          );
          const counts = new Map(ledger.rows.map((row) => [row.revision, row.n]));
          for (const id of ids) if (counts.get(id) !== 1) problems.push(`${id} applied ${counts.get(id) ?? 0} times`);
          // A non-transactional step writes a 'started' marker first; each must be settled by its 'applied' row.
          const failedRows = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM mutx_ops.ledger WHERE outcome NOT IN ('applied', 'started')");
          if (failedRows.rows[0]!.n > 0) problems.push(`${failedRows.rows[0]!.n} ledger rows are neither 'applied' nor a 'started' marker`);
          const unsettled = await db.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM mutx_ops.ledger s WHERE s.outcome = 'started' AND NOT EXISTS (SELECT 1 FROM mutx_ops.ledger a WHERE a.revision = s.revision AND a.id > s.id AND a.outcome = 'applied')",
          );
          if (unsettled.rows[0]!.n > 0) problems.push(`${unsettled.rows[0]!.n} 'started' marker(s) never settled`);
          const rows = await versionRows(db);
          if (rows.join(',') !== ids.at(-1)) problems.push(`version table [${rows}] instead of [${ids.at(-1)}]`);
          const catalog = await schemaDump(db.url);
          if (catalog !== headCatalog) problems.push(`catalog differs from the head's: ${firstDifference(headCatalog, catalog)}`);
          if ((await advisoryLocks(db)) > 0) problems.push('advisory lock left');
          const verify = await cli(['audit', 'verify'], { cwd: project.dir });
          if (verify.exitCode !== 0) problems.push(`audit verify: ${String(verify.all).trim()}`);
          problems.push(...auditPairing(readAuditLines(project.auditPath)));
        } finally {
          await db.drop();
        }
        s.iteration(`round ${round}${waitShort ? ' (--wait-lock 0.3)' : ''}`, problems);
      }
    });
    expect(scenario.failures).toEqual([]);
  });
}
