import type { LineMatcher } from './filter';

const NL = 0x0a;
const CR = 0x0d;
/** Bytes of an overlong line kept before each further piece when matching it piecewise. */
const OVERLAP = 1024;
const SLICE = 64 * 1024;

export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

/** Running totals; several scanners (stdout and stderr of one command) may share one. */
export interface ScanCounters {
  lines: number;
  matched: number;
  truncated: number;
}

export function newCounters(): ScanCounters {
  return { lines: 0, matched: 0, truncated: 0 };
}

export type LineSink = (text: string, matched: boolean, lineNumber: number, truncated: boolean) => void;

export interface LineScannerOptions {
  matcher: LineMatcher;
  /** Call `onLine` for unmatched lines too. */
  emitAll?: boolean;
  maxLineBytes?: number;
  counters?: ScanCounters;
  /** Called for matched lines (all lines with `emitAll`), in order. */
  onLine?: LineSink;
}

/**
 * Splits a byte stream into lines and matches them, in bounded memory.
 *
 * Bytes are pushed in chunks of any size; only the partial line at the end of a chunk is
 * copied (into a buffer of `maxLineBytes`). A line longer than that keeps its first
 * `maxLineBytes` as text (flagged `truncated`); the rest is matched piece by piece (each
 * piece with the 1 KiB before it), so a match far into a huge line is still found, but a
 * match longer than 1 KiB or anchored with `^` can be missed there.
 *
 * Without `emitAll`, whole blocks of lines are searched at once with `matcher.scan` and
 * only lines with a hit are decoded and tested; lines are counted with `Buffer#indexOf`.
 * That makes a scan of a big file cost about as much as `grep -c`.
 */
export class LineScanner {
  readonly counters: ScanCounters;
  private readonly matcher: LineMatcher;
  private readonly emitAll: boolean;
  private readonly maxLineBytes: number;
  private readonly onLine: LineSink | undefined;
  private carry: Buffer | null = null;
  private carryLen = 0;
  private overflow = false;
  private overflowMatched = false;
  private overflowTail = '';
  private skipping = false;

  constructor(options: LineScannerOptions) {
    this.matcher = options.matcher;
    this.emitAll = options.emitAll ?? false;
    this.maxLineBytes = Math.max(16, options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
    this.counters = options.counters ?? newCounters();
    this.onLine = options.onLine;
  }

  /** Bytes of the current partial line held (at most `maxLineBytes`). */
  get pendingBytes(): number {
    return this.carryLen;
  }

  /** Drop everything up to and including the next newline (used when starting mid-line). */
  skipToNextLine(): void {
    this.discard();
    this.skipping = true;
  }

  /** Forget the partial line without emitting it. */
  discard(): void {
    this.carryLen = 0;
    this.overflow = false;
    this.overflowMatched = false;
    this.overflowTail = '';
    this.skipping = false;
  }

  push(chunk: Uint8Array): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    // Work on slices of at most 64 KiB: the strings decoded from them stay small enough for
    // V8's young generation, which is much cheaper (time and RSS) than big strings.
    if (buf.length <= SLICE) {
      this.pushSlice(buf);
      return;
    }
    for (let off = 0; off < buf.length; off += SLICE) this.pushSlice(buf.subarray(off, Math.min(buf.length, off + SLICE)));
  }

  private pushSlice(buf: Buffer): void {
    const len = buf.length;
    let i = 0;
    if (this.skipping) {
      const nl = buf.indexOf(NL);
      if (nl < 0) return;
      this.skipping = false;
      i = nl + 1;
    }
    if (this.carryLen > 0 || this.overflow) {
      const nl = buf.indexOf(NL, i);
      if (nl < 0) {
        this.appendToCarry(buf, i, len);
        return;
      }
      this.appendToCarry(buf, i, nl);
      this.finishCarryLine();
      i = nl + 1;
    }
    if (i >= len) return;
    const last = buf.lastIndexOf(NL);
    if (last >= i) {
      this.processBlock(buf, i, last + 1);
      i = last + 1;
    }
    if (i < len) this.appendToCarry(buf, i, len);
  }

  /** Emits the partial line, if any, as a line (the end of a stream that lacks a final newline). */
  flush(): void {
    if (this.skipping) {
      this.skipping = false;
      return;
    }
    if (this.carryLen > 0 || this.overflow) this.finishCarryLine();
  }

  private appendToCarry(buf: Buffer, from: number, to: number): void {
    if (to <= from) return;
    if (this.carry === null) this.carry = Buffer.allocUnsafe(this.maxLineBytes);
    const room = this.maxLineBytes - this.carryLen;
    const n = to - from;
    if (n <= room) {
      buf.copy(this.carry, this.carryLen, from, to);
      this.carryLen += n;
      return;
    }
    if (room > 0) {
      buf.copy(this.carry, this.carryLen, from, from + room);
      this.carryLen += room;
    }
    if (!this.overflow) {
      this.overflow = true;
      this.overflowTail = this.carry.toString('utf8', Math.max(0, this.carryLen - OVERLAP), this.carryLen);
    }
    if (this.overflowMatched) return;
    const piece = this.overflowTail + buf.toString('utf8', from + Math.max(room, 0), to);
    if (this.matcher.test(piece)) this.overflowMatched = true;
    this.overflowTail = piece.length > OVERLAP ? piece.slice(piece.length - OVERLAP) : piece;
  }

