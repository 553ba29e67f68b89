import type { Rule } from './rules/rule';

/** docs/rules/<id>.md (the id's `/` becomes `-`): one rule, one page, written from the rule itself. */
export function ruleDocFile(rule: Rule): string {
  return `${rule.id.replace('/', '-')}.md`;
}

export function ruleDoc(rule: Rule): string {
  const lines = [
    `# \`${rule.id}\`: ${rule.title}`,
    '',
    `Level: **${rule.level}**${rule.sizeAware ? ' (size-aware: one step lower on a small table, one step higher on a large one; no finding on a table the plan creates)' : rule.newTableSafe ? ' (no finding on a table the plan creates)' : ''}.${rule.directions ? ` Reviewed in: ${rule.directions.join(', ')}.` : ''}`,
    '',
    '## What it detects',
    '',
    `${rule.title}. ${rule.effect[0]!.toUpperCase()}${rule.effect.slice(1)}.`,
    '',
  ];
  if (rule.lock) lines.push('## Lock', '', `${rule.lock}.`, '');
  lines.push('## Safe alternative', '', `${rule.safe}.`, '', '## Why', '', rule.why, '', '## Example', '', 'Found:', '', '```sql', rule.example.bad, '```', '', 'Not found:', '', '```sql', ...(rule.example.goodHeader ? [rule.example.goodHeader] : []), rule.example.good, '```', '');
  lines.push(`Waive it for one statement with a reason: \`-- mutx-ops: allow ${rule.id} -- why it is safe here\`; switch it off or re-level it in \`mutx-ops.yaml\` under \`review: rules:\`.`, '');
  return lines.join('\n');
}

/** The README's table: id (linked to its page), what, lock, safe form. */
export function ruleTable(rules: Rule[]): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  return ['| Rule | What it finds | Lock | Safe form |', '|---|---|---|---|', ...rules.map((rule) => `| [\`${rule.id}\`](docs/rules/${ruleDocFile(rule)}) (${rule.level}) | ${cell(rule.title)} | ${cell(rule.lock || '—')} | ${cell(rule.safe)} |`)].join('\n');
}
