import type pg from 'pg';
import { quoteLiteral } from '../connection';
import type { VersionTableNames } from './versionTable';
import { LEDGER_TABLE, ledgerLocation } from './ownTables';

/**
 * The ledger: one row per applied, reverted, stamped, adopted, failed or started revision, with
 * the checksum drift is judged by, who, where, when and how long. Rows are written in the same
 * transaction as the version-table change they record.
 */
export function createLedgerSql(): string {
  return `CREATE TABLE IF NOT EXISTS ${LEDGER_TABLE} (
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
)`;
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

export function ledgerInsertSql(_names: VersionTableNames, entry: LedgerEntry): string {
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
  return `INSERT INTO ${LEDGER_TABLE} (revision, direction, checksum, operator, host, started_at, duration_ms, outcome, failed_statement, error, run_id, audit_op_id) VALUES (${values.join(', ')})`;
}

/**
 * The ledger INSERT for an engine that writes its rows on its own connection (the Alembic runner,
 * through SQLAlchemy's text() with :named parameters). The runner keeps a transaction's rows and
 * writes them in one statement just before that transaction commits: `{rows}` becomes one `row`
 * per ledger row, `{n}` numbering its parameters. It inserts nothing when the session named by
 * :lock_pid no longer holds the migration lock, so a run whose mutx-ops died (or lost its lock)
 * cannot commit, nor when (with :check_transaction) the transaction is no longer the one the
 * runner marked (a revision ran COMMIT or ROLLBACK): the runner checks that every row was inserted.
 */
export function ledgerInsertTemplate(): { sql: string; row: string } {
  return {
    sql: `INSERT INTO ${LEDGER_TABLE} (revision, direction, checksum, operator, host, started_at, duration_ms, outcome, run_id, audit_op_id)
SELECT v.revision, v.direction, v.checksum, v.operator, v.host, v.started_at, v.duration_ms, v.outcome, v.run_id, v.audit_op_id
  FROM (VALUES {rows}) AS v (revision, direction, checksum, operator, host, started_at, duration_ms, outcome, run_id, audit_op_id)
 WHERE EXISTS (SELECT 1 FROM pg_locks WHERE pid = :lock_pid AND locktype = 'advisory' AND classid = :lock_k1 AND objid = :lock_k2 AND objsubid = 2 AND granted)
   AND (NOT :check_transaction OR current_setting('mutx_ops.transaction', true) = 'open')`,
    row: '(CAST(:revision_{n} AS text), CAST(:direction_{n} AS text), CAST(:checksum_{n} AS text), CAST(:operator_{n} AS text), CAST(:host_{n} AS text), CAST(:started_at_{n} AS timestamptz), CAST(:duration_ms_{n} AS integer), CAST(:outcome_{n} AS text), CAST(:run_id_{n} AS text), CAST(:audit_op_id_{n} AS text))',
  };
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
  const table = await ledgerLocation(client, names.schema);
  if (!table) return [];
  const result = await client.query<LedgerRow>(`SELECT * FROM ${table} ORDER BY id`);
  return result.rows.map((row) => ({ ...row, id: Number(row.id) }));
}

/** Like recordedChecksums(readLedger()), computed by the server: the ledger only grows. */
export async function readRecordedChecksums(client: pg.Client, names: VersionTableNames): Promise<Map<string, string>> {
  const table = await ledgerLocation(client, names.schema);
  if (!table) return new Map();
  const result = await client.query<{ revision: string; checksum: string }>(
    `SELECT DISTINCT ON (revision) revision, checksum FROM ${table}
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
  const ledger = await ledgerLocation(client, names.schema);
  if (!ledger) return [];
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
