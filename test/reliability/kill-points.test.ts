import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, createTestProject, type TestDatabase, type TestProject } from '../helpers/db';
import { faultPoints, reach, runToPoint } from './faultPoints';
import { checkAfterFault, cli, ReferenceCatalogs, runScenario, Scenario, writeTimedChain, type FaultContext } from './support';

/**
 * kill -9 at chosen points: (1) points seen in pg_stat_activity (a blocker holds the lock the
 * next statement needs, so the kill lands exactly there), and (2) points inside the process
 * that no timer can hit (between writing an audit record and its head marker, …), reached with
 * a preload that makes the real built CLI SIGKILL itself there.
 */
const CHECKED = 'same invariants as the random kills: catalog ↔ version table ↔ ledger, no advisory lock, audit verify, interruption recorded on the next start, exactly one end record per op, rerun upgrade head + check exit 0';

let db: TestDatabase;
let project: TestProject;
let ctx: FaultContext;
let ids: string[];

beforeAll(async () => {
  db = await createTestDatabase('mutx_rel_points');
  // A long lock_timeout: the blocked statements wait for the kill instead of timing out.
  project = createTestProject({ copyMigrations: false, settings: 'lock_wait_seconds: 30\nlock_timeout_seconds: 60\n' });
  ids = writeTimedChain(project.migrationsDir, 5_000);
  ctx = { db, project, refs: new ReferenceCatalogs(project.migrationsDir), head: ids.at(-1)! };
  // The first run creates the ledger and audit mirror tables the blockers lock.
  const first = await cli(['--database-url', db.url, 'upgrade', 'head'], { cwd: project.dir });
  if (first.exitCode !== 0) throw new Error(String(first.all));
});
afterAll(async () => {
  await db?.drop();
  await ctx?.refs.close();
  project?.cleanup();
});

it('kill -9 at points visible in pg_stat_activity', async () => {
  const scenario = new Scenario('kill -9 at pg_stat_activity points (lock wait, each statement kind, version UPDATE, ledger INSERT, non-transactional step, audit mirror)', CHECKED, 'kill-points');
  await runScenario(scenario, async (s) => {
    for (const point of faultPoints(ids)) {
      const { result, reached } = await runToPoint(ctx, ids, point, async (run) => {
        run.kill('SIGKILL');
      });
      const problems: string[] = [];
      if (!reached) problems.push(`the command never reached the point (exit ${result.exitCode}): ${String(result.all).trim().split('\n').at(-1)}`);
      if (result.signal !== 'SIGKILL') problems.push(`the command was not killed (exit ${result.exitCode})`);
      problems.push(...(await checkAfterFault(ctx)));
      s.iteration(point.name, problems);
    }
  });
  expect(scenario.failures).toEqual([]);
});

const processPoints: { point: string; nth: number; what: string; from: number }[] = [
  { point: 'audit-record-before-write', nth: 2, from: 3, what: 'migrations committed, killed before the end audit record is written' },
  { point: 'audit-lock-created', nth: 1, from: 3, what: 'audit file lock linked into place (pid already in it), killed before the record is written and the lock removed' },
  { point: 'audit-record-written', nth: 1, from: 3, what: 'start audit record written, killed before fsync and the head marker update' },
  { point: 'audit-head-rename', nth: 2, from: 3, what: 'end audit record written, killed before the head marker is renamed into place' },
  { point: 'op-marker-write', nth: 1, from: 3, what: 'killed before the open-operation marker (and so the start record) is written' },
  { point: 'audit-record-before-write', nth: 1, from: 3, what: 'open-operation marker written, killed before the start audit record is written' },
  { point: 'op-marker-remove', nth: 1, from: 3, what: 'end audit record written, killed before the open-operation marker is removed' },
];

it('kill -9 inside the audit writer (preloaded kill points in the real CLI)', async () => {
  const scenario = new Scenario('kill -9 at in-process points of the audit writer (SIGKILL from a preload, upgrade head)', CHECKED, 'kill-points');
  await runScenario(scenario, async (s) => {
    for (const { point, nth, what, from } of processPoints) {
      // Each point gets its own project (and so its own audit trail): one broken trail must not hide the next case.
      const own = createTestProject({ copyMigrations: false, settings: 'lock_wait_seconds: 30\nlock_timeout_seconds: 60\n' });
      for (const name of fs.readdirSync(project.migrationsDir)) fs.copyFileSync(path.join(project.migrationsDir, name), path.join(own.migrationsDir, name));
      const pointCtx: FaultContext = { ...ctx, project: own };
      const problems: string[] = [];
      try {
        await reach(pointCtx, ids, from);
        const result = await cli(['--database-url', db.url, 'upgrade', 'head'], { cwd: own.dir, killAt: { point, nth } });
        if (result.signal !== 'SIGKILL') problems.push(`the kill point was not reached (exit ${result.exitCode}): ${String(result.all).trim().split('\n').at(-1)}`);
        problems.push(...(await checkAfterFault(pointCtx)));
      } finally {
        own.cleanup();
      }
      s.iteration(`${point} #${nth} (${what})`, problems);
    }
  });
  expect(scenario.failures).toEqual([]);
});
