/**
 * Drills 3 and 4 driven headless to success and to failure on a real sandbox cluster: a
 * non-transactional migration failing half-way (reconcile), and a backup on a full disk
 * (the kernel's ENOSPC from /dev/full): the migration must not run without a verified backup.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listBackups } from '../src/core/backup';
import { createDrillProject, criterion, type DrillProject } from './helpers/drills';

let drills: DrillProject;

beforeAll(() => {
  drills = createDrillProject();
});
afterAll(async () => {
  await drills?.cleanup();
});

describe('drill 3: a non-transactional migration fails half-way', () => {
  it('reconciling passes: the half-applied indexes are backed out, nothing lost, revision unchanged', async () => {
    const { exitCode, debrief, all } = await drills.drill(['half-applied-migration', '--yes', '--on-failure', 'switch']);
    expect(exitCode, JSON.stringify(debrief.criteria)).toBe(0);
    expect(all).toMatch(/could not create unique index \\?"agents_owner_lower_name_key\\?"/);
    expect(debrief.runs.map((r) => [r.runbook, r.status])).toEqual([
      ['deploy', 'switched'],
      ['reconcile-half-applied', 'completed'],
    ]);
    for (const id of ['revision', 'no-half-applied', 'no-invalid-index', 'schema-matches', 'data-kept']) expect(criterion(debrief, id).ok, id).toBe(true);
    expect(debrief.timeline.some((t) => t.what === 'reconcile end' && t.outcome === 'ok')).toBe(true);
  });

  it('stopping at the failure does not pass: the ledger, the INVALID index and the schema all say so', async () => {
    const { exitCode, debrief } = await drills.drill(['half-applied-migration', '--yes']);
    expect(exitCode).toBe(3);
    expect(criterion(debrief, 'revision').ok).toBe(true); // the version table alone looks fine…
    expect(criterion(debrief, 'no-half-applied')).toMatchObject({ ok: false, observed: 'half-applied: upgrade d7a1c0ffee01' });
    expect(criterion(debrief, 'no-invalid-index')).toMatchObject({ ok: false, observed: 'agents_owner_lower_name_key' });
    expect(criterion(debrief, 'schema-matches')).toMatchObject({ ok: false });
    expect(criterion(debrief, 'schema-matches').observed).toMatch(/deployments_agent_started_idx/);
    // An emergency rollback now would undo the wrong revision: mutx-ops refuses until reconciled.
    const url = `${(await drills.cli(['sandbox', 'url'])).stdout}`.replace(/\/mutx$/, '/mutx_drill_half_applied_migration');
    const migrations = `${drills.project.dir}/.mutx-ops/drills/${debrief.drillId}/migrations`;
    const downgrade = await drills.cli(['--database-url', url, '--migrations', migrations, 'downgrade', '-1']);
    expect(downgrade.exitCode).toBe(3);
    expect(String(downgrade.stderr)).toMatch(/non-transactional upgrade of d7a1c0ffee01 failed mid-way/);
    // Reconciling by hand afterwards makes the re-check pass.
    expect((await drills.cli(['--database-url', url, '--migrations', migrations, 'reconcile'])).exitCode).toBe(0);
    const recheck = await drills.cli(['--json', 'drill', '--debrief', debrief.drillId]);
    expect(recheck.exitCode, String(recheck.stdout)).toBe(0);
  });
});

describe('drill 4: the backup fails on a full disk', () => {
  it('retrying after the disk is fixed passes: the upgrade ran only after a verified backup', async () => {
    const before = listBackups(drills.settings).length;
    const { exitCode, debrief, all } = await drills.drill(['backup-fails', '--yes', '--on-failure', 'retry']);
    expect(exitCode, JSON.stringify(debrief.criteria)).toBe(0);
    expect(all).toMatch(/no space left on device \(ENOSPC\); the partial file was removed/);
    expect(criterion(debrief, 'backup-first').ok).toBe(true);
    expect(criterion(debrief, 'revision').observed).toMatch(/\(head\)$/);
    // One backup catalogued (the retry); the failed one left no file behind.
    const backups = listBackups(drills.settings);
    expect(backups.length - before).toBe(1);
    expect(fs.readdirSync(drills.settings.backupsPath).filter((name) => name.endsWith('.partial'))).toEqual([]);
  });

  it('mode corrupt: the file damaged on disk fails verification, a retry takes a good one', async () => {
    const base = fs.readFileSync(`${drills.project.dir}/runbooks/drills/backup-fails.yaml`, 'utf8');
    fs.writeFileSync(`${drills.project.dir}/runbooks/drills/backup-corrupt.yaml`, base.replace('name: backup-fails', 'name: backup-corrupt').replace('mode: disk-full', 'mode: corrupt'));
    const { exitCode, debrief, all } = await drills.drill(['backup-corrupt', '--yes', '--on-failure', 'retry']);
    expect(exitCode, JSON.stringify(debrief.criteria)).toBe(0);
    expect(all).toMatch(/failed verification: .*checksum/i);
    expect(criterion(debrief, 'backup-first').ok).toBe(true);
    // The corrupted file stays catalogued as failing verification; the upgrade used the retry's.
    const ofDrill = listBackups(drills.settings).filter((b) => b.database === 'mutx_drill_backup_corrupt');
    expect(ofDrill.map((b) => b.verified?.ok).sort()).toEqual([false, true]);
  });

  it('giving up on the backup does not pass, and nothing was migrated', async () => {
    const { exitCode, debrief } = await drills.drill(['backup-fails', '--yes']);
    expect(exitCode).toBe(3);
    expect(criterion(debrief, 'revision')).toMatchObject({ ok: false });
    expect(criterion(debrief, 'backup-first')).toMatchObject({ ok: true, observed: 'no migration ran' });
    expect(debrief.skipped.some((s) => s.step === 'upgrade' && /^not reached: run failed at backup/.test(s.reason))).toBe(true);
  });
});
