import type { Direction } from './plan';

/** What a migration run reports while it runs, whichever engine runs it. */
export interface Blocker {
  pid: number;
  applicationName: string;
  state: string | null;
  xactStart: Date | null;
  query: string;
}

export type MigrationEvent =
  | { type: 'lock-waiting'; holder?: string; waitedMs: number }
  | { type: 'lock-acquired' }
  | { type: 'notice'; message: string }
  | { type: 'plan'; direction: Direction; steps: { revision: string; message: string }[] }
  | { type: 'step-started'; index: number; total: number; revision: string; direction: Direction; message: string }
  | { type: 'blocked'; revision: string; blockers: Blocker[] }
  | { type: 'retry'; revision: string; attempt: number; of: number; delayMs: number; reason: string }
  | { type: 'verified'; revision: string }
  | { type: 'step-finished'; index: number; total: number; revision: string; direction: Direction; durationMs: number }
  | { type: 'step-failed'; index: number; total: number; revision: string; direction: Direction; error: string };

export interface AppliedStep {
  revision: string;
  direction: Direction;
  durationMs: number;
}

export function describeBlockers(blockers: Blocker[]): string {
  return blockers
    .map((b) => `pid ${b.pid} (${b.applicationName || 'no application_name'}, ${b.state ?? '?'}${b.xactStart ? `, transaction open since ${b.xactStart.toISOString()}` : ''}): ${b.query.replace(/\s+/g, ' ').slice(0, 80)}`)
    .join('; ');
}
