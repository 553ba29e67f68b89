import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MutxError } from '../src/core/errors';
import { checksumSql, parseMigrationText, readMigrationDir } from '../src/core/migrations/engines/sql/file';
import { RevisionGraph } from '../src/core/migrations/graph';
import { planDowngrade, planUpgrade } from '../src/core/migrations/plan';
import { splitSqlStatements } from '../src/core/migrations/engines/sql/sqlSplit';
import { MUTX_MIGRATIONS } from './helpers/db';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function folder(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mutx-files-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

function migration(revision: string, revises = '', extra = ''): string {
  return `-- revision: ${revision}\n-- revises: ${revises}\n-- message: m ${revision}\n${extra}\n-- +upgrade\nCREATE TABLE t_${revision} (id int);\n\n-- +downgrade\nDROP TABLE t_${revision};\n`;
}

function errorOf(fn: () => unknown): MutxError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(MutxError);
    return error as MutxError;
  }
  throw new Error('expected an error');
}

describe('migration file parser', () => {
  it('reads headers, sections, extra headers and the checksum', () => {
    const file = parseMigrationText(
      '-- revision: abc123\n-- revises: p1, p2\n-- message: hello world\n-- created: 2026-01-01\n-- transactional: false\n\n-- +upgrade\nSELECT 1;\n\n-- +downgrade\nSELECT 2;\n\n-- +verify\nSELECT true;\n',
      '/x/abc123_hello.sql',
    );
    expect(file).toMatchObject({ revision: 'abc123', revises: ['p1', 'p2'], message: 'hello world', transactional: false });
    expect(file.headers.created).toBe('2026-01-01');
    expect(file.upgrade.line).toBe(8);
    expect(file.verify?.sql.trim()).toBe('SELECT true;');
    expect(file.checksum).toBe(checksumSql('SELECT 1;'));
  });

  it('ignores line endings and trailing whitespace in the checksum, but not real changes', () => {
    expect(checksumSql('SELECT 1;  \r\nSELECT 2;\r\n')).toBe(checksumSql('SELECT 1;\nSELECT 2;'));
    expect(checksumSql('SELECT 1;')).not.toBe(checksumSql('SELECT 2;'));
  });

  const bad: [string, string, RegExp][] = [
    ['missing revision header', '-- message: x\n-- +upgrade\nSELECT 1;\n-- +downgrade\nSELECT 1;\n', /:1: missing "-- revision/],
    ['bad revision id', '-- revision: a-b\n-- +upgrade\nSELECT 1;\n-- +downgrade\nSELECT 1;\n', /:1: revision id "a-b" is invalid/],
    ['duplicate header', '-- revision: r1\n-- revision: r1\n-- +upgrade\nSELECT 1;\n-- +downgrade\nSELECT 1;\n', /:2: header "revision" appears twice/],
    ['bad transactional', '-- revision: r1\n-- transactional: maybe\n-- +upgrade\nSELECT 1;\n-- +downgrade\nSELECT 1;\n', /:2: transactional must be true or false/],
    ['SQL before upgrade', '-- revision: r1\nCREATE TABLE x();\n-- +upgrade\nSELECT 1;\n-- +downgrade\nSELECT 1;\n', /:2: SQL before the "-- \+upgrade" section/],
    ['missing downgrade', '-- revision: r1\n-- +upgrade\nSELECT 1;\n', /missing "-- \+downgrade" section/],
    ['missing upgrade', '-- revision: r1\n-- +downgrade\nSELECT 1;\n', /missing "-- \+upgrade" section/],
    ['unknown section', '-- revision: r1\n-- +upgrade\nSELECT 1;\n-- +sideways\nSELECT 1;\n', /:4: unknown section/],
    ['duplicate section', '-- revision: r1\n-- +upgrade\nSELECT 1;\n-- +upgrade\nSELECT 1;\n-- +downgrade\n', /:4: section "-- \+upgrade" appears twice/],
    ['self revision', '-- revision: r1\n-- revises: r1\n-- +upgrade\nSELECT 1;\n-- +downgrade\nSELECT 1;\n', /:2: revision r1 revises itself/],
    ['bad parent id', "-- revision: r1\n-- revises: x';drop\n-- +upgrade\nSELECT 1;\n-- +downgrade\nSELECT 1;\n", /:2: revises .* is not a revision id/],
    ['empty verify', '-- revision: r1\n-- +upgrade\nSELECT 1;\n-- +downgrade\nSELECT 1;\n-- +verify\n\n', /empty "-- \+verify" section/],
  ];
  for (const [name, text, pattern] of bad) {
    it(`rejects ${name} with file:line`, () => {
      const error = errorOf(() => parseMigrationText(text, '/m/r1_x.sql'));
      expect(error.message).toMatch(/^\/m\/r1_x\.sql:\d+: /);
      expect(error.message).toMatch(pattern);
      expect(error.exitCode).toBe(2);
    });
  }

  it('rejects binary junk and names the file name mismatch', () => {
    expect(errorOf(() => parseMigrationText(Buffer.from([0x2d, 0x2d, 0x0a, 0x00, 0xff]), '/m/r1_x.sql')).message).toMatch(/:2: binary content/);
    expect(errorOf(() => parseMigrationText(migration('r2'), '/m/r1_x.sql')).message).toMatch(/file name does not start with its revision "r2_"/);
  });
});

describe('revision graph', () => {
  it('finds duplicate ids in two files, with both locations', () => {
    const dir = folder({ 'a1_one.sql': migration('a1'), 'a1_two.sql': migration('a1') });
    const error = errorOf(() => RevisionGraph.build(readMigrationDir(dir)));
    expect(error.message).toMatch(/a1_two\.sql:1: duplicate revision a1 \(also in .*a1_one\.sql:1\)/);
  });

  it('finds unknown parents', () => {
    const dir = folder({ 'a1_one.sql': migration('a1', 'zz9') });
    expect(errorOf(() => RevisionGraph.build(readMigrationDir(dir))).message).toMatch(/a1_one\.sql:2: revision a1 revises unknown revision zz9/);
  });

  it('finds cycles and names them', () => {
    const dir = folder({ 'a1_one.sql': migration('a1'), 'b1_two.sql': migration('b1', 'a1, c1'), 'c1_three.sql': migration('c1', 'b1') });
    const error = errorOf(() => RevisionGraph.build(readMigrationDir(dir)));
    expect(error.message).toMatch(/revisions form a cycle: (b1 -> c1 -> b1|c1 -> b1 -> c1)/);
  });

  it('resolves prefixes and lists ambiguous candidates', () => {
    const dir = folder({ 'abc1_one.sql': migration('abc1'), 'abc2_two.sql': migration('abc2', 'abc1'), 'bcd3_x.sql': migration('bcd3', 'abc2') });
    const graph = RevisionGraph.build(readMigrationDir(dir));
    expect(graph.resolve('bc')).toBe('bcd3');
    expect(errorOf(() => graph.resolve('abc')).message).toMatch(/ambiguous: abc1, abc2/);
    expect(errorOf(() => graph.resolve('zzz')).message).toMatch(/unknown revision "zzz"/);
  });

  it('plans the MUTX chain through its branch and merge', () => {
    const graph = RevisionGraph.build(readMigrationDir(MUTX_MIGRATIONS));
    expect(graph.heads()).toHaveLength(1);
    const branchPoint = graph.order.find((id) => graph.children.get(id)!.length > 1)!;
    const merge = graph.order.find((id) => graph.get(id).revises.length > 1)!;
    expect(graph.order.some((id) => !graph.get(id).transactional)).toBe(true);
    const up = planUpgrade(graph, [], 'head');
    expect(up.steps).toHaveLength(graph.size);
    // Version rows: one row per head, two while both branches are applied and not yet merged.
    const beforeMerge = up.steps.find((s) => s.migration.revision === merge)!;
    expect(beforeMerge.headsBefore).toHaveLength(2);
    expect(beforeMerge.headsAfter).toEqual([merge]);
    const down = planDowngrade(graph, [merge], branchPoint);
    expect(down.steps.map((s) => s.migration.revision)[0]).toBe(merge);
    expect(down.headsAfter).toEqual([branchPoint]);
    expect(errorOf(() => planUpgrade(graph, [branchPoint], '+1')).message).toMatch(/ambiguous/);
    expect(errorOf(() => planDowngrade(graph, [graph.get(merge).revises[0]!, graph.get(merge).revises[1]!], '-1')).message).toMatch(/several heads/);
    const unknown = errorOf(() => planUpgrade(graph, ['nope'], 'head'));
    expect(unknown.message).toMatch(/revision nope, which no migration file knows/);
    expect(unknown.hint).toMatch(/stamp/);
  });
});

describe('SQL statement splitter', () => {
  it('keeps semicolons inside strings, identifiers, dollar quotes and comments', () => {
    const sql = [
      "INSERT INTO t VALUES ('a;b', E'c\\';d');",
      'CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END; $body$ LANGUAGE plpgsql;',
      '-- a comment; with semicolon',
      '/* block; /* nested; */ still; */ SELECT "x;y" FROM t;',
      'SELECT $$;$$',
    ].join('\n');
    const statements = splitSqlStatements(sql);
    expect(statements.map((s) => s.line)).toEqual([1, 2, 3, 5]);
    expect(statements[1]!.sql).toContain('RETURN 1; END;');
    expect(statements[2]!.sql).toContain('"x;y"');
    expect(statements).toHaveLength(4);
  });
});
