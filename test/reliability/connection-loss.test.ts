import { afterAll, beforeAll, expect, it } from 'vitest';
import { adminQuery, createTestDatabase, createTestProject, type TestDatabase, type TestProject } from '../helpers/db';
import { faultPoints, reach, runToPoint } from './faultPoints';
import {
  checkAuditAfterFault,
  checkDatabaseState,
  checkRerun,
  cli,
  oneLineErrorProblems,
  readAuditLines,
  ReferenceCatalogs,
  repair,
  rngFor,
  runScenario,
  Scenario,
  sleep,
  writeTimedChain,
  type FaultContext,
} from './support';

/**
 * Connection loss: pg_terminate_backend of mutx-ops' sessions (found the way an operator would:
 * application_name LIKE 'mutx-ops:%' on the database) mid-migration. The step is rolled back,
 * the error is one clear line (no stack trace, not an "internal error"), the audit records the
 * failure, and a rerun succeeds.
 */
const RANDOM = Number(process.env.MUTX_TERMINATIONS ?? 12);

let db: TestDatabase;
let project: TestProject;
let ctx: FaultContext;
let ids: string[];

beforeAll(async () => {
  db = await createTestDatabase('mutx_rel_connloss');
  project = createTestProject({ copyMigrations: false, settings: 'lock_wait_seconds: 30\nlock_timeout_seconds: 60\n' });
  ids = writeTimedChain(project.migrationsDir, 5_000);
  ctx = { db, project, refs: new ReferenceCatalogs(project.migrationsDir), head: ids.at(-1)! };
  const first = await cli(['--database-url', db.url, 'upgrade', 'head'], { cwd: project.dir });
  if (first.exitCode !== 0) throw new Error(String(first.all));
});
afterAll(async () => {
  await db?.drop();
  await ctx?.refs.close();
  project?.cleanup();
});

async function terminate(): Promise<number> {
  const result = await adminQuery<{ ok: boolean }>("SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name LIKE 'mutx-ops:%' AND datname = $1", [db.name]);
  return result.rows.filter((row) => row.ok).length;
}

const CHECKED =
  'exit 1 (0 when the work was already done); one-line error on stderr, no stack trace, not "internal error"; the audit end record says failed with the same error; catalog = reference at the version table revision; ledger agrees; no advisory lock; audit verify; rerun upgrade head + check exit 0';

async function afterTermination(result: Awaited<ReturnType<typeof cli>>, allowSuccess: boolean): Promise<string[]> {
  const problems: string[] = [];
  if (result.exitCode === 0) {
    if (!allowSuccess) problems.push('exited 0 although its session was terminated mid-migration');
  } else {
    if (result.exitCode !== 1) problems.push(`exit code ${result.exitCode}, expected 1`);
    problems.push(...oneLineErrorProblems(result));
    const records = readAuditLines(project.auditPath);
    const end = [...records].reverse().find((r) => r.phase === 'end' && (r.action === 'upgrade' || r.action === 'downgrade'));
    if (!end) problems.push('no end record for the interrupted command');
    else {
      if (end.outcome !== 'failed') problems.push(`audit end record outcome ${end.outcome}, expected failed`);
      const line = String(result.stderr).split('\n').find((l) => l.startsWith('mutx-ops: ')) ?? '';
      if (!end.error || !line.includes(end.error)) problems.push(`audit end record error ${JSON.stringify(end.error)} is not the error printed (${JSON.stringify(line.slice(0, 160))})`);
    }
  }
  problems.push(...(await checkDatabaseState(ctx)), ...(await checkAuditAfterFault(ctx)), ...(await checkRerun(ctx)));
  if (problems.length) await repair(ctx);
  return problems;
}

it('pg_terminate_backend at chosen points of a migration', async () => {
  const scenario = new Scenario('connection loss: pg_terminate_backend at pg_stat_activity points', CHECKED, 'connection-loss');
  await runScenario(scenario, async (s) => {
    for (const point of faultPoints(ids)) {
      let terminated = 0;
      const { result, reached } = await runToPoint(ctx, ids, point, async () => {
        terminated = await terminate();
      });
      const problems: string[] = [];
      if (!reached) problems.push(`the command never reached the point (exit ${result.exitCode})`);
      if (terminated === 0) problems.push('no mutx-ops session to terminate');
      // The audit mirror runs after the operation succeeded: losing the connection then is harmless.
      problems.push(...(await afterTermination(result, /audit mirror/.test(point.name))));
      s.iteration(point.name, problems);
    }
  });
  expect(scenario.failures).toEqual([]);
});

it(`pg_terminate_backend after ${RANDOM} seeded random delays`, async () => {
  const scenario = new Scenario(`connection loss: pg_terminate_backend after a seeded random delay`, CHECKED, 'connection-loss');
  await runScenario(scenario, async (s) => {
    const rng = rngFor('connection-loss');
    let attempts = 0;
    while (s.iterations < RANDOM && attempts < RANDOM * 4) {
      attempts++;
      const from = rng.int(0, ids.length - 1);
      await reach(ctx, ids, from);
      const run = cli(['--database-url', db.url, 'upgrade', 'head'], { cwd: project.dir });
      const delay = rng.int(150, 150 + (ids.length - from) * 90);
      await sleep(delay);
      const terminated = await terminate();
      const result = await run;
      if (terminated === 0) continue; // not connected yet, or already done: not a connection loss
      s.iteration(`upgrade head from ${from === 0 ? 'base' : ids[from - 1]}, terminated after ${delay} ms`, await afterTermination(result, true));
    }
  });
  expect(scenario.failures).toEqual([]);
});
