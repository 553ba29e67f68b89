import { afterAll, beforeAll, expect, it } from 'vitest';
import { adoptCatalog, BACKUP_POINTS, createBackupFixture, FORMATS, killBackup, record, timed, type BackupFixture, type Format } from './backupFaults';
import { rngFor, runScenario, Scenario } from './support';

/**
 * kill -9 of `mutx-ops backup` (custom, plain, directory with and without --jobs) after a seeded
 * random delay scaled to the real duration, and at the in-process points between its steps
 * (before the start record, before NAME.partial is renamed, before / during the sidecar, before
 * the end record). After every kill: the killed sessions (pg_dump's too) end, no advisory lock,
 * the catalog matches the version table, `backups --json` lists only complete, verified
 * backups and loses none, the audit chain verifies and the next start records the
 * interruption, every file under .mutx-ops is private, and a rerun takes a verified backup.
 */
const KILLS = Number(process.env.MUTX_BACKUP_KILLS ?? 10);

let fx: BackupFixture;
const duration = new Map<Format, number>();

beforeAll(async () => {
  fx = await createBackupFixture('mutx_rel_killbk', 100_000);
  for (const format of FORMATS) {
    duration.set(format, await timed(fx, ['backup', '--format', format]));
  }
  // The timed backups above are complete: the catalog starts with them.
  adoptCatalog(fx);
});
afterAll(async () => {
  await fx?.close();
});

const CHECKED =
  "killed sessions (pg_dump's too) end; no advisory lock; catalog = reference at the version table revision; ledger agrees; backups --json lists only complete, verified backups (checksum, no .partial/.tmp) and loses none; one completed by the killed process passes backup verify; audit verify; the next start closes the op as interrupted; one end record per op; files 0600 / folders 0700; rerun backup exit 0, verified";

it(`survives ${KILLS} kill -9 at random points of a backup`, async () => {
  const scenario = new Scenario('kill -9 of `backup` at a seeded random delay (custom / plain / directory, 100k rows)', CHECKED, 'kill-backup');
  await runScenario(scenario, async (s) => {
    const rng = rngFor('kill-backup');
    let attempts = 0;
    while (s.iterations < KILLS && attempts < KILLS * 4) {
      attempts++;
      const format = rng.pick(FORMATS);
      const ms = rng.int(40, Math.round(duration.get(format)! * 1.05));
      const { landed, label, problems } = await killBackup(fx, rng, format, { kind: 'delay', ms });
      if (landed) record(s, `#${s.iterations + 1} ${label}`, problems);
    }
    if (s.iterations < KILLS) s.fail(`only ${s.iterations} of ${KILLS} kills landed while the backup ran`);
  });
  expect(scenario.failures).toEqual([]);
});

it('survives kill -9 at each in-process point of a backup', async () => {
  const scenario = new Scenario('kill -9 of `backup` at in-process points (before the start record, before the rename, before / during the sidecar, before the end record)', CHECKED, 'kill-backup');
  await runScenario(scenario, async (s) => {
    const rng = rngFor('kill-backup-points');
    for (const spec of BACKUP_POINTS) {
      const { label, problems } = await killBackup(fx, rng, rng.pick(FORMATS), spec);
      record(s, label, problems);
    }
  });
  expect(scenario.failures).toEqual([]);
});
