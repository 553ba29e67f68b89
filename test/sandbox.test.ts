import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProjectSettings, type ProjectSettings } from '../src/core/config';
import { loadGraph } from '../src/core/migrations/operations';
import { destroySandbox, isRunning, releaseSandbox, sandboxPaths, sandboxStatus, startSandbox, stopSandbox } from '../src/core/sandbox';
import { adminQuery, createTestProject, runCli, waitFor, type TestProject } from './helpers/db';

/** The system cluster (5432) must come out of this file exactly as it went in. */
async function systemCluster(): Promise<{ startedAt: string; pid: number }> {
  const result = await adminQuery<{ started: Date; dir: string }>("SELECT pg_postmaster_start_time() AS started, current_setting('data_directory') AS dir");
  const row = result.rows[0]!;
  const pid = Number(fs.readFileSync(path.join(row.dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  return { startedAt: row.started.toISOString(), pid };
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

const counts = (url: string) =>
  query<{ users: number; events: number; deployments: number; agents: number; scratch: boolean }>(
    url,
    "SELECT (SELECT count(*)::int FROM users) AS users, (SELECT count(*)::int FROM events) AS events, (SELECT count(*)::int FROM deployments) AS deployments, (SELECT count(*)::int FROM agents) AS agents, to_regclass('scratch') IS NOT NULL AS scratch",
  ).then((rows) => rows[0]!);

function postmasterPid(settings: ProjectSettings): number {
  return Number(fs.readFileSync(path.join(sandboxPaths(settings).dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
}

describe('sandbox: start, use, reset, crash, stop', () => {
  let project: TestProject;
  let settings: ProjectSettings;
  let before: { startedAt: string; pid: number };
  let seeded: string[];
  const cli = (args: string[]) => runCli(args, { cwd: project.dir, env: { DATABASE_URL: '' } });
  const json = async (args: string[], expectedExit = 0) => {
    const result = await cli(['--json', ...args]);
    expect(result.exitCode, String(result.all)).toBe(expectedExit);
    return JSON.parse(String(result.stdout)) as Record<string, unknown>;
  };

  beforeAll(async () => {
    before = await systemCluster();
    project = createTestProject();
    settings = loadProjectSettings({ cwd: project.dir });
    // The starting point: everything but the head, so upgrade head and downgrade -1 both have work.
    const graph = loadGraph(settings);
    const heads = graph.heads();
    expect(heads).toHaveLength(1);
    seeded = graph.parents(heads[0]!);
  });

  afterAll(async () => {
    if (settings) await destroySandbox(settings);
    project?.cleanup();
  });

  it('is absent in a new project, and commands without a database say how to get one', async () => {
    expect((await sandboxStatus(settings)).state).toBe('absent');
    expect((await json(['sandbox', 'status'], 3)).state).toBe('absent');
    const current = await cli(['current']);
    expect(current.exitCode).toBe(2);
    expect(String(current.stderr)).toMatch(/no database given — .*mutx-ops sandbox start/);
  });

  it('sandbox start creates it from nothing, at the revision before head, with rows', async () => {
    const started = await json(['sandbox', 'start']);
    expect(started).toMatchObject({ ok: true, created: true, already_running: false, starting_revisions: seeded });
    // A Unix socket in a private folder, never TCP (see test/sandboxIsolation.test.ts).
    expect(started.url).toMatch(/^postgresql:\/\/postgres@%2F[^:]*mutx-sandbox-[^:]*:\d+\/mutx$/);
    expect(started.port).not.toBe(5432);

    const status = await json(['sandbox', 'status']);
    expect(status).toMatchObject({ state: 'running', url: started.url, owned_by_app: false, starting_revisions: seeded });
    expect((await cli(['sandbox', 'url'])).stdout).toBe(started.url);

    const paths = sandboxPaths(settings);
    expect(paths.dataDir.startsWith(path.join(project.dir, '.mutx-ops', 'sandbox'))).toBe(true);
    expect(fs.statSync(paths.dataDir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(paths.dir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(project.dir, '.mutx-ops')).mode & 0o777).toBe(0o700);
    expect(fs.statSync(paths.stateFile).mode & 0o777).toBe(0o600);

    const rows = await counts(String(started.url));
    expect(rows.users).toBeGreaterThanOrEqual(5);
    expect(rows.agents).toBeGreaterThanOrEqual(3);
    expect(rows.deployments).toBeGreaterThanOrEqual(5);
    expect(rows.events).toBeGreaterThanOrEqual(50);

    // The seeding went through the core's migrate, audited and marked as sandbox work.
    const records = fs
      .readFileSync(path.join(project.dir, '.mutx-ops', 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { action: string; phase: string; outcome?: string; details?: Record<string, unknown> });
    const upgrades = records.filter((r) => r.action === 'upgrade');
    expect(upgrades.length).toBeGreaterThanOrEqual(2);
    expect(upgrades.every((r) => r.details?.sandbox === true)).toBe(true);
    expect(upgrades.some((r) => r.phase === 'end' && r.outcome === 'ok')).toBe(true);
    expect((await cli(['audit', 'verify'])).exitCode).toBe(0);

    // A second start finds it running.
    expect(await json(['sandbox', 'start'])).toMatchObject({ already_running: true, created: false, url: started.url });
  });

  it('is the target when no database is configured', async () => {
    const url = (await sandboxStatus(settings)).url!;
    const current = await json(['current']);
    expect(current).toMatchObject({ target: url, current: seeded, pending: [loadGraph(settings).heads()[0]] });
    // --database-url still wins over the sandbox.
    const explicit = await runCli(['--json', '--database-url', 'postgresql://postgres@127.0.0.1:1/nowhere', 'current'], { cwd: project.dir, env: { DATABASE_URL: '' } });
    expect(explicit.exitCode).toBe(2);
  });

  it('reset restores the starting point after changes (bench/sandbox.ts measures its speed)', async () => {
    const url = (await sandboxStatus(settings)).url!;
    const original = await counts(url);
    expect((await cli(['upgrade', 'head'])).exitCode).toBe(0);
    await query(url, 'DELETE FROM deployments; DELETE FROM events WHERE id % 2 = 0; CREATE TABLE scratch (id int)');
    const changed = await counts(url);
    expect(changed.deployments).toBe(0);
    expect(changed.scratch).toBe(true);

    // A session left open on the database does not block the reset.
    const lingering = new pg.Client({ connectionString: url });
    lingering.on('error', () => {});
    await lingering.connect();
    const reset = await json(['sandbox', 'reset']);
    await lingering.end().catch(() => {});
    expect(reset).toMatchObject({ ok: true, url, starting_revisions: seeded, seeded: false, started: false });
    expect(await counts(url)).toEqual(original);
    expect((await json(['current'])).current).toEqual(seeded);
  });

  it('recovers from a crash: kill -9 of the postmaster leaves a stale pid file, start cleans up', async () => {
    const url = (await sandboxStatus(settings)).url!;
    await query(url, "UPDATE users SET display_name = 'survived the crash' WHERE email = 'alice@mutx.dev'");
    const pid = postmasterPid(settings);
    process.kill(pid, 'SIGKILL');
    await waitFor(() => !isRunning(pid) || undefined);
    expect(fs.existsSync(path.join(sandboxPaths(settings).dataDir, 'postmaster.pid'))).toBe(true);

    const stale = await sandboxStatus(settings);
    expect(stale.state).toBe('stale');
    expect(stale.reason).toMatch(new RegExp(`process ${pid}`));
    expect((await cli(['current'])).exitCode).toBe(2);

    const started = await json(['sandbox', 'start']);
    expect(started).toMatchObject({ ok: true, created: false, recovered: true, already_running: false });
    expect(postmasterPid(settings)).not.toBe(pid);
    expect((await sandboxStatus(settings)).state).toBe('running');
    const rows = await query<{ display_name: string }>(String(started.url), "SELECT display_name FROM users WHERE email = 'alice@mutx.dev'");
    expect(rows[0]?.display_name).toBe('survived the crash');
    expect((await json(['current'])).current).toEqual(seeded);
  });

  it('stop stops it; then nothing uses it and url says how to start it', async () => {
    const pid = postmasterPid(settings);
    expect(await json(['sandbox', 'stop'])).toMatchObject({ ok: true, was_running: true });
    expect(isRunning(pid)).toBe(false);
    expect(fs.existsSync(path.join(sandboxPaths(settings).dataDir, 'postmaster.pid'))).toBe(false);
    expect((await json(['sandbox', 'status'], 3)).state).toBe('stopped');
    const url = await cli(['sandbox', 'url']);
    expect(url.exitCode).toBe(2);
    expect(String(url.stderr)).toMatch(/not running .*mutx-ops sandbox start/);
    expect((await cli(['current'])).exitCode).toBe(2);
    expect(await json(['sandbox', 'stop'])).toMatchObject({ was_running: false });
  });

  it('ownedByApp: the app stops what it started on exit, but not what `sandbox start` started', async () => {
    const started = await startSandbox(settings, { ownedByApp: true });
    expect(started).toMatchObject({ created: false, alreadyRunning: false });
    expect((await sandboxStatus(settings)).ownedByApp).toBe(true);
    expect(await releaseSandbox(settings)).toEqual({ stopped: true });
    expect((await sandboxStatus(settings)).state).toBe('stopped');

    expect((await cli(['sandbox', 'start'])).exitCode).toBe(0);
    const again = await startSandbox(settings, { ownedByApp: true });
    expect(again.alreadyRunning).toBe(true);
    expect(await releaseSandbox(settings)).toEqual({ stopped: false });
    expect((await sandboxStatus(settings)).state).toBe('running');
    await stopSandbox(settings);
  });

  it('never touched the system cluster on 5432', async () => {
    expect(await systemCluster()).toEqual(before);
  });
});

describe('sandbox: guard rails', () => {
  it('refuses to delete anything a symlink leads to', async () => {
    const project = createTestProject({ copyMigrations: false });
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'mutx-not-a-sandbox-'));
    try {
      const settings = loadProjectSettings({ cwd: project.dir });
      fs.mkdirSync(path.join(elsewhere, 'data'));
      fs.writeFileSync(path.join(elsewhere, 'data', 'PG_VERSION'), '15\n');
      fs.mkdirSync(settings.statePath, { recursive: true, mode: 0o700 });
      fs.symlinkSync(elsewhere, sandboxPaths(settings).dir);
      await expect(startSandbox(settings)).rejects.toThrow(/not a plain folder; refusing to use or delete it/);
      expect(fs.readFileSync(path.join(elsewhere, 'data', 'PG_VERSION'), 'utf8')).toBe('15\n');
      expect(fs.readdirSync(elsewhere)).toEqual(['data']);
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
      project.cleanup();
    }
  });

  it('stop and status on a project without a sandbox change nothing', async () => {
    const project = createTestProject({ copyMigrations: false });
    try {
      const settings = loadProjectSettings({ cwd: project.dir });
      expect(await stopSandbox(settings)).toEqual({ wasRunning: false });
      expect((await sandboxStatus(settings)).state).toBe('absent');
      expect(fs.existsSync(sandboxPaths(settings).dir)).toBe(false);
    } finally {
      project.cleanup();
    }
  });
});
