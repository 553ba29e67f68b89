/**
 * Property-based checks (fast-check) of the migration-file parser, the revision graph and target
 * resolution. The fast subset (test/properties.test.ts) and the full run
 * (test/reliability/properties.test.ts) call these with different run counts.
 */
import fc from 'fast-check';
import { MutxError } from '../../src/core/errors';
import { checksumSql, parseMigrationText, REVISION_ID, type MigrationFile } from '../../src/core/migrations/engines/sql/file';
import { normaliseText as normaliseSql } from '../../src/core/migrations/revision';
import { RevisionGraph } from '../../src/core/migrations/graph';
import { planDowngrade, planUpgrade } from '../../src/core/migrations/plan';

const ID_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_';
export const revisionId = fc
  .array(fc.constantFrom(...ID_CHARS), { minLength: 1, maxLength: 32 })
  .map((chars) => chars.join(''))
  // "none" (any case) means "no parent" in a revises header; head/heads/base are targets
  // (the parser accepts them as ids, see REPORT.md, but they could never be named).
  .filter((id) => !['none', 'head', 'heads', 'base'].includes(id.toLowerCase()) && !['head', 'heads', 'base'].includes(id));

/**
 * One-line messages (U+FFFD and U+2028/U+2029 included: they are text, read as such).
 */
const messageChar = fc
  .oneof(fc.constantFrom(...'abcxyz ABC 0123456789-_.,;:!?\'"()[]{}<>/\\%$#@&*+=~`|'.split('')), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }))
  .filter((c) => !/[\r\n\u0000]/.test(c) && !/[\uD800-\uDFFF]/.test(c));
export const message = fc
  .array(messageChar, { minLength: 1, maxLength: 40 })
  .map((chars) => chars.join('').trim())
  .filter((text) => text.length > 0 && text === text.replace(/^\s+|\s+$/g, ''));

const statement = fc.oneof(
  fc.constant('CREATE TABLE t (id int);'),
  fc.constant("INSERT INTO t VALUES ('a;b');"),
  fc.constant('-- a comment; with a semicolon'),
  fc.constant('/* block; comment */ SELECT 1;'),
  fc.constant('CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql;'),
  fc.constant('SELECT "odd;name" FROM t;'),
  fc.constant(''),
  fc.constant('   '),
  fc.constant('ALTER TABLE t ADD COLUMN c text;  '),
  message.map((m) => `SELECT '${m.replace(/'/g, "''")}';`),
);
const sqlBody = fc.array(statement, { minLength: 1, maxLength: 6 }).map((lines) => lines.join('\n'));

export interface GeneratedFile {
  revision: string;
  revises: string[];
  message?: string;
  transactional?: boolean;
  extra: Record<string, string>;
  upgrade: string;
  downgrade: string;
  verify?: string;
  crlf: boolean;
  bom: boolean;
  noise: boolean;
}

export const generatedFile: fc.Arbitrary<GeneratedFile> = fc
  .record({
    revision: revisionId,
    revises: fc.uniqueArray(revisionId, { maxLength: 3 }),
    message: fc.option(message, { nil: undefined }),
    transactional: fc.option(fc.boolean(), { nil: undefined }),
    extra: fc.dictionary(fc.constantFrom('created', 'author', 'ticket', 'x-note'), message, { maxKeys: 3 }),
    upgrade: sqlBody,
    downgrade: sqlBody,
    verify: fc.option(fc.constantFrom('SELECT true;', "SELECT count(*) = 1 FROM pg_tables WHERE tablename = 't';", 'SELECT 1'), { nil: undefined }),
    crlf: fc.boolean(),
    bom: fc.boolean(),
    noise: fc.boolean(),
  })
  .filter((f) => !f.revises.includes(f.revision));

export function renderFile(f: GeneratedFile): string {
  const lines: string[] = [];
  if (f.noise) lines.push('-- a leading comment', '');
  lines.push(`-- revision: ${f.revision}`);
  lines.push(`-- revises: ${f.revises.join(', ')}`);
  if (f.message !== undefined) lines.push(`-- message: ${f.message}`);
  if (f.transactional !== undefined) lines.push(`-- transactional: ${f.transactional}`);
  for (const [key, value] of Object.entries(f.extra)) lines.push(`-- ${key}: ${value}`);
  if (f.noise) lines.push('', '--', '   ');
  lines.push('', '-- +upgrade', f.upgrade, '', '-- +downgrade', f.downgrade);
  if (f.verify) lines.push('', '-- +verify', f.verify);
  const text = `${lines.join('\n')}\n`;
  return `${f.bom ? '\uFEFF' : ''}${f.crlf ? text.replace(/\n/g, '\r\n') : text}`;
}

