import crypto from 'node:crypto';
import path from 'node:path';
import type pg from 'pg';
import { connect, quoteIdent, withDatabase, type Target } from '../connection';
import { ExitCode, MutxError, oneLine } from '../errors';
import { versionNames } from '../migrations/operations';
import { readVersionRows } from '../migrations/versionTable';
import { checkRestoreVersion, connectServer, listArchive, type ArchiveListing } from './archive';
import { withAudit } from './auditing';
import { plainDumpComplete, resolveBackup, updateVerification } from './catalog';
import { hashBackup } from './hash';
import { findForeignMetaCommand, foreignMetaMessage } from './plainMetaCommands';
import { safeEmit } from './progress';
import { dropDatabase, loadBackup } from './restore';
import { findTool } from './tools';
import { isCatalogued, type BackupEventHandler, type CatalogContext, type RestoreTestResult, type ResolvedBackup, type TableComparison, type VerifyResult } from './types';

interface Inventory {
  /** "schema.name" → column signature */
  relations: Map<string, string>;
  /** "schema.name" → rows, ordinary tables only */
  rows: Map<string, number>;
}

const RELATIONS_SQL = `
  SELECT n.nspname || '.' || c.relname AS name, c.relkind, pg_catalog.format('%I.%I', n.nspname, c.relname) AS ident,
         (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
            FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p', 'v', 'm') AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
   ORDER BY 1`;

/** Tables, views and their columns, and exact row counts, read in one snapshot. */
async function inventory(client: pg.Client): Promise<Inventory> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const relations = new Map<string, string>();
    const rows = new Map<string, number>();
    const list = (await client.query<{ name: string; relkind: string; ident: string; columns: string | null }>(RELATIONS_SQL)).rows;
    for (const relation of list) relations.set(relation.name, `${relation.relkind}(${relation.columns ?? ''})`);
    const tables = list.filter((relation) => relation.relkind === 'r');
    for (let i = 0; i < tables.length; i += 50) {
      const chunk = tables.slice(i, i + 50);
      const sql = `SELECT ${chunk.map((table, j) => `(SELECT count(*) FROM ONLY ${table.ident})::float8 AS c${j}`).join(', ')}`;
      const counts = (await client.query<Record<string, number>>(sql)).rows[0]!;
      chunk.forEach((table, j) => rows.set(table.name, Number(counts[`c${j}`])));
    }
    return { relations, rows };
  } finally {
    await client.query('COMMIT').catch(() => {});
  }
}

function listNames(names: string[], max = 5): string {
  return `${names.slice(0, max).join(', ')}${names.length > max ? ` and ${names.length - max} more` : ''}`;
}

