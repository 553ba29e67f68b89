import readline from 'node:readline';
import { execa } from 'execa';
import { stringify as toYaml } from 'yaml';
import { backupDatabase, formatBytes, isCatalogued, latestVerifiedBackup, listBackups, resolveBackup, restoreBackup, verifyBackup } from '../core/backup';
import { catalogSnapshot, diffCatalogs } from '../core/catalog';
import type { EnvironmentSettings } from '../core/config';
import { redactSecrets } from '../core/connection';
import { MutxError, oneLine } from '../core/errors';
import { compareErrorRates, followLog, parseLogSource, type LogStats } from '../core/logs';
import { describeHolder, findLockHolder } from '../core/migrations/lock';
import { describePartial, loadGraph, migrate, openClient, reconcile, stamp, versionNames, type CoreContext } from '../core/migrations/operations';
import { readPartialMigrations } from '../core/migrations/versionTable';
import { planDowngrade, planUpgrade } from '../core/migrations/plan';
import { readVersionRows } from '../core/migrations/versionTable';
import type { InputRequest, InputResponse, RunEvent, TargetOption } from './events';
import type { Step } from './schema';
import type { RunState, StepState } from './state';

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

type StepOf<T extends Step['type']> = Extract<Step, { type: T }>;

/** Steps that can lose data: typed confirmation on a protected environment. */
export function isDestructive(step: Step): boolean {
  if (step.destructive !== undefined) return step.destructive;
  if (step.type === 'restore') return true;
  if (step.type === 'migrate') return step.action !== 'upgrade';
  if (step.type === 'reconcile') return true;
  return false;
}

const info = (c: StepContext, line: string) => c.emit({ type: 'output', stepId: c.stepState.id, line, stream: 'info' });

async function withClient<T>(c: StepContext, fn: (client: import('pg').Client) => Promise<T>): Promise<T> {
  const client = await openClient(c.ctx);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

async function currentRows(c: StepContext): Promise<string[]> {
  return withClient(c, (client) => readVersionRows(client, versionNames(c.ctx.settings)));
}

function commandFor(c: StepContext, ref: string): string[] | undefined {
  return c.environment?.commands[ref];
}

function showCommand(argv: string[]): string {
  return redactSecrets(argv.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`)).join(' '));
}

/** Migrate targets that name run state: `selected` (picked earlier), `start` (revision when the run began). */
function migrateTarget(step: StepOf<'migrate'>, c: StepContext): string | undefined {
  if (step.target === 'selected') return c.state.vars.selectedRevision;
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
  const graph = loadGraph(c.ctx.settings);
  const plan = step.action === 'upgrade' ? planUpgrade(graph, rows, target) : planDowngrade(graph, rows, target);
  const to = plan.headsAfter;
  return { target: to.length === 0 ? 'base' : to.length === 1 ? to[0]! : step.action === 'upgrade' ? 'heads' : target, from: rows, to, count: plan.steps.length };
}

export async function previewStep(step: Step, c: StepContext): Promise<string[]> {
  const where = `on ${c.ctx.target.redacted}${c.ctx.target.environment ? ` (${c.ctx.target.environment}${c.ctx.target.protected ? ', PROTECTED' : ''})` : ''}`;
  switch (step.type) {
    case 'command': {
      const argv = step.command ?? commandFor(c, step.command_ref!) ?? [];
      return [`$ ${showCommand(argv)}`, `timeout ${step.timeout_seconds}s, in ${c.ctx.settings.root}`, ...(step.stdin_values_from_env ? [`values on stdin from: ${Object.values(step.stdin_values_from_env).join(', ')} (never on the command line)`] : [])];
    }
    case 'manual': {
      const argv = step.command_ref ? commandFor(c, step.command_ref) : undefined;
      return argv ? [`$ ${showCommand(argv)} (the environment's "${step.command_ref}" command)`] : ['an action outside mutx-ops: confirm when it is done'];
    }
    case 'backup':
      return [`pg_dump --format=${step.format} ${where}`, `into ${c.ctx.settings.backupsPath}${step.verify ? ', then verified (checksum + pg_restore --list)' : ''}`];
    case 'restore': {
      const source =
        step.source === 'run' ? c.state.vars.runBackup ?? '(the backup taken in this run)' : step.source === 'selected' ? c.state.vars.selectedBackup ?? '(the selected backup)' : step.source === 'latest' ? 'the latest verified backup' : backupBeforeRun(c)?.file ?? '(no verified backup from before this run)';
      return [`restore ${source} ${where}`, 'a safety backup of the current state is taken first', `the database ${c.ctx.target.database} is overwritten`];
    }
    case 'migrate': {
      const resolved = await absoluteTarget(step, c);
      if (!resolved) return [`${step.action} ${step.target} (target chosen earlier in the run) ${where}`];
      const timeout = step.timeout_seconds ? ` --timeout ${step.timeout_seconds}` : '';
      return [
        `mutx-ops ${step.action} ${step.target}${timeout} ${where}`,
        step.action === 'stamp' ? `version table ${resolved.from.join(', ') || 'base'} → ${resolved.target} (no SQL runs)` : `${resolved.from.join(', ') || 'base'} → ${resolved.to.join(', ') || 'base'}: ${resolved.count} revision(s)`,
      ];
    }
    case 'reconcile': {
      const partial = await withClient(c, (client) => readPartialMigrations(client, versionNames(c.ctx.settings)));
      return partial.length === 0 ? ['no half-applied migration: nothing to reconcile'] : partial.map((p) => `${describePartial(p)}: its downgrade section runs${p.direction === 'downgrade' ? ', then its upgrade section again' : ''}`);
    }
    case 'verify':
      return [`expect the database at "${step.expect}"`, ...step.checks.map((check) => `check: ${check.description}`)];
    case 'logs': {
      const source = c.state.vars.logSource ?? step.source ?? c.environment?.log_source;
      return [`follow ${source ?? '(no log source configured)'} for ${c.state.vars.logDurationSeconds ?? step.duration_seconds}s, filter /${step.filter}/i${step.max_matches_per_minute !== undefined ? `, fail above ${step.max_matches_per_minute} matches/min` : ''}`];
    }
    case 'env-check':
      return [`check variables (values are never shown): ${[...step.required, ...step.all_or_none.flat(), ...step.optional].join(', ')}`];
    case 'http-check':
      return [`GET ${step.url ? redactUrl(step.url) : `$${step.url_env}`} expecting ${step.expect_status}`];
    case 'notify':
      return [`POST to $${step.webhook_env}: "${step.message}"`];
    default:
      return [];
  }
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = parsed.username ? '***' : '';
    parsed.password = '';
    parsed.search = parsed.search ? '?…' : '';
    return parsed.toString();
  } catch {
    return '(invalid URL)';
  }
}

