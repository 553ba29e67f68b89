import { MutxError } from '../errors';
import type { Revision } from './revision';

/**
 * The revision graph (Alembic's model): each revision names its parents; a revision with no
 * parent is a base, one with no children is a head; several parents make a merge point and
 * several children a branch point. Built once, validated before anything runs.
 */
export class RevisionGraph<R extends Revision = Revision> {
  readonly byId: ReadonlyMap<string, R>;
  readonly children: ReadonlyMap<string, string[]>;
  /** Parents before children; ties broken by file name, so the order is stable. */
  readonly order: readonly string[];

  private constructor(byId: Map<string, R>, children: Map<string, string[]>, order: string[]) {
    this.byId = byId;
    this.children = children;
    this.order = order;
  }

  static build<R extends Revision>(files: R[]): RevisionGraph<R> {
    const byId = new Map<string, R>();
    for (const file of files) {
      const existing = byId.get(file.revision);
      if (existing) {
        throw new MutxError('graph', `${file.file}:${file.headerLines.revision}: duplicate revision ${file.revision} (also in ${existing.file}:${existing.headerLines.revision})`, {
          hint: 'give one of them a new id (and fix whatever revises it)',
        });
      }
      byId.set(file.revision, file);
    }
    const children = new Map<string, string[]>();
    for (const file of files) children.set(file.revision, []);
    for (const file of files) {
      for (const parent of file.revises) {
        if (!byId.has(parent)) {
          throw new MutxError('graph', `${file.file}:${file.headerLines.revises}: revision ${file.revision} revises unknown revision ${parent}`, {
            hint: 'fix the revises header or restore the missing file',
          });
        }
        children.get(parent)!.push(file.revision);
      }
    }
    // Branch labels name one revision each; depends_on names a revision id or a branch label.
    const labels = new Map<string, R>();
    for (const file of files) {
      for (const label of file.branchLabels) {
        const other = labels.get(label) ?? byId.get(label);
        if (other) {
          throw new MutxError('graph', `${file.file}:${file.headerLines.branch_labels ?? file.headerLines.revision}: branch label "${label}" of ${file.revision} is already used by ${other.revision}`, { hint: 'give the branch another label' });
        }
        labels.set(label, file);
      }
    }
    for (const file of files) {
      file.dependsOn = file.dependsOn.map((dependency) => {
        const resolved = byId.has(dependency) ? dependency : labels.get(dependency)?.revision;
        if (!resolved) {
          throw new MutxError('graph', `${file.file}:${file.headerLines.depends_on ?? file.headerLines.revision}: revision ${file.revision} depends on unknown revision ${dependency}`, { hint: 'fix depends_on or restore the missing file' });
        }
        return resolved;
      });
    }
    const order = topologicalOrder(files, children);
    return new RevisionGraph(byId, children, order);
  }

  get size(): number {
    return this.byId.size;
  }

  get(revision: string): R {
    const file = this.byId.get(revision);
    if (!file) throw new MutxError('revision', `unknown revision ${revision}`, { hint: 'see `mutx-ops history`' });
    return file;
  }

  has(revision: string): boolean {
    return this.byId.has(revision);
  }

  parents(revision: string): string[] {
    return this.get(revision).revises;
  }

  heads(): string[] {
    return this.order.filter((id) => this.children.get(id)!.length === 0);
  }

  bases(): string[] {
    return this.order.filter((id) => this.get(id).revises.length === 0);
  }

