import type pg from 'pg';
import { relRegclass, type RelName } from './ast';
import type { TableSize } from './types';

/**
 * What the review knows about the live database. Read-only: a handful of catalog queries run once
 * per review, before the rules, for exactly the relations and functions the statements name.
 */
export interface Catalog {
  readonly connected: boolean;
  readonly serverVersionNum?: number;
  readonly serverVersion?: string;
  /** Size of the table (of the index's table, for an index); null: it does not exist; undefined: offline. */
  table(rel: RelName): TableSize | null | undefined;
  /** `format_type` of a column as it is now, when connected. */
  columnType(rel: RelName, column: string): string | undefined;
  /** A validated `CHECK (column IS NOT NULL)` exists, so SET NOT NULL skips its scan (PostgreSQL 12+). */
  hasValidatedNotNullCheck(rel: RelName, column: string): boolean;
  /** Whether a function of that name is volatile; undefined when unknown (offline or no such function). */
  isVolatile(name: string): boolean | undefined;
}

export const OFFLINE_CATALOG: Catalog = {
  connected: false,
  table: () => undefined,
  columnType: () => undefined,
  hasValidatedNotNullCheck: () => false,
  isVolatile: () => undefined,
};

interface RelationRow {
  written: string;
  oid: number | null;
  table_name: string | null;
  rows: number | null;
  bytes: string | null;
}

export async function readCatalog(client: pg.Client, relations: RelName[], functions: string[]): Promise<Catalog> {
  const written = [...new Set(relations.map(relRegclass))];
  const version = await client.query<{ server_version: string; server_version_num: string }>('SELECT current_setting(\'server_version\') AS server_version, current_setting(\'server_version_num\') AS server_version_num');
  const serverVersion = version.rows[0]?.server_version;
  const serverVersionNum = Number(version.rows[0]?.server_version_num ?? 0) || undefined;
  const sizes = new Map<string, TableSize | null>();
  const tableOids = new Map<string, number>();
  if (written.length > 0) {
    // to_regclass resolves unqualified names through the session's search_path, as the migration will.
    const result = await client.query<RelationRow>(
      `SELECT w.written, t.oid::int8::float8 AS oid, t.oid::regclass::text AS table_name,
              CASE WHEN t.reltuples < 0 THEN NULL ELSE t.reltuples::float8 END AS rows,
              pg_total_relation_size(t.oid)::text AS bytes
         FROM unnest($1::text[]) AS w(written)
         LEFT JOIN pg_class c ON c.oid = to_regclass(w.written)
         LEFT JOIN pg_index i ON i.indexrelid = c.oid
         LEFT JOIN pg_class t ON t.oid = COALESCE(i.indrelid, c.oid)`,
      [written],
    );
    for (const row of result.rows) {
      if (row.oid === null || row.table_name === null) {
        sizes.set(row.written, null);
        continue;
      }
      sizes.set(row.written, { name: row.table_name, rows: row.rows ?? undefined, bytes: Number(row.bytes ?? 0) });
      tableOids.set(row.written, row.oid);
    }
  }
  const oids = [...new Set(tableOids.values())];
  const columns = new Map<string, string>();
  const notNullChecks = new Set<string>();
  if (oids.length > 0) {
    const cols = await client.query<{ rel: number; attname: string; type: string }>(
      `SELECT attrelid::int8::float8 AS rel, attname, format_type(atttypid, atttypmod) AS type
         FROM pg_attribute WHERE attrelid = ANY($1::oid[]) AND attnum > 0 AND NOT attisdropped`,
      [oids],
    );
    for (const row of cols.rows) columns.set(`${row.rel}.${row.attname}`, row.type);
    const checks = await client.query<{ rel: number; def: string }>(
      `SELECT conrelid::int8::float8 AS rel, pg_get_constraintdef(oid) AS def
         FROM pg_constraint WHERE contype = 'c' AND convalidated AND conrelid = ANY($1::oid[])`,
      [oids],
    );
    for (const row of checks.rows) {
      const match = /^CHECK \(\(("(?:[^"]|"")+"|[^\s()]+) IS NOT NULL\)\)$/.exec(row.def);
      if (match) notNullChecks.add(`${row.rel}.${unquote(match[1]!)}`);
    }
  }
  const volatility = new Map<string, boolean>();
  const names = [...new Set(functions)];
  if (names.length > 0) {
    const procs = await client.query<{ proname: string; volatile: boolean }>(`SELECT proname, bool_or(provolatile = 'v') AS volatile FROM pg_proc WHERE proname = ANY($1::text[]) GROUP BY proname`, [names]);
    for (const row of procs.rows) volatility.set(row.proname, row.volatile);
  }
  const oidOf = (rel: RelName) => tableOids.get(relRegclass(rel));
  return {
    connected: true,
    serverVersion,
    serverVersionNum,
    table: (rel) => sizes.get(relRegclass(rel)),
    columnType: (rel, column) => {
      const oid = oidOf(rel);
      return oid === undefined ? undefined : columns.get(`${oid}.${column}`);
    },
    hasValidatedNotNullCheck: (rel, column) => {
      const oid = oidOf(rel);
      return oid !== undefined && notNullChecks.has(`${oid}.${column}`);
    },
    isVolatile: (name) => volatility.get(name),
  };
}

function unquote(identifier: string): string {
  return identifier.startsWith('"') ? identifier.slice(1, -1).replace(/""/g, '"') : identifier;
}
