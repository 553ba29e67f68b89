import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { MutxError } from '../errors';
import { compileFilter, DEFAULT_FILTER, type LineMatcher } from './filter';
import { assertRegularLogFile } from './plainFile';
import { LineScanner, newCounters, type ScanCounters } from './scanner';
import { describeLogSource } from './source';
import { LogStatsTracker } from './stats';
import type { EndReason, FollowLogOptions, LogEvent, LogFollower, LogSource, LogStats, LogSummary } from './types';

const DEFAULT_POLL_MS = 200;
const DEFAULT_STATS_MS = 1000;
const DEFAULT_CHUNK = 64 * 1024;
const DEFAULT_ROTATION_GRACE_MS = 2000;
/** Bytes read in one go before looking again for rotation or truncation. */
const MAX_BURST = 8 * 1024 * 1024;
/** Bytes remembered before the read position, to notice a file rewritten from scratch. */
const TAIL_CHECK = 16;
const NL = 0x0a;

/**
 * Follows a log file (like `tail -F`) or a command's output, and reports lines matching
 * `filter` and periodic stats through `onEvent`. Returns at once; events start on a later
 * tick. Throws a usage `MutxError` for an invalid filter or option.
 *
 * From React: start it in an effect, keep events in state, `stop()` in the cleanup.
 * Headless: `await follower.done` (ends on `signal` abort or when a command exits).
 */
export function followLog(options: FollowLogOptions): LogFollower {
  const matcher = compileFilter(options.filter ?? DEFAULT_FILTER);
  for (const key of ['pollIntervalMs', 'statsIntervalMs', 'maxLineBytes', 'chunkBytes', 'rotationGraceMs'] as const) {
    const value = options[key];
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
      throw new MutxError('usage', `followLog: ${key} must be a number ≥ 0 (got ${String(value)})`);
    }
  }
  return new Follower(options, matcher).start();
}

class Follower {
  readonly counters: ScanCounters = newCounters();
  readonly tracker: LogStatsTracker;
  private readonly accounted = { lines: 0, matched: 0, truncated: 0 };
  private reason: EndReason | null = null;
  private wake: (() => void) | null = null;
  private readonly stopHooks: (() => void)[] = [];
  private ended = false;
  private lastError: string | undefined;
  private lastReported: string | undefined;

  constructor(
    readonly options: FollowLogOptions,
    readonly matcher: LineMatcher,
  ) {
    this.tracker = new LogStatsTracker({ now: options.now, histogramMinutes: options.histogramMinutes });
  }

  get stopped(): boolean {
    return this.reason !== null;
  }

  start(): LogFollower {
    const { signal } = this.options;
    const onAbort = (): void => this.requestStop('aborted');
    if (signal?.aborted) this.requestStop('aborted');
    else signal?.addEventListener('abort', onAbort, { once: true });

    const statsMs = this.options.statsIntervalMs ?? DEFAULT_STATS_MS;
    const timer = statsMs > 0 ? setInterval(() => this.emit({ type: 'stats', stats: this.tracker.snapshot() }), statsMs) : null;
    timer?.unref();

    const done = (async (): Promise<LogSummary> => {
      await Promise.resolve(); // no event before followLog has returned
      let extra: Pick<LogSummary, 'exitCode' | 'exitSignal'> = {};
      try {
        const source = this.options.source;
        extra = source.kind === 'file' ? await this.runFile(source.path) : await this.runCommand(source);
      } catch (error) {
        this.reportError(`${describeLogSource(this.options.source)}: ${errorText(error)}`, true);
        this.requestStop('failed');
      } finally {
        if (timer !== null) clearInterval(timer);
        signal?.removeEventListener('abort', onAbort);
      }
      const stats = this.tracker.snapshot();
      const summary: LogSummary = { reason: this.reason ?? 'stopped', stats, ...extra };
      if (this.lastError !== undefined) summary.lastError = this.lastError;
      this.emit({ type: 'stats', stats });
      this.emit({ type: 'end', summary });
      this.ended = true;
      return summary;
    })();

    return {
      stop: () => {
        this.requestStop('stopped');
        return done;
      },
      stats: (): LogStats => this.tracker.snapshot(),
      done,
    };
  }

  requestStop(reason: EndReason): void {
    if (this.reason !== null) return;
    this.reason = reason;
    this.wake?.();
    for (const hook of this.stopHooks) hook();
  }

  onStop(hook: () => void): void {
    if (this.stopped) hook();
    else this.stopHooks.push(hook);
  }

