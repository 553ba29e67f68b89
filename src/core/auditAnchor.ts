import type pg from 'pg';
import { readLines, type AuditRecord, type AuditTrail, type AuditVerification } from './audit';
import { connect, withDatabase, type Target } from './connection';
import { oneLine } from './errors';
import type { Operator } from './identity';
import { AUDIT_HEAD_TABLE } from './migrations/ownTables';

/**
 * The audit file's anchors outside itself: every database mutx-ops mirrors into keeps this
 * trail's newest record it saw (mutx_ops.audit_head, written after every operation that mirrors).
 * A file that was deleted, rewritten (edited and re-hashed from any point before that record on),
 * or cut short no longer holds that exact record at that position: `audit verify` says so.
 *
 * Which databases: the configured target and every environment whose URL variable is set, plus
 * the databases the file has records for on those same servers (same credentials, another
 * database name). A server named only inside the file is never contacted: a tampered file must
 * not make mutx-ops send credentials elsewhere.
 */
export type AnchorStatus = 'ok' | 'tampered' | 'repaired' | 'no-anchor' | 'unreachable';

export interface AnchorCheck {
  database: string;
  server: string;
  status: AnchorStatus;
  message: string;
  /** The head row: the newest record of this trail the database saw. */
  head?: { seq: number; hash: string };
  /** Records for this database after its head (not anchored yet: a later mirror failed, or appended by hand). */
  unanchored?: number;
}

export interface AnchoredVerification extends AuditVerification {
  anchors: AnchorCheck[];
  /** Servers the file names that no configured connection reaches (not checked). */
  unchecked: string[];
}

function keyOf(target: { host: string; port: number; database: string }): string {
  return `${target.host}:${target.port}/${target.database}`;
}

/** host, port and database of a record's redacted target URL. */
function parseRecordTarget(text: string | undefined): { host: string; port: number; database: string } | undefined {
  if (!text) return undefined;
  try {
    const url = new URL(text);
    if (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:') return undefined;
    const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
    return database ? { host: url.hostname, port: Number(url.port || 5432), database } : undefined;
  } catch {
    return undefined;
  }
}

export async function verifyAnchored(trail: AuditTrail, configured: Target[], options: { operator: Operator; connectTimeoutSeconds: number }): Promise<AnchoredVerification> {
  // Pass 1: the chain itself, and which databases the file has records for.
  const named = new Map<string, { host: string; port: number; database: string }>();
  const verification = trail.verify({
    onRecord: (record) => {
      const parsed = parseRecordTarget(record.target);
      if (parsed) named.set(keyOf(parsed), parsed);
    },
  });
  const targets = new Map<string, Target>();
  for (const target of configured) targets.set(keyOf(target), target);
  const unchecked: string[] = [];
  for (const [key, parsed] of named) {
    if (targets.has(key)) continue;
    const sameServer = configured.find((t) => t.host === parsed.host && t.port === parsed.port);
    if (sameServer) targets.set(key, withDatabase(sameServer, parsed.database));
    else unchecked.push(key);
  }

  // The head row of this trail in each database.
  const anchors: AnchorCheck[] = [];
  const heads = new Map<string, { seq: number; hash: string }>();
  for (const [key, target] of targets) {
    const base = { database: target.database, server: `${target.host}:${target.port}` };
    let client: pg.Client | undefined;
    try {
      client = await connect(target, { operator: options.operator, connectTimeoutSeconds: options.connectTimeoutSeconds });
      const exists = await client.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [AUDIT_HEAD_TABLE]);
      if (!exists.rows[0]?.ok) {
        anchors.push({ ...base, status: 'no-anchor', message: 'no audit mirror with a head row (mutx-ops has not written there, or an older version did)' });
        continue;
      }
      const row = (await client.query<{ seq: string; hash: string }>(`SELECT seq::text, hash FROM ${AUDIT_HEAD_TABLE} WHERE trail = $1`, [trail.trailId])).rows[0];
      if (!row) {
        anchors.push({ ...base, status: 'no-anchor', message: 'its mirror has no record of this trail' });
        continue;
      }
      heads.set(key, { seq: Number(row.seq), hash: row.hash });
      anchors.push({ ...base, status: 'ok', message: '', head: { seq: Number(row.seq), hash: row.hash } });
    } catch (error) {
      anchors.push({ ...base, status: 'unreachable', message: `not checked: ${oneLine(error)}` });
    } finally {
      await client?.end().catch(() => {});
    }
  }

  // Pass 2 (only when there are heads): the file's record at each head's position, and the
  // records for each database after its head.
  if (heads.size > 0) {
    const wanted = new Map<number, string[]>();
    for (const [key, head] of heads) wanted.set(head.seq, [...(wanted.get(head.seq) ?? []), key]);
    const found = new Map<number, AuditRecord>();
    const after = new Map<string, number>();
    for (const { line } of readLines(trail.file)) {
      let record: AuditRecord;
      try {
        record = JSON.parse(line) as AuditRecord;
      } catch {
        continue;
      }
      if (wanted.has(record.seq) && !found.has(record.seq)) found.set(record.seq, record);
      const parsed = parseRecordTarget(record.target);
      if (parsed) {
        const key = keyOf(parsed);
        const head = heads.get(key);
        if (head && record.seq > head.seq) after.set(key, (after.get(key) ?? 0) + 1);
      }
    }
    for (const [key, target] of targets) {
      const head = heads.get(key);
      if (!head) continue;
      const check = anchors.find((a) => a.database === target.database && a.server === `${target.host}:${target.port}`)!;
      const record = found.get(head.seq);
      check.unanchored = after.get(key) ?? 0;
      if (verification.records === 0 && !record) {
        check.status = 'tampered';
        check.message = `the file holds no records, but this database saw record ${head.seq} of this trail (hash ${head.hash.slice(0, 16)}…): the file was deleted or replaced`;
      } else if (!record) {
        check.status = 'tampered';
        check.message = `this database saw record ${head.seq} (hash ${head.hash.slice(0, 16)}…), but the file has no record ${head.seq}: records were removed from the end`;
      } else if (record.hash !== head.hash && repairedAnchor(record, head)) {
        // `audit repair` moved the anchored record aside (cut short on disk) and said so in the chain.
        check.status = 'repaired';
        check.message = `record ${head.seq}, the newest this database saw, was damaged on disk and moved aside by \`audit repair\` (${String((record.details as { moved_to?: string }).moved_to ?? '?')}, recorded as record ${record.seq} at ${record.ts})`;
      } else if (record.hash !== head.hash) {
        check.status = 'tampered';
        check.message = `record ${head.seq} in the file is not the one this database saw (hash ${record.hash.slice(0, 16)}… vs ${head.hash.slice(0, 16)}…): the file was rewritten at or before record ${head.seq}`;
      } else {
        check.message = `record ${head.seq} matches${check.unanchored ? `; ${check.unanchored} later record(s) for this database are not anchored yet` : ''}`;
      }
    }
  }
  return { ...verification, anchors, unchecked };
}

/** The record at the anchor's position is the repair record that names the anchored record as the one lost. */
function repairedAnchor(record: AuditRecord, head: { seq: number; hash: string }): boolean {
  const was = (record.details as { head_marker_was?: { seq?: number; hash?: string } | null } | undefined)?.head_marker_was;
  return record.action === 'audit.repair' && Boolean(was) && was!.seq === head.seq && was!.hash === head.hash;
}
