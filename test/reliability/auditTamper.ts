import crypto from 'node:crypto';
import { Rng } from './support';

/** One way to tamper with an audit file, and the line `audit verify` must name. */
export interface Tampering {
  text: string;
  expectedLine: number;
  description: string;
}

const KINDS = ['edit', 'edit-rehash', 'delete', 'swap', 'move', 'duplicate', 'truncate', 'blank-line'] as const;
export type TamperKind = (typeof KINDS)[number];
export const TAMPER_KINDS: readonly TamperKind[] = KINDS;

function rehash(record: Record<string, unknown>): Record<string, unknown> {
  const { hash: _hash, ...body } = record;
  const hash = crypto.createHash('sha256').update(String(record.prev)).update('\n').update(JSON.stringify(body)).digest('hex');
  return { ...body, hash };
}

/** Applies a seeded tampering of `kind` to the file's text. */
export function tamper(text: string, kind: TamperKind, rng: Rng): Tampering {
  const lines = text.replace(/\n$/, '').split('\n');
  const n = lines.length;
  const i = rng.int(0, n - 1);
  const out = [...lines];
  switch (kind) {
    case 'edit': {
      const record = JSON.parse(lines[i]!) as Record<string, unknown>;
      const field = rng.pick(['action', 'operator', 'ts', 'outcome', 'target', 'seq', 'prev', 'hash', 'error', 'host']);
      const value = record[field];
      record[field] = typeof value === 'number' ? value + 1 : field === 'hash' || field === 'prev' ? 'f'.repeat(64) : `${String(value ?? '')}-tampered`;
      out[i] = JSON.stringify(record);
      return { text: `${out.join('\n')}\n`, expectedLine: i + 1, description: `edit ${field} of record ${i + 1}/${n}` };
    }
    case 'edit-rehash': {
      // The forger recomputes the edited record's own hash: the next record (or the head marker) no longer chains.
      const record = JSON.parse(lines[i]!) as Record<string, unknown>;
      record.operator = 'mallory';
      out[i] = JSON.stringify(rehash(record));
      return { text: `${out.join('\n')}\n`, expectedLine: i + 1 < n ? i + 2 : i + 1, description: `edit and re-hash record ${i + 1}/${n}` };
    }
    case 'delete':
      out.splice(i, 1);
      return { text: out.length ? `${out.join('\n')}\n` : '', expectedLine: i + 1, description: `delete record ${i + 1}/${n}` };
    case 'swap': {
      const j = (i + rng.int(1, n - 1)) % n;
      [out[i], out[j]] = [out[j]!, out[i]!];
      return { text: `${out.join('\n')}\n`, expectedLine: Math.min(i, j) + 1, description: `swap records ${i + 1} and ${j + 1}/${n}` };
    }
    case 'move': {
      const [moved] = out.splice(i, 1);
      let j = rng.int(0, n - 2);
      if (j >= i) j++;
      out.splice(j, 0, moved!);
      return { text: `${out.join('\n')}\n`, expectedLine: Math.min(i, j) + 1, description: `move record ${i + 1} to position ${j + 1}/${n}` };
    }
    case 'duplicate':
      out.splice(i + 1, 0, lines[i]!);
      return { text: `${out.join('\n')}\n`, expectedLine: i + 2, description: `duplicate record ${i + 1}/${n}` };
    case 'truncate': {
      // Cut at a byte that removes part of a record (removing only the final newline is not tampering).
      const offset = rng.int(0, text.replace(/\n$/, '').length - 1);
      const kept = text.slice(0, offset);
      const complete = kept.split('\n').length - 1;
      return { text: kept, expectedLine: complete + 1, description: `truncate at byte ${offset} of ${text.length} (inside record ${complete + 1}/${n})` };
    }
    case 'blank-line':
      out.splice(i, 0, '');
      return { text: `${out.join('\n')}\n`, expectedLine: i + 1, description: `insert a blank line before record ${i + 1}/${n}` };
  }
}