/** A protected environment makes destructive steps wait for the database name typed exactly. */
async function confirmDestructive(step: Step, c: StepContext, what: string[]): Promise<void> {
  if (!c.ctx.target.protected || !isDestructive(step)) return;
  const expected = c.ctx.target.database;
  const response = await c.ask({ kind: 'typed-confirmation', prompt: `${step.title} on protected environment ${c.ctx.target.environment ?? ''}: type the database name to go ahead`, expected, detail: what });
  if (response.kind !== 'typed-confirmation' || response.text !== expected) {
    throw new MutxError('usage', `typed "${response.kind === 'typed-confirmation' ? response.text.slice(0, 40) : ''}" instead of "${expected}": nothing was done`, { hint: 'retry and type the database name exactly' });
  }
}

/**
 * A protected target, or a run whose own backup step did not produce a verified backup (it
 * failed, or was skipped), changes nothing until a verified backup younger than the limit exists.
 */
function requireFreshBackup(c: StepContext): void {
  const missedBackup = c.steps.find((step, index) => step.type === 'backup' && step.verify && ['failed', 'skipped'].includes(c.state.steps[index]?.status ?? ''));
  if (!c.ctx.target.protected && !missedBackup) return;
  const maxAge = c.environment?.backup_max_age_minutes ?? 60;
  const backup = latestVerifiedBackup(c.ctx.settings, c.ctx.target, maxAge);
  if (!backup) {
    const why = missedBackup ? `this run's backup step "${missedBackup.title}" produced no verified backup` : 'refusing to change a protected environment';
    throw new MutxError('runbook', `no verified backup of ${c.ctx.target.database} younger than ${maxAge} min: ${why}`, { hint: 'take one (`mutx-ops backup`, or retry the backup step) and retry this step' });
  }
}

export async function recheckStep(step: Step, c: StepContext): Promise<StepOutcome | undefined> {
  if (step.type === 'migrate' && c.stepState.resolvedTarget) {
    const rows = await currentRows(c);
    const target = c.stepState.resolvedTarget;
    const reached = step.action === 'stamp' ? rows.join(',') === target : target === 'base' ? rows.length === 0 : rows.length === 1 && rows[0] === target;
    if (reached) return { summary: `already at ${target}: the interrupted ${step.action} had finished (re-checked, not re-run)` };
    info(c, `re-checked after interruption: the database is at ${rows.join(', ') || 'base'}, not yet ${target}; running the ${step.action} again to the same target`);
  }
  if (step.type === 'backup') {
    const startedAt = c.stepState.startedAt ?? '';
    const done = listBackups(c.ctx.settings).find((backup) => backup.label === backupLabel(step, c) && backup.createdAt >= startedAt);
    // Killed between the dump and its verification: verify it now rather than trust it.
    const usable = done && (!step.verify || done.verified?.ok || (await verifyBackup(c.ctx, done.file, {}).then((r) => r.ok, () => false)));
    if (done && usable) {
      c.state.vars.runBackup = done.file;
      return { summary: `backup ${done.file} had completed before the interruption (re-checked, not re-run)${step.verify && !done.verified?.ok ? ', verified now' : ''}` };
    }
    if (done) info(c, `the backup taken before the interruption (${done.file}) does not verify: taking a new one`);
  }
  if (step.type === 'command' || step.type === 'restore') {
    const response = await c.ask({ kind: 'confirm', prompt: `"${step.title}" was running when the run stopped. Run it again?` });
    if (response.kind === 'confirm' && !response.ok) return { skipped: 'operator: was already done before the interruption' };
  }
  return undefined;
}

