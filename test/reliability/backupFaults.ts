/**
 * Faults during backups, restores and headless runbook runs (shared by the reliability scenarios
 * kill-backup, kill-restore, kill-run and backup-connection-loss, and by their fast subset in
 * test/backupFaults.test.ts): kill -9 of the built CLI after a seeded random delay or at an
 * in-process point (killpoint.mjs), and pg_terminate_backend of pg_dump's session. Every fault
 * is followed by the same invariants: the killed process's sessions end, no advisory lock, the
 * catalog matches the version table, the backup catalog lists only complete backups (verified,
 * where the command verifies before cataloguing) and loses none, the audit chain verifies and the
 * next start records the interruption, every file under the state folder is private, and a rerun
 * (or resume) finishes.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Result } from 'execa';
import pg from 'pg';
import { hashDirectory, listBackups } from '../../src/core/backup';
import { loadProjectSettings } from '../../src/core/config';
import { adminQuery, createTestDatabase, createTestProject, waitFor, type TestDatabase } from '../helpers/db';
import { REPO_RUNBOOKS } from '../helpers/runbooks';
import { reach } from './faultPoints';
import {
  auditPairing,
  checkAuditAfterFault,
  checkDatabaseState,
  cli,
  dataSnapshot,
  firstDifference,
  readAuditLines,
  ReferenceCatalogs,
  repair,
  sleep,
  versionRows,
  writeTimedChain,
  type CliOptions,
  type FaultContext,
  type Rng,
  type Scenario,
} from './support';

// ---------------------------------------------------------------------------------------
// The fixture: a database with the timed chain at head (k_items holds `rows` rows), a project
// whose runbooks are the repository's, and the backups it knows to be complete.

export type Format = 'custom' | 'plain' | 'directory';
export const FORMATS: readonly Format[] = ['custom', 'plain', 'directory'];

export interface BackupFixture extends FaultContext {
  ids: string[];
  stateDir: string;
  backupsDir: string;
  /** Complete backups reported by a command that finished (or found complete after a kill). */
  known: Set<string>;
  /** An empty application log for the runbooks' logs steps. */
  emptyLog: string;
  run(args: string[], options?: Omit<CliOptions, 'cwd'>): ReturnType<typeof cli>;
  close(): Promise<void>;
}

export async function createBackupFixture(prefix: string, rows: number): Promise<BackupFixture> {
  const db = await createTestDatabase(prefix);
  // A long lock_timeout: a migration that meets a slow restore waits instead of failing.
  const project = createTestProject({ copyMigrations: false, settings: `lock_wait_seconds: 60\nlock_timeout_seconds: 60\nrunbooks_dir: ${REPO_RUNBOOKS}\n` });
  const ids = writeTimedChain(project.migrationsDir, rows);
  const stateDir = path.join(project.dir, '.mutx-ops');
  const emptyLog = path.join(project.dir, 'app.log');
  fs.writeFileSync(emptyLog, '');
  const fx: BackupFixture = {
    db,
    project,
    refs: new ReferenceCatalogs(project.migrationsDir),
    head: ids.at(-1)!,
    ids,
    stateDir,
    backupsDir: path.join(stateDir, 'backups'),
    known: new Set(),
    emptyLog,
    run: (args, options = {}) => cli(['--database-url', db.url, ...args], { cwd: project.dir, ...options }),
    close: async () => {
      await db.drop();
      await fx.refs.close();
      project.cleanup();
    },
  };
  const up = await fx.run(['upgrade', 'head']);
  if (up.exitCode !== 0) throw new Error(`fixture upgrade head failed: ${String(up.all)}`);
  return fx;
}

/** Every backup the catalog lists now is known (after a setup that took backups without --json). */
export function adoptCatalog(fx: BackupFixture): void {
  fx.known.clear();
  for (const record of listBackups(loadProjectSettings({ cwd: fx.project.dir }))) fx.known.add(record.file);
}

