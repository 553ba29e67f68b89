import type { StepProgress } from '../../runbook/events';
import { formatBytes, formatDuration } from '../format';

/** Live progress in words: bytes and ETA, migration i/N with revision and elapsed, matches per minute. */
export function progressText(progress: StepProgress): string {
  switch (progress.kind) {
    case 'backup': {
      const tables = progress.tablesTotal > 0 ? `tables ${progress.tablesDone}/${progress.tablesTotal} · ` : '';
      const rate = progress.rateBytesPerSec > 0 ? ` · ${formatBytes(progress.rateBytesPerSec)}/s` : '';
      const eta = progress.etaSeconds !== undefined ? ` · ETA ${formatDuration(progress.etaSeconds * 1000)}` : '';
      return `${tables}${formatBytes(progress.bytes)}${rate}${eta}`;
    }
    case 'migration':
      // The engine counts migrations from 1.
      return `migration ${progress.index}/${progress.total} · ${progress.direction} ${progress.revision} · ${formatDuration(progress.elapsedMs)}${progress.expectedMs !== undefined ? ` · expected ~${formatDuration(progress.expectedMs)} (rehearsed)` : ''}`;
    case 'logs':
      return `${progress.matched} match(es) · ${progress.matchesLastMinute}/min · ${progress.lines} lines · ${formatDuration(progress.elapsedMs)} of ${formatDuration(progress.durationMs)}`;
    case 'command':
      return `running ${formatDuration(progress.elapsedMs)} (timeout ${formatDuration(progress.timeoutMs)})`;
    case 'blocker-wait':
      return `waiting for ${progress.blockers.join('; ')} to end · ${formatDuration(progress.waitedMs)} (then retry)`;
    case 'lock-wait':
      return `waiting for the migration lock${progress.holder ? ` held by ${progress.holder}` : ''} · ${formatDuration(progress.waitedMs)}`;
  }
}
