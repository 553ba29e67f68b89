import path from 'node:path';
import readline from 'node:readline/promises';
import type { Command } from 'commander';
import { AuditTrail } from '../core/audit';
import {
  backupDatabase,
  formatBytes,
  isCatalogued,
  listBackups,
  parseDuration,
  parseFormat,
  parseJobs,
  pruneBackups,
  resolveBackup,
  restoreBackup,
  verifyBackup,
  type BackupEvent,
  type BackupRecord,
  type CatalogContext,
} from '../core/backup';
import type { Target } from '../core/connection';
import { ExitCode, MutxError } from '../core/errors';
import { coreContextFrom, operatorFrom, settingsFrom, targetFrom, type GlobalOptions } from './context';
import type { Runner } from './migrationCommands';
import { formatDuration, type Output } from './output';

/** Progress on stderr: every event but `progress`, which is throttled to two lines a second. */
function eventPrinter(out: Output): (event: BackupEvent) => void {
  let lastProgress = 0;
  let lastKey = '';
  return (event) => {
    switch (event.type) {
      case 'started': {
        const what = event.operation === 'backup' ? `${event.reason === 'safety' ? 'safety backup' : 'backup'} of "${event.database}" (${event.format}` : `restore into "${event.database}" (${event.format}`;
        const size = event.databaseBytes !== undefined ? `, ${formatBytes(event.databaseBytes)}` : '';
        const tables = event.tablesTotal !== undefined ? `, ${event.tablesTotal} table(s)` : '';
        out.progress(`${event.operation}: ${what}${size}${tables}) → ${event.operation === 'backup' ? event.file : path.basename(event.file)}`);
        break;
      }
      case 'progress': {
        const now = Date.now();
        // At most two lines a second, and while nothing moves (e.g. waiting on a lock) one every 5 s.
        const key = `${event.tablesDone}/${event.tablesTotal} ${Math.floor(event.bytes / 1e5)} ${event.waitingOnPids?.join(',') ?? ''}`;
        if (now - lastProgress < 500 || (key === lastKey && now - lastProgress < 5000)) return;
        lastProgress = now;
        lastKey = key;
        const eta = event.etaSeconds !== undefined && event.tablesDone < event.tablesTotal ? `, ETA ${formatEta(event.etaSeconds)}` : '';
        const waiting = event.waitingOnPids?.length ? ` — waiting for a lock held by server pid ${event.waitingOnPids.join(', ')}` : '';
        out.progress(`${event.operation}: ${event.tablesDone}/${event.tablesTotal} tables, ${formatBytes(event.bytes)}, ${formatBytes(event.rateBytesPerSec)}/s${eta}${waiting}`);
        break;
      }
      case 'phase':
        out.progress(`${event.operation}: ${event.message}`);
        break;
      case 'finished':
        out.progress(`${event.operation}: done: ${formatBytes(event.bytes)} in ${formatDuration(event.durationMs)}${event.sha256 ? `, sha256 ${event.sha256.slice(0, 16)}…` : ''}`);
        break;
      case 'failed':
        break;
    }
  };
}

function formatEta(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

function age(iso: string): string {
  const ms = Date.now() - Date.parse(iso);
  if (!Number.isFinite(ms)) return '?';
  if (ms < 90_000) return `${Math.max(0, Math.round(ms / 1000))} s`;
  if (ms < 90 * 60_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 48 * 3_600_000) return `${Math.round(ms / 3_600_000)} h`;
  return `${Math.round(ms / 86_400_000)} d`;
}

function verifiedText(record: BackupRecord): string {
  if (!record.verified) return 'no';
  if (!record.verified.ok) return 'FAILED';
  return record.verified.restoreTest ? 'yes+restore' : 'yes';
}

function catalogLines(records: BackupRecord[], folder: string): string[] {
  if (records.length === 0) return [`no backups in ${folder}`];
  const rows = records.map((r) => [
    age(r.createdAt),
    formatBytes(r.sizeBytes),
    r.format,
    r.revisions.join('+') || 'base',
    verifiedText(r),
    r.operator,
    `${r.environment ? `${r.environment}/` : ''}${r.database}`,
    `${path.basename(r.file)}${r.reason === 'safety' ? ' [safety]' : ''}${r.label ? ` "${r.label}"` : ''}`,
  ]);
  const header = ['AGE', 'SIZE', 'FORMAT', 'REVISION', 'VERIFIED', 'BY', 'DATABASE', 'FILE'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line), `(${records.length} backup(s) in ${folder})`];
}

/** Settings, operator and audit trail; the target only when one is given (catalog commands work without). */
async function catalogContext(globals: GlobalOptions, signal: AbortSignal): Promise<CatalogContext> {
  const settings = settingsFrom(globals);
  const operator = await operatorFrom();
  let target: Target | undefined;
  try {
    target = await targetFrom(globals, settings);
  } catch (error) {
    if (!(error instanceof MutxError && error.kind === 'config' && error.message === 'no database given')) throw error;
  }
  return { settings, operator, audit: new AuditTrail(settings.auditPath, operator), target, signal };
}

