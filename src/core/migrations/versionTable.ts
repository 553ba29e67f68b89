import type pg from 'pg';
import { quoteIdent, quoteLiteral } from '../connection';
import { createLedgerSql } from './ledger';
import { LEDGER_TABLE, moveLegacyTables, OWN_SCHEMA, type MovedTable } from './ownTables';

/**
 * The version table is Alembic's (`version_num varchar(32)` primary key, one row per head), so
 * mutx-ops can take over a database that Alembic managed and hand it back. The ledger is ours
 * (ledger.ts), in the mutx_ops schema.
 */
export interface VersionTableNames {
  schema: string;
  table: string;
}

export function versionTableSql(names: VersionTableNames): string {
  return `${quoteIdent(names.schema)}.${quoteIdent(names.table)}`;
}

export function createTablesSql(names: VersionTableNames): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${versionTableSql(names)} (version_num varchar(32) NOT NULL, CONSTRAINT ${quoteIdent(`${names.table}_pkc`)} PRIMARY KEY (version_num))`,
    `CREATE SCHEMA IF NOT EXISTS ${OWN_SCHEMA}`,
    createLedgerSql(),
  ];
}

/** Whether the version table and mutx-ops' ledger exist (a ledger not moved yet from its old place counts). */
export async function tablesExist(client: pg.Client, names: VersionTableNames): Promise<{ version: boolean; ledger: boolean }> {
  const result = await client.query<{ version: boolean; ledger: boolean }>(
    'SELECT to_regclass($1) IS NOT NULL AS version, (to_regclass($2) IS NOT NULL OR to_regclass($3) IS NOT NULL) AS ledger',
    [versionTableSql(names), LEDGER_TABLE, `${quoteIdent(names.schema)}.mutx_ops_ledger`],
  );
  return result.rows[0]!;
}

/**
 * Moves mutx-ops' tables from their old place beside the version table (returned, for the audit
 * trail), then creates what is missing when `create` (a run that will write).
 */
export async function ensureTables(client: pg.Client, names: VersionTableNames, options: { create?: boolean } = {}): Promise<MovedTable[]> {
  const moved = await moveLegacyTables(client, names.schema);
  if (options.create ?? true) {
    const exists = await client.query<{ version: boolean; ledger: boolean }>('SELECT to_regclass($1) IS NOT NULL AS version, to_regclass($2) IS NOT NULL AS ledger', [versionTableSql(names), LEDGER_TABLE]);
    // One query: one implicit transaction, one commit, one round trip.
    if (!exists.rows[0]!.version || !exists.rows[0]!.ledger) await client.query(createTablesSql(names).join(';\n'));
  }
  return moved;
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
