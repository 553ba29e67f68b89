import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditTrail } from '../src/core/audit';
import { MutxError } from '../src/core/errors';
import { parseMigrationText } from '../src/core/migrations/engines/sql/file';
import { splitSqlStatements } from '../src/core/migrations/engines/sql/sqlSplit';
import { TAMPER_KINDS, tamper } from './reliability/auditTamper';
import { brokenGraphProperties, graphProperties, linearPlanProperties, parserMutations, parserRoundTrip, planProperties } from './reliability/properties';
import { Rng, runSeed } from './reliability/support';

/**
 * Fast subset of `npm run reliability` (same properties, fewer runs). Seeded by MUTX_SEED,
 * else a fixed default, so `npm test` is repeatable; fast-check prints the seed and path of
 * any counterexample.
 */
const seed = runSeed();

describe('properties (fast-check)', () => {
  it('parser: generated valid files round-trip', () => {
    expect(parserRoundTrip(300, seed)).toBeGreaterThanOrEqual(300);
  });
  it('parser: random mutations only ever throw MutxError naming file:line', () => {
    expect(parserMutations(500, seed)).toBeGreaterThanOrEqual(500);
  });
  it('graph: random DAGs (topological order, heads, closures)', () => {
    expect(graphProperties(200, seed)).toBeGreaterThanOrEqual(200);
  });
  it('graph: cycles, duplicates and unknown parents are MutxErrors', () => {
    expect(brokenGraphProperties(200, seed)).toBeGreaterThanOrEqual(200);
  });
  it('plans: upgrade/downgrade round trips, parents first, never twice', () => {
    expect(planProperties(200, seed)).toBeGreaterThanOrEqual(200);
  });
  it('plans: +N then -N on linear chains', () => {
    expect(linearPlanProperties(200, seed)).toBeGreaterThanOrEqual(200);
  });
});

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('audit tampering (in process, seeded)', () => {
  it('verify catches every tampering and names the first bad line', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mutx-tamper-'));
    dirs.push(dir);
    const source = new AuditTrail(path.join(dir, 'src', 'audit.jsonl'), { name: 'tester', host: 'h' });
    for (let i = 0; i < 12; i++) source.append({ action: `a${i}`, phase: i % 3 === 0 ? 'start' : i % 3 === 1 ? 'end' : 'event', outcome: i % 3 === 1 ? 'ok' : undefined, details: { i } });
    const text = fs.readFileSync(source.file, 'utf8');
    const head = fs.readFileSync(`${source.file}.head`, 'utf8');
    const rng = new Rng(seed);
    const target = new AuditTrail(path.join(dir, 'copy', 'audit.jsonl'), { name: 'tester', host: 'h' });
    fs.mkdirSync(path.dirname(target.file));
    for (let i = 0; i < 48; i++) {
      const kind = TAMPER_KINDS[i % TAMPER_KINDS.length]!;
      const t = tamper(text, kind, rng);
      fs.writeFileSync(target.file, t.text);
      fs.writeFileSync(`${target.file}.head`, head);
      const result = target.verify();
      expect(result.ok, t.description).toBe(false);
      expect(result.firstBad?.line, t.description).toBe(t.expectedLine);
    }
  });

  // Fixed (src/core/audit.ts, verify(), the head-marker check after the loop): when the last record
  // is edited and re-hashed, every line chains and only the head marker disagrees; verify used to
  // report line N+1 / "record N+1" (a record that does not exist) instead of the last record, line N.
  it('names the last record when it was edited and re-hashed', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mutx-tamper-'));
    dirs.push(dir);
    const trail = new AuditTrail(path.join(dir, 'audit.jsonl'), { name: 'tester', host: 'h' });
    for (let i = 0; i < 4; i++) trail.append({ action: `a${i}`, phase: 'event' });
    const text = fs.readFileSync(trail.file, 'utf8');
    let found = false;
    for (let s = 0; s < 200 && !found; s++) {
      const t = tamper(text, 'edit-rehash', new Rng(s));
      if (!t.description.includes('record 4/4')) continue;
      found = true;
      fs.writeFileSync(trail.file, t.text);
      expect(trail.verify()).toMatchObject({ ok: false, firstBad: { line: 4, seq: 4 } });
    }
    expect(found).toBe(true);
  });
});

