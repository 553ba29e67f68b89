import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { MutxError } from '../../../errors';
import type { RevisionGraph } from '../../graph';

/** A new revision id: 12 lowercase hex characters, like Alembic's. */
export function newRevisionId(graph?: RevisionGraph): string {
  for (;;) {
    const id = crypto.randomBytes(6).toString('hex');
    if (!graph?.has(id)) return id;
  }
}

export function slugify(message: string): string {
  const slug = message
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 48)
    .replace(/_+$/g, '');
  return slug || 'revision';
}

function fileText(revision: string, revises: string[], message: string, body: { upgrade: string; downgrade: string; verify?: string }): string {
  const header = [
    `-- revision: ${revision}`,
    `-- revises: ${revises.join(', ')}`,
    `-- message: ${message.replace(/[\r\n]+/g, ' ').trim()}`,
    `-- created: ${new Date().toISOString()}`,
  ];
  const sections = ['', '-- +upgrade', body.upgrade, '', '-- +downgrade', body.downgrade];
  if (body.verify) sections.push('', '-- +verify', body.verify);
  return `${[...header, ...sections].join('\n')}\n`;
}

function writeNew(dir: string, revision: string, message: string, text: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${revision}_${slugify(message)}.sql`);
  fs.writeFileSync(file, text, { flag: 'wx' });
  return file;
}

function checkMessage(message: string): void {
  if (!message.trim()) throw new MutxError('usage', 'the message (-m) is empty', { hint: 'say what the revision changes, e.g. -m "add status to agents"' });
}

/** `revision -m MSG`: a new file revising the single head. */
export function createRevision(graph: RevisionGraph, dir: string, message: string): { revision: string; file: string; revises: string[] } {
  checkMessage(message);
  const heads = graph.heads();
  if (heads.length > 1) {
    throw new MutxError('revision', `there are ${heads.length} heads (${heads.join(', ')}), so a new revision would not know its parent`, {
      hint: 'run `mutx-ops merge -m "merge heads"` first',
    });
  }
  const revision = newRevisionId(graph);
  const text = fileText(revision, heads, message, {
    upgrade: '-- SQL that applies this change',
    downgrade: '-- SQL that reverts it exactly',
  });
  return { revision, file: writeNew(dir, revision, message, text), revises: heads };
}

/** `merge -m MSG [REV…]`: a revision over several heads (all heads when none are named). */
export function createMerge(graph: RevisionGraph, dir: string, message: string, revisions: string[]): { revision: string; file: string; revises: string[] } {
  checkMessage(message);
  const parents = revisions.length > 0 ? revisions.map((spec) => graph.resolve(spec)) : graph.heads();
  if (new Set(parents).size < 2) {
    throw new MutxError('revision', `merge needs at least two different revisions (got ${parents.join(', ') || 'none'})`, { hint: 'there is nothing to merge while there is one head' });
  }
  for (const parent of parents) {
    const others = parents.filter((p) => p !== parent);
    if (others.some((other) => graph.ancestorsOrSelf([other]).has(parent))) {
      throw new MutxError('revision', `merge: ${parent} is already an ancestor of another revision being merged`, { hint: 'merge heads of different branches' });
    }
  }
  const revision = newRevisionId(graph);
  const text = fileText(revision, parents, message, { upgrade: '-- merge point: no schema change', downgrade: '-- merge point: no schema change' });
  return { revision, file: writeNew(dir, revision, message, text), revises: parents };
}
