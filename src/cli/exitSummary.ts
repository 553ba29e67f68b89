/**
 * What the interactive app did this session, printed to the normal screen when it leaves the
 * alternate screen: the runs (with their ids, for `runs show` / `--resume`), the backups taken
 * (with their paths) and where the database went (revision before → after). No React, no I/O:
 * the entry feeds it the run events and the statuses home read, and prints its lines.
 */
import { terminalLine } from '../core/terminalText';
import type { RunEvent, RunOutcome } from '../runbook/events';
import type { StepType } from '../runbook/schema';
import type { TargetIdentity, TargetStatus } from '../ui/services';

export interface SessionRun {
  runId?: string;
  runbook: string;
  resumed: boolean;
  drill: boolean;
  /** Where it ran (a drill's own database differs from the app's target). */
  target?: string;
  outcome?: RunOutcome;
  switchTo?: string;
  message?: string;
  /** The step it stood at last (1-based), of how many. */
  step?: { index: number; total: number; title: string };
  backups: string[];
}

export type StatusReading = { ok: true; status: TargetStatus } | { ok: false; problem: string };

/** Collects a session: one `run(…)` per started run, `status(…)` per status home read. */
export class SessionRecord {
  readonly runs: SessionRun[] = [];
  /** The first status read this session (the database before anything ran). */
  first?: StatusReading;
  /** The newest one. */
  last?: StatusReading;

  /** Starts recording one run: returns the listener for its events. */
  run(runbook: string): (event: RunEvent) => void {
    const entry: SessionRun = { runbook, resumed: false, drill: false, backups: [] };
    this.runs.push(entry);
    const stepTypes = new Map<string, StepType>();
    return (event) => {
      switch (event.type) {
        case 'run-started':
          Object.assign(entry, { runId: event.runId, runbook: event.runbook, resumed: event.resumed, drill: event.drill, target: event.target });
          for (const step of event.steps) stepTypes.set(step.id, step.type);
          break;
        case 'step-started':
          stepTypes.set(event.stepId, event.stepType);
          entry.step = { index: event.index + 1, total: event.total, title: event.title };
          break;
        case 'step-finished': {
          // A backup step's summary starts with the file it wrote: "FILE (12 KB, sha256 …, at REV)".
          // (A resumed run's "backup FILE had completed before the interruption" was not taken now.)
          const file = stepTypes.get(event.stepId) === 'backup' ? /^(\/\S+) \(/.exec(event.summary)?.[1] : undefined;
          if (file) entry.backups.push(file);
          break;
        }
        case 'run-finished':
          Object.assign(entry, { runId: event.runId, outcome: event.outcome, switchTo: event.switchTo, message: event.message });
          break;
        default:
          break;
      }
    };
  }

  status(reading: StatusReading): void {
    this.first ??= reading;
    this.last = reading;
  }

  /** True when a run may have changed the app's target (so its status is worth reading again at exit). */
  get changedTarget(): boolean {
    return this.runs.some((run) => !run.drill);
  }
}

const revisionsText = (rows: string[]) => (rows.length ? rows.join('+') : 'base (empty)');

/** The summary's lines, plain text (nothing cut: run ids and paths are copied from here). */
export function exitSummaryLines(record: SessionRecord, identity: TargetIdentity, final: StatusReading | undefined = record.last): string[] {
  const where = identity.problem ? '(no database)' : `${identity.environment ?? 'no environment'} · ${identity.database}@${identity.host}:${identity.port}`;
  const lines = [`mutx-ops session summary — ${where}`];
  lines.push(`  database: ${databaseLine(record.first, final)}`);
  if (!record.runs.length) lines.push('  runs: none started');
  for (const run of record.runs) lines.push(...runLines(run));
  const backups = record.runs.flatMap((run) => run.backups);
  if (backups.length) for (const file of backups) lines.push(`  backup taken: ${terminalLine(file)}`);
  else lines.push('  backups taken: none');
  return lines;
}

function databaseLine(first: StatusReading | undefined, final: StatusReading | undefined): string {
  if (!first && !final) return 'not read';
  if (final && !final.ok) {
    const before = first?.ok ? `was at ${revisionsText(first.status.current)}; ` : '';
    return `${before}not readable at exit: ${terminalLine(final.problem)}`;
  }
  const after = final?.ok ? final.status : undefined;
  const before = first?.ok ? first.status : undefined;
  if (!after) return 'not read';
  const atHead = after.pending.length === 0 && after.current.length > 0 ? ' (head)' : '';
  if (!before) return `? → ${revisionsText(after.current)}${atHead}`;
  const same = revisionsText(before.current) === revisionsText(after.current);
  return same ? `at ${revisionsText(after.current)}${atHead} (unchanged)` : `${revisionsText(before.current)} → ${revisionsText(after.current)}${atHead}`;
}

function runLines(run: SessionRun): string[] {
  const id = run.runId ?? '(no run id: it did not start)';
  const tags = [run.runbook, run.resumed ? 'resumed' : '', run.drill ? `drill on ${run.target ?? 'the sandbox'}` : ''].filter(Boolean).join(', ');
  const head = `  run ${id} (${terminalLine(tags)}): `;
  const resume = run.runId ? `mutx-ops run --resume ${run.runId}` : undefined;
  const at = run.step ? ` at step ${run.step.index}/${run.step.total} "${terminalLine(run.step.title)}"` : '';
  switch (run.outcome) {
    case undefined:
      return [`${head}not finished${at}`, ...(resume ? [`    resume: ${resume}`] : [])];
    case 'paused':
      return [`${head}paused${at} (nothing aborted)`, ...(resume ? [`    resume: ${resume}`] : [])];
    case 'switched':
      return [`${head}switched to ${run.switchTo ?? 'another runbook'}`];
    case 'completed':
      return [`${head}completed${run.message && / failed step\(s\) skipped: /.test(run.message) ? ' with failed steps skipped' : ''}`];
    default:
      return [`${head}${run.outcome}${at}${run.message ? ` — ${clip(terminalLine(run.message.split('\n')[0] ?? ''), 160)}` : ''}`];
  }
}

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
