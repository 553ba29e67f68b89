import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, createTestProject, schemaDump, type TestProject } from '../helpers/db';
import { advisoryLocks, cli, firstDifference, ReferenceCatalogs, rngFor, runScenario, Scenario, versionRows, writeTimedChain } from './support';

/**
 * Issue 15, item 2: `upgrade head` racing `restore latest --yes` on the same database, started
 * a seeded random 0–600 ms apart in either order. Both take the migration lock, so whichever
 * runs second sees the first one's result: the database ends either exactly as the backup
 * (restore last) or at head (upgrade last) — never version rows of one and tables of the other.
 */
const ROUNDS = Number(process.env.MUTX_RESTORE_RACE_ROUNDS ?? 12);

let project: TestProject;
let refs: ReferenceCatalogs;
let ids: string[];

beforeAll(async () => {
  project = createTestProject({ copyMigrations: false, settings: 'lock_wait_seconds: 60\n' });
  ids = writeTimedChain(project.migrationsDir, 3_000);
  refs = new ReferenceCatalogs(project.migrationsDir);
});
afterAll(async () => {
  await refs?.close();
  project?.cleanup();
});

it(`upgrade head racing restore latest, ${ROUNDS} rounds: one consistent state, never a mix`, async () => {
  const scenario = new Scenario(
    `race: upgrade head × restore latest --yes (${ROUNDS} rounds, seeded start offsets, both orders)`,
    'both exit 0; version = backup revision with its catalog, or head with the head catalog; the ledger replays to the version rows; no advisory lock left',
    'restore-race',
  );
  const rng = rngFor('restore-race');
  const start = ids[1]!;
  await runScenario(scenario, async (s) => {
    for (let round = 1; round <= ROUNDS; round++) {
      const db = await createTestDatabase('mutx_rel_rrace');
      const problems: string[] = [];
      try {
        const run = (args: string[], operator: string) => cli(['--database-url', db.url, ...args], { cwd: project.dir, env: { MUTX_OPERATOR: operator } });
        if ((await run(['upgrade', start], 'setup')).exitCode !== 0) throw new Error('setup upgrade failed');
        const format = round % 2 === 0 ? 'plain' : 'custom';
        if ((await run(['backup', '--format', format], 'setup')).exitCode !== 0) throw new Error('setup backup failed');
        const restoreFirst = rng.int(0, 1) === 1;
        const offset = rng.int(0, 600);
        const sleep = () => new Promise((resolve) => setTimeout(resolve, offset));
        const upgrade = restoreFirst ? sleep().then(() => run(['upgrade', 'head'], 'upgrader')) : run(['upgrade', 'head'], 'upgrader');
        const restore = restoreFirst ? run(['restore', 'latest', '--yes', '--no-safety-backup'], 'restorer') : sleep().then(() => run(['restore', 'latest', '--yes', '--no-safety-backup'], 'restorer'));
        const [u, r] = await Promise.all([upgrade, restore]);
        if (u.exitCode !== 0) problems.push(`upgrade exit ${u.exitCode}: ${String(u.all).slice(0, 200)}`);
        if (r.exitCode !== 0) problems.push(`restore exit ${r.exitCode}: ${String(r.all).slice(0, 200)}`);
        const rows = await versionRows(db);
        const atHead = rows.join(',') === ids.at(-1);
        const atBackup = rows.join(',') === start;
        if (!atHead && !atBackup) problems.push(`version rows [${rows}] are neither the backup's ${start} nor head`);
        else {
          const expected = await refs.get(rows);
          const catalog = await schemaDump(db.url);
          if (catalog !== expected) problems.push(`version [${rows}] but the catalog differs: ${firstDifference(expected, catalog)}`);
        }
        // The ledger, replayed, lands on the version rows.
        const ledger = (await db.query<{ revision: string; direction: string; outcome: string }>('SELECT revision, direction, outcome FROM mutx_ops.ledger ORDER BY id')).rows;
        const applied = new Set<string>();
        for (const row of ledger) {
          if (row.direction === 'upgrade' && row.outcome === 'applied') applied.add(row.revision);
          if (row.direction === 'downgrade' && row.outcome === 'reverted') applied.delete(row.revision);
        }
        const expectedApplied = ids.slice(0, ids.indexOf(rows[0] ?? '') + 1);
        if ([...applied].sort().join(',') !== expectedApplied.join(',')) problems.push(`ledger says applied [${[...applied].sort()}], version rows say [${expectedApplied}]`);
        const waited = /waiting for the migration lock/.test(String(u.stderr)) || /waiting for the migration lock/.test(String(r.stderr));
        const upgradedSomething = /upgraded/.test(String(u.stdout));
        // With the restore last, the upgrade ran first and the restore must have waited (or started after it ended).
        if (atBackup && !upgradedSomething) problems.push('ended at the backup although the upgrade applied nothing');
        if ((await advisoryLocks(db)) !== 0) problems.push('an advisory lock is left');
        s.iteration(`round ${round} (${restoreFirst ? 'restore' : 'upgrade'} first, +${offset} ms, ${format}, ${waited ? 'one waited' : 'no overlap'})`, problems);
      } finally {
        await db.drop();
      }
    }
  });
  expect(scenario.failures).toEqual([]);
});
