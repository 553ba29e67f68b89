import path from 'node:path';
import type pg from 'pg';
import { catalogSnapshot, diffCatalogs } from '../catalog';
import { connect, type Target } from '../connection';
import { MutxError } from '../errors';
import { engineFor } from '../migrations/engines';
import { loadGraph, migrate, versionNames, type CoreContext } from '../migrations/operations';
import { readVersionRows } from '../migrations/versionTable';
import { createScratch, dropOrphans, type ScratchServer } from './scratch';

/**
 * `mutx-ops test`: pytest-alembic's checks of a whole chain, for both engines, on a scratch
 * database built from the files (nothing is copied from any target):
 * - single-head: exactly one head;
 * - base-to-head: every revision upgrades from an empty database;
 * - models-match (Alembic with target_metadata): autogenerate finds nothing between the models and
 *   the schema at head (Alembic's own comparison, through the runner; no file is written);
 * - head-to-base: every downgrade runs, and nothing is left behind at base;
 * - up-down-consistency: each revision in order is upgraded, downgraded and upgraded again, the
 *   catalog compared after every step with the one recorded for the same set of applied revisions.
 * Each failure names the revision, its file (file:line when the engine named the statement) and
 * what differed.
 */
export type ChainCheckName = 'single-head' | 'base-to-head' | 'models-match' | 'head-to-base' | 'up-down-consistency';

export interface ChainFailure {
  revision?: string;
  file?: string;
  where?: string;
  what: string;
  diff?: string[];
}

export interface ChainCheck {
  name: ChainCheckName;
  ok: boolean;
  skipped?: string;
  failures: ChainFailure[];
}

export interface ChainTestReport {
  ok: boolean;
  engine: string;
  revisions: number;
  checks: ChainCheck[];
  scratch: { server: string; database: string; dropped: boolean };
  totalMs: number;
}

function whereOf(message: string, root: string): string | undefined {
  const match = /\bat (\S+?:\d+)(?::|;|$)/.exec(message);
  if (!match) return undefined;
  return path.isAbsolute(match[1]!) ? path.relative(root, match[1]!) : match[1];
}

