import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { ensurePrivateDir } from './config';
import { quoteIdent, redactSecrets } from './connection';
import { MutxError } from './errors';
import type { Operator } from './identity';

/**
 * The audit trail: an append-only JSONL file where every record carries the hash of the one
 * before it, so an edited, deleted, reordered or truncated record is detected by `audit verify`.
 * The local file is the source of truth; records are mirrored into the target database when a
 * connection is at hand, and mirroring never blocks or fails an operation.
 */

export type AuditOutcome = 'ok' | 'failed' | 'timeout' | 'interrupted' | 'refused' | 'cancelled';

export interface AuditEntry {
  action: string;
  phase: 'start' | 'end' | 'event';
  target?: string;
  args?: Record<string, unknown>;
  outcome?: AuditOutcome;
  duration_ms?: number;
  revisions_before?: string[];
  revisions_after?: string[];
  run_id?: string;
  drill?: boolean;
  error?: string;
  details?: Record<string, unknown>;
}

export interface AuditRecord extends AuditEntry {
  seq: number;
  ts: string;
  op_id: string;
  operator: string;
  host: string;
  pid: number;
  prev: string;
  hash: string;
}

export interface AuditVerification {
  ok: boolean;
  records: number;
  /** 1-based line of the first bad record, and why. */
  firstBad?: { line: number; seq?: number; reason: string };
}

const GENESIS = '0'.repeat(64);

function hashRecord(prev: string, body: Omit<AuditRecord, 'hash'>): string {
  return crypto.createHash('sha256').update(prev).update('\n').update(JSON.stringify(body)).digest('hex');
}

/** Strips passwords from anything an operator or a caller put into a record. */
function scrub<T>(value: T): T {
  if (typeof value === 'string') return redactSecrets(value) as T;
  if (Array.isArray(value)) return value.map(scrub) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      out[key] = /password|secret|token|api[_-]?key/i.test(key) ? '***' : scrub(inner);
    }
    return out as T;
  }
  return value;
}

export class AuditTrail {
  readonly file: string;
  private readonly headFile: string;
  private readonly lockFile: string;
  private readonly openOpsDir: string;
  private unmirrored: AuditRecord[] = [];

  constructor(
    file: string,
    private readonly operator: Operator,
  ) {
    this.file = file;
    this.headFile = `${file}.head`;
    this.lockFile = `${file}.lock`;
    this.openOpsDir = `${file}.open`;
  }

