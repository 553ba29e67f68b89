import fs from 'node:fs';
import { afterAll, beforeAll, it } from 'vitest';
import { createMutxAlembicProject, runAlembic, type AlembicProject } from '../helpers/alembic';
import { createTestDatabase, schemaDump, type TestDatabase } from '../helpers/db';
import { advisoryLocks, cli, rngFor, runScenario, Scenario, versionRows } from './support';

/**
 * kill -9 of an Alembic `upgrade head` (the MUTX schema as an Alembic project: 12 revisions, one
 * CREATE INDEX CONCURRENTLY in an autocommit block, transaction per migration) at seeded random
 * delays — of mutx-ops itself or of its Python child. Afterwards the schema is the reference
 * schema at the version table's revision (Alembic itself built the references), or the ledger
 * flags the non-transactional revision half-applied; the ledger agrees; no lock, no runner left;
 * `reconcile` (when flagged) then `upgrade head` and `check` succeed.
 */
const ROUNDS = Number(process.env.MUTX_ALEMBIC_KILLS ?? 24);

let project: AlembicProject;
const references = new Map<string, string>();

beforeAll(async () => {
  project = createMutxAlembicProject({ settings: 'lock_wait_seconds: 10\n' });
  // Alembic builds each reference: the schema at every revision of the chain.
  const ref = await createTestDatabase('mutx_rel_alembic_ref');
  try {
    references.set('', await schemaDump(ref.url));
    const revisions = JSON.parse(String((await cli(['--json', 'history'], { cwd: project.dir })).stdout)).revisions.map((r: { revision: string }) => r.revision).reverse() as string[];
    for (const revision of revisions) {
      const up = await runAlembic(project, ref.url, ['upgrade', revision]);
      if (up.exitCode !== 0) throw new Error(`reference upgrade ${revision}: ${up.all}`);
      references.set((await versionRows(ref)).join(','), await schemaDump(ref.url));
    }
  } finally {
    await ref.drop();
  }
}, 300_000);
afterAll(() => project?.cleanup());

const runnerProcesses = (database: string) =>
  fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('alembic-runner.py') && fs.readFileSync(`/proc/${pid}/environ`, 'utf8').includes(database);
      } catch {
        return false;
      }
    });

it(`kill -9 of an Alembic upgrade head, ${ROUNDS} seeded rounds: schema, version table and ledger agree`, async () => {
  const scenario = new Scenario(
    `kill -9 of an Alembic upgrade (MUTX schema as Alembic revisions, ${ROUNDS} rounds, mutx-ops or its Python child, seeded delay)`,
    'the runner dies with mutx-ops; schema = Alembic-built reference at the version table (or the CONCURRENTLY revision flagged half-applied); ledger applied rows ⊆ version table ancestry; no advisory lock; no runner left; reconcile (if flagged) + upgrade head + check exit 0',
    'alembic-kill',
  );
  const rng = rngFor('alembic-kill');
  await runScenario(scenario, async (s) => {
    for (let round = 1; round <= ROUNDS; round++) {
      const db = await createTestDatabase('mutx_rel_alembic_kill');
      const problems: string[] = [];
      const victim = rng.chance(0.5) ? 'mutx-ops' : 'runner';
      const delayMs = rng.int(150, 1400);
      try {
        const run = cli(['--database-url', db.url, 'upgrade', 'head'], { cwd: project.dir });
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        if (victim === 'mutx-ops') run.kill('SIGKILL');
        else for (const pid of runnerProcesses(db.name)) process.kill(Number(pid), 'SIGKILL');
        await run;
        const deadline = Date.now() + 10_000;
        while ((runnerProcesses(db.name).length > 0 || (await advisoryLocks(db)) > 0) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
        if (runnerProcesses(db.name).length > 0) problems.push('a runner outlived the kill');
        if ((await advisoryLocks(db)) > 0) problems.push('the migration lock is still held');
        const rows = await versionRows(db);
        const current = await cli(['--database-url', db.url, '--json', 'current'], { cwd: project.dir });
        const partial = current.exitCode === 0 ? (JSON.parse(String(current.stdout)).partial as unknown[]) : [];
        const expected = references.get(rows.join(','));
        const schema = await schemaDump(db.url);
        if (expected === undefined) problems.push(`no reference for version rows [${rows}]`);
        else if (schema !== expected && partial.length === 0) problems.push(`schema differs from the reference at [${rows.join(',') || 'base'}] and nothing is flagged half-applied`);
        if (partial.length > 0) {
          const reconcile = await cli(['--database-url', db.url, 'reconcile'], { cwd: project.dir });
          if (reconcile.exitCode !== 0) problems.push(`reconcile exit ${reconcile.exitCode}: ${String(reconcile.all).slice(-300)}`);
        }
        const rerun = await cli(['--database-url', db.url, 'upgrade', 'head'], { cwd: project.dir });
        if (rerun.exitCode !== 0) problems.push(`rerun upgrade head exit ${rerun.exitCode}: ${String(rerun.all).slice(-300)}`);
        const check = await cli(['--database-url', db.url, 'check'], { cwd: project.dir });
        if (check.exitCode !== 0) problems.push(`check exit ${check.exitCode}: ${String(check.all).slice(-300)}`);
        const applied = await db.query<{ n: number; d: number }>("SELECT count(*)::int AS n, count(DISTINCT revision)::int AS d FROM mutx_ops.ledger WHERE outcome = 'applied'");
        if (applied.rows[0]!.n !== applied.rows[0]!.d) problems.push(`a revision was recorded applied twice (${applied.rows[0]!.n} rows for ${applied.rows[0]!.d} revisions)`);
      } catch (error) {
        problems.push(`aborted: ${(error as Error).message.split('\n')[0]}`);
      } finally {
        await db.drop();
      }
      s.iteration(`round ${round} (kill ${victim} after ${delayMs} ms)`, problems);
    }
  });
  if (scenario.failures.length) throw new Error(`${scenario.failures.length} failure(s), first: ${scenario.failures[0]}`);
}, 900_000);
