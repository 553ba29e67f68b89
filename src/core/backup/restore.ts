import crypto from 'node:crypto';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { connect, quoteIdent, withDatabase, type Target } from '../connection';
import { ExitCode, MutxError, oneLine } from '../errors';
import { applicationName, type Operator } from '../identity';
import { acquireMigrationLock, describeHolder, type MigrationLock } from '../migrations/lock';
import { versionNames, type CoreContext } from '../migrations/operations';
import { readVersionRows } from '../migrations/versionTable';
import { checkRestoreVersion, connectServer, listArchive, locatePgRestore, type ArchiveListing } from './archive';
import { refusal, withAudit } from './auditing';
import { plainDumpComplete, resolveBackup } from './catalog';
import { findForeignMetaCommand, foreignMetaMessage } from './plainMetaCommands';
import { backupDatabase, formatBytes } from './dump';
import { backupSize, hashBackup } from './hash';
import { ActivityMonitor, ProgressTracker, safeEmit } from './progress';
import { childEnvironment, dbnameArgument, describeFailure, findTool, runTool, type PgTool, type ToolOutcome } from './tools';
import { isCatalogued, type BackupEventHandler, type BackupOperation, type BackupRecord, type ResolvedBackup, type RestoreOptions, type RestoreResult } from './types';

/**
 * Restoring over an existing database first empties it, in the restore's own transaction: its user
 * schemas (and the publications, event triggers and large objects a dump recreates) are dropped,
 * as if restoring into a fresh database. A plain dump made by `pg_dump URL > file` has no DROP
 * statements at all, and pg_restore --clean drops only what the archive holds (see loadBackup).
 * The public schema is recreated with its owner, grants and comment; roles and database-level
 * settings are kept.
 */
export const PLAIN_CLEAN_SQL = `DO $mutx_clean$
DECLARE
  pub record;
  item record;
BEGIN
  SELECT n.oid, n.nspowner, pg_catalog.pg_get_userbyid(n.nspowner) AS owner, n.nspacl, pg_catalog.obj_description(n.oid, 'pg_namespace') AS comment
    INTO pub FROM pg_catalog.pg_namespace n WHERE n.nspname = 'public';
  FOR item IN SELECT n.nspname FROM pg_catalog.pg_namespace n
               WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
                 AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.objid = n.oid AND d.deptype = 'e')
  LOOP
    EXECUTE pg_catalog.format('DROP SCHEMA %I CASCADE', item.nspname);
  END LOOP;
  FOR item IN SELECT evtname FROM pg_catalog.pg_event_trigger LOOP
    EXECUTE pg_catalog.format('DROP EVENT TRIGGER %I', item.evtname);
  END LOOP;
  FOR item IN SELECT pubname FROM pg_catalog.pg_publication LOOP
    EXECUTE pg_catalog.format('DROP PUBLICATION %I', item.pubname);
  END LOOP;
  PERFORM pg_catalog.lo_unlink(l.oid) FROM pg_catalog.pg_largeobject_metadata l;
  IF pub.oid IS NOT NULL THEN
    EXECUTE pg_catalog.format('CREATE SCHEMA public AUTHORIZATION %I', pub.owner);
    FOR item IN SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END AS who, a.privilege_type, a.is_grantable
                  FROM pg_catalog.aclexplode(pub.nspacl) a WHERE a.grantee <> pub.nspowner
    LOOP
      EXECUTE pg_catalog.format('GRANT %s ON SCHEMA public TO %s%s', item.privilege_type, item.who, CASE WHEN item.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
    IF pub.comment IS NOT NULL THEN
      EXECUTE pg_catalog.format('COMMENT ON SCHEMA public IS %L', pub.comment);
    END IF;
  END IF;
END
$mutx_clean$`;

export interface LoadParams {
  backup: ResolvedBackup;
  /** The database to load into. */
  target: Target;
  operator: Operator;
  /**
   * The database has contents to replace (it existed): empty it first, inside the restore's
   * transaction. Otherwise (a database just created, a scratch database) load directly.
   */
  replace: boolean;
  listing?: ArchiveListing;
  pgRestore?: string;
  monitorClient?: pg.Client;
  serverVersionNum: number;
  signal?: AbortSignal;
  emit?: BackupEventHandler;
  operation: BackupOperation;
}

