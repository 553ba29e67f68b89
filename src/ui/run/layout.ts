/**
 * Splits the rows left for the run screen's flexible parts so the frame stays shorter than
 * the terminal: every part gets its minimum first (in priority order), then what it wants.
 */
export interface Demand {
  name: string;
  min: number;
  want: number;
}

export function allocateRows(total: number, demands: Demand[]): Record<string, number> {
  const out: Record<string, number> = {};
  let left = Math.max(0, total);
  for (const d of demands) {
    const give = Math.min(left, Math.min(d.min, d.want));
    out[d.name] = give;
    left -= give;
  }
  for (const d of demands) {
    const more = Math.min(left, Math.max(0, d.want - (out[d.name] ?? 0)));
    out[d.name] = (out[d.name] ?? 0) + more;
    left -= more;
  }
  return out;
}
