import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, createTestProject, runCli as runBin, type TestDatabase, type TestProject } from './helpers/db';
import { writeMigration } from './helpers/migrations';

/**
 * `mutx-ops review` as an operator runs it, against a real database it reads table sizes from:
 * severity rises with the size of a table it fills, a table the plan creates is no hazard, and
 * bad input is one line with a documented exit code.
 */
let db: TestDatabase;

async function runCli(args: string[], options: { cwd: string; env?: Record<string, string | undefined> }) {
  const result = await runBin(args, options);
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr), all: String(result.all) };
}

/** Another project on the same database: it knows revision a1, which the database is at. */
function sideProject(): TestProject {
  const p = createTestProject({ copyMigrations: false });
  writeMigration(p.migrationsDir, 'a1', { message: 'base', upgrade: 'SELECT 1;' });
  return p;
}
let project: TestProject;

const SETTINGS = 'lock_wait_seconds: 10\nreview:\n  large_table_rows: 50000\n  large_table_bytes: 1073741824\n  small_table_rows: 1000\n  small_table_bytes: 1048576\n';

beforeAll(async () => {
  db = await createTestDatabase('mutx_review');
  project = createTestProject({ copyMigrations: false, settings: SETTINGS });
  await db.query(`CREATE TABLE events (id bigint PRIMARY KEY, kind text, note varchar(50), created_at timestamptz DEFAULT now());
    INSERT INTO events (id, kind, note) SELECT g, 'k', 'n' FROM generate_series(1, 60000) g;
    CREATE TABLE lookups (id int PRIMARY KEY, name text);
    INSERT INTO lookups SELECT g, 'x' || g FROM generate_series(1, 40) g;
    CREATE TABLE fresh (id int, kind text);
    INSERT INTO fresh SELECT g, 'k' FROM generate_series(1, 5000) g;
    ALTER TABLE events ADD CONSTRAINT events_kind_nn CHECK (kind IS NOT NULL);
    CREATE TYPE mood AS ENUM ('calm');
    CREATE FUNCTION mint_token() RETURNS text LANGUAGE sql VOLATILE AS $$ SELECT md5(random()::text) $$;
    ANALYZE events; ANALYZE lookups;`);
  writeMigration(project.migrationsDir, 'a1', { message: 'base', upgrade: 'SELECT 1;' });
  writeMigration(project.migrationsDir, 'a2', {
    revises: 'a1',
    message: 'indexes',
    upgrade: [
      'CREATE INDEX events_kind_idx ON events (kind);',
      'CREATE INDEX lookups_name_idx ON lookups (name);',
      'CREATE INDEX fresh_kind_idx ON fresh (kind);',
      'CREATE TABLE audit_log (id bigint, at timestamptz);',
      'CREATE INDEX audit_log_at_idx ON audit_log (at);',
      'ALTER TABLE events ALTER COLUMN note TYPE varchar(200);',
      'ALTER TABLE events ALTER COLUMN kind SET NOT NULL;',
      'ALTER TABLE lookups ADD COLUMN token text DEFAULT mint_token();',
      "ALTER TYPE mood ADD VALUE 'tense';",
    ].join('\n'),
    downgrade: 'DROP TABLE audit_log;\nDROP INDEX events_kind_idx;',
  });
  // Applied up to a1, so the review's plan is a2.
  const applied = await runCli(['--database-url', db.url, 'upgrade', 'a1'], { cwd: project.dir });
  expect(applied.exitCode, applied.all).toBe(0);
});

afterAll(async () => {
  await db?.drop();
  project?.cleanup();
});

interface JsonFinding {
  rule: string;
  level: string;
  line: number;
  message: string;
  table?: string;
  size?: { name: string; rows?: number; bytes: number };
}

async function reviewJson(args: string[] = []) {
  const result = await runCli(['--database-url', db.url, '--json', 'review', ...args], { cwd: project.dir });
  return { result, report: JSON.parse(result.stdout) as { ok: boolean; connected: boolean; serverVersion: string; counts: Record<string, number>; revisions: { revision: string; statements: { sql: string; line: number }[]; findings: JsonFinding[] }[]; tables: { name: string; rows?: number; bytes: number }[] } };
}