/** Parse(render(f)) gives back f's fields. */
export function parserRoundTrip(numRuns: number, seed?: number): number {
  let runs = 0;
  fc.assert(
    fc.property(generatedFile, (f) => {
      runs++;
      const name = `/m/${f.revision}_generated.sql`;
      const parsed = parseMigrationText(render(f), name);
      expectEqual(parsed.revision, f.revision, 'revision');
      expectEqual(JSON.stringify(parsed.revises), JSON.stringify(f.revises), 'revises');
      expectEqual(parsed.message, f.message ?? 'generated', 'message');
      expectEqual(parsed.transactional, f.transactional ?? true, 'transactional');
      for (const [key, value] of Object.entries(f.extra)) expectEqual(parsed.headers[key], value, `header ${key}`);
      expectEqual(normaliseSql(parsed.upgrade.sql), normaliseSql(f.upgrade), 'upgrade');
      expectEqual(normaliseSql(parsed.downgrade.sql), normaliseSql(f.downgrade), 'downgrade');
      expectEqual(parsed.verify ? normaliseSql(parsed.verify.sql) : undefined, f.verify ? normaliseSql(f.verify) : undefined, 'verify');
      expectEqual(parsed.checksum, checksumSql(f.upgrade), 'checksum');
      // The upgrade section's first body line is right after its marker.
      const markerLine = render(f).replace(/^\uFEFF/, '').split(/\r?\n/).indexOf('-- +upgrade') + 1;
      expectEqual(parsed.upgrade.line, markerLine + 1, 'upgrade line');
      // CRLF and trailing blanks do not change the checksum.
      expectEqual(parseMigrationText(render({ ...f, crlf: !f.crlf, bom: !f.bom }), name).checksum, parsed.checksum, 'checksum across line endings');
    }),
    { numRuns, seed },
  );
  return runs;
}
const render = renderFile;

function expectEqual(actual: unknown, expected: unknown, what: string): void {
  if (actual !== expected) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('insertText' as const), at: fc.nat(), text: fc.constantFrom('-- +upgrade\n', '-- +downgrade\n', '-- +verify\n', '-- revision: zz\n', '-- revises: zz\n', '-- transactional: no\n', '\n', 'DROP TABLE users;\n', '\r', '\uFEFF', '\u0000', '-- +\n', '-- +x\n', "'", '$$') }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicateLine' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swapLines' as const), a: fc.nat(), b: fc.nat() }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

export function mutate(buffer: Buffer, m: Mutation): Buffer {
  const at = (n: number, len = buffer.length) => (len === 0 ? 0 : n % (len + 1));
  switch (m.kind) {
    case 'delete': {
      const start = at(m.at);
      return Buffer.concat([buffer.subarray(0, start), buffer.subarray(start + m.length)]);
    }
    case 'insert': {
      const start = at(m.at);
      return Buffer.concat([buffer.subarray(0, start), Buffer.from(m.bytes), buffer.subarray(start)]);
    }
    case 'insertText': {
      const start = at(m.at);
      return Buffer.concat([buffer.subarray(0, start), Buffer.from(m.text), buffer.subarray(start)]);
    }
    case 'flip': {
      if (buffer.length === 0) return buffer;
      const copy = Buffer.from(buffer);
      const index = m.at % copy.length;
      copy[index] = copy[index]! ^ (1 << m.bit);
      return copy;
    }
    case 'truncate':
      return buffer.subarray(0, at(m.at));
    case 'duplicateLine': {
      const lines = buffer.toString('latin1').split('\n');
      const index = m.at % lines.length;
      lines.splice(index, 0, lines[index]!);
      return Buffer.from(lines.join('\n'), 'latin1');
    }
    case 'swapLines': {
      const lines = buffer.toString('latin1').split('\n');
      const a = m.a % lines.length;
      const b = m.b % lines.length;
      [lines[a], lines[b]] = [lines[b]!, lines[a]!];
      return Buffer.from(lines.join('\n'), 'latin1');
    }
  }
}

