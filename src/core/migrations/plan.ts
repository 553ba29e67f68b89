import { MutxError } from '../errors';
import type { MigrationFile } from './file';
import type { RevisionGraph } from './graph';

export type Direction = 'upgrade' | 'downgrade';

export interface PlanStep {
  direction: Direction;
  migration: MigrationFile;
  /** Version-table rows before and after this step (the applied heads). */
  headsBefore: string[];
  headsAfter: string[];
}

export interface Plan {
  direction: Direction;
  target: string;
  steps: PlanStep[];
  headsBefore: string[];
  headsAfter: string[];
}

/** The applied set implied by the version table's rows; unknown rows are a clear error. */
export function appliedSet(graph: RevisionGraph, versionRows: string[]): Set<string> {
  const unknown = versionRows.filter((id) => !graph.has(id));
  if (unknown.length > 0) {
    throw new MutxError('revision', `the database is at revision ${unknown.join(', ')}, which no migration file knows`, {
      hint: 'restore the missing file(s), or if the schema matches a known revision run `mutx-ops stamp <revision> --purge`',
      details: { unknown },
    });
  }
  return graph.ancestorsOrSelf(versionRows);
}

const RELATIVE = /^([+-])(\d+)$/;
const ANCHORED = /^([A-Za-z0-9_]+)([+-])(\d+)$/;

/** Resolves `ID`, a prefix, `ID+N` or `ID-N` to one revision. */
function resolveRevisionExpression(graph: RevisionGraph, expression: string): string {
  const anchored = ANCHORED.exec(expression);
  if (!anchored) return graph.resolve(expression);
  let id = graph.resolve(anchored[1]!);
  const steps = Number(anchored[3]);
  for (let i = 0; i < steps; i++) {
    const next = anchored[2] === '+' ? graph.children.get(id)! : graph.get(id).revises;
    if (next.length === 0) {
      throw new MutxError('revision', `${expression}: ${id} has no ${anchored[2] === '+' ? 'child' : 'parent'} (only ${i} step(s) possible)`, {
        hint: 'use a smaller number',
      });
    }
    if (next.length > 1) {
      throw new MutxError('revision', `${expression}: ${id} is a ${anchored[2] === '+' ? 'branch' : 'merge'} point (${next.join(', ')})`, {
        hint: 'name the revision you want instead of counting through it',
      });
    }
    id = next[0]!;
  }
  return id;
}

function step(direction: Direction, graph: RevisionGraph, applied: Set<string>, migration: MigrationFile): PlanStep {
  const headsBefore = graph.headsOf(applied);
  if (direction === 'upgrade') applied.add(migration.revision);
  else applied.delete(migration.revision);
  return { direction, migration, headsBefore, headsAfter: graph.headsOf(applied) };
}

export function planUpgrade(graph: RevisionGraph, versionRows: string[], target: string): Plan {
  const applied = appliedSet(graph, versionRows);
  const headsBefore = graph.headsOf(applied);
  let toApply: string[];
  const relative = RELATIVE.exec(target);
  if (target === 'base') {
    toApply = [];
  } else if (relative) {
    if (relative[1] === '-') {
      throw new MutxError('usage', `upgrade ${target}: a negative step goes down`, { hint: `use \`mutx-ops downgrade ${target}\`` });
    }
    toApply = [];
    const simulated = new Set(applied);
    for (let i = 0; i < Number(relative[2]); i++) {
      const candidates = graph.order.filter((id) => !simulated.has(id) && graph.get(id).revises.every((parent) => simulated.has(parent)));
      if (candidates.length === 0) {
        throw new MutxError('revision', `upgrade ${target}: only ${i} revision(s) are pending`, { hint: 'use `upgrade head`, or a smaller number' });
      }
      if (candidates.length > 1) {
        throw new MutxError('revision', `upgrade ${target}: the next revision is ambiguous (${candidates.join(', ')})`, {
          hint: 'name the revision to upgrade to, or `upgrade heads`',
        });
      }
      simulated.add(candidates[0]!);
      toApply.push(candidates[0]!);
    }
  } else {
    let targets: string[];
    if (target === 'head') {
      const heads = graph.heads();
      if (heads.length > 1) {
        throw new MutxError('revision', `upgrade head: there are ${heads.length} heads (${heads.join(', ')})`, {
          hint: 'upgrade `heads`, name one revision, or `mutx-ops merge -m "..."` them',
        });
      }
      targets = heads;
    } else if (target === 'heads') {
      targets = graph.heads();
    } else {
      targets = [resolveRevisionExpression(graph, target)];
    }
    const needed = graph.ancestorsOrSelf(targets);
    toApply = graph.order.filter((id) => needed.has(id) && !applied.has(id));
  }
  const working = new Set(applied);
  const steps = toApply.map((id) => step('upgrade', graph, working, graph.get(id)));
  return { direction: 'upgrade', target, steps, headsBefore, headsAfter: graph.headsOf(working) };
}

