/**
 * Public types of the log-following core. Everything here is plain data, so a React
 * component can keep it in state and a headless command can print it as JSON.
 */

/** Where log lines come from: a file followed like `tail -F`, or a command's stdout+stderr. */
export type LogSource =
  | { kind: 'file'; path: string }
  | { kind: 'command'; command: string; args: string[]; env?: Record<string, string> };

/** Lines and matches seen during one wall-clock minute (`minuteStart` is epoch ms, a multiple of 60 000). */
export interface MinuteBucket {
  minuteStart: number;
  lines: number;
  matched: number;
}

/**
 * A snapshot of what a follower has seen. Times are when lines were *read*, not the
 * timestamps written in the log (those are not parsed), so rates only mean something
 * while following live: a `fromStart` read of an old file puts it all in one minute.
 */
export interface LogStats {
  /** Epoch ms when following started. */
  startedAt: number;
  /** Epoch ms when this snapshot was taken. */
  at: number;
  elapsedMs: number;
  totalLines: number;
  matchedLines: number;
  /** Lines longer than `maxLineBytes`: their text was cut (matching still looked at the rest). */
  truncatedLines: number;
  bytesRead: number;
  /** Matched lines read in the last 60 s (sliding window, 1 s resolution). */
  matchesLastMinute: number;
  linesLastMinute: number;
  /** One bucket per minute, oldest first, contiguous (empty minutes are zeros), at most `histogramMinutes`. */
  perMinute: MinuteBucket[];
  /** Rename and truncate rotations seen so far. */
  rotations: number;
}

export type EndReason =
  /** `stop()` was called. */
  | 'stopped'
  /** The `signal` passed in options was aborted. */
  | 'aborted'
  /** The command exited on its own (see `exitCode`). */
  | 'exited'
  /** The command could not be started, or `onEvent` threw. */
  | 'failed';

export interface LogSummary {
  reason: EndReason;
  stats: LogStats;
  /** Command sources only: the exit code (`null` when killed by a signal). */
  exitCode?: number | null;
  /** Command sources only: the signal that ended the command, if any. */
  exitSignal?: string | null;
  /** The last error reported with an `error` event, if any. */
  lastError?: string;
}

export type LogEvent =
  | {
      type: 'line';
      /** The line without its `\n` (and without a trailing `\r`), cut to `maxLineBytes` when `truncated`. */
      text: string;
      matched: boolean;
      /**
       * 1-based number of this line among all lines this follower has read (across
       * rotations; includes unmatched lines that were not emitted). Following from the end
       * of a file, it counts from there, not from the top of the file.
       */
      lineNumber: number;
      truncated: boolean;
      /** Command sources only. */
      stream?: 'stdout' | 'stderr';
    }
  | {
      type: 'rotated';
      /** `rename`: the path names a new file (logrotate `create`); `truncate`: the file shrank (`copytruncate`). */
      how: 'rename' | 'truncate';
    }
  /** Files: now reading `path` from byte `offset` (at the start, after a rename rotation, when it appears). */
  | { type: 'opened'; path: string; offset: number }
  /** Commands: the command is running. */
  | { type: 'spawned'; pid: number }
  /** Files: the file does not exist (yet, or any more); said once until it is there again. */
  | { type: 'waiting'; reason: string }
  | {
      type: 'error';
      message: string;
      /** True when the follower stops because of it (e.g. the command could not be started). */
      fatal: boolean;
    }
  | { type: 'stats'; stats: LogStats }
  /** Always the last event. */
  | { type: 'end'; summary: LogSummary };

export interface FollowLogOptions {
  source: LogSource;
  /** Regular expression tested case-insensitively against each line. Default `'error'`; `''` matches every line. */
  filter?: string;
  /** Also emit lines that do not match (with `matched: false`). Default false. */
  emitAll?: boolean;
  /** Files only: read the whole file first (true) or start at its end like `tail -F` (false, default). */
  fromStart?: boolean;
  /** Files only: how often to look for new data, rotation and truncation when idle. Default 200 ms. */
  pollIntervalMs?: number;
  /** How often a `stats` event is emitted; 0 disables them (a final one is always emitted). Default 1000 ms. */
  statsIntervalMs?: number;
  /** Longer lines are cut to this many bytes and flagged `truncated`. Default 64 KiB. */
  maxLineBytes?: number;
  /** Files only: read size. Default 64 KiB. */
  chunkBytes?: number;
  /**
   * Files only: after a rename rotation, keep reading the old file for this long, for lines
   * the application writes there before it reopens its log. Default 2000 ms.
   */
  rotationGraceMs?: number;
  /** Minutes kept in `perMinute`. Default 60. */
  histogramMinutes?: number;
  /** Directory a relative file path or the command is resolved against. Default `process.cwd()`. */
  cwd?: string;
  /** Aborting it ends the follower like `stop()`, with reason `aborted`. */
  signal?: AbortSignal;
  /** Clock for stats (epoch ms). Default `Date.now`. */
  now?: () => number;
  /** Called synchronously for every event. If it throws, the follower ends with reason `failed`. */
  onEvent: (event: LogEvent) => void;
}

/** The handle `followLog` returns. */
export interface LogFollower {
  /** Ends following (kills a command) and resolves with the summary; safe to call more than once. */
  stop(): Promise<LogSummary>;
  /** A snapshot of the stats now. */
  stats(): LogStats;
  /** Resolves with the summary when the follower ends for any reason (never rejects). */
  readonly done: Promise<LogSummary>;
}

export interface CountResult {
  lines: number;
  matched: number;
  bytes: number;
  truncatedLines: number;
  elapsedMs: number;
}

export interface CountMatchesOptions {
  signal?: AbortSignal;
  /** Read size. Default 1 MiB. */
  chunkBytes?: number;
  /** Lines longer than this are matched piecewise (see `LineScanner`). Default 64 KiB. */
  maxLineBytes?: number;
  cwd?: string;
}

export interface ErrorRateComparison {
  /** Matches per minute in the "before" window. */
  beforePerMinute: number;
  afterPerMinute: number;
  beforeWindowMs: number;
  afterWindowMs: number;
  beforeMatched: number;
  afterMatched: number;
  /** after / before; null when before is 0. */
  ratio: number | null;
  direction: 'rose' | 'fell' | 'unchanged';
  /** E.g. "error rate rose from 0.5/min to 40/min". */
  text: string;
}
