import type { PlanStep } from './events';

/** The plan as text lines (headless output, the audit trail). */
export function planLines(steps: PlanStep[], offset = 0): string[] {
  const lines: string[] = [];
  steps.forEach((step, i) => {
    const mark = step.status === 'done' ? ' (done)' : step.status === 'skipped' ? ' (skipped)' : step.destructive ? ' [destructive]' : step.changes ? ' [changes]' : '';
    lines.push(`${offset + i + 1}. ${step.title}${mark}`);
    for (const line of step.lines) lines.push(`   ${line}`);
  });
  return lines;
}
