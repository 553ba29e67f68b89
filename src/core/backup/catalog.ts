import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../audit';
import { readStateFile } from '../statePaths';
import type { ProjectSettings } from '../config';
import type { Target } from '../connection';
import { MutxError } from '../errors';
import { type BackupFilter, type BackupFormat, type BackupRecord, type BackupVerification, type ResolvedBackup } from './types';

/**
 * The catalog is the backups folder: a backup is a data file (or directory) with a complete
 * sidecar `NAME.meta.json` beside it. A dump still being written is `NAME.partial` and has no
 * sidecar, so nothing half-written is ever listed, resolved as "latest", or pruned into.
 */

export const META_SUFFIX = '.meta.json';
export const PARTIAL_SUFFIX = '.partial';
const EXTENSIONS: Record<BackupFormat, string> = { custom: '.dump', plain: '.sql', directory: '.dir' };

const verificationSchema = z.object({
  at: z.string(),
  ok: z.boolean(),
  tocEntries: z.number().optional(),
  restoreTest: z.boolean().optional(),
  problems: z.array(z.string()).optional(),
});

const sidecarSchema = z.object({
  kind: z.literal('mutx-ops-backup'),
  version: z.literal(1),
  file: z.string(),
  format: z.enum(['custom', 'plain', 'directory']),
  sizeBytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  checksumMethod: z.enum(['stream', 'directory-v1']),
  createdAt: z.string(),
  finishedAt: z.string(),
  revisions: z.array(z.string()),
  database: z.string(),
  environment: z.string().optional(),
  target: z.string(),
  host: z.string(),
  port: z.number().int(),
  operator: z.string(),
  operatorHost: z.string(),
  label: z.string().optional(),
  reason: z.string().optional(),
  verified: verificationSchema.optional(),
  durationMs: z.number().nonnegative(),
  serverVersion: z.string(),
  pgDumpVersion: z.string(),
  tables: z.number().int().nonnegative(),
  dataBytes: z.number().nonnegative(),
  databaseSizeBytes: z.number().nonnegative(),
});

export function metaPathOf(file: string): string {
  return `${file}${META_SUFFIX}`;
}

function slug(text: string, max: number): string {
  return (
    text
      .normalize('NFKD')
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^[-.]+|-+$/g, '')
      .slice(0, max) || 'x'
  );
}

/** `2026-11-25T20:04:49.123Z` → `20261125T200449Z` */
export function fileStamp(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
}

/** ENV_DATABASE_TIMESTAMP_REVISION[_LABEL].ext, made unique in `dir`. */
export function backupFileName(dir: string, parts: { environment?: string; database: string; startedAt: Date; revisions: string[]; label?: string; format: BackupFormat }): string {
  const revision = parts.revisions.length ? parts.revisions.map((r) => slug(r, 32)).join('+').slice(0, 70) : 'base';
  const base = [slug(parts.environment ?? 'adhoc', 40), slug(parts.database, 63), fileStamp(parts.startedAt), revision, ...(parts.label ? [slug(parts.label, 40)] : [])].join('_');
  const ext = EXTENSIONS[parts.format];
  for (let n = 1; ; n++) {
    const name = `${base}${n > 1 ? `-${n}` : ''}${ext}`;
    const full = path.join(dir, name);
    if (![full, `${full}${PARTIAL_SUFFIX}`, metaPathOf(full)].some((p) => fs.existsSync(p))) return name;
  }
}

export function writeSidecar(record: BackupRecord): void {
  const { file, metaFile, ...rest } = record;
  const body = { kind: 'mutx-ops-backup', version: 1, file: path.basename(file), ...rest };
  writeFileAtomic(metaFile, `${JSON.stringify(body, null, 2)}\n`, 0o600);
  fs.chmodSync(metaFile, 0o600);
  fsyncDir(path.dirname(metaFile));
}

export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // not supported on every filesystem
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Reads a sidecar; undefined when it is missing, damaged, or its data file is gone. */
export function readSidecar(metaFile: string): BackupRecord | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(readStateFile(metaFile)); // a sidecar planted as a link is not followed
  } catch {
    return undefined;
  }
  const parsed = sidecarSchema.safeParse(raw);
  if (!parsed.success) return undefined;
  const file = metaFile.slice(0, -META_SUFFIX.length);
  if (parsed.data.file !== path.basename(file)) return undefined;
  if (!fs.existsSync(file)) return undefined;
  const { kind: _kind, version: _version, file: _file, ...rest } = parsed.data;
  return { ...rest, file, metaFile };
}

export function updateVerification(record: BackupRecord, verified: BackupVerification): BackupRecord {
  const updated = { ...record, verified };
  writeSidecar(updated);
  return updated;
}

export function matchesFilter(record: BackupRecord, filter: BackupFilter = {}): boolean {
  if (filter.database !== undefined && record.database !== filter.database) return false;
  if (filter.environment !== undefined && record.environment !== filter.environment) return false;
  const target = filter.target;
  if (target) {
    if (record.database !== target.database || record.host !== target.host || record.port !== target.port) return false;
    if (target.environment && record.environment && record.environment !== target.environment) return false;
  }
  return true;
}

