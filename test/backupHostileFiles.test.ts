import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findForeignMetaCommand, MetaCommandScanner } from '../src/core/backup/plainMetaCommands';
import { adminQuery, createTestDatabase, createTestProject, runCli, type TestDatabase, type TestProject } from './helpers/db';

/**
 * Issue 15, item 8: a tampered or foreign plain-SQL file never reaches psql with a shell escape.
 * A catalogued file whose checksum does not match is not loaded by `backup verify --restore-test`
 * (restore already refused it); an uncatalogued one is loaded only when its backslash commands are
 * those pg_dump writes, and the refusal names the line.
 */
let db: TestDatabase;
let project: TestProject;
let dump: string;
const intoNames: string[] = [];

const cli = (...args: string[]) => runCli(['--database-url', db.url, ...args], { cwd: project.dir });

beforeAll(async () => {
  db = await createTestDatabase('mutx_hostile_backup');
  project = createTestProject();
  // Data and code full of backslashes that are NOT psql commands: strings, E-strings, identifiers,
  // dollar-quoted bodies, comments and COPY rows (\N, a leading backslash).
  await db.query(`
    CREATE TABLE "we\\ird" (id int, note text);
    INSERT INTO "we\\ird" VALUES (1, '\\! id'), (2, E'\\\\connect x'), (3, NULL), (4, '\\.'), (5, 'a;b');
    CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $body$ SELECT '\\! echo inside a function'::text $body$;
    COMMENT ON TABLE "we\\ird" IS '\\o |sh';
  `);
  const up = await cli('upgrade', 'head');
  expect(up.exitCode, up.all as string).toBe(0);
  dump = path.join(project.dir, 'outside.sql');
  await execa('pg_dump', ['--no-owner', '-f', dump, db.url]);
});
afterAll(async () => {
  for (const name of intoNames) await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => {});
  await db?.drop();
  project?.cleanup();
});

/** The dump with `line` inserted after its first SET (so psql would run it before anything else). */
function hostileCopy(name: string, line: string): string {
  const text = fs.readFileSync(dump, 'utf8');
  const at = text.indexOf('\nSET ') + 1;
  const file = path.join(project.dir, name);
  fs.writeFileSync(file, `${text.slice(0, at)}${line}\n${text.slice(at)}`);
  return file;
}

describe('the scanner', () => {
  it("finds nothing in pg_dump's own output, with backslashes in data, names, bodies and comments", async () => {
    expect(await findForeignMetaCommand(dump)).toBeUndefined();
  });

  it('finds a shell escape on its own line, after SQL on the same line, and after an allowed command', () => {
    const scan = (text: string) => new MetaCommandScanner().push(`${text}\n`);
    expect(scan('SET x = 1;\n\\! id')).toEqual({ line: 2, command: '\\!' });
    expect(scan("SELECT 'a\\b'; \\o |sh")).toEqual({ line: 1, command: '\\o' });
    expect(scan('\\connect db \\! id')).toEqual({ line: 1, command: '\\!' });
    expect(scan('COPY t (a) FROM stdin;\n\\!\n\\.\n\\set x 1')).toEqual({ line: 4, command: '\\set' });
    expect(scan('\\restrict abc\nSELECT 1;\n\\unrestrict abc')).toBeUndefined();
    expect(scan("SELECT E'\\'' ; \\i /etc/x")).toEqual({ line: 1, command: '\\i' });
  });
});

describe('hostile plain files are never fed to psql', () => {
  it('restore FILE --into: refused naming the line, the command never runs', async () => {
    const pwned = path.join(project.dir, 'pwned-restore');
    const file = hostileCopy('hostile.sql', `\\! touch ${pwned}`);
    const into = `${db.name}_into`;
    intoNames.push(into);
    const result = await cli('restore', file, '--into', into, '--yes', '--no-safety-backup');
    expect(result.exitCode, result.all as string).toBe(1);
    expect(String(result.stderr)).toMatch(/hostile\.sql:\d+: psql command \\! is not one pg_dump writes/);
    expect(fs.existsSync(pwned)).toBe(false);
  });

  it('backup verify FILE --restore-test: not loaded, the problem says which line', async () => {
    const pwned = path.join(project.dir, 'pwned-verify');
    const file = hostileCopy('hostile2.sql', `SELECT 1; \\! touch ${pwned}`);
    const result = await cli('backup', 'verify', file, '--restore-test');
    expect(result.exitCode, result.all as string).toBe(1);
    expect(result.all as string).toMatch(/hostile2\.sql:\d+: psql command \\!/);
    expect(fs.existsSync(pwned)).toBe(false);
  });

  it('a catalogued file that no longer matches its checksum is not loaded by --restore-test', async () => {
    const taken = await cli('--json', 'backup', '--format', 'plain');
    expect(taken.exitCode, taken.all as string).toBe(0);
    const record = JSON.parse(String(taken.stdout)) as { file: string };
    const pwned = path.join(project.dir, 'pwned-catalogued');
    const text = fs.readFileSync(record.file, 'utf8');
    const at = text.indexOf('\nSET ') + 1;
    fs.writeFileSync(record.file, `${text.slice(0, at)}\\! touch ${pwned}\n${text.slice(at)}`);
    const result = await cli('backup', 'verify', 'latest', '--restore-test');
    expect(result.exitCode, result.all as string).toBe(1);
    expect(result.all as string).toMatch(/checksum mismatch/);
    expect(result.all as string).toMatch(/restore test not run/);
    expect(fs.existsSync(pwned)).toBe(false);
  });

  it("pg_dump's own file restores into another database", async () => {
    const into = `${db.name}_clean`;
    intoNames.push(into);
    const result = await cli('restore', dump, '--into', into, '--yes', '--no-safety-backup');
    expect(result.exitCode, result.all as string).toBe(0);
    const rows = await adminQuery<{ n: number }>('SELECT count(*)::int AS n FROM "we\\ird"', [], into);
    expect(rows.rows[0]!.n).toBe(5);
  });
});
