import path from 'node:path';
import { listBackups, type BackupRecord } from '../../core/backup';
import { isMutxError, MutxError, oneLine } from '../../core/errors';
import { planMigration } from '../../core/migrations/operations';
import { readRehearsals, rehearsalStatus } from '../../core/rehearse/record';
import { restoreForStep } from './restore';
import { currentRows, info, requireFreshBackup, type StepContext, type StepOf, type StepOutcome } from './context';

/**
 * A rollback whose downgrade is known not to work switches to the restore of the verified backup
 * taken at the target revision (issue 14). What is known comes from the record of rehearsals
 * (.mutx-ops/rehearsals.jsonl); when nothing is known about a revision's downgrade (never
 * rehearsed, or its file changed since), a quick rehearsal runs now — the downgrade alone, on a
 * schema-only copy of the target on the target's server, without lock sampling — at most once per
 * run and plan. Without a scratch database (no CREATEDB, server refuses) it is skipped and the
 * plan says why. The target is only read.
 *
 * A downgrade known to fail is never run: the step asks whether to restore the backup instead
 * (Enter = no). Headless, only `--on-broken-downgrade restore` says yes; without it the run stops
 * before the downgrade (paused, exit 5) naming the backup and the commands.
 */
export interface DowngradeSafety {
  state: 'ok' | 'fails' | 'unknown' | 'nothing';
  /** The plan's lines: what is known per revision, the quick rehearsal, what the step will do. */
  lines: string[];
  /** Revisions whose downgrade fails, with the record's words. */
  failing: { revision: string; text: string }[];
  /** The revisions the downgrade would leave (what a backup must hold to replace it). */
  targetRows: string[];
  /** The newest verified backup of this database holding exactly targetRows. */
  backup?: BackupRecord;
}

const QUICK_REHEARSAL_TIMEOUT_SECONDS = 120;

const key = (rows: string[]) => [...rows].sort().join(',');

/** The newest verified backup of this database whose recorded revisions are exactly `rows`. */
export function backupAtRevisions(c: StepContext, rows: string[]): BackupRecord | undefined {
  return listBackups(c.ctx.settings, { target: c.ctx.target }).find((b) => b.verified?.ok === true && key(b.revisions) === key(rows));
}

async function runningSandbox(c: StepContext): Promise<string | undefined> {
  try {
    const { sandboxUrl } = await import('../../core/sandbox');
    const url = await sandboxUrl(c.ctx.settings);
    // Not when the target is the sandbox itself (its own server refused already).
    return url && !c.ctx.target.sandbox ? url : undefined;
  } catch {
    return undefined;
  }
}

export function describeBackup(backup: BackupRecord): string {
  const minutes = Math.max(0, Math.round((Date.now() - Date.parse(backup.createdAt)) / 60_000));
  return `${path.basename(backup.file)} (at ${backup.revisions.join(', ') || 'base'}, ${minutes} min old, verified)`;
}

