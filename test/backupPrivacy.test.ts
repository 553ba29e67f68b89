import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateModeProblems } from './reliability/backupFaults';
import { auditFiles, createPermissionFixture, createSecretTarget, findSecret, permissionStep, secretForms, secretsRun, SECRET_PASSWORD, type PermissionFixture, type SecretTarget } from './reliability/privacy';

/**
 * Fast subset of the `secrets` and `permissions` reliability scenarios: the password never
 * shows in any process's argv (while pg_dump and pg_restore run), output, project file, audit
 * mirror or app frame; backups, sidecars, the audit trail and run state stay 0600 in 0700
 * folders under a permissive umask, also after `backups prune`.
 */
describe('secrets', () => {
  let target: SecretTarget;
  beforeAll(async () => {
    target = await createSecretTarget(160_000);
  }, 60_000);
  afterAll(async () => {
    await target?.close();
  });

  it('every form of the password is recognised', () => {
    const url = `postgresql://u:${encodeURIComponent(SECRET_PASSWORD)}@h/db`;
    expect(findSecret(url)).not.toEqual([]);
    expect(findSecret(JSON.stringify({ url: SECRET_PASSWORD }))).not.toEqual([]);
    expect(secretForms()).toContain('Sup3r-S3cret-pw!%2F%40%25');
    expect(findSecret('postgresql://u:***@h/db')).toEqual([]);
  });

  it('appears in no argv, output, file, mirror row or app frame', async () => {
    const result = await secretsRun(target, { full: false });
    expect(result.problems).toEqual([]);
    expect(result.toolScans.pg_dump).toBeGreaterThan(0);
    expect(result.toolScans.pg_restore).toBeGreaterThan(0);
  }, 120_000);
});

describe('file modes', () => {
  let fx: PermissionFixture;
  beforeAll(async () => {
    fx = await createPermissionFixture();
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('0600 files in 0700 folders under umask 000, loosened folders tightened, also after prune', async () => {
    const steps: [string, Parameters<typeof permissionStep>[2]][] = [
      ['000', { name: 'upgrade head', args: ['upgrade', 'head'] }],
      ['000', { name: 'backup --format directory', args: ['backup', '--format', 'directory'], loosen: ['backups', '.'] }],
      ['002', { name: 'backup --format plain', args: ['backup', '--format', 'plain'] }],
      ['000', { name: 'restore latest --yes', args: ['restore', 'latest', '--yes'] }],
      ['000', { name: 'run status --yes', args: ['run', 'status', '--yes'], loosen: ['runs'] }],
      ['000', { name: 'backups prune --keep 1', args: ['backups', 'prune', '--keep', '1'], expect: (_fx, before, after) => (before > 1 && after !== 1 ? `prune left ${after} of ${before}` : undefined) }],
    ];
    for (const [umask, op] of steps) expect(await permissionStep(fx, umask, op), `umask ${umask}: ${op.name}`).toEqual([]);
    expect(privateModeProblems(fx.stateDir)).toEqual([]);
    // No rotation exists in src/core/audit.ts: the trail is one file.
    expect(auditFiles(fx.stateDir).sort()).toEqual(['audit.jsonl', 'audit.jsonl.head', 'audit.jsonl.open']);
  }, 90_000);
});
