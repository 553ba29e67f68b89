/**
 * Fault injection for practice drills: the drill engine hands these hooks to the core through
 * CoreContext, so a drill exercises the real code path with a real failure (the kernel's ENOSPC
 * from /dev/full, a file really corrupted on disk) instead of a simulated message.
 * Production contexts never carry them.
 */
export interface FaultHooks {
  /** A path the next backup's stream is written to instead of its file, e.g. /dev/full (disk full). */
  divertBackupStream?: () => string | undefined;
  /** Called with a finished backup file before anyone verifies it (e.g. to corrupt it). */
  afterBackupWritten?: (file: string) => void;
}
