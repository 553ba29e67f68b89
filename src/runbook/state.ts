import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { processAlive, writeFileAtomic } from '../core/audit';
import { redactSecrets } from '../core/connection';
import { ensurePrivateDir, type ProjectSettings } from '../core/config';
import { readStateFile } from '../core/statePaths';
import { MutxError } from '../core/errors';
import type { StepStatus } from './events';

/**
 * A run's state, written atomically after every transition so that a crash, a closed
 * terminal or kill -9 can be resumed at the step where it stopped.
 */
export interface StepState {
  id: string;
  status: StepStatus;
  startedAt?: string;
  finishedAt?: string;
  skipReason?: string;
  error?: string;
  summary?: string;
  /** Checklist items ticked so far (survive a resume). */
  ticked?: string[];
  attempts?: number;
}

export interface RunVariables {
  /** Version rows when the run began. */
  startRevisions?: string[];
  selectedRevision?: string;
  selectedBackup?: string;
  /** Revision(s) the selected backup was taken at. */
  selectedBackupRevisions?: string[];
  /** The heads a migrate step to the selected revision left (one parent of a merge: both branch heads). */
  selectedHeadsAfter?: string[];
  /** A relative rollback from several heads: the downgrade target the operator chose, and the heads it left. */
  severalHeadsTarget?: string;
  severalHeadsAfter?: string[];
  /** File of the backup this run took. */
  runBackup?: string;
  logSource?: string;
  /** Overrides every logs step's duration (a CI job watching for 30 s, a drill). */
  logDurationSeconds?: number;
  catalogs?: Record<string, string[]>;
  logBaselines?: Record<string, { perMinute: number; windowMs: number; matched: number }>;
  /** The plan was confirmed before the first changing step (typed name, y, or Enter on the sandbox). */
  planConfirmed?: { mode: 'typed' | 'yes' | 'enter'; at: string; step: string };
  /** Quick rehearsals of downgrades nothing was known about, by "rows>target": run (or skipped) once per run. */
  quickRehearsals?: Record<string, { at: string; ok: boolean; skipped?: boolean; note: string }>;
}

/** `discarded`: an unfinished run the operator gave up on (home's `x`): kept, never resumed. */
export type RunStatus = 'running' | 'waiting' | 'completed' | 'aborted' | 'failed' | 'switched' | 'discarded';

export interface RunState {
  id: string;
  runbook: string;
  runbookFile: string;
  runbookChecksum: string;
  environment?: string;
  target: string;
  drill: boolean;
  status: RunStatus;
  currentStep: number;
  steps: StepState[];
  vars: RunVariables;
  startedAt: string;
  updatedAt: string;
  pid: number;
  operator: string;
  switchTo?: string;
  message?: string;
}

export function runsDir(settings: ProjectSettings): string {
  return path.join(settings.statePath, 'runs');
}

export function newRunId(runbook: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${runbook}-${crypto.randomBytes(3).toString('hex')}`;
}

export function saveRunState(settings: ProjectSettings, state: RunState): void {
  const dir = runsDir(settings);
  ensurePrivateDir(dir, { mark: false }); // every entry is read as a run
  state.updatedAt = new Date().toISOString();
  // Step output and errors may quote a URL: stored redacted, like the audit trail.
  writeFileAtomic(path.join(dir, `${state.id}.json`), `${JSON.stringify(state, (_key, value: unknown) => (typeof value === 'string' ? redactSecrets(value) : value), 2)}\n`);
}

export function loadRunState(settings: ProjectSettings, id: string): RunState {
  if (!/^[A-Za-z0-9_.-]{1,120}$/.test(id)) throw new MutxError('usage', `"${id.slice(0, 40)}" is not a run id`, { hint: '`mutx-ops runs` lists them' });
  const file = path.join(runsDir(settings), `${id}.json`);
  try {
    return JSON.parse(readStateFile(file)) as RunState;
  } catch {
    throw new MutxError('usage', `no run with id ${id}`, { hint: '`mutx-ops runs` lists them' });
  }
}

/** A run whose process is gone while it was running or waiting for the operator. */
export function isInterrupted(state: RunState): boolean {
  return (state.status === 'running' || state.status === 'waiting') && (state.pid === process.pid ? false : !processAlive(state.pid));
}

export function listRuns(settings: ProjectSettings): (RunState & { interrupted: boolean })[] {
  let names: string[];
  try {
    names = fs.readdirSync(runsDir(settings)).filter((name) => name.endsWith('.json'));
  } catch {
    return [];
  }
  const runs: (RunState & { interrupted: boolean })[] = [];
  for (const name of names) {
    try {
      const state = JSON.parse(readStateFile(path.join(runsDir(settings), name))) as RunState;
      runs.push({ ...state, interrupted: isInterrupted(state) });
    } catch {
      // A torn write cannot happen (atomic rename); anything unreadable is not ours.
    }
  }
  return runs.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
}

/** Runs that can be picked up again: interrupted, or paused waiting for the operator. */
export function resumableRuns(settings: ProjectSettings): RunState[] {
  return listRuns(settings).filter((run) => run.interrupted || (run.status === 'waiting' && !processAlive(run.pid)) || (run.status === 'waiting' && run.pid === process.pid));
}
