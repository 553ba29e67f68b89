import type { RunbookInfo } from './services';

/**
 * Which runbook History's "roll back to here" and Backups' "restore" start: by its usual name
 * first, else the first runbook whose select-target step picks from that catalog.
 */
export function rollbackRunbook(runbooks: RunbookInfo[]): RunbookInfo | undefined {
  return (
    runbooks.find((r) => r.name === 'rollback-to-revision' && r.allowed) ??
    runbooks.find((r) => r.allowed && (r.selects === 'history' || r.selects === 'both') && r.stepTypes.includes('migrate'))
  );
}

export function restoreRunbook(runbooks: RunbookInfo[]): RunbookInfo | undefined {
  return (
    runbooks.find((r) => (r.name === 'restore-backup' || r.name === 'restore') && r.allowed) ??
    runbooks.find((r) => r.allowed && (r.selects === 'backups' || r.selects === 'both') && r.stepTypes.includes('restore'))
  );
}