/** Takes a backup that must succeed; returns its file (now known). */
export async function takeBackup(fx: BackupFixture, format: Format, extra: string[] = []): Promise<string> {
  const result = await fx.run(['--json', 'backup', '--format', format, ...extra]);
  if (result.exitCode !== 0) throw new Error(`backup --format ${format} failed: ${String(result.all)}`);
  const record = JSON.parse(String(result.stdout)) as { file: string; verified?: { ok: boolean } };
  if (record.verified?.ok !== true) throw new Error(`backup ${record.file} was not verified`);
  fx.known.add(record.file);
  return record.file;
}

const lastLine = (result: Result) => String(result.all ?? '').trim().split('\n').at(-1) ?? '';

/** The file a finished `backup` reports (its --json record, or its first line). */
function backupFileFrom(result: Result): string | undefined {
  const stdout = String(result.stdout ?? '');
  try {
    return (JSON.parse(stdout) as { file?: string }).file;
  } catch {
    return /^backup (\S+)$/m.exec(stdout)?.[1];
  }
}

// ---------------------------------------------------------------------------------------
// Invariants of the backup catalog and of the state folder

interface CatalogEntry {
  file: string;
  metaFile: string;
  format: Format;
  sha256: string;
  sizeBytes: number;
  reason?: string;
  verified?: { ok: boolean };
}

