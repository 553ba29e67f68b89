import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import type pg from 'pg';
import { ensurePrivateDir } from '../config';
import { ExitCode, MutxError, oneLine } from '../errors';
import { applicationName } from '../identity';
import { openClient, versionNames, type CoreContext } from '../migrations/operations';
import { readVersionRows } from '../migrations/versionTable';
import { cancelled, listArchive, type ArchiveListing } from './archive';
import { refusal, withAudit, type AuditHandle } from './auditing';
import { backupFileName, fsyncDir, metaPathOf, plainDumpComplete, PARTIAL_SUFFIX, writeSidecar } from './catalog';
import { folderBytes, hashDirectory, HashingCounter, listDirectoryFiles } from './hash';
import { ActivityMonitor, ProgressTracker, safeEmit, type TableInfo } from './progress';
import { checkDumpVersion, childEnvironment, describeFailure, findTool, runTool, serverMajor, toolVersion, type ToolOutcome, type ToolVersion } from './tools';
import { BACKUP_FORMATS, type BackupEventHandler, type BackupFormat, type BackupOptions, type BackupRecord } from './types';

export function parseFormat(value: string | undefined): BackupFormat {
  if (value === undefined) return 'custom';
  if ((BACKUP_FORMATS as readonly string[]).includes(value)) return value as BackupFormat;
  throw new MutxError('usage', `unknown backup format "${String(value).slice(0, 30)}"`, { hint: `use one of ${BACKUP_FORMATS.join(', ')}` });
}

export function parseJobs(value: number | string | undefined, format: BackupFormat): number {
  if (value === undefined) return 1;
  const jobs = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) {
    throw new MutxError('usage', `--jobs must be a whole number from 1 to 64, not "${String(value).slice(0, 20)}"`);
  }
  if (jobs > 1 && format !== 'directory') {
    throw new MutxError('usage', `--jobs ${jobs} needs --format directory`, { hint: 'pg_dump dumps in parallel only into a directory' });
  }
  return jobs;
}

