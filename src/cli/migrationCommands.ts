import path from 'node:path';
import type { Command } from 'commander';
import { MutxError, ExitCode } from '../core/errors';
import { engineFor } from '../core/migrations/engines';
import type { MigrationEvent } from '../core/migrations/events';
import type { RevisionGraph } from '../core/migrations/graph';
import type { Revision } from '../core/migrations/revision';
import { autogenerateRevision, createRevision, describePartial, loadGraph, migrate, reconcile, renderPlanSql, stamp, status, type MigrateOptions } from '../core/migrations/operations';
import { describeHolder } from '../core/migrations/lock';
import { readRehearsals, rehearsalSummary } from '../core/rehearse/record';
import { coreContextFrom, settingsFrom, type GlobalOptions } from './context';
import { formatDuration, Output } from './output';
import { requireProtectedConfirmation } from './protectedConfirm';

export type Runner = (fn: (globals: GlobalOptions, out: Output) => Promise<number | void>) => Promise<void>;

function labels(graph: RevisionGraph, id: string, current: Set<string> = new Set()): string {
  const tags: string[] = [];
  if (graph.children.get(id)!.length === 0) tags.push('head');
  if (graph.children.get(id)!.length > 1) tags.push('branchpoint');
  if (graph.get(id).revises.length > 1) tags.push('mergepoint');
  if (current.has(id)) tags.push('current');
  return tags.length ? ` (${tags.join(', ')})` : '';
}

function describeRevision(file: Revision, root: string): string[] {
  const lines = [
    `Rev: ${file.revision}`,
    `Parent: ${file.revises.join(', ') || '<base>'}`,
    `Path: ${path.relative(root, file.file) || file.file}`,
    `Transactional: ${file.transactional}`,
    `Checksum: ${file.checksum}`,
  ];
  for (const [key, value] of Object.entries(file.headers)) {
    if (!['revision', 'revises', 'message', 'transactional'].includes(key)) lines.push(`${key[0]!.toUpperCase()}${key.slice(1)}: ${value}`);
  }
  lines.push('', `    ${file.message}`);
  return lines;
}

function revisionJson(graph: RevisionGraph, file: Revision) {
  return {
    revision: file.revision,
    revises: file.revises,
    message: file.message,
    transactional: file.transactional,
    headers: file.headers,
    file: file.file,
    checksum: file.checksum,
    is_head: graph.children.get(file.revision)!.length === 0,
    is_branch_point: graph.children.get(file.revision)!.length > 1,
    is_merge_point: file.revises.length > 1,
    branch_labels: file.branchLabels,
    depends_on: file.dependsOn,
  };
}

/** `-r A:B` as Alembic reads it: either side may be empty, base, head(s), an id or prefix. */
function historyRange(graph: RevisionGraph, range: string | undefined): string[] {
  if (!range) return [...graph.order];
  const match = /^([^:]*):([^:]*)$/.exec(range);
  if (!match) throw new MutxError('usage', `-r ${range}: expected START:END (either side may be empty)`, { hint: 'e.g. -r base:head, -r 3f2a:, -r :heads' });
  const [, from = '', to = ''] = match;
  const lower = from === '' || from === 'base' ? undefined : graph.resolve(from);
  const upperIds = to === '' || to === 'head' || to === 'heads' ? graph.heads() : [graph.resolve(to)];
  const below = graph.ancestorsOrSelf(upperIds);
  const above = lower ? graph.descendantsOrSelf([lower]) : undefined;
  return graph.order.filter((id) => below.has(id) && (!above || above.has(id)));
}

function progressPrinter(out: Output) {
  return (event: MigrationEvent) => {
    switch (event.type) {
      case 'lock-waiting':
        out.progress(`waiting for the migration lock, held by ${event.holder ?? 'another session'} (${Math.round(event.waitedMs / 1000)} s)`);
        break;
      case 'step-started':
        out.progress(`[${event.index + 1}/${event.total}] ${event.direction} ${event.revision}: ${event.message}`);
        break;
      case 'notice':
        out.progress(event.message);
        break;
      case 'retry':
        out.progress(`  ${event.reason}: retry ${event.attempt}/${event.of} in ${formatDuration(event.delayMs)}`);
        break;
      case 'blocked':
        out.progress(`  waiting on locks held by ${event.blockers.map((b) => `pid ${b.pid} (${b.applicationName || '?'}, ${b.state ?? '?'})`).join(', ')}`);
        break;
      case 'step-finished':
        out.progress(`  done in ${formatDuration(event.durationMs)}`);
        break;
      default:
        break;
    }
  };
}