/** Random mutations of valid files: the parser returns a file or throws a MutxError naming file:line, nothing else. */
export function parserMutations(numRuns: number, seed?: number): number {
  let runs = 0;
  fc.assert(
    fc.property(generatedFile, fc.array(mutation, { minLength: 1, maxLength: 4 }), (f, mutations) => {
      runs++;
      let buffer: Buffer = Buffer.from(render(f));
      for (const m of mutations) buffer = mutate(buffer, m);
      const name = `/m/${f.revision}_generated.sql`;
      let parsed: MigrationFile;
      try {
        parsed = parseMigrationText(buffer, name);
      } catch (error) {
        if (!(error instanceof MutxError)) throw new Error(`threw ${(error as Error)?.constructor?.name}: ${String(error)}`);
        if (error.exitCode !== 2) throw new Error(`exit code ${error.exitCode} for ${error.message}`);
        const match = /^\/m\/[^:]+:(\d+): /.exec(error.message);
        if (!match) throw new Error(`message does not start with file:line: ${error.message}`);
        const lines = buffer.toString('latin1').split('\n').length;
        if (Number(match[1]) < 1 || Number(match[1]) > lines + 1) throw new Error(`line ${match[1]} outside the file (${lines} lines): ${error.message}`);
        if (/[\r\n]/.test(error.message)) throw new Error(`multi-line message: ${JSON.stringify(error.message)}`);
        return;
      }
      // Whatever parses is well-formed.
      if (!REVISION_ID.test(parsed.revision)) throw new Error(`parsed an invalid id ${parsed.revision}`);
      if (parsed.revises.some((p) => !REVISION_ID.test(p)) || parsed.revises.includes(parsed.revision)) throw new Error(`bad revises ${parsed.revises}`);
    }),
    { numRuns, seed },
  );
  return runs;
}

// ---------------------------------------------------------------------------------------
// Graphs

export interface Dag {
  ids: string[];
  parents: Record<string, string[]>;
  /** File order (the tie-breaker of the topological order). */
  fileOrder: string[];
}

/** A random DAG: node i may only revise nodes before it, then ids and file order are shuffled. */
export const dag: fc.Arbitrary<Dag> = fc.integer({ min: 1, max: 24 }).chain((n) =>
  fc
    .record({
      ids: fc.uniqueArray(revisionId, { minLength: n, maxLength: n, comparator: (a, b) => a.toLowerCase() === b.toLowerCase() }),
      edges: fc.array(fc.array(fc.nat(), { maxLength: 3 }), { minLength: n, maxLength: n }),
      order: fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }),
    })
    .map(({ ids, edges, order }) => {
      const parents: Record<string, string[]> = {};
      ids.forEach((id, i) => {
        parents[id] = i === 0 ? [] : [...new Set(edges[i]!.map((e) => ids[e % i]!))];
      });
      return { ids, parents, fileOrder: order.map((i) => ids[i]!) };
    }),
);

export function buildGraph(d: Dag): RevisionGraph {
  return RevisionGraph.build(d.fileOrder.map((id) => parseMigrationText(`-- revision: ${id}\n-- revises: ${d.parents[id]!.join(', ')}\n-- +upgrade\nSELECT 1;\n-- +downgrade\nSELECT 1;\n`, `/m/${id}_x.sql`)));
}

function fail(message: string): never {
  throw new Error(message);
}

/** order is topological, heads have no children, bases no parents, ancestorsOrSelf is a closure. */
export function graphProperties(numRuns: number, seed?: number): number {
  let runs = 0;
  fc.assert(
    fc.property(dag, fc.array(fc.nat(), { maxLength: 4 }), (d, picks) => {
      runs++;
      const g = buildGraph(d);
      if (g.order.length !== d.ids.length || new Set(g.order).size !== d.ids.length) fail('order is not a permutation');
      const position = new Map(g.order.map((id, i) => [id, i]));
      for (const id of d.ids) for (const p of d.parents[id]!) if (position.get(p)! >= position.get(id)!) fail(`${p} after its child ${id}`);
      const hasChild = new Set(d.ids.flatMap((id) => d.parents[id]!));
      const heads = g.heads();
      if (JSON.stringify([...heads].sort()) !== JSON.stringify(d.ids.filter((id) => !hasChild.has(id)).sort())) fail('heads are not the childless revisions');
      for (const h of heads) if (g.children.get(h)!.length) fail(`head ${h} has children`);
      if (JSON.stringify([...g.bases()].sort()) !== JSON.stringify(d.ids.filter((id) => d.parents[id]!.length === 0).sort())) fail('bases are not the parentless revisions');
      const seeds = picks.map((p) => d.ids[p % d.ids.length]!);
      const closure = g.ancestorsOrSelf(seeds);
      for (const s of seeds) if (!closure.has(s)) fail('ancestorsOrSelf lost a seed');
      for (const id of closure) for (const p of d.parents[id]!) if (!closure.has(p)) fail(`ancestorsOrSelf not closed: ${p} of ${id}`);
      for (const id of closure) if (![...g.descendantsOrSelf([id])].some((x) => seeds.includes(x))) fail(`${id} is in ancestorsOrSelf but no seed descends from it`);
      const again = g.ancestorsOrSelf(closure);
      if (again.size !== closure.size) fail('ancestorsOrSelf is not idempotent');
      const tips = g.headsOf(closure);
      if (JSON.stringify([...g.ancestorsOrSelf(tips)].sort()) !== JSON.stringify([...closure].sort())) fail('ancestorsOrSelf(headsOf(A)) != A');
      for (const t of tips) if (!seeds.includes(t)) fail(`tip ${t} is not a seed`);
      const down = g.descendantsOrSelf(seeds);
      for (const id of down) for (const c of g.children.get(id)!) if (!down.has(c)) fail('descendantsOrSelf not closed');
      // Prefix resolution: a full id always resolves to itself.
      for (const id of d.ids) if (g.resolve(id) !== id) fail(`resolve(${id})`);
    }),
    { numRuns, seed },
  );
  return runs;
}

