import crypto from 'node:crypto';
import fs from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, createTestProject, runCli, type TestDatabase, type TestProject } from './helpers/db';
import { writeMigration } from './helpers/migrations';

/**
 * Issue 15, item 9: the audit chain is anchored outside the file. Each database mutx-ops mirrors
 * into keeps this trail's newest record (mutx_ops.audit_head); `audit verify` reports a file that
 * was re-hashed, cut short or deleted — attacks the file alone cannot reveal.
 */
let db: TestDatabase;
let other: TestDatabase;
let project: TestProject;
let original: string;
let head: string;
const cli = (args: string[], target = db) => runCli(['--database-url', target.url, ...args], { cwd: project.dir, timeout: 60_000 });
const lines = () => fs.readFileSync(project.auditPath, 'utf8').trimEnd().split('\n');

function rehash(record: Record<string, unknown>, prev: string): Record<string, unknown> {
  const { hash: _hash, ...body }: Record<string, unknown> = { ...record, prev };
  return { ...body, hash: crypto.createHash('sha256').update(prev).update('\n').update(JSON.stringify(body)).digest('hex') };
}
/** The forger's tool: rewrite records from `from` on, re-chaining every hash and the head marker. */
function forge(rows: Record<string, unknown>[], from: number, edit: (r: Record<string, unknown>) => void): void {
  let prev = from === 0 ? '0'.repeat(64) : String(rows[from - 1]!.hash);
  for (let i = from; i < rows.length; i++) {
    if (i === from) edit(rows[i]!);
    rows[i] = rehash(rows[i]!, prev);
    prev = String(rows[i]!.hash);
  }
  fs.writeFileSync(project.auditPath, `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
  const last = rows.at(-1)!;
  fs.writeFileSync(`${project.auditPath}.head`, `${JSON.stringify({ seq: last.seq, hash: last.hash })}\n`);
}

beforeAll(async () => {
  db = await createTestDatabase('mutx_anchor');
  other = await createTestDatabase('mutx_anchor_b');
  project = createTestProject({ copyMigrations: false });
  writeMigration(project.migrationsDir, 'r1', { upgrade: 'CREATE TABLE t1(id int);', downgrade: 'DROP TABLE t1;' });
  writeMigration(project.migrationsDir, 'r2', { revises: 'r1', upgrade: 'CREATE TABLE t2(id int);', downgrade: 'DROP TABLE t2;' });
  for (const args of [['upgrade', 'r1'], ['upgrade', 'head'], ['current'], ['downgrade', '-1']]) expect((await cli(args)).exitCode).toBe(0);
  expect((await cli(['upgrade', 'head'], other)).exitCode).toBe(0);
  original = fs.readFileSync(project.auditPath, 'utf8');
  head = fs.readFileSync(`${project.auditPath}.head`, 'utf8');
});
beforeEach(() => {
  fs.writeFileSync(project.auditPath, original);
  fs.writeFileSync(`${project.auditPath}.head`, head);
});
afterAll(async () => {
  await db?.drop();
  await other?.drop();
  project?.cleanup();
});

describe('audit verify against the databases', () => {
  it('an untouched trail is anchored in both databases it has records for (the second found on the same server)', async () => {
    const result = await cli(['audit', 'verify']);
    expect(result.exitCode, String(result.all)).toBe(0);
    expect(String(result.stdout)).toMatch(new RegExp(`anchored: database "${db.name}" on 127\\.0\\.0\\.1:5432: record \\d+ matches`));
    expect(String(result.stdout)).toMatch(new RegExp(`anchored: database "${other.name}" on 127\\.0\\.0\\.1:5432: record \\d+ matches`));
  });

  it('edit + re-hash of the whole chain from a record on: the file verifies alone, the anchor does not', async () => {
    const rows = lines().map((l) => JSON.parse(l) as Record<string, unknown>);
    forge(rows, 1, (r) => (r.operator = 'mallory'));
    expect((await cli(['audit', 'verify', '--file-only'])).exitCode).toBe(0);
    const result = await cli(['audit', 'verify']);
    expect(result.exitCode, String(result.all)).toBe(1);
    expect(String(result.stdout)).toMatch(/^audit trail BROKEN: the file's chain is intact, but 2 database\(s\) saw records it no longer holds/);
    expect(String(result.stdout)).toMatch(new RegExp(`BROKEN: database "${db.name}" .*: record \\d+ in the file is not the one this database saw .*rewritten`));
  });

  it('dropping the last records (head marker fixed up) is reported', async () => {
    const rows = lines().map((l) => JSON.parse(l) as Record<string, unknown>);
    const kept = rows.slice(0, -2);
    forge(kept, kept.length - 1, () => {});
    const result = await cli(['audit', 'verify'], other);
    expect(result.exitCode, String(result.all)).toBe(1);
    expect(String(result.stdout)).toMatch(new RegExp(`BROKEN: database "${other.name}" .*the file has no record \\d+: records were removed from the end`));
  });

  it('deleting the file and its head marker is tampering when a database saw records', async () => {
    fs.rmSync(project.auditPath);
    fs.rmSync(`${project.auditPath}.head`);
    expect((await cli(['audit', 'verify', '--file-only'])).exitCode).toBe(0);
    const result = await cli(['audit', 'verify']);
    expect(result.exitCode, String(result.all)).toBe(1);
    expect(String(result.stdout)).toMatch(/the file holds no records, but this database saw record \d+ of this trail .*deleted or replaced/);
  });

  it('a forged record appended after the last anchored one is shown as not anchored', async () => {
    const rows = lines().map((l) => JSON.parse(l) as Record<string, unknown>);
    const last = rows.at(-1)!;
    rows.push({ ...last, seq: Number(last.seq) + 1, action: 'stamp', target: rows.find((r) => String(r.target).endsWith(db.name))!.target });
    forge(rows, rows.length - 1, () => {});
    const result = await cli(['audit', 'verify']);
    expect(String(result.stdout)).toMatch(new RegExp(`anchored: database "${db.name}" .*record \\d+ matches; 1 later record\\(s\\) for this database are not anchored yet`));
  });

  it('a server named only in the file is never contacted', async () => {
    const rows = lines().map((l) => JSON.parse(l) as Record<string, unknown>);
    rows.push({ ...rows.at(-1)!, seq: rows.length + 1, target: 'postgresql://postgres@192.0.2.1:5432/victim' });
    forge(rows, rows.length - 1, () => {});
    const result = await cli(['audit', 'verify']);
    expect(String(result.stdout)).toMatch(/not checked \(no configured connection to that server\): 192\.0\.2\.1:5432\/victim/);
  });
});