  /** Waits `ms`, or less if stopped meanwhile. */
  sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timeout);
        this.wake = null;
        resolve();
      };
      const timeout = setTimeout(finish, ms);
      this.wake = finish;
    });
  }

  emit(event: LogEvent): void {
    if (this.ended) return;
    if (this.reason === 'failed' && event.type !== 'end' && event.type !== 'stats') return;
    try {
      this.options.onEvent(event);
    } catch (error) {
      if (this.reason !== 'failed') {
        this.lastError = `onEvent threw: ${errorText(error)}`;
        this.reason = null; // a stop in progress becomes a failure
        this.requestStop('failed');
      }
    }
  }

  /** Reports an error once (the same message again is not repeated until another one or a success). */
  reportError(message: string, fatal = false): void {
    this.lastError = message;
    if (message === this.lastReported && !fatal) return;
    this.lastReported = message;
    this.emit({ type: 'error', message, fatal });
  }

  clearError(): void {
    this.lastReported = undefined;
  }

  /** Moves what the scanners counted into the time-bucketed stats. */
  account(bytes: number): void {
    const c = this.counters;
    const a = this.accounted;
    this.tracker.record({
      lines: c.lines - a.lines,
      matched: c.matched - a.matched,
      truncated: c.truncated - a.truncated,
      bytes,
    });
    a.lines = c.lines;
    a.matched = c.matched;
    a.truncated = c.truncated;
  }

  newScanner(stream?: 'stdout' | 'stderr'): LineScanner {
    return new LineScanner({
      matcher: this.matcher,
      emitAll: this.options.emitAll,
      maxLineBytes: this.options.maxLineBytes,
      counters: this.counters,
      onLine: (text, matched, lineNumber, truncated) =>
        this.emit(
          stream === undefined
            ? { type: 'line', text, matched, lineNumber, truncated }
            : { type: 'line', text, matched, lineNumber, truncated, stream },
        ),
    });
  }

  // ---- file source -------------------------------------------------------------------

  private async runFile(file: string): Promise<Record<string, never>> {
    const o = this.options;
    const resolved = path.resolve(o.cwd ?? process.cwd(), file);
    const pollMs = Math.max(1, o.pollIntervalMs ?? DEFAULT_POLL_MS);
    const graceMs = o.rotationGraceMs ?? DEFAULT_ROTATION_GRACE_MS;
    const buf = Buffer.allocUnsafe(Math.max(4096, o.chunkBytes ?? DEFAULT_CHUNK));
    const scratch = Buffer.allocUnsafe(TAIL_CHECK);
    let cur: Tracked | null = null;
    let retired: { file: Tracked; until: number } | null = null;
    let startAtEnd = !o.fromStart;
    let waitingNoted = false;
    let missingChecks = 0;

    const drain = async (t: Tracked, limit: number): Promise<number> => {
      let total = 0;
      while (!this.stopped && total < limit) {
        const { bytesRead } = await t.handle.read(buf, 0, buf.length, t.pos);
        if (bytesRead === 0) break;
        t.pos += bytesRead;
        total += bytesRead;
        t.rememberTail(buf, bytesRead);
        t.scanner.push(buf.subarray(0, bytesRead));
        this.account(bytesRead);
      }
      return total;
    };
    const finishRetired = async (): Promise<void> => {
      if (retired === null) return;
      const old = retired.file;
      retired = null;
      try {
        await drain(old, Number.POSITIVE_INFINITY);
      } finally {
        if (!this.stopped) {
          old.scanner.flush();
          this.account(0);
        }
        await old.close();
      }
    };

    try {
      while (!this.stopped) {
        try {
          if (retired !== null) {
            await drain(retired.file, MAX_BURST);
            if (Date.now() >= retired.until) await finishRetired();
          }

          if (cur === null) {
            const opened = await openTracked(resolved, () => this.newScanner());
            if (opened === null) {
              startAtEnd = false; // a file that appears later is read from its start
              if (!waitingNoted) {
                waitingNoted = true;
                this.emit({ type: 'waiting', reason: `${file} does not exist yet` });
              }
              await this.sleep(pollMs);
              continue;
            }
            cur = opened;
            waitingNoted = false;
            missingChecks = 0;
            this.clearError();
            if (startAtEnd && cur.size > 0) {
              // Start at the end; if that is mid-line, skip the rest of that line.
              const n = Math.min(TAIL_CHECK, cur.size);
              const { bytesRead } = await cur.handle.read(buf, 0, n, cur.size - n);
              cur.pos = cur.size;
              cur.rememberTail(buf, bytesRead);
              if (bytesRead > 0 && buf[bytesRead - 1] !== NL) cur.scanner.skipToNextLine();
            }
            startAtEnd = false;
            this.emit({ type: 'opened', path: file, offset: cur.pos });
          }

          const st = await cur.handle.stat();
          if (st.size < cur.pos || (st.size > cur.pos && !(await cur.tailUnchanged(scratch)))) {
            // copytruncate (or a file rewritten from scratch): read again from the start.
            cur.scanner.flush();
            this.account(0);
            cur.pos = 0;
            cur.tailLen = 0;
            this.tracker.noteRotation();
            this.emit({ type: 'rotated', how: 'truncate' });
          }
          if (st.size > cur.pos) {
            await drain(cur, MAX_BURST);
            this.clearError();
            continue;
          }

          // At the end of the file: has the path been rotated away?
          const named = await statOrNull(resolved);
          if (named === null) {
            missingChecks++;
            if (missingChecks === 2 && !waitingNoted) {
              waitingNoted = true;
              this.emit({ type: 'waiting', reason: `${file} was removed; waiting for it to come back` });
            }
          } else if (named.ino !== cur.ino || named.dev !== cur.dev) {
            // Rename rotation: finish the old file, keep an eye on it for a while, open the new one.
            await drain(cur, Number.POSITIVE_INFINITY);
            if (retired !== null) await finishRetired();
            retired = { file: cur, until: Date.now() + graceMs };
            cur = null;
            this.tracker.noteRotation();
            this.emit({ type: 'rotated', how: 'rename' });
            continue;
          } else {
            missingChecks = 0;
          }
          await this.sleep(pollMs);
        } catch (error) {
          this.reportError(`${file}: ${errorText(error)}`);
          await this.sleep(pollMs);
        }
      }
    } finally {
      await cur?.close();
      if (retired !== null) await retired.file.close();
    }
    return {};
  }

  // ---- command source ----------------------------------------------------------------

  private async runCommand(
    source: Extract<LogSource, { kind: 'command' }>,
  ): Promise<Pick<LogSummary, 'exitCode' | 'exitSignal'>> {
    if (this.stopped) return {};
    const out = this.newScanner('stdout');
    const err = this.newScanner('stderr');
    const subprocess = execa(source.command, source.args, {
      cwd: this.options.cwd,
      env: source.env,
      stdin: 'ignore',
      buffer: false,
      reject: false,
      forceKillAfterDelay: 2000,
    });
    this.onStop(() => {
      subprocess.kill();
    });
    if (subprocess.pid !== undefined) this.emit({ type: 'spawned', pid: subprocess.pid });
    subprocess.stdout?.on('data', (chunk: Buffer) => {
      out.push(chunk);
      this.account(chunk.length);
    });
    subprocess.stderr?.on('data', (chunk: Buffer) => {
      err.push(chunk);
      this.account(chunk.length);
    });
    const result = await subprocess;
    out.flush();
    err.flush();
    this.account(0);
    const exit = { exitCode: result.exitCode ?? null, exitSignal: result.signal ?? null };
    if (this.stopped) return exit;
    if (result.exitCode === undefined && result.signal === undefined) {
      const message = result.shortMessage ?? 'failed to start';
      const why = message.split('\n')[0] ?? message;
      this.reportError(`cannot run ${source.command}: ${why}`, true);
      this.requestStop('failed');
      return exit;
    }
    if (result.exitCode !== 0) {
      this.reportError(
        result.signal !== undefined
          ? `${source.command} was killed by ${result.signal}`
          : `${source.command} exited with code ${String(result.exitCode)}`,
        true,
      );
    }
    this.requestStop('exited');
    return exit;
  }
}

