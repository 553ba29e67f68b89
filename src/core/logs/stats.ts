import type { ErrorRateComparison, LogStats, MinuteBucket } from './types';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const WINDOW_SECONDS = 60;

/**
 * Counts lines and matches by the time they were read: a 60-slot ring of seconds for the
 * sliding "last minute", and per-minute buckets for the histogram. Memory is fixed.
 */
export class LogStatsTracker {
  private readonly now: () => number;
  private readonly histogramMinutes: number;
  readonly startedAt: number;
  private totalLines = 0;
  private matchedLines = 0;
  private truncatedLines = 0;
  private bytesRead = 0;
  private rotations = 0;
  private readonly secondOf = new Float64Array(WINDOW_SECONDS).fill(-1);
  private readonly secondLines = new Float64Array(WINDOW_SECONDS);
  private readonly secondMatched = new Float64Array(WINDOW_SECONDS);
  /** minuteStart → bucket, only the last `histogramMinutes` minutes. */
  private readonly minutes = new Map<number, MinuteBucket>();

  constructor(options: { now?: () => number; histogramMinutes?: number } = {}) {
    this.now = options.now ?? Date.now;
    this.histogramMinutes = Math.max(1, Math.floor(options.histogramMinutes ?? 60));
    this.startedAt = this.now();
  }

  /** Adds lines read now. */
  record(delta: { lines?: number; matched?: number; truncated?: number; bytes?: number }): void {
    const lines = delta.lines ?? 0;
    const matched = delta.matched ?? 0;
    this.totalLines += lines;
    this.matchedLines += matched;
    this.truncatedLines += delta.truncated ?? 0;
    this.bytesRead += delta.bytes ?? 0;
    if (lines === 0 && matched === 0) return;
    const t = this.now();
    const second = Math.floor(t / SECOND);
    const slot = second % WINDOW_SECONDS;
    if (this.secondOf[slot] !== second) {
      this.secondOf[slot] = second;
      this.secondLines[slot] = 0;
      this.secondMatched[slot] = 0;
    }
    this.secondLines[slot] = (this.secondLines[slot] ?? 0) + lines;
    this.secondMatched[slot] = (this.secondMatched[slot] ?? 0) + matched;

    const minuteStart = Math.floor(t / MINUTE) * MINUTE;
    let bucket = this.minutes.get(minuteStart);
    if (bucket === undefined) {
      bucket = { minuteStart, lines: 0, matched: 0 };
      this.minutes.set(minuteStart, bucket);
      this.prune(minuteStart);
    }
    bucket.lines += lines;
    bucket.matched += matched;
  }

  noteRotation(): void {
    this.rotations++;
  }

  snapshot(): LogStats {
    const at = this.now();
    const nowSecond = Math.floor(at / SECOND);
    let matchesLastMinute = 0;
    let linesLastMinute = 0;
    for (let slot = 0; slot < WINDOW_SECONDS; slot++) {
      const second = this.secondOf[slot] ?? -1;
      if (second > nowSecond - WINDOW_SECONDS && second <= nowSecond) {
        matchesLastMinute += this.secondMatched[slot] ?? 0;
        linesLastMinute += this.secondLines[slot] ?? 0;
      }
    }
    const nowMinute = Math.floor(at / MINUTE) * MINUTE;
    const firstMinute = Math.max(
      Math.floor(this.startedAt / MINUTE) * MINUTE,
      nowMinute - (this.histogramMinutes - 1) * MINUTE,
    );
    const perMinute: MinuteBucket[] = [];
    for (let m = firstMinute; m <= nowMinute; m += MINUTE) {
      const bucket = this.minutes.get(m);
      perMinute.push({ minuteStart: m, lines: bucket?.lines ?? 0, matched: bucket?.matched ?? 0 });
    }
    return {
      startedAt: this.startedAt,
      at,
      elapsedMs: Math.max(0, at - this.startedAt),
      totalLines: this.totalLines,
      matchedLines: this.matchedLines,
      truncatedLines: this.truncatedLines,
      bytesRead: this.bytesRead,
      matchesLastMinute,
      linesLastMinute,
      perMinute,
      rotations: this.rotations,
    };
  }

  private prune(newest: number): void {
    const oldest = newest - (this.histogramMinutes - 1) * MINUTE;
    for (const key of this.minutes.keys()) {
      if (key < oldest) this.minutes.delete(key);
    }
  }
}

/**
 * Matches per minute before a migration vs after it, for a runbook line like
 * "error rate rose from 0.5/min to 40/min".
 *
 * Two snapshots of the same follower (same `startedAt`, `after` taken later) compare the
 * time up to `before.at` with the time between the two snapshots. Snapshots of two
 * different followers each use their own whole window.
 */
export function compareErrorRates(before: LogStats, after: LogStats): ErrorRateComparison {
  const sameFollower =
    after.startedAt === before.startedAt && after.at >= before.at && after.matchedLines >= before.matchedLines;
  const beforeWindowMs = before.elapsedMs;
  const beforeMatched = before.matchedLines;
  const afterWindowMs = sameFollower ? after.at - before.at : after.elapsedMs;
  const afterMatched = sameFollower ? after.matchedLines - before.matchedLines : after.matchedLines;
  const beforePerMinute = perMinute(beforeMatched, beforeWindowMs);
  const afterPerMinute = perMinute(afterMatched, afterWindowMs);
  const ratio = beforePerMinute > 0 ? afterPerMinute / beforePerMinute : null;
  const change = Math.abs(afterPerMinute - beforePerMinute);
  const direction =
    change <= 0.1 * Math.max(beforePerMinute, afterPerMinute)
      ? 'unchanged'
      : afterPerMinute > beforePerMinute
        ? 'rose'
        : 'fell';
  const text =
    direction === 'unchanged'
      ? `error rate unchanged at ${formatRate(afterPerMinute)}/min`
      : `error rate ${direction} from ${formatRate(beforePerMinute)}/min to ${formatRate(afterPerMinute)}/min`;
  return {
    beforePerMinute,
    afterPerMinute,
    beforeWindowMs,
    afterWindowMs,
    beforeMatched,
    afterMatched,
    ratio,
    direction,
    text,
  };
}

function perMinute(count: number, windowMs: number): number {
  return windowMs > 0 ? (count * MINUTE) / windowMs : 0;
}

/** 0.5 → "0.5", 0.04 → "0.04", 12.4 → "12", 1234.5 → "1235". */
export function formatRate(perMin: number): string {
  if (!Number.isFinite(perMin) || perMin <= 0) return '0';
  if (perMin >= 10) return String(Math.round(perMin));
  return String(Number(perMin.toPrecision(2)));
}
