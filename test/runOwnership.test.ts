import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, createTestProject, runCli, waitFor, type TestDatabase, type TestProject } from './helpers/db';

/**
 * Issue 15, item 4: a run is owned by one live process. A second `run --resume ID` while the
 * first still runs it says who holds it and exits 4, changing nothing; once the owner is gone
 * (kill -9 included) the run resumes.
 */
let db: TestDatabase;
let project: TestProject;
const cli = (args: string[], env: Record<string, string> = {}) => runCli(['--database-url', db.url, ...args], { cwd: project.dir, env, timeout: 60_000 });
const runsDir = () => path.join(project.dir, '.mutx-ops', 'runs');
const countFile = () => path.join(project.dir, 'count.txt');

beforeAll(async () => {
  db = await createTestDatabase('mutx_runowner');
  project = createTestProject({ copyMigrations: false, settings: 'runbooks_dir: runbooks\n' });
  fs.mkdirSync(path.join(project.dir, 'runbooks'));
  // The slow step appends one line per execution: a step run twice shows as two lines.
  fs.writeFileSync(
    path.join(project.dir, 'runbooks', 'slow.yaml'),
    `name: slow
title: A slow step
category: maintenance
description: counts its executions
steps:
  - id: slow
    title: Slow step
    type: command
    text: appends a line, then sleeps
    command: [sh, -c, "echo run >> count.txt; sleep 3"]
  - id: after
    title: After
    type: command
    text: quick
    command: [sh, -c, "echo after >> count.txt"]
`,
  );
});
afterAll(async () => {
  await db?.drop();
  project?.cleanup();
});

async function startedRun(): Promise<{ first: ReturnType<typeof cli>; id: string }> {
  fs.rmSync(countFile(), { force: true });
  const before = new Set(fs.existsSync(runsDir()) ? fs.readdirSync(runsDir()) : []);
  const first = cli(['run', 'slow', '--yes'], { MUTX_OPERATOR: 'first' });
  const id = await waitFor(() => {
    const fresh = fs.existsSync(runsDir()) ? fs.readdirSync(runsDir()).filter((name) => name.endsWith('.json') && !before.has(name)) : [];
    return fresh.length && fs.existsSync(countFile()) ? fresh[0]!.replace(/\.json$/, '') : undefined;
  }, 20_000);
  return { first, id };
}

describe('run ownership', () => {
  it('a second resume of a run that is still running says who holds it, exits 4 and runs nothing', async () => {
    const { first, id } = await startedRun();
    const second = await cli(['run', '--resume', id, '--yes'], { MUTX_OPERATOR: 'second' });
    expect(second.exitCode, String(second.all)).toBe(4);
    expect(String(second.stderr)).toMatch(new RegExp(`run ${id} is being run by process ${first.pid} \\(first@[^,]+, since [0-9T:.-]+Z\\)`));
    expect(String(second.stderr).trim().split('\n')).toHaveLength(1);
    const done = await first;
    expect(done.exitCode, String(done.all)).toBe(0);
    expect(fs.readFileSync(countFile(), 'utf8')).toBe('run\nafter\n');
    expect(fs.existsSync(path.join(runsDir(), `${id}.lock`))).toBe(false);
  });

  it('after kill -9 of its owner the run resumes (stale lock taken over) without repeating a finished step', async () => {
    const { first, id } = await startedRun();
    first.kill('SIGKILL');
    await first;
    expect(fs.existsSync(path.join(runsDir(), `${id}.lock`))).toBe(true);
    const resumed = await cli(['run', '--resume', id, '--yes'], { MUTX_OPERATOR: 'second' });
    expect(resumed.exitCode, String(resumed.all)).toBe(0);
    expect(String(resumed.stdout)).toMatch(/resumed/);
    expect(fs.readFileSync(countFile(), 'utf8').trim().split('\n').at(-1)).toBe('after');
    expect(fs.existsSync(path.join(runsDir(), `${id}.lock`))).toBe(false);
  });

  it('a lock naming a live process that is not the owner (a reused pid: another start time) is stale', async () => {
    const { first, id } = await startedRun();
    first.kill('SIGKILL');
    await first;
    const lock = path.join(runsDir(), `${id}.lock`);
    const owner = JSON.parse(fs.readFileSync(lock, 'utf8')) as { pid: number; start: string };
    // Our own test process is alive, but started at another time than the lock says.
    fs.writeFileSync(lock, JSON.stringify({ ...owner, pid: process.pid, start: '1' }));
    const resumed = await cli(['run', '--resume', id, '--yes']);
    expect(resumed.exitCode, String(resumed.all)).toBe(0);
  });
});
