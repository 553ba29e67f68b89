import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProjectSettings } from '../src/core/config';
import { AlembicEngine } from '../src/core/migrations/engines/alembic';
import { READ_CACHE_FILE } from '../src/core/migrations/engines/alembic/readCache';
import { createAlembicProject, type AlembicProject } from './helpers/alembic';
import { createTestDatabase, runCli, type TestDatabase } from './helpers/db';

// The static reader's results are kept between commands (current/history/heads start ~60 ms
// faster on 300 revisions); these tests show the cache is used, and never trusted over a file
// that changed, however the change was disguised.
const FILE = 'auth_fields_001_add_auth_fields.py';
const REVISION = 'auth_fields_001';

function graphOf(project: AlembicProject) {
  return new AlembicEngine(loadProjectSettings({ cwd: project.dir })).loadGraph();
}
const messageOf = (project: AlembicProject) => graphOf(project).byId.get(REVISION)!.message;
const cacheFile = (project: AlembicProject) => path.join(project.dir, '.mutx-ops', READ_CACHE_FILE);

function editCache(project: AlembicProject, edit: (entry: { key: string; value: { message: string } }) => void): void {
  const cache = JSON.parse(fs.readFileSync(cacheFile(project), 'utf8'));
  const entry = Object.entries(cache.entries).find(([file]) => file.endsWith(FILE))![1] as { key: string; value: { message: string } };
  edit(entry);
  fs.writeFileSync(cacheFile(project), JSON.stringify(cache));
}

/** Same length, same mtime: only the content (and the ctime no user can set) changed. */
function disguisedEdit(file: string, from: string, to: string): void {
  expect(to.length).toBe(from.length);
  const before = fs.statSync(file);
  const text = fs.readFileSync(file, 'utf8');
  expect(text).toContain(from);
  // touch -r puts the nanoseconds back too (utimes from JS would round them).
  const reference = `${file}.times`;
  fs.copyFileSync(file, reference);
  execFileSync('touch', ['-r', file, reference]);
  fs.writeFileSync(file, text.replace(from, to));
  execFileSync('touch', ['-r', reference, file]);
  fs.rmSync(reference);
  expect(fs.statSync(file).size).toBe(before.size);
  expect(fs.statSync(file).mtimeMs).toBe(before.mtimeMs);
}

describe('the static reader keeps what it read in the state folder', () => {
  let project: AlembicProject;
  beforeAll(() => {
    project = createAlembicProject();
    fs.mkdirSync(path.join(project.dir, '.mutx-ops'), { mode: 0o700 });
  });
  afterAll(() => project.cleanup());

  it('reuses an unchanged file\'s reading, and reads a file again once its content changed (same size, mtime put back)', async () => {
    const real = messageOf(project);
    expect(fs.statSync(cacheFile(project)).mode & 0o777).toBe(0o600);
    // Proof the second load comes from the cache: a value planted in it is what the graph shows.
    editCache(project, (entry) => (entry.value.message = 'FROM THE CACHE'));
    expect(messageOf(project)).toBe('FROM THE CACHE');
    // ctime moves (wait for a new clock tick so the edit cannot land in the same one).
    await new Promise((resolve) => setTimeout(resolve, 20));
    const file = path.join(project.versionsDir, FILE);
    const docLine = fs.readFileSync(file, 'utf8').split('\n')[0]!;
    disguisedEdit(file, docLine, docLine.replace(/[a-z]/, (c) => (c === 'x' ? 'y' : 'x')));
    const fresh = messageOf(project);
    expect(fresh).not.toBe('FROM THE CACHE');
    expect(fresh).not.toBe(real);
    // The fresh reading replaced the planted one.
    const cache = JSON.parse(fs.readFileSync(cacheFile(project), 'utf8'));
    expect(Object.values(cache.entries as Record<string, { value: { message: string } }>).some((e) => e.value.message === 'FROM THE CACHE')).toBe(false);
  });

  it('ignores a malformed cache, one of another format, and a link planted in its place (which it replaces, leaving the target alone)', () => {
    const real = messageOf(project);
    fs.writeFileSync(cacheFile(project), '{"format": ');
    expect(messageOf(project)).toBe(real);
    editCache(project, (entry) => ((entry.value as unknown as { revises: unknown }).revises = 'not-a-list'));
    expect(graphOf(project).byId.get(REVISION)!.revises).toEqual(expect.any(Array));
    const cache = JSON.parse(fs.readFileSync(cacheFile(project), 'utf8'));
    fs.writeFileSync(cacheFile(project), JSON.stringify({ ...cache, format: 'alembic-static-reader/0/old' }));
    editCache(project, (entry) => (entry.value.message = 'OLD FORMAT'));
    expect(messageOf(project)).toBe(real);

    editCache(project, (entry) => (entry.value.message = 'THROUGH A LINK'));
    const elsewhere = path.join(project.dir, 'planted.json');
    fs.renameSync(cacheFile(project), elsewhere);
    fs.symlinkSync(elsewhere, cacheFile(project));
    const planted = fs.readFileSync(elsewhere, 'utf8');
    expect(messageOf(project)).toBe(real);
    expect(fs.lstatSync(cacheFile(project)).isSymbolicLink()).toBe(false);
    expect(fs.readFileSync(elsewhere, 'utf8')).toBe(planted);
  });

  it('creates no state folder of its own', () => {
    const bare = createAlembicProject();
    try {
      expect(graphOf(bare).byId.has(REVISION)).toBe(true);
      expect(fs.existsSync(path.join(bare.dir, '.mutx-ops'))).toBe(false);
    } finally {
      bare.cleanup();
    }
  });
});

describe('drift is still found through the cache', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('mutx_read_cache');
  });
  afterAll(() => db.drop());

  it('an applied file edited without changing its size or mtime is refused by check and upgrade', async () => {
    const project = createAlembicProject();
    try {
      const cli = (args: string[]) => runCli(args, { cwd: project.dir, env: { DATABASE_URL: db.url } });
      const up = await cli(['upgrade', REVISION]);
      expect(up.exitCode, String(up.all)).toBe(0);
      expect(String((await cli(['check'])).all)).not.toMatch(/changed since applied/);
      expect(fs.existsSync(cacheFile(project))).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const file = path.join(project.versionsDir, FILE);
      const source = fs.readFileSync(file, 'utf8');
      const statement = /op\.add_column\('users'[^\n]*/.exec(source)![0];
      disguisedEdit(file, statement, statement.replace("'users'", "'usrrs'"));
      const check = await cli(['check']);
      expect(check.exitCode, String(check.all)).toBe(3);
      expect(String(check.all)).toMatch(new RegExp(`changed since applied: ${REVISION} \\(.*${FILE}\\)`));
      const refused = await cli(['upgrade', 'heads']);
      expect(refused.exitCode).toBe(3);
      expect(String(refused.stderr)).toMatch(new RegExp(`${FILE}: applied revision ${REVISION} was changed after it was applied`));
    } finally {
      project.cleanup();
    }
  });
});