export interface LoadOutcome {
  ok: boolean;
  canceled: boolean;
  /** One line: which tool failed and why. */
  failure?: string;
}

function loadOutcome(name: PgTool, outcome: ToolOutcome): LoadOutcome {
  return { ok: outcome.ok, canceled: outcome.canceled, ...(outcome.ok ? {} : { failure: describeFailure(name, outcome) }) };
}

/** Ends the psql session's input: fails the transaction unless the stream carried the nonce. */
function completionCheckSql(nonce: string): string {
  return `DO $mutx_check$ BEGIN IF pg_catalog.current_setting('mutx.restore_complete', true) IS DISTINCT FROM '${nonce}' THEN RAISE EXCEPTION 'the restore stream ended early (pg_restore did not finish): rolled back'; END IF; END $mutx_check$`;
}

/**
 * Loads a backup into a database in ONE transaction; a failure or Ctrl+C rolls everything back.
 *
 * - plain SQL: `psql -v ON_ERROR_STOP=1 --single-transaction [-c EMPTY] -f FILE`.
 * - custom/directory into a new or scratch database: `pg_restore --clean --if-exists --single-transaction -d DB FILE`.
 * - custom/directory over an existing database: `pg_restore --clean --if-exists` alone cannot do it —
 *   it only drops what the archive holds, so objects from later migrations survive (an older
 *   backup then fails on "other objects depend on it", or leaves tables that the next `upgrade`
 *   trips over). So pg_restore writes the SQL (`--clean --if-exists -f -`) into
 *   `psql -v ON_ERROR_STOP=1 --single-transaction -c EMPTY -f - -c CHECK`: the database is emptied and
 *   reloaded in one transaction. CHECK fails (rolling back) unless the stream ended with a random
 *   nonce that is only written after pg_restore exited 0, so a pg_restore that dies half-way can
 *   never leave psql to COMMIT a partial restore.
 */
export async function loadBackup(params: LoadParams): Promise<LoadOutcome> {
  const { backup, target } = params;
  const appName = `${applicationName(params.operator).slice(0, 50)} #${crypto.randomBytes(3).toString('hex')}`;
  const env = childEnvironment(target, params.operator, { PGAPPNAME: appName });
  const tablesTotal = backup.format === 'plain' ? (isCatalogued(backup) ? backup.tables : 0) : (params.listing?.tableDataEntries ?? 0);
  const tracker = new ProgressTracker({
    operation: params.operation,
    emit: (event) => safeEmit(params.emit, event),
    tablesTotal,
    fallbackTotalBytes: backup.format === 'plain' ? backupSize(backup.file, 'plain') : isCatalogued(backup) ? backup.dataBytes : undefined,
  });
  const monitor = params.monitorClient ? new ActivityMonitor(params.monitorClient, appName, params.serverVersionNum >= 140000, (sample) => tracker.onSample(sample)) : undefined;
  const countCopies = (line: string) => {
    if (/^COPY \d+$/.test(line)) tracker.tableFinished();
  };
  const psqlArgs = ['-X', '--no-password', '-v', 'ON_ERROR_STOP=1', '--single-transaction'];
  tracker.start();
  monitor?.start();
  try {
    let result: LoadOutcome;
    if (backup.format === 'plain') {
      const args = [...psqlArgs, ...(params.replace ? ['-c', PLAIN_CLEAN_SQL] : []), '-f', backup.file];
      result = loadOutcome('psql', await runTool(findTool('psql'), args, { env, signal: params.signal, stdout: 'lines', onStdoutLine: countCopies }).done);
    } else if (!params.replace) {
      const args = ['--clean', '--if-exists', '--single-transaction', '--no-password', '--verbose', `--format=${backup.format}`, `--dbname=${dbnameArgument(target.database)}`, backup.file];
      const run = runTool(params.pgRestore ?? findTool('pg_restore'), args, {
        env,
        signal: params.signal,
        stdout: 'ignore',
        onStderrLine: (line) => {
          const match = /^pg_restore: processing data for table "(.*)"$/.exec(line);
          if (match) tracker.tableStarted(match[1]!);
        },
      });
      result = loadOutcome('pg_restore', await run.done);
    } else {
      const nonce = crypto.randomBytes(16).toString('hex');
      const psql = runTool(findTool('psql'), [...psqlArgs, '-c', PLAIN_CLEAN_SQL, '-f', '-', '-c', completionCheckSql(nonce)], {
        env,
        signal: params.signal,
        stdin: 'pipe',
        stdout: 'lines',
        onStdoutLine: countCopies,
      });
      const pgRestore = runTool(params.pgRestore ?? findTool('pg_restore'), ['--clean', '--if-exists', '--no-password', `--format=${backup.format}`, '--file=-', backup.file], {
        env,
        signal: params.signal,
        stdout: 'stream',
      });
      const stdin = psql.stdin!;
      stdin.on('error', () => {}); // psql gone (it failed): its own outcome says why
      let pipeFailed = false;
      const piping = pipeline(pgRestore.stdout!, stdin, { end: false }).catch(() => {
        pipeFailed = true;
        pgRestore.kill('SIGTERM');
      });
      const restoreOutcome = await pgRestore.done;
      await piping;
      if (restoreOutcome.ok && !pipeFailed && !params.signal?.aborted) stdin.write(`\nSET mutx.restore_complete = '${nonce}';\n`);
      stdin.end();
      const psqlOutcome = await psql.done;
      if (!restoreOutcome.ok && !restoreOutcome.canceled && !(pipeFailed && !psqlOutcome.ok)) result = loadOutcome('pg_restore', restoreOutcome);
      else result = { ...loadOutcome('psql', psqlOutcome), canceled: psqlOutcome.canceled || restoreOutcome.canceled };
      if (result.ok && !restoreOutcome.ok) result = loadOutcome('pg_restore', restoreOutcome);
    }
    if (result.ok) tracker.emit(true);
    return result;
  } finally {
    tracker.stop();
    await monitor?.stop();
  }
}

