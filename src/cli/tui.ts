/**
 * The interactive app's entry, loaded by the bin with a dynamic import (so headless commands
 * never load Ink or React). It builds the real Services over the core and the runbook engine
 * — a thin layer: no behaviour of its own — and renders the app, restoring the terminal on
 * every way out.
 */
import { readRehearsals, rehearsalSummary } from '../core/rehearse/record';
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { render } from 'ink';
import { createElement } from 'react';
import { AuditTrail } from '../core/audit';
import { latestVerifiedBackup, listBackups, verifyBackup } from '../core/backup';
import type { BackupRecord } from '../core/backup';
import type { EnvironmentSettings, ProjectSettings } from '../core/config';
import type { Target } from '../core/connection';
import { oneLine } from '../core/errors';
import type { Operator } from '../core/identity';
import { describeLogSource, followLog, parseLogSource } from '../core/logs';
import { describeHolder } from '../core/migrations/lock';
import { loadGraph, openClient, readStatus, versionNames, type CoreContext } from '../core/migrations/operations';
import { readVersionRows } from '../core/migrations/versionTable';
import { releaseSandboxSync } from '../core/sandbox';
import { prepareAppTarget, releaseOwnSandbox, type AppTarget } from './appTarget';
import { runRunbook } from '../runbook/engine';
import { findRunbook, loadRunbooks } from '../runbook/loader';
import { loadRunState, resumableRuns, saveRunState } from '../runbook/state';
import { claimRun } from '../runbook/runLock';
import { App } from '../ui/App';
import { exitSummaryLines, SessionRecord, type StatusReading } from './exitSummary';
import type { BackupEntry, DrillDebriefView, HistoryView, RunbookInfo, Services } from '../ui/services';
import { drillDatabaseName, findScenario, loadScenarios, prepareDrill, type Debrief, type DrillSession } from '../runbook/drill/drill';
import { operatorFrom, settingsFrom, targetFrom, type GlobalOptions } from './context';

export interface ServiceBase {
  settings: ProjectSettings;
  operator: Operator;
  audit: AuditTrail;
  /** Undefined when no database could be resolved; `problem` says why. */
  target?: Target;
  problem?: string;
  /** What the header calls a target without an environment (e.g. the practice sandbox). */
  label?: string;
}

/** Resolves project, operator and target the way headless commands do (DATABASE_URL, default env). */
export async function serviceBaseFromEnvironment(options: GlobalOptions = {}): Promise<ServiceBase> {
  const settings = settingsFrom(options);
  const operator = await operatorFrom();
  const audit = new AuditTrail(settings.auditPath, operator);
  try {
    return { settings, operator, audit, target: await targetFrom(options, settings) };
  } catch (error) {
    return { settings, operator, audit, problem: oneLine(error) };
  }
}

function backupEntry(record: BackupRecord): BackupEntry {
  return {
    file: record.file,
    name: path.basename(record.file),
    createdAt: record.createdAt,
    sizeBytes: record.sizeBytes,
    revisions: record.revisions,
    verified: record.verified?.ok === true,
    verifiedAt: record.verified?.at,
    label: record.label,
    environment: record.environment,
    database: record.database,
  };
}

function debriefView(debrief: Debrief): DrillDebriefView {
  return {
    drillId: debrief.drillId,
    passed: debrief.passed,
    criteria: debrief.criteria.map(({ description, ok, observed }) => ({ description, ok, observed })),
    timeToRecovery: debrief.timeToRecoveryMs !== undefined ? `${(debrief.timeToRecoveryMs / 1000).toFixed(1)} s` : undefined,
    skipped: debrief.skipped.map((s) => `${s.runbook} · ${s.step}: ${s.reason}`),
  };
}