/** The newest verified backup of this database taken before the run began: the state to go back to. */
function backupBeforeRun(c: StepContext) {
  return listBackups(c.ctx.settings, { database: c.ctx.target.database }).find((backup) => backup.verified?.ok && backup.createdAt < c.state.startedAt);
}

function backupLabel(step: StepOf<'backup'>, c: StepContext): string {
  return step.label ?? `${c.state.runbook}/${step.id} run ${c.state.id}`;
}

export async function runStep(step: Step, c: StepContext): Promise<StepOutcome> {
  switch (step.type) {
    case 'checklist':
      return runChecklist(step, c);
    case 'manual': {
      const argv = step.command_ref ? commandFor(c, step.command_ref) : undefined;
      if (argv) return runCommand({ ...step, type: 'command', command: argv, command_ref: undefined, timeout_seconds: 600, pass_env: [] }, c);
      const response = await c.ask({ kind: 'confirm', prompt: `${step.title} — confirm when done`, detail: [step.text] });
      if (response.kind === 'confirm' && response.ok) return { summary: 'done (confirmed by the operator)' };
      throw new MutxError('runbook', `"${step.title}" was not confirmed`, { hint: 'do it, then retry the step' });
    }
    case 'command':
      return runCommand(step, c);
    case 'backup':
      return runBackupStep(step, c);
    case 'restore':
      return runRestoreStep(step, c);
    case 'migrate':
      return runMigrateStep(step, c);
    case 'reconcile':
      return runReconcileStep(step, c);
    case 'verify':
      return runVerifyStep(step, c);
    case 'logs':
      return runLogsStep(step, c);
    case 'env-check':
      return runEnvCheck(step, c);
    case 'http-check':
      return runHttpCheck(step, c);
    case 'notify':
      return runNotify(step, c);
    case 'inspect':
      return runInspect(step, c);
    case 'select-target':
      return runSelectTarget(step, c);
    case 'catalog':
      return runCatalog(step, c);
  }
}

async function runChecklist(step: StepOf<'checklist'>, c: StepContext): Promise<StepOutcome> {
  const ticked = new Set(c.stepState.ticked ?? []);
  for (const [index, item] of step.items.entries()) {
    if (ticked.has(item.id)) continue;
    if (item.auto_backup_max_age_minutes !== undefined) {
      const backup = latestVerifiedBackup(c.ctx.settings, c.ctx.target, item.auto_backup_max_age_minutes);
      if (backup) {
        info(c, `✔ ${item.label} — verified backup ${backup.file} from ${backup.createdAt}`);
        ticked.add(item.id);
        c.stepState.ticked = [...ticked];
        c.save();
        continue;
      }
    }
    const response = await c.ask({ kind: 'checklist-item', itemId: item.id, label: item.label, index, total: step.items.length });
    if (response.kind !== 'checklist-item' || !response.ticked) {
      throw new MutxError('runbook', `checklist item "${item.label}" is not done`, { hint: 'do it, then retry; or skip the checklist with a reason' });
    }
    info(c, `✔ ${item.label}`);
    ticked.add(item.id);
    c.stepState.ticked = [...ticked];
    c.save();
  }
  return { summary: `${step.items.length} item(s) confirmed` };
}

