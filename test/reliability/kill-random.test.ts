import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, createTestProject, type TestDatabase, type TestProject } from '../helpers/db';
import { checkAfterFault, cli, ReferenceCatalogs, rngFor, runScenario, Scenario, sleep, versionRows, writeTimedChain, type FaultContext } from './support';

/**
 * kill -9 of `upgrade` / `downgrade` after a seeded random delay, from a random starting
 * revision to a random target, on migrations that do real work on a table with rows. After
 * every kill: the catalog is the version table's revision, the ledger agrees, no advisory lock
 * is left, the audit chain verifies, the next start records the interruption, and a rerun
 * (upgrade head, check) finishes.
 */
const KILLS = Number(process.env.MUTX_RANDOM_KILLS ?? 40);

let db: TestDatabase;
let project: TestProject;
let ctx: FaultContext;
let ids: string[];

beforeAll(async () => {
  db = await createTestDatabase('mutx_rel_kill');
  project = createTestProject({ copyMigrations: false, settings: 'lock_wait_seconds: 30\n' });
  ids = writeTimedChain(project.migrationsDir);
  ctx = { db, project, refs: new ReferenceCatalogs(project.migrationsDir), head: ids.at(-1)! };
});
afterAll(async () => {
  await db?.drop();
  await ctx?.refs.close();
  project?.cleanup();
});

const position = (rows: string[]) => (rows.length === 0 ? 0 : ids.indexOf(rows[0]!) + 1);

it(`survives ${KILLS} kill -9 at random points of upgrade and downgrade`, async () => {
  const scenario = new Scenario(
    'kill -9 at a seeded random delay (upgrade / downgrade, 8 timed revisions)',
    'catalog = reference catalog at the version table revision (pg_dump -s; non-transactional partial states allowed); ledger agrees with version table; no advisory lock; audit verify; next start closes the op as interrupted; one end record per op; rerun upgrade head + check exit 0',
    'kill-random',
  );
  await runScenario(scenario, async (s) => {
    const rng = rngFor('kill-random');
    let attempts = 0;
    while (s.iterations < KILLS && attempts < KILLS * 4) {
      attempts++;
      // A random starting revision, reached without faults.
      const start = rng.int(0, ids.length);
      const now = position(await versionRows(db));
      if (start !== now) {
        const setup = await cli(['--database-url', db.url, start > now ? 'upgrade' : 'downgrade', start === 0 ? 'base' : ids[start - 1]!], { cwd: project.dir });
        if (setup.exitCode !== 0) throw new Error(`setup to ${start} failed: ${String(setup.all)}`);
      }
      const direction = start === 0 ? 'upgrade' : start === ids.length ? 'downgrade' : rng.chance(0.5) ? 'upgrade' : 'downgrade';
      let target: string;
      let steps: number;
      if (direction === 'upgrade') {
        const to = rng.int(start + 1, ids.length);
        steps = to - start;
        target = to === ids.length && rng.chance(0.5) ? 'head' : rng.chance(0.5) ? `+${steps}` : ids[to - 1]!;
      } else {
        const to = rng.int(0, start - 1);
        steps = start - to;
        target = to === 0 ? (rng.chance(0.5) ? 'base' : `-${steps}`) : rng.chance(0.5) ? `-${steps}` : ids[to - 1]!;
      }
      // Node start-up and connecting take ~150 ms; each revision ~60-120 ms.
      const delay = rng.int(40, 180 + steps * 110);
      const run = cli(['--database-url', db.url, direction, target], { cwd: project.dir });
      await sleep(delay);
      run.kill('SIGKILL');
      const result = await run;
      if (result.signal !== 'SIGKILL') continue; // finished before the kill: not a kill point
      const label = `#${s.iterations + 1} ${direction} ${target} from ${start === 0 ? 'base' : ids[start - 1]} killed after ${delay} ms`;
      s.iteration(label, await checkAfterFault(ctx));
    }
    if (s.iterations < KILLS) s.fail(`only ${s.iterations} of ${KILLS} kills landed while the command ran`);
  });
  expect(scenario.failures).toEqual([]);
});