/** Cycles, duplicates and unknown parents are always MutxErrors (kind graph). */
export function brokenGraphProperties(numRuns: number, seed?: number): number {
  let runs = 0;
  fc.assert(
    fc.property(dag.filter((d) => d.ids.length >= 2), fc.nat(), fc.nat(), fc.constantFrom('cycle', 'duplicate', 'unknown'), (d, a, b, kind) => {
      runs++;
      const parents = structuredClone(d.parents);
      const x = d.ids[a % d.ids.length]!;
      let files = d.fileOrder;
      if (kind === 'cycle') {
        // Make an ancestor of x (or x itself) revise x's descendant.
        const down = [...buildGraph(d).descendantsOrSelf([x])];
        const y = down[b % down.length]!;
        parents[x] = [...new Set([...parents[x]!, y])].filter((p) => p !== x || y === x);
        if (y === x) parents[x] = [...parents[x]!, x];
      } else if (kind === 'duplicate') files = [...files, x];
      else parents[x] = [...parents[x]!, 'zzzz_unknown'];
      const texts = files.map((id) => [id, `-- revision: ${id}\n-- revises: ${parents[id]!.join(', ')}\n-- +upgrade\nSELECT 1;\n-- +downgrade\nSELECT 1;\n`] as const);
      try {
        RevisionGraph.build(texts.map(([id, text], i) => parseMigrationText(text, `/m/${id}_${i}.sql`)));
      } catch (error) {
        if (!(error instanceof MutxError)) fail(`threw ${String(error)}`);
        if (error.exitCode !== 2) fail(`exit ${error.exitCode}`);
        return;
      }
      fail(`a ${kind} was accepted`);
    }),
    { numRuns, seed },
  );
  return runs;
}

// ---------------------------------------------------------------------------------------
// Plans

function simulate(g: RevisionGraph, start: Set<string>, plan: ReturnType<typeof planUpgrade>): Set<string> {
  const applied = new Set(start);
  for (const step of plan.steps) {
    const id = step.migration.revision;
    if (JSON.stringify(step.headsBefore) !== JSON.stringify(g.headsOf(applied))) fail(`${id}: headsBefore ${step.headsBefore} != ${g.headsOf(applied)}`);
    if (step.direction === 'upgrade') {
      if (applied.has(id)) fail(`${id} applied twice`);
      for (const p of g.parents(id)) if (!applied.has(p)) fail(`${id} applied before its parent ${p}`);
      applied.add(id);
    } else {
      if (!applied.has(id)) fail(`${id} reverted while not applied`);
      for (const c of g.children.get(id)!) if (applied.has(c)) fail(`${id} reverted before its child ${c}`);
      applied.delete(id);
    }
    if (JSON.stringify(step.headsAfter) !== JSON.stringify(g.headsOf(applied))) fail(`${id}: headsAfter ${step.headsAfter} != ${g.headsOf(applied)}`);
  }
  if (JSON.stringify(plan.headsAfter) !== JSON.stringify(g.headsOf(applied))) fail('plan.headsAfter does not match its steps');
  return applied;
}