  /**
   * The revision and everything below it: its parents and (Alembic's depends_on) its
   * dependencies, which are applied before it and whose version rows it replaces.
   */
  ancestorsOrSelf(revisions: Iterable<string>): Set<string> {
    const seen = new Set<string>();
    const stack = [...revisions];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      const revision = this.get(id);
      stack.push(...revision.revises, ...revision.dependsOn);
    }
    return seen;
  }

  descendantsOrSelf(revisions: Iterable<string>): Set<string> {
    const seen = new Set<string>();
    const stack = [...revisions];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      stack.push(...(this.children.get(id) ?? []));
    }
    return seen;
  }

  /** The tips of an applied set: members that are not a parent of another member. */
  headsOf(applied: ReadonlySet<string>): string[] {
    const covered = new Set<string>();
    for (const id of applied) for (const parent of [...this.get(id).revises, ...this.get(id).dependsOn]) covered.add(parent);
    return this.order.filter((id) => applied.has(id) && !covered.has(id));
  }

  /**
   * Finds a revision by full id, branch label (`label`, `label@head`, `label@ID`) or unique
   * prefix. An ambiguous prefix is an error that lists the candidates, as is an unknown one.
   */
  resolve(idOrPrefix: string): string {
    // The empty string is a prefix of every id: never a way to name one.
    if (idOrPrefix.trim() === '') throw new MutxError('revision', 'empty revision', { hint: 'name a revision id or a unique prefix; see `mutx-ops history`' });
    if (this.byId.has(idOrPrefix)) return idOrPrefix;
    const at = idOrPrefix.lastIndexOf('@');
    if (at > 0) return this.resolveOnBranch(idOrPrefix.slice(0, at), idOrPrefix.slice(at + 1));
    const labelled = this.order.find((id) => this.get(id).branchLabels.includes(idOrPrefix));
    if (labelled) return labelled;
    const candidates = this.order.filter((id) => id.startsWith(idOrPrefix));
    if (candidates.length === 1) return candidates[0]!;
    if (candidates.length > 1) {
      throw new MutxError('revision', `revision prefix "${idOrPrefix}" is ambiguous: ${candidates.join(', ')}`, {
        hint: 'type more characters of the id',
      });
    }
    throw new MutxError('revision', `unknown revision "${idOrPrefix}"`, { hint: 'see `mutx-ops history` for the revisions that exist' });
  }

  /** The revision carrying branch label `label` (or the revision `label` itself, as Alembic allows). */
  branchRoot(label: string): string {
    const labelled = this.order.find((id) => this.get(id).branchLabels.includes(label));
    if (labelled) return labelled;
    if (this.byId.has(label)) return label;
    throw new MutxError('revision', `unknown branch label "${label}"`, { hint: 'see the branch labels in `mutx-ops history -v`' });
  }

  private resolveOnBranch(label: string, symbol: string): string {
    const root = this.branchRoot(label);
    const branch = new Set([...this.ancestorsOrSelf([root]), ...this.descendantsOrSelf([root])]);
    if (symbol === 'head' || symbol === 'heads') {
      const heads = this.heads().filter((id) => branch.has(id));
      if (heads.length === 1 || (symbol === 'heads' && heads.length > 0)) return heads[0]!;
      throw new MutxError('revision', `${label}@head: the branch has ${heads.length} heads (${heads.join(', ') || 'none'})`, { hint: 'name the revision' });
    }
    const id = this.resolve(symbol);
    if (!branch.has(id)) throw new MutxError('revision', `revision ${id} is not on branch ${label}`, { hint: 'see `mutx-ops history`' });
    return id;
  }
}

function topologicalOrder(files: Revision[], children: Map<string, string[]>): string[] {
  const byId = new Map(files.map((file) => [file.revision, file]));
  const rank = new Map(files.map((file, index) => [file.revision, index]));
  const pending = new Map(files.map((file) => [file.revision, file.revises.length]));
  const ready = files.filter((file) => file.revises.length === 0).map((file) => file.revision);
  const order: string[] = [];
  while (ready.length > 0) {
    ready.sort((a, b) => rank.get(a)! - rank.get(b)!);
    const id = ready.shift()!;
    order.push(id);
    for (const child of children.get(id)!) {
      const left = pending.get(child)! - 1;
      pending.set(child, left);
      if (left === 0) ready.push(child);
    }
  }
  if (order.length !== files.length) {
    const placed = new Set(order);
    const cycle = findCycle(byId, placed);
    const first = byId.get(cycle[0]!)!;
    throw new MutxError('graph', `${first.file}:${first.headerLines.revises}: revisions form a cycle: ${cycle.join(' -> ')}`, {
      hint: 'a revision must not revise one of its own descendants; fix the revises headers',
    });
  }
  return order;
}

function findCycle(byId: Map<string, Revision>, placed: Set<string>): string[] {
  // Every unplaced revision lies on or above a cycle; walk parents until one repeats.
  const start = [...byId.keys()].find((id) => !placed.has(id))!;
  const path: string[] = [];
  const index = new Map<string, number>();
  let id = start;
  while (!index.has(id)) {
    index.set(id, path.length);
    path.push(id);
    id = byId.get(id)!.revises.find((parent) => !placed.has(parent))!;
  }
  return [...path.slice(index.get(id)!), id];
}
