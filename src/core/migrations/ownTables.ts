import type pg from 'pg';
import { quoteIdent } from '../connection';

/**
 * mutx-ops' own tables (the ledger, the audit mirror) live in their own schema. In the default
 * schema they would be seen by Alembic's autogenerate, which compares that schema with the
 * application's models and would propose `drop_table` for them in the next revision.
 */
export const OWN_SCHEMA = 'mutx_ops';
export const LEDGER_TABLE = `${OWN_SCHEMA}.ledger`;
export const AUDIT_TABLE = `${OWN_SCHEMA}.audit`;
/** One row per audit trail (machine + file): the newest record this database saw — the trail's anchor. */
export const AUDIT_HEAD_TABLE = `${OWN_SCHEMA}.audit_head`;

/** Where earlier versions of mutx-ops kept them: beside the version table. */
export function legacyTable(schema: string, name: 'ledger' | 'audit'): string {
  return `${quoteIdent(schema)}.mutx_ops_${name}`;
}

export interface MovedTable {
  from: string;
  to: string;
  rows: number;
}

/**
 * Moves `<schema>.mutx_ops_ledger` / `mutx_ops_audit` into the mutx_ops schema, in one
 * transaction. When both the old and the new table exist (an older mutx-ops wrote after the
 * move), the old rows are copied over first. Returns what moved, for the audit trail.
 */
export async function moveLegacyTables(client: pg.Client, legacySchema: string): Promise<MovedTable[]> {
  const found = await client.query<{ ledger: boolean; audit: boolean; new_ledger: boolean; new_audit: boolean }>(
    'SELECT to_regclass($1) IS NOT NULL AS ledger, to_regclass($2) IS NOT NULL AS audit, to_regclass($3) IS NOT NULL AS new_ledger, to_regclass($4) IS NOT NULL AS new_audit',
    [legacyTable(legacySchema, 'ledger'), legacyTable(legacySchema, 'audit'), LEDGER_TABLE, AUDIT_TABLE],
  );
  const exists = found.rows[0]!;
  if (!exists.ledger && !exists.audit) return [];
  const moved: MovedTable[] = [];
  await client.query('BEGIN');
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${OWN_SCHEMA}`);
    for (const name of ['ledger', 'audit'] as const) {
      if (!(name === 'ledger' ? exists.ledger : exists.audit)) continue;
      const from = legacyTable(legacySchema, name);
      const to = name === 'ledger' ? LEDGER_TABLE : AUDIT_TABLE;
      const rows = Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${from}`)).rows[0]!.n);
      if (name === 'ledger' ? exists.new_ledger : exists.new_audit) {
        const columns = name === 'ledger' ? 'revision, direction, checksum, operator, host, started_at, duration_ms, outcome, failed_statement, error, run_id, audit_op_id' : 'hash, seq, ts, action, record, mirrored_at';
        await client.query(`INSERT INTO ${to} (${columns}) SELECT ${columns} FROM ${from} ORDER BY 1${name === 'audit' ? ' ON CONFLICT (hash) DO NOTHING' : ''}`);
        await client.query(`DROP TABLE ${from}`);
      } else {
        await client.query(`ALTER TABLE ${from} SET SCHEMA ${OWN_SCHEMA}`);
        await client.query(`ALTER TABLE ${OWN_SCHEMA}.mutx_ops_${name} RENAME TO ${name}`);
        if (name === 'ledger') await client.query(`ALTER SEQUENCE IF EXISTS ${OWN_SCHEMA}.mutx_ops_ledger_id_seq RENAME TO ledger_id_seq`);
      }
      moved.push({ from: from.replace(/"/g, ''), to, rows });
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
  return moved;
}

/** The table that holds the ledger now: ours, else a legacy one not moved yet (reads never move it). */
export async function ledgerLocation(client: pg.Client, legacySchema: string): Promise<string | undefined> {
  const result = await client.query<{ own: boolean; legacy: boolean }>('SELECT to_regclass($1) IS NOT NULL AS own, to_regclass($2) IS NOT NULL AS legacy', [LEDGER_TABLE, legacyTable(legacySchema, 'ledger')]);
  const row = result.rows[0]!;
  return row.own ? LEDGER_TABLE : row.legacy ? legacyTable(legacySchema, 'ledger') : undefined;
}
