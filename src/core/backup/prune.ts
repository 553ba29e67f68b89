import fs from 'node:fs';
import { MutxError } from '../errors';
import { withAuditSync } from './auditing';
import { listBackups } from './catalog';
import type { BackupRecord, CatalogContext, PruneOptions, PruneResult } from './types';

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** `90s`, `30m`, `12h`, `7d`, `2w`, `1h30m` → milliseconds. A bare number is refused (which unit?). */
export function parseDuration(text: string): number {
  const input = text.trim().toLowerCase();
  const pattern = /(\d+(?:\.\d+)?)\s*(ms|sec|min|s|m|h|d|w)\s*/y;
  let total = 0;
  let consumed = 0;
  let parts = 0;
  while (consumed < input.length) {
    pattern.lastIndex = consumed;
    const match = pattern.exec(input);
    if (!match) break;
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
    consumed = pattern.lastIndex;
    parts++;
  }
  if (!input || parts === 0 || consumed !== input.length || !Number.isFinite(total) || total <= 0) {
    throw new MutxError('usage', `bad duration "${text.slice(0, 30)}"`, { hint: 'use a number with a unit: 30m, 12h, 7d, 2w (or combined: 1h30m)' });
  }
  return total;
}

function groupKey(record: BackupRecord): string {
  return `${record.environment ?? ''}\u0000${record.host}:${record.port}\u0000${record.database}`;
}

/**
 * Keeps the newest `keep` backups of each database (server, database, environment) and removes
 * the older ones — only those older than `olderThanMs` when given. The sidecar goes first, so a
 * half-removed backup is never listed. Scope: `options.target`, else `ctx.target`, else every
 * database in the catalog.
 */
export function pruneBackups(ctx: CatalogContext, options: PruneOptions): PruneResult {
  if (!Number.isInteger(options.keep) || options.keep < 1) {
    throw new MutxError('usage', `--keep must be a whole number of at least 1, not "${String(options.keep).slice(0, 20)}"`, { hint: 'prune never removes every backup of a database' });
  }
  if (options.olderThanMs !== undefined && (!Number.isFinite(options.olderThanMs) || options.olderThanMs <= 0)) {
    throw new MutxError('usage', '--older-than must be a positive duration');
  }
  const scope = options.target ?? ctx.target;
  return withAuditSync(
    ctx,
    { action: 'backups prune', target: scope?.redacted ?? ctx.settings.backupsPath, args: { keep: options.keep, older_than_ms: options.olderThanMs, dry_run: Boolean(options.dryRun) } },
    (op) => {
      const now = Date.now();
      const groups = new Map<string, BackupRecord[]>();
      for (const record of listBackups(ctx.settings, scope ? { target: scope } : undefined)) {
        const key = groupKey(record);
        groups.set(key, [...(groups.get(key) ?? []), record]);
      }
      const removed: BackupRecord[] = [];
      const kept: BackupRecord[] = [];
      const failures: string[] = [];
      for (const records of groups.values()) {
        records.forEach((record, index) => {
          const oldEnough = options.olderThanMs === undefined || now - Date.parse(record.createdAt) > options.olderThanMs;
          if (index < options.keep || !oldEnough) {
            kept.push(record);
            return;
          }
          if (!options.dryRun) {
            try {
              fs.rmSync(record.metaFile, { force: true });
              fs.rmSync(record.file, { recursive: true, force: true });
            } catch (error) {
              failures.push(`${record.file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
              return;
            }
          }
          removed.push(record);
        });
      }
      op.note({ details: { removed: removed.map((r) => ({ file: r.file, size_bytes: r.sizeBytes, sha256: r.sha256 })), kept: kept.length, dry_run: Boolean(options.dryRun) } });
      if (failures.length) {
        throw new MutxError('backup', `could not remove ${failures.length} backup(s): ${failures[0]}`, { hint: 'check the folder permissions', details: { removed: removed.map((r) => r.file) } });
      }
      return { removed, kept };
    },
  );
}