/** Complete backups in the catalog folder, newest first. */
export function listBackups(settings: ProjectSettings, filter?: BackupFilter): BackupRecord[] {
  let names: string[];
  try {
    names = fs.readdirSync(settings.backupsPath);
  } catch {
    return [];
  }
  const records: BackupRecord[] = [];
  for (const name of names) {
    if (!name.endsWith(META_SUFFIX)) continue;
    const record = readSidecar(path.join(settings.backupsPath, name));
    if (record && matchesFilter(record, filter)) records.push(record);
  }
  return records.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.file < b.file ? 1 : -1));
}

export function latestVerifiedBackup(settings: ProjectSettings, target: Target, maxAgeMinutes: number): BackupRecord | undefined {
  const cutoff = Date.now() - maxAgeMinutes * 60_000;
  return listBackups(settings, { target }).find((record) => record.verified?.ok === true && Date.parse(record.createdAt) >= cutoff);
}

function describeFilter(filter: BackupFilter | undefined): string {
  const target = filter?.target;
  if (target) return ` of database "${target.database}" on ${target.host}:${target.port}${target.environment ? ` (environment ${target.environment})` : ''}`;
  const parts = [filter?.database ? `database "${filter.database}"` : '', filter?.environment ? `environment ${filter.environment}` : ''].filter(Boolean);
  return parts.length ? ` of ${parts.join(', ')}` : '';
}

/** custom (PGDMP header), directory (toc.dat), plain (pg_dump's SQL header); anything else is not a backup. */
export function detectFormat(file: string, shown = file): BackupFormat {
  const stat = fs.statSync(file);
  if (stat.isDirectory()) {
    if (fs.existsSync(path.join(file, 'toc.dat'))) return 'directory';
    throw new MutxError('usage', `${shown} is not a backup: a folder without toc.dat`, { hint: 'give a pg_dump directory-format folder, a custom-format file or a plain SQL dump' });
  }
  const head = readHead(file, 8192);
  if (head.subarray(0, 5).toString('latin1') === 'PGDMP') return 'custom';
  if (head[0] === 0x1f && head[1] === 0x8b) {
    throw new MutxError('usage', `${shown} is not a backup mutx-ops can restore directly: it is gzip-compressed`, { hint: `gunzip it first (gunzip -k ${shown})` });
  }
  if (head.length > 262 && head.subarray(257, 262).toString('latin1') === 'ustar') {
    throw new MutxError('usage', `${shown} is a tar-format archive, which mutx-ops does not restore`, { hint: 'use pg_restore by hand, or take backups with --format custom' });
  }
  if (head.toString('utf8').includes('-- PostgreSQL database dump')) return 'plain';
  throw new MutxError('usage', `${shown} is not a backup: no pg_dump header (neither a custom-format archive nor a plain SQL dump)`, {
    hint: 'run `mutx-ops backups` to list backups',
  });
}

function readHead(file: string, bytes: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const n = fs.readSync(fd, buffer, 0, bytes, 0);
    return buffer.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

/** A plain dump that pg_dump finished ends with "-- PostgreSQL database dump complete". */
export function plainDumpComplete(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const length = Math.min(size, 8192);
    const buffer = Buffer.alloc(length);
    fs.readSync(fd, buffer, 0, length, size - length);
    return buffer.toString('utf8').includes('-- PostgreSQL database dump complete');
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * `latest` (newest complete backup matching the filter), a catalogued file (sidecar beside it),
 * or any pg_dump output given by path (uncatalogued). Relative names are also looked up in the
 * backups folder.
 */
export function resolveBackup(settings: ProjectSettings, spec: string, filter?: BackupFilter): ResolvedBackup {
  const trimmed = spec.trim();
  if (!trimmed) throw new MutxError('usage', 'no backup given', { hint: 'give a file, or latest' });
  if (trimmed === 'latest') {
    // Safety backups (taken before a restore) are not "latest": restoring latest twice must not
    // undo the first restore. Give a safety backup by its file name to restore it.
    const latest = listBackups(settings, filter).find((record) => record.reason !== 'safety');
    if (!latest) {
      throw new MutxError('usage', `no complete backup${describeFilter(filter)} in ${settings.backupsPath}`, { hint: 'take one with `mutx-ops backup`, or give a file' });
    }
    return latest;
  }
  let wanted = trimmed.endsWith(META_SUFFIX) ? trimmed.slice(0, -META_SUFFIX.length) : trimmed;
  wanted = wanted.replace(/\/+$/, '') || wanted;
  if (wanted.endsWith(PARTIAL_SUFFIX)) {
    throw new MutxError('usage', `${spec} is an unfinished dump (.partial): it is not a backup`, { hint: 'run `mutx-ops backups` to list complete backups' });
  }
  const candidates = [path.resolve(wanted)];
  if (!path.isAbsolute(wanted)) candidates.push(path.resolve(settings.backupsPath, wanted));
  const file = candidates.find((candidate) => fs.existsSync(candidate));
  if (!file) {
    throw new MutxError('usage', `backup not found: ${spec}`, { hint: `run \`mutx-ops backups\` to list backups (in ${settings.backupsPath}), or give a path` });
  }
  const metaFile = metaPathOf(file);
  if (fs.existsSync(metaFile)) {
    const record = readSidecar(metaFile);
    if (!record) {
      throw new MutxError('usage', `${metaFile} is damaged or does not describe ${path.basename(file)}: the checksum cannot be checked`, {
        hint: 'move the .meta.json aside to use the file as an uncatalogued dump',
      });
    }
    return record;
  }
  return { file, uncatalogued: true, format: detectFormat(file, spec) };
}
