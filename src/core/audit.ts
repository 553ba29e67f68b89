import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { ensurePrivateDir, openStateFileForAppend, openStateFileForRead, writeFileAtomic } from './statePaths';
import { redactSecrets } from './connection';
import { AUDIT_HEAD_TABLE, AUDIT_TABLE, legacyTable, moveLegacyTables, OWN_SCHEMA } from './migrations/ownTables';
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
/** How long to wait for the audit file lock. */
const LOCK_WAIT_MS = 10_000;
/** An empty or unreadable lock file (or op marker) older than this was left by a killed process. */
const STALE_EMPTY_MS = 2_000;
/** Records per INSERT when mirroring. */
const MIRROR_BATCH = 2_000;
/** Chunk size of the backward scan for an interrupted operation's records. */
const TAIL_SCAN_BYTES = 256 * 1024;

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
  /** Names this trail in databases' head rows: the machine and the file's absolute path. */
  readonly trailId: string;

  constructor(
    file: string,
    private readonly operator: Operator,
  ) {
    this.file = file;
    this.headFile = `${file}.head`;
    this.lockFile = `${file}.lock`;
    this.openOpsDir = `${file}.open`;
    this.trailId = `${os.hostname()}:${path.resolve(file)}`;
  }

  /** Appends one record under a file lock so concurrent mutx-ops processes keep one chain. */
  append(entry: AuditEntry, opId: string = crypto.randomUUID()): AuditRecord {
    ensurePrivateDir(path.dirname(this.file));
    return this.withFileLock(() => this.appendLocked(entry, opId));
  }

  /**
   * Appends one record; the caller holds the file lock. The head marker is rewritten after the
   * record: a kill in between leaves it one record behind, which verify() accepts and the next
   * append repairs.
   */
  private appendLocked(entry: AuditEntry, opId: string): AuditRecord {
    const tail = this.readTail();
    const last = tail.record;
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
    // A whole record chaining to the last one but missing its newline (`truncate -s -1`): nothing
    // is lost, so the newline is written first rather than gluing two records onto one line.
    const line = Buffer.from(`${tail.terminated ? '' : '\n'}${JSON.stringify(record)}\n`);
    const fd = openStateFileForAppend(this.file);
    let size = 0;
    try {
      size = fs.fstatSync(fd).size;
      writeWhole(fd, line);
      fs.fsyncSync(fd);
    } catch (error) {
      // A short write (disk full, file size limit) must not leave half a record behind.
      truncateBack(fd, size);
      throw writeFailure(this.file, error);
    } finally {
      fs.closeSync(fd);
    }
    try {
      writeFileAtomic(this.headFile, `${JSON.stringify({ seq: record.seq, hash: record.hash })}\n`);
    } catch (error) {
      // Without its head marker the record would look like tampering later: take it back.
      const again = fs.openSync(this.file, fs.constants.O_RDWR | fs.constants.O_NOFOLLOW);
      try {
        truncateBack(again, size);
      } finally {
        fs.closeSync(again);
      }
      throw writeFailure(this.headFile, error);
    }
    this.unmirrored.push(record);
    return record;
  }

  /**
   * Opens an operation: remembers it in a small marker file, then writes its start record, so
   * that, if this process dies at any point after the marker, the next mutx-ops records the
   * interruption (a marker whose start record never made it is dropped).
   */
  begin(entry: Omit<AuditEntry, 'phase'>): AuditOperation {
    this.recordInterruptedOperations();
    const opId = crypto.randomUUID();
    const startedAt = Date.now();
    const markerPath = path.join(this.openOpsDir, opId);
    ensurePrivateDir(path.dirname(this.file));
    ensurePrivateDir(this.openOpsDir, { mark: false });
    const marker: OpenMarker = { op_id: opId, pid: process.pid, action: entry.action, run_id: entry.run_id, target: entry.target, started: new Date(startedAt).toISOString() };
    fs.writeFileSync(markerPath, JSON.stringify(marker), { mode: 0o600, flag: 'wx' });
    // If this process dies here, the marker stays: the next one records the interruption when the
    // start record made it into the file, and drops the marker otherwise.
    try {
      this.append({ ...entry, phase: 'start' }, opId);
    } catch (error) {
      // No start record (append truncates a partial one back): the operation must not run.
      fs.rmSync(markerPath, { force: true });
      // Its kind is kept: a refused state path is bad configuration (exit 2), a full disk a failure.
      if (error instanceof MutxError) throw new MutxError(error.kind, `${entry.action} did not run: the audit trail could not record its start: ${error.message}`, { hint: error.hint, details: error.details });
      throw error;
    }
    return new AuditOperation(this, opId, entry, startedAt, markerPath);
  }

  /**
   * Finds operations whose process is gone without an end record, and closes them as interrupted.
   * A marker whose operation already has its end record (killed before the marker was removed),
   * or has no start record at all (killed before it was written), is just removed.
   */
  recordInterruptedOperations(): AuditRecord[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.openOpsDir);
    } catch {
      return [];
    }
    const dead: { name: string; markerPath: string; marker: OpenMarker }[] = [];
    for (const name of names) {
      const markerPath = path.join(this.openOpsDir, name);
      if (name.endsWith('.tmp')) continue;
      const marker = readMarker(markerPath);
      if (!marker) {
        // Unreadable: written by a process killed mid-write (before its start record), or junk.
        // Give a live writer a moment before removing it.
        if (olderThan(markerPath, STALE_EMPTY_MS)) fs.rmSync(markerPath, { force: true });
        continue;
      }
      if (processAlive(marker.pid)) continue;
      dead.push({ name, markerPath, marker });
    }
    if (dead.length === 0) return [];
    ensurePrivateDir(path.dirname(this.file));
    return this.withFileLock(() => {
      const closed: AuditRecord[] = [];
      // Under the lock: another process may have handled these markers meanwhile.
      const pending = dead.filter((d) => fs.existsSync(d.markerPath));
      if (pending.length === 0) return closed;
      const found = this.findOperations(new Set(pending.map((d) => d.name)));
      for (const { name, markerPath, marker } of pending) {
        const state = found.get(name);
        if (state?.start && !state.end) {
          closed.push(
            this.appendLocked(
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
        }
        fs.rmSync(markerPath, { force: true });
      }
      return closed;
    });
  }

  /**
   * Scans the file backwards (in chunks, from the end) for the start and end records of the
   * given operations. Stops as soon as every operation's start record was seen: an end record
   * always comes after its start, so nothing before it matters. Only called for markers of dead
   * processes, whose records are normally in the last chunk.
   */
  private findOperations(opIds: Set<string>): Map<string, { start: boolean; end: boolean }> {
    const found = new Map<string, { start: boolean; end: boolean }>();
    for (const id of opIds) found.set(id, { start: false, end: false });
    let fd: number;
    try {
      fd = openStateFileForRead(this.file);
    } catch {
      return found;
    }
    try {
      let remaining = opIds.size;
      let position = fs.fstatSync(fd).size;
      let carry = Buffer.alloc(0);
      while (position > 0 && remaining > 0) {
        const start = Math.max(0, position - TAIL_SCAN_BYTES);
        const chunk = Buffer.alloc(position - start);
        fs.readSync(fd, chunk, 0, chunk.length, start);
        position = start;
        let data = carry.length ? Buffer.concat([chunk, carry]) : chunk;
        let cut = -1;
        if (position > 0) {
          // The bytes before the first newline may be the tail of a line in the previous chunk.
          cut = data.indexOf(0x0a);
          if (cut < 0) {
            carry = data;
            continue;
          }
          carry = data.subarray(0, cut);
          data = data.subarray(cut + 1);
        } else {
          carry = Buffer.alloc(0);
        }
        const lines = data.toString('utf8').split('\n');
        for (let i = lines.length - 1; i >= 0 && remaining > 0; i--) {
          const line = lines[i]!;
          if (!line.includes('"op_id"')) continue;
          let record: AuditRecord;
          try {
            record = JSON.parse(line) as AuditRecord;
          } catch {
            continue;
          }
          const state = found.get(record.op_id);
          if (!state) continue;
          if (record.phase === 'end') state.end = true;
          else if (record.phase === 'start' && !state.start) {
            state.start = true;
            remaining--;
          }
        }
      }
    } finally {
      fs.closeSync(fd);
    }
    return found;
  }

  readAll(): AuditRecord[] {
    const records: AuditRecord[] = [];
    for (const { line } of readLines(this.file)) {
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
    const kept: AuditRecord[] = [];
    for (const { line } of readLines(this.file)) {
      if (!line.trim()) continue;
      try {
        kept.push(JSON.parse(line) as AuditRecord);
      } catch {
        continue;
      }
      if (kept.length > count) kept.shift();
    }
    return kept;
  }

  /**
   * Checks the chain line by line, streamed (a trail of any size: no whole-file string).
   * `stopBeforeOffset` checks only the records before that byte (audit repair); `onRecord` sees
   * every record that verified (the database mirror comparison).
   */
  verify(options: { stopBeforeOffset?: number; onRecord?: (record: AuditRecord) => void; chunkBytes?: number } = {}): AuditVerification {
    if (!fs.existsSync(this.file)) {
      if (fs.existsSync(this.headFile)) {
        return { ok: false, records: 0, firstBad: { line: 1, reason: 'the audit file is missing but its head marker exists (file deleted)' } };
      }
      return { ok: true, records: 0 };
    }
    let prev = GENESIS;
    let lastPrev = GENESIS;
    let expectedSeq = 1;
    let lineCount = 0;
    for (const { line, offset } of readLines(this.file, options.chunkBytes)) {
      if (options.stopBeforeOffset !== undefined && offset >= options.stopBeforeOffset) break;
      const i = lineCount++;
      const lineNumber = i + 1;
      let record: AuditRecord;
      try {
        record = JSON.parse(line) as AuditRecord;
        if (!record || typeof record !== 'object') throw new Error('not an object');
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
      options.onRecord?.(record);
      lastPrev = prev;
      prev = hash;
      expectedSeq++;
    }
    const records = expectedSeq - 1;
    if (options.stopBeforeOffset !== undefined) return { ok: true, records };
    const head = readHead(this.headFile);
    if (head && (head.seq !== records || head.hash !== prev)) {
      // A head exactly one record behind is a kill between appending a record and rewriting the
      // head (the record chains, checked above): the head only guards against truncation.
      const oneBehind = records > 0 && head.seq === records - 1 && head.hash === lastPrev;
      if (!oneBehind) {
        if (head.seq > records) {
          const reason = `the file ends at record ${records} but record ${head.seq} was written (records removed from the end)`;
          return { ok: false, records: lineCount, firstBad: { line: lineCount + 1, seq: expectedSeq, reason } };
        }
        // The last record exists but is not the one the head marker names (edited and re-hashed, or replaced).
        const reason =
          head.seq === records
            ? `record ${records} is not the one that was written (the head marker has another hash: edited and re-hashed, or replaced)`
            : `the head marker (record ${head.seq}) disagrees with the file's last record ${records}`;
        return { ok: false, records: lineCount, firstBad: { line: Math.max(1, lineCount), ...(records > 0 ? { seq: records } : {}), reason } };
      }
    }
    return { ok: true, records: lineCount };
  }

  /**
   * Copies records into mutx_ops.audit in the target database (moving a table an older mutx-ops
   * kept as `<schema>.mutx_ops_audit` when it may create). `all` mirrors the whole file (after a
   * restore the database may lack records); otherwise only this process's new ones. Returns the
   * number of records inserted; errors are swallowed on purpose.
   */
  async mirror(client: pg.Client, options: { schema: string; create: boolean; all?: boolean }): Promise<number> {
    const records = options.all ? this.readAll() : this.unmirrored;
    if (records.length === 0) return 0;
    try {
      let table = AUDIT_TABLE;
      let head = true;
      if (options.create) {
        await moveLegacyTables(client, options.schema);
        // One query, so one implicit transaction and one commit (a WAL flush each on a slow disk).
        await client.query(
          [
            `CREATE SCHEMA IF NOT EXISTS ${OWN_SCHEMA}`,
            `CREATE TABLE IF NOT EXISTS ${AUDIT_TABLE} (hash text PRIMARY KEY, seq bigint NOT NULL, ts timestamptz NOT NULL, action text NOT NULL, record jsonb NOT NULL, mirrored_at timestamptz NOT NULL DEFAULT now())`,
            `CREATE TABLE IF NOT EXISTS ${AUDIT_HEAD_TABLE} (trail text PRIMARY KEY, seq bigint NOT NULL, hash text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`,
          ].join(';\n'),
        );
      } else {
        const exists = await client.query<{ own: boolean; legacy: boolean; head: boolean }>('SELECT to_regclass($1) IS NOT NULL AS own, to_regclass($2) IS NOT NULL AS legacy, to_regclass($3) IS NOT NULL AS head', [AUDIT_TABLE, legacyTable(options.schema, 'audit'), AUDIT_HEAD_TABLE]);
        const row = exists.rows[0]!;
        if (!row.own && !row.legacy) return 0;
        if (!row.own) table = legacyTable(options.schema, 'audit');
        head = row.head;
      }
      if (head) {
        // The anchor: this trail's newest record as the database saw it (never moved backwards).
        // `audit verify` checks that the file still holds exactly this record (auditAnchor.ts).
        const newest = records.reduce((a, b) => (b.seq > a.seq ? b : a));
        await client.query(
          `INSERT INTO ${AUDIT_HEAD_TABLE} AS h (trail, seq, hash) VALUES ($1, $2, $3)
           ON CONFLICT (trail) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, updated_at = now() WHERE h.seq <= excluded.seq`,
          [this.trailId, newest.seq, newest.hash],
        );
      }
      // In batches: a whole large trail as one JSON parameter would exceed V8's string limit.
      let inserted = 0;
      for (let from = 0; from < records.length; from += MIRROR_BATCH) {
        const result = await client.query(
          `INSERT INTO ${table} (hash, seq, ts, action, record)
           SELECT r->>'hash', (r->>'seq')::bigint, (r->>'ts')::timestamptz, r->>'action', r
           FROM jsonb_array_elements($1::jsonb) AS r
           ON CONFLICT (hash) DO NOTHING`,
          [JSON.stringify(records.slice(from, from + MIRROR_BATCH))],
        );
        inserted += result.rowCount ?? 0;
      }
      if (!options.all) this.unmirrored = [];
      return inserted;
    } catch {
      return 0;
    }
  }

  /**
   * The last record and whether the file ends with a newline. A last line that is not a whole
   * record (cut short by a full disk or `truncate`, or edited) stops every append with what is
   * wrong and how to repair it: extending the chain past it would bury the damage.
   */
  private readTail(): { record?: AuditRecord; terminated: boolean; size: number } {
    const tail = readLastLine(this.file);
    if (!tail || tail.size === 0) return { terminated: true, size: 0 };
    const damaged = (what: string): never => {
      throw new MutxError('audit', `${this.file}: the last record (${tail.line.length} bytes at byte ${tail.offset}) ${what}; refusing to extend a broken chain`, {
        hint: '`mutx-ops audit verify` shows the damage; `mutx-ops audit repair` moves a damaged last record aside (kept next to the file, and audited) so the trail can continue',
        details: { file: this.file, offset: tail.offset },
      });
    };
    if (!tail.line) return damaged('is an empty line');
    let record: AuditRecord;
    try {
      record = JSON.parse(tail.line) as AuditRecord;
    } catch {
      return damaged(tail.terminated ? 'is not valid JSON (edited or cut short)' : 'is cut short (not valid JSON, no newline: a write was interrupted or the file was truncated)');
    }
    if (!record || typeof record !== 'object' || typeof record.hash !== 'string' || !Number.isInteger(record.seq)) return damaged('is not an audit record');
    if (!tail.terminated) {
      const { hash, ...body } = record;
      if (hashRecord(record.prev, body) !== hash) damaged('has lost its newline and does not match its hash');
    }
    return { record, terminated: tail.terminated, size: tail.size };
  }

  /**
   * `audit repair`: moves a damaged last line (see readTail) into `<file>.damaged-<time>` and
   * records the repair in the trail itself (what was moved, its sha256), so the trail continues
   * and the loss stays visible. Refuses when the damage is anywhere but the last line.
   */
  repair(): { repaired: false; reason: string } | { repaired: true; movedTo: string; bytes: number; sha256: string; record: AuditRecord } {
    ensurePrivateDir(path.dirname(this.file));
    return this.withFileLock(() => {
      const tail = readLastLine(this.file);
      if (!tail || tail.size === 0) return { repaired: false as const, reason: 'the trail is empty: nothing to repair' };
      try {
        this.readTail();
        return { repaired: false as const, reason: 'the last record is whole: nothing to repair' };
      } catch (error) {
        if (!(error instanceof MutxError)) throw error;
      }
      const check = this.verify({ stopBeforeOffset: tail.offset });
      if (!check.ok) {
        return { repaired: false as const, reason: `the damage is not only in the last record: line ${check.firstBad!.line}: ${check.firstBad!.reason} — keep the file as evidence and start a new trail (move it aside)` };
      }
      const bytes = Buffer.from(tail.line + (tail.terminated ? '\n' : ''));
      const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
      const movedTo = `${this.file}.damaged-${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
      fs.writeFileSync(movedTo, bytes, { mode: 0o600, flag: 'wx' });
      const fd = fs.openSync(this.file, fs.constants.O_RDWR | fs.constants.O_NOFOLLOW);
      try {
        fs.ftruncateSync(fd, tail.offset);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      const head = readHead(this.headFile);
      // The head marker names the damaged record when it had been written whole: re-point it at
      // the record now last, so the repair record below chains and verifies.
      const last = this.readTail().record;
      writeFileAtomic(this.headFile, `${JSON.stringify({ seq: last?.seq ?? 0, hash: last?.hash ?? GENESIS })}\n`);
      const record = this.appendLocked(
        { action: 'audit.repair', phase: 'event', details: { moved_to: movedTo, bytes: bytes.length, sha256, offset: tail.offset, head_marker_was: head ?? null, reason: 'the last record was not a whole record (cut short or damaged)' } },
        crypto.randomUUID(),
      );
      return { repaired: true as const, movedTo, bytes: bytes.length, sha256, record };
    });
  }

  /**
   * Runs fn holding `<file>.lock`. The lock is created atomically with the holder's pid already
   * in it: the pid goes into a private temp file, which is hard-linked into place (link() fails
   * with EEXIST when the lock exists, so only one process wins). A lock whose holder is dead, or
   * that is empty/unreadable (left by an older version) for more than a moment, is stale.
   */
  private withFileLock<T>(fn: () => T): T {
    const deadline = Date.now() + LOCK_WAIT_MS;
    const tmp = `${this.lockFile}.${process.pid}.tmp`;
    fs.rmSync(tmp, { force: true }); // a planted link is removed, never written through
    fs.writeFileSync(tmp, String(process.pid), { mode: 0o600, flag: 'wx' });
    try {
      for (;;) {
        try {
          fs.linkSync(tmp, this.lockFile);
          break;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
        const holder = this.breakStaleLock();
        if (holder === 'broken') continue;
        if (Date.now() > deadline) {
          throw new MutxError('audit', `${this.lockFile} is held by process ${holder || 'unknown'} for over ${LOCK_WAIT_MS / 1000} s`, {
            hint: 'if that process is gone, delete the lock file',
          });
        }
        sleepSync(2);
      }
    } finally {
      fs.rmSync(tmp, { force: true });
    }
    try {
      return fn();
    } finally {
      fs.rmSync(this.lockFile, { force: true });
    }
  }

  /**
   * Looks at an existing lock file: removes it when stale and returns 'broken'; otherwise returns
   * the holder's pid (0 when unknown). The stale file is first renamed to a private name and its
   * inode compared, so a lock that another process re-created meanwhile is never deleted.
   */
  private breakStaleLock(): number | 'broken' {
    let stat: fs.Stats;
    let text: string;
    try {
      stat = fs.statSync(this.lockFile);
      text = fs.readFileSync(this.lockFile, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'broken';
      throw error;
    }
    const holder = /^\s*\d+\s*$/.test(text) ? Number(text) : 0;
    const stale = holder > 0 ? !processAlive(holder) : Date.now() - stat.mtimeMs > STALE_EMPTY_MS;
    if (!stale) return holder;
    const aside = `${this.lockFile}.${process.pid}.stale`;
    try {
      fs.renameSync(this.lockFile, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'broken';
      throw error;
    }
    let moved: fs.Stats | undefined;
    try {
      moved = fs.statSync(aside);
    } catch {
      moved = undefined;
    }
    if (moved && (moved.ino !== stat.ino || moved.dev !== stat.dev)) {
      // Someone broke the stale lock and took a fresh one between our look and the rename: put it back.
      try {
        fs.linkSync(aside, this.lockFile);
      } catch {
        // A third process holds the lock now; nothing better to do.
      }
    } else if (holder > 0) {
      // Leftover temp file of the dead holder.
      fs.rmSync(`${this.lockFile}.${holder}.tmp`, { force: true });
    }
    fs.rmSync(aside, { force: true });
    return 'broken';
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

  /**
   * Writes the end record. It never throws: the operation already happened, so a failing write
   * (disk full) must not turn its result into an error or skip closing its connections. The
   * failure is kept for the command to report (takeAuditFailures) and the marker stays, so the
   * next mutx-ops closes the operation in the trail.
   */
  end(outcome: AuditOutcome, extra: Partial<AuditEntry> = {}): AuditRecord | undefined {
    let record: AuditRecord;
    try {
      record = this.trail.append(
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
    } catch (error) {
      auditFailures.push({ action: this.entry.action, outcome, error: error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error), hint: error instanceof MutxError ? error.hint : undefined });
      return undefined;
    }
    fs.rmSync(this.markerPath, { force: true });
    return record;
  }
}

export interface AuditWriteFailure {
  action: string;
  outcome: AuditOutcome;
  error: string;
  hint?: string;
}

const auditFailures: AuditWriteFailure[] = [];

/** End records this process could not write since the last call (the command reports them). */
export function takeAuditFailures(): AuditWriteFailure[] {
  return auditFailures.splice(0);
}

/** Writes every byte (a write to a regular file may be short when the disk fills up). */
function writeWhole(fd: number, data: Buffer): void {
  let offset = 0;
  while (offset < data.length) {
    const written = fs.writeSync(fd, data, offset, data.length - offset);
    if (written <= 0) throw Object.assign(new Error('no space left on the device'), { code: 'ENOSPC' });
    offset += written;
  }
}

function truncateBack(fd: number, size: number): void {
  try {
    fs.ftruncateSync(fd, size);
    fs.fsyncSync(fd);
  } catch {
    // Nothing better to do; readTail() reports what is left at the next append.
  }
}

function writeFailure(file: string, error: unknown): MutxError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reason = code === 'EFBIG' ? 'the file size limit was reached (EFBIG)' : code === 'ENOSPC' ? 'no space left on the device (ENOSPC)' : code === 'EDQUOT' ? 'the disk quota is exhausted (EDQUOT)' : `${code ?? 'error'}: ${(error as Error)?.message ?? String(error)}`;
  return new MutxError('audit', `${file}: could not write an audit record: ${reason}; nothing partial was left in the file`, {
    hint: 'free space on that disk (or raise the file size limit), then run the command again',
    cause: error,
  });
}

/**
 * The file's lines (without newlines) and the byte offset each starts at, read in chunks: a
 * trail larger than the biggest string V8 can hold (512 MB) streams like a small one. A last
 * line without its newline is yielded too.
 */
export function* readLines(file: string, chunkBytes = 1024 * 1024): Generator<{ line: string; offset: number }> {
  let fd: number;
  try {
    fd = openStateFileForRead(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    const buffer = Buffer.alloc(chunkBytes);
    let carry: Buffer[] = [];
    let carryStart = 0;
    let position = 0;
    for (;;) {
      const read = fs.readSync(fd, buffer, 0, buffer.length, position);
      if (read === 0) break;
      let from = 0;
      for (;;) {
        const newline = buffer.indexOf(0x0a, from);
        if (newline < 0 || newline >= read) break;
        const piece = buffer.subarray(from, newline);
        const whole = carry.length ? Buffer.concat([...carry, piece]) : piece;
        yield { line: whole.toString('utf8'), offset: carry.length ? carryStart : position + from };
        carry = [];
        from = newline + 1;
      }
      if (from < read) {
        if (carry.length === 0) carryStart = position + from;
        carry.push(Buffer.from(buffer.subarray(from, read)));
      }
      position += read;
    }
    if (carry.length) yield { line: Buffer.concat(carry).toString('utf8'), offset: carryStart };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The last line of a file (without its newline), where it starts, and whether the file ends with
 * a newline. Reads backwards in growing chunks, so a large file costs one small read.
 */
function readLastLine(file: string): { line: string; offset: number; terminated: boolean; size: number } | undefined {
  let fd: number;
  try {
    fd = openStateFileForRead(file);
  } catch (error) {
    if (error instanceof MutxError) throw error;
    return undefined;
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size === 0) return { line: '', offset: 0, terminated: true, size };
    let chunkSize = 64 * 1024;
    for (;;) {
      const start = Math.max(0, size - chunkSize);
      const buffer = Buffer.alloc(size - start);
      fs.readSync(fd, buffer, 0, buffer.length, start);
      const terminated = buffer[buffer.length - 1] === 0x0a;
      const end = terminated ? buffer.length - 1 : buffer.length;
      if (end === 0) return { line: '', offset: start, terminated, size };
      const cut = buffer.lastIndexOf(0x0a, end - 1);
      if (cut >= 0 || start === 0) {
        return { line: buffer.subarray(cut + 1, end).toString('utf8'), offset: start + cut + 1, terminated, size };
      }
      chunkSize *= 4;
    }
  } finally {
    fs.closeSync(fd);
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

interface OpenMarker {
  op_id?: string;
  pid: number;
  action: string;
  run_id?: string;
  target?: string;
  started?: string;
}

function readMarker(file: string): OpenMarker | undefined {
  const text = safeRead(file);
  if (!text) return undefined;
  try {
    const marker = JSON.parse(text) as OpenMarker;
    return marker && typeof marker === 'object' && Number.isInteger(marker.pid) && typeof marker.action === 'string' ? marker : undefined;
  } catch {
    return undefined;
  }
}

function olderThan(file: string, ms: number): boolean {
  try {
    return Date.now() - fs.statSync(file).mtimeMs > ms;
  } catch {
    return false;
  }
}

function safeRead(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Whether a process exists and is not a zombie (a killed process whose parent has not reaped it
 * yet still answers kill(0); on Linux its /proc stat state is 'Z').
 */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (process.platform === 'linux') {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch (error) {
      // Gone between kill(0) and the read; anything else (no /proc): trust kill(0).
      return (error as NodeJS.ErrnoException).code !== 'ENOENT';
    }
    // "pid (comm) S ..." — comm may hold spaces and parentheses, so split after the last ')'.
    const state = stat.slice(stat.lastIndexOf(')') + 1).trim()[0];
    if (state === 'Z' || state === 'X' || state === 'x') return false;
  }
  return true;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

export { writeFileAtomic };
