import type pg from 'pg';
import type { BackupEvent, BackupEventHandler, BackupOperation } from './types';

/**
 * Progress for dumps and restores: tables from the tool's --verbose lines, bytes from the hashing
 * transform (dump) or pg_stat_progress_copy (restore), and an ETA from the on-disk size of the
 * tables (pg_table_size, part of pg_database_size) as their COPY advances. Events are emitted on a
 * timer (never per line or per chunk), so a chatty tool costs nothing extra.
 */

export interface TableInfo {
  oid: string;
  name: string;
  bytes: number;
}

export interface ActivitySample {
  /** relid → bytes_processed of each COPY the tool's sessions are running. */
  copies: Map<string, number>;
  waitingOnPids: number[];
}

/** Polls the tool's server sessions (found by their application_name) on a separate connection. */
export class ActivityMonitor {
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private running?: Promise<void>;

  constructor(
    private readonly client: pg.Client,
    private readonly applicationName: string,
    private readonly hasCopyProgress: boolean,
    private readonly onSample: (sample: ActivitySample) => void,
    private readonly intervalMs = 500,
  ) {}

  start(): void {
    this.schedule(100);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => {});
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.poll().finally(() => this.schedule(this.intervalMs));
    }, delay);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    const sql = this.hasCopyProgress
      ? `SELECT a.pid, p.relid::text AS relid, p.bytes_processed::float8 AS bytes, pg_blocking_pids(a.pid) AS blockers
           FROM pg_stat_activity a LEFT JOIN pg_stat_progress_copy p ON p.pid = a.pid
          WHERE a.application_name = $1 AND a.pid <> pg_backend_pid()`
      : `SELECT a.pid, NULL::text AS relid, NULL::float8 AS bytes, pg_blocking_pids(a.pid) AS blockers
           FROM pg_stat_activity a WHERE a.application_name = $1 AND a.pid <> pg_backend_pid()`;
    try {
      const result = await this.client.query<{ pid: number; relid: string | null; bytes: number | null; blockers: number[] | null }>(sql, [this.applicationName]);
      const copies = new Map<string, number>();
      const waiting = new Set<number>();
      for (const row of result.rows) {
        if (row.relid && row.relid !== '0') copies.set(row.relid, Number(row.bytes ?? 0));
        for (const pid of row.blockers ?? []) waiting.add(Number(pid));
      }
      if (!this.stopped) this.onSample({ copies, waitingOnPids: [...waiting] });
    } catch {
      // progress is best effort; the operation itself never depends on it
    }
  }
}

export interface TrackerOptions {
  operation: BackupOperation;
  emit: BackupEventHandler;
  tablesTotal: number;
  /** "schema.table" → table; used to turn finished tables into bytes read for the ETA. */
  tables?: Map<string, TableInfo>;
  /** Bytes produced so far (the dump's file); absent → bytes the server loaded (restore). */
  bytes?: () => number;
  /** Total used when per-table progress is unknown: pg_database_size, the dump's data size, or the file size. */
  fallbackTotalBytes?: number;
  intervalMs?: number;
}

export class ProgressTracker {
  private readonly startedAt = Date.now();
  private dataStartedAt?: number;
  private readonly seen = new Set<string>();
  private finished = 0;
  private readonly loaded = new Map<string, number>();
  private sample?: ActivitySample;
  private timer?: NodeJS.Timeout;
  private readonly totalDataBytes: number;

  constructor(private readonly options: TrackerOptions) {
    let total = 0;
    for (const table of options.tables?.values() ?? []) total += table.bytes;
    this.totalDataBytes = total;
  }

  start(): void {
    this.timer = setInterval(() => this.emit(false), this.options.intervalMs ?? 250);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A table whose data the tool started on (`dumping contents of table "s.t"`). */
  tableStarted(name: string): void {
    this.dataStartedAt ??= Date.now();
    this.seen.add(name);
  }

  /** A table whose data the tool finished (psql's `COPY n`). */
  tableFinished(): void {
    this.dataStartedAt ??= Date.now();
    this.finished++;
  }

  onSample(sample: ActivitySample): void {
    this.sample = sample;
    for (const [relid, bytes] of sample.copies) this.loaded.set(relid, Math.max(bytes, this.loaded.get(relid) ?? 0));
  }

  get bytes(): number {
    if (this.options.bytes) return this.options.bytes();
    let total = 0;
    for (const value of this.loaded.values()) total += value;
    return total;
  }

  event(final: boolean): Extract<BackupEvent, { type: 'progress' }> {
    const now = Date.now();
    const total = this.options.tablesTotal;
    const active = this.sample ? this.sample.copies.size : this.seen.size > 0 ? 1 : 0;
    const started = Math.max(0, this.seen.size - active);
    const tablesDone = final ? Math.max(total, this.seen.size, this.finished) : Math.min(total, Math.max(started, this.finished));
    const bytes = this.bytes;
    const elapsed = Math.max(0.001, (now - this.startedAt) / 1000);
    const rate = bytes / elapsed;
    let eta: number | undefined;
    if (final) {
      eta = 0;
    } else if (this.totalDataBytes > 0 && this.dataStartedAt !== undefined && this.options.tables) {
      let read = 0;
      for (const name of this.seen) {
        const table = this.options.tables.get(name);
        if (!table) continue;
        const copying = this.sample?.copies.get(table.oid);
        read += copying === undefined ? table.bytes : Math.min(copying, table.bytes);
      }
      const fraction = Math.min(1, read / this.totalDataBytes);
      const dataElapsed = (now - this.dataStartedAt) / 1000;
      if (fraction >= 0.01 && dataElapsed >= 0.5) eta = Math.max(0, (dataElapsed * (1 - fraction)) / fraction);
    }
    if (eta === undefined && !final && this.options.fallbackTotalBytes && rate > 0 && bytes > 0) {
      eta = Math.max(0, (this.options.fallbackTotalBytes - bytes) / rate);
    }
    const waiting = this.sample?.waitingOnPids.length ? this.sample.waitingOnPids : undefined;
    return {
      type: 'progress',
      operation: this.options.operation,
      tablesDone,
      tablesTotal: total,
      bytes,
      rateBytesPerSec: Math.round(rate),
      ...(eta !== undefined ? { etaSeconds: Math.round(eta) } : {}),
      ...(waiting && !final ? { waitingOnPids: waiting } : {}),
    };
  }

  emit(final: boolean): void {
    safeEmit(this.options.emit, this.event(final));
  }
}

/** A listener that throws must never break a backup or a restore. */
export function safeEmit(handler: BackupEventHandler | undefined, event: BackupEvent): void {
  if (!handler) return;
  try {
    handler(event);
  } catch {
    // ignore
  }
}
