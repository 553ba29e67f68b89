import { MutxError } from '../../core/errors';
import { loadGraph, migrate, planMigration, stamp, type CoreContext } from '../../core/migrations/operations';
import { readRehearsals, rehearsalStatus } from '../../core/rehearse/record';
import { rehearseBeforeMigrate } from './rehearse';
import { downgradeSafety, restoreInsteadOfDowngrade } from './brokenDowngrade';
import { isRelative, resolveSeveralHeads, severalHeadsChoices } from './severalHeads';
import { backupNote, backupPlanLine, confirmDestructive, currentRows, info, requireBackupOfCurrentRevision, targetDescription, type StepContext, type StepHandler, type StepOf, type StepOutcome } from './context';

/** Migrate targets that name run state: `selected` (picked earlier), `start` (revision when the run began). */
export function migrateTarget(step: { target: string }, c: StepContext): string | undefined {
  if (step.target === 'selected') return c.state.vars.selectedRevision;
  // "-1" from several heads: the rollback the operator chose (steps/severalHeads.ts).
  if (isRelative(step.target) && c.state.vars.severalHeadsTarget) return c.state.vars.severalHeadsTarget;
  if (step.target === 'start') {
    const start = c.state.vars.startRevisions ?? [];
    return start.length === 0 ? 'base' : start.length === 1 ? start[0] : undefined;
  }
  return step.target;
}

/** Relative targets are fixed when the step first starts, so a resumed step does not move twice. */
async function absoluteTarget(step: StepOf<'migrate'>, c: StepContext): Promise<{ target: string; from: string[]; to: string[]; count: number } | undefined> {
  const target = migrateTarget(step, c);
  if (target === undefined) return undefined;
  const rows = await currentRows(c);
  if (step.action === 'stamp') return { target, from: rows, to: [target], count: 0 };
  const plan = await planMigration(c.ctx.settings, step.action, target, rows);
  const to = plan.headsAfter;
  return { target: to.length === 0 ? 'base' : to.length === 1 ? to[0]! : step.action === 'upgrade' ? 'heads' : target, from: rows, to, count: plan.steps.length };
}

async function runMigrateStep(step: StepOf<'migrate'>, c: StepContext): Promise<StepOutcome> {
  const severalHeads = step.action === 'downgrade' ? await resolveSeveralHeads(c, step.target) : undefined;
  const resolved = await absoluteTarget(step, c);
  if (!resolved) {
    if (step.target === 'selected' && c.state.vars.selectedBackup) return { skipped: 'a backup was selected: the restore step brings the database to its revision' };
    throw new MutxError('runbook', `${step.title}: no target revision (target "${step.target}" was not chosen)`, { hint: 'pick a revision in the select step, or pass --target REV' });
  }
  c.stepState.resolvedTarget = resolved.target;
  c.save();
  if (resolved.count === 0 && step.action !== 'stamp') return { summary: `nothing to do: already at ${resolved.from.join(', ') || 'base'}` };
  // A downgrade known to fail (the record, or a quick rehearsal now) is never run: the restore of the backup at the target instead.
  if (step.action === 'downgrade') {
    const safety = await downgradeSafety(c, resolved.target, { quick: step.quick_rehearsal, rows: resolved.from });
    if (safety.state === 'fails') return restoreInsteadOfDowngrade(step, c, safety);
  }
  if (step.action !== 'stamp' && (step.rehearse_first === 'always' || (step.rehearse_first === 'protected' && c.ctx.target.protected))) await rehearseBeforeMigrate(c, step.action, resolved.target);
  await confirmDestructive(step, c, [`${step.action} ${resolved.from.join(', ') || 'base'} → ${resolved.to.join(', ') || 'base'} on ${c.ctx.target.redacted}`]);
  const reliedOn = await requireBackupOfCurrentRevision(c, step);
  const started = Date.now();
  const expected = step.action === 'stamp' ? undefined : expectedDurations(c);
  const ctx: CoreContext = {
    ...c.ctx,
    onEvent: (event) => {
      if (event.type === 'step-started') c.emit({ type: 'progress', stepId: step.id, progress: { kind: 'migration', index: event.index + 1, total: event.total, revision: event.revision, direction: event.direction, elapsedMs: Date.now() - started, expectedMs: expected?.(event.revision, event.direction) } });
      else if (event.type === 'lock-waiting') c.emit({ type: 'progress', stepId: step.id, progress: { kind: 'lock-wait', holder: event.holder, waitedMs: event.waitedMs } });
      else if (event.type === 'retry') info(c, `${event.reason}: retry ${event.attempt}/${event.of}`);
      else if (event.type === 'blocked') info(c, `waiting on locks held by ${event.blockers.map((b) => `pid ${b.pid} (${b.applicationName || '?'}, ${b.state ?? '?'}): ${b.query.slice(0, 60)}`).join('; ')}`);
      else if (event.type === 'step-finished') {
        const rehearsed = expected?.(event.revision, event.direction);
        info(c, `✔ ${event.direction} ${event.revision} (${event.durationMs} ms${rehearsed !== undefined ? `; rehearsed ${rehearsed} ms` : ''})`);
      }
    },
  };
  if (step.action === 'stamp') {
    const result = await stamp(ctx, resolved.target, { purge: step.purge });
    return { summary: `stamped ${result.before.join(', ') || 'base'} → ${result.after.join(', ') || 'base'}${backupNote(reliedOn)}` };
  }
  const result = await migrate(ctx, step.action, resolved.target, { timeoutSeconds: step.timeout_seconds, lockTimeoutSeconds: step.lock_timeout_seconds });
  // What the chosen target really leaves (to one parent of a merge: both branch heads), for the verify step.
  if (step.target === 'selected') {
    c.state.vars.selectedHeadsAfter = result.headsAfter;
    c.save();
  }
  if (severalHeads) {
    c.state.vars.severalHeadsAfter = result.headsAfter;
    c.save();
  }
  return { summary: `${step.action} ${result.headsBefore.join(', ') || 'base'} → ${result.headsAfter.join(', ') || 'base'} (${result.steps.length} revision(s))${backupNote(reliedOn)}` };
}

