import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MutxError } from '../src/core/errors';
import {
  compareErrorRates,
  compileFilter,
  describeLogSource,
  formatRate,
  LineScanner,
  LogStatsTracker,
  parseLogSource,
} from '../src/core/logs';
import { isLatin1Safe } from '../src/core/logs/filter';
import { utf8SafeEnd } from '../src/core/logs/scanner';

describe('parseLogSource', () => {
  it('reads cmd: specs as a command split on whitespace, anything else as a file', () => {
    expect(parseLogSource('cmd:kubectl logs -f  deploy/mutx')).toEqual({
      kind: 'command',
      command: 'kubectl',
      args: ['logs', '-f', 'deploy/mutx'],
    });
    expect(parseLogSource('cmd: journalctl -fu app')).toEqual({ kind: 'command', command: 'journalctl', args: ['-fu', 'app'] });
    expect(parseLogSource('logs/app.log')).toEqual({ kind: 'file', path: 'logs/app.log' });
    expect(parseLogSource('file:/var/log/app.log')).toEqual({ kind: 'file', path: '/var/log/app.log' });
    expect(describeLogSource(parseLogSource('cmd:a b'))).toBe('cmd: a b');
  });

  it('rejects an empty command or path', () => {
    expect(() => parseLogSource('cmd:   ')).toThrow(MutxError);
    expect(() => parseLogSource('  ')).toThrow(MutxError);
  });
});

describe('compileFilter', () => {
  it('matches case-insensitively and rejects invalid patterns with a usage error', () => {
    const m = compileFilter('error|fatal');
    expect(m.test('An ERROR happened')).toBe(true);
    expect(m.test('Fatal: x')).toBe(true);
    expect(m.test('all good')).toBe(false);
    expect(() => compileFilter('(unclosed')).toThrow(/not a valid regular expression/);
    try {
      compileFilter('[');
    } catch (error) {
      expect(error).toBeInstanceOf(MutxError);
      expect((error as MutxError).kind).toBe('usage');
    }
  });

  it('uses the latin1 fast path only for patterns that can only match ASCII', () => {
    for (const safe of ['error', 'error|fatal', 'status=5\\d\\d', '\\berr(or)?\\b', '[a-z]+ failed', 'x(?:y|z)']) {
      expect(isLatin1Safe(safe), safe).toBe(true);
    }
    for (const unsafe of ['err.r', 'é', '[^a]rror', '\\serror', '\\Werror', 'a(?=b)', '\\u00e9', '\\x41', '\\1']) {
      expect(isLatin1Safe(unsafe), unsafe).toBe(false);
    }
    expect(compileFilter('error').literal).toBe(true);
    expect(compileFilter('error|fatal').literal).toBe(false);
    expect(compileFilter('(?<!x)error').scan).toBeNull();
  });
});

describe('utf8SafeEnd', () => {
  it('never cuts a multi-byte character', () => {
    const buf = Buffer.from('aé€😀', 'utf8'); // 1 + 2 + 3 + 4 bytes
    const ends = [...Array(buf.length + 1).keys()].map((end) => utf8SafeEnd(buf, 0, end));
    expect(ends).toEqual([0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10]);
  });
});

/** The reference: split on \n, strip one \r, test each line. */
function naiveCount(text: string, filter: string): { lines: number; matched: string[] } {
  const re = new RegExp(filter, 'i');
  const parts = text.split('\n');
  if (parts[parts.length - 1] === '') parts.pop();
  const lines = parts.map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
  return { lines: lines.length, matched: lines.filter((line) => re.test(line)) };
}

function scanInChunks(bytes: Buffer, filter: string, cuts: number[], emitAll = false) {
  const matched: string[] = [];
  const all: string[] = [];
  const scanner = new LineScanner({
    matcher: compileFilter(filter),
    emitAll,
    onLine: (text, isMatch) => {
      all.push(text);
      if (isMatch) matched.push(text);
    },
  });
  let prev = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < bytes.length)].sort((a, b) => a - b)) {
    scanner.push(bytes.subarray(prev, cut));
    prev = cut;
  }
  scanner.push(bytes.subarray(prev));
  scanner.flush();
  return { counters: scanner.counters, matched, all };
}

