import { as, relOf, relOfNames, relText, strings } from '../ast';
import { alterCommands } from './columns';
import type { Hit, Rule } from './rule';

const RENAMED: Record<string, string> = { OBJECT_TABLE: 'table', OBJECT_COLUMN: 'column', OBJECT_VIEW: 'view', OBJECT_MATVIEW: 'materialized view' };

export const rename: Rule = {
  id: 'compat/rename',
  title: 'RENAME of a table, view or column the running application uses',
  level: 'warning',
  newTableSafe: true,
  directions: ['upgrade'],
  lock: 'ACCESS EXCLUSIVE on the table (brief)',
  effect: 'the running application’s queries that use the old name fail from the moment the migration commits until the new code is deployed',
  safe: 'expand and contract: add the new name (a new column kept in step by the application or a trigger, or a view with the new name), deploy code that uses it, then drop the old name in a later release',
  why: 'Migrations run before (or while) the new code rolls out, so for a while the old code runs against the new schema. A renamed table or column makes every old query that names it fail — an outage that looks like a bad deploy. Renaming in two releases keeps both versions of the code working.',
  example: { bad: 'ALTER TABLE agents RENAME COLUMN name TO display_name;', good: 'ALTER TABLE agents ADD COLUMN display_name text;' },
  check: (s) => {
    const stmt = as(s.node, 'RenameStmt');
    if (!stmt?.renameType || !RENAMED[stmt.renameType]) return [];
    const table = relOf(stmt.relation);
    if (!table) return [];
    const what = RENAMED[stmt.renameType]!;
    const old = stmt.renameType === 'OBJECT_COLUMN' ? `${relText(table)}.${stmt.subname ?? '?'}` : relText(table);
    return [{ message: `RENAME ${what} ${old} TO ${stmt.newname ?? '?'}`, table }];
  },
};

export const dropColumn: Rule = {
  id: 'compat/drop-column',
  title: 'DROP COLUMN the running application may still read',
  level: 'warning',
  newTableSafe: true,
  directions: ['upgrade'],
  lock: 'ACCESS EXCLUSIVE on the table (brief: the column is only marked dropped)',
  effect: 'old code that selects or inserts the column fails, and the column’s data is gone: a downgrade re-adds it empty',
  safe: 'stop using the column in the code first (one release), then drop it in a later migration; keep a backup if its data may be needed',
  why: 'Dropping a column is a quick catalog change, but the running (old) application may still name it in SELECTs and INSERTs, which fail at once. And its data cannot come back: the downgrade can only add an empty column. Drop a column only once no deployed code uses it.',
  example: { bad: 'ALTER TABLE agents DROP COLUMN legacy_token;', good: 'ALTER TABLE agents ALTER COLUMN legacy_token DROP NOT NULL;' },
  check: (s) =>
    alterCommands(s).flatMap(({ table, cmd }): Hit[] => (cmd.subtype === 'AT_DropColumn' ? [{ message: `DROP COLUMN ${relText(table)}.${cmd.name ?? '?'}`, table }] : [])),
};

export const dropTable: Rule = {
  id: 'compat/drop-table',
  title: 'DROP TABLE in an upgrade',
  level: 'warning',
  newTableSafe: true,
  directions: ['upgrade'],
  lock: 'ACCESS EXCLUSIVE on the table (and on tables referencing it, for their foreign keys)',
  effect: 'old code that uses the table fails, and its rows are gone: a downgrade re-creates it empty',
  safe: 'stop using the table in the code first, rename it aside (or keep a backup) for a release, then drop it',
  why: 'DROP TABLE is instant and final: the running application loses the table the moment the migration commits, and its rows cannot be brought back by any downgrade — only by restoring a backup.',
  example: { bad: 'DROP TABLE agent_sessions;', good: 'ALTER TABLE agent_sessions RENAME TO agent_sessions_retired;' },
  check: (s) => {
    const drop = as(s.node, 'DropStmt');
    if (drop?.removeType !== 'OBJECT_TABLE') return [];
    return (drop.objects ?? []).flatMap((object): Hit[] => {
      const table = relOfNames(strings(as(object, 'List')?.items));
      return table ? [{ message: `DROP TABLE ${relText(table)}${drop.behavior === 'DROP_CASCADE' ? ' CASCADE' : ''}`, table }] : [];
    });
  },
};
