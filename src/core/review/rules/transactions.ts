import { as, hasOption } from '../ast';
import type { Hit, Rule, StatementContext } from './rule';

/** The CONCURRENTLY forms; each refuses to run inside a transaction block. */
function concurrentForm(s: StatementContext): string | undefined {
  const index = as(s.node, 'IndexStmt');
  if (index?.concurrent) return `CREATE INDEX CONCURRENTLY ${index.idxname ?? ''}`.trim();
  const drop = as(s.node, 'DropStmt');
  if (drop?.concurrent) return 'DROP INDEX CONCURRENTLY';
  const reindex = as(s.node, 'ReindexStmt');
  if (reindex && hasOption(reindex.params, 'concurrently')) return 'REINDEX CONCURRENTLY';
  const refresh = as(s.node, 'RefreshMatViewStmt');
  if (refresh?.concurrent) return 'REFRESH MATERIALIZED VIEW CONCURRENTLY';
  const alter = as(s.node, 'AlterTableStmt');
  for (const cmd of alter?.cmds ?? []) {
    const c = as(cmd, 'AlterTableCmd');
    if (c?.subtype === 'AT_DetachPartition' && as(c.def, 'PartitionCmd')?.concurrent) return 'DETACH PARTITION CONCURRENTLY';
  }
  return undefined;
}

export const concurrentlyInTransaction: Rule = {
  id: 'tx/concurrently-in-transaction',
  title: 'CONCURRENTLY inside a transactional migration (or a DO block)',
  level: 'error',
  lock: '',
  effect: 'PostgreSQL refuses it inside a transaction block: the migration fails here',
  safe: 'put the statement in its own migration marked `-- transactional: false` (not inside a DO block, which is always one transaction)',
  why: 'CREATE INDEX CONCURRENTLY, DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY, REFRESH MATERIALIZED VIEW CONCURRENTLY and DETACH PARTITION CONCURRENTLY commit internally between their phases, so PostgreSQL rejects them inside a transaction block ("cannot run inside a transaction block"). mutx-ops runs a migration in one transaction unless its file says `-- transactional: false`.',
  example: { bad: 'CREATE INDEX CONCURRENTLY events_created_idx ON events (created_at);', good: 'CREATE INDEX CONCURRENTLY events_created_idx ON events (created_at);', goodHeader: '-- transactional: false' },
  check: (s) => {
    if (!s.inTransaction) return [];
    const form = concurrentForm(s);
    return form ? [{ message: `${form} ${s.insideDo ? 'inside a DO block' : 'in a transactional migration'}` }] : [];
  },
};

export const cannotRunInTransaction: Rule = {
  id: 'tx/cannot-run-in-transaction',
  title: 'VACUUM, CREATE DATABASE, ALTER SYSTEM … inside a transactional migration',
  level: 'error',
  lock: '',
  effect: 'PostgreSQL refuses it inside a transaction block: the migration fails here',
  safe: 'move it out of the migration (maintenance, provisioning), or into a migration marked `-- transactional: false`',
  why: 'VACUUM, CREATE/DROP DATABASE, CREATE/DROP TABLESPACE, ALTER SYSTEM and REINDEX DATABASE/SYSTEM cannot run inside a transaction block. A transactional migration would fail on them after doing its earlier statements’ work for nothing.',
  example: { bad: 'VACUUM ANALYZE events;', good: 'ANALYZE events;' },
  check: (s) => {
    if (!s.inTransaction) return [];
    const vacuum = as(s.node, 'VacuumStmt');
    if (vacuum?.is_vacuumcmd) return [{ message: 'VACUUM in a transaction' }];
    const kinds: Record<string, string> = { CreatedbStmt: 'CREATE DATABASE', DropdbStmt: 'DROP DATABASE', AlterSystemStmt: 'ALTER SYSTEM', CreateTableSpaceStmt: 'CREATE TABLESPACE', DropTableSpaceStmt: 'DROP TABLESPACE' };
    for (const [kind, what] of Object.entries(kinds)) if (kind in s.node) return [{ message: `${what} in a transaction` }];
    const reindex = as(s.node, 'ReindexStmt');
    if (reindex && (reindex.kind === 'REINDEX_OBJECT_DATABASE' || reindex.kind === 'REINDEX_OBJECT_SYSTEM' || reindex.kind === 'REINDEX_OBJECT_SCHEMA')) {
      return [{ message: `REINDEX ${reindex.kind.replace('REINDEX_OBJECT_', '')} in a transaction` }];
    }
    return [];
  },
};

const ENDS_TRANSACTION = new Set(['TRANS_STMT_BEGIN', 'TRANS_STMT_START', 'TRANS_STMT_COMMIT', 'TRANS_STMT_ROLLBACK', 'TRANS_STMT_PREPARE', 'TRANS_STMT_COMMIT_PREPARED', 'TRANS_STMT_ROLLBACK_PREPARED']);

