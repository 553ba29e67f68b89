import type pg from 'pg';
import { quoteIdent, quoteLiteral } from '../connection';

/**
 * The version table is Alembic's (`version_num varchar(32)` primary key, one row per head), so
 * mutx-ops can take over a database that Alembic managed and hand it back. The ledger beside it
 * is ours: one row per applied/reverted/stamped revision, with the checksum drift is judged by.
 */
export interface VersionTableNames {
  schema: string;
  table: string;
}

export function versionTableSql(names: VersionTableNames): string {
  return `${quoteIdent(names.schema)}.${quoteIdent(names.table)}`;
}

export function ledgerTableSql(names: VersionTableNames): string {
  return `${quoteIdent(names.schema)}.mutx_ops_ledger`;
}

export function createTablesSql(names: VersionTableNames): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${versionTableSql(names)} (version_num varchar(32) NOT NULL, CONSTRAINT ${quoteIdent(`${names.table}_pkc`)} PRIMARY KEY (version_num))`,
    `CREATE TABLE IF NOT EXISTS ${ledgerTableSql(names)} (
  id bigserial PRIMARY KEY,
  revision varchar(32) NOT NULL,
  direction text NOT NULL,
  checksum text,
  operator text NOT NULL,
  host text NOT NULL,
  started_at timestamptz NOT NULL,
  duration_ms integer NOT NULL,
  outcome text NOT NULL,
  failed_statement text,
  error text,
  run_id text,
  audit_op_id text
)`,
  ];
}

export async function tablesExist(client: pg.Client, names: VersionTableNames): Promise<{ version: boolean; ledger: boolean }> {
  const result = await client.query<{ version: boolean; ledger: boolean }>(
    'SELECT to_regclass($1) IS NOT NULL AS version, to_regclass($2) IS NOT NULL AS ledger',
    [`${quoteIdent(names.schema)}.${quoteIdent(names.table)}`, `${quoteIdent(names.schema)}.mutx_ops_ledger`],
  );
  return result.rows[0]!;
}

export async function ensureTables(client: pg.Client, names: VersionTableNames): Promise<void> {
  const exists = await tablesExist(client, names);
  if (exists.version && exists.ledger) return;
  for (const statement of createTablesSql(names)) await client.query(statement);
}

/** Current version rows; an absent table means base (nothing applied yet). */
export async function readVersionRows(client: pg.Client, names: VersionTableNames): Promise<string[]> {
  const exists = await tablesExist(client, names);
  if (!exists.version) return [];
  const result = await client.query<{ version_num: string }>(`SELECT version_num FROM ${versionTableSql(names)} ORDER BY version_num`);
  return result.rows.map((row) => row.version_num);
}

/** Statements that move the version table from one set of heads to another (printed by --sql). */
export function versionUpdateSql(names: VersionTableNames, before: string[], after: string[]): string[] {
  const table = versionTableSql(names);
  const removed = before.filter((id) => !after.includes(id));
  const added = after.filter((id) => !before.includes(id));
  const statements: string[] = [];
  if (removed.length === 1 && added.length === 1) {
    statements.push(`UPDATE ${table} SET version_num=${quoteLiteral(added[0]!)} WHERE version_num = ${quoteLiteral(removed[0]!)}`);
    return statements;
  }
  if (removed.length > 0) statements.push(`DELETE FROM ${table} WHERE version_num IN (${removed.map(quoteLiteral).join(', ')})`);
  for (const id of added) statements.push(`INSERT INTO ${table} (version_num) VALUES (${quoteLiteral(id)})`);
  return statements;
}

export interface LedgerEntry {
  revision: string;
  direction: 'upgrade' | 'downgrade' | 'stamp' | 'accept-changed' | 'adopt';
  checksum: string | null;
  operator: string;
  host: string;
  startedAt: Date;
  durationMs: number;
  outcome: 'applied' | 'reverted' | 'stamped' | 'failed' | 'timeout' | 'accepted' | 'adopted' | 'cancelled';
  failedStatement?: string | null;
  error?: string | null;
  runId?: string | null;
  auditOpId?: string | null;
}

export function ledgerInsertSql(names: VersionTableNames, entry: LedgerEntry): string {
  const values = [
    quoteLiteral(entry.revision),
    quoteLiteral(entry.direction),
    quoteLiteral(entry.checksum),
    quoteLiteral(entry.operator),
    quoteLiteral(entry.host),
    quoteLiteral(entry.startedAt.toISOString()),
    String(Math.round(entry.durationMs)),
    quoteLiteral(entry.outcome),
    quoteLiteral(entry.failedStatement ?? null),
    quoteLiteral(entry.error ?? null),
    quoteLiteral(entry.runId ?? null),
    quoteLiteral(entry.auditOpId ?? null),
  ];
  return `INSERT INTO ${ledgerTableSql(names)} (revision, direction, checksum, operator, host, started_at, duration_ms, outcome, failed_statement, error, run_id, audit_op_id) VALUES (${values.join(', ')})`;
}

export interface LedgerRow {
  id: number;
  revision: string;
  direction: string;
  checksum: string | null;
  operator: string;
  host: string;
  started_at: Date;
  duration_ms: number;
  outcome: string;
  failed_statement: string | null;
  error: string | null;
  run_id: string | null;
}

export async function readLedger(client: pg.Client, names: VersionTableNames): Promise<LedgerRow[]> {
  const exists = await tablesExist(client, names);
  if (!exists.ledger) return [];
  const result = await client.query<LedgerRow>(`SELECT * FROM ${ledgerTableSql(names)} ORDER BY id`);
  return result.rows.map((row) => ({ ...row, id: Number(row.id) }));
}

/** Like recordedChecksums(readLedger()), computed by the server: the ledger only grows. */
export async function readRecordedChecksums(client: pg.Client, names: VersionTableNames): Promise<Map<string, string>> {
  const exists = await tablesExist(client, names);
  if (!exists.ledger) return new Map();
  const result = await client.query<{ revision: string; checksum: string }>(
    `SELECT DISTINCT ON (revision) revision, checksum FROM ${ledgerTableSql(names)}
      WHERE checksum IS NOT NULL AND outcome IN ('applied', 'stamped', 'accepted', 'adopted') ORDER BY revision, id DESC`,
  );
  return new Map(result.rows.map((row) => [row.revision, row.checksum]));
}

/**
 * The checksum each revision was last applied (or accepted, stamped, adopted) with. Drift is a
 * file whose checksum differs from this.
 */
export function recordedChecksums(ledger: LedgerRow[]): Map<string, string> {
  const checksums = new Map<string, string>();
  for (const row of ledger) {
    if (row.checksum && ['applied', 'stamped', 'accepted', 'adopted'].includes(row.outcome)) {
      checksums.set(row.revision, row.checksum);
    }
  }
  return checksums;
}
