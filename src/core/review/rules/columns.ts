import type { Node } from 'libpg-query';
import { as, calledFunctions, relOf, relText, strings, typeText, type RelName } from '../ast';
import type { Catalog } from '../catalog';
import type { Hit, Rule, StatementContext } from './rule';

/** Functions a DEFAULT must not call when added to an existing table: each row gets its own value, so the table is rewritten. */
const VOLATILE = new Set(['random', 'gen_random_uuid', 'uuid_generate_v1', 'uuid_generate_v1mc', 'uuid_generate_v4', 'clock_timestamp', 'timeofday', 'nextval', 'setseed', 'txid_current', 'pg_current_xact_id', 'uuidv4', 'uuidv7']);
const SERIAL = new Set(['serial', 'serial2', 'serial4', 'serial8', 'smallserial', 'bigserial']);

function alterCommands(s: StatementContext): { table: RelName; cmd: NonNullable<ReturnType<typeof alterCmd>> }[] {
  const alter = as(s.node, 'AlterTableStmt');
  const table = relOf(alter?.relation);
  if (!alter || !table || (alter.objtype && alter.objtype !== 'OBJECT_TABLE')) return [];
  return (alter.cmds ?? []).flatMap((node) => {
    const cmd = alterCmd(node);
    return cmd ? [{ table, cmd }] : [];
  });
}

function alterCmd(node: Node) {
  return as(node, 'AlterTableCmd');
}

export { alterCommands };

export const addColumnVolatileDefault: Rule = {
  id: 'lock/add-column-volatile-default',
  title: 'ADD COLUMN with a volatile default (or serial, identity, stored generated)',
  level: 'error',
  sizeAware: true,
  lock: 'ACCESS EXCLUSIVE on the table for a full rewrite: every read and write waits',
  effect: 'rewrites the table under ACCESS EXCLUSIVE: reads and writes wait until it ends',
  safe: 'add the column without a default (or with a constant one: PostgreSQL 11+ stores it without a rewrite), backfill it in batches outside the migration transaction, then SET DEFAULT for new rows',
  why: 'Since PostgreSQL 11, ADD COLUMN with a constant (or stable, like now()) default only records the value in the catalog. A volatile default — random(), gen_random_uuid(), clock_timestamp(), nextval() behind serial and identity columns — or a stored generated column must be computed per row, so PostgreSQL rewrites the whole table while holding ACCESS EXCLUSIVE. On a large table that is an outage for as long as the rewrite takes.',
  example: {
    bad: 'ALTER TABLE events ADD COLUMN token uuid DEFAULT gen_random_uuid();',
    good: 'ALTER TABLE events ADD COLUMN token uuid;\nALTER TABLE events ALTER COLUMN token SET DEFAULT gen_random_uuid();',
  },
  check: (s) =>
    alterCommands(s).flatMap(({ table, cmd }): Hit[] => {
      if (cmd.subtype !== 'AT_AddColumn') return [];
      const column = as(cmd.def, 'ColumnDef');
      if (!column) return [];
      const type = strings(column.typeName?.names).at(-1)?.toLowerCase() ?? '';
      const name = column.colname ?? '?';
      if (SERIAL.has(type)) return [{ message: `ADD COLUMN ${name} ${type} on ${relText(table)}: a serial column gets nextval() per row`, table }];
      for (const constraintNode of column.constraints ?? []) {
        const constraint = as(constraintNode, 'Constraint');
        if (!constraint) continue;
        if (constraint.contype === 'CONSTR_IDENTITY') return [{ message: `ADD COLUMN ${name} … GENERATED AS IDENTITY on ${relText(table)}: every row gets a sequence value`, table }];
        if (constraint.contype === 'CONSTR_GENERATED') return [{ message: `ADD COLUMN ${name} … GENERATED ALWAYS AS (…) STORED on ${relText(table)}: computed and stored for every row`, table }];
        if (constraint.contype === 'CONSTR_DEFAULT') {
          const volatile = volatileCalls(constraint.raw_expr, s.catalog);
          if (volatile.length) return [{ message: `ADD COLUMN ${name} on ${relText(table)} with volatile DEFAULT ${volatile.join(', ')}()`, table }];
        }
      }
      return [];
    }),
};

function volatileCalls(expr: Node | undefined, catalog: Catalog): string[] {
  return calledFunctions(expr).filter((fn) => VOLATILE.has(fn) || catalog.isVolatile(fn) === true);
}

/**
 * Type changes PostgreSQL makes without a rewrite or scan (binary coercible, or a typmod that
 * only widens): varchar(n) → varchar(m ≥ n), varchar/text/char → text or unlimited varchar,
 * numeric(p,s) → numeric(q ≥ p, s) or unlimited numeric, bit varying(n) → wider.
 */