/** Target resolution on random DAGs from random applied states. */
export function planProperties(numRuns: number, seed?: number): number {
  let runs = 0;
  fc.assert(
    fc.property(dag, fc.array(fc.nat(), { maxLength: 3 }), fc.nat(), (d, picks, t) => {
      runs++;
      const g = buildGraph(d);
      const start = g.ancestorsOrSelf(picks.map((p) => d.ids[p % d.ids.length]!));
      const rows = g.headsOf(start);
      // upgrade heads: every pending revision exactly once, parents first, ends at the heads.
      const all = simulate(g, start, planUpgrade(g, rows, 'heads'));
      if (all.size !== d.ids.length) fail('upgrade heads left revisions pending');
      // upgrade to one revision: exactly its missing ancestors.
      const target = d.ids[t % d.ids.length]!;
      const up = planUpgrade(g, rows, target);
      const reached = simulate(g, start, up);
      const expected = new Set([...start, ...g.ancestorsOrSelf([target])]);
      if (reached.size !== expected.size || [...expected].some((id) => !reached.has(id))) fail(`upgrade ${target} did not reach exactly start ∪ ancestors(target)`);
      // ...and downgrade back to the single head we started from returns to the same heads,
      // when everything applied was built on top of it.
      if (rows.length === 1) {
        const added = [...reached].filter((id) => !start.has(id));
        const above = g.descendantsOrSelf(rows);
        if (added.every((id) => above.has(id))) {
          const back = planDowngrade(g, up.headsAfter, rows[0]!);
          simulate(g, reached, back);
          if (JSON.stringify(back.headsAfter) !== JSON.stringify(rows)) fail(`upgrade ${target} then downgrade ${rows[0]} ends at ${back.headsAfter}, not ${rows}`);
        }
      }
      // downgrade base removes everything, children first.
      const none = simulate(g, reached, planDowngrade(g, g.headsOf(reached), 'base'));
      if (none.size !== 0) fail('downgrade base left revisions applied');
      // Planning never mutates: the same input gives the same plan.
      if (JSON.stringify(planUpgrade(g, rows, 'heads').steps.map((s) => s.migration.revision)) !== JSON.stringify(planUpgrade(g, rows, 'heads').steps.map((s) => s.migration.revision))) fail('planning is not deterministic');
    }),
    { numRuns, seed },
  );
  return runs;
}

/** On linear chains: +N then -N returns to the same revision; ID+N / ID-N agree with +N / -N. */
export function linearPlanProperties(numRuns: number, seed?: number): number {
  let runs = 0;
  fc.assert(
    fc.property(fc.uniqueArray(revisionId, { minLength: 1, maxLength: 30, comparator: (a, b) => a.toLowerCase() === b.toLowerCase() }), fc.nat(), fc.nat(), (ids, s, n) => {
      runs++;
      const parents: Record<string, string[]> = {};
      ids.forEach((id, i) => (parents[id] = i === 0 ? [] : [ids[i - 1]!]));
      const g = buildGraph({ ids, parents, fileOrder: [...ids].reverse() });
      const at = s % (ids.length + 1); // 0 = base
      const rows = at === 0 ? [] : [ids[at - 1]!];
      const steps = n % (ids.length - at + 1);
      const up = planUpgrade(g, rows, `+${steps}`);
      if (up.steps.length !== steps) fail(`+${steps} planned ${up.steps.length} steps`);
      const expectedRows = at + steps === 0 ? [] : [ids[at + steps - 1]!];
      if (JSON.stringify(up.headsAfter) !== JSON.stringify(expectedRows)) fail(`+${steps} from ${rows} ends at ${up.headsAfter}`);
      simulate(g, g.ancestorsOrSelf(rows), up);
      const down = planDowngrade(g, up.headsAfter, `-${steps}`);
      if (JSON.stringify(down.headsAfter) !== JSON.stringify(rows)) fail(`+${steps} then -${steps} ends at ${down.headsAfter}, not ${rows}`);
      simulate(g, g.ancestorsOrSelf(up.headsAfter), down);
      if (at > 0) {
        const anchored = planUpgrade(g, rows, `${ids[at - 1]}+${steps}`);
        if (JSON.stringify(anchored.headsAfter) !== JSON.stringify(up.headsAfter)) fail(`${ids[at - 1]}+${steps} != +${steps}`);
      }
      // ID-N names a revision, so it cannot land on base: only compare when we started above it.
      if (rows.length > 0 && steps > 0) {
        const anchoredDown = planDowngrade(g, up.headsAfter, `${up.headsAfter[0]}-${steps}`);
        if (JSON.stringify(anchoredDown.headsAfter) !== JSON.stringify(rows)) fail(`${up.headsAfter[0]}-${steps} != -${steps}`);
      }
      // One step too far is a clear MutxError.
      try {
        planUpgrade(g, rows, `+${ids.length - at + 1}`);
        fail('upgrade past the head was accepted');
      } catch (error) {
        if (!(error instanceof MutxError)) throw error;
      }
    }),
    { numRuns, seed },
  );
  return runs;
}