async function dropDatabase(client: pg.Client, database: string, serverVersionNum: number): Promise<void> {
  await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)}${serverVersionNum >= 130000 ? ' WITH (FORCE)' : ''}`);
}

export { dropDatabase };

const USER_TABLES_SQL = `
  SELECT c.oid::text AS oid, n.nspname || '.' || c.relname AS name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p') AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'`;

function validateDatabaseName(name: string): string {
  const trimmed = name.trim();
  if (!trimmed || Buffer.byteLength(trimmed) > 63 || /[\u0000-\u001f]/.test(trimmed)) {
    throw new MutxError('usage', `--into "${name.slice(0, 70)}" is not a valid database name`, { hint: 'at most 63 bytes, one line' });
  }
  if (trimmed === 'template0' || trimmed === 'template1') throw new MutxError('usage', `refusing to restore into ${trimmed}`, { hint: 'choose an ordinary database' });
  return trimmed;
}

function describeBackup(backup: ResolvedBackup): string {
  const name = path.basename(backup.file);
  if (!isCatalogued(backup)) return `${name} (${backup.format}, uncatalogued)`;
  return `${name} (${backup.format}, revision ${backup.revisions.join(', ') || 'base'}, taken ${backup.createdAt} by ${backup.operator}, ${formatBytes(backup.sizeBytes)})`;
}

/**
 * Restores a backup over the target database (or `into` another one on the same server): checksum
 * first, typed confirmation on a protected environment, a safety backup of the current state, one
 * transaction, then the audit trail mirrored back and the revision now current reported.
 */
export async function restoreBackup(ctx: CoreContext, spec: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  const into = options.into !== undefined ? validateDatabaseName(options.into) : ctx.target.database;
  const intoTarget = into === ctx.target.database ? ctx.target : withDatabase(ctx.target, into);
  const backup = resolveBackup(ctx.settings, spec, { target: ctx.target });
  const emit = options.onEvent;
  const started = Date.now();
  let after: pg.Client | undefined;
  let result: RestoreResult | undefined;
  try {
    return await withAudit(
      ctx,
      { action: 'restore', target: intoTarget.redacted, args: { file: backup.file, into, safety_backup: options.safetyBackup !== false, catalogued: isCatalogued(backup) } },
      async (op) => {
        let loaded = false;
        let revisionsKnown: string[] | undefined;
        try {
          // 1. The file: checksum (catalogued), archive readable, pg_restore new enough.
          safeEmit(emit, { type: 'phase', operation: 'restore', message: `checking ${path.basename(backup.file)}` });
          // The checksum decides; the table of contents and pg_restore's version are read meanwhile.
          const located = backup.format === 'plain' ? undefined : locatePgRestore();
          const listed = backup.format === 'plain' ? undefined : listArchive(backup.file, backup.format, ctx.signal);
          listed?.catch(() => {});
          const digest = await hashBackup(backup.file, backup.format, ctx.signal);
          op.note({ details: { file: backup.file, size_bytes: digest.bytes, sha256: digest.sha256, format: backup.format } });
          if (ctx.signal?.aborted) throw cancelledRestore(into, false);
          if (isCatalogued(backup) && (digest.sha256 !== backup.sha256 || digest.bytes !== backup.sizeBytes)) {
            throw refusal('restore', `checksum mismatch for ${backup.file}: expected sha256 ${backup.sha256.slice(0, 16)}… (${backup.sizeBytes} bytes), found ${digest.sha256.slice(0, 16)}… (${digest.bytes} bytes): refusing to restore a damaged or altered backup`, {
              hint: `"${into}" was not touched; restore another backup (mutx-ops backups)`,
            });
          }
          let listing: ArchiveListing | undefined;
          let pgRestore: string | undefined;
          if (backup.format === 'plain') {
            findTool('psql');
            if (!plainDumpComplete(backup.file)) {
              throw refusal('restore', `${backup.file} ends without pg_dump's "dump complete" trailer: the dump is truncated`, { hint: `"${into}" was not touched` });
            }
            const foreign = isCatalogued(backup) ? undefined : await findForeignMetaCommand(backup.file);
            if (foreign) throw refusal('restore', foreignMetaMessage(backup.file, foreign), { hint: `"${into}" was not touched; restore a backup mutx-ops catalogued, or remove the line` });
          } else {
            listing = await listed!;
            if (!listing.ok) throw refusal('restore', `${backup.file} is not a readable archive: ${listing.error}`, { hint: `"${into}" was not touched` });
            pgRestore = await checkRestoreVersion(listing.dumpedBy ?? (isCatalogued(backup) ? backup.pgDumpVersion : undefined), located);
          }

          // 2. The server: does the database exist (it may have been dropped), who asks to confirm.
          const server = await connectServer(ctx.target, ctx.operator, ctx.settings.connect_timeout_seconds);
          const admin = server.client;
          let lockSession: pg.Client | undefined;
          let migrationLock: MigrationLock | undefined;
          try {
            const serverInfo = (await admin.query<{ num: number }>(`SELECT current_setting('server_version_num')::int AS num`)).rows[0]!;
            const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [into])).rowCount === 1;
            // A backup of another database over this one (A's contents replacing B's) is as
            // deliberate as a protected environment: the name typed, --yes is not enough.
            const foreign = exists && isCatalogued(backup) && backup.database !== into ? backup.database : undefined;
            if (foreign !== undefined) {
              op.note({ details: { backup_database: foreign } });
              safeEmit(emit, { type: 'phase', operation: 'restore', message: `warning: ${path.basename(backup.file)} is a backup of database "${foreign}", not "${into}": restoring it replaces "${into}" with "${foreign}"'s contents` });
            }
            if (ctx.target.protected || foreign !== undefined) {
              const description = `restore ${describeBackup(backup)}${foreign !== undefined ? `, a backup of ANOTHER database ("${foreign}"),` : ''} into database "${into}" on ${ctx.target.host}:${ctx.target.port}${ctx.target.protected ? ` (protected environment ${ctx.target.environment ?? ''})` : ''}: its current contents will be replaced`;
              let typed = options.confirmText;
              if (typed === undefined && options.confirm) typed = await options.confirm({ database: into, description });
              if (typed === undefined) {
                if (foreign !== undefined && !ctx.target.protected) {
                  throw refusal('usage', `${path.basename(backup.file)} is a backup of database "${foreign}", not "${into}": refusing to replace "${into}" with it without the database name typed as confirmation`, {
                    hint: `if that is what you want, pass --confirm ${into} (--yes is not enough), or type it when asked on a terminal`,
                  });
                }
                throw refusal('usage', `refusing to restore into "${into}" on protected environment ${ctx.target.environment ?? ''} without the database name typed as confirmation`, {
                  hint: `type it when asked on a terminal, or pass --confirm ${into} (--yes is not enough on a protected environment)`,
                });
              }
              if (typed.trim() !== into) {
                throw refusal('usage', `confirmation "${typed.trim().slice(0, 64)}" does not match the database name "${into}": nothing was restored`, { hint: `type exactly ${into}` });
              }
            }
            if (ctx.signal?.aborted) throw cancelledRestore(into, false);

            // 3. The current state: revision, tables, and a safety backup of it.
            let revisionsBefore: string[] = [];
            let tablesBefore = new Map<string, string>();
            let safety: BackupRecord | undefined;
            let createdDatabase = false;
            if (exists) {
              // The migration lock of the database replaced, held until the restore committed: an
              // upgrade cannot run between the safety backup and the load, nor interleave with it.
              lockSession = await connect(intoTarget, { operator: ctx.operator, connectTimeoutSeconds: ctx.settings.connect_timeout_seconds });
              migrationLock = await takeMigrationLock(ctx, lockSession, into, options.lockWaitSeconds, emit);
              const before = await connect(intoTarget, { operator: ctx.operator, connectTimeoutSeconds: ctx.settings.connect_timeout_seconds });
              try {
                revisionsBefore = await readVersionRows(before, versionNames(ctx.settings)).catch(() => []);
                tablesBefore = new Map((await before.query<{ oid: string; name: string }>(USER_TABLES_SQL)).rows.map((row) => [row.oid, row.name]));
              } finally {
                await before.end().catch(() => {});
              }
              op.note({ revisions_before: revisionsBefore });
              revisionsKnown = revisionsBefore;
              if (options.safetyBackup !== false) {
                safeEmit(emit, { type: 'phase', operation: 'restore', message: `taking a safety backup of "${into}" before overwriting it` });
                try {
                  safety = await backupDatabase({ ...ctx, target: intoTarget }, { format: 'custom', reason: 'safety', label: 'pre-restore', verify: true, onEvent: emit });
                } catch (error) {
                  const interrupted = error instanceof MutxError && error.exitCode === ExitCode.interrupted;
                  throw new MutxError(interrupted ? 'restore' : error instanceof MutxError && error.kind === 'config' ? 'config' : 'restore', `the safety backup of "${into}" failed, so nothing was restored: ${oneLine(error)}`, {
                    hint: interrupted ? undefined : 'fix that and run again, or pass --no-safety-backup to restore without one',
                    exitCode: interrupted ? ExitCode.interrupted : undefined,
                    cause: error,
                    details: { refused: true },
                  });
                }
                op.note({ details: { safety_backup: safety.file, safety_sha256: safety.sha256 } });
              }
            } else {
              safeEmit(emit, { type: 'phase', operation: 'restore', message: `creating database "${into}"` });
              await admin.query(`CREATE DATABASE ${quoteIdent(into)} TEMPLATE template0`);
              createdDatabase = true;
              op.note({ details: { created_database: true } });
            }

            // 4. The restore, in one transaction.
            safeEmit(emit, { type: 'started', operation: 'restore', file: backup.file, format: backup.format, database: into, tablesTotal: listing?.tableDataEntries ?? (isCatalogued(backup) ? backup.tables : undefined), databaseBytes: digest.bytes });
            let outcome: LoadOutcome;
            try {
              outcome = await loadBackup({ backup, target: intoTarget, operator: ctx.operator, replace: exists, listing, pgRestore, monitorClient: admin, serverVersionNum: serverInfo.num, signal: ctx.signal, emit, operation: 'restore' });
            } catch (error) {
              if (createdDatabase) await dropDatabase(admin, into, serverInfo.num).catch(() => {});
              throw error;
            }
            if (!outcome.ok || ctx.signal?.aborted) {
              if (createdDatabase) await dropDatabase(admin, into, serverInfo.num).catch(() => {});
              const safetyNote = safety ? `; safety backup ${path.basename(safety.file)}` : '';
              if (ctx.signal?.aborted || outcome.canceled) throw cancelledRestore(into, createdDatabase, safetyNote);
              throw new MutxError('restore', `restore of ${path.basename(backup.file)} into "${into}" failed: ${outcome.failure}`, {
                hint: createdDatabase ? `the new database "${into}" was dropped again` : `it ran in one transaction: "${into}" is unchanged${safetyNote}`,
              });
            }

            loaded = true;
            // 5. Afterwards: the revision now current, tables the backup did not replace.
            after = await connect(intoTarget, { operator: ctx.operator, connectTimeoutSeconds: ctx.settings.connect_timeout_seconds });
            const revisionsAfter = await readVersionRows(after, versionNames(ctx.settings)).catch(() => [] as string[]);
            const tablesAfter = new Map((await after.query<{ oid: string; name: string }>(USER_TABLES_SQL)).rows.map((row) => [row.oid, row.name]));
            const untouchedTables = [...tablesBefore].filter(([oid, name]) => tablesAfter.get(oid) === name).map(([, name]) => name).sort();
            op.note({ revisions_after: revisionsAfter, details: { untouched_tables: untouchedTables.length } });
            safeEmit(emit, { type: 'finished', operation: 'restore', file: backup.file, bytes: digest.bytes, durationMs: Date.now() - started });
            result = {
              file: backup.file,
              format: backup.format,
              catalogued: isCatalogued(backup),
              database: into,
              target: intoTarget.redacted,
              createdDatabase,
              checksumVerified: isCatalogued(backup),
              safetyBackup: safety,
              revisionsBefore,
              revisionsAfter,
              untouchedTables,
              auditRecordsMirrored: 0,
              durationMs: Date.now() - started,
            };
            return result;
          } finally {
            await migrationLock?.release().catch(() => {});
            await lockSession?.end().catch(() => {});
            await admin.end().catch(() => {});
          }
        } catch (error) {
          // Until the load committed, a failed or cancelled restore changed nothing (one transaction).
          if (!loaded && !result) op.note({ revisions_after: revisionsKnown });
          safeEmit(emit, { type: 'failed', operation: 'restore', file: backup.file, error: oneLine(error) });
          throw error;
        }
      },
      async () => {
        // The restored database's audit mirror is as old as the backup: copy back every record it
        // lacks, this restore's own end record included.
        if (after && result) result.auditRecordsMirrored = await ctx.audit.mirror(after, { schema: ctx.settings.version_schema, create: true, all: true });
      },
    );
  } finally {
    await after?.end().catch(() => {});
  }
}

