import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { listBackups } from '../../src/core/backup';
import { loadProjectSettings } from '../../src/core/config';
import { createBackupFixture, killRun, listRuns, record, runArgs, runStatePoint, timed, type BackupFixture, type RunbookName } from './backupFaults';
import { reach } from './faultPoints';
import { rngFor, runScenario, Scenario } from './support';

/**
 * kill -9 of a headless `mutx-ops run deploy|emergency-rollback --yes` (the repository's
 * runbooks: backup, migrate, verify, a 1 s watch of an empty log), half after a seeded random
 * delay, half at a seeded save of the run state (killpoint.mjs: before the N-th rename of
 * runs/ID.json). After every kill: the usual invariants, then `mutx-ops runs --json` lists the
 * run as interrupted and `mutx-ops run --resume ID --yes` finishes it (exit 0) at the revision
 * the runbook ends at.
 */
const KILLS = Number(process.env.MUTX_RUN_KILLS ?? 10);
const RUNBOOKS: RunbookName[] = ['deploy', 'emergency-rollback'];

let fx: BackupFixture;
const duration = new Map<RunbookName, number>();

beforeAll(async () => {
  fx = await createBackupFixture('mutx_rel_killrun', 20_000);
  for (const runbook of RUNBOOKS) {
    await reach(fx, fx.ids, runbook === 'deploy' ? fx.ids.length - 1 : fx.ids.length);
    duration.set(runbook, await timed(fx, runArgs(fx, runbook)));
  }
  fx.known.clear();
  // The runs above took backups: start from a clean catalog.
  for (const name of fs.readdirSync(fx.backupsDir)) fs.rmSync(path.join(fx.backupsDir, name), { recursive: true, force: true });
});
afterAll(async () => {
  await fx?.close();
});

it(`resumes ${KILLS} headless runs killed with kill -9`, async () => {
  const scenario = new Scenario(
    'kill -9 of `run deploy|emergency-rollback --yes` (seeded delay / seeded run-state save), then `run --resume`',
    'usual invariants (sessions end, no advisory lock, catalog = reference at the version table, backups --json complete and verified, audit verify, the next start closes the ops as interrupted, files 0600 / folders 0700); runs --json lists the run as interrupted; run --resume ID --yes exits 0 and the run is completed at the revision the runbook ends at (a kill before the first state save must leave the database untouched)',
    'kill-run',
  );
  await runScenario(scenario, async (s) => {
    const rng = rngFor('kill-run');
    let attempts = 0;
    while (s.iterations < KILLS && attempts < KILLS * 4) {
      attempts++;
      const runbook = rng.pick(RUNBOOKS);
      const spec = s.iterations % 2 === 0 ? { kind: 'delay' as const, ms: rng.int(80, Math.round(duration.get(runbook)! * 1.05)) } : runStatePoint(runbook, rng);
      const { landed, label, problems } = await killRun(fx, rng, runbook, spec);
      if (landed) record(s, `#${s.iterations + 1} ${label}`, problems);
      else if (problems.length) record(s, label, problems);
    }
    if (s.iterations < KILLS) s.fail(`only ${s.iterations} of ${KILLS} kills landed while the run ran`);
  });
  expect(scenario.failures).toEqual([]);
});

/**
 * Found by this scenario (fixed since): recheckStep looks for the step's backup with
 * `createdAt >= stepState.startedAt`, but the engine overwrote startedAt with the resume time
 * first, so a backup that completed (and was verified) before the kill was never found and the
 * resumed run dumped the database again. Killed at the save that would have marked the backup
 * step done (the second save of the run state that names the backup).
 */
it('a run killed after its backup step finished, before the step was saved done, re-checks it on resume and takes no second backup', async () => {
  const scenario = new Scenario(
    'kill -9 of `run emergency-rollback` after its backup was taken and verified, before the step is saved done, then `run --resume`',
    'the killed run left one catalogued, verified backup of the step; run --resume exits 0, re-checks the step ("re-checked, not re-run") and takes no second backup',
    'kill-run',
  );
  let problems: string[] = [];
  await runScenario(scenario, async (s) => {
    await reach(fx, fx.ids, fx.ids.length);
    const seen = new Set((await listRuns(fx)).map((r) => r.id));
    const killed = await fx.run(runArgs(fx, 'emergency-rollback'), { killAt: { point: 'run-state-with-backup', nth: 2 } });
    problems = [];
    const run = (await listRuns(fx)).find((r) => !seen.has(r.id));
    const settings = loadProjectSettings({ cwd: fx.project.dir });
    const ofRun = () => (run ? listBackups(settings).filter((b) => b.label?.includes(run.id)) : []);
    const before = ofRun();
    if (killed.signal !== 'SIGKILL') problems.push(`the kill point was not reached (exit ${killed.exitCode})`);
    else if (!run) problems.push('the killed run left no run state');
    else if (before.length !== 1 || before[0]!.verified?.ok !== true) problems.push(`precondition: expected one verified backup of the run, found ${before.length} (${JSON.stringify(before.map((b) => b.verified ?? null))})`);
    else {
      const resumed = await fx.run(['run', '--resume', run.id, '--yes', '--log-source', fx.emptyLog, '--logs-duration', '1']);
      if (resumed.exitCode !== 0) problems.push(`run --resume exited ${resumed.exitCode}: ${String(resumed.all).trim().split('\n').at(-1)}`);
      const after = ofRun();
      if (after.length !== 1) problems.push(`the resumed backup step dumped again: ${after.length} backups labelled for run ${run.id} (${after.map((b) => path.basename(b.file)).join(', ')})`);
      if (!/re-checked, not re-run/.test(String(resumed.stdout))) problems.push('the resumed backup step was not re-checked (no "re-checked, not re-run")');
    }
    record(s, 'run emergency-rollback killed at run-state-with-backup #2 (backup taken and verified), then resumed', problems);
  });
  expect(problems).toEqual([]);
});
