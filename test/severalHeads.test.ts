import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, createTestProject, runCli, type TestDatabase, type TestProject } from './helpers/db';
import { environmentsYaml } from './helpers/runbooks';
import { writeMigration } from './helpers/migrations';
import { loadProjectSettings } from '../src/core/config';
import { planMigration } from '../src/core/migrations/operations';
import { severalHeadsChoices } from '../src/runbook/steps/severalHeads';
import type { StepContext } from '../src/runbook/steps/context';

/**
 * Issue 12, item 5: after a rollback to one parent of a merge (both branch heads left, Alembic's
 * semantics), emergency-rollback no longer refuses: its plan lists the rollbacks one downgrade can
 * reach from there, the run asks which (headless: --target REV), and the verify expects what the
 * chosen one leaves. MUTX chain: 5570bd6d8f6c → dd52f99353f0 / b0f1c770ae98 → merge 071fffe7fb4c.
 */
let db: TestDatabase;
let project: TestProject;
const cli = (args: string[]) => runCli(args, { cwd: project.dir, env: { MUTX_TEST_DB_URL: db.url, DATABASE_URL: '' } });
const versionRows = async () => (await db.query<{ version_num: string }>('SELECT version_num FROM alembic_version ORDER BY 1')).rows.map((r) => r.version_num);

beforeAll(async () => {
  db = await createTestDatabase('rbs_heads');
  project = createTestProject({ settings: environmentsYaml() });
  expect((await cli(['upgrade', '071fffe7fb4c', '--env', 'staging'])).exitCode).toBe(0);
  // To one parent of the merge: Alembic leaves both branch heads.
  expect((await cli(['downgrade', 'dd52f99353f0', '--env', 'staging'])).exitCode).toBe(0);
  expect(await versionRows()).toEqual(['b0f1c770ae98', 'dd52f99353f0']);
});

afterAll(async () => {
  await db?.drop();
  project?.cleanup();
});

describe('emergency-rollback at two branch heads', () => {
  let runId: string;

  it('the plan offers the choices plainly; headless it pauses at the choice (exit 5, --target REV), nothing changed', async () => {
    const result = await cli(['run', 'emergency-rollback', '--env', 'staging', '--yes']);
    const out = String(result.stdout);
    expect(result.exitCode, String(result.all)).toBe(5);
    expect(out).toMatch(/the database is at 2 heads \((b0f1c770ae98, dd52f99353f0|dd52f99353f0, b0f1c770ae98)\) — e\.g\. after a rollback to one parent of a merge — so "-1" is ambiguous; the run asks which rollback \(headless: --target REV\):/);
    expect(out).toContain('• downgrade to 5570bd6d8f6c, the base of');
    expect(out).toContain('(undoes every branch head) — `mutx-ops downgrade 5570bd6d8f6c`');
    expect(out).toMatch(/\(dd52f99353f0 alone cannot be rolled back by one downgrade: its parent 5570bd6d8f6c is also below b0f1c770ae98/);
    expect(out).toContain('or forward to the merge again: `mutx-ops upgrade 071fffe7fb4c`');
    expect(out).not.toMatch(/ambiguous$|preview unavailable/m);
    expect(out).toMatch(/\? the database is at 2 heads \(b0f1c770ae98, dd52f99353f0\): which rollback\? --target 5570bd6d8f6c\n/);
    const paused = /run (\S+) paused: .*resume with `mutx-ops run --resume \1 --yes --target REV`/.exec(out);
    expect(paused, out).not.toBeNull();
    runId = paused![1]!;
    expect(await versionRows()).toEqual(['b0f1c770ae98', 'dd52f99353f0']);
  });

  it('resumed with --target at the branches\' base: reviewed, backed up, downgraded, verified', async () => {
    const result = await cli(['run', '--resume', runId, '--env', 'staging', '--yes', '--target', '5570bd6d8f6c']);
    const out = String(result.stdout);
    expect(result.exitCode, String(result.all)).toBe(0);
    expect(out).toMatch(/chosen: downgrade to 5570bd6d8f6c/);
    expect(out).toMatch(/✔ downgrade (b0f1c770ae98, dd52f99353f0|dd52f99353f0, b0f1c770ae98) → 5570bd6d8f6c \(2 revision\(s\)\); backup/);
    expect(out).toMatch(/current: 5570bd6d8f6c; expected \(previous\): 5570bd6d8f6c/);
    expect(await versionRows()).toEqual(['5570bd6d8f6c']);
  });
});

describe('the choices at several heads (a branch of two revisions, one of one)', () => {
  it('offers "roll back only b2" (its parent is not below c1) and the common base; says c1 alone cannot; each choice leaves what it says', async () => {
    const p = createTestProject({ copyMigrations: false });
    try {
      writeMigration(p.migrationsDir, 'a0', { message: 'base', upgrade: 'SELECT 1;' });
      writeMigration(p.migrationsDir, 'b1', { revises: 'a0', upgrade: 'SELECT 1;' });
      writeMigration(p.migrationsDir, 'b2', { revises: 'b1', upgrade: 'SELECT 1;' });
      writeMigration(p.migrationsDir, 'c1', { revises: 'a0', upgrade: 'SELECT 1;' });
      const settings = loadProjectSettings({ cwd: p.dir });
      const choices = severalHeadsChoices({ ctx: { settings } } as unknown as StepContext, ['b2', 'c1']);
      expect(choices.options.map((o) => o.value)).toEqual(['b1', 'a0']);
      expect(choices.options[0]!.label).toBe('roll back only b2 (to b1; c1 stays): downgrade b1');
      expect(choices.lines).toContain('  (c1 alone cannot be rolled back by one downgrade: its parent a0 is also below b2 (a downgrade to it undoes both))');
      expect((await planMigration(settings, 'downgrade', 'b1', ['b2', 'c1'])).headsAfter.sort()).toEqual(['b1', 'c1']);
      expect((await planMigration(settings, 'downgrade', 'a0', ['b2', 'c1'])).headsAfter).toEqual(['a0']);
    } finally {
      p.cleanup();
    }
  });
});
