import type pg from 'pg';
import path from 'node:path';
import { backupDatabase, latestVerifiedBackup, listBackups, verifyBackup, type BackupRecord } from '../../core/backup';
import type { EnvironmentSettings } from '../../core/config';
import { redactSecrets, registerSecret } from '../../core/connection';
import { MutxError } from '../../core/errors';
import { openClient, versionNames, type CoreContext } from '../../core/migrations/operations';
import { readVersionRows } from '../../core/migrations/versionTable';
import type { InputRequest, InputResponse, RunEvent } from '../events';
import type { Step } from '../schema';
import type { RunState, StepState } from '../state';

export interface StepContext {
  /** The runbook's steps (state.steps holds their status by index). */
  steps: Step[];
  ctx: CoreContext;
  environment?: EnvironmentSettings;
  state: RunState;
  stepState: StepState & { resolvedTarget?: string };
  signal: AbortSignal;
  emit: (event: RunEvent) => void;
  ask: (request: InputRequest) => Promise<InputResponse>;
  save: () => void;
}

export type StepOutcome = { summary: string; skipped?: undefined } | { skipped: string; summary?: undefined };

export type StepOf<T extends Step['type']> = Extract<Step, { type: T }>;

/** One step type: how it runs, what it will do (shown before it starts), how a resumed run re-checks it. */
export interface StepHandler<T extends Step['type']> {
  run(step: StepOf<T>, c: StepContext): Promise<StepOutcome>;
  preview?(step: StepOf<T>, c: StepContext): Promise<string[]> | string[];
  /** After an interruption mid-step: an outcome when the step turns out to be done, undefined to run it again. */
  recheck?(step: StepOf<T>, c: StepContext): Promise<StepOutcome | undefined>;
}

/** Steps that can lose data: typed confirmation on a protected environment. */
export function isDestructive(step: Step): boolean {
  if (step.destructive !== undefined) return step.destructive;
  if (step.type === 'restore') return true;
  if (step.type === 'migrate') return step.action !== 'upgrade';
  if (step.type === 'reconcile') return true;
  return false;
}

/**
 * Steps that act on the database or the world (a dump, a restore, a migration, a command):
 * the run's plan is confirmed once before the first of them. Reading, checking and asking do not.
 */
export function changesSomething(step: Step, environment?: EnvironmentSettings): boolean {
  switch (step.type) {
    case 'backup':
    case 'restore':
    case 'migrate':
    case 'reconcile':
    case 'command':
      return true;
    case 'manual':
      return Boolean(step.command_ref && environment?.commands[step.command_ref]);
    default:
      return false;
  }
}

export const info = (c: StepContext, line: string) => c.emit({ type: 'output', stepId: c.stepState.id, line, stream: 'info' });

