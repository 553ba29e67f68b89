import { afterAll, beforeAll, expect, it } from 'vitest';
import { auditFiles, createPermissionFixture, permissionOps, permissionStep, type PermissionFixture } from './privacy';
import { privateModeProblems, record } from './backupFaults';
import { rngFor, runScenario, Scenario } from './support';

/**
 * Backups, sidecars, the audit trail and run state are 0600 and their folders 0700 whatever the
 * operator's umask (000, 002, 022, 077), after a seeded sequence of backups (every format),
 * restores, verifications, prunes, runs and migrations — some started with the folder they write
 * into loosened to 0755 (and the audit file to 0644), which the command must tighten again.
 * The audit trail does not rotate (src/core/audit.ts has no rotation): it stays one file.
 */
const STEPS = Number(process.env.MUTX_PERMISSION_STEPS ?? 24);
const UMASKS = ['000', '002', '022', '077'];

let fx: PermissionFixture;

beforeAll(async () => {
  fx = await createPermissionFixture();
});
afterAll(async () => {
  await fx?.close();
});

it(`keeps every file private through ${STEPS} seeded operations under random umasks`, async () => {
  const scenario = new Scenario(
    'permissions: backups, sidecars, audit trail, run state under umask 000/002/022/077 (incl. after backups prune)',
    'after each operation every folder under .mutx-ops is 0700 and every file 0600 (a loosened backups/runs/state folder or audit file is tightened by the next command that writes there); prune removed down to --keep; the audit trail stays one file (no rotation exists)',
    'permissions',
  );
  await runScenario(scenario, async (s) => {
    const rng = rngFor('permissions');
    // The first command creates .mutx-ops under the most permissive umask.
    const first = await permissionStep(fx, '000', { name: 'upgrade head', args: ['upgrade', 'head'] });
    record(s, 'umask 000: upgrade head (creates .mutx-ops)', first);
    for (const [i, op] of permissionOps(rng, STEPS).entries()) {
      const umask = rng.pick(UMASKS);
      record(s, `#${i + 1} umask ${umask}: ${op.name}${op.loosen ? ` (${op.loosen.map((d) => (d === '.' ? '.mutx-ops and audit.jsonl' : d)).join(', ')} loosened first)` : ''}`, await permissionStep(fx, umask, op));
    }
    const prune = await permissionStep(fx, '000', { name: 'backups prune --keep 1', args: ['backups', 'prune', '--keep', '1'] });
    record(s, 'umask 000: backups prune --keep 1 (last)', [...prune, ...privateModeProblems(fx.stateDir)]);
    const files = auditFiles(fx.stateDir).filter((name) => !/^audit\.jsonl(\.head|\.open)?$/.test(name));
    record(s, 'the audit trail is one file (no rotation)', files.length ? [`unexpected audit files: ${files.join(', ')}`] : []);
  });
  expect(scenario.failures).toEqual([]);
});