describe('parser and splitter bugs found by the properties', () => {
  // Valid UTF-8 that contains U+FFFD (EF BF BD) is text, not a decoding error (fatal TextDecoder).
  it('accepts a valid UTF-8 file containing U+FFFD', () => {
    const file = parseMigrationText("-- revision: r1\n-- message: replacement \uFFFD char\n-- +upgrade\nSELECT '\uFFFD';\n-- +downgrade\nSELECT 1;\n", '/m/r1_x.sql');
    expect(file.message).toBe('replacement \uFFFD char');
  });

  // A header whose value contains a Unicode line separator is still a header (never silently a comment).
  it('keeps a message containing U+2028', () => {
    const message = parseMigrationText('-- revision: r1\n-- message: a\u2028b\n-- +upgrade\nSELECT 1;\n-- +downgrade\nSELECT 1;\n', '/m/r1_fallback.sql').message;
    expect(message).toBe('a\u2028b');
  });

  // A line that looks like a header but breaks its grammar (a space or BOM inside the key, e.g.
  // "-- revi ses: abc") is reported with file:line instead of silently being a comment.
  it('reports a malformed header line instead of ignoring it', () => {
    expect(() => parseMigrationText('-- revision: r2\n-- revi ses: r1\n-- +upgrade\nSELECT 1;\n-- +downgrade\nSELECT 1;\n', '/m/r2_x.sql')).toThrow(/r2_x\.sql:2: malformed header line/);
    expect(() => parseMigrationText('-- revision: r2\n-- revi\uFEFFses: r1\n-- +upgrade\nSELECT 1;\n-- +downgrade\nSELECT 1;\n', '/m/r2_x.sql')).toThrow(/r2_x\.sql:2: /);
    // Plain comments (no "words: " shape) stay allowed.
    expect(parseMigrationText('-- revision: r2\n-- a note\n-- see https://example.com/x\n--\n-- +upgrade\nSELECT 1;\n-- +downgrade\nSELECT 1;\n', '/m/r2_x.sql').revision).toBe('r2');
  });

  // "head", "heads" and "base" (any case) are read as targets by every command, so they are not revision ids.
  it('rejects the reserved ids head, heads and base', () => {
    for (const id of ['head', 'heads', 'base', 'HEAD', 'Base']) {
      expect(() => parseMigrationText(`-- revision: ${id}\n-- +upgrade\nSELECT 1;\n-- +downgrade\nSELECT 1;\n`, `/m/${id}_x.sql`), id).toThrow(new RegExp(`${id}_x\\.sql:1: revision id "${id}" is reserved`));
    }
  });

  // Lines are counted incrementally, so splitting is linear in the input.
  it('splits 10 000 statements in linear time (well under 250 ms)', () => {
    const sql = 'INSERT INTO t VALUES (1);\n'.repeat(10_000);
    const started = Date.now();
    const statements = splitSqlStatements(sql);
    expect(statements).toHaveLength(10_000);
    expect(statements[9_999]!.line).toBe(10_000);
    expect(Date.now() - started).toBeLessThan(250);
  });

  it('splitting never loses code and keeps lines in order (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('SELECT 1;', "SELECT ';';", '-- c;', '/* ; */', 'SELECT $$;$$;', '', 'CREATE TABLE x (a int, b text);'), { maxLength: 30 }), (lines) => {
        const sql = lines.join('\n');
        const statements = splitSqlStatements(sql);
        for (let i = 1; i < statements.length; i++) expect(statements[i]!.line).toBeGreaterThanOrEqual(statements[i - 1]!.line);
        for (const statement of statements) expect(sql.slice(statement.offset)).toContain(statement.sql.slice(0, 5));
      }),
      { numRuns: 200, seed },
    );
  });
});