  private finishCarryLine(): void {
    const carry = this.carry;
    const truncated = this.overflow;
    let text = '';
    if (carry !== null && this.carryLen > 0) {
      let end = this.carryLen;
      if (truncated) end = utf8SafeEnd(carry, 0, end);
      else if (carry[end - 1] === CR) end--;
      text = carry.toString('utf8', 0, end);
    }
    const matched = this.overflowMatched || this.matcher.test(text);
    this.discard();
    this.emit(text, matched, truncated);
  }

  private emit(text: string, matched: boolean, truncated: boolean): void {
    const c = this.counters;
    c.lines++;
    if (matched) c.matched++;
    if (truncated) c.truncated++;
    if ((matched || this.emitAll) && this.onLine !== undefined) this.onLine(text, matched, c.lines, truncated);
  }

  /** `buf[from, to)` holds whole lines, the last one ending with `\n` at `to - 1`. */
  private processBlock(buf: Buffer, from: number, to: number): void {
    const scan = this.matcher.scan;
    if (this.emitAll || scan === null) {
      this.processLineByLine(buf, from, to);
      return;
    }
    const latin1 = this.matcher.latin1;
    const s = buf.toString(latin1 ? 'latin1' : 'utf8', from, to);
    const c = this.counters;
    let counted = 0; // position in s up to which newlines are counted
    scan.lastIndex = 0;
    for (;;) {
      const m = scan.exec(s);
      if (m === null) break;
      const at = m.index;
      const lineEnd = s.indexOf('\n', at);
      if (lineEnd < 0) break; // an empty match at the very end
      const lineStart = at === 0 ? 0 : s.lastIndexOf('\n', at - 1) + 1;
      c.lines += latin1 ? countNewlinesBytes(buf, from + counted, from + lineStart) : countNewlinesString(s, counted, lineStart);
      let end = lineEnd;
      if (end > lineStart && s.charCodeAt(end - 1) === CR) end--;
      const text = latin1 ? buf.toString('utf8', from + lineStart, from + end) : s.slice(lineStart, end);
      const matched = this.matcher.literal || this.matcher.test(text);
      if (matched) {
        const bytes = latin1 ? end - lineStart : Buffer.byteLength(text);
        if (bytes > this.maxLineBytes) this.emit(truncateUtf8(text, this.maxLineBytes), true, true);
        else this.emit(text, true, false);
      } else {
        c.lines++;
      }
      counted = lineEnd + 1;
      scan.lastIndex = lineEnd + 1;
    }
    c.lines += latin1 ? countNewlinesBytes(buf, from + counted, to) : countNewlinesString(s, counted, s.length);
  }

  private processLineByLine(buf: Buffer, from: number, to: number): void {
    let p = from;
    while (p < to) {
      let nl = buf.indexOf(NL, p);
      if (nl < 0 || nl >= to) nl = to; // cannot happen: the block ends with a newline
      let end = nl;
      if (end > p && buf[end - 1] === CR) end--;
      if (end - p > this.maxLineBytes) {
        const matched = this.matcher.test(buf.toString('utf8', p, end));
        this.emit(buf.toString('utf8', p, utf8SafeEnd(buf, p, p + this.maxLineBytes)), matched, true);
      } else {
        const text = buf.toString('utf8', p, end);
        this.emit(text, this.matcher.test(text), false);
      }
      p = nl + 1;
    }
  }
}

/** Newlines in `buf[from, to)`. */
export function countNewlinesBytes(buf: Buffer, from: number, to: number): number {
  let n = 0;
  let p = from;
  while (p < to) {
    p = buf.indexOf(NL, p);
    if (p < 0 || p >= to) break;
    n++;
    p++;
  }
  return n;
}

function countNewlinesString(s: string, from: number, to: number): number {
  let n = 0;
  let p = from;
  while (p < to) {
    p = s.indexOf('\n', p);
    if (p < 0 || p >= to) break;
    n++;
    p++;
  }
  return n;
}

/** The largest end ≤ `end` that does not cut a UTF-8 sequence starting at or after `start`. */
export function utf8SafeEnd(buf: Uint8Array, start: number, end: number): number {
  let p = end;
  // Step back over continuation bytes (at most 3) to the lead byte of the last sequence.
  let back = 0;
  while (p > start && back < 4 && ((buf[p - 1] ?? 0) & 0xc0) === 0x80) {
    p--;
    back++;
  }
  if (p === start) return end;
  const lead = buf[p - 1] ?? 0;
  if (lead < 0x80) return end; // ASCII: nothing was cut
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return back + 1 >= need ? end : p - 1;
}

function truncateUtf8(text: string, maxBytes: number): string {
  const buf = Buffer.from(text, 'utf8');
  return buf.toString('utf8', 0, utf8SafeEnd(buf, 0, Math.min(maxBytes, buf.length)));
}
