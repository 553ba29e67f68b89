import { as, relOfNames, relText, strings, typeText } from '../ast';
import { alterCommands, isSafeTypeChange } from './columns';
import type { Hit, Rule } from './rule';

export const downgradeDropsTable: Rule = {
  id: 'data/downgrade-drops-table',
  title: 'a downgrade that drops a table',
  level: 'warning',
  sizeAware: true,
  directions: ['downgrade'],
  lock: 'ACCESS EXCLUSIVE on the table (brief)',
  effect: 'every row written to it since the upgrade is lost — restore a backup instead to keep them',
  safe: 'if its rows matter, restore the backup taken before the upgrade (everything written since is lost there too, but nothing is half-kept), or copy the table aside before downgrading',
  why: 'A downgrade that drops a table the upgrade created also drops whatever the application wrote to it since. That may be fine (a new feature nobody used) or a data loss the operator would never choose knowingly. mutx-ops says which table and, when connected, how many rows it holds, next to the restore alternative.',
  example: { bad: 'DROP TABLE agent_events;', good: 'ALTER TABLE agents DROP CONSTRAINT IF EXISTS agents_status_ck;' },
  check: (s) => {
    const drop = as(s.node, 'DropStmt');
    if (drop?.removeType !== 'OBJECT_TABLE') return [];
    return (drop.objects ?? []).flatMap((object): Hit[] => {
      const table = relOfNames(strings(as(object, 'List')?.items));
      return table ? [{ message: `drops table ${relText(table)}`, table }] : [];
    });
  },
};

export const downgradeDropsColumn: Rule = {
  id: 'data/downgrade-drops-column',
  title: 'a downgrade that drops a column',
  level: 'warning',
  sizeAware: true,
  directions: ['downgrade'],
  lock: 'ACCESS EXCLUSIVE on the table (brief)',
  effect: 'the values written to it since the upgrade are lost — restore a backup instead to keep them',
  safe: 'copy the column aside first if its values matter, or restore the backup taken before the upgrade',
  why: 'Dropping the column an upgrade added throws away every value the application stored in it since. The operator should know before choosing between the downgrade and a restore.',
  example: { bad: 'ALTER TABLE agents DROP COLUMN status;', good: 'ALTER TABLE agents ALTER COLUMN status DROP DEFAULT;' },
  check: (s) => alterCommands(s).flatMap(({ table, cmd }): Hit[] => (cmd.subtype === 'AT_DropColumn' ? [{ message: `drops column ${relText(table)}.${cmd.name ?? '?'}`, table }] : [])),
};

export const downgradeNarrowsType: Rule = {
  id: 'data/downgrade-narrows-type',
  title: 'a downgrade that changes a column back to a narrower type',
  level: 'warning',
  sizeAware: true,
  directions: ['downgrade'],
  lock: 'ACCESS EXCLUSIVE on the table for the rewrite',
  effect: 'values written since the upgrade that do not fit are cut (or make the downgrade fail)',
  safe: 'check for values that do not fit first (e.g. `SELECT count(*) WHERE length(col) > 50`), or restore the backup taken before the upgrade',
  why: 'An upgrade that widened a column (int → bigint, varchar(50) → text) lets the application store values the old type cannot hold. Changing it back either fails on them or, with a USING cast, silently truncates them. mutx-ops compares with the current type when connected.',
  example: { bad: 'ALTER TABLE agents ALTER COLUMN name TYPE varchar(50);', good: 'ALTER TABLE agents ALTER COLUMN name TYPE text;' },
  check: (s) =>
    alterCommands(s).flatMap(({ table, cmd }): Hit[] => {
      if (cmd.subtype !== 'AT_AlterColumnType' || !cmd.name) return [];
      const column = as(cmd.def, 'ColumnDef');
      const to = typeText(column?.typeName);
      const current = s.catalog.columnType(table, cmd.name);
      if (!column?.raw_default && (to === 'text' || (current && isSafeTypeChange(current, to)))) return [];
      return [{ message: `changes ${relText(table)}.${cmd.name} to ${to}${current ? ` (now ${current})` : ''}${column?.raw_default ? ' USING …' : ''}`, table }];
    }),
};