async function restoreTest(ctx: CatalogContext & { target: Target }, backup: ResolvedBackup, listing: ArchiveListing | undefined, emit: BackupEventHandler | undefined): Promise<RestoreTestResult> {
  const started = Date.now();
  const target = ctx.target;
  const scratch = `mutx_verify_${target.database.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 30)}_${crypto.randomBytes(4).toString('hex')}`;
  const problems: string[] = [];
  const server = await connectServer(target, ctx.operator, ctx.settings.connect_timeout_seconds);
  const admin = server.client;
  const num = (await admin.query<{ num: number }>(`SELECT current_setting('server_version_num')::int AS num`)).rows[0]!.num;
  let tables: TableComparison[] = [];
  let revisions: string[] = [];
  let sourceCompared = false;
  try {
    safeEmit(emit, { type: 'phase', operation: 'verify', message: `restoring into scratch database "${scratch}"` });
    await admin.query(`CREATE DATABASE ${quoteIdent(scratch)} TEMPLATE template0`);
    const scratchTarget = withDatabase(target, scratch);
    const pgRestore = backup.format === 'plain' ? undefined : await checkRestoreVersion(listing?.dumpedBy ?? (isCatalogued(backup) ? backup.pgDumpVersion : undefined));
    const outcome = await loadBackup({ backup, target: scratchTarget, operator: ctx.operator, replace: false, listing, pgRestore, monitorClient: admin, serverVersionNum: num, signal: ctx.signal, emit, operation: 'verify' });
    if (ctx.signal?.aborted || outcome.canceled) throw new MutxError('backup', `verify of ${backup.file} cancelled by the operator`, { exitCode: ExitCode.interrupted });
    if (!outcome.ok) {
      problems.push(`restore into a scratch database failed: ${outcome.failure}`);
      return { ok: false, database: scratch, durationMs: Date.now() - started, tables, revisions, sourceCompared, problems };
    }
    const restoredClient = await connect(scratchTarget, { operator: ctx.operator, connectTimeoutSeconds: ctx.settings.connect_timeout_seconds });
    let restored: Inventory;
    try {
      revisions = await readVersionRows(restoredClient, versionNames(ctx.settings));
      restored = await inventory(restoredClient);
    } finally {
      await restoredClient.end().catch(() => {});
    }
    if (isCatalogued(backup) && revisions.join(',') !== backup.revisions.join(',')) {
      problems.push(`the restored version table says ${revisions.join(', ') || 'base'}, the backup was recorded at ${backup.revisions.join(', ') || 'base'}`);
    }
    if (restored.relations.size === 0) problems.push('the restored database holds no tables');

    let source: Inventory | undefined;
    let sourceRevisions: string[] = [];
    try {
      const sourceClient = await connect(target, { operator: ctx.operator, connectTimeoutSeconds: ctx.settings.connect_timeout_seconds });
      try {
        sourceRevisions = await readVersionRows(sourceClient, versionNames(ctx.settings));
        source = await inventory(sourceClient);
      } finally {
        await sourceClient.end().catch(() => {});
      }
    } catch {
      source = undefined;
    }
    // mutx-ops' own bookkeeping grows with every operation on the source (audit mirror, ledger
    // markers and adoptions): a later count there says nothing about the backup.
    const bookkeeping = new Set(['mutx_ops.audit', 'mutx_ops.ledger', `${ctx.settings.version_schema}.mutx_ops_audit`, `${ctx.settings.version_schema}.mutx_ops_ledger`]);
    const names = [...new Set([...restored.rows.keys(), ...(source?.rows.keys() ?? [])])].sort();
    tables = names.map((name) => ({ table: name, restoredRows: restored.rows.get(name) ?? null, sourceRows: source ? (source.rows.get(name) ?? null) : null }));
    // A source that has since migrated to another revision is not what the backup should match:
    // only the restore itself (and its own record) is checked then.
    const movedOn = isCatalogued(backup) && sourceRevisions.join(',') !== backup.revisions.join(',');
    if (source && !movedOn) {
      sourceCompared = true;
      const since = isCatalogued(backup) ? ` (backup taken ${backup.createdAt}; the source may have changed since)` : ' (the source may have changed since the dump)';
      const missing = [...source.relations.keys()].filter((name) => !restored.relations.has(name));
      const extra = [...restored.relations.keys()].filter((name) => !source!.relations.has(name));
      const changed = [...restored.relations.keys()].filter((name) => source!.relations.has(name) && source!.relations.get(name) !== restored.relations.get(name));
      const counts = tables.filter((t) => !bookkeeping.has(t.table) && t.restoredRows !== null && t.sourceRows !== null && t.restoredRows !== t.sourceRows);
      const revisionNote = isCatalogued(backup) && sourceRevisions.join(',') !== backup.revisions.join(',') ? `; the source is now at ${sourceRevisions.join(', ') || 'base'}, the backup at ${backup.revisions.join(', ') || 'base'}` : '';
      if (missing.length) problems.push(`missing after the restore (present in the source): ${listNames(missing)}${revisionNote}`);
      if (extra.length) problems.push(`in the backup but not in the source: ${listNames(extra)}${revisionNote}`);
      if (changed.length) problems.push(`columns differ from the source: ${listNames(changed)}${revisionNote}`);
      if (counts.length) problems.push(`row counts differ from the source: ${listNames(counts.map((t) => `${t.table} ${t.restoredRows} vs ${t.sourceRows}`))}${since}`);
    }
    return { ok: problems.length === 0, database: scratch, durationMs: Date.now() - started, tables, revisions, sourceCompared, problems };
  } finally {
    await dropDatabase(admin, scratch, num).catch(() => {});
    await admin.end().catch(() => {});
  }
}

/**
 * Re-reads the checksum, reads the archive's table of contents (custom/directory) or checks the
 * plain dump's trailer, and with `restoreTest` restores into a scratch database and compares it with
 * the source. Records the outcome in the sidecar. Returns problems rather than throwing.
 */