async function runCommand(step: StepOf<'command'>, c: StepContext): Promise<StepOutcome> {
  const argv = step.command ?? commandFor(c, step.command_ref!);
  if (!argv) {
    throw new MutxError('config', `environment ${c.ctx.target.environment ?? '(none)'} has no "${step.command_ref}" command`, { hint: `set environments.<name>.commands.${step.command_ref} in mutx-ops.yaml` });
  }
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'LANG', 'TERM', 'KUBECONFIG', ...step.pass_env]) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  let input: string | undefined;
  if (step.stdin_values_from_env) {
    const missing = Object.values(step.stdin_values_from_env).filter((name) => !process.env[name]);
    if (missing.length) throw new MutxError('runbook', `${step.title}: ${missing.join(', ')} not set`, { hint: 'export them before running this step' });
    const values: Record<string, unknown> = {};
    for (const [dotted, name] of Object.entries(step.stdin_values_from_env)) setDotted(values, dotted, process.env[name]!);
    input = toYaml(values);
  }
  const started = Date.now();
  const child = execa(argv[0]!, argv.slice(1), {
    cwd: c.ctx.settings.root,
    env,
    extendEnv: false,
    input,
    stdin: input === undefined ? 'ignore' : undefined,
    timeout: step.timeout_seconds * 1000,
    cancelSignal: c.signal,
    forceKillAfterDelay: 3000,
    reject: false,
    buffer: false,
  });
  const pipe = (stream: NodeJS.ReadableStream | null, name: 'stdout' | 'stderr') => {
    if (!stream) return;
    readline.createInterface({ input: stream }).on('line', (line) => c.emit({ type: 'output', stepId: step.id, line: redactSecrets(line), stream: name }));
  };
  pipe(child.stdout, 'stdout');
  pipe(child.stderr, 'stderr');
  const ticker = setInterval(() => c.emit({ type: 'progress', stepId: step.id, progress: { kind: 'command', elapsedMs: Date.now() - started, timeoutMs: step.timeout_seconds * 1000 } }), 1000);
  const result = await child.finally(() => clearInterval(ticker));
  if (result.timedOut) throw new MutxError('timeout', `${showCommand(argv)} did not finish within ${step.timeout_seconds}s (killed)`);
  if (result.isCanceled) throw new MutxError('runbook', `${showCommand(argv)} cancelled by the operator`);
  if (result.failed && result.exitCode === undefined) throw new MutxError('runbook', `cannot run ${argv[0]}: ${oneLine(result.originalMessage ?? result.shortMessage)}`, { hint: `is ${argv[0]} installed and on PATH?` });
  if (result.exitCode !== 0) throw new MutxError('runbook', `${showCommand(argv)} exited with ${result.exitCode}`);
  return { summary: `${showCommand(argv)} finished in ${((Date.now() - started) / 1000).toFixed(1)} s` };
}

function setDotted(target: Record<string, unknown>, dotted: string, value: string): void {
  const parts = dotted.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
  node[parts[parts.length - 1]!] = value;
}

async function runBackupStep(step: StepOf<'backup'>, c: StepContext): Promise<StepOutcome> {
  const record = await backupDatabase(c.ctx, {
    format: step.format,
    label: backupLabel(step, c),
    reason: 'runbook',
    onEvent: (event) => {
      if (event.type === 'progress') {
        c.emit({ type: 'progress', stepId: step.id, progress: { kind: 'backup', tablesDone: event.tablesDone, tablesTotal: event.tablesTotal, bytes: event.bytes, rateBytesPerSec: event.rateBytesPerSec, etaSeconds: event.etaSeconds } });
      }
    },
  });
  c.state.vars.runBackup = record.file;
  c.save();
  let verified = '';
  if (step.verify) {
    const result = await verifyBackup(c.ctx, record.file, {});
    if (!result.ok) throw new MutxError('backup', `backup ${record.file} failed verification: ${result.problems?.join('; ') ?? 'unknown'}`);
    verified = `, verified (${result.tocEntries ?? '?'} TOC entries)`;
  }
  return { summary: `${record.file} (${formatBytes(record.sizeBytes)}, sha256 ${record.sha256.slice(0, 12)}, at ${record.revisions.join(', ') || 'base'})${verified}` };
}

async function runRestoreStep(step: StepOf<'restore'>, c: StepContext): Promise<StepOutcome> {
  if (step.optional) {
    const response = await c.ask({ kind: 'confirm', prompt: `${step.title}: is a restore needed?`, detail: [step.text] });
    if (response.kind === 'confirm' && !response.ok) return { skipped: 'operator: restore not needed' };
  }
  const spec = step.source === 'run' ? c.state.vars.runBackup : step.source === 'selected' ? c.state.vars.selectedBackup : step.source === 'latest' ? 'latest' : backupBeforeRun(c)?.file;
  if (!spec) {
    const why = { selected: 'no backup was selected (a revision was)', run: 'this run took no backup', 'before-run': 'no verified backup from before this run exists', latest: '' }[step.source];
    if (step.source === 'before-run') throw new MutxError('restore', why, { hint: 'restore a specific file with `mutx-ops restore FILE`' });
    return { skipped: why };
  }
  requireFreshBackup(c);
  const result = await restoreBackup(c.ctx, spec, {
    safetyBackup: true,
    confirm: c.ctx.target.protected
      ? async ({ database, description }) => {
          const response = await c.ask({ kind: 'typed-confirmation', prompt: `restore over ${database}: type the database name to go ahead`, expected: database, detail: [description] });
          return response.kind === 'typed-confirmation' ? response.text : '';
        }
      : undefined,
    onEvent: (event) => {
      if (event.type === 'phase') info(c, event.message);
    },
  });
  return { summary: `restored ${result.file}; safety backup ${result.safetyBackup?.file ?? 'none'}; now at ${result.revisionsAfter.join(', ') || 'base'}` };
}

