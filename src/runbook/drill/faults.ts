import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { connect, type Target } from '../../core/connection';
import type { FaultHooks } from '../../core/faults';
import type { Operator } from '../../core/identity';
import { readVersionRows, type VersionTableNames } from '../../core/migrations/versionTable';
import type { Fault } from './schema';

/**
 * A stand-in for the MUTX application during a drill: it reads the schema revision a few times
 * a second and logs like the real API would — healthy lines, and error lines while `isBroken`
 * says the schema is one the application cannot work with.
 */
export class AppSimulator {
  private timer?: NodeJS.Timeout;
  private client?: pg.Client;
  private ticking = false;
  errorLines = 0;

  constructor(
    private readonly options: {
      target: Target;
      operator: Operator;
      names: VersionTableNames;
      logFile: string;
      isBroken: (versionRows: string[]) => boolean;
      errorsPerSecond: number;
      errorLine: string;
    },
  ) {}

  async start(): Promise<void> {
    fs.mkdirSync(path.dirname(this.options.logFile), { recursive: true, mode: 0o700 });
    fs.appendFileSync(this.options.logFile, '', { mode: 0o600 });
    this.client = await connect(this.options.target, { operator: { ...this.options.operator, name: 'drill-app' } });
    this.client.on('error', () => {});
    const tickMs = 250;
    this.timer = setInterval(() => void this.tick(tickMs), tickMs);
  }

  private async tick(tickMs: number): Promise<void> {
    if (this.ticking || !this.client) return;
    this.ticking = true;
    try {
      const rows = await readVersionRows(this.client, this.options.names);
      const now = new Date().toISOString();
      const lines = [`${now} INFO api: GET /v1/agents 200 (schema ${rows.join(',') || 'base'})`];
      if (this.options.isBroken(rows)) {
        const count = Math.max(1, Math.round((this.options.errorsPerSecond * tickMs) / 1000));
        for (let i = 0; i < count; i++) lines.push(`${now} ${this.options.errorLine}`);
        this.errorLines += count;
      }
      fs.appendFileSync(this.options.logFile, `${lines.join('\n')}\n`);
    } catch {
      // The database is being restored or restarted: an application would log that too.
      fs.appendFileSync(this.options.logFile, `${new Date().toISOString()} WARN api: database unavailable, retrying\n`);
    } finally {
      this.ticking = false;
    }
  }

  /** Error lines written over the next `seconds` against the schema as it is now. */
  async errorsOver(seconds: number): Promise<number> {
    const before = this.errorLines;
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    return this.errorLines - before;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    while (this.ticking) await new Promise((resolve) => setTimeout(resolve, 20));
    await this.client?.end().catch(() => {});
    this.client = undefined;
  }
}

/** Another application's session with a transaction left open, holding the locks its statement took. */
export class BlockingSession {
  private client?: pg.Client;
  private releaseTimer?: NodeJS.Timeout;
  pid?: number;

  constructor(private readonly options: { target: Target; operator: Operator; fault: Extract<Fault, { type: 'blocking-transaction' }> }) {}

  async start(): Promise<void> {
    // Named as the application it pretends to be: this is what the operator must find.
    this.client = await connect(this.options.target, { operator: this.options.operator, applicationName: this.options.fault.application_name });
    this.client.on('error', () => {});
    this.pid = (this.client as unknown as { processID: number }).processID;
    await this.client.query('BEGIN');
    await this.client.query(this.options.fault.statement);
    const release = this.options.fault.release_after_seconds;
    if (release !== undefined) this.releaseTimer = setTimeout(() => void this.stop(), release * 1000);
  }

  async stop(): Promise<void> {
    clearTimeout(this.releaseTimer);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    await client.query('ROLLBACK').catch(() => {});
    await client.end().catch(() => {});
  }
}

/**
 * Backup faults through the core's hooks: the stream really goes to /dev/full (the kernel
 * answers ENOSPC), or the finished file really is overwritten in its middle.
 */
export function backupFaultHooks(fault: Extract<Fault, { type: 'backup-failure' }>, onInjected: (what: string) => void): FaultHooks {
  let remaining = fault.failures ?? Number.POSITIVE_INFINITY;
  if (fault.mode === 'disk-full') {
    return {
      divertBackupStream: () => {
        if (remaining <= 0) return undefined;
        remaining--;
        onInjected('backup stream sent to /dev/full (ENOSPC)');
        return '/dev/full';
      },
    };
  }
  return {
    afterBackupWritten: (file) => {
      if (remaining <= 0) return;
      remaining--;
      const size = fs.statSync(file).size;
      const fd = fs.openSync(file, 'r+');
      try {
        // Zeroes over the middle of the archive: the size stays, the checksum and the data do not.
        fs.writeSync(fd, Buffer.alloc(Math.min(4096, Math.max(1, Math.floor(size / 4)))), 0, undefined, Math.floor(size / 2));
      } finally {
        fs.closeSync(fd);
      }
      onInjected(`backup file ${path.basename(file)} corrupted on disk`);
    },
  };
}