export async function verifyBackup(ctx: CatalogContext, spec: string, options: { restoreTest?: boolean; onEvent?: BackupEventHandler } = {}): Promise<VerifyResult> {
  const backup = resolveBackup(ctx.settings, spec, ctx.target ? { target: ctx.target } : undefined);
  if (options.restoreTest && !ctx.target) {
    throw new MutxError('config', '--restore-test needs the database the backup came from', { hint: 'set DATABASE_URL, pass --database-url URL, or --env NAME' });
  }
  const emit = options.onEvent;
  const started = Date.now();
  return withAudit(ctx, { action: 'backup verify', args: { file: backup.file, restore_test: Boolean(options.restoreTest) } }, async (op) => {
    try {
      const problems: string[] = [];
      safeEmit(emit, { type: 'phase', operation: 'verify', message: `re-reading ${path.basename(backup.file)} (sha256)` });
      const digest = await hashBackup(backup.file, backup.format, ctx.signal);
      if (ctx.signal?.aborted) throw new MutxError('backup', `verify of ${backup.file} cancelled by the operator`, { exitCode: ExitCode.interrupted });
      let checksumOk: boolean | undefined;
      if (isCatalogued(backup)) {
        checksumOk = digest.sha256 === backup.sha256 && digest.bytes === backup.sizeBytes;
        if (!checksumOk) problems.push(`checksum mismatch: expected sha256 ${backup.sha256.slice(0, 16)}… (${backup.sizeBytes} bytes), found ${digest.sha256.slice(0, 16)}… (${digest.bytes} bytes)`);
      }
      let listing: ArchiveListing | undefined;
      let plainComplete: boolean | undefined;
      if (backup.format === 'plain') {
        plainComplete = plainDumpComplete(backup.file);
        if (!plainComplete) problems.push('the plain dump ends without pg_dump\'s "dump complete" trailer (truncated?)');
      } else {
        findTool('pg_restore');
        listing = await listArchive(backup.file, backup.format, ctx.signal);
        if (!listing.ok) problems.push(`pg_restore --list cannot read it: ${listing.error}`);
        else if (listing.tocEntries === 0) problems.push('the archive lists no entries');
      }
      let test: RestoreTestResult | undefined;
      // Never load what its catalog entry does not vouch for, nor psql commands pg_dump does not write.
      const foreign = options.restoreTest && backup.format === 'plain' && !isCatalogued(backup) ? await findForeignMetaCommand(backup.file) : undefined;
      if (options.restoreTest && checksumOk === false) problems.push('restore test not run: the file does not match its catalog entry, so it was not loaded');
      else if (foreign) problems.push(`restore test not run: ${foreignMetaMessage(backup.file, foreign)}`);
      else if (options.restoreTest && ctx.target) {
        test = await restoreTest({ ...ctx, target: ctx.target }, backup, listing, emit);
        problems.push(...test.problems.map((problem) => `restore test: ${problem}`));
      }
      const ok = problems.length === 0;
      let record = isCatalogued(backup) ? backup : undefined;
      if (record) {
        record = updateVerification(record, { at: new Date().toISOString(), ok, tocEntries: listing?.tocEntries, restoreTest: Boolean(test), ...(problems.length ? { problems } : {}) });
      }
      op.note({ details: { file: backup.file, size_bytes: digest.bytes, sha256: digest.sha256, ok, toc_entries: listing?.tocEntries, restore_test: test ? test.ok : undefined, problems: problems.slice(0, 10) } });
      if (!ok) op.setOutcome('failed');
      safeEmit(emit, ok ? { type: 'finished', operation: 'verify', file: backup.file, bytes: digest.bytes, durationMs: Date.now() - started, sha256: digest.sha256 } : { type: 'failed', operation: 'verify', file: backup.file, error: problems[0]! });
      return {
        ok,
        file: backup.file,
        format: backup.format,
        catalogued: isCatalogued(backup),
        sizeBytes: digest.bytes,
        sha256: digest.sha256,
        ...(checksumOk !== undefined ? { checksumOk, expectedSha256: (backup as { sha256?: string }).sha256 } : {}),
        ...(listing ? { tocEntries: listing.tocEntries, tableDataEntries: listing.tableDataEntries } : {}),
        ...(plainComplete !== undefined ? { plainComplete } : {}),
        ...(test ? { restoreTest: test } : {}),
        problems,
        ...(record ? { record } : {}),
      };
    } catch (error) {
      safeEmit(emit, { type: 'failed', operation: 'verify', file: backup.file, error: oneLine(error) });
      throw error;
    }
  });
}
