/**
 * Backups you can trust in an incident: pg_dump/pg_restore/psql run through execa (argument
 * arrays, password only in the child's environment), checksums computed while streaming,
 * verification, safety backups before a restore, an audit record for every operation.
 * The core never prints: progress goes to `onEvent`, results are returned.
 */
export { backupDatabase, formatBytes, parseFormat, parseJobs } from './dump';
export { latestVerifiedBackup, listBackups, resolveBackup } from './catalog';
export { verifyBackup } from './verify';
export { restoreBackup, PLAIN_CLEAN_SQL } from './restore';
export { parseDuration, pruneBackups } from './prune';
export { hashDirectory, hashFile } from './hash';
export { isCatalogued, BACKUP_FORMATS } from './types';
export type {
  BackupEvent,
  BackupEventHandler,
  BackupFilter,
  BackupFormat,
  BackupOperation,
  BackupOptions,
  BackupRecord,
  BackupVerification,
  CatalogContext,
  PruneOptions,
  PruneResult,
  ResolvedBackup,
  RestoreOptions,
  RestoreResult,
  RestoreTestResult,
  TableComparison,
  UncataloguedBackup,
  VerifyResult,
} from './types';