async function runMigrateStep(step: StepOf<'migrate'>, c: StepContext): Promise<StepOutcome> {
  const resolved = await absoluteTarget(step, c);
  if (!resolved) {
    if (step.target === 'selected' && c.state.vars.selectedBackup) return { skipped: 'a backup was selected: the restore step brings the database to its revision' };
    throw new MutxError('runbook', `${step.title}: no target revision (target "${step.target}" was not chosen)`, { hint: 'pick a revision in the select step, or pass --target REV' });
  }
  c.stepState.resolvedTarget = resolved.target;
  c.save();
  if (resolved.count === 0 && step.action !== 'stamp') return { summary: `nothing to do: already at ${resolved.from.join(', ') || 'base'}` };
  await confirmDestructive(step, c, [`${step.action} ${resolved.from.join(', ') || 'base'} → ${resolved.to.join(', ') || 'base'} on ${c.ctx.target.redacted}`]);
  requireFreshBackup(c);
  const started = Date.now();
  const ctx: CoreContext = {
    ...c.ctx,
    onEvent: (event) => {
      if (event.type === 'step-started') c.emit({ type: 'progress', stepId: step.id, progress: { kind: 'migration', index: event.index + 1, total: event.total, revision: event.revision, direction: event.direction, elapsedMs: Date.now() - started } });
      else if (event.type === 'lock-waiting') c.emit({ type: 'progress', stepId: step.id, progress: { kind: 'lock-wait', holder: event.holder, waitedMs: event.waitedMs } });
      else if (event.type === 'retry') info(c, `${event.reason}: retry ${event.attempt}/${event.of}`);
      else if (event.type === 'blocked') info(c, `waiting on locks held by ${event.blockers.map((b) => `pid ${b.pid} (${b.applicationName || '?'}, ${b.state ?? '?'}): ${b.query.slice(0, 60)}`).join('; ')}`);
      else if (event.type === 'step-finished') info(c, `✔ ${event.direction} ${event.revision} (${event.durationMs} ms)`);
    },
  };
  if (step.action === 'stamp') {
    const result = await stamp(ctx, resolved.target, { purge: step.purge });
    return { summary: `stamped ${result.before.join(', ') || 'base'} → ${result.after.join(', ') || 'base'}` };
  }
  const result = await migrate(ctx, step.action, resolved.target, { timeoutSeconds: step.timeout_seconds, lockTimeoutSeconds: step.lock_timeout_seconds });
  return { summary: `${step.action} ${result.headsBefore.join(', ') || 'base'} → ${result.headsAfter.join(', ') || 'base'} (${result.steps.length} revision(s))` };
}

async function runReconcileStep(step: StepOf<'reconcile'>, c: StepContext): Promise<StepOutcome> {
  const partial = await withClient(c, (client) => readPartialMigrations(client, versionNames(c.ctx.settings)));
  if (partial.length === 0) return { skipped: 'no half-applied migration: nothing to reconcile' };
  await confirmDestructive(step, c, partial.map(describePartial));
  requireFreshBackup(c);
  const result = await reconcile({ ...c.ctx, onEvent: (event) => event.type === 'step-finished' && info(c, `✔ ${event.direction} section of ${event.revision} (${event.durationMs} ms)`) }, { timeoutSeconds: step.timeout_seconds });
  return { summary: `reconciled ${result.reconciled.map((r) => `${r.revision} (ran ${r.ran.join(' then ')})`).join(', ')}; the database is at ${result.versionRows.join(', ') || 'base'}` };
}