/** The real services: each method is one call into the core or the engine. */
export function createServices(base: ServiceBase): Services {
  const { settings, operator, audit, target } = base;
  const environment: EnvironmentSettings | undefined = target?.environment ? settings.environments[target.environment] : undefined;
  const needTarget = (): Target => {
    if (!target) throw new Error(base.problem ?? 'no database');
    return target;
  };
  const ctx = (extra: Partial<CoreContext> = {}): CoreContext => ({ settings, operator, audit, target: needTarget(), ...extra });
  const endDrill = async (session: DrillSession): Promise<DrillDebriefView> => {
    drill = undefined;
    return debriefView(await session.finish());
  };

  // The drill in progress: set up by its first run, continued by a runbook it switches to, ended by the debrief.
  let drill: { scenario: string; session: Promise<DrillSession> } | undefined;
  const drillSession = (scenario: string): Promise<DrillSession> => {
    if (drill?.scenario !== scenario) {
      const session = prepareDrill({ settings, operator, loaded: findScenario(settings, scenario), ownedByApp: true });
      drill = { scenario, session };
      session.catch(() => {
        if (drill?.session === session) drill = undefined;
      });
    }
    return drill.session;
  };

  return {
    target: () =>
      target
        ? { environment: target.environment ?? base.label, protected: target.protected, redacted: target.redacted, host: target.host, port: target.port, database: target.database }
        : { protected: false, redacted: '(no database)', host: '?', port: 0, database: '?', problem: base.problem ?? 'no database' },

    async targetStatus() {
      const client = await openClient(ctx());
      try {
        const status = await readStatus(client, loadGraph(settings), versionNames(settings));
        return {
          serverVersion: status.serverVersion,
          current: status.versionRows,
          heads: status.heads,
          pending: status.pending,
          drift: status.drift.length,
          lockHolder: status.lockHolder ? describeHolder(status.lockHolder) : undefined,
        };
      } finally {
        await client.end().catch(() => {});
      }
    },

    async lastVerifiedBackup() {
      if (!target) return undefined;
      const record = latestVerifiedBackup(settings, target, Number.POSITIVE_INFINITY);
      return record ? backupEntry(record) : undefined;
    },

    runbooks() {
      const { runbooks, errors } = loadRunbooks(settings.runbooksPath);
      const env = target?.environment;
      return {
        runbooks: runbooks.map(({ runbook, file }): RunbookInfo => {
          const select = runbook.steps.find((step) => step.type === 'select-target');
          return {
            name: runbook.name,
            title: runbook.title,
            description: runbook.description,
            category: runbook.category,
            file,
            steps: runbook.steps.length,
            stepTypes: runbook.steps.map((step) => step.type),
            selects: select?.type === 'select-target' ? select.from : undefined,
            allowed: !runbook.environments || !env || runbook.environments.includes(env),
          };
        }),
        errors: errors.map((error) => oneLine(error)),
        drills: loadScenarios(settings).scenarios.map(({ scenario }) => ({ name: scenario.name, title: scenario.title, runbook: scenario.runbook, fault: scenario.fault.type, briefing: scenario.briefing, database: drillDatabaseName(scenario.name) })),
      };
    },

    resumableRuns() {
      if (!target) return [];
      return resumableRuns(settings)
        .filter((run) => run.target === target.redacted)
        .map((run) => {
          let stepTitle: string | undefined;
          try {
            stepTitle = findRunbook(settings.runbooksPath, run.runbookFile).runbook.steps[run.currentStep]?.title;
          } catch {
            stepTitle = undefined;
          }
          return {
            id: run.id,
            runbook: run.runbook,
            environment: run.environment,
            target: run.target,
            status: run.status,
            currentStep: run.currentStep,
            stepCount: run.steps.length,
            stepTitle,
            updatedAt: run.updatedAt,
            interrupted: run.status === 'running',
            drill: run.drill,
            steps: run.steps.map((step) => ({ id: step.id, status: step.status, skipReason: step.skipReason })),
          };
        });
    },

    discardRun(id) {
      const run = loadRunState(settings, id);
      if (target && run.target !== target.redacted) throw new Error(`run ${id} is on ${run.target}, not this target`);
      if (run.status !== 'running' && run.status !== 'waiting') throw new Error(`run ${id} is ${run.status}: nothing to discard`);
      // Owning the run's lock proves no live process is running it (the lock is kept while we write).
      const claim = claimRun(settings, id, operator.name);
      try {
        const before = run.status;
        run.status = 'discarded';
        run.message = `discarded by ${operator.name} at step ${run.currentStep + 1}/${run.steps.length} (was ${before})`;
        saveRunState(settings, run);
        audit.append({ action: 'run.discard', phase: 'event', target: run.target, run_id: run.id, drill: run.drill, details: { runbook: run.runbook, step: run.steps[run.currentStep]?.id, was: before } });
      } finally {
        claim.release();
      }
    },

    async startRun(name, options) {
      if (options.drillScenario) {
        const session = await drillSession(options.drillScenario);
        let result: Awaited<ReturnType<typeof runRunbook>> | undefined;
        try {
          result = await runRunbook({
            loaded: session.runbook.runbook.name === name ? session.runbook : findRunbook(settings.runbooksPath, name),
            ctx: { ...session.ctx, signal: options.signal },
            environment: session.environment,
            drill: true,
            input: options.input,
            onEvent: options.onEvent,
            signal: options.signal,
            preset: session.preset,
          });
          session.recordRun(result);
          if (result.outcome === 'switched') return { runId: result.runId, outcome: result.outcome, switchTo: result.switchTo };
        } catch (error) {
          if (!result) await endDrill(session).catch(() => undefined);
          throw error;
        }
        const debrief = await endDrill(session);
        return { runId: result.runId, outcome: result.outcome, switchTo: result.switchTo, debrief };
      }
      const resume = options.resumeRunId ? loadRunState(settings, options.resumeRunId) : undefined;
      const loaded = findRunbook(settings.runbooksPath, resume?.runbookFile ?? name);
      const result = await runRunbook({
        loaded,
        ctx: ctx({ signal: options.signal }),
        environment,
        drill: options.drill,
        resume,
        input: options.input,
        onEvent: options.onEvent,
        signal: options.signal,
        preset: options.selectedRevision || options.selectedBackup ? { selectedRevision: options.selectedRevision, selectedBackup: options.selectedBackup } : undefined,
      });
      return { runId: result.runId, outcome: result.outcome, switchTo: result.switchTo };
    },

    async history(): Promise<HistoryView> {
      const graph = loadGraph(settings);
      let rows: string[] = [];
      let problem: string | undefined;
      try {
        const client = await openClient(ctx());
        try {
          rows = await readVersionRows(client, versionNames(settings));
        } finally {
          await client.end().catch(() => {});
        }
      } catch (error) {
        problem = oneLine(error);
      }
      const applied = graph.ancestorsOrSelf(rows.filter((id) => graph.has(id)));
      const rehearsals = readRehearsals(settings);
      return {
        nodes: graph.order.map((id) => {
          const file = graph.get(id);
          const children = graph.children.get(id) ?? [];
          return { id, message: file.message, parents: file.revises, children, file: file.file, transactional: file.transactional, applied: applied.has(id), current: rows.includes(id), head: children.length === 0, rehearsal: rehearsalSummary(rehearsals, file) };
        }),
        current: rows,
        heads: graph.heads(),
        problem,
      };
    },

    authoring() {
      return { autogenerate: settings.engine === 'alembic' };
    },

    async createRevision({ message, autogenerate }) {
      const { autogenerateRevision, createRevision } = await import('../core/migrations/operations');
      const created = autogenerate ? await autogenerateRevision(ctx(), message) : await createRevision(settings, message);
      return { ...created, content: fs.readFileSync(created.file, 'utf8') };
    },

    async revisionFindings(id) {
      const { reviewRevision } = await import('../core/review/review');
      // Sizes when the database answers; the findings themselves need none.
      const client = target ? await openClient(ctx()).catch(() => undefined) : undefined;
      try {
        const reviews = await reviewRevision(settings, id, client);
        const lines = (direction: 'upgrade' | 'downgrade') =>
          reviews
            .filter((r) => r.direction === direction)
            .flatMap((r) => r.findings)
            .map((f) => ({ level: f.waived ? ('waived' as const) : f.level, rule: f.rule, line: f.line, message: f.message }));
        return { upgrade: lines('upgrade'), downgrade: lines('downgrade'), connected: Boolean(client) };
      } finally {
        await client?.end().catch(() => {});
      }
    },

    async downgradeSql(to) {
      const { reviewFrom } = await import('../core/review/review');
      const client = await openClient(ctx());
      let rows: string[];
      try {
        rows = await readVersionRows(client, versionNames(settings));
      } finally {
        await client.end().catch(() => {});
      }
      // The plan the rollback's downgrade would run; Alembic renders it offline (nothing is executed).
      const report = await reviewFrom(settings, 'downgrade', to, rows, undefined, { target, operator });
      return {
        from: report.from,
        to: report.to,
        revisions: report.revisions.map((r) => ({ revision: r.revision, message: r.message, file: r.file, statements: r.statements.map((st) => st.sql) })),
      };
    },

    async backups() {
      return listBackups(settings, target ? { target } : undefined).map(backupEntry);
    },

    async verifyBackup(file, signal) {
      const result = await verifyBackup({ settings, operator, audit, target, signal }, file);
      return result.ok
        ? { ok: true, message: `verified: checksum ${result.checksumOk === false ? 'MISMATCH' : 'ok'}${result.tocEntries !== undefined ? `, ${result.tocEntries} TOC entries` : ''} — ${path.basename(result.file)}` }
        : { ok: false, message: `verification failed: ${result.problems.join('; ') || 'unknown problem'} — ${path.basename(result.file)}` };
    },

    logSource: () => environment?.log_source,

    followLogs({ filter, emitAll, onEvent, signal }) {
      const spec = environment?.log_source;
      if (!spec) {
        const where = target?.environment ? `environment ${target.environment}` : target?.sandbox || base.label ? `the ${base.label ?? 'sandbox'}` : 'this target (DATABASE_URL / --database-url: no environment)';
        throw new Error(`no log source for ${where}: set log_source for an environment in mutx-ops.yaml, or use \`mutx-ops logs FILE\``);
      }
      const source = parseLogSource(spec);
      const follower = followLog({ source, filter, emitAll, cwd: settings.root, signal, onEvent });
      return {
        description: describeLogSource(source),
        stop: async () => {
          await follower.stop();
        },
      };
    },

    audit(count) {
      return { file: audit.file, records: audit.last(count), verification: audit.verify() };
    },
  };
}