export function planDowngrade(graph: RevisionGraph, versionRows: string[], target: string): Plan {
  const applied = appliedSet(graph, versionRows);
  const headsBefore = graph.headsOf(applied);
  let toRemove: string[];
  const relative = RELATIVE.exec(target);
  if (target === 'head' || target === 'heads') {
    throw new MutxError('usage', `downgrade ${target}: ${target} is above the current revision`, { hint: `use \`mutx-ops upgrade ${target}\`` });
  }
  if (target === 'base') {
    toRemove = [...graph.order].reverse().filter((id) => applied.has(id));
  } else if (relative) {
    if (relative[1] === '+') {
      throw new MutxError('usage', `downgrade ${target}: a positive step goes up`, { hint: `use \`mutx-ops upgrade ${target}\`` });
    }
    toRemove = [];
    const simulated = new Set(applied);
    // More steps than applied revisions is the clearer message, whatever the branches on the way.
    if (Number(relative[2]) > applied.size) {
      throw new MutxError('revision', `downgrade ${target}: only ${applied.size} revision(s) are applied`, { hint: 'use `downgrade base`, or a smaller number' });
    }
    for (let i = 0; i < Number(relative[2]); i++) {
      const heads = graph.headsOf(simulated);
      if (heads.length === 0) {
        throw new MutxError('revision', `downgrade ${target}: only ${i} revision(s) are applied`, { hint: 'use `downgrade base`, or a smaller number' });
      }
      if (heads.length > 1) {
        throw new MutxError('revision', `downgrade ${target}: the database has several heads (${heads.join(', ')}), so the step is ambiguous`, {
          hint: 'name the revision to go down to',
        });
      }
      simulated.delete(heads[0]!);
      toRemove.push(heads[0]!);
    }
  } else {
    const keep = resolveRevisionExpression(graph, target);
    if (!applied.has(keep)) {
      throw new MutxError('revision', `downgrade ${target}: revision ${keep} is not applied`, {
        hint: `the database is at ${headsBefore.join(', ') || 'base'}; use \`mutx-ops upgrade ${keep}\` to go up`,
      });
    }
    // Like Alembic: remove what was built on top of the target; parallel branches stay.
    const above = graph.descendantsOrSelf([keep]);
    above.delete(keep);
    toRemove = [...graph.order].reverse().filter((id) => above.has(id) && applied.has(id));
  }
  const working = new Set(applied);
  const steps = toRemove.map((id) => step('downgrade', graph, working, graph.get(id)));
  return { direction: 'downgrade', target, steps, headsBefore, headsAfter: graph.headsOf(working) };
}

/** The version-table rows a stamp to `target` leaves. */
export function stampHeads(graph: RevisionGraph, target: string): string[] {
  if (target === 'base') return [];
  if (target === 'heads') return graph.heads();
  if (target === 'head') {
    const heads = graph.heads();
    if (heads.length > 1) {
      throw new MutxError('revision', `stamp head: there are ${heads.length} heads (${heads.join(', ')})`, { hint: 'stamp `heads` or one revision' });
    }
    return heads;
  }
  if (RELATIVE.test(target)) {
    throw new MutxError('usage', `stamp ${target}: relative targets are not allowed for stamp`, { hint: 'name the revision' });
  }
  return [resolveRevisionExpression(graph, target)];
}
