import { afterAll, beforeAll, expect, it } from 'vitest';
import { adoptCatalog, createBackupFixture, FORMATS, killRestore, record, restoreSources, scramble, timed, type BackupFixture, type RestoreSource } from './backupFaults';
import { rngFor, runScenario, Scenario } from './support';

/**
 * kill -9 of `mutx-ops restore FILE --yes` (custom, plain and directory backups; with and
 * without the safety backup) after a seeded random delay scaled to the real duration, over a
 * database moved away from the backup (0–2 revisions down, rows changed). After every kill:
 * the database is exactly as before or exactly as the backup (one transaction), the usual
 * invariants hold, and a rerun of the restore succeeds with the backup's revision and rows.
 */
const KILLS = Number(process.env.MUTX_RESTORE_KILLS ?? 10);

let fx: BackupFixture;
let sources: RestoreSource[];
const duration = new Map<string, number>();

beforeAll(async () => {
  fx = await createBackupFixture('mutx_rel_killrs', 100_000);
  sources = await restoreSources(fx, FORMATS);
  const rng = rngFor('kill-restore-setup');
  for (const source of sources) {
    await scramble(fx, rng, 'timing');
    duration.set(source.format, await timed(fx, ['restore', source.file, '--yes']));
  }
  adoptCatalog(fx);
});
afterAll(async () => {
  await fx?.close();
});

it(`survives ${KILLS} kill -9 at random points of a restore`, async () => {
  const scenario = new Scenario(
    'kill -9 of `restore FILE` at a seeded random delay (custom / plain / directory, ± safety backup, 100k rows)',
    "the database is exactly as before or exactly as the backup (version table and every table's rows); killed sessions (psql, pg_restore) end; no advisory lock; catalog = reference at the version table revision; backups --json lists only complete, verified backups (a safety backup completed before the kill passes backup verify); audit verify; the next start closes the op as interrupted; files 0600 / folders 0700; rerun restore exit 0 with the backup's revision and rows",
    'kill-restore',
  );
  await runScenario(scenario, async (s) => {
    const rng = rngFor('kill-restore');
    let attempts = 0;
    while (s.iterations < KILLS && attempts < KILLS * 4) {
      attempts++;
      const source = rng.pick(sources);
      const ms = rng.int(40, Math.round(duration.get(source.format)! * 1.05));
      const { landed, label, problems } = await killRestore(fx, rng, source, ms, `${attempts}`);
      if (landed) record(s, `#${s.iterations + 1} ${label}`, problems);
      else if (problems.length) record(s, label, problems);
    }
    if (s.iterations < KILLS) s.fail(`only ${s.iterations} of ${KILLS} kills landed while the restore ran`);
  });
  expect(scenario.failures).toEqual([]);
});