/**
 * Per revision, the duration of its last ok rehearsal (record of rehearsals, same file checksum
 * and direction): the expected time shown while the real migration runs. Read once per step.
 */
function expectedDurations(c: StepContext): (revision: string, direction: string) => number | undefined {
  const records = readRehearsals(c.ctx.settings);
  if (records.length === 0) return () => undefined;
  const graph = loadGraph(c.ctx.settings);
  const cache = new Map<string, number | undefined>();
  return (revision, direction) => {
    if ((direction !== 'upgrade' && direction !== 'downgrade') || !graph.has(revision)) return undefined;
    const cacheKey = `${direction}:${revision}`;
    if (!cache.has(cacheKey)) {
      const status = rehearsalStatus(records, graph.get(revision), direction);
      cache.set(cacheKey, status.state === 'ok' ? status.record?.duration_ms : undefined);
    }
    return cache.get(cacheKey);
  };
}

export const migrateStep: StepHandler<'migrate'> = {
  run: runMigrateStep,
  preview: async (step, c) => {
    if (step.action === 'downgrade' && isRelative(step.target) && !c.state.vars.severalHeadsTarget) {
      const rows = await currentRows(c);
      if (rows.length > 1) return [`mutx-ops downgrade ${step.target} ${targetDescription(c)}`, ...severalHeadsChoices(c, rows).lines];
    }
    const resolved = await absoluteTarget(step, c);
    const where = targetDescription(c);
    if (!resolved) return [`${step.action} ${step.target} (target chosen earlier in the run) ${where}`];
    const timeout = step.timeout_seconds ? ` --timeout ${step.timeout_seconds}` : '';
    return [
      `mutx-ops ${step.action} ${step.target}${timeout} ${where}`,
      step.action === 'stamp' ? `version table ${resolved.from.join(', ') || 'base'} → ${resolved.target} (no SQL runs)` : `${resolved.from.join(', ') || 'base'} → ${resolved.to.join(', ') || 'base'}: ${resolved.count} revision(s)`,
      ...(step.action === 'downgrade' && resolved.count > 0 ? (await downgradeSafety(c, resolved.target, { quick: step.quick_rehearsal, rows: resolved.from })).lines : []),
      ...((resolved.count > 0 || step.action === 'stamp' ? [await backupPlanLine(c, step)] : []).filter((line): line is string => line !== undefined)),
    ];
  },
  recheck: async (step, c) => {
    if (!c.stepState.resolvedTarget) return undefined;
    const rows = await currentRows(c);
    const target = c.stepState.resolvedTarget;
    const reached = step.action === 'stamp' ? rows.join(',') === target : target === 'base' ? rows.length === 0 : rows.length === 1 && rows[0] === target;
    if (reached) return { summary: `already at ${target}: the interrupted ${step.action} had finished (re-checked, not re-run)` };
    info(c, `re-checked after interruption: the database is at ${rows.join(', ') || 'base'}, not yet ${target}; running the ${step.action} again to the same target`);
    return undefined;
  },
};