async function ask(question: string, signal: AbortSignal): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  try {
    return await rl.question(question, { signal });
  } catch {
    throw new MutxError('usage', 'not confirmed: nothing was restored', { exitCode: ExitCode.interrupted });
  } finally {
    rl.close();
  }
}

function parseWaitLock(text: string): number {
  const seconds = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || !Number.isFinite(seconds) || seconds > 86_400) {
    throw new MutxError('usage', `--wait-lock must be a number of seconds between 0 and 86400, not "${text.slice(0, 20)}"`);
  }
  return seconds;
}

const interactive = () => Boolean(process.stdin.isTTY && process.stderr.isTTY);

export function registerBackupCommands(program: Command, run: Runner, signal: AbortSignal): void {
  const backup = program
    .command('backup')
    .description('take a backup of the database now (pg_dump; custom format into the backups folder)')
    .option('--format <format>', 'custom | plain | directory (default custom)')
    .option('--jobs <n>', 'parallel pg_dump workers (directory format only)')
    .option('--out <dir>', 'write the backup to this folder instead of the backups folder')
    .option('--label <text>', 'a note kept with the backup (and in its file name)')
    .option('--no-verify', 'skip reading the archive back right after the dump (pg_restore --list)')
    .action((opts: { format?: string; jobs?: string; out?: string; label?: string; verify: boolean }) =>
      run(async (globals, out) => {
        const format = parseFormat(opts.format);
        const jobs = parseJobs(opts.jobs, format);
        const ctx = await coreContextFrom(globals, { signal });
        const record = await backupDatabase(ctx, { format, jobs, outDir: opts.out, label: opts.label, verify: opts.verify, reason: 'manual', onEvent: eventPrinter(out) });
        out.result({ ok: true, ...record }, () => [
          `backup ${record.file}`,
          `  ${formatBytes(record.sizeBytes)}, ${record.format}, sha256 ${record.sha256}`,
          `  "${record.database}" at ${record.revisions.join(', ') || 'base'} (PostgreSQL ${record.serverVersion}, pg_dump ${record.pgDumpVersion}), ${formatDuration(record.durationMs)}${record.verified ? `, verified: ${record.verified.ok ? `ok (${record.verified.tocEntries ?? '?'} TOC entries)` : 'FAILED'}` : ''}`,
        ]);
      }),
    );

  backup
    .command('verify')
    .description('re-read the checksum and the archive; --restore-test restores into a scratch database and compares')
    .argument('<file>', 'a backup file or folder, or latest')
    .option('--restore-test', 'restore into a scratch database, compare tables and row counts with the source, drop it')
    .action((file: string, opts: { restoreTest?: boolean }) =>
      run(async (globals, out) => {
        const ctx = await catalogContext(globals, signal);
        const result = await verifyBackup(ctx, file, { restoreTest: opts.restoreTest, onEvent: eventPrinter(out) });
        out.result(result, () => {
          const lines = [`${result.ok ? 'OK' : 'FAILED'}: ${result.file}`];
          lines.push(`  sha256 ${result.sha256} (${formatBytes(result.sizeBytes)})${result.checksumOk === undefined ? ' — uncatalogued: nothing to compare with' : result.checksumOk ? ' matches the catalog' : ' does NOT match the catalog'}`);
          if (result.tocEntries !== undefined) lines.push(`  archive: ${result.tocEntries} TOC entries, ${result.tableDataEntries ?? 0} with table data`);
          if (result.plainComplete !== undefined) lines.push(`  plain SQL dump ${result.plainComplete ? 'complete' : 'INCOMPLETE'}`);
          if (result.restoreTest) {
            const t = result.restoreTest;
            lines.push(`  restore test: ${t.ok ? 'ok' : 'FAILED'} in ${formatDuration(t.durationMs)}, ${t.tables.length} table(s)${t.sourceCompared ? ' compared with the source' : ' (source not compared)'}, revision ${t.revisions.join(', ') || 'base'}`);
          }
          for (const problem of result.problems) lines.push(`  - ${problem}`);
          return lines;
        });
        return result.ok ? ExitCode.ok : ExitCode.failed;
      }),
    );

  const backups = program
    .command('backups')
    .description('the backup catalog: age, size, revision, format, verified, who took it')
    .option('--database <name>', 'only backups of this database')
    .action((opts: { database?: string }) =>
      run(async (globals, out) => {
        const settings = settingsFrom(globals);
        const target = globals.databaseUrl || globals.env ? await targetFrom(globals, settings) : undefined;
        const records = listBackups(settings, { ...(target ? { target } : {}), ...(opts.database ? { database: opts.database } : {}) });
        out.result({ folder: settings.backupsPath, backups: records }, () => catalogLines(records, settings.backupsPath));
      }),
    );

  backups
    .command('prune')
    .description("remove old backups, keeping the newest N of each database (the given database's only, when one is given)")
    .requiredOption('--keep <n>', 'how many of the newest backups of each database to keep (at least 1)')
    .option('--older-than <duration>', 'remove only backups older than this (e.g. 7d, 12h)')
    .option('--dry-run', 'list what would be removed and remove nothing')
    .action((opts: { keep: string; olderThan?: string; dryRun?: boolean }) =>
      run(async (globals, out) => {
        const keep = Number(opts.keep);
        if (!Number.isInteger(keep) || keep < 1) throw new MutxError('usage', `--keep must be a whole number of at least 1, not "${opts.keep.slice(0, 20)}"`);
        const olderThanMs = opts.olderThan !== undefined ? parseDuration(opts.olderThan) : undefined;
        const ctx = await catalogContext(globals, signal);
        const result = pruneBackups(ctx, { keep, olderThanMs, dryRun: opts.dryRun });
        out.result({ ok: true, dry_run: Boolean(opts.dryRun), removed: result.removed, kept: result.kept }, () => [
          ...result.removed.map((r) => `${opts.dryRun ? 'would remove' : 'removed'} ${path.basename(r.file)} (${age(r.createdAt)} old, ${formatBytes(r.sizeBytes)})`),
          `${opts.dryRun ? 'would remove' : 'removed'} ${result.removed.length}, kept ${result.kept.length} backup(s)`,
        ]);
      }),
    );

  program
    .command('restore')
    .description('restore a backup over the database (checksum first, safety backup, one transaction)')
    .argument('<file>', 'a backup file or folder (catalogued or a plain pg_dump file), or latest')
    .option('--into <dbname>', 'restore into this database on the same server instead (created if missing)')
    .option('--yes', 'do not ask (not enough on a protected environment: use --confirm)')
    .option('--confirm <dbname>', 'the database name, typed: required on a protected environment without a terminal')
    .option('--no-safety-backup', 'do not back up the current state first')
    .option('--wait-lock <seconds>', 'how long to wait for the migration lock of the database restored over (default lock_wait_seconds)')
    .action((file: string, opts: { into?: string; yes?: boolean; confirm?: string; safetyBackup: boolean; waitLock?: string }) =>
      run(async (globals, out) => {
        const ctx = await coreContextFrom(globals, { signal });
        const database = opts.into ?? ctx.target.database;
        const resolved = resolveBackup(ctx.settings, file, { target: ctx.target });
        const what = `${path.basename(resolved.file)}${isCatalogued(resolved) ? ` (revision ${resolved.revisions.join(', ') || 'base'}, taken ${age(resolved.createdAt)} ago by ${resolved.operator})` : ' (uncatalogued)'}`;
        // A backup of another database asks for the name typed in the core (restoreBackup), like a protected target.
        const foreign = isCatalogued(resolved) && resolved.database !== database;
        if (!ctx.target.protected && !foreign && !opts.yes && opts.confirm !== database) {
          if (!interactive()) {
            throw new MutxError('usage', `restore replaces the contents of "${database}": pass --yes to go ahead`, { hint: 'or run it on a terminal to confirm' });
          }
          const answer = await ask(`restore ${what} into "${database}" on ${ctx.target.host}:${ctx.target.port}, replacing its contents? [y/N] `, signal);
          if (!/^y(es)?$/i.test(answer.trim())) throw new MutxError('usage', 'not confirmed: nothing was restored');
        }
        const result = await restoreBackup(ctx, file, {
          into: opts.into,
          safetyBackup: opts.safetyBackup,
          lockWaitSeconds: opts.waitLock !== undefined ? parseWaitLock(opts.waitLock) : undefined,
          confirmText: ctx.target.protected || foreign ? opts.confirm : undefined,
          confirm:
            (ctx.target.protected || foreign) && opts.confirm === undefined && interactive()
              ? async ({ database: name, description }) => {
                  process.stderr.write(`${description}\n`);
                  return ask(`Type the database name (${name}) to restore into it: `, signal);
                }
              : undefined,
          onEvent: eventPrinter(out),
        });
        out.result({ ok: true, ...result }, () => [
          `restored ${path.basename(result.file)} into "${result.database}" in ${formatDuration(result.durationMs)}: now at ${result.revisionsAfter.join(', ') || 'base'} (was ${result.revisionsBefore.join(', ') || (result.createdDatabase ? 'a new database' : 'base')})`,
          ...(result.safetyBackup ? [`safety backup of the previous state: ${result.safetyBackup.file}`] : []),
          ...(result.untouchedTables.length ? [`note: ${result.untouchedTables.length} table(s) not in the backup were left in place: ${result.untouchedTables.slice(0, 10).join(', ')}`] : []),
          ...(result.auditRecordsMirrored ? [`audit: ${result.auditRecordsMirrored} record(s) the restored database lacked were mirrored back`] : []),
        ]);
      }),
    );
}