/**
 * Sane bounds for the duration options: the server's lock_timeout is whole milliseconds (below 1 ms
 * it becomes 0, "no limit"), and a timer longer than 2^31-1 ms fires at once.
 */
export const SECONDS_BOUNDS = {
  timeout: { min: 0.01, max: 7 * 86_400 },
  lockTimeout: { min: 0.001, max: 3_600 },
  waitLock: { min: 0, max: 86_400 },
} as const;

function boundedSeconds(name: keyof typeof SECONDS_BOUNDS, raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  const flag = `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  const { min, max } = SECONDS_BOUNDS[name];
  const text = String(raw).trim();
  const value = text === '' ? NaN : Number(text);
  if (!Number.isFinite(value) || value < min || value > max || (min === 0 && Object.is(value, -0))) {
    throw new MutxError('usage', `${flag} must be a number of seconds from ${min} to ${max}, not "${String(raw).slice(0, 20)}"`, { hint: name === 'waitLock' ? '0 means do not wait' : undefined });
  }
  return value;
}

function migrateOptions(opts: Record<string, unknown>): MigrateOptions {
  return {
    timeoutSeconds: boundedSeconds('timeout', opts.timeout),
    lockTimeoutSeconds: boundedSeconds('lockTimeout', opts.lockTimeout),
    lockWaitSeconds: waitLockSeconds(opts.waitLock),
    singleTransaction: Boolean(opts.singleTransaction),
    acceptChanged: (opts.acceptChanged as string[] | undefined) ?? [],
  };
}

/** --wait-lock: 0 (do not wait) up to a day; anything else is a usage error. */
function waitLockSeconds(raw: unknown): number | undefined {
  return boundedSeconds('waitLock', raw);
}

export function registerMigrationCommands(program: Command, run: Runner, signal: AbortSignal): void {
  program
    .command('current')
    .description('show the revision(s) the database is at')
    .option('-v, --verbose', 'show files, checksums and when each was applied')
    .action((opts: { verbose?: boolean }) =>
      run(async (globals, out) => {
        const ctx = await coreContextFrom(globals, { signal });
        const graph = loadGraph(ctx.settings);
        const result = await status(ctx, { graph, withLedger: opts.verbose });
        const current = new Set(result.versionRows);
        out.result(
          { target: ctx.target.redacted, server_version: result.serverVersion, current: result.versionRows, heads: result.heads, pending: result.pending, drift: result.drift, partial: result.partial, lock_holder: result.lockHolder ?? null },
          () => {
            const lines: string[] = result.partial.map((p) => `HALF-APPLIED: ${describePartial(p)} — run \`mutx-ops reconcile\``);
            if (result.versionRows.length === 0) return [...lines, `(base) — nothing applied; ${result.pending.length} pending`];
            for (const id of result.versionRows) {
              const file = graph.get(id);
              lines.push(`${id}${labels(graph, id, current)} ${file.message}`);
              if (opts.verbose) {
                const applied = [...result.ledger].reverse().find((row) => row.revision === id && ['applied', 'stamped', 'adopted'].includes(row.outcome));
                lines.push(...describeRevision(file, ctx.settings.root).map((line) => `  ${line}`));
                lines.push(applied ? `  Applied: ${applied.started_at.toISOString()} by ${applied.operator}@${applied.host} (${applied.outcome}, ${applied.duration_ms} ms)` : '  Applied: not recorded in the ledger (taken over from another tool)');
                lines.push(`  Rehearsal: ${rehearsalSummary(readRehearsals(ctx.settings), file, { serverMajor: parseInt(result.serverVersion, 10) })}`);
              }
            }
            if (opts.verbose || result.pending.length) lines.push(`${result.pending.length} pending${result.pending.length ? `: ${result.pending.join(', ')}` : ''}`);
            if (opts.verbose) for (const id of result.pending) lines.push(`  ${id}: ${rehearsalSummary(readRehearsals(ctx.settings), graph.get(id), { serverMajor: parseInt(result.serverVersion, 10) })}`);
            if (result.drift.length) lines.push(`CHANGED since applied: ${result.drift.map((d) => `${d.revision} (${path.basename(d.file)})`).join(', ')}`);
            if (result.lockHolder) lines.push(`migration lock held by ${describeHolder(result.lockHolder)}`);
            return lines;
          },
        );
      }),
    );

  program
    .command('history')
    .description('list revisions, newest first (no database needed)')
    .option('-v, --verbose', 'show full details of each revision')
    .option('-r, --rev-range <range>', 'only revisions in START:END')
    .action((opts: { verbose?: boolean; revRange?: string }) =>
      run(async (globals, out) => {
        const settings = settingsFrom(globals);
        const graph = loadGraph(settings);
        const ids = historyRange(graph, opts.revRange).reverse();
        const rehearsals = opts.verbose ? readRehearsals(settings) : [];
        out.result({ revisions: ids.map((id) => revisionJson(graph, graph.get(id))) }, () => {
          const lines: string[] = [];
          for (const id of ids) {
            const file = graph.get(id);
            if (opts.verbose) {
              lines.push(...describeRevision(file, settings.root).map((line, i) => (i === 0 ? `${line}${labels(graph, id)}` : line)), `Rehearsal: ${rehearsalSummary(rehearsals, file)}`, '');
            } else {
              lines.push(`${file.revises.join(', ') || '<base>'} -> ${id}${labels(graph, id)}, ${file.message}`);
            }
          }
          return lines;
        });
      }),
    );

  program
    .command('heads')
    .description('show the head revision(s) of the migration files')
    .action(() =>
      run(async (globals, out) => {
        const graph = loadGraph(settingsFrom(globals));
        const heads = graph.heads();
        out.result({ heads }, () => heads.map((id) => `${id} (head) ${graph.get(id).message}`));
      }),
    );

  program
    .command('show')
    .description('show one revision: headers, sections and checksum')
    .argument('<rev>', 'revision id or unique prefix')
    .action((rev: string) =>
      run(async (globals, out) => {
        const settings = settingsFrom(globals);
        const engine = engineFor(settings);
        const graph = engine.loadGraph();
        const file = graph.get(graph.resolve(rev));
        const sections = engine.sections(file);
        out.result({ ...revisionJson(graph, file), sections: Object.fromEntries(sections.map((section) => [section.title, section.text])) }, () => [
          ...describeRevision(file, settings.root),
          ...sections.flatMap((section) => ['', section.title, section.text]),
        ]);
      }),
    );

  program
    .command('check')
    .description('exit 0 only if the database is at the single head and no applied file changed (exit 3 otherwise)')
    .action(() =>
      run(async (globals, out) => {
        const ctx = await coreContextFrom(globals, { signal });
        const result = await status(ctx, { action: 'check' });
        const problems: string[] = [];
        if (result.heads.length > 1) problems.push(`${result.heads.length} heads: ${result.heads.join(', ')} (merge them)`);
        if (result.pending.length) problems.push(`${result.pending.length} pending: ${result.pending.join(', ')}`);
        for (const d of result.drift) problems.push(`changed since applied: ${d.revision} (${d.file})`);
        for (const p of result.partial) problems.push(`half-applied: ${describePartial(p)} (mutx-ops reconcile)`);
        const ok = problems.length === 0;
        out.result({ ok, current: result.versionRows, heads: result.heads, pending: result.pending, drift: result.drift, partial: result.partial }, () =>
          ok ? `up to date at ${result.versionRows.join(', ') || 'base'}` : ['NOT up to date:', ...problems.map((p) => `  - ${p}`)],
        );
        return ok ? ExitCode.ok : ExitCode.checkFailed;
      }),
    );

  for (const direction of ['upgrade', 'downgrade'] as const) {
    program
      .command(direction)
      .description(direction === 'upgrade' ? 'apply migrations up to TARGET (head, heads, +N, ID, ID+N)' : 'revert migrations down to TARGET (-N, ID, base)')
      .argument('<target>', direction === 'upgrade' ? 'head | heads | +N | ID | prefix | ID+N' : '-N | ID | prefix | ID-N | base')
      .option('--sql', 'print the SQL that would run (version table included) and change nothing')
      .option('--timeout <seconds>', 'cancel on the server, roll back and exit 124 after this long')
      .option('--lock-timeout <seconds>', 'server lock_timeout for each statement (retried with backoff)')
      .option('--wait-lock <seconds>', 'how long to wait for another mutx-ops holding the migration lock')
      .option('--single-transaction', 'run all migrations in one transaction')
      .option('--accept-changed <rev...>', 'record the new checksum of an applied revision whose file changed')
      .option('--confirm <dbname>', 'the database name: required on a protected environment without a terminal')
      .action((target: string, opts: Record<string, unknown>) =>
        run(async (globals, out) => {
          const options = migrateOptions(opts);
          const ctx = await coreContextFrom(globals, { signal, onEvent: progressPrinter(out) });
          if (opts.sql) {
            const { sql, plan } = await renderPlanSql(ctx, direction, target, options);
            out.result({ sql, steps: plan.steps.map((s) => s.migration.revision) }, () => sql.trimEnd());
            return;
          }
          await requireProtectedConfirmation(ctx.target, `${direction} ${target}`, opts.confirm as string | undefined, signal);
          const result = await migrate(ctx, direction, target, options);
          out.result(
            { ok: true, direction, target, before: result.headsBefore, after: result.headsAfter, steps: result.steps, accepted_changed: result.acceptedChanged },
            () =>
              result.steps.length === 0
                ? `nothing to do: already at ${result.headsAfter.join(', ') || 'base'}`
                : `${direction === 'upgrade' ? 'upgraded' : 'downgraded'} ${result.headsBefore.join(', ') || 'base'} → ${result.headsAfter.join(', ') || 'base'} (${result.steps.length} revision(s), ${formatDuration(result.steps.reduce((sum, s) => sum + s.durationMs, 0))})`,
          );
        }),
      );
  }

  program
    .command('reconcile')
    .description('settle a non-transactional migration that failed or was killed half-way, so the schema matches the version table again')
    .option('--dry-run', 'say what would run and change nothing')
    .option('--timeout <seconds>', 'cancel on the server and exit 124 after this long')
    .option('--wait-lock <seconds>', 'how long to wait for another mutx-ops holding the migration lock')
    .option('--confirm <dbname>', 'the database name: required on a protected environment without a terminal')
    .action((opts: Record<string, unknown>) =>
      run(async (globals, out) => {
        const options = migrateOptions(opts);
        const ctx = await coreContextFrom(globals, { signal, onEvent: progressPrinter(out) });
        if (!opts.dryRun) await requireProtectedConfirmation(ctx.target, 'reconcile', opts.confirm as string | undefined, signal);
        const result = await reconcile(ctx, { timeoutSeconds: options.timeoutSeconds, lockWaitSeconds: options.lockWaitSeconds, dryRun: Boolean(opts.dryRun) });
        const at = result.versionRows.join(', ') || 'base';
        out.result({ ok: true, dry_run: Boolean(opts.dryRun), reconciled: result.reconciled, current: result.versionRows }, () =>
          result.reconciled.length === 0
            ? `nothing to reconcile: no half-applied migration; the database is at ${at}`
            : result.reconciled.map((r) => `${opts.dryRun ? 'would run' : 'ran'} the ${r.ran.join(' then ')} section of ${r.revision} (its ${r.attempted} had stopped half-way); the database is at ${at}`),
        );
      }),
    );

  program
    .command('stamp')
    .description('set the version table to TARGET without running migrations')
    .argument('<target>', 'head | heads | ID | base')
    .option('--purge', 'delete every row first (also unknown revisions)')
    .option('--confirm <dbname>', 'the database name: required on a protected environment without a terminal')
    .action((target: string, opts: { purge?: boolean; confirm?: string }) =>
      run(async (globals, out) => {
        const ctx = await coreContextFrom(globals, { signal });
        await requireProtectedConfirmation(ctx.target, `stamp ${target}`, opts.confirm, signal);
        const result = await stamp(ctx, target, { purge: opts.purge });
        out.result({ ok: true, before: result.before, after: result.after }, () => `stamped ${result.before.join(', ') || 'base'} → ${result.after.join(', ') || 'base'}`);
      }),
    );

  program
    .command('revision')
    .description('create a new migration file revising the current head')
    .requiredOption('-m, --message <text>', 'what the revision changes')
    .option('--autogenerate', 'Alembic projects: let Alembic compare the database with the models and write the operations')
    .action((opts: { message: string; autogenerate?: boolean }) =>
      run(async (globals, out) => {
        const created = opts.autogenerate ? await autogenerateRevision(await coreContextFrom(globals, { signal }), opts.message) : await createRevision(settingsFrom(globals), opts.message);
        const shown = path.relative(process.cwd(), created.file) || created.file;
        out.result(created, () => [`created ${shown} (revises ${created.revises.join(', ') || '<base>'})`, `review it before you apply it: mutx-ops show ${created.revision}`]);
      }),
    );

  program
    .command('merge')
    .description('create a merge revision over the heads (or the given revisions)')
    .requiredOption('-m, --message <text>', 'what the merge is for')
    .argument('[revs...]', 'revisions to merge (default: all heads)')
    .action((revs: string[], opts: { message: string }) =>
      run(async (globals, out) => {
        const settings = settingsFrom(globals);
        const engine = engineFor(settings);
        const created = await engine.createMerge(engine.loadGraph(), opts.message, revs);
        out.result(created, () => `created ${path.relative(process.cwd(), created.file)} (merges ${created.revises.join(', ')})`);
      }),
    );
}
