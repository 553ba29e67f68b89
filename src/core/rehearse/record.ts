import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ensurePrivateDir, type ProjectSettings } from '../config';
import type { Direction } from '../migrations/plan';
import type { Revision } from '../migrations/revision';

/**
 * The record of rehearsals: one JSON line per revision rehearsed, in the local state folder
 * (`.mutx-ops/rehearsals.jsonl`, 0600 in a 0700 folder) — never in the target, which a rehearsal
 * does not write. Keyed by revision, the checksum of the whole revision file (both directions'
 * code), direction and server major version; the newest line per key wins. A file that changed
 * since has no valid record ("never rehearsed").
 */
export interface RehearsalRecord {
  revision: string;
  file: string;
  file_checksum: string;
  direction: Direction;
  server_major: number;
  outcome: 'ok' | 'failed' | 'timeout';
  error?: string;
  /** file:line of the failing statement, when the engine named it. */
  where?: string;
  duration_ms: number;
  at: string;
  target: string;
  operator: string;
}

export function rehearsalsPath(settings: ProjectSettings): string {
  return path.join(settings.statePath, 'rehearsals.jsonl');
}

/** sha256 of the revision file as it is on disk (a downgrade-only edit changes it too). */
export function fileChecksum(file: string): string {
  try {
    return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  } catch {
    return 'unreadable';
  }
}

export function appendRehearsals(settings: ProjectSettings, records: RehearsalRecord[]): void {
  if (records.length === 0) return;
  const file = rehearsalsPath(settings);
  ensurePrivateDir(path.dirname(file));
  // One write with O_APPEND: concurrent rehearsals interleave whole lines, never parts of them.
  const fd = fs.openSync(file, 'a', 0o600);
  try {
    fs.writeSync(fd, records.map((record) => `${JSON.stringify(record)}\n`).join(''));
  } finally {
    fs.closeSync(fd);
  }
  fs.chmodSync(file, 0o600);
}

export function readRehearsals(settings: ProjectSettings): RehearsalRecord[] {
  let text: string;
  try {
    text = fs.readFileSync(rehearsalsPath(settings), 'utf8');
  } catch {
    return [];
  }
  const records: RehearsalRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const record = JSON.parse(line) as RehearsalRecord;
      if (typeof record.revision === 'string' && typeof record.file_checksum === 'string' && (record.direction === 'upgrade' || record.direction === 'downgrade')) records.push(record);
    } catch {
      // A torn last line (a kill mid-write) or junk: skipped, the rest still counts.
    }
  }
  return records;
}

export interface RehearsalStatus {
  state: 'ok' | 'fails' | 'never' | 'changed';
  record?: RehearsalRecord;
  text: string;
}

function ago(iso: string, now: number): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86_400)} days ago`;
}

/**
 * What is known about one direction of a revision: the newest record for its current file
 * (preferring the given server major version), else "never rehearsed" — saying so when a record
 * exists for an older version of the file.
 */
export function rehearsalStatus(records: RehearsalRecord[], revision: Revision, direction: Direction, options: { serverMajor?: number; now?: number; checksum?: string } = {}): RehearsalStatus {
  const now = options.now ?? Date.now();
  const checksum = options.checksum ?? fileChecksum(revision.file);
  const mine = records.filter((r) => r.revision === revision.revision && r.direction === direction);
  const current = mine.filter((r) => r.file_checksum === checksum);
  const sameServer = options.serverMajor === undefined ? current : current.filter((r) => r.server_major === options.serverMajor);
  const record = (sameServer.length ? sameServer : current).at(-1);
  if (!record) {
    const stale = mine.at(-1);
    return stale
      ? { state: 'changed', record: stale, text: `${direction} never rehearsed (the file changed since its rehearsal ${ago(stale.at, now)})` }
      : { state: 'never', text: `${direction} never rehearsed` };
  }
  const server = options.serverMajor !== undefined && record.server_major !== options.serverMajor ? ` on PostgreSQL ${record.server_major}` : '';
  if (record.outcome === 'ok') return { state: 'ok', record, text: `${direction} rehearsed ok ${ago(record.at, now)}${server}` };
  const what = record.outcome === 'timeout' ? 'TIMES OUT' : 'FAILS';
  return { state: 'fails', record, text: `${direction} ${what}: ${record.error ?? 'failed'}${record.where ? ` at ${record.where}` : ''}${server} (rehearsed ${ago(record.at, now)})` };
}

/** One line per revision: "upgrade rehearsed ok 2 h ago; downgrade FAILS: … at file:line". */
export function rehearsalSummary(records: RehearsalRecord[], revision: Revision, options: { serverMajor?: number; now?: number } = {}): string {
  const checksum = fileChecksum(revision.file);
  return (['upgrade', 'downgrade'] as const).map((direction) => rehearsalStatus(records, revision, direction, { ...options, checksum }).text).join('; ');
}
