import { describe, expect, it } from 'vitest';
import { graphRows } from './graph';

describe('graphRows', () => {
  it('draws a straight line for a linear history, newest first', () => {
    const rows = graphRows([
      { id: 'a', parents: [], applied: true },
      { id: 'b', parents: ['a'], applied: true },
      { id: 'c', parents: ['b'], applied: false },
    ]);
    expect(rows).toEqual([
      { graph: '○', id: 'c' },
      { graph: '●', id: 'b' },
      { graph: '●', id: 'a' },
    ]);
  });

  it('shows a branch point and a merge', () => {
    // a ← b ← d(merge of b,c) ; a ← c
    const rows = graphRows([
      { id: 'a', parents: [], applied: true },
      { id: 'b', parents: ['a'], applied: true },
      { id: 'c', parents: ['a'], applied: true },
      { id: 'd', parents: ['b', 'c'], applied: false },
    ]);
    expect(rows.map((r) => `${r.graph.padEnd(3)} ${r.id ?? ''}`.trimEnd())).toEqual(['○   d', '├─╮', '│ ● c', '● │ b', '●─╯ a']);
  });

  it('keeps two heads in two lanes', () => {
    const rows = graphRows([
      { id: 'a', parents: [], applied: true },
      { id: 'b', parents: ['a'], applied: false },
      { id: 'c', parents: ['a'], applied: false },
    ]);
    expect(rows.map((r) => `${r.graph.padEnd(3)} ${r.id}`)).toEqual(['○   c', '│ ○ b', '●─╯ a']);
  });
});