const SHOW_CURSOR = '\u001B[?25h';
/** The alternate screen (like k9s, lazygit, less): the operator's shell is back, untouched, on exit. */
const ENTER_ALTERNATE_SCREEN = '\u001B[?1049h\u001B[2J\u001B[H';
const LEAVE_ALTERNATE_SCREEN = '\u001B[?1049l';
/** Output-driven redraws of a running step: at most ~4 a second (keys and questions redraw at once). */
export const APP_RUN_FLUSH_MS = 250;
/** How long the exit summary may wait for the database's revision after a run. */
const FINAL_STATUS_MS = 3_000;

/**
 * The services as the app sees them, recording the session for the exit summary: every run's
 * events and every status read (home's first one is the database before anything ran).
 */
export function recordingServices(services: Services, record: SessionRecord): Services {
  return {
    ...services,
    targetStatus: async () => {
      try {
        const status = await services.targetStatus();
        record.status({ ok: true, status });
        return status;
      } catch (error) {
        record.status({ ok: false, problem: oneLine(error) });
        throw error;
      }
    },
    startRun: (name, options) => {
      const recordEvent = record.run(name);
      return services.startRun(name, {
        ...options,
        onEvent: (event) => {
          recordEvent(event);
          options.onEvent(event);
        },
      });
    },
  };
}