function parseLabel(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const label = value.trim();
  if (!label) return undefined;
  // eslint-disable-next-line no-control-regex
  if (label.length > 200 || /[\u0000-\u001f\u007f]/.test(label)) {
    throw new MutxError('usage', '--label must be one line of at most 200 characters');
  }
  return label;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

function ignoreSignal(): void {
  // see the SIGXFSZ note in dump()
}

function prepareFolder(dir: string, isCatalog: boolean): void {
  try {
    if (isCatalog) {
      ensurePrivateDir(dir, { mark: false }); // every entry of the catalog folder is a backup or a sidecar
    } else if (!fs.existsSync(dir)) {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    } else if (!fs.statSync(dir).isDirectory()) {
      throw new MutxError('usage', `--out ${dir} is not a folder`);
    }
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (error) {
    if (error instanceof MutxError) throw error;
    throw new MutxError('usage', `cannot write backups to ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { hint: 'choose a writable folder with --out DIR' });
  }
}

function describeWriteError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOSPC':
      return 'no space left on device (ENOSPC)';
    case 'EFBIG':
      return 'file too large: the file size limit was reached (EFBIG, ulimit -f)';
    case 'EDQUOT':
      return 'disk quota exceeded (EDQUOT)';
    case 'EIO':
      return 'I/O error (EIO)';
    default:
      return oneLine(error);
  }
}

// Sizes from relpages (heap + TOAST, as of the last VACUUM/ANALYZE), not pg_table_size(): that
// takes an ACCESS SHARE lock per table, and a backup must not sit silently behind a migration's
// ACCESS EXCLUSIVE lock before it even starts (pg_dump's own wait is reported as progress).
const TABLES_SQL = `
  SELECT c.oid::text AS oid, n.nspname || '.' || c.relname AS name,
         ((GREATEST(c.relpages, 0) + COALESCE((SELECT GREATEST(t.relpages, 0) FROM pg_class t WHERE t.oid = c.reltoastrelid), 0))::float8
           * current_setting('block_size')::float8) AS bytes
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind = 'r' AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`;
// Only relkind 'r': a partitioned table (relkind 'p') holds no rows itself — pg_dump dumps its
// partitions, which are 'r' — so counting 'p' too would leave the progress short of its total.

/**
 * Dumps the target database with pg_dump into the catalog (or `outDir`): the file is written as
 * NAME.partial, hashed while it streams, fsynced, renamed, and only then described by its sidecar.
 */
export async function backupDatabase(ctx: CoreContext, options: BackupOptions & { onEvent?: BackupEventHandler } = {}): Promise<BackupRecord> {
  const format = parseFormat(options.format);
  const jobs = parseJobs(options.jobs, format);
  const label = parseLabel(options.label);
  const outDir = options.outDir ? path.resolve(options.outDir) : ctx.settings.backupsPath;
  const isCatalog = path.resolve(outDir) === path.resolve(ctx.settings.backupsPath);
  const emit = options.onEvent;
  let client: pg.Client | undefined;
  let file: string | undefined;
  try {
    return await withAudit(
      ctx,
      { action: 'backup', args: { format, jobs, label, reason: options.reason, out_dir: outDir } },
      async (op) => {
        try {
          // Locate pg_dump and ask its version while connecting (both are on the critical path).
          const tool = (async () => {
            const bin = findTool('pg_dump');
            return { bin, version: await toolVersion(bin, 'pg_dump') };
          })();
          tool.catch(() => {});
          client = await openClient(ctx);
          return await dump(ctx, client, tool, { format, jobs, label, outDir, isCatalog, reason: options.reason, verify: options.verify, emit }, op, (name) => {
            file = name;
          });
        } catch (error) {
          // A driver error (e.g. the session terminated while reading the version table) is an
          // operator-facing failure of this backup, not an internal error.
          const failure =
            error instanceof MutxError
              ? error
              : new MutxError('backup', `backup of "${ctx.target.database}" failed: ${oneLine(error)}`, { hint: 'nothing was catalogued; check the connection to the database and run it again', cause: error });
          safeEmit(emit, { type: 'failed', operation: 'backup', file, error: oneLine(failure) });
          throw failure;
        }
      },
      async () => {
        // The backup's own audit records into the database, when it keeps a mirror already.
        if (client) await ctx.audit.mirror(client, { schema: ctx.settings.version_schema, create: false });
      },
    );
  } finally {
    await client?.end().catch(() => {});
  }
}

interface DumpPlan {
  format: BackupFormat;
  jobs: number;
  label?: string;
  outDir: string;
  isCatalog: boolean;
  reason?: string;
  verify?: boolean;
  emit?: BackupEventHandler;
}

async function dump(
  ctx: CoreContext,
  client: pg.Client,
  tool: Promise<{ bin: string; version: ToolVersion }>,
  plan: DumpPlan,
  op: AuditHandle,
  announce: (file: string) => void,
): Promise<BackupRecord> {
  const { format, emit } = plan;
  const database = ctx.target.database;
  const info = (
    await client.query<{ num: number; version: string; size: number }>(
      `SELECT current_setting('server_version_num')::int AS num, current_setting('server_version') AS version, pg_database_size(current_database())::float8 AS size`,
    )
  ).rows[0]!;
  const major = serverMajor(info.num);
  const { bin: pgDump, version: dumpVersion } = await tool.catch(() => {
    // Not found (or broken): say so naming the client package for this server's version.
    const bin = findTool('pg_dump', major);
    return toolVersion(bin, 'pg_dump').then((version) => ({ bin, version }));
  });
  checkDumpVersion('pg_dump', dumpVersion, pgDump, info.version, major);

  prepareFolder(plan.outDir, plan.isCatalog);
  const fsStat = fs.statfsSync(plan.outDir);
  const free = Number(fsStat.bavail) * Number(fsStat.bsize);
  if (free < info.size) {
    throw refusal('backup', `not enough free space in ${plan.outDir}: ${formatBytes(free)} free, database "${database}" is ${formatBytes(info.size)} (pg_database_size)`, {
      hint: 'free some space, or back up to another disk with --out DIR',
      details: { free_bytes: free, database_bytes: info.size },
    });
  }

  // One snapshot for the revision we record, the table list and pg_dump itself (--snapshot), so the
  // sidecar's revision is exactly the dump's even if a migration commits meanwhile.
  let snapshot: string | undefined;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await client.query('SET LOCAL idle_in_transaction_session_timeout = 0');
    snapshot = (await client.query<{ s: string }>('SELECT pg_export_snapshot() AS s')).rows[0]?.s;
  } catch {
    await client.query('ROLLBACK').catch(() => {});
    snapshot = undefined;
  }
  let monitorClient: pg.Client | undefined;
  let monitorReady: Promise<ActivityMonitor | undefined> | undefined;
  let partial: string | undefined;
  let fd: number | undefined;
  let finalPath: string | undefined;
  let committed = false;
  const startedAt = new Date();
  try {
    const revisions = await readVersionRows(client, versionNames(ctx.settings));
    const tableRows = (await client.query<{ oid: string; name: string; bytes: number }>(TABLES_SQL)).rows;
    const tables = new Map<string, TableInfo>(tableRows.map((row) => [row.name, { oid: row.oid, name: row.name, bytes: Number(row.bytes) }]));
    const dataBytes = tableRows.reduce((sum, row) => sum + Number(row.bytes), 0);
    op.note({ revisions_before: revisions, revisions_after: revisions });
    if (ctx.signal?.aborted) throw cancelled('backup');

    // Reserve the name: the .partial is created exclusively (a file, or the folder pg_dump fills).
    for (let attempt = 0; ; attempt++) {
      const name = backupFileName(plan.outDir, { environment: ctx.target.environment, database, startedAt, revisions, label: plan.label, format });
      finalPath = path.join(plan.outDir, name);
      partial = `${finalPath}${PARTIAL_SUFFIX}`;
      try {
        if (format === 'directory') fs.mkdirSync(partial, { mode: 0o700 });
        else fd = fs.openSync(partial, 'wx', 0o600);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 20) throw error;
      }
    }
    announce(finalPath);
    op.note({ details: { file: finalPath } });

    const appName = `${applicationName(ctx.operator).slice(0, 50)} #${crypto.randomBytes(3).toString('hex')}`;
    const env = childEnvironment(ctx.target, ctx.operator, { PGAPPNAME: appName });
    const args = [`--format=${format}`, '--verbose', '--no-password'];
    if (snapshot) args.push(`--snapshot=${snapshot}`);
    if (format === 'directory') {
      args.push(`--file=${partial}`);
      if (plan.jobs > 1) args.push(`--jobs=${plan.jobs}`);
    }

    const counter = new HashingCounter();
    let dirBytes = 0;
    const tracker = new ProgressTracker({
      operation: 'backup',
      emit: (event) => safeEmit(emit, event),
      tablesTotal: tables.size,
      tables,
      bytes: () => (format === 'directory' ? dirBytes : counter.bytes),
      fallbackTotalBytes: info.size,
    });
    safeEmit(emit, { type: 'started', operation: 'backup', file: finalPath, format, database, reason: plan.reason, tablesTotal: tables.size, databaseBytes: info.size });

    // The progress monitor's connection opens while pg_dump starts (not on the critical path).
    monitorReady = openClient(ctx).then(
      (monitorConnection) => {
        monitorClient = monitorConnection;
        const monitor = new ActivityMonitor(monitorConnection, appName, info.num >= 140000, (sample) => {
          if (format === 'directory') dirBytes = folderBytes(partial!);
          tracker.onSample(sample);
        });
        monitor.start();
        return monitor;
      },
      () => undefined,
    );

    // execa's cleanup handler (signal-exit) re-raises a signal nobody else listens to. A write past
    // the file size limit raises SIGXFSZ: with this listener the write fails with EFBIG instead of
    // the process dying, so the partial file is removed and the failure recorded.
    if (process.platform !== 'win32') process.on('SIGXFSZ', ignoreSignal);
    const run = runTool(pgDump, args, {
      env,
      signal: ctx.signal,
      stdout: format === 'directory' ? 'ignore' : 'stream',
      onStderrLine: (line) => {
        const match = /^pg_dump: dumping contents of table "(.*)"$/.exec(line);
        if (match) tracker.tableStarted(match[1]!);
      },
    });
    tracker.start();

    let writeError: unknown;
    let piping: Promise<void> = Promise.resolve();
    if (fd !== undefined) {
      // A raw fd (not a FileHandle, whose close() would wait for the stream's own close).
      const diverted = ctx.faults?.divertBackupStream?.();
      const sink = diverted ? fs.createWriteStream(diverted) : fs.createWriteStream(partial, { fd, autoClose: false, highWaterMark: 1 << 20 });
      piping = pipeline(run.stdout!, counter, sink).catch((error: unknown) => {
        writeError = error;
        run.kill('SIGTERM');
      });
    }
    let outcome: ToolOutcome;
    let listing: Promise<ArchiveListing> | undefined;
    try {
      outcome = await run.done;
      await piping;
    } finally {
      tracker.stop();
      await (await monitorReady)?.stop();
    }
    try {
      if (ctx.signal?.aborted || outcome.canceled) {
        throw new MutxError('backup', `backup of "${database}" cancelled by the operator; the partial file was removed, nothing was catalogued`, { exitCode: ExitCode.interrupted });
      }
      if (writeError) {
        throw new MutxError('backup', `backup of "${database}" failed: writing ${partial} failed: ${describeWriteError(writeError)}; the partial file was removed`, {
          hint: 'free space (or raise the file size limit) and run it again, or back up elsewhere with --out DIR',
          cause: writeError,
        });
      }
      if (!outcome.ok) {
        const why = describeFailure('pg_dump', outcome) + (outcome.signal === 'SIGXFSZ' ? ' — the file size limit (ulimit -f) was reached' : '');
        throw new MutxError('backup', `backup of "${database}" failed: ${why}`, { hint: 'the partial file was removed; nothing was catalogued' });
      }
      // The quick verification (the archive's table of contents reads back) runs while the file is
      // fsynced and, for the directory format, hashed.
      if (plan.verify && format !== 'plain') {
        const reading = listArchive(partial, format, ctx.signal).catch((error: unknown) => ({ ok: false, tocEntries: 0, tableDataEntries: 0, error: oneLine(error) }) as ArchiveListing);
        listing = reading;
      }
      if (fd !== undefined) await promisify(fs.fsync)(fd);
    } finally {
      if (fd !== undefined) await promisify(fs.close)(fd).catch(() => {});
      fd = undefined;
    }

    let sha256: string;
    let sizeBytes: number;
    let checksumMethod: BackupRecord['checksumMethod'];
    if (format === 'directory') {
      for (const rel of listDirectoryFiles(partial)) fs.chmodSync(path.join(partial, rel), 0o600);
      fs.chmodSync(partial, 0o700);
      safeEmit(emit, { type: 'phase', operation: 'backup', message: 'hashing the directory-format files' });
      const digest = await hashDirectory(partial, ctx.signal);
      sha256 = digest.sha256;
      sizeBytes = digest.bytes;
      checksumMethod = 'directory-v1';
    } else {
      sha256 = counter.digest();
      sizeBytes = counter.bytes;
      checksumMethod = 'stream';
      const onDisk = fs.statSync(partial).size;
      if (onDisk !== sizeBytes) throw new MutxError('backup', `backup of "${database}" failed: ${partial} holds ${onDisk} bytes but ${sizeBytes} were written`);
      if (format === 'plain' && !plainDumpComplete(partial)) throw new MutxError('backup', `backup of "${database}" failed: pg_dump's output ends without its "dump complete" trailer`);
    }
    const listed = await listing; // read from NAME.partial: done before it is renamed
    fs.renameSync(partial, finalPath);
    partial = undefined;
    fsyncDir(plan.outDir);

    const finishedAt = new Date();
    const record: BackupRecord = {
      file: finalPath,
      metaFile: metaPathOf(finalPath),
      format,
      sizeBytes,
      sha256,
      checksumMethod,
      createdAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      revisions,
      database,
      environment: ctx.target.environment,
      target: ctx.target.redacted,
      host: ctx.target.host,
      port: ctx.target.port,
      operator: ctx.operator.name,
      operatorHost: ctx.operator.host,
      label: plan.label,
      reason: plan.reason,
      durationMs: finishedAt.getTime() - startedAt.getTime(),
      serverVersion: info.version,
      pgDumpVersion: dumpVersion.version,
      tables: tables.size,
      dataBytes,
      databaseSizeBytes: info.size,
    };
    if (plan.verify) {
      const at = new Date().toISOString();
      record.verified = listed ? { at, ok: listed.ok, tocEntries: listed.tocEntries, restoreTest: false, ...(listed.error ? { problems: [listed.error] } : {}) } : { at, ok: true, restoreTest: false };
      op.note({ details: { verified: record.verified.ok, toc_entries: record.verified.tocEntries } });
    }
    writeSidecar(record);
    committed = true;
    op.note({ details: { file: finalPath, size_bytes: sizeBytes, sha256, format, duration_ms: record.durationMs } });
    tracker.emit(true);
    safeEmit(emit, { type: 'finished', operation: 'backup', file: finalPath, bytes: sizeBytes, durationMs: record.durationMs, sha256 });
    ctx.faults?.afterBackupWritten?.(finalPath);

    return record;
  } finally {
    await client.query('ROLLBACK').catch(() => {});
    await (await monitorReady)?.stop();
    await monitorClient?.end().catch(() => {});
    if (process.platform !== 'win32') process.off('SIGXFSZ', ignoreSignal);
    if (fd !== undefined) fs.closeSync(fd);
    if (partial) fs.rmSync(partial, { recursive: true, force: true });
    if (!committed && finalPath && fs.existsSync(finalPath) && !fs.existsSync(metaPathOf(finalPath))) {
      fs.rmSync(finalPath, { recursive: true, force: true });
    }
  }
}
