import type { AuditTrail } from '../audit';
import type { ProjectSettings } from '../config';
import type { Target } from '../connection';
import type { Operator } from '../identity';

export type BackupFormat = 'custom' | 'plain' | 'directory';
export const BACKUP_FORMATS: readonly BackupFormat[] = ['custom', 'plain', 'directory'];

export interface BackupOptions {
  format?: BackupFormat;
  /** Parallel pg_dump workers; only with the directory format. */
  jobs?: number;
  /** Folder for the backup (default: settings.backupsPath, the catalog). */
  outDir?: string;
  label?: string;
  /** Why it was taken, e.g. 'safety' before a restore, 'runbook', 'manual'. */
  reason?: string;
  /** Check the archive right after the dump (`pg_restore --list`) and record it as verified. */
  verify?: boolean;
}

export interface BackupVerification {
  at: string;
  ok: boolean;
  tocEntries?: number;
  restoreTest?: boolean;
  problems?: string[];
}

/** What the sidecar (`NAME.meta.json`) records; `file`/`metaFile` are absolute when read back. */
export interface BackupRecord {
  file: string;
  metaFile: string;
  format: BackupFormat;
  sizeBytes: number;
  sha256: string;
  /**
   * `stream` — sha256 of the file's bytes, computed while pg_dump wrote it.
   * `directory-v1` — directory format: sha256 over every file in byte-wise sorted relative-path
   * order, each as `path NUL size NUL content` (computed after pg_dump finished: the one exception
   * to hashing while streaming, because pg_dump writes those files itself).
   */
  checksumMethod: 'stream' | 'directory-v1';
  createdAt: string;
  finishedAt: string;
  revisions: string[];
  database: string;
  environment?: string;
  /** The URL with the password redacted. */
  target: string;
  host: string;
  port: number;
  operator: string;
  operatorHost: string;
  label?: string;
  reason?: string;
  verified?: BackupVerification;
  durationMs: number;
  serverVersion: string;
  pgDumpVersion: string;
  /** Tables whose contents were dumped, and their on-disk size (pg_table_size) at backup time. */
  tables: number;
  dataBytes: number;
  databaseSizeBytes: number;
}

/** A file given by path that has no sidecar: restorable (plain SQL from `pg_dump > file`, a foreign archive), not checksummed. */
export interface UncataloguedBackup {
  file: string;
  uncatalogued: true;
  format: BackupFormat;
}

export type ResolvedBackup = BackupRecord | UncataloguedBackup;

export function isCatalogued(backup: ResolvedBackup): backup is BackupRecord {
  return !('uncatalogued' in backup);
}

export interface BackupFilter {
  database?: string;
  environment?: string;
  /** Same server (host, port) and database; the environment too when both sides name one. */
  target?: Target;
}

export type BackupOperation = 'backup' | 'verify' | 'restore';

export type BackupEvent =
  | {
      type: 'started';
      operation: BackupOperation;
      file: string;
      format: BackupFormat;
      database: string;
      reason?: string;
      tablesTotal?: number;
      /** pg_database_size for a backup; the archive's size for a restore. */
      databaseBytes?: number;
    }
  | {
      type: 'progress';
      operation: BackupOperation;
      tablesDone: number;
      tablesTotal: number;
      /** Backup: bytes written to the file. Restore: bytes the server has loaded (COPY). */
      bytes: number;
      rateBytesPerSec: number;
      etaSeconds?: number;
      /** Server pids holding locks the tool is waiting for (e.g. a migration, a long transaction). */
      waitingOnPids?: number[];
    }
  | { type: 'phase'; operation: BackupOperation; message: string }
  | { type: 'finished'; operation: BackupOperation; file: string; bytes: number; durationMs: number; sha256?: string }
  | { type: 'failed'; operation: BackupOperation; file?: string; error: string };

export type BackupEventHandler = (event: BackupEvent) => void;

/** The parts of a CoreContext that catalog-only operations (verify without a database, prune) need. */
export interface CatalogContext {
  settings: ProjectSettings;
  operator: Operator;
  audit: AuditTrail;
  target?: Target;
  runId?: string;
  drill?: boolean;
  signal?: AbortSignal;
}

export interface TableComparison {
  table: string;
  restoredRows: number | null;
  sourceRows: number | null;
}

export interface RestoreTestResult {
  ok: boolean;
  database: string;
  durationMs: number;
  tables: TableComparison[];
  revisions: string[];
  /** False when the source could not be read (then only the restore itself and the revisions are checked). */
  sourceCompared: boolean;
  problems: string[];
}

export interface VerifyResult {
  ok: boolean;
  file: string;
  format: BackupFormat;
  catalogued: boolean;
  sizeBytes: number;
  sha256: string;
  /** Whether the recomputed sha256 equals the sidecar's; undefined for an uncatalogued file. */
  checksumOk?: boolean;
  expectedSha256?: string;
  /** pg_restore --list entries (custom/directory). */
  tocEntries?: number;
  tableDataEntries?: number;
  /** plain: the dump ends with pg_dump's "dump complete" trailer. */
  plainComplete?: boolean;
  restoreTest?: RestoreTestResult;
  problems: string[];
  record?: BackupRecord;
}

export interface RestoreOptions {
  /** Restore into this database on the same server instead of the target's (created if missing). */
  into?: string;
  /** Take a backup of the database's current state first (default true). */
  safetyBackup?: boolean;
  /** Asked on a protected environment: must return the database name, typed by the operator. */
  confirm?: (prompt: { database: string; description: string }) => Promise<string>;
  /** Pre-typed confirmation (`--confirm DBNAME`). */
  confirmText?: string;
  /** How long to wait for the migration lock of the database restored over (default lock_wait_seconds). */
  lockWaitSeconds?: number;
  onEvent?: BackupEventHandler;
}

export interface RestoreResult {
  file: string;
  format: BackupFormat;
  catalogued: boolean;
  database: string;
  target: string;
  createdDatabase: boolean;
  checksumVerified: boolean;
  safetyBackup?: BackupRecord;
  revisionsBefore: string[];
  revisionsAfter: string[];
  /** Tables of the database that the restore did not replace (always empty: the database is emptied first; a safety check). */
  untouchedTables: string[];
  auditRecordsMirrored: number;
  durationMs: number;
}

export interface PruneOptions {
  keep: number;
  olderThanMs?: number;
  /** Only this database's backups (same server and database; environment if both have one). */
  target?: Target;
  dryRun?: boolean;
}

export interface PruneResult {
  removed: BackupRecord[];
  kept: BackupRecord[];
}
