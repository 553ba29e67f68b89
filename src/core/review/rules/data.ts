import { as, relOf, relText } from '../ast';
import type { Hit, Rule } from './rule';

export const truncateCascade: Rule = {
  id: 'data/truncate-cascade',
  title: 'TRUNCATE … CASCADE',
  level: 'error',
  lock: 'ACCESS EXCLUSIVE on the table and on every table that references it',
  effect: 'empties every table that references it by a foreign key, whatever it holds',
  safe: 'name every table to empty explicitly (TRUNCATE a, b), after checking what references them; or DELETE with a WHERE in batches',
  why: 'CASCADE follows foreign keys: every table that references the truncated one is emptied too, and the tables referencing those, without listing them. A migration written against a small schema silently empties tables added later. TRUNCATE also cannot be undone by a downgrade.',
  example: { bad: 'TRUNCATE agents CASCADE;', good: 'TRUNCATE agent_sessions;' },
  check: (s) => {
    const truncate = as(s.node, 'TruncateStmt');
    if (!truncate || truncate.behavior !== 'DROP_CASCADE') return [];
    return (truncate.relations ?? []).flatMap((node): Hit[] => {
      const table = relOf(as(node, 'RangeVar'));
      return table ? [{ message: `TRUNCATE ${relText(table)} CASCADE`, table }] : [];
    });
  },
};

export const updateWithoutWhere: Rule = {
  id: 'data/update-without-where',
  title: 'UPDATE without WHERE (a backfill in the migration’s transaction)',
  level: 'warning',
  sizeAware: true,
  lock: 'ROW EXCLUSIVE on the table and a row lock on every row until the migration commits: every other writer of any row waits',
  effect: 'locks every row until the migration commits: concurrent writers of the table wait',
  safe: 'backfill in batches (`UPDATE … WHERE id BETWEEN …`), each committed on its own — a non-transactional migration or a job outside migrations',
  why: 'An UPDATE of every row in one transaction locks each row it touches until COMMIT, writes a new version of every row (doubling the table on disk until vacuum) and, in a migration, holds the transaction’s other locks just as long. Batches of a few thousand rows, each in its own transaction, keep locks short and let vacuum keep up.',
  example: { bad: "UPDATE events SET kind = 'legacy';", good: "UPDATE events SET kind = 'legacy' WHERE id BETWEEN 1 AND 10000;" },
  check: (s) => {
    const update = as(s.node, 'UpdateStmt');
    const table = relOf(update?.relation);
    if (!update || !table || update.whereClause) return [];
    return [{ message: `UPDATE ${relText(table)} without WHERE`, table }];
  },
};

export const deleteWithoutWhere: Rule = {
  id: 'data/delete-without-where',
  title: 'DELETE without WHERE',
  level: 'error',
  sizeAware: true,
  lock: 'ROW EXCLUSIVE on the table and a row lock on every row until the migration commits',
  effect: 'deletes every row (and locks them all until the migration commits)',
  safe: 'say which rows (WHERE), in batches; if the table must really be emptied, TRUNCATE it by name and say why in a waiver',
  why: 'A DELETE without WHERE removes every row of the table, which is rarely what a schema migration means and cannot be undone by its downgrade. Deleting in one transaction also locks every row until COMMIT and leaves the table full of dead rows for vacuum.',
  example: { bad: 'DELETE FROM agent_sessions;', good: "DELETE FROM agent_sessions WHERE expires_at < now() - interval '30 days';" },
  check: (s) => {
    const del = as(s.node, 'DeleteStmt');
    const table = relOf(del?.relation);
    if (!del || !table || del.whereClause) return [];
    return [{ message: `DELETE FROM ${relText(table)} without WHERE`, table }];
  },
};
