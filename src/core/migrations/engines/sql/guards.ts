import { quoteLiteral } from '../../../connection';
import { MutxError } from '../../../errors';
import { lockKeys } from '../../lock';
import type { PlanStep } from '../../plan';
import { versionTableSql, type VersionTableNames } from '../../versionTable';
import type { MigrationFile } from './file';
import type { SqlStatement } from './sqlSplit';

/**
 * What keeps a transactional migration atomic with its version row.
 *
 * Before anything runs, a statement that ends or replaces the transaction mutx-ops opens
 * (BEGIN, COMMIT, ROLLBACK, END, ABORT, PREPARE TRANSACTION…, SET SESSION AUTHORIZATION) is
 * refused with its file:line. At run time, the transaction carries a marker (a transaction-local
 * setting); just before the version table moves, one DO block checks that the marker is still
 * there (no procedure committed or rolled back on the way), that the version table still holds
 * the rows the plan started from (compare-and-set), and — before a commit — that this session
 * still holds the migration lock (a migration calling pg_advisory_unlock_all() is caught).
 */
export const TRANSACTION_MARKER = "SELECT set_config('mutx_ops.transaction', 'open', true)";

/** SQLSTATEs of the guard's own errors (user-defined class MX). */
export const GUARD_CODES = { transactionEnded: 'MX001', versionChanged: 'MX002', lockLost: 'MX003' } as const;

const TRANSACTION_CONTROL = /^(BEGIN|START\s+TRANSACTION|COMMIT|END|ABORT|ROLLBACK(?!\s+TO\b)|PREPARE\s+TRANSACTION|SET\s+SESSION\s+AUTHORIZATION|RESET\s+SESSION\s+AUTHORIZATION|SET\s+TRANSACTION\s+SNAPSHOT)\b/i;

/** The statement's first words, comments skipped. */
function leadingText(sql: string): string {
  return sql.replace(/^(\s+|--[^\n]*\n|\/\*[\s\S]*?\*\/)+/, '');
}

export function refuseTransactionControl(migration: MigrationFile, section: 'upgrade' | 'downgrade', statements: SqlStatement[]): void {
  const sectionLine = section === 'upgrade' ? migration.upgrade.line : migration.downgrade.line;
  for (const statement of statements) {
    const match = TRANSACTION_CONTROL.exec(leadingText(statement.sql));
    if (!match) continue;
    const line = sectionLine + statement.line - 1;
    throw new MutxError('migration-file', `${migration.file}:${line}: ${match[1]!.toUpperCase().replace(/\s+/g, ' ')} inside a transactional migration: it would end the transaction that keeps ${migration.revision} atomic with its version row`, {
      hint: 'remove it (mutx-ops opens and commits the transaction); for statements that cannot run in a transaction, mark the file -- transactional: false',
      details: { file: migration.file, line },
    });
  }
}

/** The DO block run just before a step's version-table change (see the module comment). */
export function guardSql(names: VersionTableNames, step: PlanStep<MigrationFile>, checks: { transaction: boolean; lock: boolean }): string {
  const table = versionTableSql(names);
  const expected = `ARRAY[${[...step.headsBefore].sort().map(quoteLiteral).join(', ')}]::text[]`;
  const [k1, k2] = lockKeys(names);
  const lines = ['DO $mutx_guard$ BEGIN'];
  if (checks.transaction) {
    lines.push(
      `  IF current_setting('mutx_ops.transaction', true) IS DISTINCT FROM 'open' THEN RAISE EXCEPTION USING ERRCODE = '${GUARD_CODES.transactionEnded}', MESSAGE = 'the transaction mutx-ops opened was ended inside the migration (a COMMIT or ROLLBACK, or a procedure that commits)'; END IF;`,
    );
  }
  lines.push(
    `  IF (SELECT coalesce(array_agg(version_num::text ORDER BY version_num::text), '{}') FROM ${table}) IS DISTINCT FROM ${expected} THEN RAISE EXCEPTION USING ERRCODE = '${GUARD_CODES.versionChanged}', MESSAGE = ${quoteLiteral(`the version table changed since this run was planned (expected ${step.headsBefore.join(', ') || 'base'})`)}; END IF;`,
  );
  if (checks.lock) {
    lines.push(
      `  IF NOT EXISTS (SELECT 1 FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory' AND classid = ${k1} AND objid = ${k2} AND objsubid = 2 AND granted) THEN RAISE EXCEPTION USING ERRCODE = '${GUARD_CODES.lockLost}', MESSAGE = 'this session no longer holds the migration lock (did the migration call pg_advisory_unlock_all()?)'; END IF;`,
    );
  }
  lines.push('END $mutx_guard$');
  return lines.join('\n');
}