function sha256File(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/**
 * `mutx-ops backups --json` lists only complete backups: no temp file (.partial, .tmp), each
 * file's checksum and size as recorded, a recorded verification that passed (any verification
 * at all with `requireVerified`), and no complete backup lost. A listed backup no finished
 * command reported (a killed process completed it just before the kill) must pass
 * `mutx-ops backup verify` on its own; it is then known.
 */
export async function catalogProblems(fx: BackupFixture, options: { requireVerified?: boolean } = {}): Promise<string[]> {
  const requireVerified = options.requireVerified ?? true;
  const problems: string[] = [];
  const listed = await fx.run(['--json', 'backups']);
  if (listed.exitCode !== 0) return [`backups --json exited ${listed.exitCode}: ${lastLine(listed)}`];
  let entries: CatalogEntry[];
  try {
    entries = (JSON.parse(String(listed.stdout)) as { backups: CatalogEntry[] }).backups;
  } catch {
    return [`backups --json printed no JSON document: ${JSON.stringify(String(listed.stdout).slice(0, 200))}`];
  }
  for (const entry of entries) {
    const name = path.basename(entry.file);
    if (/\.(partial|tmp)$/.test(name)) problems.push(`a temp file is catalogued: ${name}`);
    if (!fs.existsSync(entry.file)) {
      problems.push(`catalogued ${name} does not exist`);
      continue;
    }
    if (entry.verified ? entry.verified.ok !== true : requireVerified) problems.push(`catalogued ${name} is not verified (${JSON.stringify(entry.verified ?? null)})`);
    const digest = entry.format === 'directory' ? await hashDirectory(entry.file) : { sha256: sha256File(entry.file), bytes: fs.statSync(entry.file).size };
    if (digest.sha256 !== entry.sha256 || digest.bytes !== entry.sizeBytes) {
      problems.push(`catalogued ${name} is not what its sidecar says: sha256 ${digest.sha256.slice(0, 12)}… ${digest.bytes} bytes, recorded ${entry.sha256.slice(0, 12)}… ${entry.sizeBytes} bytes`);
    }
    if (!fx.known.has(entry.file)) {
      const verify = await fx.run(['backup', 'verify', entry.file]);
      if (verify.exitCode !== 0) problems.push(`catalogued ${name} (not reported by a finished command) fails backup verify (exit ${verify.exitCode}): ${lastLine(verify)}`);
      else fx.known.add(entry.file);
    }
  }
  const listedFiles = new Set(entries.map((e) => e.file));
  for (const file of fx.known) if (!listedFiles.has(file)) problems.push(`complete backup ${path.basename(file)} is no longer listed`);
  return problems;
}

/** Leftovers in the backups folder: anything that is not a complete backup or its sidecar. */
export function strayFiles(fx: BackupFixture): string[] {
  if (!fs.existsSync(fx.backupsDir)) return [];
  const keep = new Set<string>();
  for (const file of fx.known) {
    keep.add(path.basename(file));
    keep.add(`${path.basename(file)}.meta.json`);
  }
  return fs.readdirSync(fx.backupsDir).filter((name) => !keep.has(name));
}

/**
 * Every folder under the state folder is 0700 and every file 0600 (audit trail, head marker,
 * op markers, backups and sidecars, run state). The one exception: the inside of an unfinished
 * directory-format dump (NAME.dir.partial, itself 0700), which pg_dump was still writing.
 */
export function privateModeProblems(stateDir: string): string[] {
  const problems: string[] = [];
  if (!fs.existsSync(stateDir)) return problems;
  const walk = (dir: string) => {
    const mode = fs.statSync(dir).mode & 0o777;
    if (mode !== 0o700) problems.push(`folder ${path.relative(path.dirname(stateDir), dir)} is ${mode.toString(8)}, not 700`);
    if (dir.endsWith('.partial')) return;
    for (const name of fs.readdirSync(dir)) {
      const full = path.join(dir, name);
      let stat: fs.Stats;
      try {
        stat = fs.lstatSync(full);
      } catch {
        continue; // removed meanwhile (a lock file)
      }
      if (stat.isDirectory()) walk(full);
      else if ((stat.mode & 0o777) !== 0o600) problems.push(`file ${path.relative(path.dirname(stateDir), full)} is ${(stat.mode & 0o777).toString(8)}, not 600`);
    }
  };
  walk(stateDir);
  return problems;
}

/**
 * The state after any fault: database, backup catalog, audit trail (next start included), file
 * modes. `requireVerified`: every listed backup carries a passed verification (true for `backup`
 * and `restore`, which verify before cataloguing; a runbook's backup step verifies after).
 */
export async function checkAfterBackupFault(fx: BackupFixture, options: { requireVerified?: boolean } = {}): Promise<string[]> {
  return [...(await checkDatabaseState(fx)), ...(await catalogProblems(fx, options)), ...(await checkAuditAfterFault(fx)), ...privateModeProblems(fx.stateDir)];
}

// ---------------------------------------------------------------------------------------
// Kill specifications

export type KillSpec = { kind: 'delay'; ms: number } | { kind: 'point'; point: string; nth: number; what: string };

/** Runs the command and kills it (after the delay, or at the in-process point). */
async function runAndKill(fx: BackupFixture, args: string[], spec: KillSpec): Promise<Result> {
  const run = fx.run(args, spec.kind === 'point' ? { killAt: { point: spec.point, nth: spec.nth } } : {});
  if (spec.kind === 'delay') {
    await sleep(spec.ms);
    run.kill('SIGKILL');
  }
  return run;
}

const describeSpec = (spec: KillSpec) => (spec.kind === 'delay' ? `killed after ${spec.ms} ms` : `killed at ${spec.point} #${spec.nth} (${spec.what})`);

export interface KillIteration {
  /** False when the command finished before a delay-kill landed: not a kill point, try again. */
  landed: boolean;
  label: string;
  problems: string[];
}

/** Records one iteration (with MUTX_VERBOSE set, also prints it: which point each kill hit). */
export function record(s: Scenario, label: string, problems: string[]): void {
  if (process.env.MUTX_VERBOSE) process.stdout.write(`${problems.length ? 'FAIL' : 'ok  '} ${label}${problems.length ? `\n      ${problems.join('\n      ')}` : ''}\n`);
  s.iteration(label, problems);
}

/** Wall time of a command that must succeed (to scale the random delays to the real duration). */
export async function timed(fx: BackupFixture, args: string[]): Promise<number> {
  const started = Date.now();
  const result = await fx.run(args);
  if (result.exitCode !== 0) throw new Error(`${args.join(' ')} failed: ${String(result.all)}`);
  return Date.now() - started;
}

// ---------------------------------------------------------------------------------------
// kill -9 of `mutx-ops backup`

/** In-process points of a backup, between its steps (see killpoint.mjs). */
export const BACKUP_POINTS: KillSpec[] = [
  { kind: 'point', point: 'audit-record-before-write', nth: 1, what: 'op marker written, before the start record' },
  { kind: 'point', point: 'backup-rename', nth: 1, what: 'dump complete and hashed, before NAME.partial is renamed' },
  { kind: 'point', point: 'sidecar-write', nth: 1, what: 'dump renamed into place, before its sidecar is written' },
  { kind: 'point', point: 'sidecar-rename', nth: 1, what: 'sidecar written to its temp file, before it is renamed' },
  { kind: 'point', point: 'audit-record-before-write', nth: 2, what: 'sidecar in place, before the end audit record' },
];

export function backupArgs(rng: Rng, format: Format): string[] {
  return ['backup', '--format', format, ...(format === 'directory' && rng.chance(0.5) ? ['--jobs', '2'] : []), ...(rng.chance(0.3) ? ['--label', 'kill test'] : [])];
}

export async function killBackup(fx: BackupFixture, rng: Rng, format: Format, spec: KillSpec): Promise<KillIteration> {
  const args = backupArgs(rng, format);
  const label = `${args.join(' ')} ${describeSpec(spec)}`;
  const result = await runAndKill(fx, args, spec);
  if (result.signal !== 'SIGKILL') {
    if (spec.kind === 'delay') return { landed: false, label, problems: [] };
    return { landed: true, label, problems: [`the kill point was not reached (exit ${result.exitCode}): ${lastLine(result)}`] };
  }
  const problems = await checkAfterBackupFault(fx);
  // A rerun takes a complete, verified, catalogued backup.
  const rerun = await fx.run(['--json', ...args]);
  if (rerun.exitCode !== 0) problems.push(`rerun backup exited ${rerun.exitCode}: ${lastLine(rerun)}`);
  else {
    const record = JSON.parse(String(rerun.stdout)) as { file: string; verified?: { ok: boolean } };
    if (record.verified?.ok !== true) problems.push(`rerun backup ${path.basename(record.file)} is not verified`);
    fx.known.add(record.file);
    problems.push(...(await catalogProblems(fx)));
  }
  if (problems.length) await repair(fx);
  return { landed: true, label, problems };
}

// ---------------------------------------------------------------------------------------
// kill -9 of `mutx-ops restore FILE`

export interface RestoreSource {
  file: string;
  format: Format;
  /** Version rows and table data (audit mirror excluded) when the backup was taken. */
  rows: string[];
  data: string;
}

/** Backups (one per format) of the fixture at head, with the data they hold. */
export async function restoreSources(fx: BackupFixture, formats: readonly Format[]): Promise<RestoreSource[]> {
  const rows = await versionRows(fx.db);
  const data = await dataSnapshot(fx.db, ['mutx_ops.audit', 'mutx_ops.audit_head']);
  const sources: RestoreSource[] = [];
  for (const format of formats) sources.push({ file: await takeBackup(fx, format), format, rows, data });
  if ((await dataSnapshot(fx.db, ['mutx_ops.audit', 'mutx_ops.audit_head'])) !== data) throw new Error('taking the backups changed the data');
  return sources;
}

/** Moves the database away from the backup: 0–2 revisions down, rows updated, deleted and added. */
export async function scramble(fx: BackupFixture, rng: Rng, tag: string, maxDown = 2): Promise<void> {
  await reach(fx, fx.ids, fx.ids.length - rng.int(0, maxDown));
  await fx.db.query(
    `UPDATE k_items SET score = score + ${rng.int(1, 9)} WHERE id % ${rng.int(2, 9)} = 0;
     DELETE FROM k_tags WHERE id % ${rng.int(3, 11)} = 0;
     INSERT INTO k_tags (item_id, tag) VALUES (1, 'scrambled ${tag}')`,
  );
}

export async function killRestore(fx: BackupFixture, rng: Rng, source: RestoreSource, delayMs: number, tag: string, maxDown = 2): Promise<KillIteration> {
  await scramble(fx, rng, tag, maxDown);
  const before = { rows: await versionRows(fx.db), data: await dataSnapshot(fx.db, ['mutx_ops.audit', 'mutx_ops.audit_head']) };
  const args = ['--json', 'restore', source.file, '--yes', ...(rng.chance(0.5) ? ['--no-safety-backup'] : [])];
  const label = `restore ${source.format} backup${args.includes('--no-safety-backup') ? ' --no-safety-backup' : ''} over [${before.rows}] killed after ${delayMs} ms`;
  const result = await runAndKill(fx, args, { kind: 'delay', ms: delayMs });
  if (result.signal !== 'SIGKILL') {
    if (result.exitCode === 0) noteSafetyBackup(fx, result);
    return { landed: false, label, problems: result.exitCode === 0 ? [] : [`restore (not killed) exited ${result.exitCode}: ${lastLine(result)}`] };
  }
  const problems = await checkAfterBackupFault(fx);
  // One transaction: the database is as it was, or as the backup holds it — nothing in between.
  const now = { rows: await versionRows(fx.db), data: await dataSnapshot(fx.db, ['mutx_ops.audit', 'mutx_ops.audit_head']) };
  const same = (a: typeof now, b: { rows: string[]; data: string }) => a.rows.join(',') === b.rows.join(',') && a.data === b.data;
  if (!same(now, before) && !same(now, source)) {
    problems.push(`after the kill the database is neither as before [${before.rows}] nor as the backup [${source.rows}]: at [${now.rows}], ${firstDifference(source.data, now.data)}`);
  }
  // A rerun restores the backup: its revision, its rows.
  const rerun = await fx.run(args);
  if (rerun.exitCode !== 0) problems.push(`rerun restore exited ${rerun.exitCode}: ${lastLine(rerun)}`);
  else noteSafetyBackup(fx, rerun);
  const after = { rows: await versionRows(fx.db), data: await dataSnapshot(fx.db, ['mutx_ops.audit', 'mutx_ops.audit_head']) };
  if (after.rows.join(',') !== source.rows.join(',')) problems.push(`after the rerun the version table is [${after.rows}], the backup's is [${source.rows}]`);
  if (after.data !== source.data) problems.push(`after the rerun the data is not the backup's: ${firstDifference(source.data, after.data)}`);
  problems.push(...(await checkDatabaseState(fx)), ...(await catalogProblems(fx)));
  if (problems.length) await repair(fx);
  return { landed: true, label, problems };
}

function noteSafetyBackup(fx: BackupFixture, result: Result): void {
  try {
    const file = (JSON.parse(String(result.stdout)) as { safetyBackup?: { file: string } }).safetyBackup?.file;
    if (file) fx.known.add(file);
  } catch {
    // not JSON: the caller reports the exit code
  }
}

// ---------------------------------------------------------------------------------------
// kill -9 of a headless `mutx-ops run RUNBOOK --yes`, then `run --resume ID --yes`

interface RunInfo {
  id: string;
  runbook: string;
  status: string;
  interrupted: boolean;
  currentStep: number;
  steps: { id: string; status: string }[];
}

export async function listRuns(fx: BackupFixture): Promise<RunInfo[]> {
  const result = await fx.run(['--json', 'runs']);
  if (result.exitCode !== 0) throw new Error(`runs --json exited ${result.exitCode}: ${lastLine(result)}`);
  return (JSON.parse(String(result.stdout)) as { runs: RunInfo[] }).runs;
}

export type RunbookName = 'deploy' | 'emergency-rollback';

/** Chain positions a runbook starts from, and where it must end. */
export function runbookPlan(fx: BackupFixture, runbook: RunbookName, rng: Rng): { start: number; end: number } {
  const n = fx.ids.length;
  // Kept clear of k05's non-transactional downgrade (a known migration-core issue, covered by kill-points).
  if (runbook === 'deploy') return { start: rng.int(n - 3, n - 1), end: n };
  const start = rng.int(n - 2, n);
  return { start, end: start - 1 };
}

export function runArgs(fx: BackupFixture, runbook: RunbookName): string[] {
  return ['run', runbook, '--yes', '--log-source', fx.emptyLog, '--logs-duration', '1'];
}

const RUN_STEPS: Record<RunbookName, number> = { deploy: 8, 'emergency-rollback': 6 };

/** The N-th save of the run state (about two per step), chosen by the seed. */
export function runStatePoint(runbook: RunbookName, rng: Rng): KillSpec {
  return { kind: 'point', point: 'run-state-rename', nth: rng.int(1, RUN_STEPS[runbook] * 2 + 2), what: 'before that save of the run state is renamed into place' };
}

export async function killRun(fx: BackupFixture, rng: Rng, runbook: RunbookName, spec: KillSpec): Promise<KillIteration> {
  const plan = runbookPlan(fx, runbook, rng);
  await reach(fx, fx.ids, plan.start);
  const startRows = await versionRows(fx.db);
  const seen = new Set((await listRuns(fx)).map((r) => r.id));
  const label = `run ${runbook} from ${startRows.join(',') || 'base'} ${describeSpec(spec)}`;
  const result = await runAndKill(fx, runArgs(fx, runbook), spec);
  if (result.signal !== 'SIGKILL') {
    // Finished first (a delay past the end, a save number past the last): not a kill point.
    return { landed: false, label, problems: result.exitCode === 0 ? [] : [`run (not killed) exited ${result.exitCode}: ${lastLine(result)}`] };
  }
  // A runbook's backup step catalogues the dump, then verifies it: a kill in between leaves a
  // complete, not yet verified backup (catalogProblems runs `backup verify` on it).
  const problems = await checkAfterBackupFault(fx, { requireVerified: false });
  const runs = (await listRuns(fx)).filter((r) => !seen.has(r.id));
  const expected = plan.end === 0 ? [] : [fx.ids[plan.end - 1]!];
  let resumedId: string | undefined;
  let where = ' (before the first state save)';
  if (runs.length > 1) problems.push(`${runs.length} new runs after one kill: ${runs.map((r) => r.id).join(', ')}`);
  else if (runs.length === 0) {
    // Killed before the run state was first saved: there is nothing to resume, and nothing may have happened.
    const rows = await versionRows(fx.db);
    if (rows.join(',') !== startRows.join(',')) problems.push(`no run state to resume, but the database moved from [${startRows}] to [${rows}]`);
    const runRecords = readAuditLines(fx.project.auditPath).filter((r) => r.action === 'run' && !seen.has(String((r as { run_id?: string }).run_id)));
    if (runRecords.length) problems.push(`no run state to resume, but the audit trail has ${runRecords.length} record(s) of a new run`);
  } else {
    const run = runs[0]!;
    resumedId = run.id;
    const step = run.steps[run.currentStep];
    where = ` → at step ${run.currentStep + 1} ${step?.id ?? '?'} (${step?.status ?? '?'}), run ${run.status}`;
    if (run.status !== 'completed') {
      if (!run.interrupted) problems.push(`run ${run.id} is "${run.status}" and not listed as interrupted (resumable)`);
      const resumed = await fx.run(['run', '--resume', run.id, '--yes', '--log-source', fx.emptyLog, '--logs-duration', '1']);
      if (resumed.exitCode !== 0) problems.push(`run --resume ${run.id} exited ${resumed.exitCode}: ${lastLine(resumed)}`);
      const after = (await listRuns(fx)).find((r) => r.id === run.id);
      if (after?.status !== 'completed') problems.push(`after the resume run ${run.id} is "${after?.status}", not completed`);
    }
  }
  if (resumedId !== undefined) {
    const rows = await versionRows(fx.db);
    if (rows.join(',') !== expected.join(',')) problems.push(`after the run the version table is [${rows}] instead of [${expected}]`);
  }
  problems.push(...(await checkDatabaseState(fx)), ...(await catalogProblems(fx, { requireVerified: false })));
  const verify = await fx.run(['audit', 'verify']);
  if (verify.exitCode !== 0) problems.push(`audit verify after the resume exited ${verify.exitCode}: ${lastLine(verify)}`);
  problems.push(...auditPairing(readAuditLines(fx.project.auditPath)), ...privateModeProblems(fx.stateDir));
  if (problems.length) await repair(fx);
  return { landed: true, label: `${label}${where}`, problems };
}

// ---------------------------------------------------------------------------------------
// Connection loss mid-backup: pg_terminate_backend of pg_dump's session

export type Victims = 'pg_dump' | 'all';

/** pg_dump connects as "mutx-ops:OPERATOR@HOST #RANDOM" (PGAPPNAME in dump.ts); mutx-ops' own sessions have no " #". */
export async function terminateBackup(db: TestDatabase, victims: Victims): Promise<number> {
  const pattern = victims === 'pg_dump' ? 'mutx-ops:% #%' : 'mutx-ops:%';
  const result = await adminQuery<{ ok: boolean }>('SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE $2', [db.name, pattern]);
  return result.rows.filter((row) => row.ok).length;
}

/** The failure is one line on stderr: progress lines ("backup: …") and exactly one "mutx-ops: " line (with --json: only that line). */
export function backupErrorProblems(result: Result, json: boolean): string[] {
  const problems: string[] = [];
  const stderr = String(result.stderr ?? '');
  const lines = stderr.split('\n').filter((line) => line.trim() !== '');
  const errors = lines.filter((line) => line.startsWith('mutx-ops: '));
  const other = lines.filter((line) => !line.startsWith('mutx-ops: ') && !(!json && /^backup: /.test(line)));
  if (errors.length !== 1) problems.push(`stderr has ${errors.length} error lines instead of one: ${JSON.stringify(stderr.slice(-400))}`);
  if (other.length) problems.push(`unexpected lines on stderr: ${JSON.stringify(other.join('\n').slice(0, 300))}`);
  if (/^\s+at .+:\d+:\d+\)?$/m.test(stderr)) problems.push(`stack trace on stderr: ${JSON.stringify(stderr.slice(0, 300))}`);
  if (/internal error/i.test(stderr)) problems.push(`reported as an internal error: ${JSON.stringify(errors.join(' / ').slice(0, 300))}`);
  if (errors[0] && !/^mutx-ops: backup of "[^"]+" failed: /.test(errors[0])) problems.push(`the error line does not say which backup failed: ${JSON.stringify(errors[0].slice(0, 200))}`);
  if (json) {
    try {
      const body = JSON.parse(String(result.stdout)) as { ok: boolean; error?: { message?: string } };
      if (body.ok !== false || !body.error?.message) problems.push(`--json printed ${JSON.stringify(String(result.stdout).slice(0, 200))} instead of an error document`);
    } catch {
      problems.push(`--json printed no JSON document: ${JSON.stringify(String(result.stdout).slice(0, 200))}`);
    }
  }
  return problems;
}

