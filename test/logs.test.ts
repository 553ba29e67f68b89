import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  compareErrorRates,
  countMatches,
  followLog,
  type FollowLogOptions,
  type LogEvent,
  type LogFollower,
} from '../src/core/logs';

let dir: string;
const followers: LogFollower[] = [];

beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'mutx-logs-test-'));
});

afterEach(async () => {
  await Promise.all(followers.splice(0).map((f) => f.stop()));
  await fsp.rm(dir, { recursive: true, force: true });
});

async function waitFor(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts a follower that records its events. */
function follow(options: Omit<FollowLogOptions, 'onEvent'>) {
  const events: LogEvent[] = [];
  const follower = followLog({ pollIntervalMs: 50, statsIntervalMs: 0, ...options, onEvent: (e) => events.push(e) });
  followers.push(follower);
  const lines = () => events.flatMap((e) => (e.type === 'line' ? [e] : []));
  const texts = () => lines().map((e) => e.text);
  /** Resolves once the follower has opened the file (so appends come after its start position). */
  const opened = (count = 1) => waitFor('the file to be opened', () => events.filter((e) => e.type === 'opened').length >= count);
  return { follower, events, lines, texts, opened };
}

const numbered = (from: number, to: number, word = 'error') =>
  Array.from({ length: to - from + 1 }, (_, i) => `${word} line ${from + i}\n`).join('');

/** Each of `from..to` seen exactly once. */
function expectEachOnce(texts: string[], from: number, to: number) {
  const seen = texts.map((t) => Number(/line (\d+)/.exec(t)?.[1]));
  const expected = Array.from({ length: to - from + 1 }, (_, i) => from + i);
  expect([...seen].sort((a, b) => a - b)).toEqual(expected);
}

describe('followLog on a file', () => {
  it('starts at the end and reports appended lines that match, case-insensitively', async () => {
    const file = path.join(dir, 'app.log');
    fs.writeFileSync(file, 'old ERROR before we started\nold info\n');
    const { texts, lines, events, follower, opened } = follow({ source: { kind: 'file', path: file } });
    await opened();
    fs.appendFileSync(file, 'INFO all good\nERROR db down\nWarn: Error count 3\nerrors are fine too\ninfo\n');
    await waitFor('3 matching lines', () => texts().length === 3);
    expect(texts()).toEqual(['ERROR db down', 'Warn: Error count 3', 'errors are fine too']);
    expect(lines().map((l) => l.lineNumber)).toEqual([2, 3, 4]);
    expect(lines().every((l) => l.matched && !l.truncated)).toBe(true);
    expect(follower.stats()).toMatchObject({ totalLines: 5, matchedLines: 3 });
    const summary = await follower.stop();
    expect(summary.reason).toBe('stopped');
    expect(summary.stats.totalLines).toBe(5);
    expect(events.at(-1)).toEqual({ type: 'end', summary });
    expect(events[0]).toEqual({ type: 'opened', path: file, offset: 'old ERROR before we started\nold info\n'.length });
  });

  it('uses a custom filter, and emitAll also reports unmatched lines', async () => {
    const file = path.join(dir, 'app.log');
    fs.writeFileSync(file, '');
    const { lines, opened } = follow({ source: { kind: 'file', path: file }, filter: 'fatal|panic', emitAll: true });
    await opened();
    fs.appendFileSync(file, 'FATAL boom\nerror but not fatal-free\nall fine\nPaNiC: x\n');
    await waitFor('4 lines', () => lines().length === 4);
    expect(lines().map((l) => [l.text, l.matched])).toEqual([
      ['FATAL boom', true],
      ['error but not fatal-free', true],
      ['all fine', false],
      ['PaNiC: x', true],
    ]);
  });

  it('reads the whole file with fromStart, holding a partial last line until it is complete', async () => {
    const file = path.join(dir, 'app.log');
    fs.writeFileSync(file, 'a error\r\nb info\nc error');
    const { texts } = follow({ source: { kind: 'file', path: file }, fromStart: true });
    await waitFor('first line', () => texts().length === 1);
    await sleep(200);
    expect(texts()).toEqual(['a error']);
    fs.appendFileSync(file, ' continued\n');
    await waitFor('second line', () => texts().length === 2);
    expect(texts()).toEqual(['a error', 'c error continued']);
  });

  it('starting at the end in the middle of a line skips the rest of that line', async () => {
    const file = path.join(dir, 'app.log');
    fs.writeFileSync(file, 'done\nhalf-written error');
    const { texts, opened } = follow({ source: { kind: 'file', path: file } });
    await opened();
    fs.appendFileSync(file, ' line ends here\nnext error\n');
    await waitFor('next line', () => texts().length >= 1);
    await sleep(100);
    expect(texts()).toEqual(['next error']);
  });

  it('survives rename rotation without losing or repeating a line, including late writes to the old file', async () => {
    const file = path.join(dir, 'app.log');
    fs.writeFileSync(file, '');
    const { texts, events, opened } = follow({ source: { kind: 'file', path: file }, rotationGraceMs: 10_000 });
    await opened();
    fs.appendFileSync(file, numbered(1, 50));
    await waitFor('lines 1-50', () => texts().length === 50);
    // Written just before the rename: the follower has not read them yet.
    const oldFd = fs.openSync(file, 'a');
    fs.writeSync(oldFd, numbered(51, 100));
    fs.renameSync(file, `${file}.1`);
    fs.writeFileSync(file, numbered(101, 150)); // a new inode at the path
    await waitFor('lines 1-150', () => texts().length === 150);
    // The application has not reopened its log yet: it still writes to the old file.
    fs.writeSync(oldFd, numbered(151, 160));
    fs.closeSync(oldFd);
    fs.appendFileSync(file, numbered(161, 200));
    await waitFor('lines 1-200', () => texts().length === 200);
    await sleep(300);
    expectEachOnce(texts(), 1, 200);
    // Old lines come first: the old file is finished before the new one is read.
    expect(texts().slice(0, 150)).toEqual(numbered(1, 150).trimEnd().split('\n'));
    expect(events.filter((e) => e.type === 'rotated')).toEqual([{ type: 'rotated', how: 'rename' }]);
    expect(events.filter((e) => e.type === 'opened')).toEqual([
      { type: 'opened', path: file, offset: 0 },
      { type: 'opened', path: file, offset: 0 }, // the new file is read from its start
    ]);
  });

  it('survives copytruncate: reads the file again from the start', async () => {
    const file = path.join(dir, 'app.log');
    fs.writeFileSync(file, '');
    const { texts, events, follower, opened } = follow({ source: { kind: 'file', path: file } });
    await opened();
    fs.appendFileSync(file, numbered(1, 50));
    await waitFor('lines 1-50', () => texts().length === 50);
    fs.copyFileSync(file, `${file}.1`);
    fs.truncateSync(file, 0);
    await waitFor('truncation noticed', () => events.some((e) => e.type === 'rotated'));
    fs.appendFileSync(file, numbered(51, 60));
    await waitFor('lines 1-60', () => texts().length === 60);
    expectEachOnce(texts(), 1, 60);
    expect(events.filter((e) => e.type === 'rotated')).toEqual([{ type: 'rotated', how: 'truncate' }]);
    expect(follower.stats().rotations).toBe(1);
  });

  it('notices a truncation even when the file has grown past the old size before the next poll', async () => {
    const file = path.join(dir, 'app.log');
    fs.writeFileSync(file, '');
    const { texts, events, opened } = follow({ source: { kind: 'file', path: file }, pollIntervalMs: 600 });
    await opened();
    fs.appendFileSync(file, numbered(1, 10));
    await waitFor('lines 1-10', () => texts().length === 10);
    await sleep(100); // the follower is now asleep between polls
    fs.truncateSync(file, 0);
    fs.appendFileSync(file, numbered(11, 100)); // longer than before the truncation
    await waitFor('lines 1-100', () => texts().length === 100);
    await sleep(200);
    expectEachOnce(texts(), 1, 100);
    expect(events.filter((e) => e.type === 'rotated')).toEqual([{ type: 'rotated', how: 'truncate' }]);
  });

  it('waits for a file that does not exist yet, then reads it from its start', async () => {
    const file = path.join(dir, 'not-yet', 'app.log');
    const { texts, events } = follow({ source: { kind: 'file', path: file } });
    await waitFor('waiting event', () => events.some((e) => e.type === 'waiting'));
    expect(events.filter((e) => e.type === 'waiting')).toHaveLength(1);
    await sleep(200);
    expect(events.filter((e) => e.type === 'waiting')).toHaveLength(1); // said once, not every poll
    fs.mkdirSync(path.dirname(file));
    fs.writeFileSync(file, 'first error\nsecond info\n');
    await waitFor('first line', () => texts().length === 1);
    fs.appendFileSync(file, 'third error\n');
    await waitFor('third line', () => texts().length === 2);
    expect(texts()).toEqual(['first error', 'third error']);
  });

  it('resolves a relative path against cwd, emits stats events, and ends on abort', async () => {
    fs.writeFileSync(path.join(dir, 'rel.log'), '');
    const controller = new AbortController();
    const { texts, events, follower, opened } = follow({
      source: { kind: 'file', path: 'rel.log' },
      cwd: dir,
      statsIntervalMs: 50,
      signal: controller.signal,
    });
    await opened();
    fs.appendFileSync(path.join(dir, 'rel.log'), 'an error\n');
    await waitFor('the line', () => texts().length === 1);
    await waitFor('a stats event with it', () =>
      events.some((e) => e.type === 'stats' && e.stats.matchedLines === 1 && e.stats.matchesLastMinute === 1),
    );
    controller.abort();
    const summary = await follower.done;
    expect(summary.reason).toBe('aborted');
    expect(summary.stats.matchedLines).toBe(1);
  });

  it('counts matches per minute and compares error rates before and after a migration', async () => {
    const file = path.join(dir, 'app.log');
    fs.writeFileSync(file, '');
    let now = Date.UTC(2025, 0, 1, 12, 0, 0);
    const { follower, opened } = follow({ source: { kind: 'file', path: file }, now: () => now });
    await opened();
    fs.appendFileSync(file, 'error 1\ninfo\n');
    await waitFor('minute 0', () => follower.stats().totalLines === 2);
    now += 60_000;
    const before = follower.stats(); // 1 error in the minute before the migration
    now += 30_000;
    fs.appendFileSync(file, numbered(1, 30) + numbered(1, 10, 'info'));
    await waitFor('minute 1', () => follower.stats().totalLines === 42);
    now += 30_000;
    const after = follower.stats();
    expect(after.perMinute).toEqual([
      { minuteStart: Date.UTC(2025, 0, 1, 12, 0), lines: 2, matched: 1 },
      { minuteStart: Date.UTC(2025, 0, 1, 12, 1), lines: 40, matched: 30 },
      { minuteStart: Date.UTC(2025, 0, 1, 12, 2), lines: 0, matched: 0 },
    ]);
    expect(after.matchesLastMinute).toBe(30); // read at 12:01:30
    expect(after.linesLastMinute).toBe(40);
    const cmp = compareErrorRates(before, after);
    expect(cmp.text).toBe('error rate rose from 1/min to 30/min');
  });

  it('cuts an enormous line and flags it, still matching it', async () => {
    const file = path.join(dir, 'app.log');
    fs.writeFileSync(file, '');
    const { lines, opened } = follow({ source: { kind: 'file', path: file }, maxLineBytes: 4096 });
    await opened();
    fs.appendFileSync(file, `${'x'.repeat(200_000)} ERROR at the end\nsmall error\n`);
    await waitFor('2 lines', () => lines().length === 2);
    expect(lines()[0]).toMatchObject({ truncated: true, matched: true, lineNumber: 1 });
    expect(lines()[0]!.text).toHaveLength(4096);
    expect(lines()[1]).toMatchObject({ text: 'small error', truncated: false });
  });

  it('rejects an invalid filter up front', () => {
    expect(() => followLog({ source: { kind: 'file', path: 'x' }, filter: '(', onEvent: () => {} })).toThrow(
      /not a valid regular expression/,
    );
  });
});

describe('followLog on a command', () => {
  it('streams stdout and stderr lines and ends when the command exits', async () => {
    const script = [
      "console.log('starting');",
      "console.log('ERROR one');",
      "console.error('stderr: error two');",
      "process.stdout.write('error three without newline');",
    ].join('');
    const { lines, follower, events } = follow({
      source: { kind: 'command', command: process.execPath, args: ['-e', script] },
    });
    const summary = await follower.done;
    expect(summary).toMatchObject({ reason: 'exited', exitCode: 0 });
    expect(summary.stats.totalLines).toBe(4);
    expect(lines().map((l) => [l.text, l.stream])).toEqual(
      expect.arrayContaining([
        ['ERROR one', 'stdout'],
        ['stderr: error two', 'stderr'],
        ['error three without newline', 'stdout'],
      ]),
    );
    expect(lines()).toHaveLength(3);
    expect(events.at(-1)?.type).toBe('end');
  });

  it('passes env and reports a non-zero exit as an error', async () => {
    const { lines, follower, events } = follow({
      source: {
        kind: 'command',
        command: process.execPath,
        args: ['-e', 'console.log(process.env.MUTX_MSG); process.exit(3)'],
        env: { MUTX_MSG: 'error from env' },
      },
    });
    const summary = await follower.done;
    expect(lines().map((l) => l.text)).toEqual(['error from env']);
    expect(summary).toMatchObject({ reason: 'exited', exitCode: 3 });
    expect(events).toContainEqual({ type: 'error', message: expect.stringContaining('code 3'), fatal: true });
  });

  it('stop() kills the command', async () => {
    const script = "console.log('error pid ' + process.pid); setInterval(() => console.log('error tick'), 20);";
    const { texts, follower, events } = follow({
      source: { kind: 'command', command: process.execPath, args: ['-e', script] },
    });
    await waitFor('a few ticks', () => texts().length >= 3);
    const pid = Number(/pid (\d+)/.exec(texts()[0] ?? '')?.[1]);
    expect(events[0]).toEqual({ type: 'spawned', pid });
    expect(() => process.kill(pid, 0)).not.toThrow();
    const summary = await follower.stop();
    expect(summary.reason).toBe('stopped');
    expect(summary.exitSignal).toBe('SIGTERM');
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    const count = texts().length;
    await sleep(200);
    expect(texts()).toHaveLength(count);
  });

  it('reports a command that cannot start and ends with reason failed', async () => {
    const { follower, events } = follow({ source: { kind: 'command', command: 'mutx-no-such-command-xyz', args: [] } });
    const summary = await follower.done;
    expect(summary.reason).toBe('failed');
    expect(events).toContainEqual({ type: 'error', message: expect.stringContaining('ENOENT'), fatal: true });
  });
});

describe('countMatches', () => {
  it('counts a small file like wc -l and grep -ic, including a last line without newline', async () => {
    const file = path.join(dir, 'small.log');
    fs.writeFileSync(file, 'one ERROR\r\ntwo\n\nthree error\nfour Error');
    expect(await countMatches(file)).toMatchObject({ lines: 5, matched: 3, bytes: fs.statSync(file).size });
    expect(await countMatches(file, '^two$')).toMatchObject({ lines: 5, matched: 1 });
    expect(await countMatches('small.log', '^$', { cwd: dir })).toMatchObject({ matched: 1 });
  });

  it('counts the output of a command', async () => {
    const script = "console.log('a error\\nb\\nc ERROR'); console.error('d error'); process.stdout.write('e')";
    const result = await countMatches({ kind: 'command', command: process.execPath, args: ['-e', script] });
    expect(result).toMatchObject({ lines: 5, matched: 3 });
  });

  it('rejects a missing file with a usage error', async () => {
    await expect(countMatches(path.join(dir, 'nope.log'))).rejects.toMatchObject({
      name: 'MutxError',
      kind: 'usage',
      message: expect.stringContaining('ENOENT'),
    });
  });
});

/** ~`megabytes` of app-log lines; every 97th line is an error. Returns the true counts. */
async function writeBigLog(file: string, megabytes: number): Promise<{ lines: number; errors: number }> {
  const out = fs.createWriteStream(file);
  let lines = 0;
  let errors = 0;
  let bytes = 0;
  while (bytes < megabytes * 1024 * 1024) {
    let block = '';
    for (let i = 0; i < 10_000; i++, lines++) {
      const ts = `2025-01-01T12:${String(Math.floor(lines / 60000) % 60).padStart(2, '0')}:00.${lines % 1000}Z`;
      if (lines % 97 === 0) {
        errors++;
        block += `${ts} ${lines % 2 ? 'ERROR' : 'Error'} [db] query failed: timeout after 30s id=${lines}\n`;
      } else {
        block += `${ts} INFO  [http] GET /api/v1/items/${lines} 200 ${lines % 300}ms ua="Mozilla/5.0 (X11; Linux)"\n`;
      }
    }
    bytes += Buffer.byteLength(block);
    if (!out.write(block)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return { lines, errors };
}

describe('big files', () => {
  it('counts a ~50 MB file exactly, in bounded memory', async () => {
    const file = path.join(dir, 'big.log');
    const truth = await writeBigLog(file, 50);
    const size = fs.statSync(file).size;
    expect(size).toBeGreaterThan(50 * 1024 * 1024);
    globalThis.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 5);
    const result = await countMatches({ kind: 'file', path: file }, 'error');
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    expect(result).toMatchObject({ lines: truth.lines, matched: truth.errors, bytes: size, truncatedLines: 0 });
    // Holding the file (as a Buffer or a string) would take ≥ 50 MB.
    expect(peak - rssBefore).toBeLessThan(32 * 1024 * 1024);

    const other = await countMatches(file, 'query failed|ua="nothing"');
    expect(other.matched).toBe(truth.errors);
  });

  it('follows a ~50 MB file from its start in bounded memory', async () => {
    const file = path.join(dir, 'big.log');
    const truth = await writeBigLog(file, 50);
    globalThis.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    let matched = 0;
    const follower = followLog({
      source: { kind: 'file', path: file },
      fromStart: true,
      statsIntervalMs: 0,
      onEvent: (e) => {
        if (e.type === 'line') matched++;
        peak = Math.max(peak, process.memoryUsage().rss);
      },
    });
    followers.push(follower);
    await waitFor('all lines', () => follower.stats().totalLines === truth.lines, 30_000);
    expect(matched).toBe(truth.errors);
    expect(peak - rssBefore).toBeLessThan(32 * 1024 * 1024);
  });
});