export async function testChain(ctx: CoreContext, server: ScratchServer, options: { onProgress?: (line: string) => void } = {}): Promise<ChainTestReport> {
  const started = Date.now();
  const progress = options.onProgress ?? (() => {});
  const graph = loadGraph(ctx.settings);
  const names = versionNames(ctx.settings);
  const rel = (file: string) => path.relative(ctx.settings.root, file) || file;
  const checks: ChainCheck[] = [];
  const heads = graph.heads();
  checks.push({
    name: 'single-head',
    ok: heads.length === 1,
    failures: heads.length === 1 ? [] : [{ what: heads.length === 0 ? 'no head revision' : `${heads.length} heads: ${heads.map((h) => `${h} (${rel(graph.get(h).file)})`).join(', ')} — merge them (mutx-ops merge)` }],
  });
  await dropOrphans(server, ctx.operator, ctx.audit, ctx.settings.connect_timeout_seconds).catch(() => []);
  const scratch = await createScratch(server, ctx.operator, undefined, ctx.settings.connect_timeout_seconds);
  const report: ChainTestReport = { ok: false, engine: ctx.settings.engine, revisions: graph.order.length, checks, scratch: { server: server.admin.redacted.replace(/\/[^/]*$/, ''), database: scratch.name, dropped: false }, totalMs: 0 };
  const scratchCtx: CoreContext = { ...ctx, target: scratch.target, onEvent: undefined };
  let client: pg.Client | undefined;
  try {
    client = await connect(scratch.target, { operator: ctx.operator, connectTimeoutSeconds: ctx.settings.connect_timeout_seconds });
    const snapshot = () => catalogSnapshot(client!, { exclude: [names.table] });
    const rows = () => readVersionRows(client!, names);
    const run = async (direction: 'upgrade' | 'downgrade', target: string): Promise<string | undefined> => {
      try {
        await migrate(scratchCtx, direction, target, { lockWaitSeconds: 0 });
        return undefined;
      } catch (error) {
        if (error instanceof MutxError && (error.kind === 'config' || error.kind === 'graph' || error.kind === 'migration-file')) throw error;
        return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.split(`${ctx.settings.root}${path.sep}`).join('');
      }
    };
    const empty = await snapshot();

    progress('base → head…');
    const up = await run('upgrade', 'heads');
    const baseToHead: ChainCheck = { name: 'base-to-head', ok: up === undefined, failures: [] };
    if (up) baseToHead.failures.push(failureOf(up, graph, ctx.settings.root, rel));
    checks.push(baseToHead);

    if (ctx.settings.engine === 'alembic') {
      const models: ChainCheck = { name: 'models-match', ok: false, failures: [] };
      checks.push(models);
      const engine = engineFor(ctx.settings) as { compareModels?: (runtime: { target: typeof scratch.target; operator: typeof ctx.operator; lockTimeoutSeconds: number }) => Promise<{ diffs: string[]; hasMetadata: boolean }> };
      if (up) models.skipped = 'base-to-head failed';
      else if (!engine.compareModels) models.skipped = 'this engine cannot compare models';
      else {
        progress('models against the schema at head (autogenerate)…');
        const compared = await engine.compareModels({ target: scratch.target, operator: ctx.operator, lockTimeoutSeconds: ctx.settings.lock_timeout_seconds });
        if (!compared.hasMetadata) models.skipped = 'env.py sets no target_metadata';
        else if (compared.diffs.length) models.failures.push({ what: `autogenerate would write a revision: the models differ from the migrated schema: ${compared.diffs.slice(0, 5).join('; ')}${compared.diffs.length > 5 ? ` (+${compared.diffs.length - 5} more)` : ''}`, diff: compared.diffs });
      }
      models.ok = models.skipped !== undefined || models.failures.length === 0;
    }

    progress('head → base…');
    const headToBase: ChainCheck = { name: 'head-to-base', ok: false, failures: [] };
    checks.push(headToBase);
    if (up) headToBase.skipped = 'base-to-head failed';
    else {
      const down = await run('downgrade', 'base');
      if (down) headToBase.failures.push(failureOf(down, graph, ctx.settings.root, rel));
      else {
        const left = diffCatalogs(empty, await snapshot());
        if (left.length) headToBase.failures.push({ what: `at base after downgrading everything, objects are left behind: ${left.slice(0, 5).join('; ')}${left.length > 5 ? ` (+${left.length - 5} more)` : ''}`, diff: left });
      }
      headToBase.ok = headToBase.failures.length === 0;
    }

    const consistency: ChainCheck = { name: 'up-down-consistency', ok: false, failures: [] };
    checks.push(consistency);
    if (!headToBase.ok) consistency.skipped = 'head-to-base failed: the walk needs a clean base';
    else {
      progress('upgrade, downgrade, upgrade each revision…');
      // The catalog seen for each set of applied revisions: a downgrade must land on one of them.
      const known = new Map<string, string[]>([['', empty]]);
      for (const id of graph.order) {
        const file = graph.get(id);
        const upMsg = await run('upgrade', id);
        if (upMsg) {
          consistency.failures.push(failureOf(upMsg, graph, ctx.settings.root, rel, id));
          break;
        }
        const atUp = await rows();
        const afterUp = await snapshot();
        known.set([...atUp].sort().join(','), afterUp);
        // To a parent: Alembic (and the SQL engine) then undo exactly what depends on it (for a merge, only the merge).
        const downTarget = file.revises.length === 0 ? 'base' : file.revises[0]!;
        const downMsg = await run('downgrade', downTarget);
        if (downMsg) {
          consistency.failures.push(failureOf(downMsg, graph, ctx.settings.root, rel, id));
          break;
        }
        const atDown = [...(await rows())].sort().join(',');
        const expected = known.get(atDown);
        if (expected) {
          const diff = diffCatalogs(expected, await snapshot());
          if (diff.length) consistency.failures.push({ revision: id, file: rel(file.file), what: `downgrade of ${id} does not restore the schema of ${atDown || 'base'}: ${diff.slice(0, 5).join('; ')}${diff.length > 5 ? ` (+${diff.length - 5} more)` : ''}`, diff });
        }
        // Back to where the walk was (every head it had), then the schema must be the same again.
        for (const head of atUp) {
          const againMsg = await run('upgrade', head);
          if (againMsg) {
            consistency.failures.push(failureOf(againMsg, graph, ctx.settings.root, rel, id));
            break;
          }
        }
        const diffAgain = diffCatalogs(afterUp, await snapshot());
        if (diffAgain.length) consistency.failures.push({ revision: id, file: rel(file.file), what: `upgrade of ${id} after its downgrade gives another schema: ${diffAgain.slice(0, 5).join('; ')}`, diff: diffAgain });
        if (consistency.failures.length) break;
      }
      consistency.ok = consistency.failures.length === 0;
    }
  } finally {
    await client?.end().catch(() => {});
    await scratch.drop().then(
      () => (report.scratch.dropped = true),
      () => progress(`could not drop ${scratch.name}: the next rehearsal or test drops it`),
    );
    report.totalMs = Date.now() - started;
  }
  report.ok = checks.every((c) => c.ok);
  return report;
}

function failureOf(message: string, graph: ReturnType<typeof loadGraph>, root: string, rel: (file: string) => string, revision?: string): ChainFailure {
  const named = revision ?? graph.order.find((id) => new RegExp(`\\b${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`).test(message));
  return { revision: named, file: named && graph.has(named) ? rel(graph.get(named).file) : undefined, where: whereOf(message, root), what: message };
}

/** The server `mutx-ops test` builds its scratch database on. */
export function chainServer(admin: Target): ScratchServer {
  return { admin, origin: 'scratch-url' };
}