/** An open file being read: its identity, where we are, and its own partial line. */
class Tracked {
  pos = 0;
  readonly tail = Buffer.alloc(TAIL_CHECK);
  tailLen = 0;

  constructor(
    readonly handle: fs.FileHandle,
    readonly ino: number,
    readonly dev: number,
    readonly size: number,
    readonly scanner: LineScanner,
  ) {}

  /** Keeps the last bytes read, to check later that they are still there. */
  rememberTail(buf: Buffer, n: number): void {
    if (n >= TAIL_CHECK) {
      buf.copy(this.tail, 0, n - TAIL_CHECK, n);
      this.tailLen = TAIL_CHECK;
      return;
    }
    const keep = Math.min(this.tailLen, TAIL_CHECK - n);
    this.tail.copy(this.tail, 0, this.tailLen - keep, this.tailLen);
    buf.copy(this.tail, keep, 0, n);
    this.tailLen = keep + n;
  }

  /** False when the bytes just before `pos` changed: the file was truncated and rewritten past `pos`. */
  async tailUnchanged(scratch: Buffer): Promise<boolean> {
    if (this.tailLen === 0 || this.pos < this.tailLen) return true;
    const { bytesRead } = await this.handle.read(scratch, 0, this.tailLen, this.pos - this.tailLen);
    return bytesRead === this.tailLen && scratch.compare(this.tail, 0, this.tailLen, 0, this.tailLen) === 0;
  }

  async close(): Promise<void> {
    try {
      await this.handle.close();
    } catch {
      // already closed
    }
  }
}

async function openTracked(file: string, scanner: () => LineScanner): Promise<Tracked | null> {
  let handle: fs.FileHandle;
  await assertRegularLogFile(file);
  try {
    handle = await fs.open(file, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw error;
  }
  try {
    const st = await handle.stat();
    if (st.isDirectory()) throw new Error('is a directory, not a log file');
    return new Tracked(handle, st.ino, st.dev, st.size, scanner());
  } catch (error) {
    await handle.close();
    throw error;
  }
}

async function statOrNull(file: string): Promise<{ ino: number; dev: number } | null> {
  try {
    return await fs.stat(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw error;
  }
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code !== undefined && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