async function runVerifyStep(step: StepOf<'verify'>, c: StepContext): Promise<StepOutcome> {
  const graph = loadGraph(c.ctx.settings);
  const start = c.state.vars.startRevisions ?? [];
  let expected: string[];
  switch (step.expect) {
    case 'head':
      expected = graph.heads();
      break;
    case 'start':
      expected = start;
      break;
    case 'previous': {
      if (start.length !== 1) throw new MutxError('runbook', `"previous" needs one revision at the start of the run (had ${start.join(', ') || 'base'})`);
      expected = graph.get(start[0]!).revises;
      break;
    }
    case 'selected': {
      const vars = c.state.vars;
      const selected = vars.selectedRevision ? [vars.selectedRevision] : vars.selectedBackupRevisions;
      if (!selected) throw new MutxError('runbook', 'no revision or backup was selected');
      expected = selected.filter((id) => id !== 'base');
      break;
    }
    default:
      expected = step.expect === 'base' ? [] : [graph.resolve(step.expect)];
  }
  return withClient(c, async (client) => {
    const rows = await readVersionRows(client, versionNames(c.ctx.settings));
    const sorted = (list: string[]) => [...list].sort().join(', ');
    info(c, `current: ${rows.join(', ') || 'base'}; expected (${step.expect}): ${expected.join(', ') || 'base'}`);
    if (sorted(rows) !== sorted(expected)) {
      throw new MutxError('verify-failed', `the database is at ${rows.join(', ') || 'base'}, expected ${expected.join(', ') || 'base'} (${step.expect})`);
    }
    for (const check of step.checks) {
      let value: unknown;
      try {
        const result = await client.query(check.sql);
        const row = result.rows[0] as Record<string, unknown> | undefined;
        value = row ? Object.values(row)[0] : undefined;
      } catch (error) {
        throw new MutxError('verify-failed', `check "${check.description}" failed: ${oneLine(error)}`);
      }
      if (!(value === true || (typeof value === 'number' && value !== 0) || value === 't')) {
        throw new MutxError('verify-failed', `check "${check.description}" returned ${JSON.stringify(value ?? null)}`);
      }
      info(c, `✔ ${check.description}`);
    }
    return { summary: `at ${rows.join(', ') || 'base'} as expected${step.checks.length ? `; ${step.checks.length} check(s) passed` : ''}` };
  });
}

const MAX_PRINTED_MATCHES = 200;

async function runLogsStep(step: StepOf<'logs'>, c: StepContext): Promise<StepOutcome> {
  const spec = c.state.vars.logSource ?? step.source ?? c.environment?.log_source;
  if (!spec) throw new MutxError('config', 'no log source: set log_source for the environment in mutx-ops.yaml (a file, or cmd: + command)', { hint: 'or skip this step with a reason' });
  const durationMs = (c.state.vars.logDurationSeconds ?? step.duration_seconds) * 1000;
  const watch = new AbortController();
  const onAbort = () => watch.abort();
  c.signal.addEventListener('abort', onAbort, { once: true });
  let printed = 0;
  let breach: string | undefined;
  let last: LogStats | undefined;
  const follower = followLog({
    source: parseLogSource(spec),
    filter: step.filter,
    cwd: c.ctx.settings.root,
    signal: watch.signal,
    onEvent: (event) => {
      if (event.type === 'line' && event.matched) {
        if (printed < MAX_PRINTED_MATCHES) c.emit({ type: 'output', stepId: step.id, line: redactSecrets(event.text), stream: 'match' });
        printed++;
      } else if (event.type === 'stats') {
        last = event.stats;
        c.emit({ type: 'progress', stepId: step.id, progress: { kind: 'logs', matched: event.stats.matchedLines, lines: event.stats.totalLines, matchesLastMinute: event.stats.matchesLastMinute, elapsedMs: event.stats.elapsedMs, durationMs } });
        if (step.max_matches_per_minute !== undefined && event.stats.matchesLastMinute > step.max_matches_per_minute) {
          breach = `${event.stats.matchesLastMinute} lines matching /${step.filter}/i in the last minute (threshold ${step.max_matches_per_minute}/min)`;
          watch.abort();
        }
      } else if (event.type === 'rotated') {
        info(c, `log rotated (${event.how}); following the new file`);
      } else if (event.type === 'error') {
        info(c, `log source: ${event.message}`);
      }
    },
  });
  const timer = setTimeout(() => watch.abort(), durationMs);
  if (step.until_operator) {
    // The TUI may end the watch early; a headless provider cannot, which is fine.
    c.ask({ kind: 'logs-watch', prompt: 'Press enter when satisfied with what the log shows' }).then(
      () => watch.abort(),
      () => {},
    );
  }
  const summary = await follower.done;
  clearTimeout(timer);
  c.signal.removeEventListener('abort', onAbort);
  const stats = summary.stats ?? last;
  if (c.signal.aborted) throw new MutxError('runbook', 'log watch cancelled by the operator');
  if (summary.reason === 'failed') throw new MutxError('runbook', `cannot follow ${spec}: ${summary.lastError ?? 'unknown error'}`);
  if (breach) throw new MutxError('runbook', `error threshold crossed: ${breach}`, { hint: 'the migration may have broken the application: consider the emergency rollback' });
  const baselines = (c.state.vars.logBaselines ??= {});
  const earlier = Object.values(baselines)[0];
  const perMinute = stats.elapsedMs > 0 ? (stats.matchedLines * 60_000) / stats.elapsedMs : 0;
  baselines[step.id] = { perMinute, windowMs: stats.elapsedMs, matched: stats.matchedLines };
  c.save();
  let comparison = '';
  if (earlier) {
    comparison = `; ${compareErrorRates(fakeStats(earlier), stats).text}`;
  }
  return { summary: `${stats.totalLines} line(s) read, ${stats.matchedLines} matching /${step.filter}/i over ${(stats.elapsedMs / 1000).toFixed(0)} s${comparison}` };
}

