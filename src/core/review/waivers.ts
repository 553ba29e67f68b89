import { MutxError } from '../errors';
import { isRuleId, RULE_IDS, type RuleId } from './ruleIds';
import type { Waiver } from './types';

/**
 * Waivers are comments: `-- mutx-ops: allow RULE[, RULE…] -- reason` in SQL, `# mutx-ops: allow …`
 * in a Python (Alembic) revision. A waiver naming a rule the review does not know — or any other
 * `mutx-ops:` directive — is bad input (exit 2): a typo must not silently waive nothing.
 */
export interface CommentLine {
  /** The comment's text, including its `--`, `/*` or `#`. */
  text: string;
  line: number;
}

const DIRECTIVE = /^(?:--|\/\*|#)\s*mutx-ops\s*:\s*(.*?)\s*(?:\*\/)?\s*$/is;

export function parseWaiver(comment: CommentLine, file: string, scope: Waiver['scope']): Waiver | undefined {
  const directive = DIRECTIVE.exec(comment.text.trim());
  if (!directive) return undefined;
  const body = directive[1]!;
  const allow = /^allow\b\s*(.*)$/is.exec(body);
  if (!allow) {
    throw new MutxError('config', `${file}:${comment.line}: unknown mutx-ops directive "${body.split(/\s/)[0]!.slice(0, 30)}"`, {
      hint: 'a waiver reads: mutx-ops: allow RULE -- reason',
      details: { file, line: comment.line },
    });
  }
  const rest = allow[1]!;
  const split = rest.indexOf('--');
  const names = (split === -1 ? rest : rest.slice(0, split)).split(/[\s,]+/).filter(Boolean);
  const reason = split === -1 ? undefined : rest.slice(split + 2).trim() || undefined;
  if (names.length === 0) {
    throw new MutxError('config', `${file}:${comment.line}: waiver names no rule`, { hint: 'write mutx-ops: allow RULE -- reason (`mutx-ops review --rules` lists them)', details: { file, line: comment.line } });
  }
  const rules: RuleId[] = [];
  for (const name of names) {
    if (!isRuleId(name)) {
      throw new MutxError('config', `${file}:${comment.line}: waiver names unknown rule "${name.slice(0, 60)}"`, {
        hint: `known rules: ${RULE_IDS.join(', ')}`,
        details: { file, line: comment.line, rule: name },
      });
    }
    rules.push(name);
  }
  return { rules, reason, line: comment.line, scope };
}

export function waiverCovers(waiver: Waiver, rule: RuleId, line: number): boolean {
  if (!waiver.rules.includes(rule)) return false;
  return waiver.scope === 'file' || (line >= waiver.scope.from && line <= waiver.scope.to);
}
