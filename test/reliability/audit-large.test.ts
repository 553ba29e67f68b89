import crypto from 'node:crypto';
import fs from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, createTestProject, type TestDatabase, type TestProject } from '../helpers/db';
import { writeMigration } from '../helpers/migrations';
import { cli, runScenario, Scenario } from './support';

/**
 * Issue 15, item 12: an audit trail larger than V8's biggest string (512 MB) is verified, shown
 * and extended like a small one (streamed line by line), and a damaged record in it is still
 * named by line. The file is a real chain (every record hashed like mutx-ops does), then the CLI
 * appends to it and mirrors into a real database.
 */
const TARGET_BYTES = Number(process.env.MUTX_LARGE_AUDIT_MB ?? 540) * 1024 * 1024;

let db: TestDatabase;
let project: TestProject;

function writeLargeTrail(file: string): number {
  const fd = fs.openSync(file, 'w', 0o600);
  const pad = 'x'.repeat(64 * 1024);
  let prev = '0'.repeat(64);
  let seq = 0;
  let written = 0;
  let batch: string[] = [];
  while (written < TARGET_BYTES) {
    seq++;
    const body = { seq, ts: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(), op_id: crypto.randomUUID(), operator: 'filler', host: 'h', pid: 1, action: 'filler', phase: 'event', details: { pad }, prev };
    const hash = crypto.createHash('sha256').update(prev).update('\n').update(JSON.stringify(body)).digest('hex');
    const line = `${JSON.stringify({ ...body, hash })}\n`;
    batch.push(line);
    written += line.length;
    prev = hash;
    if (batch.length === 256) {
      fs.writeSync(fd, batch.join(''));
      batch = [];
    }
  }
  if (batch.length) fs.writeSync(fd, batch.join(''));
  fs.closeSync(fd);
  fs.writeFileSync(`${file}.head`, `${JSON.stringify({ seq, hash: prev })}\n`, { mode: 0o600 });
  return seq;
}

beforeAll(async () => {
  db = await createTestDatabase('mutx_rel_bigaudit');
  project = createTestProject({ copyMigrations: false });
  writeMigration(project.migrationsDir, 'r1', { upgrade: 'CREATE TABLE t1(id int);', downgrade: 'DROP TABLE t1;' });
  fs.mkdirSync(`${project.dir}/.mutx-ops`, { mode: 0o700 });
});
afterAll(async () => {
  await db?.drop();
  project?.cleanup();
});

it('an audit trail over 512 MB verifies, shows, takes new records and names a damaged one', async () => {
  const scenario = new Scenario(
    `audit trail of ${Math.round(TARGET_BYTES / 1024 / 1024)} MB (over V8's 512 MB string limit)`,
    'audit verify exits 0 and counts every record; audit show --last; upgrade appends and mirrors; a damaged record in the middle is named by line (exit 1, no crash)',
    'audit-large',
  );
  await runScenario(scenario, async (s) => {
    const records = writeLargeTrail(project.auditPath);
    const problems: string[] = [];
    const verify = await cli(['audit', 'verify', '--file-only'], { cwd: project.dir });
    if (verify.exitCode !== 0 || !String(verify.stdout).includes(`audit trail OK: ${records} record(s)`)) problems.push(`verify: exit ${verify.exitCode}: ${String(verify.all).slice(0, 200)}`);
    const show = await cli(['audit', 'show', '--last', '2'], { cwd: project.dir });
    if (show.exitCode !== 0 || !String(show.stdout).includes(`${records} `)) problems.push(`show: exit ${show.exitCode}: ${String(show.all).slice(0, 200)}`);
    const upgrade = await cli(['--database-url', db.url, 'upgrade', 'head'], { cwd: project.dir });
    if (upgrade.exitCode !== 0) problems.push(`upgrade: exit ${upgrade.exitCode}: ${String(upgrade.all).slice(0, 200)}`);
    const anchored = await cli(['--database-url', db.url, 'audit', 'verify'], { cwd: project.dir });
    if (anchored.exitCode !== 0 || !/anchored: database/.test(String(anchored.stdout))) problems.push(`anchored verify: exit ${anchored.exitCode}: ${String(anchored.all).slice(0, 300)}`);
    // Damage one byte in the middle: named by its line, exit 1.
    const fd = fs.openSync(project.auditPath, 'r+');
    const middle = Math.floor(fs.fstatSync(fd).size / 2);
    const probe = Buffer.alloc(1);
    fs.readSync(fd, probe, 0, 1, middle);
    fs.writeSync(fd, Buffer.from(probe[0] === 0x78 ? 'y' : 'x'), 0, 1, middle);
    fs.closeSync(fd);
    const broken = await cli(['audit', 'verify', '--file-only'], { cwd: project.dir });
    if (broken.exitCode !== 1 || !/BROKEN at .*audit\.jsonl:\d+/.test(String(broken.stdout))) problems.push(`damaged verify: exit ${broken.exitCode}: ${String(broken.all).slice(0, 200)}`);
    s.iteration('large trail', problems);
    expect(problems).toEqual([]);
  });
});
