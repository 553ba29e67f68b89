import type pg from 'pg';
import { connect, type Target } from '../connection';
import type { Operator } from '../identity';
import type { Blocker } from './events';
import { delay } from './lock';

/** Why the running statement stopped, when mutx-ops stopped it. */
export type StopReason = 'timeout' | 'cancelled';

export const LOCK_NOT_AVAILABLE = '55P03';
/** Sets client_connection_check_interval where the server has it (14+): a dead client's statement ends within a second. */
export const CONNECTION_CHECK = "SELECT set_config('client_connection_check_interval', '1000', false) WHERE current_setting('server_version_num')::int >= 140000";
export const QUERY_CANCELED = '57014';

export interface WatchOptions {
  target: Target;
  operator: Operator;
  connectTimeoutSeconds?: number;
  /** Epoch ms: --timeout, enforced on the server. */
  deadline?: number;
  signal?: AbortSignal;
  /** Told the sessions blocking the watched backend while it waits for a lock. */
  onBlocked?: (blockers: Blocker[]) => void;
  /** Called once when the deadline passes or the operator cancels (after the server-side cancel). */
  onStop?: (reason: StopReason) => void;
}

/**
 * The server-side half of every migration run, whichever engine runs it: the backend that runs
 * the migration is watched from a second connection, which asks who blocks it while it waits
 * and cancels its statement with pg_cancel_backend when --timeout expires or the operator
 * cancels (a client-side query_timeout would leave the statement running on the server).
 */
export class ServerWatch {
  stopReason?: StopReason;
  lastBlockers: Blocker[] = [];
  private pid?: number;
  private busySince?: number;
  private control?: pg.Client;
  private controlPending?: Promise<pg.Client | undefined>;
  private pollTimer?: NodeJS.Timeout;
  private deadlineTimer?: NodeJS.Timeout;
  private polling = false;
  private readonly onAbort = () => this.stop('cancelled');

  constructor(private readonly options: WatchOptions) {
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
    if (options.signal?.aborted) this.stopReason = 'cancelled';
    if (options.deadline !== undefined) {
      this.deadlineTimer = setTimeout(() => this.stop('timeout'), Math.max(0, options.deadline - Date.now()));
    }
    this.pollTimer = setInterval(() => void this.pollBlockers(), 300);
  }

  /** The backend whose statements are watched (and cancelled). */
  watch(pid: number | undefined): void {
    this.pid = pid;
  }

  /** A statement started (busy) or ended; blockers are asked for only while one runs. */
  busy(running: boolean): void {
    this.busySince = running ? Date.now() : undefined;
  }

  stop(reason: StopReason): void {
    if (this.stopReason && this.stopReason !== reason) return;
    const first = !this.stopReason;
    this.stopReason = reason;
    void this.cancelBackend().then(() => {
      if (first) this.options.onStop?.(reason);
    });
  }

  /** Milliseconds left before the deadline (Infinity without one). */
  remainingMs(): number {
    return this.options.deadline === undefined ? Infinity : this.options.deadline - Date.now();
  }

  async close(): Promise<void> {
    this.options.signal?.removeEventListener('abort', this.onAbort);
    clearTimeout(this.deadlineTimer);
    clearInterval(this.pollTimer);
    const control = this.control ?? (await this.controlPending?.catch(() => undefined));
    await control?.end().catch(() => {});
  }

  private async controlConnection(): Promise<pg.Client | undefined> {
    if (this.control) return this.control;
    this.controlPending ??= connect(this.options.target, { operator: this.options.operator, connectTimeoutSeconds: this.options.connectTimeoutSeconds })
      .then((client) => (this.control = client))
      .catch(() => undefined);
    return this.controlPending;
  }

  private async cancelBackend(): Promise<void> {
    if (this.pid === undefined) return;
    const control = await this.controlConnection();
    await control?.query('SELECT pg_cancel_backend($1)', [this.pid]).catch(() => {});
  }

  private async pollBlockers(): Promise<void> {
    if (this.polling || this.pid === undefined || this.busySince === undefined || Date.now() - this.busySince < 250) return;
    this.polling = true;
    try {
      const control = await this.controlConnection();
      if (!control) return;
      const result = await control.query<{ pid: number; application_name: string; state: string | null; xact_start: Date | null; query: string }>(
        'SELECT pid, application_name, state, xact_start, left(query, 200) AS query FROM pg_stat_activity WHERE pid = ANY(pg_blocking_pids($1))',
        [this.pid],
      );
      if (result.rows.length > 0) {
        this.lastBlockers = result.rows.map((row) => ({ pid: row.pid, applicationName: row.application_name, state: row.state, xactStart: row.xact_start, query: row.query }));
        this.options.onBlocked?.(this.lastBlockers);
      }
    } catch {
      // Diagnostics only.
    } finally {
      this.polling = false;
    }
  }
}

/**
 * Retries `attempt` after a lock timeout, with exponential backoff (1, 2, 4… s, at most 8),
 * `retries` times, never past the deadline and never once the run was stopped.
 */
export async function withLockRetries(options: {
  retries: number;
  watch: ServerWatch;
  isLockTimeout: (error: unknown) => boolean;
  onRetry: (attempt: number, delayMs: number) => void;
  signal?: AbortSignal;
  attempt: () => Promise<void>;
}): Promise<void> {
  for (let tries = 0; ; tries++) {
    try {
      await options.attempt();
      return;
    } catch (error) {
      if (!options.isLockTimeout(error) || tries >= options.retries || options.watch.stopReason) throw error;
      const delayMs = Math.min(8000, 1000 * 2 ** tries);
      if (options.watch.remainingMs() <= delayMs) throw error;
      options.onRetry(tries + 1, delayMs);
      await delay(delayMs, options.signal);
    }
  }
}
