import type pg from 'pg';

/**
 * A canonical, sorted description of a database's user schema (tables, columns, indexes,
 * constraints, sequences, views, functions): two snapshots are equal when the schemas are.
 * mutx-ops' own tables (the mutx_ops schema, and their old names) and the version table are left out.
 */
export async function catalogSnapshot(client: pg.Client, options: { exclude?: string[] } = {}): Promise<string[]> {
  const exclude = ['mutx_ops_ledger', 'mutx_ops_audit', ...(options.exclude ?? ['alembic_version'])];
  const result = await client.query<{ line: string }>(
    `WITH rels AS (
       SELECT c.oid, n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'mutx_ops') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
          AND NOT (c.relname = ANY($1)) AND NOT (c.relname LIKE ANY (SELECT r || '_%' FROM unnest($1::text[]) r))
     )
     SELECT format('relation %s.%s kind=%s', nspname, relname, relkind) AS line FROM rels WHERE relkind IN ('r','p','v','m','S','f')
     UNION ALL
     SELECT format('column %s.%s.%s %s%s%s', r.nspname, r.relname, a.attname, format_type(a.atttypid, a.atttypmod), CASE WHEN a.attnotnull THEN ' not null' ELSE '' END, COALESCE(' default ' || pg_get_expr(d.adbin, d.adrelid), ''))
       FROM rels r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped LEFT JOIN pg_attrdef d ON d.adrelid = r.oid AND d.adnum = a.attnum
      WHERE r.relkind IN ('r','p','v','m','f')
     UNION ALL
     SELECT format('index %s.%s %s valid=%s', r.nspname, ic.relname, pg_get_indexdef(i.indexrelid), i.indisvalid)
       FROM rels r JOIN pg_index i ON i.indrelid = r.oid JOIN pg_class ic ON ic.oid = i.indexrelid
     UNION ALL
     SELECT format('constraint %s.%s %s %s', r.nspname, r.relname, co.conname, pg_get_constraintdef(co.oid))
       FROM rels r JOIN pg_constraint co ON co.conrelid = r.oid
     UNION ALL
     SELECT format('view %s.%s %s', r.nspname, r.relname, pg_get_viewdef(r.oid)) FROM rels r WHERE r.relkind IN ('v','m')
     UNION ALL
     SELECT format('function %s.%s(%s) %s', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), md5(p.prosrc))
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'mutx_ops')
     UNION ALL
     SELECT format('type %s.%s', n.nspname, t.typname) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE t.typtype IN ('e','d','c') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'mutx_ops') AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c')`,
    [exclude],
  );
  return result.rows.map((row) => row.line).sort();
}

/** Lines only in `before` (-) and only in `after` (+). */
export function diffCatalogs(before: string[], after: string[]): string[] {
  const a = new Set(before);
  const b = new Set(after);
  return [...before.filter((line) => !b.has(line)).map((line) => `- ${line}`), ...after.filter((line) => !a.has(line)).map((line) => `+ ${line}`)];
}

/** Row counts of every user table (for restore tests and drills: "data kept"). */
export async function tableRowCounts(client: pg.Client): Promise<Record<string, number>> {
  const tables = await client.query<{ name: string }>(
    `SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
  );
  const counts: Record<string, number> = {};
  for (const { name } of tables.rows) {
    const result = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${name}`);
    counts[name] = Number(result.rows[0]!.n);
  }
  return counts;
}