describe('review on the live database', () => {
  it('raises the level with the table size, and names rows and bytes', async () => {
    const { result, report } = await reviewJson();
    expect(report.connected).toBe(true);
    expect(report.serverVersion).toMatch(/^\d+/);
    expect(report.revisions.map((r) => r.revision)).toEqual(['a2']);
    const found = report.revisions[0]!.findings;
    const index = (table: string) => found.find((f) => f.rule === 'lock/index-not-concurrent' && f.table?.endsWith(table));
    // 60 000 rows ≥ large_table_rows: error; 40 rows: info; 5 000 rows, never analysed: bytes decide (medium → warning).
    expect(index('events')).toMatchObject({ level: 'error', size: { name: 'events', rows: 60000 } });
    expect(index('events')!.message).toMatch(/events: ~60 k rows, \d+(\.\d)? MB/);
    expect(index('lookups')).toMatchObject({ level: 'info' });
    expect(index('fresh')?.size?.rows).toBeUndefined();
    expect(index('fresh')!.message).toContain('rows unknown (never analysed)');
    expect(index('audit_log')).toBeUndefined();
    expect(result.exitCode).toBe(3);
    expect(report.ok).toBe(false);
    expect(report.tables[0]!.name).toBe('events');
  });

  it('knows the current column types, existing checks and function volatility', async () => {
    const { report } = await reviewJson();
    const rules = report.revisions[0]!.findings.map((f) => f.rule);
    // varchar(50) → varchar(200) needs no rewrite; a validated CHECK (kind IS NOT NULL) spares the scan.
    expect(rules).not.toContain('lock/alter-column-type');
    expect(rules).not.toContain('lock/set-not-null');
    // mint_token() is declared VOLATILE in the database: the new column rewrites lookups.
    expect(report.revisions[0]!.findings.find((f) => f.rule === 'lock/add-column-volatile-default')?.message).toContain('mint_token');
    // On PostgreSQL 12+ ADD VALUE in a transaction works; only the same-transaction use is noted.
    expect(report.revisions[0]!.findings.find((f) => f.rule === 'tx/enum-add-value')?.level).toBe('info');
  });

  it('reviews the downgrade it would run: what it loses, with sizes', async () => {
    const upgraded = await runCli(['--database-url', db.url, 'upgrade', 'head'], { cwd: project.dir });
    expect(upgraded.exitCode, upgraded.all).toBe(0);
    await db.query('INSERT INTO audit_log SELECT g, now() FROM generate_series(1, 300) g; ANALYZE audit_log');
    try {
      const { result, report } = await reviewJson(['downgrade', '-1']);
      const drop = report.revisions[0]!.findings.find((f) => f.rule === 'data/downgrade-drops-table')!;
      expect(drop).toMatchObject({ level: 'info', size: { name: 'audit_log', rows: 300 } });
      expect(report.revisions[0]!.findings.find((f) => f.rule === 'lock/drop-index-not-concurrent')).toMatchObject({ level: 'error', table: 'events' });
      expect(result.exitCode).toBe(3);
      // Human output: each revision's SQL with file lines, then its findings.
      const human = await runCli(['--database-url', db.url, 'review', 'downgrade', '-1'], { cwd: project.dir });
      expect(human.stdout).toMatch(/downgrade a2: indexes \(migrations\/a2_indexes\.sql\)/);
      expect(human.stdout).toMatch(/\s\d+ │ DROP TABLE audit_log;/);
      expect(human.stdout).toMatch(/ERROR lock\/drop-index-not-concurrent migrations\/a2_indexes\.sql:\d+: DROP INDEX events_kind_idx without CONCURRENTLY \(events: ~60 k rows/);
    } finally {
      await runCli(['--database-url', db.url, 'downgrade', 'a1'], { cwd: project.dir });
    }
  });

  it('reads only: the catalog is unchanged and the audit trail has the review', async () => {
    const before = await db.query("SELECT count(*)::int AS n FROM pg_class WHERE relnamespace = 'public'::regnamespace");
    await reviewJson();
    const after = await db.query("SELECT count(*)::int AS n FROM pg_class WHERE relnamespace = 'public'::regnamespace");
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
    const audit = fs.readFileSync(project.auditPath, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { action: string; phase: string });
    expect(audit.filter((r) => r.action === 'review').map((r) => r.phase)).toContain('end');
  });
});

describe('review: exit codes and bad input', () => {
  it('exit 0 when nothing is at error level (a waiver with its reason counts as settled)', async () => {
    const p = sideProject();
    try {
      writeMigration(p.migrationsDir, 'b1', { revises: 'a1', upgrade: 'CREATE INDEX l_idx ON lookups (name); -- mutx-ops: allow lock/index-not-concurrent -- 40 rows' });
      const result = await runCli(['--database-url', db.url, 'review', '--brief'], { cwd: p.dir });
      expect(result.exitCode, result.all).toBe(0);
      expect(result.stdout).toMatch(/waived lock\/index-not-concurrent .*40 rows/);
      expect(result.stdout).not.toContain('│');
    } finally {
      p.cleanup();
    }
  });

  it('without any database configured it reviews offline and says so', async () => {
    const p = createTestProject({ copyMigrations: false });
    try {
      writeMigration(p.migrationsDir, 'c1', { upgrade: 'CREATE INDEX CONCURRENTLY e_idx ON events (kind);' });
      const human = await runCli(['review'], { cwd: p.dir, env: { DATABASE_URL: undefined } });
      expect(human.stderr).toMatch(/no database configured: reviewing offline/);
      const result = await runCli(['--json', 'review'], { cwd: p.dir, env: { DATABASE_URL: undefined } });
      const report = JSON.parse(result.stdout) as { connected: boolean; revisions: { findings: JsonFinding[] }[] };
      expect(report.connected).toBe(false);
      expect(report.revisions[0]!.findings[0]!.rule).toBe('tx/concurrently-in-transaction');
      expect(result.exitCode).toBe(3);
    } finally {
      p.cleanup();
    }
  });

  const badInput: [string, (p: TestProject) => void, RegExp][] = [
    ['a waiver naming an unknown rule', (p) => writeMigration(p.migrationsDir, 'd1', { revises: 'a1', upgrade: 'SELECT 1; -- mutx-ops: allow lock/nope -- x' }), /d1_d1\.sql:6: waiver names unknown rule "lock\/nope"/],
    ['a rule config that is not a known id', (p) => fs.writeFileSync(path.join(p.dir, 'mutx-ops.yaml'), 'review:\n  rules:\n    lock/nope: off\n'), /mutx-ops\.yaml:3: .*unknown rule "lock\/nope"/],
    ['a file that is not UTF-8', (p) => fs.writeFileSync(path.join(p.migrationsDir, 'd2_x.sql'), Buffer.concat([Buffer.from('-- revision: d2\n-- +upgrade\nSELECT \''), Buffer.from([0xc3, 0x28]), Buffer.from("';\n-- +downgrade\nSELECT 1;\n")])), /d2_x\.sql:3: invalid UTF-8/],
    [
      'a 50 MB migration',
      (p) => {
        const file = path.join(p.migrationsDir, 'd3_big.sql');
        fs.writeFileSync(file, '-- revision: d3\n-- +upgrade\n');
        fs.appendFileSync(file, Buffer.alloc(50 * 1024 * 1024, 'SELECT 1;\n'));
        fs.appendFileSync(file, '-- +downgrade\nSELECT 1;\n');
      },
      /d3_big\.sql:1: file is \d+ bytes, over the \d+-byte limit/,
    ],
  ];
  for (const [what, setup, message] of badInput) {
    it(`${what}: one line with file:line, exit 2`, async () => {
      const p = sideProject();
      try {
        setup(p);
        const result = await runCli(['--database-url', db.url, 'review'], { cwd: p.dir });
        expect(result.exitCode, result.all).toBe(2);
        expect(result.stderr.trim().split('\n')).toHaveLength(1);
        expect(result.stderr).toMatch(message);
        expect(result.stdout).toBe('');
      } finally {
        p.cleanup();
      }
    });
  }

  it('an unparsable statement is an error finding with file:line (exit 3), not a crash', async () => {
    const p = sideProject();
    try {
      writeMigration(p.migrationsDir, 'e1', { revises: 'a1', upgrade: 'SELECT 1;\nALTER TABLE events ADD COLUMN x int DEFAUL 0;' });
      const result = await runCli(['--database-url', db.url, 'review', '--brief'], { cwd: p.dir });
      expect(result.exitCode).toBe(3);
      expect(result.stdout).toMatch(/ERROR sql\/syntax-error migrations\/e1_e1\.sql:7: the PostgreSQL parser rejects this statement: syntax error at or near "DEFAUL"/);
    } finally {
      p.cleanup();
    }
  });

  it('--rules lists every rule with its configured level', async () => {
    const result = await runCli(['--json', 'review', '--rules'], { cwd: project.dir });
    const { rules } = JSON.parse(result.stdout) as { rules: { id: string; level: string }[] };
    expect(rules.length).toBeGreaterThanOrEqual(27);
    expect(rules.find((r) => r.id === 'lock/index-not-concurrent')?.level).toBe('warning');
  });
});
