import type pg from 'pg';
import type { Target } from '../connection';
import { MutxError } from '../errors';
import type { Operator } from '../identity';
import { checkDumpVersion, childEnvironment, dbnameArgument, describeFailure, findTool, runTool, serverMajor, toolVersion, type ToolOutcome } from '../backup/tools';

/** `--with-data` copies the rows too, for databases up to this size (pg_database_size). */
export const WITH_DATA_LIMIT_BYTES = 100 * 1000 * 1000;

export interface TargetFacts {
  serverVersion: string;
  serverVersionNum: number;
  serverMajor: number;
  databaseBytes: number;
  encoding: string;
  collate: string;
  ctype: string;
}

/** What the rehearsal needs to know about the target; the session is read-only. */
export async function targetFacts(client: pg.Client): Promise<TargetFacts> {
  const row = (
    await client.query<{ v: string; n: string; bytes: string; encoding: string; collate: string; ctype: string }>(
      `SELECT current_setting('server_version') AS v, current_setting('server_version_num') AS n, pg_database_size(current_database())::text AS bytes,
              pg_encoding_to_char(encoding) AS encoding, datcollate AS collate, datctype AS ctype
         FROM pg_database WHERE datname = current_database()`,
    )
  ).rows[0]!;
  const num = Number(row.n);
  return { serverVersion: row.v.split(' ')[0]!, serverVersionNum: num, serverMajor: serverMajor(num), databaseBytes: Number(row.bytes), encoding: row.encoding, collate: row.collate, ctype: row.ctype };
}

/** pg_dump and psql, refused before anything is created when missing or older than the server. */
export async function cloneTools(facts: TargetFacts): Promise<{ pgDump: string; psql: string }> {
  const pgDump = findTool('pg_dump', facts.serverMajor);
  const psql = findTool('psql', facts.serverMajor);
  checkDumpVersion('pg_dump', await toolVersion(pgDump, 'pg_dump'), pgDump, facts.serverVersion, facts.serverMajor);
  return { pgDump, psql };
}

export interface CloneOptions {
  source: Target;
  into: Target;
  operator: Operator;
  facts: TargetFacts;
  /** Tables whose rows are copied without --with-data: the version table and the ledger (those that exist, schema-qualified). */
  dataTables: { schema: string; table: string }[];
  /** pg_export_snapshot() of the read-only transaction that read the version rows: both dumps see the same database. */
  snapshot?: string;
  withData: boolean;
  signal?: AbortSignal;
  lockWaitSeconds: number;
}

/**
 * Copies the target into the scratch database: pg_dump --schema-only (all schemas, mutx-ops' own
 * included, no owners or grants: the scratch objects belong to the role that migrates), then the
 * rows of the version table and of mutx-ops' ledger (so the plan, drift and half-applied checks are
 * the target's). The audit mirror's rows are not copied. With `withData`, everything is copied.
 * pg_dump's output streams into psql (ON_ERROR_STOP, one transaction).
 */
export async function cloneTarget(options: CloneOptions): Promise<void> {
  const { pgDump, psql } = await cloneTools(options.facts);
  const common = ['--no-owner', '--no-privileges', `--lock-wait-timeout=${Math.max(1, Math.round(options.lockWaitSeconds * 1000))}`, ...(options.snapshot ? [`--snapshot=${options.snapshot}`] : [])];
  if (options.withData) {
    await pipe(pgDump, [...common, '--exclude-table-data=mutx_ops.audit'], psql, options);
    return;
  }
  await pipe(pgDump, [...common, '--schema-only'], psql, options);
  // pg_dump fails when no -t pattern matches anything (a database at base has no version table).
  if (options.dataTables.length === 0) return;
  await pipe(pgDump, [...common, '--data-only', ...options.dataTables.map((t) => `--table=${quotePattern(t.schema, t.table)}`)], psql, options);
}

/** pg_dump's -t takes a pattern: quote each part so names with dots, capitals or * mean themselves. */
function quotePattern(schema: string, table: string): string {
  return [schema, table].map((part) => `"${part.replace(/"/g, '""')}"`).join('.');
}

async function pipe(pgDump: string, dumpArgs: string[], psql: string, options: CloneOptions): Promise<void> {
  const dump = runTool(pgDump, dumpArgs, { env: childEnvironment(options.source, options.operator), stdout: 'stream', signal: options.signal });
  const restore = runTool(psql, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-d', dbnameArgument(options.into.database)], {
    env: childEnvironment(options.into, options.operator),
    stdout: 'ignore',
    stdin: 'pipe',
    signal: options.signal,
  });
  dump.stdout!.pipe(restore.stdin!);
  // psql ending early (an error) closes its stdin: pg_dump's EPIPE is its problem, not ours.
  restore.stdin!.on('error', () => {});
  const [dumped, restored] = await Promise.all([dump.done, restore.done]);
  if (options.signal?.aborted) throw new MutxError('timeout', 'the rehearsal stopped while copying the target\'s schema', { hint: 'raise --timeout' });
  if (!dumped.ok) throw failure('pg_dump', dumped, `reading ${options.source.redacted}`);
  if (!restored.ok) throw failure('psql', restored, 'loading the copy into the scratch database');
}

function failure(name: 'pg_dump' | 'psql', outcome: ToolOutcome, what: string): MutxError {
  return new MutxError('migration-failed', `copying the target for the rehearsal failed (${what}): ${describeFailure(name, outcome)}`, {
    hint: name === 'pg_dump' ? 'check that the target is reachable and its role may read the schema; nothing was changed on the target' : 'the copy could not be loaded into the scratch database (an extension missing on the scratch server?); nothing was changed on the target',
  });
}