describe('LineScanner', () => {
  const words = ['error', 'ERROR', 'Err', 'or', 'fatal', 'ok', ' ', 'é', '€', '😀', '\r', 'x', 'status=500', 'errör', 'ERROR\r'];
  const filters = ['error', 'error|fatal', 'err.r', '^error', 'error$', 'ok\\s+x', '(?<!\\s)error', 'status=5\\d\\d', 'é', ''];

  it('counts and matches exactly like a line-by-line reference, whatever the chunking', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.constantFrom(...words), { maxLength: 8 }).map((ws) => ws.join('')), { maxLength: 40 }),
        fc.boolean(),
        fc.constantFrom(...filters),
        fc.array(fc.nat({ max: 400 }), { maxLength: 6 }),
        (lines, trailingNewline, filter, cuts) => {
          const text = lines.join('\n') + (trailingNewline && lines.length > 0 ? '\n' : '');
          const bytes = Buffer.from(text, 'utf8');
          const expected = naiveCount(text, filter);
          for (const emitAll of [false, true]) {
            const got = scanInChunks(bytes, filter, cuts, emitAll);
            expect(got.counters.lines).toBe(expected.lines);
            expect(got.counters.matched).toBe(expected.matched.length);
            expect(got.matched).toEqual(expected.matched);
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('cuts overlong lines to maxLineBytes, flags them, and still finds a match past the cut', () => {
    const long = `${'a'.repeat(5000)} error ${'b'.repeat(5000)}`;
    const text = `short error\n${long}\n${'é'.repeat(3000)}\nlast error`;
    const seen: { text: string; matched: boolean; truncated: boolean }[] = [];
    const scanner = new LineScanner({
      matcher: compileFilter('error'),
      emitAll: true,
      maxLineBytes: 1000,
      onLine: (t, matched, _n, truncated) => seen.push({ text: t, matched, truncated }),
    });
    const bytes = Buffer.from(text);
    for (let i = 0; i < bytes.length; i += 777) scanner.push(bytes.subarray(i, i + 777));
    scanner.flush();
    expect(seen.map((s) => [s.matched, s.truncated])).toEqual([
      [true, false],
      [true, true],
      [false, true],
      [true, false],
    ]);
    expect(seen[1]!.text).toBe('a'.repeat(1000));
    expect(seen[2]!.text).toBe('é'.repeat(500)); // never half a character
    expect(scanner.counters.truncated).toBe(2);
    expect(scanner.pendingBytes).toBe(0);
  });

  it('skipToNextLine drops the partial line it starts in', () => {
    const got: string[] = [];
    const scanner = new LineScanner({ matcher: compileFilter('error'), onLine: (t) => got.push(t) });
    scanner.skipToNextLine();
    scanner.push(Buffer.from('tail of an error line\nnext error\n'));
    expect(got).toEqual(['next error']);
    expect(scanner.counters.lines).toBe(1);
  });
});

describe('LogStatsTracker and compareErrorRates', () => {
  it('keeps a sliding last minute and a contiguous per-minute histogram', () => {
    let now = Date.UTC(2025, 0, 1, 10, 0, 0);
    const tracker = new LogStatsTracker({ now: () => now, histogramMinutes: 3 });
    tracker.record({ lines: 10, matched: 2 });
    now += 30_000;
    tracker.record({ lines: 5, matched: 1 });
    let s = tracker.snapshot();
    expect(s.matchesLastMinute).toBe(3);
    expect(s.perMinute).toEqual([{ minuteStart: Date.UTC(2025, 0, 1, 10, 0), lines: 15, matched: 3 }]);

    now += 45_000; // 10:01:15 — the first record (10:00:00) left the window
    tracker.record({ lines: 1, matched: 1 });
    s = tracker.snapshot();
    expect(s.matchesLastMinute).toBe(2);
    expect(s.linesLastMinute).toBe(6);

    now += 3 * 60_000; // 10:04:15, nothing in between
    s = tracker.snapshot();
    expect(s.matchesLastMinute).toBe(0);
    expect(s.perMinute.map((b) => [new Date(b.minuteStart).getUTCMinutes(), b.matched])).toEqual([
      [2, 0],
      [3, 0],
      [4, 0],
    ]);
    expect(s.totalLines).toBe(16);
    expect(s.matchedLines).toBe(4);
  });

  it('compares two snapshots of one follower as before/after windows', () => {
    let now = 1_000_000;
    const tracker = new LogStatsTracker({ now: () => now });
    now += 4 * 60_000;
    tracker.record({ lines: 100, matched: 2 }); // 2 errors in 4 minutes
    const before = tracker.snapshot();
    now += 60_000;
    tracker.record({ lines: 100, matched: 40 }); // 40 in the next minute
    const after = tracker.snapshot();
    const cmp = compareErrorRates(before, after);
    expect(cmp.beforePerMinute).toBeCloseTo(0.5);
    expect(cmp.afterPerMinute).toBeCloseTo(40);
    expect(cmp.direction).toBe('rose');
    expect(cmp.ratio).toBeCloseTo(80);
    expect(cmp.text).toBe('error rate rose from 0.5/min to 40/min');

    expect(formatRate(0.04)).toBe('0.04');
    expect(formatRate(12.4)).toBe('12');
    now += 2 * 60_000;
    tracker.record({ lines: 100, matched: 1 });
    const steady = compareErrorRates(after, tracker.snapshot()); // 42 in 5 min vs 1 in 2 min
    expect(steady.direction).toBe('fell');
    const same = compareErrorRates(before, { ...before, startedAt: 0, elapsedMs: 2 * 60_000, matchedLines: 1 });
    expect(same.direction).toBe('unchanged');
    expect(same.text).toBe('error rate unchanged at 0.5/min');
  });

  it('compares snapshots of two separate followers over their own windows', () => {
    let now = 5_000_000;
    const a = new LogStatsTracker({ now: () => now });
    now += 2 * 60_000;
    a.record({ lines: 500, matched: 120 });
    const duringIncident = a.snapshot();
    const b = new LogStatsTracker({ now: () => now });
    now += 60_000;
    b.record({ lines: 500, matched: 6 });
    const cmp = compareErrorRates(duringIncident, b.snapshot());
    expect(cmp.text).toBe('error rate fell from 60/min to 6/min');
    expect(cmp.afterWindowMs).toBe(60_000);
  });
});