export function isSafeTypeChange(from: string, to: string): boolean {
  const parse = (type: string) => {
    const m = /^([a-z ]+?)(?:\((\d+)(?:,\s*(\d+))?\))?$/.exec(type.trim().toLowerCase());
    if (!m) return undefined;
    const aliases: Record<string, string> = { 'character varying': 'varchar', character: 'bpchar', char: 'bpchar', decimal: 'numeric', 'bit varying': 'varbit' };
    const base = aliases[m[1]!] ?? m[1]!;
    return { base, p: m[2] === undefined ? undefined : Number(m[2]), s: m[3] === undefined ? undefined : Number(m[3]) };
  };
  const a = parse(from);
  const b = parse(to);
  if (!a || !b) return false;
  if (b.base === 'text' && ['varchar', 'text'].includes(a.base)) return true;
  if (b.base === 'varchar' && ['varchar', 'text'].includes(a.base)) return b.p === undefined || (a.base === 'varchar' && a.p !== undefined && b.p >= a.p);
  if (b.base === 'numeric' && a.base === 'numeric') return b.p === undefined || (a.p !== undefined && b.p >= a.p && (b.s ?? 0) === (a.s ?? 0));
  if (b.base === 'varbit' && a.base === 'varbit') return b.p === undefined || (a.p !== undefined && b.p >= a.p);
  return a.base === b.base && a.p === b.p && a.s === b.s;
}

export const alterColumnType: Rule = {
  id: 'lock/alter-column-type',
  title: 'ALTER COLUMN … TYPE that rewrites the table',
  level: 'error',
  sizeAware: true,
  lock: 'ACCESS EXCLUSIVE on the table for a rewrite (and a rebuild of every index on the column): every read and write waits',
  effect: 'rewrites the table and its indexes under ACCESS EXCLUSIVE: reads and writes wait until it ends',
  safe: 'add a new column of the new type, backfill it in batches, switch the application over, then drop the old column in a later release; widening varchar(n) to varchar(m > n) or text needs no rewrite',
  why: 'Changing a column to a type that is not binary compatible (int → bigint, text → integer, anything with USING) makes PostgreSQL rewrite every row and rebuild every index on the table under ACCESS EXCLUSIVE. Only a few changes are free: varchar(n) to a longer varchar or to text, numeric to a higher precision with the same scale. When connected, mutx-ops compares with the column’s current type and stays quiet for those.',
  example: { bad: 'ALTER TABLE events ALTER COLUMN id TYPE bigint;', good: 'ALTER TABLE events ADD COLUMN id_new bigint;' },
  check: (s) =>
    alterCommands(s).flatMap(({ table, cmd }): Hit[] => {
      if (cmd.subtype !== 'AT_AlterColumnType' || !cmd.name) return [];
      const column = as(cmd.def, 'ColumnDef');
      const to = typeText(column?.typeName);
      const using = Boolean(column?.raw_default);
      const current = s.catalog.columnType(table, cmd.name);
      if (!using && current && isSafeTypeChange(current, to)) return [];
      if (!using && !current && ['text', 'varchar'].includes(to)) {
        // Offline: to text or unlimited varchar is free from any character type; say so at info.
        return [{ message: `ALTER COLUMN ${cmd.name} TYPE ${to} on ${relText(table)}: free from varchar/text, a rewrite from anything else (current type unknown offline)`, table, level: 'info' }];
      }
      return [{ message: `ALTER COLUMN ${cmd.name} TYPE ${to}${current ? ` (now ${current})` : ''}${using ? ' USING …' : ''} on ${relText(table)}`, table }];
    }),
};

export const setNotNull: Rule = {
  id: 'lock/set-not-null',
  title: 'SET NOT NULL without a validated CHECK (column IS NOT NULL)',
  level: 'warning',
  sizeAware: true,
  lock: 'ACCESS EXCLUSIVE on the table while every row is scanned: every read and write waits',
  effect: 'scans the whole table under ACCESS EXCLUSIVE: reads and writes wait until it ends',
  safe: 'first `ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID`, then (in a later migration) `VALIDATE CONSTRAINT c`, then `SET NOT NULL` (PostgreSQL 12+ uses the check and skips the scan) and `DROP CONSTRAINT c`',
  why: 'SET NOT NULL must prove that no row holds NULL, so it scans the table while holding ACCESS EXCLUSIVE. A CHECK constraint added NOT VALID takes only a brief lock, and VALIDATE CONSTRAINT scans under SHARE UPDATE EXCLUSIVE, which lets reads and writes go on. Once a validated CHECK (col IS NOT NULL) exists, PostgreSQL 12 and later skip the scan.',
  example: {
    bad: 'ALTER TABLE events ALTER COLUMN kind SET NOT NULL;',
    good: 'ALTER TABLE events ADD CONSTRAINT events_kind_nn CHECK (kind IS NOT NULL) NOT VALID;\nALTER TABLE events VALIDATE CONSTRAINT events_kind_nn;\nALTER TABLE events ALTER COLUMN kind SET NOT NULL;',
  },
  check: (s) =>
    alterCommands(s).flatMap(({ table, cmd }): Hit[] => {
      if (cmd.subtype !== 'AT_SetNotNull' || !cmd.name) return [];
      if (s.plan.hasValidatedNotNull(table, cmd.name) || s.catalog.hasValidatedNotNullCheck(table, cmd.name)) return [];
      return [{ message: `ALTER COLUMN ${cmd.name} SET NOT NULL on ${relText(table)} without a validated CHECK (${cmd.name} IS NOT NULL)`, table }];
    }),
};