export async function withClient<T>(c: StepContext, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await openClient(c.ctx);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

export async function currentRows(c: StepContext): Promise<string[]> {
  return withClient(c, (client) => readVersionRows(client, versionNames(c.ctx.settings)));
}

export function commandFor(c: StepContext, ref: string): string[] | undefined {
  return c.environment?.commands[ref];
}

export function showCommand(argv: string[]): string {
  return redactSecrets(argv.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`)).join(' '));
}

/** Where a step acts, for its preview line. */
export function targetDescription(c: StepContext): string {
  return `on ${c.ctx.target.redacted}${c.ctx.target.environment ? ` (${c.ctx.target.environment}${c.ctx.target.protected ? ', PROTECTED' : ''})` : ''}`;
}

/**
 * A URL for screens and records: no credentials, no query, and no path unless `keepPath` (a
 * webhook's path is its token: `…/services/T000/B000/<token>`; a URL written in the runbook file
 * itself is no secret).
 */
export function redactUrl(url: string, options: { keepPath?: boolean } = {}): string {
  try {
    const parsed = new URL(url);
    const path = parsed.pathname && parsed.pathname !== '/' ? (options.keepPath ? parsed.pathname : '/…') : '';
    return `${parsed.protocol}//${parsed.username ? '***@' : ''}${parsed.host}${path}${parsed.search ? '?…' : ''}`;
  } catch {
    return '(invalid URL)';
  }
}

/**
 * A URL read from the variable `name` (a webhook, a health check): its path, query and credentials
 * become secrets redacted everywhere from now on; one that does not parse is refused without being shown.
 */
/** secretUrlFromEnv for a preview: registers the secret, never throws (the step itself reports a bad value). */
export function registerUrlFromEnv(name: string | undefined): void {
  try {
    if (name) secretUrlFromEnv(name);
  } catch {
    // Reported when the step runs.
  }
}

export function secretUrlFromEnv(name: string): string | undefined {
  const url = process.env[name]?.trim();
  if (!url) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    registerSecret(url);
    throw new MutxError('config', `$${name} is not a valid URL (not shown: it may hold a token)`, { hint: `check the value of ${name}` });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new MutxError('config', `$${name} is not an http(s) URL`, { hint: `check the value of ${name}` });
  registerSecret(url);
  if (parsed.pathname.length > 1) registerSecret(`${parsed.pathname}${parsed.search}`);
  if (parsed.search) registerSecret(parsed.search);
  if (parsed.password) registerSecret(decodeURIComponent(parsed.password));
  return url;
}

/** A protected environment makes destructive steps wait for the database name typed exactly. */
export async function confirmDestructive(step: Step, c: StepContext, what: string[]): Promise<void> {
  if (!c.ctx.target.protected || !isDestructive(step)) return;
  // The run's plan, which listed this step, was confirmed with the database name typed: one confirmation, not two.
  if (planTypedConfirmed(c)) return;
  const expected = c.ctx.target.database;
  const response = await c.ask({ kind: 'typed-confirmation', prompt: `${step.title} on protected environment ${c.ctx.target.environment ?? ''}: type the database name to go ahead`, expected, detail: what });
  if (response.kind !== 'typed-confirmation' || response.text !== expected) {
    throw new MutxError('usage', `typed "${response.kind === 'typed-confirmation' ? response.text.slice(0, 40) : ''}" instead of "${expected}": nothing was done`, { hint: 'retry and type the database name exactly' });
  }
}

export function planTypedConfirmed(c: StepContext): boolean {
  return c.state.vars.planConfirmed?.mode === 'typed';
}

/**
 * A protected target, or a run whose own backup step did not produce a verified backup (it
 * failed, or was skipped), changes nothing until a verified backup younger than the limit exists.
 * (The restore step's rule: it takes its own safety backup of the current state first.)
 */
export function requireFreshBackup(c: StepContext): void {
  const missedBackup = c.steps.find((step, index) => step.type === 'backup' && step.verify && ['failed', 'skipped'].includes(c.state.steps[index]?.status ?? ''));
  if (!c.ctx.target.protected && !missedBackup) return;
  const maxAge = c.environment?.backup_max_age_minutes ?? 60;
  const backup = latestVerifiedBackup(c.ctx.settings, c.ctx.target, maxAge);
  if (!backup) {
    const why = missedBackup ? `this run's backup step "${missedBackup.title}" produced no verified backup` : 'refusing to change a protected environment';
    throw new MutxError('runbook', `no verified backup of ${c.ctx.target.database} younger than ${maxAge} min: ${why}`, { hint: 'take one (`mutx-ops backup`, or retry the backup step) and retry this step' });
  }
}

/**
 * Which backup a migrate or reconcile step relies on. It applies on a protected target, in a
 * runbook that has a backup step, and to every destructive step (downgrade, stamp, reconcile):
 * the step runs only with a verified backup of the revision the database is at *now* — the one
 * this run took, or one younger than backup_max_age_minutes — and names it. Without one: a
 * destructive step of a runbook with no backup step of its own, on a target that is not
 * protected, takes one itself (verified; its plan says so); otherwise the step stops (a failed or
 * skipped backup step, or a protected target, is never papered over). An older backup of another
 * revision would silently restore to the wrong place.
 */
export async function requireBackupOfCurrentRevision(c: StepContext, step?: Step): Promise<BackupRecord | undefined> {
  const backupSteps = c.steps.map((s, index) => ({ step: s, index })).filter(({ step: s }) => s.type === 'backup');
  const destructive = step ? isDestructive(step) : false;
  if (!c.ctx.target.protected && backupSteps.length === 0 && !destructive) return undefined;
  const rows = await currentRows(c);
  const { backup, fromThisRun, maxAge } = backupOfRevision(c, rows);
  const at = rows.join(', ') || 'base';
  if (!backup) {
    if (autoBackupApplies(c, step)) return takeAutomaticBackup(c, step!, at, maxAge);
    const missed = backupSteps.find(({ index }) => ['failed', 'skipped'].includes(c.state.steps[index]?.status ?? ''));
    const why = missed ? `this run's backup step "${missed.step.title}" was ${c.state.steps[missed.index]!.status}` : c.ctx.target.protected ? 'refusing to change a protected environment' : 'this run took none';
    throw new MutxError('runbook', `no verified backup of ${c.ctx.target.database} at its current revision ${at}, taken in this run or younger than ${maxAge} min: ${why}`, {
      hint: 'take one (`mutx-ops backup`, or retry the backup step) and retry this step',
    });
  }
  const minutes = Math.max(0, Math.round((Date.now() - Date.parse(backup.createdAt)) / 60_000));
  info(c, `relies on backup ${path.basename(backup.file)} (at ${at}, ${backup === fromThisRun ? 'taken in this run' : `${minutes} min old`}, verified)`);
  return backup;
}

function backupOfRevision(c: StepContext, rows: string[]): { backup?: BackupRecord; fromThisRun?: BackupRecord; maxAge: number } {
  const key = (list: string[]) => [...list].sort().join(',');
  const maxAge = c.environment?.backup_max_age_minutes ?? 60;
  const cutoff = Date.now() - maxAge * 60_000;
  const candidates = listBackups(c.ctx.settings, { target: c.ctx.target }).filter((b) => b.verified?.ok === true && key(b.revisions) === key(rows));
  const fromThisRun = candidates.find((b) => b.file === c.state.vars.runBackup);
  return { backup: fromThisRun ?? candidates.find((b) => Date.parse(b.createdAt) >= cutoff), fromThisRun, maxAge };
}

/** A destructive step of a runbook without a backup step, on a target that is not protected: it takes its own backup. */
function autoBackupApplies(c: StepContext, step: Step | undefined): boolean {
  return Boolean(step && isDestructive(step) && !c.ctx.target.protected && !c.steps.some((s) => s.type === 'backup'));
}

async function takeAutomaticBackup(c: StepContext, step: Step, at: string, maxAge: number): Promise<BackupRecord> {
  info(c, `no verified backup of ${c.ctx.target.database} at ${at} younger than ${maxAge} min, and this runbook has no backup step: taking one first`);
  const record = await backupDatabase(c.ctx, { format: 'custom', label: `${c.state.runbook}/${step.id} run ${c.state.id} (before ${step.title})`, reason: 'runbook' });
  const result = await verifyBackup(c.ctx, record.file, {});
  if (!result.ok) throw new MutxError('backup', `the backup taken before "${step.title}" (${record.file}) failed verification: ${result.problems?.join('; ') ?? 'unknown'}: nothing was changed`, { hint: 'check the disk and pg_dump, then retry this step' });
  c.state.vars.runBackup = record.file;
  c.save();
  info(c, `relies on backup ${path.basename(record.file)} (at ${at}, taken in this run before this step, verified)`);
  return { ...record, verified: { ok: true } } as BackupRecord;
}

/**
 * The plan's line for that rule: which backup a destructive step will rely on, or that it takes
 * one first (a runbook without a backup step), or that it will stop.
 */
export async function backupPlanLine(c: StepContext, step: Step): Promise<string | undefined> {
  if (!isDestructive(step)) return undefined;
  if (c.steps.some((s) => s.type === 'backup')) return undefined; // the backup step's own plan line says it
  const rows = await currentRows(c);
  const at = rows.join(', ') || 'base';
  const { backup, maxAge } = backupOfRevision(c, rows);
  if (backup) return `relies on backup ${path.basename(backup.file)} (at ${at}, ${Math.max(0, Math.round((Date.now() - Date.parse(backup.createdAt)) / 60_000))} min old, verified)`;
  if (autoBackupApplies(c, step)) return `no verified backup at ${at} younger than ${maxAge} min: takes one first (pg_dump --format=custom into ${c.ctx.settings.backupsPath}, verified)`;
  return `no verified backup at ${at} younger than ${maxAge} min: the step will stop (take one with \`mutx-ops backup\` first)`;
}

export function backupNote(backup: BackupRecord | undefined): string {
  return backup ? `; backup ${path.basename(backup.file)}` : '';
}

/** The newest verified backup of this database taken before the run began: the state to go back to. */
export function backupBeforeRun(c: StepContext, atRevisions?: string[]) {
  const key = (list: string[]) => [...list].sort().join(',');
  return listBackups(c.ctx.settings, { database: c.ctx.target.database }).find(
    (backup) => backup.verified?.ok && backup.createdAt < c.state.startedAt && (atRevisions === undefined || key(backup.revisions) === key(atRevisions)),
  );
}
