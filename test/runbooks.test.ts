import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readMigrationDir } from '../src/core/migrations/engines/sql/file';
import { RevisionGraph } from '../src/core/migrations/graph';
import { AuditTrail } from '../src/core/audit';
import { loadProjectSettings } from '../src/core/config';
import { parseTarget } from '../src/core/connection';
import { runRunbook } from '../src/runbook/engine';
import type { RunEvent } from '../src/runbook/events';
import { HeadlessInput } from '../src/runbook/headless';
import { findRunbook, loadRunbooks } from '../src/runbook/loader';
import { createTestDatabase, createTestProject, MUTX_MIGRATIONS, runCli, waitFor, type TestDatabase, type TestProject } from './helpers/db';
import { environmentsYaml, logWriter, recordingServer, REPO_RUNBOOKS, resetRunbookTarget } from './helpers/runbooks';

const graph = RevisionGraph.build(readMigrationDir(MUTX_MIGRATIONS));
const head = graph.heads()[0]!;
const beforeHead = graph.get(head).revises[0]!;

let db: TestDatabase;
let project: TestProject;

beforeAll(async () => {
  db = await createTestDatabase();
  project = createTestProject({ settings: environmentsYaml() });
});
afterAll(async () => {
  await db.drop();
  project.cleanup();
});
beforeEach(() => resetRunbookTarget(db, project.dir));

const env = () => ({ MUTX_TEST_DB_URL: db.url, DATABASE_URL: '' });
const cli = (args: string[], extraEnv: Record<string, string> = {}) => runCli(args, { cwd: project.dir, env: { ...env(), ...extraEnv } });
const versionRows = async () => (await db.query<{ version_num: string }>('SELECT version_num FROM alembic_version ORDER BY 1')).rows.map((r) => r.version_num);
const backupCount = () => {
  const dir = path.join(project.dir, '.mutx-ops', 'backups');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => name.endsWith('.meta.json')).length : 0;
};

describe('the runbook files', () => {
  it('all validate, one per seed procedure', () => {
    const { runbooks, errors } = loadRunbooks(REPO_RUNBOOKS);
    expect(errors.map((e) => e.message)).toEqual([]);
    expect(runbooks.map((r) => r.runbook.name).sort()).toEqual(
      ['deploy', 'emergency-rollback', 'initial-setup', 'not-up-to-date', 'production-rollback', 'reconcile-half-applied', 'rollback-to-revision', 'status', 'test-migrations', 'upgrade-v1.3-to-v1.4'].sort(),
    );
  });

  it('an invalid runbook is reported with file:line and the field, and never runs', async () => {
    const dir = path.join(project.dir, 'bad-runbooks');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'broken.yaml'), 'name: broken\ntitle: Broken\ndescription: x\nsteps:\n  - id: one\n    title: One\n    text: t\n    type: migrate\n    action: sideways\n    target: head\n');
    fs.writeFileSync(path.join(dir, 'syntax.yaml'), 'name: syntax\nsteps: [\n');
    const result = await cli(['run', path.join(dir, 'broken.yaml'), '--env', 'staging', '--yes']);
    expect(result.exitCode).toBe(2);
    expect(String(result.stderr)).toMatch(/broken\.yaml:9: runbook field "steps\.0\.action"/);
    const syntax = await cli(['run', path.join(dir, 'syntax.yaml'), '--env', 'staging']);
    expect(syntax.exitCode).toBe(2);
    expect(String(syntax.stderr)).toMatch(/syntax\.yaml:\d+: invalid YAML/);
    expect(await db.query("SELECT 1 FROM pg_tables WHERE tablename = 'alembic_version'")).toMatchObject({ rowCount: 0 });
  });
});

