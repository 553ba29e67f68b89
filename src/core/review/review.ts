import type pg from 'pg';
import type { ProjectSettings } from '../config';
import type { Target } from '../connection';
import type { Operator } from '../identity';
import type { MigrationEngine } from '../migrations/engine';
import type { RevisionGraph } from '../migrations/graph';
import { MutxError } from '../errors';
import { engineFor } from '../migrations/engines';
import { audited, openClient, versionNames, type CoreContext } from '../migrations/operations';
import type { Direction, Plan } from '../migrations/plan';
import { readVersionRows } from '../migrations/versionTable';
import { OFFLINE_CATALOG, readCatalog, type Catalog } from './catalog';
import { namesToLookUp, parseInputs, runRules } from './engine';
import { reviewInputs } from './inputs';
import { loadParser } from './parser';
import type { Level, ReviewReport, RevisionReview, TableSize } from './types';

/**
 * `mutx-ops review`: the plan of `direction target` (resolved by the project's engine, as the
 * migration would be), each step's SQL, and the findings on it — with table sizes when the live
 * database is reachable. Reads only: catalog queries and the version table.
 */
export interface ReviewOptions {
  /** Review without a database: upgrades from base, downgrades from the heads, no table sizes. */
  offline?: boolean;
}

export async function reviewPlan(ctx: CoreContext, direction: Direction, target: string, options: ReviewOptions = {}): Promise<ReviewReport> {
  if (options.offline) {
    const rows = direction === 'upgrade' ? [] : engineFor(ctx.settings).loadGraph().heads();
    return reviewFrom(ctx.settings, direction, target, rows, undefined);
  }
  return audited(ctx, { action: 'review', args: { direction, target } }, async ({ note, useClient }) => {
    const client = useClient(await openClient(ctx), false);
    const rows = await readVersionRows(client, versionNames(ctx.settings));
    note({ revisions_before: rows, revisions_after: rows });
    return reviewFrom(ctx.settings, direction, target, rows, client, { target: ctx.target, operator: ctx.operator });
  });
}

/** Reviews the plan from these version rows; `client` (optional) is only read. */
export async function reviewFrom(settings: ProjectSettings, direction: Direction, target: string, versionRows: string[], client: pg.Client | undefined, where: Where = {}): Promise<ReviewReport> {
  const engine = engineFor(settings);
  const graph = engine.loadGraph();
  const prepared = await engine.prepare(graph, direction, target, versionRows);
  await prepared.dispose();
  return reviewOf(settings, prepared.plan, client, where, { engine, graph });
}

/** Where the plan would run (Alembic renders its offline SQL for it). */
export interface Where {
  target?: Target;
  operator?: Operator;
}

export async function reviewOf(settings: ProjectSettings, plan: Plan, client: pg.Client | undefined, where: Where = {}, loaded?: { engine: MigrationEngine; graph: RevisionGraph }): Promise<ReviewReport> {
  const parser = await loadParser();
  const engine = loaded?.engine ?? engineFor(settings);
  const inputs = await reviewInputs({ engine, graph: loaded?.graph ?? engine.loadGraph(), settings, target: where.target, operator: where.operator }, plan, parser);
  const parsed = parseInputs(inputs, parser);
  const catalog: Catalog = client ? await readLiveCatalog(client, parsed) : OFFLINE_CATALOG;
  const revisions = runRules(parsed, catalog, settings.review);
  return summarise(plan, revisions, catalog);
}

async function readLiveCatalog(client: pg.Client, parsed: ReturnType<typeof parseInputs>): Promise<Catalog> {
  const names = namesToLookUp(parsed);
  try {
    return await readCatalog(client, names.relations, names.functions);
  } catch (error) {
    throw new MutxError('connection', `reading table sizes for the review failed: ${(error as Error).message.split('\n')[0]}`, {
      hint: 'the role needs to read pg_class and pg_attribute; or review with --offline',
      cause: error,
    });
  }
}

/** The review of one revision in both directions (History's detail), as if it were the whole plan. */
export async function reviewRevision(settings: ProjectSettings, id: string, client: pg.Client | undefined, where: Where = {}): Promise<RevisionReview[]> {
  const engine = engineFor(settings);
  const graph = engine.loadGraph();
  const revision = graph.get(graph.resolve(id));
  const reviews: RevisionReview[] = [];
  for (const direction of ['upgrade', 'downgrade'] as const) {
    // As the one step of a plan: from its parents up to it, or from it down to its parents.
    const parents = revision.revises;
    const plan: Plan = {
      direction,
      target: direction === 'upgrade' ? revision.revision : parents.join(',') || 'base',
      steps: [{ direction, migration: revision, headsBefore: direction === 'upgrade' ? parents : [revision.revision], headsAfter: direction === 'upgrade' ? [revision.revision] : parents }],
      headsBefore: direction === 'upgrade' ? parents : [revision.revision],
      headsAfter: direction === 'upgrade' ? [revision.revision] : parents,
    };
    reviews.push(...(await reviewOf(settings, plan, client, where, { engine, graph })).revisions);
  }
  return reviews;
}

function summarise(plan: Plan, revisions: RevisionReview[], catalog: Catalog): ReviewReport {
  const counts: Record<Level, number> = { error: 0, warning: 0, info: 0 };
  let waived = 0;
  const tables = new Map<string, TableSize>();
  for (const finding of revisions.flatMap((r) => r.findings)) {
    if (finding.waived) waived++;
    else counts[finding.level]++;
    if (finding.size) tables.set(finding.size.name, finding.size);
  }
  return {
    direction: plan.direction,
    target: plan.target,
    from: plan.headsBefore,
    to: plan.headsAfter,
    revisions,
    counts,
    waived,
    connected: catalog.connected,
    serverVersion: catalog.serverVersion,
    tables: [...tables.values()].sort((a, b) => b.bytes - a.bytes),
  };
}

export function hasErrors(report: ReviewReport): boolean {
  return report.counts.error > 0;
}