export const transactionControl: Rule = {
  id: 'tx/transaction-control',
  title: 'BEGIN / COMMIT / ROLLBACK inside a transactional migration',
  level: 'error',
  lock: '',
  effect: 'breaks the migration’s atomicity: part of it commits without its version-table row',
  safe: 'remove it: mutx-ops opens and commits the transaction itself (with the version-table and ledger rows); split work that must commit separately into its own migration, or mark the file `-- transactional: false`',
  why: 'mutx-ops runs each transactional migration, its version-table update and its ledger row in one transaction, so a failure anywhere leaves the database at the previous revision. A COMMIT inside the migration commits half of it with no record; a ROLLBACK throws away work mutx-ops then records as applied; a BEGIN is ignored with a warning and misleads the reader.',
  example: { bad: 'COMMIT;', good: 'SAVEPOINT before_backfill;' },
  check: (s) => {
    if (!s.transactionalRevision) return [];
    const tx = as(s.node, 'TransactionStmt');
    if (!tx?.kind || !ENDS_TRANSACTION.has(tx.kind)) return [];
    const word = tx.kind.replace('TRANS_STMT_', '').replace('_', ' ');
    return [{ message: `${word} inside a transactional migration` }];
  },
};

export const sessionSetting: Rule = {
  id: 'tx/session-setting',
  title: 'SET (session) inside a migration',
  level: 'warning',
  lock: '',
  effect: 'the setting outlives the migration: later migrations and mutx-ops’ own bookkeeping run with it',
  safe: '`SET LOCAL` (ends with the migration’s transaction); for lock_timeout/statement_timeout use `--lock-timeout`/`--timeout` or the settings file',
  why: 'mutx-ops runs a whole plan on one session. A plain SET (or SET SESSION, SET ROLE, RESET ALL) changes that session for everything after it — the next migrations, the version-table update, the lock_timeout mutx-ops sets per statement. SET LOCAL lasts until the transaction ends, which is what a migration means.',
  example: { bad: "SET search_path = app, public;", good: "SET LOCAL search_path = app, public;" },
  check: (s): Hit[] => {
    const set = as(s.node, 'VariableSetStmt');
    if (!set || set.is_local) return [];
    const name = (set.name ?? '').toLowerCase();
    if (name === 'transaction' || name.startsWith('transaction ')) return [];
    if (set.kind === 'VAR_RESET_ALL') return [{ message: 'RESET ALL changes the session, not just this migration' }];
    const what = name === 'session characteristics' ? 'SET SESSION CHARACTERISTICS' : name === 'role' ? 'SET ROLE' : name === 'session_authorization' ? 'SET SESSION AUTHORIZATION' : `${set.kind === 'VAR_RESET' ? 'RESET' : 'SET'} ${name}`;
    return [{ message: `${what} without LOCAL lasts for the whole session` }];
  },
};

export const enumAddValue: Rule = {
  id: 'tx/enum-add-value',
  title: 'ALTER TYPE … ADD VALUE inside a transaction (fails before PostgreSQL 12)',
  level: 'warning',
  lock: '',
  effect: 'fails on PostgreSQL before 12; on 12+ the new value cannot be used until the migration commits',
  safe: 'on PostgreSQL < 12: its own migration marked `-- transactional: false`; on 12+: do not use the new value in the same migration',
  why: 'Before PostgreSQL 12, ALTER TYPE … ADD VALUE cannot run inside a transaction block at all. From 12 on it can, but the new value is unusable until the transaction commits ("unsafe use of new value"), so a migration that adds a value and then writes it fails. When connected, mutx-ops knows the server version and says which case applies.',
  example: { bad: "ALTER TYPE agent_status ADD VALUE 'paused';", good: "ALTER TYPE agent_status ADD VALUE 'paused';", goodHeader: '-- transactional: false' },
  check: (s) => {
    const alter = as(s.node, 'AlterEnumStmt');
    if (!alter?.newVal || !s.inTransaction) return [];
    const version = s.catalog.serverVersionNum;
    if (version !== undefined && version >= 120000) {
      return [{ message: `ADD VALUE '${alter.newVal}' in a transaction: usable only after the migration commits (server ${Math.floor(version / 10000)})`, level: 'info' }];
    }
    if (version !== undefined) return [{ message: `ADD VALUE '${alter.newVal}' in a transaction on PostgreSQL ${Math.floor(version / 10000)}: refused before 12`, level: 'error' }];
    return [{ message: `ADD VALUE '${alter.newVal}' in a transaction: fails on PostgreSQL < 12 (server version unknown offline)` }];
  },
};

