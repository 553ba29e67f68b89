import { MutxError } from '../../core/errors';
import { loadGraph } from '../../core/migrations/operations';
import type { TargetOption } from '../events';
import { currentRows, info, type StepContext } from './context';

/**
 * A relative rollback (`-1`) from several heads — what a rollback to one parent of a merge leaves
 * (Alembic's semantics: both branch heads) — is ambiguous. Instead of refusing, the run offers
 * the choices that one downgrade can reach, in its plan and as a question (headless: --target REV):
 * - roll back one named head only, when its parent is not also below the other head(s)
 *   (downgrade to that parent: the other branches stay);
 * - downgrade to the branches' common base (undoes every branch head);
 * and says what no downgrade can do (a head whose parent is the other branch's base too) and that
 * going forward to the merge again is `mutx-ops upgrade MERGE`.
 */
const RELATIVE = /^-\d+$/;

export interface SeveralHeads {
  rows: string[];
  options: TargetOption[];
  lines: string[];
}

export function severalHeadsChoices(c: StepContext, rows: string[]): SeveralHeads {
  const graph = loadGraph(c.ctx.settings);
  const known = rows.filter((id) => graph.has(id));
  const options: TargetOption[] = [];
  const notes: string[] = [];
  for (const head of known) {
    const others = known.filter((id) => id !== head);
    const parents = graph.get(head).revises;
    const belowOthers = graph.ancestorsOrSelf(others);
    const parent = parents.length === 1 ? parents[0]! : undefined;
    if (parent && !belowOthers.has(parent)) {
      options.push({ kind: 'revision', value: parent, revision: parent, label: `roll back only ${head} (to ${parent}; ${others.join(', ')} stay${others.length === 1 ? 's' : ''}): downgrade ${parent}` });
    } else if (parents.length === 0) {
      notes.push(`${head} alone cannot be rolled back by one downgrade: it is a base revision`);
    } else {
      notes.push(`${head} alone cannot be rolled back by one downgrade: its parent ${parents.join(', ')} is also below ${others.join(', ')} (a downgrade to it undoes both)`);
    }
  }
  // The newest revision below every head: downgrading to it undoes all the branch heads.
  const common = known.map((id) => graph.ancestorsOrSelf([id]));
  const shared = graph.order.filter((id) => common.every((set) => set.has(id)) && !known.includes(id));
  const base = shared.at(-1) ?? 'base';
  if (!options.some((o) => o.value === base)) {
    options.push({ kind: 'revision', value: base, revision: base, label: `downgrade to ${base}, the base of ${known.join(' and ')} (undoes every branch head): downgrade ${base}` });
  }
  const merges = graph.order.filter((id) => {
    const revises = graph.get(id).revises;
    return revises.length > 1 && known.every((head) => revises.includes(head)) && revises.length === known.length;
  });
  const lines = [
    `the database is at ${rows.length} heads (${rows.join(', ')}) — e.g. after a rollback to one parent of a merge — so "-1" is ambiguous; the run asks which rollback (headless: --target REV):`,
    ...options.map((o) => `  • ${o.label.replace(/: downgrade (\S+)$/, ' — `mutx-ops downgrade $1`')}`),
    ...notes.map((n) => `  (${n})`),
    ...merges.map((m) => `  or forward to the merge again: \`mutx-ops upgrade ${m}\` (not a rollback: not offered here)`),
  ];
  return { rows, options, lines };
}

export function isRelative(target: string): boolean {
  return RELATIVE.test(target);
}

/**
 * At several heads, the rollback target of a relative step: chosen once per run (the first step
 * that needs it asks; --target REV answers headless) and kept for the later steps.
 */
export async function resolveSeveralHeads(c: StepContext, stepTarget: string): Promise<string | undefined> {
  if (!isRelative(stepTarget)) return undefined;
  const vars = c.state.vars;
  if (vars.severalHeadsTarget) return vars.severalHeadsTarget;
  const rows = await currentRows(c);
  if (rows.length <= 1) return undefined;
  const choices = severalHeadsChoices(c, rows);
  let value = vars.selectedRevision && choices.options.some((o) => o.value === vars.selectedRevision) ? vars.selectedRevision : undefined;
  if (!value) {
    const response = await c.ask({ kind: 'select-target', options: choices.options, prompt: `the database is at ${rows.length} heads (${rows.join(', ')}): which rollback?` });
    value = response.kind === 'select-target' ? response.value : undefined;
  }
  const chosen = choices.options.find((o) => o.value === value);
  if (!chosen) throw new MutxError('runbook', `the database is at several heads (${rows.join(', ')}): choose one of ${choices.options.map((o) => o.value).join(', ')}`, { hint: 'headless: --target REV' });
  vars.severalHeadsTarget = chosen.value;
  c.save();
  info(c, `chosen: ${chosen.label}`);
  return chosen.value;
}
