import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AuditTrail, writeFileAtomic, type AuditOperation, type AuditRecord } from '../../core/audit';
import { listBackups } from '../../core/backup';
import { catalogSnapshot, diffCatalogs, tableRowCounts } from '../../core/catalog';
import { ensurePrivateDir, type EnvironmentSettings, type ProjectSettings } from '../../core/config';
import { connect, parseTarget, quoteIdent, withDatabase, type Target } from '../../core/connection';
import { MutxError, oneLine } from '../../core/errors';
import type { FaultHooks } from '../../core/faults';
import type { Operator } from '../../core/identity';
import { findLockHolder } from '../../core/migrations/lock';
import { engineFor } from '../../core/migrations/engines';
import { loadGraph, migrate, versionNames, type CoreContext } from '../../core/migrations/operations';
import { readVersionRows } from '../../core/migrations/versionTable';
import { readPartialMigrations } from '../../core/migrations/ledger';
import { DRILL_DATABASE_PREFIX, createSandboxDatabase, sandboxUrl, type SandboxProgress } from '../../core/sandbox';
import { parseYamlText } from '../../core/yamlFile';
import type { RunResult } from '../engine';
import { findRunbook, loadYamlFolder, type LoadedRunbook } from '../loader';
import { RUNBOOK_NAME } from '../schema';
import { loadRunState } from '../state';
import { AppSimulator, BlockingSession, backupFaultHooks } from './faults';
import { isDestructiveFault, scenarioSchema, type Scenario } from './schema';

export interface LoadedScenario {
  scenario: Scenario;
  file: string;
}

export function drillsDir(settings: ProjectSettings): string {
  return path.join(settings.runbooksPath, 'drills');
}

