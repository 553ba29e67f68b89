/**
 * Draws the revision graph newest first, like `git log --graph`: one lane per line of
 * descent, `╮` where a merge revision's second parent opens a lane, `╯` where branches meet
 * again at their common parent (a branch point).
 */
export interface GraphNode {
  id: string;
  parents: string[];
  applied: boolean;
}

export interface GraphRow {
  graph: string;
  /** Set on a revision's row; connector rows have none. */
  id?: string;
}

export function graphRows(nodesParentsFirst: readonly GraphNode[]): GraphRow[] {
  const rows: GraphRow[] = [];
  const lanes: (string | null)[] = [];
  const display = [...nodesParentsFirst].reverse();
  for (const node of display) {
    let idx = lanes.indexOf(node.id);
    if (idx < 0) {
      idx = lanes.indexOf(null);
      if (idx < 0) idx = lanes.push(null) - 1;
      lanes[idx] = node.id;
    }
    const joining = lanes.map((lane, k) => k !== idx && lane === node.id);
    const lastJoin = joining.lastIndexOf(true);
    rows.push({ graph: drawRow(lanes, (k) => (k === idx ? (node.applied ? '●' : '○') : joining[k] ? '╯' : lanes[k] ? '│' : ' '), idx, lastJoin), id: node.id });
    joining.forEach((join, k) => {
      if (join) lanes[k] = null;
    });
    const [first, ...others] = node.parents;
    lanes[idx] = first ?? null;
    if (others.length > 0) {
      const opened: number[] = [];
      for (const parent of others) {
        let lane = lanes.indexOf(parent);
        if (lane < 0) {
          lane = lanes.findIndex((l, k) => l === null && k > idx);
          if (lane < 0) lane = lanes.push(null) - 1;
          lanes[lane] = parent;
        }
        opened.push(lane);
      }
      const right = Math.max(...opened);
      rows.push({ graph: drawRow(lanes, (k) => (k === idx ? '├' : opened.includes(k) ? (k > idx ? '╮' : '╭') : lanes[k] ? '│' : ' '), Math.min(idx, ...opened), right) });
    }
    while (lanes.length > 0 && lanes[lanes.length - 1] === null) lanes.pop();
  }
  return rows;
}

function drawRow(lanes: readonly (string | null)[], glyph: (lane: number) => string, from: number, to: number): string {
  let out = '';
  const width = Math.max(lanes.length, to + 1);
  for (let k = 0; k < width; k++) {
    out += glyph(k);
    if (k < width - 1) out += k >= from && k < to ? '─' : ' ';
  }
  return out.trimEnd();
}
