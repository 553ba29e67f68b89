import { terminalLine } from '../../core/terminalText';

/**
 * A fixed-size ring of the newest log lines: texts in one array, flags in a byte array, so a
 * line costs no object of its own however fast lines arrive; objects are made only for the
 * few lines on screen, when the screen asks for them.
 */
export interface RingLine {
  /** Sequence number, unique for the ring's lifetime (line numbers restart with each follower). */
  n: number;
  text: string;
  matched: boolean;
}

export class LineRing {
  private readonly texts: string[];
  private readonly flags: Uint8Array;
  private next = 0;
  private count = 0;
  /** Lines pushed so far; also tells a flush whether anything changed. */
  version = 0;

  constructor(readonly capacity: number) {
    this.texts = new Array<string>(capacity).fill('');
    this.flags = new Uint8Array(capacity);
  }

  push(text: string, matched: boolean): void {
    this.texts[this.next] = terminalLine(text); // a log line may carry terminal escapes
    this.flags[this.next] = matched ? 1 : 0;
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
    this.version++;
  }

  /** The newest `n` lines, oldest first. */
  last(n: number): RingLine[] {
    const take = Math.min(n, this.count);
    const out: RingLine[] = [];
    for (let i = take; i > 0; i--) {
      const slot = (this.next - i + this.capacity * 2) % this.capacity;
      out.push({ n: this.version - i, text: this.texts[slot]!, matched: this.flags[slot] === 1 });
    }
    return out;
  }

  get size(): number {
    return this.count;
  }

  clear(): void {
    this.texts.fill('');
    this.next = 0;
    this.count = 0;
  }
}
