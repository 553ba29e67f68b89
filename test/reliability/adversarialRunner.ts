import fs from 'node:fs';
import path from 'node:path';
import { createTestDatabase, createTestProject, MUTX_MIGRATIONS, type TestDatabase, type TestProject } from '../helpers/db';
import { removeCaseFiles, writeCaseFiles, type ArgCase, type FileCase } from './corpus';
import { cli, dataSnapshot, firstDifference, fullSchemaDump, oneLineErrorProblems, readAuditLines, snapshotDifference, treeSnapshot } from './support';

/**
 * A project with the real MUTX migrations applied to head (its `users` table is the canary for
 * injected SQL), plus a database mutx-ops never touched. Every hostile input must fail with a
 * documented exit code and one line, and change nothing.
 */
export interface Harness {
  db: TestDatabase;
  fresh: TestDatabase;
  project: TestProject;
  head: string;
}

export async function createHarness(): Promise<Harness> {
  const db = await createTestDatabase('mutx_adv');
  const fresh = await createTestDatabase('mutx_adv_fresh');
  const project = createTestProject({ settings: 'lock_wait_seconds: 5\n' });
  const up = await cli(['--database-url', db.url, 'upgrade', 'head'], { cwd: project.dir });
  if (up.exitCode !== 0) throw new Error(String(up.all));
  await db.query("INSERT INTO users (email, display_name) VALUES ('canary@example.com', 'canary')").catch(async () => {
    // The users table's columns belong to the MUTX migrations; any row will do as a canary.
    await db.query('INSERT INTO users DEFAULT VALUES').catch(() => {});
  });
  const head = String((await cli(['heads'], { cwd: project.dir })).stdout).split(' ')[0]!;
  return { db, fresh, project, head };
}

export async function closeHarness(h: Harness | undefined): Promise<void> {
  await h?.db.drop();
  await h?.fresh.drop();
  h?.project.cleanup();
}

interface Snapshot {
  schema: string;
  data: string;
  audit: Buffer | null;
  head: Buffer | null;
  tree: Map<string, string>;
  auditRows: number;
}

const read = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file) : null);
// Preferences (MUTX_OPS_PREFS_DIR) live in the test's project folder only because the tests put them there.
const skipPrefs = (relative: string) => relative === '.prefs' || relative.startsWith(`.prefs${path.sep}`);