export function loadScenarioFile(file: string): LoadedScenario {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new MutxError('runbook', `${file}: cannot read the drill scenario (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { hint: '`mutx-ops drill` lists the scenarios' });
  }
  const scenario = parseYamlText(text, file, scenarioSchema, 'runbook', 'drill scenario');
  const expected = path.basename(file).replace(/\.ya?ml$/, '');
  if (scenario.name !== expected) throw new MutxError('runbook', `${file}:1: scenario name "${scenario.name}" differs from its file name "${expected}"`, { hint: `rename the file to ${scenario.name}.yaml or fix name:` });
  return { scenario, file };
}

/** Every scenario in runbooks/drills (none when the folder is absent); bad files come back as errors, not thrown. */
export function loadScenarios(settings: ProjectSettings): { scenarios: LoadedScenario[]; errors: MutxError[] } {
  const result = loadYamlFolder(drillsDir(settings), loadScenarioFile);
  return { scenarios: result?.loaded ?? [], errors: result?.errors ?? [] };
}

export function findScenario(settings: ProjectSettings, name: string): LoadedScenario {
  if (name.includes('/') || /\.ya?ml$/.test(name)) return loadScenarioFile(path.resolve(name));
  if (!RUNBOOK_NAME.test(name)) throw new MutxError('usage', `"${name.slice(0, 40)}" is not a drill scenario name`, { hint: '`mutx-ops drill` lists them' });
  const file = path.join(drillsDir(settings), `${name}.yaml`);
  if (fs.existsSync(file)) return loadScenarioFile(file);
  const known = loadScenarios(settings).scenarios.map((s) => s.scenario.name);
  throw new MutxError('usage', `no drill scenario named "${name}" in ${drillsDir(settings)}`, { hint: known.length ? `known: ${known.join(', ')}` : 'add runbooks/drills/NAME.yaml' });
}

/** Saved in .mutx-ops/drills/ID/drill.json: what `drill --debrief ID` re-checks. */
export interface DrillState {
  id: string;
  scenario: string;
  scenarioFile: string;
  mode: 'sandbox' | 'environment';
  environment?: string;
  target: string;
  database: string;
  workspace: string;
  /** The drill's copy of the revisions (with an injected one), when it has one. */
  revisionsPath?: string;
  logFile: string;
  setupRevisions: string[];
  rowCounts: Record<string, number>;
  startedAt: string;
  faultNotes: { at: string; what: string }[];
  blockerPid?: number;
  runIds: string[];
  finishedAt?: string;
  debrief?: Debrief;
}

export interface Criterion {
  id: string;
  description: string;
  /** null: could not be checked here (said why in `observed`). */
  ok: boolean | null;
  observed: string;
}

export interface TimelineEntry {
  at: string;
  offsetMs: number;
  what: string;
  outcome?: string;
  detail?: string;
}

export interface Debrief {
  drillId: string;
  scenario: string;
  title: string;
  passed: boolean;
  criteria: Criterion[];
  timeline: TimelineEntry[];
  /** From the first failure the operator saw to the end of the last run, when every criterion holds. */
  timeToRecoveryMs?: number;
  firstSymptomAt?: string;
  skipped: { runbook: string; step: string; reason: string }[];
  runs: { id: string; runbook: string; status: string }[];
  expectedResponse: string;
}

export interface DrillProgress {
  message: string;
}

export interface PrepareDrillOptions {
  settings: ProjectSettings;
  operator: Operator;
  loaded: LoadedScenario;
  /** A real target (`drill --env staging`): no setup, non-destructive faults only. Omitted: the sandbox. */
  realTarget?: { target: Target; environment?: EnvironmentSettings };
  /** The app starts the sandbox as its own (stopped when it exits). */
  ownedByApp?: boolean;
  onProgress?: (progress: DrillProgress) => void;
}

/** A prepared drill: the runbook to practise on a faulty target, and the debrief at the end. */
export interface DrillSession {
  state: DrillState;
  scenario: Scenario;
  runbook: LoadedRunbook;
  ctx: CoreContext;
  environment?: EnvironmentSettings;
  preset: { logSource: string; logDurationSeconds: number };
  recordRun(result: RunResult): void;
  /** Checks the success criteria against the database, ends the faults, records the debrief. */
  finish(): Promise<Debrief>;
  /** Ends the simulated application and the blocking session (idempotent). */
  close(): Promise<void>;
}

const statePathOf = (workspace: string) => path.join(workspace, 'drill.json');

/** The practice database a scenario runs on, in the local sandbox. */
export function drillDatabaseName(scenario: string): string {
  return `${DRILL_DATABASE_PREFIX}${scenario.replace(/[^a-z0-9]+/g, '_')}`.slice(0, 63);
}

function excludedTable(name: string, settings: ProjectSettings): boolean {
  const [schema, table] = name.replace(/"/g, '').split('.');
  return schema === 'mutx_ops' || table!.startsWith('mutx_ops_') || table === settings.version_table;
}

async function appRowCounts(client: import('pg').Client, settings: ProjectSettings): Promise<Record<string, number>> {
  const all = await tableRowCounts(client);
  return Object.fromEntries(Object.entries(all).filter(([name]) => !excludedTable(name, settings)));
}

export async function prepareDrill(options: PrepareDrillOptions): Promise<DrillSession> {
  const { settings, operator, loaded, realTarget } = options;
  const { scenario } = loaded;
  const progress = (message: string) => options.onProgress?.({ message });
  if (realTarget && isDestructiveFault(scenario.fault)) {
    throw new MutxError('usage', `drill ${scenario.name} injects a ${scenario.fault.type} fault, which changes the schema: it runs on the sandbox only, not on ${realTarget.target.environment ?? realTarget.target.redacted}`, {
      hint: 'run it without --env (on the sandbox), or pick a scenario with a non-destructive fault',
    });
  }
  const runbook = findRunbook(settings.runbooksPath, scenario.runbook);
  const id = `drill-${scenario.name.slice(0, 40)}-${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${crypto.randomBytes(2).toString('hex')}`;
  const workspace = path.join(settings.statePath, 'drills', id);
  ensurePrivateDir(path.join(settings.statePath, 'drills'), { mark: false });
  ensurePrivateDir(workspace, { mark: false });
  const logFile = path.join(workspace, 'app.log');

  let target: Target;
  if (realTarget) {
    target = realTarget.target;
    if (scenario.setup.sql.length > 0) progress(`setup statements skipped: ${realTarget.target.environment ?? 'the target'} is a real database`);
  } else {
    const database = drillDatabaseName(scenario.name);
    progress(`preparing sandbox database ${database} at ${scenario.setup.revision === 'default' ? 'the revision before head' : scenario.setup.revision}`);
    const created = await createSandboxDatabase(settings, database, {
      revision: scenario.setup.revision,
      ownedByApp: options.ownedByApp,
      onProgress: (p: SandboxProgress) => progress(p.message),
    });
    target = parseTarget({ url: created.url, sslMode: 'disable', protected: scenario.protected, sandbox: true });
  }

  // The drill's own settings: a copy of the revisions with the injected one, short lock timeouts.
  let revisions = settings;
  let revisionsPath: string | undefined;
  if (scenario.fault.type === 'failing-migration') {
    const engine = engineFor(settings);
    const graph = engine.loadGraph();
    revisionsPath = path.join(workspace, 'migrations');
    const injected = engine.injectRevision(graph, revisionsPath, scenario.fault);
    revisions = injected.settings;
    progress(`injected migration ${scenario.fault.revision} (${path.basename(injected.file)}) on top of ${graph.heads().join(', ')}`);
  }
  const drillSettings: ProjectSettings = {
    ...revisions,
    lock_timeout_seconds: scenario.settings.lock_timeout_seconds ?? settings.lock_timeout_seconds,
    lock_retries: scenario.settings.lock_retries ?? settings.lock_retries,
    lock_wait_seconds: scenario.settings.lock_wait_seconds ?? settings.lock_wait_seconds,
  };
  const names = versionNames(drillSettings);

  const client = await connect(target, { operator, connectTimeoutSeconds: settings.connect_timeout_seconds });
  let setupRevisions: string[];
  let rowCounts: Record<string, number>;
  try {
    if (!realTarget && scenario.setup.sql.length > 0) {
      await client.query('BEGIN');
      try {
        for (const sql of scenario.setup.sql) await client.query(sql);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw new MutxError('runbook', `${loaded.file}: setup statement failed: ${oneLine(error)}`, { hint: 'fix setup.sql in the scenario' });
      }
    }
    setupRevisions = await readVersionRows(client, names);
    rowCounts = await appRowCounts(client, drillSettings);
  } finally {
    await client.end().catch(() => {});
  }

  const audit = new AuditTrail(settings.auditPath, operator);
  const state: DrillState = {
    id,
    scenario: scenario.name,
    scenarioFile: loaded.file,
    mode: realTarget ? 'environment' : 'sandbox',
    environment: realTarget?.target.environment,
    target: target.redacted,
    database: target.database,
    workspace,
    revisionsPath,
    logFile,
    setupRevisions,
    rowCounts,
    startedAt: new Date().toISOString(),
    faultNotes: [],
    runIds: [],
  };
  const save = () => writeFileAtomic(statePathOf(workspace), `${JSON.stringify(state, null, 2)}\n`);
  const noteFault = (what: string) => {
    state.faultNotes.push({ at: new Date().toISOString(), what });
    audit.append({ action: 'drill.fault', phase: 'event', target: target.redacted, drill: true, details: { drill: id, scenario: scenario.name, fault: scenario.fault.type, what } });
    save();
  };
  const operation: AuditOperation = audit.begin({ action: 'drill', target: target.redacted, drill: true, args: { drill: id, scenario: scenario.name, fault: scenario.fault.type, mode: state.mode, runbook: scenario.runbook } });

  const app = simulatedApp(scenario, drillSettings, target, operator, setupRevisions, logFile);
  let blocker: BlockingSession | undefined;
  let faults: FaultHooks | undefined;
  try {
    await app.start();
    switch (scenario.fault.type) {
      case 'app-errors':
        noteFault(`simulated application logs ${scenario.fault.errors_per_second} error lines/s to ${logFile} once the schema moves past ${setupRevisions.join(', ') || 'base'}`);
        break;
      case 'blocking-transaction':
        blocker = new BlockingSession({ target, operator, fault: scenario.fault });
        await blocker.start();
        state.blockerPid = blocker.pid;
        noteFault(`session pid ${blocker.pid} (${scenario.fault.application_name}) holds an open transaction after: ${scenario.fault.statement.slice(0, 120)}`);
        break;
      case 'failing-migration':
        noteFault(`migration ${scenario.fault.revision} (non-transactional) added; it fails half-way on the drill data`);
        break;
      case 'backup-failure':
        faults = backupFaultHooks(scenario.fault, (what) => noteFault(what));
        noteFault(`backups will fail (${scenario.fault.mode}${scenario.fault.failures ? `, ${scenario.fault.failures} time(s)` : ''})`);
        break;
    }
  } catch (error) {
    await app.stop();
    await blocker?.stop();
    operation.end('failed', { error: oneLine(error) });
    throw error;
  }
  save();

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await blocker?.stop();
    await app.stop();
  };

  const ctx: CoreContext = { settings: drillSettings, target, operator, audit, drill: true, faults };
  return {
    state,
    scenario,
    runbook,
    ctx,
    environment: realTarget?.environment,
    preset: { logSource: logFile, logDurationSeconds: scenario.log_duration_seconds },
    recordRun: (result) => {
      if (!state.runIds.includes(result.runId)) state.runIds.push(result.runId);
      save();
    },
    finish: async () => {
      try {
        const debrief = await evaluateDrill(state, scenario, { ctx, audit, app, beforeChecks: () => blocker?.stop() });
        state.finishedAt = new Date().toISOString();
        state.debrief = debrief;
        save();
        operation.end(debrief.passed ? 'ok' : 'failed', {
          details: { drill: id, scenario: scenario.name, passed: debrief.passed, failed_criteria: debrief.criteria.filter((c) => c.ok === false).map((c) => c.id), time_to_recovery_ms: debrief.timeToRecoveryMs, runs: state.runIds },
        });
        return debrief;
      } finally {
        await close();
      }
    },
    close,
  };
}

/** `drill --debrief ID`: the criteria checked again against the database as it is now. */
export async function redebrief(settings: ProjectSettings, operator: Operator, drillId: string): Promise<Debrief> {
  if (!/^drill-[a-z0-9._-]+$/i.test(drillId)) throw new MutxError('usage', `"${drillId.slice(0, 40)}" is not a drill id`, { hint: '`mutx-ops drill --list-runs` shows them' });
  const file = statePathOf(path.join(settings.statePath, 'drills', drillId));
  let state: DrillState;
  try {
    state = JSON.parse(fs.readFileSync(file, 'utf8')) as DrillState;
  } catch {
    throw new MutxError('usage', `no drill ${drillId} in ${path.dirname(path.dirname(file))}`, { hint: '`mutx-ops drill --list-runs` shows them' });
  }
  const { scenario } = loadScenarioFile(state.scenarioFile);
  const target = state.mode === 'sandbox' ? await sandboxTarget(settings, state.database) : undefined;
  if (!target) throw new MutxError('usage', `drill ${drillId} ran on ${state.target}: re-check it with the same target`, { hint: 'sandbox drills only: start the sandbox (`mutx-ops sandbox start`)' });
  const drillSettings: ProjectSettings = { ...settings, revisionsOverride: state.revisionsPath };
  const audit = new AuditTrail(settings.auditPath, operator);
  const ctx: CoreContext = { settings: drillSettings, target, operator, audit, drill: true };
  const app = simulatedApp(scenario, drillSettings, target, operator, state.setupRevisions, state.logFile);
  await app.start();
  try {
    return await evaluateDrill(state, scenario, { ctx, audit, app });
  } finally {
    await app.stop();
  }
}

/** The stand-in application: healthy, or (app-errors fault) failing once the schema moves past the starting revision. */
function simulatedApp(scenario: Scenario, settings: ProjectSettings, target: Target, operator: Operator, setupRevisions: string[], logFile: string): AppSimulator {
  const graph = loadGraph(settings);
  const setupApplied = graph.ancestorsOrSelf(setupRevisions.filter((rev) => graph.has(rev)));
  const fault = scenario.fault;
  return new AppSimulator({
    target,
    operator,
    names: versionNames(settings),
    logFile,
    isBroken: (rows) => fault.type === 'app-errors' && rows.some((rev) => !setupApplied.has(rev)),
    errorsPerSecond: fault.type === 'app-errors' ? fault.errors_per_second : 0,
    errorLine: fault.type === 'app-errors' ? fault.error_line : '',
  });
}

async function sandboxTarget(settings: ProjectSettings, database: string): Promise<Target | undefined> {
  const url = await sandboxUrl(settings);
  return url ? withDatabase(parseTarget({ url, sslMode: 'disable' }), database) : undefined;
}

async function evaluateDrill(
  state: DrillState,
  scenario: Scenario,
  env: { ctx: CoreContext; audit: AuditTrail; app: AppSimulator; beforeChecks?: () => Promise<void> | undefined },
): Promise<Debrief> {
  const { ctx, audit, app } = env;
  const settings = ctx.settings;
  const names = versionNames(settings);
  const graph = loadGraph(settings);
  const criteria: Criterion[] = [];
  const add = (id: string, description: string, ok: boolean | null, observed: string) => criteria.push({ id, description, ok, observed });
  const records = audit.readAll().filter((r) => (r.run_id && state.runIds.includes(r.run_id)) || (r.details as { drill?: string } | undefined)?.drill === state.id || (r.args as { drill?: string } | undefined)?.drill === state.id);

  // The simulated application judges the schema as it is now, while the blocker still holds (it is part of "now").
  if (scenario.success.errors_stop_seconds !== undefined) {
    const errors = await app.errorsOver(scenario.success.errors_stop_seconds);
    add('errors-stop', `the application logs no errors for ${scenario.success.errors_stop_seconds} s`, errors === 0, errors === 0 ? `0 error lines in ${scenario.success.errors_stop_seconds} s against the final schema` : `${errors} error lines in ${scenario.success.errors_stop_seconds} s: the application is still failing`);
  }
  await env.beforeChecks?.();

  const client = await connect(ctx.target, { operator: ctx.operator, connectTimeoutSeconds: settings.connect_timeout_seconds });
  try {
    const rows = await readVersionRows(client, names);
    const at = rows.join(', ') || 'base';
    const allowed = scenario.success.revision.map((spec) => ({ spec, revisions: resolveFinal(spec, state.setupRevisions, graph) }));
    const match = allowed.find((a) => a.revisions !== undefined && sameSet(a.revisions, rows));
    add('revision', `the database ends at ${scenario.success.revision.join(' or ')}`, Boolean(match), `at ${at}${match ? ` (${match.spec})` : `; expected ${allowed.map((a) => `${a.spec} = ${a.revisions?.join(', ') || 'base'}`).join(' or ')}`}`);

    const partial = await readPartialMigrations(client, names);
    add('no-half-applied', 'no migration is left half-applied', partial.length === 0, partial.length === 0 ? 'ledger: every non-transactional step settled' : `half-applied: ${partial.map((p) => `${p.direction} ${p.revision}`).join(', ')}`);

    const invalid = await client.query<{ name: string }>(`SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT i.indisvalid AND n.nspname NOT IN ('pg_catalog', 'information_schema')`);
    add('no-invalid-index', 'no index is left INVALID', invalid.rows.length === 0, invalid.rows.length === 0 ? 'none' : invalid.rows.map((r) => r.name).join(', '));

    add(...(await schemaMatchesRevision(ctx, client, rows, state)));

    if (scenario.success.data_kept) {
      const now = await appRowCounts(client, settings);
      const lost = Object.entries(state.rowCounts).filter(([table, count]) => now[table] !== count).map(([table, count]) => `${table} ${count} → ${now[table] ?? 'gone'}`);
      const tables = Object.keys(state.rowCounts).length;
      add('data-kept', 'every table of the starting point keeps its rows', lost.length === 0, lost.length === 0 ? `${tables} tables, ${Object.values(state.rowCounts).reduce((a, b) => a + b, 0)} rows, all present` : lost.join('; '));
    }

    const holder = await findLockHolder(client, names);
    add('lock-free', 'the migration lock is free', !holder, holder ? `held by pid ${holder.pid}` : 'free');
  } finally {
    await client.end().catch(() => {});
  }

  if (scenario.success.blocker_named) {
    const pid = state.blockerPid;
    const named = pid !== undefined && records.some((r) => JSON.stringify(r).includes(`pid ${pid} (`));
    add('blocker-named', 'mutx-ops named the blocking session to the operator', named, named ? `pid ${pid} appears in the run's failure` : pid === undefined ? 'no blocking session was started' : `pid ${pid} never appears in the drill's runs`);
  }
  if (scenario.success.backup_before_migration) {
    const firstMigration = records.find((r) => r.phase === 'start' && ['upgrade', 'downgrade', 'reconcile'].includes(r.action));
    const verified = listBackups(settings, { database: ctx.target.database }).filter((b) => b.verified?.ok && b.createdAt >= state.startedAt);
    if (!firstMigration) {
      add('backup-first', 'no migration ran before a verified backup existed', true, 'no migration ran');
    } else {
      const before = verified.filter((b) => (b.verified?.at ?? '') <= firstMigration.ts);
      add('backup-first', 'no migration ran before a verified backup existed', before.length > 0, before.length > 0 ? `verified backup ${path.basename(before[0]!.file)} at ${before[0]!.verified!.at}, migration at ${firstMigration.ts}` : `migration at ${firstMigration.ts} with no verified backup before it`);
    }
  }
  const verification = audit.verify();
  add('audit-intact', 'the audit trail verifies', verification.ok, verification.ok ? `${verification.records} records, chain intact` : `broken at line ${verification.firstBad?.line}: ${verification.firstBad?.reason}`);
  const runRecords = records.filter((r) => r.run_id);
  add('marked-drill', "the drill's runs are marked as drills in the audit trail", runRecords.length > 0 && runRecords.every((r) => r.drill === true), runRecords.length === 0 ? 'no run was recorded' : `${runRecords.length} run records, ${runRecords.filter((r) => r.drill === true).length} marked drill`);

  const runs = state.runIds.map((id) => {
    try {
      return loadRunState(settings, id);
    } catch {
      return undefined;
    }
  });
  const skipped: Debrief['skipped'] = [];
  for (const run of runs) {
    if (!run) continue;
    run.steps.forEach((step, index) => {
      if (step.status === 'skipped') skipped.push({ runbook: run.runbook, step: step.id, reason: step.skipReason ?? '' });
      else if (step.status === 'pending' && run.status !== 'completed' && index > run.currentStep) skipped.push({ runbook: run.runbook, step: step.id, reason: `not reached: run ${run.status} at ${run.steps[run.currentStep]?.id ?? '?'}${run.switchTo ? ` (switched to ${run.switchTo})` : ''}` });
    });
  }

  if (state.runIds.length === 0) add('practised', 'the runbook was run', false, 'no run was recorded in this drill');
  const passed = criteria.every((c) => c.ok !== false);
  const firstSymptom = records.find((r) => (r.action === 'run.step' && (r.details as { status?: string }).status === 'failed') || (r.phase === 'end' && r.outcome !== 'ok' && r.action !== 'run'));
  const lastRunEnd = [...records].reverse().find((r) => r.action === 'run' && r.phase === 'end');
  return {
    drillId: state.id,
    scenario: scenario.name,
    title: scenario.title,
    passed,
    criteria,
    timeline: timelineOf(records, state),
    firstSymptomAt: firstSymptom?.ts,
    timeToRecoveryMs: passed && firstSymptom && lastRunEnd ? Date.parse(lastRunEnd.ts) - Date.parse(firstSymptom.ts) : undefined,
    skipped,
    runs: runs.filter((r) => r !== undefined).map((r) => ({ id: r.id, runbook: r.runbook, status: r.status })),
    expectedResponse: scenario.expected_response,
  };
}

function resolveFinal(spec: string, setup: string[], graph: ReturnType<typeof loadGraph>): string[] | undefined {
  if (spec === 'setup') return setup;
  if (spec === 'head') return graph.heads();
  if (spec === 'previous') return setup.length === 1 && graph.has(setup[0]!) ? graph.get(setup[0]!).revises : undefined;
  return graph.has(spec) ? [spec] : undefined;
}

function sameSet(a: string[], b: string[]): boolean {
  return [...a].sort().join(',') === [...b].sort().join(',');
}

/**
 * The schema compared with a scratch database built from the migration files up to the same
 * version rows: a stamp over a half-done change, or leftovers of a failed step, show up here.
 */
async function schemaMatchesRevision(ctx: CoreContext, client: import('pg').Client, rows: string[], state: DrillState): Promise<[string, string, boolean | null, string]> {
  const id = 'schema-matches';
  const description = 'the schema is exactly what the migration files give at that revision';
  const graph = loadGraph(ctx.settings);
  if (rows.some((rev) => !graph.has(rev))) return [id, description, false, `the version table holds ${rows.filter((r) => !graph.has(r)).join(', ')}, which no file defines`];
  const scratch = `${DRILL_DATABASE_PREFIX}ref_${crypto.randomBytes(4).toString('hex')}`;
  try {
    await client.query(`CREATE DATABASE ${quoteIdent(scratch)}`);
  } catch (error) {
    return [id, description, null, `not checked: cannot create a scratch database on this server (${oneLine(error)})`];
  }
  try {
    const scratchTarget = withDatabase(ctx.target, scratch);
    const scratchCtx: CoreContext = { settings: ctx.settings, target: { ...scratchTarget, protected: false }, operator: ctx.operator, audit: new AuditTrail(path.join(state.workspace, 'reference-audit.jsonl'), ctx.operator) };
    for (const rev of rows) await migrate(scratchCtx, 'upgrade', rev);
    const reference = await connect(scratchTarget, { operator: ctx.operator });
    let expected: string[];
    try {
      expected = await catalogSnapshot(reference, { exclude: [ctx.settings.version_table] });
    } finally {
      await reference.end().catch(() => {});
    }
    const actual = await catalogSnapshot(client, { exclude: [ctx.settings.version_table] });
    const diff = diffCatalogs(expected, actual);
    return [id, description, diff.length === 0, diff.length === 0 ? `${actual.length} catalog entries match the files at ${rows.join(', ') || 'base'}` : `${diff.length} difference(s), e.g. ${diff.slice(0, 3).join('; ').slice(0, 300)}`];
  } catch (error) {
    return [id, description, null, `not checked: building the reference failed (${oneLine(error)})`];
  } finally {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(scratch)} WITH (FORCE)`).catch(() => {});
  }
}

function timelineOf(records: AuditRecord[], state: DrillState): TimelineEntry[] {
  const start = Date.parse(state.startedAt);
  const entries: TimelineEntry[] = [];
  for (const r of records) {
    const details = (r.details ?? {}) as { step?: string; status?: string; summary?: string; reason?: string; error?: string; what?: string; runbook?: string; to?: string };
    let what: string;
    let outcome: string | undefined;
    let detail: string | undefined;
    if (r.action === 'run.step') {
      if (details.status === 'started') continue;
      what = `${details.runbook ?? ''} · ${details.step}`;
      outcome = details.status;
      detail = details.summary ?? details.reason ?? details.error;
    } else if (r.action === 'drill.fault') {
      what = 'fault';
      detail = details.what;
    } else if (r.action === 'run.switch') {
      what = `${details.runbook ?? ''} → ${details.to}`;
      outcome = 'switch';
    } else if (r.phase === 'event') {
      continue;
    } else {
      what = `${r.action} ${r.phase}`;
      outcome = r.outcome;
      detail = r.error ?? (r.revisions_after ? `${(r.revisions_before ?? []).join(',') || 'base'} → ${r.revisions_after.join(',') || 'base'}` : undefined);
      if (r.action === 'run') what = `run ${r.phase} (${(r.args as { runbook?: string } | undefined)?.runbook ?? details.runbook ?? ''})`;
    }
    entries.push({ at: r.ts, offsetMs: Date.parse(r.ts) - start, what, outcome, detail: detail?.slice(0, 200) });
  }
  return entries;
}

/** The debrief as lines for a terminal (and the TUI's final screen). */
export function debriefLines(debrief: Debrief): string[] {
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const lines = [`DEBRIEF ${debrief.scenario}: ${debrief.passed ? 'PASSED' : 'NOT PASSED'} — ${debrief.title}`, ''];
  lines.push('Success criteria (checked against the database):');
  for (const c of debrief.criteria) lines.push(`  ${c.ok === true ? '✔' : c.ok === false ? '✖' : '?'} ${c.description} — ${c.observed}`);
  lines.push('', `Time to recovery: ${debrief.timeToRecoveryMs !== undefined ? `${seconds(debrief.timeToRecoveryMs)} (first failure ${debrief.firstSymptomAt} → end of the last run)` : debrief.passed ? 'no failure was seen' : 'not recovered'}`);
  lines.push(`Runs: ${debrief.runs.map((r) => `${r.runbook} (${r.status}, ${r.id})`).join(', ') || 'none'}`);
  lines.push('', 'Steps skipped and why:');
  if (debrief.skipped.length === 0) lines.push('  none');
  for (const s of debrief.skipped) lines.push(`  ${s.runbook} · ${s.step}: ${s.reason}`);
  lines.push('', 'Timeline (audit trail):');
  for (const t of debrief.timeline) lines.push(`  +${seconds(t.offsetMs).padStart(7)} ${t.what}${t.outcome ? ` [${t.outcome}]` : ''}${t.detail ? ` — ${t.detail}` : ''}`);
  lines.push('', `What good looks like: ${debrief.expectedResponse.trim()}`);
  return lines;
}
