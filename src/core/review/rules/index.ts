import type { RuleId } from '../ruleIds';
import { alterColumnType, addColumnVolatileDefault, setNotNull } from './columns';
import { dropColumn, dropTable, rename } from './compat';
import { checkNotValid, foreignKeyNotValid, uniqueNotUsingIndex } from './constraints';
import { deleteWithoutWhere, truncateCascade, updateWithoutWhere } from './data';
import { downgradeDropsColumn, downgradeDropsTable, downgradeNarrowsType } from './downgrade';
import { dropIndexNotConcurrent, indexNotConcurrent, reindexNotConcurrent } from './indexes';
import { cluster, vacuumFull } from './maintenance';
import { syntaxError, waiverMissingReason } from './meta';
import type { Rule } from './rule';
import { cannotRunInTransaction, concurrentlyInTransaction, enumAddValue, sessionSetting, transactionControl } from './transactions';

/** Every rule, in the order findings are reported for one statement. */
export const RULES: Rule[] = [
  syntaxError,
  indexNotConcurrent,
  dropIndexNotConcurrent,
  reindexNotConcurrent,
  addColumnVolatileDefault,
  alterColumnType,
  setNotNull,
  foreignKeyNotValid,
  checkNotValid,
  uniqueNotUsingIndex,
  vacuumFull,
  cluster,
  concurrentlyInTransaction,
  cannotRunInTransaction,
  transactionControl,
  sessionSetting,
  enumAddValue,
  truncateCascade,
  updateWithoutWhere,
  deleteWithoutWhere,
  rename,
  dropColumn,
  dropTable,
  downgradeDropsTable,
  downgradeDropsColumn,
  downgradeNarrowsType,
  waiverMissingReason,
];

const BY_ID = new Map<string, Rule>(RULES.map((rule) => [rule.id, rule]));

export function ruleById(id: RuleId): Rule {
  return BY_ID.get(id)!;
}

export type { Rule };
