import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MutxError } from '../src/core/errors';
import { readMigrationDir } from '../src/core/migrations/engines/sql/file';
import { RevisionGraph } from '../src/core/migrations/graph';
import { createTestDatabase, createTestProject, MUTX_MIGRATIONS, type TestDatabase, type TestProject } from './helpers/db';
import { writeMigration } from './helpers/migrations';
import { argumentCases, malformedFileCases, writeCaseFiles } from './reliability/corpus';
import { closeHarness, createHarness, runArgCase, runFileCase, type Harness } from './reliability/adversarialRunner';
import { cli, runSeed, versionRows } from './reliability/support';

/**
 * Fast subset of the hostile-input corpus (the full one runs in `npm run reliability`): every
 * malformed file through the parser and graph in process, a sample through the built CLI with
 * the full "changed nothing" checks, and the hostile command lines that are cheap to run.
 */
const HEAD = '9d3e71c2a5b8';
const seed = runSeed();
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('malformed migration files, in process', () => {
  const cases = malformedFileCases(HEAD, seed);
  it('the corpus has at least 100 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(100);
  });
  for (const c of cases) {
    it(`${c.name}${c.knownBug ? ' [bug]' : ''}`, () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mutx-adv-'));
      dirs.push(dir);
      for (const name of fs.readdirSync(MUTX_MIGRATIONS)) fs.copyFileSync(path.join(MUTX_MIGRATIONS, name), path.join(dir, name));
      writeCaseFiles(dir, c.files);
      let error: unknown;
      try {
        RevisionGraph.build(readMigrationDir(dir));
      } catch (caught) {
        error = caught;
      }
      expect(error, 'the folder was accepted').toBeInstanceOf(MutxError);
      const e = error as MutxError;
      expect(e.exitCode).toBe(2);
      expect(e.message).toMatch(c.expect);
      // One line, and free of control characters (a terminal escape in a file would reach the operator).
      // eslint-disable-next-line no-control-regex
      expect(`${e.message} ${e.hint ?? ''}`).not.toMatch(/[\u0000-\u0008\u000a-\u001f\u007f]/);
    });
  }
});

describe('hostile input through the CLI', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  }, 60_000);
  afterAll(async () => {
    await closeHarness(h);
  });

  const sample = ['invalid revision id (SQL injection)', 'two-revision cycle', 'unknown parent', 'duplicate revision in two files', 'file over 5 MB', 'NUL byte', 'BOM and CRLF, SQL before upgrade', 'injection in the file name', 'missing downgrade section'];
  for (const name of sample) {
    const c = malformedFileCases(HEAD, seed).find((x) => x.name === name)!;
    it(`file: ${name}${c.knownBug ? ' [bug]' : ''}`, async () => {
      expect(await runFileCase(h, malformedFileCases(h.head, seed).find((x) => x.name === name)!, [['upgrade', 'head']])).toEqual([]);
    }, 90_000);
  }

  const argSample = [
    'upgrade an injected revision',
    'stamp an injected revision',
    '--env path traversal',
    '--env __proto__',
    '--database-url not a URL',
    '--database-url mysql scheme with a password',
    '--database-url unknown database with injection',
    'upgrade --timeout abc',
    'upgrade --wait-lock abc',
    'upgrade an id with a newline',
    'fresh database: upgrade an injected revision',
  ];
  for (const name of argSample) {
    const c = argumentCases().find((x) => x.name === name)!;
    it(`args: ${name}${c.knownBug ? ' [bug]' : ''}`, async () => {
      expect(await runArgCase(h, c)).toEqual([]);
    }, 60_000);
  }
});

describe('empty target', () => {
  let db: TestDatabase;
  let project: TestProject;
  beforeAll(async () => {
    db = await createTestDatabase();
    project = createTestProject({ copyMigrations: false });
    writeMigration(project.migrationsDir, 'only1', { upgrade: 'CREATE TABLE only_one (id int);', downgrade: 'DROP TABLE only_one;' });
  });
  afterAll(async () => {
    await db.drop();
    project.cleanup();
  });

  // `upgrade ""` (or blanks) names no revision: the empty string is not treated as a prefix.
  it('upgrade "" is bad input (exit 2) and applies nothing', async () => {
    const result = await cli(['--database-url', db.url, 'upgrade', ''], { cwd: project.dir });
    expect(result.exitCode).toBe(2);
    expect(await versionRows(db)).toEqual([]);
  });
});
