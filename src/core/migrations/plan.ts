import { MutxError } from '../errors';
import type { RevisionGraph } from './graph';
import type { Revision } from './revision';

export type Direction = 'upgrade' | 'downgrade';

export interface PlanStep<R extends Revision = Revision> {
  direction: Direction;
  migration: R;
  /** Version-table rows before and after this step (the applied heads). */
  headsBefore: string[];
  headsAfter: string[];
}

export interface Plan<R extends Revision = Revision> {
  direction: Direction;
  target: string;
  steps: PlanStep<R>[];
  headsBefore: string[];
  headsAfter: string[];
}

/**
 * The planner of the SQL-file engine. It resolves targets the way Alembic 1.8's RevisionMap does
 * (script/revision.py: _parse_upgrade_target, _parse_downgrade_target, _walk, _stamp_revs), so
 * `+N`, `-N`, `ID±N`, `head`, `heads` and `base` mean the same to both engines. Where Alembic is
 * itself odd, mutx-ops keeps a clearer answer (README, "Where mutx-ops differs from Alembic"):
 * unique prefixes of any length, `downgrade -N` refuses several heads and steps through a merge
 * point, `stamp heads` always leaves exactly the heads.
 */

/** The applied set implied by the version table's rows; unknown rows are a clear error. */
export function appliedSet(graph: RevisionGraph, versionRows: string[]): Set<string> {
  const unknown = versionRows.filter((id) => !graph.has(id));
  if (unknown.length > 0) {
    throw new MutxError('revision', `the database is at revision ${unknown.join(', ')}, which no migration file knows`, {
      hint: 'restore the missing file(s) (git), or check that mutx-ops reads the right migrations folder; `stamp --purge` only if you are sure the schema matches a known revision',
      details: { unknown },
    });
  }
  return graph.ancestorsOrSelf(versionRows);
}

const RELATIVE = /^([+-])(\d+)$/;
const ANCHORED = /^(.+?)([+-])(\d+)$/;

/** One step of Alembic's _walk: up through children, down through parents (a root steps to base). */
type WalkPoint = string | 'base';

function walk(graph: RevisionGraph, expression: string, start: WalkPoint, steps: number): WalkPoint {
  let at = start;
  for (let i = 0; i < Math.abs(steps); i++) {
    let next: WalkPoint[];
    if (steps > 0) next = at === 'base' ? graph.bases() : graph.children.get(at)!;
    else if (at === 'base') next = [];
    else next = graph.get(at).revises.length > 0 ? graph.get(at).revises : ['base'];
    if (next.length === 0) {
      throw new MutxError('revision', `${expression}: relative revision ${steps > 0 ? '+' : '-'}${Math.abs(steps)} didn't produce ${Math.abs(steps)} migrations (only ${i} step(s) from ${start})`, {
        hint: 'use a smaller number',
      });
    }
    if (next.length > 1) {
      throw new MutxError('revision', `${expression}: ambiguous walk at ${at}, a ${steps > 0 ? 'branch' : 'merge'} point (${next.join(', ')})`, {
        hint: 'name the revision you want instead of counting through it',
      });
    }
    at = next[0]!;
  }
  return at;
}

/** `ID`, a prefix, a branch label, `ID+N` or `ID-N`, as a revision (or base). */
function resolveAnchored(graph: RevisionGraph, expression: string): WalkPoint {
  const anchored = ANCHORED.exec(expression);
  if (!anchored || graph.has(expression)) return graph.resolve(expression);
  const start = anchored[1] === 'base' ? 'base' : graph.resolve(anchored[1]!);
  return walk(graph, expression, start, (anchored[2] === '+' ? 1 : -1) * Number(anchored[3]));
}

function steps<R extends Revision>(direction: Direction, graph: RevisionGraph<R>, applied: Set<string>, order: string[]): PlanStep<R>[] {
  const working = new Set(applied);
  return order.map((id) => {
    const headsBefore = graph.headsOf(working);
    if (direction === 'upgrade') working.add(id);
    else working.delete(id);
    return { direction, migration: graph.get(id), headsBefore, headsAfter: graph.headsOf(working) };
  });
}

function finish<R extends Revision>(graph: RevisionGraph<R>, direction: Direction, target: string, applied: Set<string>, order: string[]): Plan<R> {
  const planned = steps(direction, graph, applied, order);
  const headsBefore = graph.headsOf(applied);
  return { direction, target, steps: planned, headsBefore, headsAfter: planned.length ? planned[planned.length - 1]!.headsAfter : headsBefore };
}

function singleHead(graph: RevisionGraph, command: string): string[] {
  const heads = graph.heads();
  if (heads.length > 1) {
    throw new MutxError('revision', `${command} head: there are ${heads.length} heads (${heads.join(', ')})`, {
      hint: `${command} \`heads\`, name one revision, or \`mutx-ops merge -m "..."\` them`,
    });
  }
  return heads;
}