export interface ConnectionLossCase {
  format: Format;
  /**
   * 'lock': a blocker holds an ACCESS EXCLUSIVE lock on `table` and the session is terminated
   * while it waits there (k_tags: pg_dump's LOCK TABLE; alembic_version: mutx-ops' own session
   * reading the revision before pg_dump starts); else after a delay.
   */
  at: { kind: 'lock'; table: 'k_tags' | 'alembic_version' } | { kind: 'delay'; ms: number };
  victims: Victims;
  json: boolean;
}

export async function terminateMidBackup(fx: BackupFixture, c: ConnectionLossCase): Promise<KillIteration> {
  const args = [...(c.json ? ['--json'] : []), 'backup', '--format', c.format];
  const waiter = c.at.kind === 'lock' && c.at.table === 'alembic_version' ? 'mutx-ops reads the version table' : 'pg_dump waits on a lock';
  const label = `${args.join(' ')}: ${c.victims === 'pg_dump' ? "pg_dump's session" : 'every mutx-ops session'} terminated ${c.at.kind === 'lock' ? `while ${waiter}` : `after ${c.at.ms} ms`}`;
  const knownBefore = new Set(fx.known);
  const folderBefore = new Set(fs.existsSync(fx.backupsDir) ? fs.readdirSync(fx.backupsDir) : []);
  let terminated = 0;
  let result: Result;
  if (c.at.kind === 'lock') {
    const blocker = new pg.Client({ connectionString: fx.db.url, application_name: 'reliability-blocker' });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(`LOCK TABLE ${c.at.table} IN ACCESS EXCLUSIVE MODE`);
      const run = fx.run(args);
      const waiting = c.at.table === 'k_tags' ? 'mutx-ops:% #%' : 'mutx-ops:%';
      try {
        await waitFor(async () => {
          const rows = await adminQuery("SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE $2 AND wait_event_type = 'Lock'", [fx.db.name, waiting]);
          return (rows.rowCount ?? 0) > 0 || undefined;
        }, 20_000, 10);
        terminated = await terminateBackup(fx.db, c.victims);
      } finally {
        await blocker.query('ROLLBACK').catch(() => {});
      }
      result = await run;
    } finally {
      await blocker.end().catch(() => {});
    }
  } else {
    const run = fx.run(args);
    await sleep(c.at.ms);
    terminated = await terminateBackup(fx.db, c.victims);
    result = await run;
  }
  if (terminated === 0) {
    const file = result.exitCode === 0 ? backupFileFrom(result) : undefined;
    if (file) fx.known.add(file);
    return { landed: false, label, problems: result.exitCode === 0 ? [] : [`backup failed without a termination (exit ${result.exitCode}): ${JSON.stringify(String(result.all).slice(-600))}`] };
  }

  const problems: string[] = [];
  if (result.exitCode === 0) {
    // Only when the session ended after pg_dump had sent everything: then the backup is complete
    // (catalogProblems below runs `backup verify` on it, a backup no finished command reported before).
    if (c.at.kind === 'lock') problems.push("exited 0 although pg_dump's session was terminated before it dumped anything");
    if (!backupFileFrom(result)) problems.push(`exited 0 without naming the backup: ${JSON.stringify(String(result.stdout).slice(0, 200))}`);
  } else {
    if (result.exitCode !== 1) problems.push(`exit code ${result.exitCode}, expected 1`);
    problems.push(...backupErrorProblems(result, c.json));
    // Clear about why: the connection was lost (pg_dump's own words, or the server's it relays).
    const line = String(result.stderr).split('\n').find((l) => l.startsWith('mutx-ops: ')) ?? '';
    if (c.victims === 'pg_dump' && !/connection|terminat/i.test(line)) problems.push(`the error line does not say the connection was lost: ${JSON.stringify(line.slice(0, 240))}`);
    const end = [...readAuditLines(fx.project.auditPath)].reverse().find((r) => r.phase === 'end' && r.action === 'backup');
    if (!end) problems.push('no end record for the failed backup');
    else if (end.outcome !== 'failed') problems.push(`audit end record outcome ${end.outcome}, expected failed`);
    else if (!end.error || !line.includes(end.error)) problems.push(`audit end record error ${JSON.stringify(end.error)} is not the error printed (${JSON.stringify(line.slice(0, 160))})`);
    // Nothing catalogued, temp files removed.
    const stray = strayFiles(fx).filter((name) => !folderBefore.has(name));
    if (stray.length) problems.push(`left in the backups folder: ${stray.join(', ')}`);
  }
  problems.push(...(await checkDatabaseState(fx)), ...(await catalogProblems(fx)));
  if (result.exitCode !== 0) {
    const added = [...fx.known].filter((file) => !knownBefore.has(file));
    if (added.length) problems.push(`the failed backup is catalogued: ${added.map((f) => path.basename(f)).join(', ')}`);
  }
  const verify = await fx.run(['audit', 'verify']);
  if (verify.exitCode !== 0) problems.push(`audit verify exited ${verify.exitCode}: ${lastLine(verify)}`);
  problems.push(...auditPairing(readAuditLines(fx.project.auditPath)), ...privateModeProblems(fx.stateDir));
  // A rerun succeeds.
  const rerun = await fx.run(['--json', 'backup', '--format', c.format]);
  if (rerun.exitCode !== 0) problems.push(`rerun backup exited ${rerun.exitCode}: ${lastLine(rerun)}`);
  else fx.known.add((JSON.parse(String(rerun.stdout)) as { file: string }).file);
  if (problems.length) await repair(fx);
  return { landed: true, label, problems };
}