  /** Appends one record under a file lock so concurrent mutx-ops processes keep one chain. */
  append(entry: AuditEntry, opId: string = crypto.randomUUID()): AuditRecord {
    ensurePrivateDir(path.dirname(this.file));
    return this.withFileLock(() => {
      const last = this.readLastRecord();
      const body: Omit<AuditRecord, 'hash'> = {
        seq: (last?.seq ?? 0) + 1,
        ts: new Date().toISOString(),
        op_id: opId,
        operator: this.operator.name,
        host: this.operator.host,
        pid: process.pid,
        ...scrub(entry),
        prev: last?.hash ?? GENESIS,
      };
      const record: AuditRecord = { ...body, hash: hashRecord(body.prev, body) };
      const fd = fs.openSync(this.file, 'a', 0o600);
      try {
        fs.writeSync(fd, `${JSON.stringify(record)}\n`);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.chmodSync(this.file, 0o600);
      writeFileAtomic(this.headFile, `${JSON.stringify({ seq: record.seq, hash: record.hash })}\n`);
      this.unmirrored.push(record);
      return record;
    });
  }

  /**
   * Opens an operation: writes its start record, and remembers it in a small marker file so
   * that, if this process dies, the next mutx-ops records the interruption.
   */
  begin(entry: Omit<AuditEntry, 'phase'>): AuditOperation {
    this.recordInterruptedOperations();
    const opId = crypto.randomUUID();
    const startedAt = Date.now();
    this.append({ ...entry, phase: 'start' }, opId);
    ensurePrivateDir(this.openOpsDir);
    fs.writeFileSync(path.join(this.openOpsDir, opId), JSON.stringify({ pid: process.pid, action: entry.action, run_id: entry.run_id, target: entry.target }), { mode: 0o600 });
    return new AuditOperation(this, opId, entry, startedAt, path.join(this.openOpsDir, opId));
  }

  /** Finds operations whose process is gone without an end record, and closes them as interrupted. */
  recordInterruptedOperations(): AuditRecord[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.openOpsDir);
    } catch {
      return [];
    }
    const closed: AuditRecord[] = [];
    for (const name of names) {
      const markerPath = path.join(this.openOpsDir, name);
      let marker: { pid: number; action: string; run_id?: string; target?: string };
      try {
        marker = JSON.parse(fs.readFileSync(markerPath, 'utf8'));
      } catch {
        fs.rmSync(markerPath, { force: true });
        continue;
      }
      if (processAlive(marker.pid)) continue;
      closed.push(
        this.append(
          {
            action: marker.action,
            phase: 'end',
            outcome: 'interrupted',
            target: marker.target,
            run_id: marker.run_id,
            error: `process ${marker.pid} ended without finishing (killed or crashed); recorded by process ${process.pid}`,
          },
          name,
        ),
      );
      fs.rmSync(markerPath, { force: true });
    }
    return closed;
  }

  readAll(): AuditRecord[] {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch {
      return [];
    }
    const records: AuditRecord[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        records.push(JSON.parse(line) as AuditRecord);
      } catch {
        // A damaged line is reported by verify(); readers skip it.
      }
    }
    return records;
  }

  last(count: number): AuditRecord[] {
    const all = this.readAll();
    return all.slice(Math.max(0, all.length - count));
  }

  verify(): AuditVerification {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        if (fs.existsSync(this.headFile)) {
          return { ok: false, records: 0, firstBad: { line: 1, reason: 'the audit file is missing but its head marker exists (file deleted)' } };
        }
        return { ok: true, records: 0 };
      }
      throw error;
    }
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    let prev = GENESIS;
    let expectedSeq = 1;
    for (let i = 0; i < lines.length; i++) {
      const lineNumber = i + 1;
      let record: AuditRecord;
      try {
        record = JSON.parse(lines[i]!) as AuditRecord;
      } catch {
        return { ok: false, records: i, firstBad: { line: lineNumber, reason: 'not valid JSON (edited or truncated)' } };
      }
      const { hash, ...body } = record;
      if (record.seq !== expectedSeq) {
        const reason = record.seq > expectedSeq ? `sequence jumps from ${expectedSeq - 1} to ${record.seq} (records deleted)` : `sequence ${record.seq} out of order (expected ${expectedSeq}: records reordered or duplicated)`;
        return { ok: false, records: i, firstBad: { line: lineNumber, seq: record.seq, reason } };
      }
      if (record.prev !== prev) {
        return { ok: false, records: i, firstBad: { line: lineNumber, seq: record.seq, reason: 'does not chain to the record before it (reordered or replaced)' } };
      }
      if (hashRecord(prev, body) !== hash) {
        return { ok: false, records: i, firstBad: { line: lineNumber, seq: record.seq, reason: 'content does not match its hash (edited)' } };
      }
      prev = hash;
      expectedSeq++;
    }
    const head = readHead(this.headFile);
    if (head && (head.seq !== expectedSeq - 1 || head.hash !== prev)) {
      const reason = head.seq > expectedSeq - 1 ? `the file ends at record ${expectedSeq - 1} but record ${head.seq} was written (records removed from the end)` : `the head marker (record ${head.seq}) disagrees with the file's last record ${expectedSeq - 1}`;
      return { ok: false, records: lines.length, firstBad: { line: lines.length + 1, seq: expectedSeq, reason } };
    }
    return { ok: true, records: lines.length };
  }

  /**
   * Copies records into `<schema>.mutx_ops_audit` in the target database. `all` mirrors the whole
   * file (after a restore the database may lack records); otherwise only this process's new ones.
   * Returns the number of records inserted; errors are swallowed on purpose.
   */
  async mirror(client: pg.Client, options: { schema: string; create: boolean; all?: boolean }): Promise<number> {
    const records = options.all ? this.readAll() : this.unmirrored;
    if (records.length === 0) return 0;
    const table = `${quoteIdent(options.schema)}.mutx_ops_audit`;
    try {
      if (options.create) {
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${table} (hash text PRIMARY KEY, seq bigint NOT NULL, ts timestamptz NOT NULL, action text NOT NULL, record jsonb NOT NULL, mirrored_at timestamptz NOT NULL DEFAULT now())`,
        );
      } else {
        const exists = await client.query('SELECT to_regclass($1) IS NOT NULL AS present', [`${options.schema}.mutx_ops_audit`]);
        if (!exists.rows[0]?.present) return 0;
      }
      const result = await client.query(
        `INSERT INTO ${table} (hash, seq, ts, action, record)
         SELECT r->>'hash', (r->>'seq')::bigint, (r->>'ts')::timestamptz, r->>'action', r
         FROM jsonb_array_elements($1::jsonb) AS r
         ON CONFLICT (hash) DO NOTHING`,
        [JSON.stringify(records)],
      );
      if (!options.all) this.unmirrored = [];
      return result.rowCount ?? 0;
    } catch {
      return 0;
    }
  }

  private readLastRecord(): AuditRecord | undefined {
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch {
      return undefined;
    }
    try {
      const size = fs.fstatSync(fd).size;
      let chunkSize = 64 * 1024;
      for (;;) {
        const start = Math.max(0, size - chunkSize);
        const buffer = Buffer.alloc(size - start);
        fs.readSync(fd, buffer, 0, buffer.length, start);
        const text = buffer.toString('utf8').replace(/\n+$/, '');
        const cut = text.lastIndexOf('\n');
        if (cut >= 0 || start === 0) {
          const line = text.slice(cut + 1);
          if (!line) return undefined;
          try {
            return JSON.parse(line) as AuditRecord;
          } catch {
            throw new MutxError('audit', `${this.file}: the last record is damaged; refusing to extend a broken chain`, {
              hint: 'run `mutx-ops audit verify` and move the damaged file aside',
            });
          }
        }
        chunkSize *= 4;
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  private withFileLock<T>(fn: () => T): T {
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        const fd = fs.openSync(this.lockFile, 'wx', 0o600);
        fs.writeSync(fd, String(process.pid));
        fs.closeSync(fd);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const holder = Number(safeRead(this.lockFile));
        if (holder && !processAlive(holder)) {
          fs.rmSync(this.lockFile, { force: true });
          continue;
        }
        if (Date.now() > deadline) {
          throw new MutxError('audit', `${this.lockFile} is held by process ${holder || 'unknown'} for over 10 s`, {
            hint: 'if that process is gone, delete the lock file',
          });
        }
        sleepSync(2);
      }
    }
    try {
      return fn();
    } finally {
      fs.rmSync(this.lockFile, { force: true });
    }
  }
}

export class AuditOperation {
  constructor(
    private readonly trail: AuditTrail,
    readonly opId: string,
    private readonly entry: Omit<AuditEntry, 'phase'>,
    private readonly startedAt: number,
    private readonly markerPath: string,
  ) {}

  end(outcome: AuditOutcome, extra: Partial<AuditEntry> = {}): AuditRecord {
    const record = this.trail.append(
      {
        action: this.entry.action,
        target: this.entry.target,
        run_id: this.entry.run_id,
        drill: this.entry.drill,
        ...extra,
        phase: 'end',
        outcome,
        duration_ms: Date.now() - this.startedAt,
      },
      this.opId,
    );
    fs.rmSync(this.markerPath, { force: true });
    return record;
  }
}

function readHead(file: string): { seq: number; hash: string } | undefined {
  const text = safeRead(file);
  if (!text) return undefined;
  try {
    return JSON.parse(text) as { seq: number; hash: string };
  } catch {
    return undefined;
  }
}

function safeRead(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

export function writeFileAtomic(file: string, content: string, mode = 0o600): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content, { mode });
  fs.renameSync(tmp, file);
}