/** The same advisory lock as upgrade/downgrade/stamp/reconcile take, on the database restored over. */
async function takeMigrationLock(ctx: CoreContext, session: pg.Client, database: string, waitSeconds: number | undefined, emit: BackupEventHandler | undefined): Promise<MigrationLock> {
  try {
    return await acquireMigrationLock(session, versionNames(ctx.settings), {
      waitSeconds: waitSeconds ?? ctx.settings.lock_wait_seconds,
      signal: ctx.signal,
      onWait: (holder, waitedMs) =>
        safeEmit(emit, { type: 'phase', operation: 'restore', message: `waiting for the migration lock, held by ${holder ? describeHolder(holder) : 'another session'} (${Math.round(waitedMs / 1000)} s)` }),
    });
  } catch (error) {
    if (ctx.signal?.aborted) throw cancelledRestore(database, false);
    if (error instanceof MutxError) throw new MutxError(error.kind, `${error.message}: nothing was restored into "${database}"`, { hint: error.hint, details: { ...(error.details ?? {}), refused: true } });
    throw error;
  }
}

function cancelledRestore(database: string, createdDatabase: boolean, safetyNote = ''): MutxError {
  return new MutxError('restore', `restore into "${database}" cancelled by the operator: ${createdDatabase ? 'the new database was dropped again' : `"${database}" is unchanged (one transaction, rolled back)`}${safetyNote}`, {
    exitCode: ExitCode.interrupted,
  });
}