export function planUpgrade<R extends Revision>(graph: RevisionGraph<R>, versionRows: string[], target: string): Plan<R> {
  const applied = appliedSet(graph, versionRows);
  const current = graph.headsOf(applied);
  let targets: string[];
  const relative = RELATIVE.exec(target);
  if (target === 'base') {
    targets = [];
  } else if (target === 'head') {
    targets = singleHead(graph, 'upgrade');
  } else if (target === 'heads') {
    targets = graph.heads();
  } else if (relative) {
    if (relative[1] === '-') {
      throw new MutxError('usage', `upgrade ${target}: a negative step goes down`, { hint: `use \`mutx-ops downgrade ${target}\`` });
    }
    // Alembic walks up from the one current revision; from several it refuses.
    if (current.length > 1) {
      throw new MutxError('revision', `upgrade ${target}: ambiguous upgrade from several current revisions (${current.join(', ')})`, {
        hint: 'name the revision to upgrade to, or `upgrade heads`',
      });
    }
    const reached = walk(graph, `upgrade ${target}`, current[0] ?? 'base', Number(relative[2]));
    targets = reached === 'base' ? [] : [reached];
  } else {
    const reached = resolveAnchored(graph, target);
    targets = reached === 'base' ? [] : [reached];
  }
  // Everything the targets need (a merge brings its other parents along) that is not applied yet.
  const needed = graph.ancestorsOrSelf(targets);
  return finish(graph, 'upgrade', target, applied, graph.order.filter((id) => needed.has(id) && !applied.has(id)));
}

export function planDowngrade<R extends Revision>(graph: RevisionGraph<R>, versionRows: string[], target: string): Plan<R> {
  const applied = appliedSet(graph, versionRows);
  const current = graph.headsOf(applied);
  const relative = RELATIVE.exec(target);
  const newestFirst = [...graph.order].reverse();
  if (target === 'head' || target === 'heads') {
    throw new MutxError('usage', `downgrade ${target}: ${target} is above the current revision`, { hint: `use \`mutx-ops upgrade ${target}\`` });
  }
  if (target === 'base') return finish(graph, 'downgrade', target, applied, newestFirst.filter((id) => applied.has(id)));
  if (relative) {
    if (relative[1] === '+') {
      throw new MutxError('usage', `downgrade ${target}: a positive step goes up`, { hint: `use \`mutx-ops upgrade ${target}\`` });
    }
    const count = Number(relative[2]);
    if (count > applied.size) {
      throw new MutxError('revision', `downgrade ${target}: only ${applied.size} revision(s) are applied`, { hint: 'use `downgrade base`, or a smaller number' });
    }
    // Alembic would pick whichever version row comes first; mutx-ops names the ambiguity.
    const simulated = new Set(applied);
    const removed: string[] = [];
    for (let i = 0; i < count; i++) {
      const heads = graph.headsOf(simulated);
      if (heads.length > 1) {
        throw new MutxError('revision', `downgrade ${target}: the database has several heads (${heads.join(', ')}), so the step is ambiguous`, {
          hint: 'name the revision to go down to',
        });
      }
      simulated.delete(heads[0]!);
      removed.push(heads[0]!);
    }
    return finish(graph, 'downgrade', target, applied, removed);
  }
  const keep = resolveAnchored(graph, target);
  if (keep === 'base') return finish(graph, 'downgrade', target, applied, newestFirst.filter((id) => applied.has(id)));
  if (!applied.has(keep)) {
    throw new MutxError('revision', `downgrade ${target}: revision ${keep} is not applied`, {
      hint: `the database is at ${current.join(', ') || 'base'}; use \`mutx-ops upgrade ${keep}\` to go up`,
    });
  }
  // Like Alembic: remove what was built on top of the target; parallel branches stay.
  const above = graph.descendantsOrSelf([keep]);
  above.delete(keep);
  return finish(graph, 'downgrade', target, applied, newestFirst.filter((id) => above.has(id) && applied.has(id)));
}

/**
 * The version-table rows a stamp to `target` leaves, as Alembic's _stamp_revs does: current
 * rows on the target's lineage (its ancestors and descendants) are replaced by it, rows on other
 * branches stay.
 */
export function stampHeads(graph: RevisionGraph, target: string, versionRows: string[] = []): string[] {
  if (target === 'base') return [];
  if (target === 'heads') return graph.heads();
  if (RELATIVE.test(target)) {
    throw new MutxError('usage', `stamp ${target}: relative targets are not allowed for stamp`, { hint: 'name the revision' });
  }
  const reached = target === 'head' ? singleHead(graph, 'stamp')[0] : resolveAnchored(graph, target);
  if (reached === undefined || reached === 'base') return [];
  if (versionRows.includes(reached)) return [...versionRows];
  const lineage = new Set([...graph.ancestorsOrSelf([reached]), ...graph.descendantsOrSelf([reached])]);
  const kept = versionRows.filter((id) => !lineage.has(id));
  return graph.order.filter((id) => id === reached || kept.includes(id)).concat(kept.filter((id) => !graph.has(id)));
}