describe('deploy', () => {
  it('runs checklist, backup, deploy command, upgrade, verify and a quiet log watch to completion', async () => {
    expect((await cli(['upgrade', beforeHead, '--env', 'staging'])).exitCode).toBe(0);
    const app = logWriter(path.join(project.dir, 'app.log'), () => `INFO request ok ${Date.now()}`);
    const result = await cli(['run', 'deploy', '--env', 'staging', '--yes', '--logs-duration', '1.5']).finally(() => app.stop());
    expect(result.exitCode, String(result.all)).toBe(0);
    expect(await versionRows()).toEqual([head]);
    expect(backupCount()).toBe(1);
    expect(fs.existsSync(path.join(project.dir, 'deploy.done'))).toBe(true);
    const out = String(result.stdout);
    expect(out).toMatch(/\[2\/8\] Pre-migration checklist/);
    expect(out).toMatch(/→ mutx-ops upgrade head --timeout 300 on postgresql:\/\/postgres@127\.0\.0\.1:5432\/.* \(staging\)/);
    expect(out).toMatch(new RegExp(`→ ${beforeHead} → ${head}: 1 revision`));
    expect(out).toMatch(/skipped: no webhook configured/);
    expect(out).toMatch(/run \S+ completed/);
  });

  it('errors in the log fail the watch and switch to the emergency rollback', async () => {
    expect((await cli(['upgrade', beforeHead, '--env', 'staging'])).exitCode).toBe(0);
    const app = logWriter(path.join(project.dir, 'app.log'), () => `ERROR relation "user_identities" broke ${Date.now()}`, 10);
    const result = await cli(['run', 'deploy', '--env', 'staging', '--yes', '--logs-duration', '20', '--on-failure', 'switch']).finally(() => app.stop());
    expect(result.exitCode, String(result.all)).toBe(0);
    const out = String(result.stdout);
    expect(out).toMatch(/✖ error threshold crossed: \d+ lines matching \/error\/i in the last minute \(threshold 5\/min\)/);
    expect(out).toMatch(/switching to runbook emergency-rollback/);
    expect(out).toMatch(/run \S+-emergency-rollback-\S+ completed/);
    // Back at the revision before the deploy, with backups from both runbooks.
    expect(await versionRows()).toEqual([beforeHead]);
    expect(backupCount()).toBe(2);
  });

  it('without --yes pauses at the checklist (exit 5), and --resume finishes the same run', async () => {
    expect((await cli(['upgrade', beforeHead, '--env', 'staging'])).exitCode).toBe(0);
    const paused = await cli(['run', 'deploy', '--env', 'staging']);
    expect(paused.exitCode).toBe(5);
    const runId = /run (\S+) paused/.exec(String(paused.stdout))![1]!;
    expect(String(paused.stdout)).toMatch(/needs the operator/);
    const runs = await cli(['runs']);
    expect(String(runs.stdout)).toContain(runId);
    const resumed = await cli(['run', '--resume', runId, '--yes', '--logs-duration', '1']);
    expect(resumed.exitCode, String(resumed.all)).toBe(0);
    expect(String(resumed.stdout)).toMatch(new RegExp(`run ${runId}: .*\\(resumed\\)`));
    expect(await versionRows()).toEqual([head]);
    const md = await cli(['runs', 'show', runId, '--format', 'md']);
    expect(String(md.stdout)).toMatch(/^# Run /);
    expect(String(md.stdout)).toMatch(/\| step upgrade \| done \|/);
  });
});

describe('resume after kill -9', () => {
  it('a run killed during the log watch resumes at that step without redoing the backup or the upgrade', async () => {
    expect((await cli(['upgrade', beforeHead, '--env', 'staging'])).exitCode).toBe(0);
    const run = cli(['run', 'deploy', '--env', 'staging', '--yes', '--logs-duration', '60']);
    let output = '';
    run.stdout?.on('data', (chunk) => (output += String(chunk)));
    await waitFor(() => /\[7\/8\] Monitor the application log/.test(output) || undefined, 30_000);
    run.kill('SIGKILL');
    await run;
    const runId = /run (\S+):/.exec(output)![1]!;
    const runs = await cli(['runs']);
    expect(String(runs.stdout)).toMatch(new RegExp(`${runId}\\s+interrupted`));
    const backupsBefore = backupCount();
    const resumed = await cli(['run', '--resume', runId, '--yes', '--logs-duration', '1']);
    expect(resumed.exitCode, String(resumed.all)).toBe(0);
    expect(backupCount()).toBe(backupsBefore);
    expect(String(resumed.stdout)).not.toMatch(/\[5\/8\] Run the migrations/);
    expect(await versionRows()).toEqual([head]);
    const audit = await cli(['audit', 'show', '--last', '400', '--json']);
    const records = JSON.parse(String(audit.stdout)).records as { run_id?: string; outcome?: string; action: string }[];
    expect(records.some((r) => r.run_id === runId && r.action === 'run' && r.outcome === 'interrupted')).toBe(true);
    expect((await cli(['audit', 'verify'])).exitCode).toBe(0);
  });

  it('a run killed during its upgrade re-checks the revision on resume', async () => {
    const slow = createTestProject({ copyMigrations: true, settings: environmentsYaml() });
    try {
      fs.writeFileSync(path.join(slow.migrationsDir, 'zz9900000001_slow.sql'), `-- revision: zz9900000001\n-- revises: ${head}\n-- message: slow\n-- +upgrade\nSELECT pg_sleep(1.5);\nCREATE TABLE slow_done (id int);\n-- +downgrade\nDROP TABLE slow_done;\n`);
      const run = runCli(['run', 'initial-setup', '--env', 'staging', '--yes'], { cwd: slow.dir, env: env() });
      await waitFor(async () => (await db.query("SELECT 1 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(1.5)%' AND pid <> pg_backend_pid()")).rowCount || undefined, 30_000);
      run.kill('SIGKILL');
      await run;
      // The killed session's transaction was rolled back by the server: still below the slow revision.
      expect(await versionRows()).toEqual([head]);
      const runId = /^(\S+)\s+interrupted/m.exec(String((await runCli(['runs'], { cwd: slow.dir, env: env() })).stdout))![1]!;
      const resumed = await runCli(['run', '--resume', runId, '--yes'], { cwd: slow.dir, env: env() });
      expect(resumed.exitCode, String(resumed.all)).toBe(0);
      expect(String(resumed.stdout)).toMatch(/re-checked after interruption: the database is at .*, not yet zz9900000001/);
      expect(await versionRows()).toEqual(['zz9900000001']);
    } finally {
      slow.cleanup();
    }
  });
});

describe('rollbacks', () => {
  it('emergency-rollback backs up, downgrades one revision and verifies the previous one', async () => {
    expect((await cli(['upgrade', 'head', '--env', 'staging'])).exitCode).toBe(0);
    const result = await cli(['run', 'emergency-rollback', '--env', 'staging', '--yes']);
    expect(result.exitCode, String(result.all)).toBe(0);
    expect(await versionRows()).toEqual([beforeHead]);
    expect(String(result.stdout)).toMatch(new RegExp(`expected \\(previous\\): ${beforeHead}`));
    expect(backupCount()).toBe(1);
  });

  it('rollback-to-revision goes to a revision given with --target', async () => {
    expect((await cli(['upgrade', 'head', '--env', 'staging'])).exitCode).toBe(0);
    const target = graph.order[3]!;
    const result = await cli(['run', 'rollback-to-revision', '--env', 'staging', '--yes', '--target', target]);
    expect(result.exitCode, String(result.all)).toBe(0);
    expect(await versionRows()).toEqual([target]);
    expect(String(result.stdout)).toMatch(/skipped: no backup was selected/);
  });

  it('rollback-to-revision to one parent of a merge verifies the state Alembic leaves: both branch heads (issue 12, defect 5)', async () => {
    const merge = graph.order.find((id) => graph.get(id).revises.length === 2)!;
    const parents = graph.get(merge).revises;
    expect((await cli(['upgrade', 'head', '--env', 'staging'])).exitCode).toBe(0);
    const result = await cli(['run', 'rollback-to-revision', '--env', 'staging', '--yes', '--target', parents[0]!]);
    const out = String(result.stdout);
    expect(result.exitCode, String(result.all)).toBe(0);
    // The plan says so before anything runs, and the verify compares against it.
    expect(out).toMatch(new RegExp(`${head} → (${parents[0]}, ${parents[1]}|${parents[1]}, ${parents[0]})`));
    expect(out).toMatch(new RegExp(`expected \\(selected\\): (${parents[0]}, ${parents[1]}|${parents[1]}, ${parents[0]})`));
    expect(await versionRows()).toEqual([...parents].sort());
  });

  it('rollback-to-revision restores a chosen backup, data included', async () => {
    expect((await cli(['upgrade', graph.order[4]!, '--env', 'staging'])).exitCode).toBe(0);
    await db.query("INSERT INTO users (email) VALUES ('kept@example.com')");
    const backup = await cli(['--json', 'backup', '--env', 'staging']);
    expect(backup.exitCode, String(backup.all)).toBe(0);
    const file = JSON.parse(String(backup.stdout)).file as string;
    expect((await cli(['upgrade', 'head', '--env', 'staging'])).exitCode).toBe(0);
    await db.query("DELETE FROM users");
    const result = await cli(['run', 'rollback-to-revision', '--env', 'staging', '--yes', '--backup', file]);
    expect(result.exitCode, String(result.all)).toBe(0);
    expect(await versionRows()).toEqual([graph.order[4]]);
    expect((await db.query('SELECT email FROM users')).rows).toEqual([{ email: 'kept@example.com' }]);
  });

  it('production-rollback stops, downgrades, restores the pre-deploy backup and restarts through the environment commands', async () => {
    expect((await cli(['upgrade', beforeHead, '--env', 'staging'])).exitCode).toBe(0);
    await db.query("INSERT INTO users (email) VALUES ('before-deploy@example.com')");
    expect((await cli(['backup', '--env', 'staging'])).exitCode).toBe(0);
    expect((await cli(['upgrade', 'head', '--env', 'staging'])).exitCode).toBe(0);
    await db.query("INSERT INTO users (email) VALUES ('written-by-the-broken-release@example.com')");
    // A newer backup at head (the broken release) must not be the one offered: it would undo the rollback.
    expect((await cli(['backup', '--env', 'staging'])).exitCode).toBe(0);
    const result = await cli(['run', 'production-rollback', '--env', 'staging', '--yes', '--logs-duration', '1']);
    expect(String(result.stdout)).toMatch(new RegExp(`holds ${beforeHead}, \\d+ min old, verified`));
    expect(result.exitCode, String(result.all)).toBe(0);
    for (const marker of ['stop', 'deploy_previous', 'start']) expect(fs.existsSync(path.join(project.dir, `${marker}.done`))).toBe(true);
    expect(await versionRows()).toEqual([beforeHead]);
    expect((await db.query('SELECT email FROM users ORDER BY 1')).rows).toEqual([{ email: 'before-deploy@example.com' }]);
  });
});

describe('rollbacks rely on backups of the right revision (issue 12, defects 3 and 4)', () => {
  it('production-rollback offers only a backup of the revision it rolled back to, else says there is none', async () => {
    expect((await cli(['upgrade', 'head', '--env', 'staging'])).exitCode).toBe(0);
    await db.query("INSERT INTO users (email) VALUES ('kept@example.com')");
    // Only backups at head exist (the one taken now, and the run's own): none at the revision rolled back to.
    expect((await cli(['backup', '--env', 'staging'])).exitCode).toBe(0);
    const result = await cli(['run', 'production-rollback', '--env', 'staging', '--yes', '--logs-duration', '1']);
    expect(result.exitCode, String(result.all)).toBe(0);
    expect(String(result.stdout)).toContain(`skipped: no verified backup from before this run holds ${beforeHead} (the revision the database is at): none to offer`);
    expect(await versionRows()).toEqual([beforeHead]);
    expect((await db.query('SELECT email FROM users')).rows).toEqual([{ email: 'kept@example.com' }]);
  });

  it('a skipped backup blocks the downgrade even when an older verified backup of another revision exists', async () => {
    expect((await cli(['upgrade', beforeHead, '--env', 'staging'])).exitCode).toBe(0);
    expect((await cli(['backup', '--env', 'staging'])).exitCode).toBe(0);
    expect((await cli(['upgrade', 'head', '--env', 'staging'])).exitCode).toBe(0);
    const settings = loadProjectSettings({ cwd: project.dir });
    const operator = { name: 'tester', host: 'test-host' };
    const target = parseTarget({ url: db.url, environment: 'staging' });
    const events: RunEvent[] = [];
    // The core's drill hook sends the run's dump to /dev/full: a real ENOSPC, so the backup step fails; the operator skips it.
    const result = await runRunbook({
      loaded: findRunbook(settings.runbooksPath, 'production-rollback'),
      ctx: { settings, operator, audit: new AuditTrail(settings.auditPath, operator), target, faults: { divertBackupStream: () => '/dev/full' } },
      environment: settings.environments.staging,
      input: new HeadlessInput({ yes: true, onFailure: 'skip', skipReason: 'disk is full, going ahead' }),
      onEvent: (event) => events.push(event),
    });
    expect(result.outcome, JSON.stringify(events.filter((e) => e.type === 'step-failed' || e.type === 'run-finished'))).toBe('failed');
    const failed = events.find((e): e is Extract<RunEvent, { type: 'step-failed' }> => e.type === 'step-failed' && e.stepId === 'downgrade');
    expect(failed?.error).toContain(`no verified backup of ${db.name} at its current revision ${head}, taken in this run or younger than 60 min: this run's backup step "Back up the current state" was skipped`);
    expect(await versionRows()).toEqual([head]);
  });

  it('the downgrade names the backup it relies on', async () => {
    expect((await cli(['upgrade', 'head', '--env', 'staging'])).exitCode).toBe(0);
    const result = await cli(['run', 'emergency-rollback', '--env', 'staging', '--yes']);
    expect(result.exitCode, String(result.all)).toBe(0);
    expect(String(result.stdout)).toMatch(new RegExp(`relies on backup staging_\\S+ \\(at ${head}, taken in this run, verified\\)`));
    expect(String(result.stdout)).toMatch(/✔ downgrade .*; backup staging_\S+/);
  });
});

describe('failure menus follow what happened (issue 12, defect 6)', () => {
  it('an upgrade that failed and rolled back (nothing applied) offers retry / abort, never a reconcile or a rollback of the healthy revision', async () => {
    expect((await cli(['upgrade', beforeHead, '--env', 'staging'])).exitCode).toBe(0);
    // The head revision's CREATE TABLE fails on a table that is already there: its transaction rolls back.
    await db.query('CREATE TABLE user_identities (id int)');
    const result = await cli(['run', 'deploy', '--env', 'staging', '--yes', '--on-failure', 'switch', '--logs-duration', '1']);
    const out = String(result.stdout);
    expect(result.exitCode, out).toBe(1);
    expect(out).toContain('nothing was applied: the database is where the step found it');
    expect(out).toContain('failed — options: retry, abort');
    expect(out).not.toContain('switching to runbook');
    expect(await versionRows()).toEqual([beforeHead]);
  });
});

describe('protected environments', () => {
  it('the plan waits for --confirm DBNAME (--yes is not enough); a wrong name changes nothing', async () => {
    expect((await cli(['upgrade', 'head', '--env', 'production', '--confirm', db.name])).exitCode).toBe(0);
    const paused = await cli(['run', 'emergency-rollback', '--env', 'production', '--yes']);
    expect(paused.exitCode).toBe(5);
    expect(String(paused.stdout)).toContain(`pass --confirm ${db.name} (--yes is not enough on a protected environment)`);
    expect(String(paused.stdout)).toMatch(new RegExp(`run --resume \\S+ --confirm ${db.name}\``));
    // Paused before the first changing step: no backup was taken, nothing moved.
    expect(backupCount()).toBe(0);
    const wrong = await cli(['run', 'emergency-rollback', '--env', 'production', '--yes', '--confirm', 'not-the-db']);
    expect(wrong.exitCode).toBe(1);
    expect(String(wrong.stdout)).toMatch(new RegExp(`"not-the-db" does not match the database name "${db.name}": nothing was changed`));
    expect(await versionRows()).toEqual([head]);
    expect(backupCount()).toBe(0);
    const right = await cli(['run', 'emergency-rollback', '--env', 'production', '--yes', '--confirm', db.name]);
    expect(right.exitCode, String(right.all)).toBe(0);
    expect(await versionRows()).toEqual([beforeHead]);
  });

  it('refuses to migrate a protected environment without a fresh verified backup', async () => {
    const dir = path.join(project.dir, 'custom-runbooks');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'bare-upgrade.yaml'), 'name: bare-upgrade\ntitle: Bare upgrade\ndescription: upgrade without a backup\nsteps:\n  - id: up\n    title: Upgrade\n    text: no backup first\n    type: migrate\n    action: upgrade\n    target: head\n');
    const result = await cli(['run', path.join(dir, 'bare-upgrade.yaml'), '--env', 'production', '--confirm', db.name]);
    expect(result.exitCode).toBe(1);
    expect(String(result.stdout)).toMatch(/no verified backup of .* younger than 30 min: refusing to change a protected environment/);
    expect(await db.query("SELECT 1 FROM pg_tables WHERE tablename = 'users'")).toMatchObject({ rowCount: 0 });
  });
});