/**
 * The services the app opens with: the configured target, or — nothing configured — the
 * practice sandbox, started as the app's own (stopped on exit). A number is an exit code
 * (the sandbox could not start: the one-line reason is on stderr). `prepared` is that decision
 * already taken by the bin while this chunk loaded.
 */
export async function appServices(prepared?: AppTarget | number, options: GlobalOptions = {}): Promise<{ services: Services; sandboxOf?: ProjectSettings } | number> {
  const target = prepared ?? (await prepareAppTarget(options));
  if (typeof target === 'number') return target;
  const base = await serviceBaseFromEnvironment(options);
  return { services: createServices(target.sandboxOf ? { ...base, label: 'sandbox (practice)' } : base), sandboxOf: target.sandboxOf };
}

/** Renders the app until the operator quits; the terminal is restored on every path out. */
export async function runTui(options: { services?: Services; prepared?: AppTarget | number; options?: GlobalOptions; marks?: Record<string, number> } = {}): Promise<number> {
  // A log followed at tens of thousands of lines a second makes short-lived strings by the
  // million: a small young generation keeps the resident size down (see bench/tui.ts).
  v8.setFlagsFromString('--max-semi-space-size=2');
  const trace = process.env.MUTX_OPS_TRACE_STARTUP;
  const marks: Record<string, number> = { ...options.marks, tuiLoaded: performance.now() };
  let services = options.services;
  let sandboxOf: ProjectSettings | undefined;
  if (!services) {
    const resolved = await appServices(options.prepared, options.options);
    if (typeof resolved === 'number') return resolved;
    ({ services, sandboxOf } = resolved);
  }
  const releaseSync = () => {
    if (!sandboxOf) return;
    try {
      releaseSandboxSync(sandboxOf);
    } catch {
      // best effort on the way out
    }
  };
  // process.exit paths (fatal, SIGHUP, SIGTERM, the bin after return): a fast shutdown signal.
  process.on('exit', releaseSync);
  marks.servicesReady = performance.now();
  const identity = services.target();
  const record = new SessionRecord();
  // Full screen on the alternate screen, only on a terminal (tests render into their own streams).
  const fullScreen = Boolean(process.stdout.isTTY);
  let onAlternateScreen = false;
  if (fullScreen) {
    process.stdout.write(ENTER_ALTERNATE_SCREEN);
    onAlternateScreen = true;
  }
  /** Back to the normal screen, synchronously (also from an exit handler, where nothing async runs). */
  const leaveAlternateScreen = () => {
    if (!onAlternateScreen) return;
    onAlternateScreen = false;
    try {
      fs.writeSync(1, `${LEAVE_ALTERNATE_SCREEN}${SHOW_CURSOR}`);
    } catch {
      // the terminal is gone
    }
  };
  process.on('exit', leaveAlternateScreen);
  const instance = render(createElement(App, { services: recordingServices(services, record), flushMs: APP_RUN_FLUSH_MS }), {
    exitOnCtrlC: false,
    patchConsole: true,
    // Only the lines that changed are rewritten (a spinner tick is one line, not the whole frame).
    incrementalRendering: true,
    // MUTX_OPS_TRACE_STARTUP=FILE: where the first frame's time goes (ms since process start).
    onRender: trace
      ? () => {
          if (marks.firstFrame !== undefined) return;
          marks.firstFrame = performance.now();
          fs.writeFileSync(trace, `${JSON.stringify(marks)}\n`);
        }
      : undefined,
  });
  let restored = false;
  /** Unmounts and gives the terminal back: cooked mode, cursor, the normal screen. */
  const restoreTerminal = () => {
    if (restored) return;
    restored = true;
    try {
      instance.unmount();
    } catch {
      // already unmounted
    }
    try {
      if (process.stdin.isTTY) process.stdin.setRawMode(false);
    } catch {
      // stdin gone (terminal closed)
    }
    leaveAlternateScreen();
    if (process.stdout.writable) process.stdout.write(SHOW_CURSOR);
  };
  let summarised = false;
  /** What this session did, on the normal screen (a terminal only). */
  const printSummary = (final?: StatusReading) => {
    if (summarised || !fullScreen) return;
    summarised = true;
    try {
      fs.writeSync(1, `${exitSummaryLines(record, identity, final).join('\n')}\n`);
    } catch {
      // the terminal is gone
    }
  };
  const restore = () => {
    restoreTerminal();
    printSummary();
  };
  const fatal = (error: unknown) => {
    restore();
    process.stderr.write(`mutx-ops: internal error in the interactive app: ${oneLine(error)}\n`);
    process.exit(1);
  };
  // Closing the terminal: nothing to draw on. The run's state file makes it resumable, and the
  // server rolls back an open transaction and frees the lock when the session ends.
  const hangup = () => process.exit(129);
  const terminate = () => {
    restore();
    process.exit(143);
  };
  // In raw mode Ctrl+C is a key (the app asks first); a SIGINT sent from elsewhere ends it like SIGTERM.
  const interrupt = () => {
    restore();
    process.exit(130);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  process.on('SIGHUP', hangup);
  process.on('SIGTERM', terminate);
  process.on('SIGINT', interrupt);
  /** After a run on the app's target, the revision it is at now (bounded: an unreachable server does not hold the exit). */
  const finalStatus = async (): Promise<StatusReading | undefined> => {
    if (!record.changedTarget || identity.problem) return record.last;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<StatusReading | undefined>((resolve) => {
      timer = setTimeout(() => resolve(record.last), FINAL_STATUS_MS);
    });
    const read = services.targetStatus().then(
      (status): StatusReading => ({ ok: true, status }),
      (error: unknown): StatusReading => ({ ok: false, problem: oneLine(error) }),
    );
    try {
      return await Promise.race([read, late]);
    } finally {
      clearTimeout(timer);
    }
  };
  try {
    await instance.waitUntilExit();
    restoreTerminal();
    printSummary(await finalStatus());
    // Also a sandbox started here for a drill (released only if this process owns it).
    await releaseOwnSandbox(sandboxOf ?? settingsFrom(options.options ?? {}));
    return 0;
  } catch (error) {
    restoreTerminal();
    printSummary(await finalStatus());
    process.stderr.write(`mutx-ops: ${oneLine(error)}\n`);
    await releaseOwnSandbox(sandboxOf);
    return 1;
  } finally {
    process.off('uncaughtException', fatal);
    process.off('unhandledRejection', fatal);
    process.off('SIGHUP', hangup);
    process.off('SIGTERM', terminate);
    process.off('SIGINT', interrupt);
    process.off('exit', leaveAlternateScreen);
  }
}