/** A stored baseline as the LogStats shape compareErrorRates reads. */
function fakeStats(baseline: { perMinute: number; windowMs: number; matched: number }): LogStats {
  return { startedAt: 0, at: baseline.windowMs, elapsedMs: baseline.windowMs, totalLines: 0, matchedLines: baseline.matched, truncatedLines: 0, bytesRead: 0, matchesLastMinute: 0, linesLastMinute: 0, perMinute: [], rotations: 0 };
}

async function runEnvCheck(step: StepOf<'env-check'>, c: StepContext): Promise<StepOutcome> {
  const isSet = (name: string) => Boolean(process.env[name]?.trim());
  const problems: string[] = [];
  for (const name of step.required) {
    info(c, `${name}: ${isSet(name) ? 'set' : 'MISSING (required)'}`);
    if (!isSet(name)) problems.push(`${name} is required`);
  }
  for (const group of step.all_or_none) {
    const set = group.filter(isSet);
    for (const name of group) info(c, `${name}: ${isSet(name) ? 'set' : 'not set'} (all or none of ${group.join(', ')})`);
    if (set.length > 0 && set.length < group.length) problems.push(`${set.join(', ')} set but ${group.filter((n) => !isSet(n)).join(', ')} missing (set all of ${group.join(', ')} or none)`);
  }
  for (const name of step.optional) info(c, `${name}: ${isSet(name) ? 'set' : 'not set'} (optional)`);
  if (problems.length) throw new MutxError('runbook', problems.join('; '), { hint: 'export the missing variables (values are never shown)' });
  return { summary: `${step.required.length + step.all_or_none.flat().length + step.optional.length} variable(s) checked` };
}

async function runHttpCheck(step: StepOf<'http-check'>, c: StepContext): Promise<StepOutcome> {
  const url = step.url ?? (step.url_env ? process.env[step.url_env]?.trim() : undefined);
  if (!url) {
    if (step.skip_if_unset) return { skipped: `$${step.url_env} is not set` };
    throw new MutxError('runbook', `no URL: $${step.url_env} is not set`);
  }
  const shown = redactUrl(url);
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.any([c.signal, AbortSignal.timeout(step.timeout_seconds * 1000)]), redirect: 'follow' });
    await response.body?.cancel();
  } catch (error) {
    throw new MutxError('runbook', `GET ${shown} failed: ${oneLine((error as { cause?: unknown }).cause ?? error)}`, { hint: 'check the URL and that the host is reachable' });
  }
  if (response.status !== step.expect_status) throw new MutxError('runbook', `GET ${shown} answered ${response.status}, expected ${step.expect_status}`);
  return { summary: `GET ${shown} → ${response.status}` };
}

async function runNotify(step: StepOf<'notify'>, c: StepContext): Promise<StepOutcome> {
  const url = process.env[step.webhook_env]?.trim();
  if (!url) {
    if (step.required) throw new MutxError('config', `$${step.webhook_env} is not set`, { hint: 'set it to the webhook URL' });
    return { skipped: `no webhook configured ($${step.webhook_env} unset)` };
  }
  const body = {
    text: `${c.state.drill ? '[DRILL] ' : ''}${step.message}`,
    runbook: c.state.runbook,
    run_id: c.state.id,
    environment: c.ctx.target.environment ?? null,
    target: c.ctx.target.redacted,
    operator: c.ctx.operator.name,
    drill: c.state.drill,
  };
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.any([c.signal, AbortSignal.timeout(10_000)]) });
    await response.body?.cancel();
  } catch (error) {
    throw new MutxError('runbook', `notify ${redactUrl(url)} failed: ${oneLine((error as { cause?: unknown }).cause ?? error)}`);
  }
  if (!response.ok) throw new MutxError('runbook', `notify ${redactUrl(url)} answered ${response.status}`);
  return { summary: `notified: "${body.text}"` };
}