describe('the plan before anything changes', () => {
  it('headless emergency-rollback without --yes prints its plan and stops before the backup (exit 5); --resume --yes finishes it', async () => {
    expect((await cli(['upgrade', 'head', '--env', 'staging'])).exitCode).toBe(0);
    const paused = await cli(['run', 'emergency-rollback', '--env', 'staging']);
    expect(paused.exitCode, String(paused.all)).toBe(5);
    const out = String(paused.stdout);
    expect(out).toMatch(/plan of run \S+ on postgresql:/);
    expect(out).toMatch(new RegExp(`Roll back the problematic migration \\[destructive\\]\\n +mutx-ops downgrade -1 .*\\n +${head} → ${beforeHead}: 1 revision`));
    expect(out).toMatch(/Take a database backup immediately \[changes\]\n +pg_dump --format=custom/);
    // It stops at the first question (the review, read-only), long before the backup.
    expect(out).toMatch(/paused: step "Review what the rollback loses" needs the operator/);
    expect(out).toMatch(/run --resume \S+ --yes`/);
    expect(out).not.toContain('add --yes to confirm');
    expect(backupCount()).toBe(0);
    expect(await versionRows()).toEqual([head]);
    const runId = /run (\S+) paused/.exec(out)![1]!;
    const resumed = await cli(['run', '--resume', runId, '--yes']);
    expect(resumed.exitCode, String(resumed.all)).toBe(0);
    expect(await versionRows()).toEqual([beforeHead]);
    expect(backupCount()).toBe(1);
  });

  it('a runbook that changes nothing runs without a confirmation', async () => {
    const result = await cli(['run', 'status', '--env', 'staging']);
    expect(result.exitCode, String(result.all)).toBe(0);
    expect(String(result.stdout)).toMatch(/plan of run/);
    expect(String(result.stdout)).not.toContain('confirm the plan');
  });
});

describe('the other seed procedures', () => {
  it('test-migrations rehearses the whole chain on a scratch database and the pending upgrade on a copy; the target is not touched', async () => {
    // No step changes the target (empty here): no plan confirmation is needed.
    const result = await cli(['run', 'test-migrations', '--env', 'dev']);
    expect(result.exitCode, String(result.all)).toBe(0);
    const out = String(result.stdout);
    for (const check of ['single-head', 'base-to-head', 'head-to-base', 'up-down-consistency']) expect(out).toContain(`| ✔ ${check}`);
    expect(out).toMatch(/✔ chain of 12 revision\(s\) rehearsed on mutx_rehearse_\w+ \(dropped\): 4 check\(s\) passed/);
    expect(out).not.toContain('confirm the plan');
    expect((await db.query<{ none: boolean }>("SELECT to_regclass('public.alembic_version') IS NULL AS none")).rows[0]).toEqual({ none: true });
    const refused = await cli(['run', 'test-migrations', '--env', 'production', '--yes']);
    expect(refused.exitCode).toBe(2);
    expect(String(refused.stderr)).toMatch(/may not run on environment "production"/);
  });

  it('initial-setup brings an empty database to head', async () => {
    const result = await cli(['run', 'initial-setup', '--env', 'dev', '--yes']);
    expect(result.exitCode, String(result.all)).toBe(0);
    expect(await versionRows()).toEqual([head]);
  });

  it('not-up-to-date stamps a database whose version row no file knows', async () => {
    expect((await cli(['upgrade', graph.order[2]!, '--env', 'staging'])).exitCode).toBe(0);
    await db.query("UPDATE alembic_version SET version_num = 'gone0000beef'");
    const result = await cli(['run', 'not-up-to-date', '--env', 'staging', '--yes', '--target', graph.order[2]!]);
    expect(result.exitCode, String(result.all)).toBe(0);
    expect(String(result.stdout)).toMatch(/gone0000beef unknown to the migration files/);
    expect(await versionRows()).toEqual([graph.order[2]]);
  });

  it('status changes nothing', async () => {
    expect((await cli(['upgrade', beforeHead, '--env', 'staging'])).exitCode).toBe(0);
    const tablesBefore = (await db.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).rows;
    const result = await cli(['run', 'status', '--env', 'staging']);
    expect(result.exitCode, String(result.all)).toBe(0);
    expect(String(result.stdout)).toMatch(/migration lock free/);
    expect(String(result.stdout)).toMatch(new RegExp(`○ ${head} `));
    // Each step's summary is about what it looked at: the lock step's is the lock, not "at <rev>".
    expect(String(result.stdout)).toMatch(/✔ migration lock free \(/);
    expect(String(result.stdout)).toMatch(/✔ (\d+ backup\(s\); newest|no backups in the catalog)/);
    expect(await versionRows()).toEqual([beforeHead]);
    expect((await db.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).rows).toEqual(tablesBefore);
    const runId = /run (\S+) completed/.exec(String(result.stdout))![1]!;
    const pdf = await cli(['runs', 'show', runId, '--format', 'pdf']);
    expect(pdf.exitCode).toBe(2);
    expect(String(pdf.stderr)).toContain('--format must be text or md, not "pdf"');
  });

  it('upgrade-v1.3-to-v1.4: all-or-none OIDC, values never shown, Helm gets secrets on stdin only', async () => {
    const jwks = await recordingServer(200);
    const bin = path.join(project.dir, 'fakebin');
    fs.mkdirSync(bin, { recursive: true });
    // A stand-in helm that records what it was given: argv and stdin.
    fs.writeFileSync(path.join(bin, 'helm'), `#!/usr/bin/env node\nconst fs=require('fs');fs.writeFileSync(${JSON.stringify(path.join(project.dir, 'helm-argv.json'))}, JSON.stringify(process.argv.slice(2)));fs.writeFileSync(${JSON.stringify(path.join(project.dir, 'helm-stdin.yaml'))}, fs.readFileSync(0));\n`, { mode: 0o755 });
    const secrets = { OIDC_ISSUER: 'https://idp.example/issuer-SECRET-1', OIDC_CLIENT_ID: 'client-SECRET-2', MUTX_API_KEY: 'mutx-key-SECRET-3' };
    try {
      const partial = await cli(['run', 'upgrade-v1.3-to-v1.4', '--env', 'staging', '--yes'], secrets);
      expect(partial.exitCode).toBe(1);
      expect(String(partial.stdout)).toMatch(/OIDC_ISSUER, OIDC_CLIENT_ID set but OIDC_JWKS_URI missing/);
      expect(String(partial.all)).not.toMatch(/SECRET-/);
      const full = { ...secrets, OIDC_JWKS_URI: `${jwks.url}/.well-known/jwks.json`, DATABASE_URL: db.url, PATH: `${bin}:${process.env.PATH}` };
      const result = await cli(['run', 'upgrade-v1.3-to-v1.4', '--env', 'staging', '--yes'], full);
      expect(result.exitCode, String(result.all)).toBe(0);
      expect(String(result.all)).not.toMatch(/SECRET-/);
      expect(jwks.requests.map((r) => r.url)).toContain('/.well-known/jwks.json');
      const argv = JSON.parse(fs.readFileSync(path.join(project.dir, 'helm-argv.json'), 'utf8')) as string[];
      expect(argv).toEqual(['upgrade', '--install', 'mutx', 'infrastructure/helm/mutx', '--values', '-']);
      const stdin = fs.readFileSync(path.join(project.dir, 'helm-stdin.yaml'), 'utf8');
      expect(stdin).toContain('oidcClientId: client-SECRET-2');
      expect(await versionRows()).toEqual([head]);
      expect(fs.readFileSync(project.auditPath, 'utf8')).not.toMatch(/SECRET-/);

      // Without OIDC (it is additive) and without DATABASE_URL (the environment names its own
      // variable): Helm still gets this run's database URL, and no OIDC keys at all.
      await resetRunbookTarget(db, project.dir);
      const withoutOidc = await cli(['run', 'upgrade-v1.3-to-v1.4', '--env', 'staging', '--yes'], { MUTX_API_KEY: 'mutx-key-SECRET-3', PATH: `${bin}:${process.env.PATH}` });
      expect(withoutOidc.exitCode, String(withoutOidc.all)).toBe(0);
      expect(String(withoutOidc.stdout)).toMatch(/values on stdin from: the run's database URL, OIDC_ISSUER \(if set\), OIDC_CLIENT_ID \(if set\), OIDC_JWKS_URI \(if set\)/);
      const values = fs.readFileSync(path.join(project.dir, 'helm-stdin.yaml'), 'utf8');
      expect(values).toMatch(new RegExp(`databaseUrl: postgresql://postgres@127\\.0\\.0\\.1:5432/${db.name}\\?sslmode=`));
      expect(values).not.toMatch(/oidc/i);
      expect(await versionRows()).toEqual([head]);
    } finally {
      await jwks.close();
    }
  });

  it('a command whose required value is not set does not offer a retry that cannot pass, and says how to go on', async () => {
    const runbooksDir = fs.mkdtempSync(path.join(project.dir, 'runbooks-'));
    fs.writeFileSync(
      path.join(runbooksDir, 'needs-token.yaml'),
      `name: needs-token\ntitle: Needs a token\ncategory: upgrade\ndescription: A command that needs a token from the environment.\nsteps:\n  - id: install\n    title: Install with the token\n    type: command\n    text: Installs with a token read from the environment.\n    command: [node, -e, "0"]\n    stdin_values_from_env: {token: MUTX_TEST_NEEDED_TOKEN}\n    on_failure: [retry, skip, abort]\n`,
    );
    const other = createTestProject({ settings: environmentsYaml({ runbooksDir }) });
    try {
      const result = await runCli(['run', 'needs-token', '--env', 'staging', '--yes', '--on-failure', 'retry'], { cwd: other.dir, env: env() });
      const out = String(result.all);
      expect(result.exitCode, out).toBe(1);
      expect(out).toMatch(/Install with the token: MUTX_TEST_NEEDED_TOKEN not set/);
      expect(out).toMatch(/export MUTX_TEST_NEEDED_TOKEN in a shell and resume there: `mutx-ops run --resume \S+`/);
      expect(out).toMatch(/failed — options: skip, abort/);
      expect(out).not.toMatch(/options: retry/);
    } finally {
      other.cleanup();
    }
  });

  it('notify posts a short JSON message to the webhook', async () => {
    const hook = await recordingServer(204);
    try {
      expect((await cli(['upgrade', beforeHead, '--env', 'staging'])).exitCode).toBe(0);
      const result = await cli(['run', 'deploy', '--env', 'staging', '--yes', '--logs-duration', '1', '--drill'], { MUTX_OPS_WEBHOOK_URL: `${hook.url}/hooks/abc` });
      expect(result.exitCode, String(result.all)).toBe(0);
      const bodies = hook.requests.map((r) => JSON.parse(r.body));
      expect(bodies).toHaveLength(2);
      expect(bodies[0]).toMatchObject({ text: '[DRILL] Database migration starting (deploy runbook)', runbook: 'deploy', environment: 'staging', drill: true });
      expect(bodies[1].text).toMatch(/finished/);
    } finally {
      await hook.close();
    }
  });
});
