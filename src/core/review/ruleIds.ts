/**
 * Every rule id the review knows, as plain data: the settings schema (mutx-ops.yaml) and the
 * waiver parser check names against this list without loading the rules or the parser.
 * Keep it in step with rules/index.ts (a test checks both ways).
 */
export const RULE_IDS = [
  'sql/syntax-error',
  'lock/index-not-concurrent',
  'lock/drop-index-not-concurrent',
  'lock/reindex-not-concurrent',
  'lock/add-column-volatile-default',
  'lock/alter-column-type',
  'lock/set-not-null',
  'lock/foreign-key-not-valid',
  'lock/check-not-valid',
  'lock/unique-not-using-index',
  'lock/vacuum-full',
  'lock/cluster',
  'tx/concurrently-in-transaction',
  'tx/cannot-run-in-transaction',
  'tx/transaction-control',
  'tx/session-setting',
  'tx/enum-add-value',
  'data/truncate-cascade',
  'data/update-without-where',
  'data/delete-without-where',
  'compat/rename',
  'compat/drop-column',
  'compat/drop-table',
  'data/downgrade-drops-table',
  'data/downgrade-drops-column',
  'data/downgrade-narrows-type',
  'waiver/missing-reason',
] as const;

export type RuleId = (typeof RULE_IDS)[number];

export const LEVELS = ['info', 'warning', 'error'] as const;
export type Level = (typeof LEVELS)[number];

const KNOWN = new Set<string>(RULE_IDS);
export function isRuleId(id: string): id is RuleId {
  return KNOWN.has(id);
}
