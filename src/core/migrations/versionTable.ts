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
  direction: 'upgrade' | 'downgrade' | 'stamp' | 'accept-changed' | 'adopt' | 'reconcile';
  checksum: string | null;
  operator: string;
  host: string;
  startedAt: Date;
  durationMs: number;
  /** `started` is written (committed) before a non-transactional step runs: see readPartialMigrations. */
  outcome: 'applied' | 'reverted' | 'stamped' | 'failed' | 'timeout' | 'accepted' | 'adopted' | 'cancelled' | 'started' | 'reconciled';
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

/** A non-transactional step that started and never finished: its schema may be half-changed. */
export interface PartialMigration {
  ledgerId: number;
  revision: string;
  direction: 'upgrade' | 'downgrade';
  operator: string;
  host: string;
  startedAt: Date;
  /** failed / timeout / cancelled, or started when the process died mid-way. */
  outcome: string;
  error: string | null;
}

/**
 * Revisions whose last non-transactional attempt has a `started` row and no later row that
 * settled it (applied, reverted, reconciled, stamped). A kill -9 or a lost connection mid-way
 * leaves exactly this; the version table alone cannot show it.
 */
export async function readPartialMigrations(client: pg.Client, names: VersionTableNames): Promise<PartialMigration[]> {
  const exists = await tablesExist(client, names);
  if (!exists.ledger) return [];
  const ledger = ledgerTableSql(names);
  const result = await client.query<{ id: string; revision: string; direction: 'upgrade' | 'downgrade'; operator: string; host: string; started_at: Date; outcome: string; error: string | null }>(
    `SELECT s.id, s.revision, s.direction, s.operator, s.host, s.started_at,
            coalesce(f.outcome, 'started') AS outcome, f.error
       FROM ${ledger} s
       LEFT JOIN LATERAL (SELECT outcome, error FROM ${ledger} x
                           WHERE x.revision = s.revision AND x.id > s.id AND x.outcome IN ('failed', 'timeout', 'cancelled')
                           ORDER BY x.id LIMIT 1) f ON true
      WHERE s.outcome = 'started'
        AND NOT EXISTS (SELECT 1 FROM ${ledger} y
                         WHERE y.revision = s.revision AND y.id > s.id AND y.outcome IN ('applied', 'reverted', 'reconciled', 'stamped'))
        AND s.id = (SELECT max(id) FROM ${ledger} z WHERE z.revision = s.revision AND z.outcome = 'started')
      ORDER BY s.id`,
  );
  return result.rows.map((row) => ({ ledgerId: Number(row.id), revision: row.revision, direction: row.direction, operator: row.operator, host: row.host, startedAt: row.started_at, outcome: row.outcome, error: row.error }));
}