async function runInspect(step: StepOf<'inspect'>, c: StepContext): Promise<StepOutcome> {
  const graph = loadGraph(c.ctx.settings);
  const rows = await currentRows(c);
  const applied = graph.ancestorsOrSelf(rows.filter((id) => graph.has(id)));
  if (step.show === 'current' || step.show === 'history') {
    const unknown = rows.filter((id) => !graph.has(id));
    info(c, `current: ${rows.join(', ') || 'base'}${unknown.length ? ` — ${unknown.join(', ')} unknown to the migration files` : ''}; head: ${graph.heads().join(', ')}`);
    const partial = await withClient(c, (client) => readPartialMigrations(client, versionNames(c.ctx.settings)));
    for (const p of partial) info(c, `HALF-APPLIED: ${describePartial(p)}${p.error ? ` — ${p.error.slice(0, 160)}` : ''}: reconcile before any rollback`);
  }
  if (step.show === 'history') {
    for (const id of [...graph.order].reverse().slice(0, 15)) {
      const file = graph.get(id);
      info(c, `${applied.has(id) ? '●' : '○'} ${id} ${file.message}${rows.includes(id) ? ' (current)' : ''}${file.headers.created ? ` — ${file.headers.created}` : ''}`);
    }
  }
  if (step.show === 'backups') {
    for (const backup of listBackups(c.ctx.settings).slice(0, 10)) info(c, `${backup.createdAt} ${backup.file} at ${backup.revisions.join(', ') || 'base'}${backup.verified?.ok ? ' verified' : ''}`);
  }
  if (step.show === 'lock') {
    const holder = await withClient(c, (client) => findLockHolder(client, versionNames(c.ctx.settings)));
    info(c, holder ? `migration lock held by ${describeHolder(holder)}` : 'migration lock free');
  }
  return { summary: `at ${rows.join(', ') || 'base'}` };
}

async function runSelectTarget(step: StepOf<'select-target'>, c: StepContext): Promise<StepOutcome> {
  const vars = c.state.vars;
  if (vars.selectedBackup && !vars.selectedBackupRevisions) {
    // Preset from --backup or the Backups screen: the catalog knows the revision it was taken at.
    const resolved = resolveBackup(c.ctx.settings, vars.selectedBackup);
    vars.selectedBackup = resolved.file;
    vars.selectedBackupRevisions = isCatalogued(resolved) ? resolved.revisions : undefined;
    c.save();
  }
  if (vars.selectedRevision || vars.selectedBackup) return { summary: `selected ${vars.selectedRevision ? `revision ${vars.selectedRevision}` : `backup ${vars.selectedBackup}`}` };
  const graph = loadGraph(c.ctx.settings);
  const rows = await currentRows(c);
  const applied = graph.ancestorsOrSelf(rows.filter((id) => graph.has(id)));
  const options: TargetOption[] = [];
  if (step.from !== 'backups') {
    for (const id of [...graph.order].reverse()) {
      if (!step.include_unapplied && (!applied.has(id) || rows.includes(id))) continue;
      const file = graph.get(id);
      options.push({ kind: 'revision', value: id, revision: id, label: `${id} ${file.message}${file.headers.created ? ` (${file.headers.created})` : ''}` });
    }
    options.push({ kind: 'revision', value: 'base', revision: 'base', label: 'base — no migrations (dangerous)' });
  }
  if (step.from !== 'history') {
    for (const backup of listBackups(c.ctx.settings, { database: c.ctx.target.database }).slice(0, 20)) {
      options.push({ kind: 'backup', value: backup.file, revision: backup.revisions[0], label: `${backup.createdAt} backup at ${backup.revisions.join(', ') || 'base'}${backup.verified?.ok ? ' (verified)' : ''}` });
    }
  }
  const response = await c.ask({ kind: 'select-target', options });
  const value = response.kind === 'select-target' ? response.value : undefined;
  const chosen = options.find((option) => option.value === value);
  if (!chosen) throw new MutxError('runbook', 'no target chosen', { hint: 'pick a revision or a backup' });
  if (chosen.kind === 'revision') vars.selectedRevision = chosen.value;
  else {
    vars.selectedBackup = chosen.value;
    vars.selectedBackupRevisions = listBackups(c.ctx.settings).find((backup) => backup.file === chosen.value)?.revisions ?? [];
  }
  c.save();
  return { summary: `selected ${chosen.kind} ${chosen.label}` };
}

async function runCatalog(step: StepOf<'catalog'>, c: StepContext): Promise<StepOutcome> {
  const snapshot = await withClient(c, (client) => catalogSnapshot(client, { exclude: [c.ctx.settings.version_table] }));
  const catalogs = (c.state.vars.catalogs ??= {});
  if (step.action === 'snapshot') {
    catalogs[step.name] = snapshot;
    c.save();
    return { summary: `catalog "${step.name}": ${snapshot.length} object line(s)` };
  }
  const before = catalogs[step.name];
  if (!before) throw new MutxError('runbook', `no catalog snapshot named "${step.name}" in this run`, { hint: 'add a catalog snapshot step before it' });
  const diff = diffCatalogs(before, snapshot);
  for (const line of diff.slice(0, 20)) info(c, line);
  if (diff.length) throw new MutxError('verify-failed', `the catalog differs from snapshot "${step.name}" in ${diff.length} line(s): ${diff[0]}`, { hint: 'a downgrade does not exactly reverse its upgrade' });
  return { summary: `catalog identical to "${step.name}" (${snapshot.length} object line(s))` };
}