async function snapshot(h: Harness, db: TestDatabase): Promise<Snapshot> {
  const hasAudit = await db.query<{ present: boolean }>("SELECT to_regclass('mutx_ops.audit') IS NOT NULL AS present");
  const auditRows = hasAudit.rows[0]!.present ? (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM mutx_ops.audit')).rows[0]!.n : 0;
  return {
    schema: await fullSchemaDump(db.url),
    data: await dataSnapshot(db, ['mutx_ops.audit', 'mutx_ops.audit_head']),
    audit: read(h.project.auditPath),
    head: read(`${h.project.auditPath}.head`),
    tree: treeSnapshot(h.project.dir, (rel) => skipPrefs(rel) || rel.startsWith(`.mutx-ops${path.sep}`)),
    auditRows,
  };
}

function compareDatabase(before: Snapshot, after: Snapshot): string[] {
  const problems: string[] = [];
  if (before.schema !== after.schema) problems.push(`catalog changed (pg_dump -s): ${firstDifference(before.schema, after.schema)}`);
  if (before.data !== after.data) problems.push(`table data changed (version table, ledger or schema tables): ${firstDifference(before.data, after.data)}`);
  problems.push(...snapshotDifference(before.tree, after.tree).map((p) => `project file ${p}`));
  return problems;
}

/** The audit trail after a command that failed: untouched, or exactly one start+end(failed) pair. */
function compareAudit(h: Harness, before: Snapshot, after: Snapshot, phase: ArgCase['phase'], errorLine: string): string[] {
  const problems: string[] = [];
  if (phase === 'before-connect') {
    if (!Buffer.compare(before.audit ?? Buffer.alloc(0), after.audit ?? Buffer.alloc(0)) === false && (before.audit === null) === (after.audit === null)) return problems;
    if ((before.audit === null) !== (after.audit === null) || (before.audit && after.audit && !before.audit.equals(after.audit))) problems.push(`audit file changed although the error was detected before connecting (${before.audit?.length ?? 'none'} → ${after.audit?.length ?? 'none'} bytes)`);
    if ((before.head === null) !== (after.head === null) || (before.head && after.head && !before.head.equals(after.head))) problems.push('audit head marker changed');
    if (after.auditRows !== before.auditRows) problems.push(`mutx_ops.audit gained ${after.auditRows - before.auditRows} rows`);
    return problems;
  }
  const old = before.audit ?? Buffer.alloc(0);
  const now = after.audit ?? Buffer.alloc(0);
  if (!now.subarray(0, old.length).equals(old)) {
    problems.push('audit file was rewritten, not appended to');
    return problems;
  }
  const added = now.subarray(old.length).toString('utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as { phase: string; op_id: string; outcome?: string; error?: string; action: string });
  if (added.length !== 2 || added[0]?.phase !== 'start' || added[1]?.phase !== 'end' || added[0]?.op_id !== added[1]?.op_id) {
    problems.push(`audit gained ${added.length} records (${added.map((r) => `${r.action} ${r.phase}`).join(', ')}), expected one start and its end`);
  } else {
    if (added[1]!.outcome !== 'failed') problems.push(`audit end record outcome ${added[1]!.outcome}, expected failed`);
    if (!added[1]!.error || !errorLine.startsWith(`mutx-ops: ${added[1]!.error}`)) problems.push(`audit end record error ${JSON.stringify(added[1]!.error?.slice(0, 120))} is not the printed error ${JSON.stringify(errorLine.slice(0, 120))}`);
  }
  return problems;
}

/** Runs one command of a case and checks exit code, the one line, and that nothing changed. */
async function runChecked(h: Harness, db: TestDatabase, args: string[], options: { phase: ArgCase['phase']; expect: RegExp; exitCode?: number; env?: Record<string, string>; mustName?: string[] }): Promise<string[]> {
  const before = await snapshot(h, db);
  const verifyBefore = await cli(['audit', 'verify'], { cwd: h.project.dir });
  const result = await cli(args, { cwd: h.project.dir, env: options.env, timeout: 15_000 });
  const problems: string[] = [];
  if (result.timedOut) problems.push('the command hung (killed after 15 s)');
  if (result.exitCode !== (options.exitCode ?? 2)) problems.push(`exit code ${result.exitCode ?? result.signal}, expected ${options.exitCode ?? 2}`);
  if (!result.timedOut) problems.push(...oneLineErrorProblems(result, true));
  const stderr = String(result.stderr ?? '');
  const errorLine = stderr.split('\n').find((l) => l.startsWith('mutx-ops: ')) ?? stderr;
  if (!options.expect.test(stderr)) problems.push(`error does not match ${options.expect}: ${JSON.stringify(stderr.slice(0, 240))}`);
  // A control character in a file name is printed escaped (\n), never raw: look for that form too.
  const escaped = (name: string) => name.replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
  if (options.mustName && !options.mustName.some((name) => stderr.includes(name) || stderr.includes(escaped(name)))) problems.push(`error does not name the file (${options.mustName.map((n) => path.basename(n)).join(' or ')})`);
  if (String(result.stdout ?? '').trim()) problems.push(`wrote to stdout: ${JSON.stringify(String(result.stdout).slice(0, 120))}`);
  const after = await snapshot(h, db);
  problems.push(...compareDatabase(before, after), ...compareAudit(h, before, after, options.phase, errorLine));
  if (options.phase === 'after-connect' && after.auditRows - before.auditRows > 2) problems.push(`mutx_ops.audit gained ${after.auditRows - before.auditRows} rows`);
  const verifyAfter = await cli(['audit', 'verify'], { cwd: h.project.dir });
  if (verifyBefore.exitCode === 0 && verifyAfter.exitCode !== 0) problems.push(`audit verify fails after the command: ${String(verifyAfter.stdout).trim()}`);
  return problems;
}

/** The commands a malformed file is tried with (all read the migration files first). */
export const FILE_COMMANDS: string[][] = [['upgrade', 'head'], ['downgrade', '-1'], ['check'], ['current'], ['history'], ['upgrade', 'head', '--sql'], ['stamp', 'head'], ['revision', '-m', 'next']];

export async function runFileCase(h: Harness, c: FileCase, commands: string[][]): Promise<string[]> {
  const created = writeCaseFiles(h.project.migrationsDir, c.files);
  const problems: string[] = [];
  try {
    for (const command of commands) {
      const args = ['--database-url', h.db.url, ...command];
      for (const p of await runChecked(h, h.db, args, { phase: 'before-connect', expect: c.expect, mustName: created })) problems.push(`${command.join(' ')}: ${p}`);
    }
  } finally {
    removeCaseFiles(created);
  }
  if (problems.length) await restore(h);
  return problems;
}

/** After a case that changed something, put the database back at head so the next case starts clean. */
async function restore(h: Harness): Promise<void> {
  for (const name of fs.readdirSync(h.project.migrationsDir)) {
    if (!fs.existsSync(path.join(MUTX_MIGRATIONS, name))) fs.rmSync(path.join(h.project.migrationsDir, name), { recursive: true, force: true });
  }
  await cli(['--database-url', h.db.url, 'upgrade', 'heads'], { cwd: h.project.dir });
}

export async function runArgCase(h: Harness, c: ArgCase): Promise<string[]> {
  const db = c.fresh ? h.fresh : h.db;
  const problems = await runChecked(h, db, c.args(db.url), { phase: c.phase, expect: c.expect, exitCode: c.exitCode, env: c.env });
  if (problems.length) await restore(h);
  if (c.fresh && problems.length) {
    // Start the next fresh case from a database mutx-ops never touched.
    await h.fresh.drop();
    h.fresh = await createTestDatabase('mutx_adv_fresh');
  }
  return problems;
}
