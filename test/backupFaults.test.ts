import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adoptCatalog,
  BACKUP_POINTS,
  createBackupFixture,
  killBackup,
  killRestore,
  killRun,
  restoreSources,
  runStatePoint,
  terminateMidBackup,
  type BackupFixture,
  type KillIteration,
  type RestoreSource,
} from './reliability/backupFaults';
import { describeFailure, OutputTail } from '../src/core/backup/tools';
import { rngFor } from './reliability/support';

/**
 * Fast subset of the backup/restore/run fault scenarios of `npm run reliability` (kill-backup,
 * kill-restore, kill-run, backup-connection-loss): one or two faults of each kind on a small
 * database, with the same invariants. Seeded by MUTX_SEED, else the fixed default.
 */
let fx: BackupFixture;
let source: RestoreSource;

beforeAll(async () => {
  fx = await createBackupFixture('mutx_fast_bkfault', 20_000);
  source = (await restoreSources(fx, ['custom']))[0]!;
  adoptCatalog(fx);
}, 120_000);
afterAll(async () => {
  await fx?.close();
});

/** Retries a delay-kill that landed after the command finished (not a kill point). */
async function landed(attempt: () => Promise<KillIteration>, tries = 4): Promise<KillIteration> {
  let last: KillIteration | undefined;
  for (let i = 0; i < tries; i++) {
    last = await attempt();
    if (last.landed || last.problems.length) return last;
  }
  return { ...last!, problems: [`no kill landed in ${tries} tries`] };
}

describe('kill -9 of backup, restore and a headless run', () => {
  it('backup killed after a seeded delay', async () => {
    const rng = rngFor('fast-kill-backup');
    const result = await landed(() => killBackup(fx, rng, rng.pick(['custom', 'plain', 'directory'] as const), { kind: 'delay', ms: rng.int(200, 450) }));
    expect(result.problems, result.label).toEqual([]);
  }, 60_000);

  it('backup killed with its sidecar written but not yet renamed into place', async () => {
    const rng = rngFor('fast-kill-backup-point');
    const result = await killBackup(fx, rng, 'custom', BACKUP_POINTS.find((p) => p.kind === 'point' && p.point === 'sidecar-rename')!);
    expect(result.problems, result.label).toEqual([]);
  }, 60_000);

  it('restore killed after a seeded delay: as before or as the backup, and a rerun restores it', async () => {
    const rng = rngFor('fast-kill-restore');
    const result = await landed(() => killRestore(fx, rng, source, rng.int(250, 600), 'fast', 0));
    expect(result.problems, result.label).toEqual([]);
  }, 90_000);

  it('run deploy killed at a seeded save of its state, then run --resume finishes it', async () => {
    const rng = rngFor('fast-kill-run');
    const result = await landed(() => killRun(fx, rng, 'deploy', runStatePoint('deploy', rng)));
    expect(result.problems, result.label).toEqual([]);
  }, 90_000);
});

describe('connection loss mid-backup', () => {
  // Fixed (src/core/backup/tools.ts): pg_dump's error line mid-COPY is "… PQgetCopyData() failed.";
  // why (the server closed or terminated the connection) was only on its "detail:" line, dropped.
  it("the one-line failure carries the server's reason pg_dump relays", () => {
    const tail = new OutputTail();
    for (const line of [
      'pg_dump: dumping contents of table "public.k_items"',
      'pg_dump: error: Dumping the contents of table "k_items" failed: PQgetCopyData() failed.',
      'pg_dump: detail: Error message from server: server closed the connection unexpectedly',
      '\tThis probably means the server terminated abnormally',
      'pg_dump: detail: Command was: COPY public.k_items (id, body, score) TO stdout;',
    ])
      tail.push(line);
    expect(describeFailure('pg_dump', { exitCode: 1, canceled: false, ok: false, tail })).toBe(
      'pg_dump exited with code 1: Dumping the contents of table "k_items" failed: PQgetCopyData() failed. (server: server closed the connection unexpectedly)',
    );
  });

  it("pg_terminate_backend of pg_dump's session while it waits on a lock: one clear line, nothing catalogued, rerun works", async () => {
    const result = await terminateMidBackup(fx, { format: 'custom', at: { kind: 'lock', table: 'k_tags' }, victims: 'pg_dump', json: false });
    expect(result.landed).toBe(true);
    expect(result.problems, result.label).toEqual([]);
  }, 60_000);
});