export async function downgradeSafety(c: StepContext, target: string, options: { quick: boolean; rows?: string[] }): Promise<DowngradeSafety> {
  const rows = options.rows ?? (await currentRows(c));
  const plan = await planMigration(c.ctx.settings, 'downgrade', target, rows);
  const targetRows = plan.headsAfter;
  if (plan.steps.length === 0) return { state: 'nothing', lines: [], failing: [], targetRows };
  const lines: string[] = [];
  const statuses = () => {
    const records = readRehearsals(c.ctx.settings);
    return plan.steps.map((s) => ({ revision: s.migration.revision, status: rehearsalStatus(records, s.migration, 'downgrade') }));
  };
  let known = statuses();
  const unknown = known.filter((k) => k.status.state === 'never' || k.status.state === 'changed');
  // Once per run and plan: the record answers every later look (the plan again, the step itself).
  const planKey = `${key(rows)}>${target}`;
  const done = (c.state.vars.quickRehearsals ??= {});
  if (!known.some((k) => k.status.state === 'fails') && unknown.length && options.quick && !done[planKey]) {
    info(c, `quick rehearsal: the downgrade of ${unknown.map((u) => u.revision).join(', ')} was never rehearsed; running the downgrade to ${target} on a schema-only copy of the target (the target is only read)…`);
    const { rehearse } = await import('../../core/rehearse/rehearse');
    const quick = async (scratchUrl: string | undefined, where: string) => {
      const report = await rehearse({ ...c.ctx, signal: c.signal }, { direction: 'downgrade', target, roundTrip: false, timeoutSeconds: QUICK_REHEARSAL_TIMEOUT_SECONDS, observeLocks: false, scratchUrl });
      done[planKey] = { at: new Date().toISOString(), ok: report.ok, note: report.ok ? `quick rehearsal: the downgrade to ${target} ran ok on a schema-only copy ${where} (${report.scratch?.database ?? 'scratch'}, dropped)` : `quick rehearsal: the downgrade to ${target} FAILED on a schema-only copy ${where}: ${report.error ?? 'see the record'}` };
    };
    try {
      await quick(undefined, "on the target's server");
    } catch (error) {
      // The target's server refuses a scratch database (no CREATEDB): the practice sandbox, when it is running, is one (never started for this).
      const sandbox = isMutxError(error) && error.kind === 'usage' && /cannot create the scratch database/.test(error.message) ? await runningSandbox(c) : undefined;
      try {
        if (!sandbox) throw error;
        await quick(sandbox, 'on the running sandbox (the target\'s server refused a scratch database)');
      } catch (last) {
        done[planKey] = { at: new Date().toISOString(), ok: false, skipped: true, note: `no quick rehearsal: ${oneLine(last)}${sandbox ? '' : ' (no sandbox running either)'} — what the downgrade does is not known` };
      }
    }
    c.save();
    known = statuses();
  }
  if (done[planKey]) lines.push(done[planKey]!.note);
  else if (unknown.length && !options.quick) lines.push('no quick rehearsal (quick_rehearsal: false): what the downgrade does is not known');
  const failing = known.filter((k) => k.status.state === 'fails').map((k) => ({ revision: k.revision, text: k.status.text }));
  const state: DowngradeSafety['state'] = failing.length ? 'fails' : known.every((k) => k.status.state === 'ok') ? 'ok' : 'unknown';
  const backup = failing.length ? backupAtRevisions(c, targetRows) : undefined;
  const at = targetRows.join(', ') || 'base';
  lines.unshift('rehearsals of this downgrade:', ...known.map((k) => `  ${k.revision}: ${k.status.text}`));
  if (failing.length) {
    lines.push(`the downgrade of ${failing.map((f) => f.revision).join(', ')} is KNOWN TO FAIL: restoring the verified backup taken at the target revision (${at}) is the safer way back`);
    if (backup) {
      lines.push(`this step will not run the downgrade: it offers to restore ${describeBackup(backup)} instead`);
      lines.push('in the app: y at its question (enter = no); headless: --on-broken-downgrade restore (without it the run stops there, exit 5)');
    } else {
      lines.push(`there is no verified backup at ${at} to restore instead: the step stops before the downgrade`);
      lines.push('restore a backup you trust with `mutx-ops restore FILE`, or fix the downgrade and rehearse it');
    }
  }
  return { state, lines, failing, targetRows, backup };
}

/**
 * The migrate step of a downgrade known to fail: offers the restore of the backup at the target
 * revision, asked explicitly (Enter = no; headless only --on-broken-downgrade restore); otherwise
 * stops before the downgrade with the backup and the commands named. Nothing runs the downgrade.
 */
export async function restoreInsteadOfDowngrade(step: StepOf<'migrate'>, c: StepContext, safety: DowngradeSafety): Promise<StepOutcome> {
  const revisions = safety.failing.map((f) => f.revision).join(', ');
  const at = safety.targetRows.join(', ') || 'base';
  for (const f of safety.failing) info(c, `${f.revision}: ${f.text}`);
  const backup = safety.backup;
  if (!backup) {
    throw new MutxError('runbook', `the downgrade of ${revisions} is known to fail and there is no verified backup at ${at} to restore instead: stopped before the downgrade, nothing changed`, {
      hint: 'restore a backup you trust with `mutx-ops restore FILE`, or fix the downgrade and check it with `mutx-ops rehearse downgrade`',
    });
  }
  const name = path.basename(backup.file);
  const response = await c.ask({
    kind: 'confirm',
    prompt: `The downgrade of ${revisions} is known to fail: restore ${name} (at ${at}) instead?`,
    detail: [
      ...safety.failing.map((f) => `${f.revision}: ${f.text}`),
      `restore ${describeBackup(backup)} from ${path.dirname(backup.file)}`,
      'everything written since that backup is lost; a safety backup of the current state is taken first',
      'n: stop before the downgrade (nothing changes)',
      `by hand: \`mutx-ops restore ${backup.file}\``,
    ],
    defaultNo: true,
    explicit: 'on-broken-downgrade',
  });
  if (response.kind !== 'confirm' || !response.ok) {
    throw new MutxError('runbook', `stopped before the downgrade: the downgrade of ${revisions} is known to fail; the backup at ${at} is ${name} — restore it with \`mutx-ops restore ${backup.file}\`, or retry this step and answer y`, {
      hint: `headless: \`mutx-ops run --resume ${c.state.id} --on-broken-downgrade restore\``,
    });
  }
  requireFreshBackup(c);
  info(c, `restoring ${name} instead of the downgrade of ${revisions} (known to fail)`);
  const result = await restoreForStep(c, backup.file);
  if (step.target === 'selected') {
    c.state.vars.selectedHeadsAfter = result.revisionsAfter;
    c.save();
  }
  return { summary: `restored ${name} instead of the downgrade of ${revisions} (known to fail): now at ${result.revisionsAfter.join(', ') || 'base'}; safety backup ${result.safetyBackup?.file ? path.basename(result.safetyBackup.file) : 'none'}` };
}
