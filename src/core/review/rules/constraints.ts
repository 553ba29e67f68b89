import { as, relOf, relText } from '../ast';
import { alterCommands } from './columns';
import type { Hit, Rule, StatementContext } from './rule';

/** VALIDATE CONSTRAINT in the same transaction that added it NOT VALID keeps the first lock for the scan. */
function validatedTooEarly(s: StatementContext, ruleKind: 'CONSTR_FOREIGN' | 'CONSTR_CHECK', revision: string): Hit[] {
  if (!s.inTransaction) return [];
  return alterCommands(s).flatMap(({ table, cmd }): Hit[] => {
    if (cmd.subtype !== 'AT_ValidateConstraint' || !cmd.name) return [];
    const addedIn = s.plan.notValidAddedIn(cmd.name);
    if (addedIn !== revision || s.plan.constraintKind(cmd.name) !== ruleKind) return [];
    return [
      {
        message: `VALIDATE CONSTRAINT ${cmd.name} on ${relText(table)} in the same transaction that added it NOT VALID`,
        table,
        effect: 'the lock ADD CONSTRAINT took is held until COMMIT, so the validating scan runs under it after all',
      },
    ];
  });
}

export const foreignKeyNotValid: Rule = {
  id: 'lock/foreign-key-not-valid',
  title: 'ADD FOREIGN KEY without NOT VALID',
  level: 'warning',
  sizeAware: true,
  lock: 'SHARE ROW EXCLUSIVE on the table and the referenced table while every row is checked: writes to both wait',
  effect: 'checks every row while writes to both tables wait',
  safe: '`ADD CONSTRAINT … FOREIGN KEY … NOT VALID` (brief lock, new rows are checked), then `VALIDATE CONSTRAINT` in a later migration (scans under SHARE UPDATE EXCLUSIVE: reads and writes go on)',
  why: 'Adding a foreign key checks every existing row against the referenced table while holding SHARE ROW EXCLUSIVE on both, so inserts, updates and deletes on either table wait for the whole scan. With NOT VALID the constraint applies to new rows at once and the scan moves to VALIDATE CONSTRAINT, which takes a weaker lock; run it in its own migration so the two locks are not held together.',
  example: {
    bad: 'ALTER TABLE events ADD CONSTRAINT events_agent_fk FOREIGN KEY (agent_id) REFERENCES agents (id);',
    good: 'ALTER TABLE events ADD CONSTRAINT events_agent_fk FOREIGN KEY (agent_id) REFERENCES agents (id) NOT VALID;',
  },
  check: (s) => [
    ...alterCommands(s).flatMap(({ table, cmd }): Hit[] => {
      const constraint = as(cmd.def, 'Constraint');
      if (cmd.subtype !== 'AT_AddConstraint' || constraint?.contype !== 'CONSTR_FOREIGN' || constraint.skip_validation) return [];
      const referenced = relOf(constraint.pktable);
      return [{ message: `ADD FOREIGN KEY ${constraint.conname ?? ''} on ${relText(table)}${referenced ? ` → ${relText(referenced)}` : ''} without NOT VALID`.replace('  ', ' '), table }];
    }),
    ...validatedTooEarly(s, 'CONSTR_FOREIGN', s.revision),
  ],
};

export const checkNotValid: Rule = {
  id: 'lock/check-not-valid',
  title: 'ADD CHECK without NOT VALID',
  level: 'warning',
  sizeAware: true,
  lock: 'ACCESS EXCLUSIVE on the table while every row is checked: every read and write waits',
  effect: 'checks every row under ACCESS EXCLUSIVE: reads and writes wait until it ends',
  safe: '`ADD CONSTRAINT … CHECK (…) NOT VALID`, then `VALIDATE CONSTRAINT` in a later migration (SHARE UPDATE EXCLUSIVE: reads and writes go on)',
  why: 'ALTER TABLE … ADD CHECK evaluates the expression for every existing row while holding ACCESS EXCLUSIVE. NOT VALID skips the existing rows (new and updated rows are checked at once) and VALIDATE CONSTRAINT later scans under a lock that blocks neither reads nor writes.',
  example: {
    bad: 'ALTER TABLE events ADD CONSTRAINT events_kind_ck CHECK (kind <> \'\');',
    good: 'ALTER TABLE events ADD CONSTRAINT events_kind_ck CHECK (kind <> \'\') NOT VALID;',
  },
  check: (s) => [
    ...alterCommands(s).flatMap(({ table, cmd }): Hit[] => {
      const constraint = as(cmd.def, 'Constraint');
      if (cmd.subtype !== 'AT_AddConstraint' || constraint?.contype !== 'CONSTR_CHECK' || constraint.skip_validation) return [];
      return [{ message: `ADD CHECK ${constraint.conname ?? ''} on ${relText(table)} without NOT VALID`.replace('  ', ' '), table }];
    }),
    ...validatedTooEarly(s, 'CONSTR_CHECK', s.revision),
  ],
};

export const uniqueNotUsingIndex: Rule = {
  id: 'lock/unique-not-using-index',
  title: 'ADD UNIQUE / PRIMARY KEY that builds its index under the lock',
  level: 'warning',
  sizeAware: true,
  lock: 'ACCESS EXCLUSIVE on the table while the unique index is built: every read and write waits',
  effect: 'builds a unique index under ACCESS EXCLUSIVE: reads and writes wait until it is built',
  safe: '`CREATE UNIQUE INDEX CONCURRENTLY` in a non-transactional migration, then `ADD CONSTRAINT … UNIQUE USING INDEX` (or `PRIMARY KEY USING INDEX`), which only takes a brief lock',
  why: 'ADD UNIQUE and ADD PRIMARY KEY build their index as part of ALTER TABLE, holding ACCESS EXCLUSIVE for the whole build. Building the index first with CREATE UNIQUE INDEX CONCURRENTLY lets writes continue; attaching it with USING INDEX is then a catalog change.',
  example: {
    bad: 'ALTER TABLE events ADD CONSTRAINT events_token_key UNIQUE (token);',
    good: 'ALTER TABLE events ADD CONSTRAINT events_token_key UNIQUE USING INDEX events_token_idx;',
  },
  check: (s) =>
    alterCommands(s).flatMap(({ table, cmd }): Hit[] => {
      const constraint = as(cmd.def, 'Constraint');
      if (cmd.subtype === 'AT_AddConstraint' && (constraint?.contype === 'CONSTR_UNIQUE' || constraint?.contype === 'CONSTR_PRIMARY') && !constraint.indexname) {
        return [{ message: `ADD ${constraint.contype === 'CONSTR_PRIMARY' ? 'PRIMARY KEY' : 'UNIQUE'} ${constraint.conname ?? ''} on ${relText(table)} without USING INDEX`.replace('  ', ' '), table }];
      }
      const column = as(cmd.def, 'ColumnDef');
      if (cmd.subtype === 'AT_AddColumn' && column) {
        const inline = (column.constraints ?? []).map((c) => as(c, 'Constraint')?.contype).find((t) => t === 'CONSTR_UNIQUE' || t === 'CONSTR_PRIMARY');
        if (inline) return [{ message: `ADD COLUMN ${column.colname ?? '?'} … ${inline === 'CONSTR_PRIMARY' ? 'PRIMARY KEY' : 'UNIQUE'} on ${relText(table)}: the index is built under the lock`, table }];
      }
      return [];
    }),
};
