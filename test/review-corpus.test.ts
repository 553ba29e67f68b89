import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProjectSettings } from '../src/core/config';
import { MutxError } from '../src/core/errors';
import { RULES } from '../src/core/review/rules';
import { ruleDoc, ruleDocFile, ruleTable } from '../src/core/review/ruleDocs';
import { RULE_IDS } from '../src/core/review/ruleIds';
import { reviewFrom } from '../src/core/review/review';
import { splitAlembicScript } from '../src/core/review/inputs';
import { pythonWaivers } from '../src/core/review/inputs/alembic';
import type { Finding, ReviewReport } from '../src/core/review/types';

/**
 * The review's corpus: every rule firing on its example and quiet on its safe form, then tricky
 * SQL (dollar quotes, DO blocks, comments, case, schema-qualified and quoted names), waivers and
 * configuration. Offline, in-process (the live database's part is in review-live.test.ts).
 */
const roots: string[] = [];
afterAll(() => {
  for (const dir of roots) fs.rmSync(dir, { recursive: true, force: true });
});

interface Rev {
  upgrade: string;
  downgrade?: string;
  header?: string;
}

function project(revisions: Rev[], settings = ''): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mutx-review-'));
  roots.push(root);
  fs.writeFileSync(path.join(root, 'mutx-ops.yaml'), settings || 'lock_wait_seconds: 10\n');
  const dir = path.join(root, 'migrations');
  fs.mkdirSync(dir);
  revisions.forEach((rev, i) => {
    const id = `r${String(i + 1).padStart(3, '0')}`;
    const lines = [`-- revision: ${id}`, `-- revises: ${i === 0 ? '' : `r${String(i).padStart(3, '0')}`}`, `-- message: case ${id}`];
    if (rev.header) lines.push(rev.header);
    lines.push('', '-- +upgrade', rev.upgrade, '', '-- +downgrade', rev.downgrade ?? 'SELECT 1;', '');
    fs.writeFileSync(path.join(dir, `${id}_case.sql`), lines.join('\n'));
  });
  return root;
}

async function review(revisions: Rev[], options: { direction?: 'upgrade' | 'downgrade'; settings?: string } = {}): Promise<ReviewReport> {
  const root = project(revisions, options.settings);
  const settings = loadProjectSettings({ cwd: root });
  const direction = options.direction ?? 'upgrade';
  const heads = direction === 'downgrade' ? [`r${String(revisions.length).padStart(3, '0')}`] : [];
  return reviewFrom(settings, direction, direction === 'upgrade' ? 'head' : 'base', heads, undefined);
}

const findings = (report: ReviewReport): Finding[] => report.revisions.flatMap((r) => r.findings);
const rulesOf = (report: ReviewReport) => findings(report).map((f) => f.rule);

async function reviewOne(sql: string, options: { header?: string; direction?: 'upgrade' | 'downgrade'; settings?: string } = {}): Promise<ReviewReport> {
  const rev: Rev = options.direction === 'downgrade' ? { upgrade: 'SELECT 1;', downgrade: sql, header: options.header } : { upgrade: sql, header: options.header };
  return review([rev], { direction: options.direction, settings: options.settings });
}

describe('each rule fires on its example and not on its safe form', () => {
  const statementRules = RULES.filter((rule) => rule.id !== 'waiver/missing-reason');
  for (const rule of statementRules) {
    const direction = rule.directions?.[0] ?? 'upgrade';
    it(`${rule.id} fires: ${rule.example.bad.split('\n')[0]}`, async () => {
      const report = await reviewOne(rule.example.bad, { direction });
      const hit = findings(report).find((f) => f.rule === rule.id);
      expect(hit, JSON.stringify(findings(report))).toBeDefined();
      expect(hit!.file).toMatch(/r001_case\.sql$/);
      expect(hit!.line).toBeGreaterThan(4);
      expect(hit!.safe).toBe(rule.safe);
    });
    it(`${rule.id} stays quiet on: ${rule.example.good.split('\n').at(-1)}${rule.example.goodHeader ? ` (${rule.example.goodHeader})` : ''}`, async () => {
      const report = await reviewOne(rule.example.good, { direction, header: rule.example.goodHeader });
      expect(rulesOf(report)).not.toContain(rule.id);
      expect(report.counts.error).toBe(0);
    });
  }
  it('waiver/missing-reason fires on a waiver without a reason, which then waives nothing', async () => {
    const report = await reviewOne('CREATE INDEX agents_name_idx ON agents (name); -- mutx-ops: allow lock/index-not-concurrent');
    expect(rulesOf(report).sort()).toEqual(['lock/index-not-concurrent', 'waiver/missing-reason']);
    expect(findings(report).every((f) => !f.waived)).toBe(true);
  });
  it('every rule id is registered once, and every registered rule has its docs fields', () => {
    expect(RULES.map((r) => r.id).sort()).toEqual([...RULE_IDS].sort());
    for (const rule of RULES) {
      expect(rule.title.length, rule.id).toBeGreaterThan(5);
      expect(rule.why.length, rule.id).toBeGreaterThan(80);
      expect(rule.safe.length, rule.id).toBeGreaterThan(10);
    }
  });
});

describe('tricky SQL', () => {
  it('a function body in dollar quotes that mentions CREATE INDEX is not an index', async () => {
    const report = await reviewOne("CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $body$ SELECT 'CREATE INDEX x ON events (a); DROP TABLE events;' $body$;");
    expect(findings(report)).toEqual([]);
  });
  it('a DO block is reviewed inside: its CREATE INDEX is found at its own line', async () => {
    const report = await reviewOne("DO $$\nBEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'ev_idx') THEN\n    CREATE INDEX ev_idx ON events (created_at);\n  END IF;\nEND\n$$;");
    const hit = findings(report).find((f) => f.rule === 'lock/index-not-concurrent');
    expect(hit?.line).toBe(6 + 3);
  });
  it('CONCURRENTLY inside a DO block fails even in a non-transactional file', async () => {
    const report = await reviewOne("DO $$ BEGIN EXECUTE 'CREATE INDEX CONCURRENTLY ev_idx ON events (a)'; END $$;", { header: '-- transactional: false' });
    expect(rulesOf(report)).toContain('tx/concurrently-in-transaction');
    expect(findings(report).find((f) => f.rule === 'tx/concurrently-in-transaction')!.message).toMatch(/inside a DO block/);
  });
  it('comments that hold SQL are not statements', async () => {
    const report = await reviewOne('-- DROP TABLE events;\n/* CREATE INDEX x ON events (a); /* nested */ still comment */\nSELECT 1;');
    expect(findings(report)).toEqual([]);
  });
  it('case does not matter for keywords, and unquoted names fold to lower case', async () => {
    const report = await reviewOne('create Index Ev_Idx on Events (A);');
    const hit = findings(report).find((f) => f.rule === 'lock/index-not-concurrent')!;
    expect(hit.table).toBe('events');
  });
  it('schema-qualified names are kept', async () => {
    const report = await reviewOne('CREATE INDEX ev_idx ON app.events (created_at);');
    expect(findings(report)[0]!.table).toBe('app.events');
    expect(findings(report)[0]!.message).toContain('app.events');
  });
  it('quoted identifiers keep their case and are shown quoted', async () => {
    const report = await reviewOne('ALTER TABLE "Audit Log" ALTER COLUMN "Id" TYPE bigint;');
    expect(findings(report)[0]!.message).toContain('"Audit Log"');
  });
  it('a table created in the same migration is no hazard', async () => {
    const report = await reviewOne('CREATE TABLE ledger (id bigint, note text);\nCREATE INDEX ledger_note_idx ON ledger (note);\nALTER TABLE ledger ALTER COLUMN note SET NOT NULL;\nALTER TABLE ledger ADD COLUMN token uuid DEFAULT gen_random_uuid();');
    expect(findings(report)).toEqual([]);
  });
  it('a table created by an earlier revision of the same plan is no hazard either', async () => {
    const report = await review([{ upgrade: 'CREATE TABLE ledger (id bigint);' }, { upgrade: 'CREATE INDEX ledger_id_idx ON ledger (id);\nUPDATE ledger SET id = 1;' }]);
    expect(findings(report)).toEqual([]);
  });
  it('a schema-qualified index on a table created unqualified is still the new table', async () => {
    const report = await reviewOne('CREATE TABLE ledger (id bigint);\nCREATE INDEX ON public.ledger (id);');
    expect(findings(report)).toEqual([]);
  });
  it('NOT VALID then VALIDATE in a later revision is the safe form', async () => {
    const report = await review([
      { upgrade: 'ALTER TABLE events ADD CONSTRAINT ev_kind_ck CHECK (kind IS NOT NULL) NOT VALID;' },
      { upgrade: 'ALTER TABLE events VALIDATE CONSTRAINT ev_kind_ck;\nALTER TABLE events ALTER COLUMN kind SET NOT NULL;' },
    ]);
    expect(findings(report)).toEqual([]);
  });
  it('VALIDATE in the same transaction as NOT VALID is found', async () => {
    const report = await reviewOne('ALTER TABLE events ADD CONSTRAINT ev_fk FOREIGN KEY (agent_id) REFERENCES agents (id) NOT VALID;\nALTER TABLE events VALIDATE CONSTRAINT ev_fk;');
    expect(findings(report).map((f) => f.message)).toEqual([expect.stringMatching(/VALIDATE CONSTRAINT ev_fk .* same transaction/)]);
  });
  it('SET NOT NULL after a check that was never validated still scans', async () => {
    const report = await reviewOne('ALTER TABLE events ADD CONSTRAINT ev_kind_ck CHECK (kind IS NOT NULL) NOT VALID;\nALTER TABLE events ALTER COLUMN kind SET NOT NULL;');
    expect(rulesOf(report)).toContain('lock/set-not-null');
  });
  it('constant and stable defaults are free; volatile ones and serial columns rewrite', async () => {
    expect(findings(await reviewOne("ALTER TABLE events ADD COLUMN kind text DEFAULT 'x';\nALTER TABLE events ADD COLUMN at timestamptz DEFAULT now();"))).toEqual([]);
    expect(rulesOf(await reviewOne('ALTER TABLE events ADD COLUMN n bigserial;'))).toEqual(['lock/add-column-volatile-default']);
    expect(rulesOf(await reviewOne('ALTER TABLE events ADD COLUMN n int GENERATED ALWAYS AS IDENTITY;'))).toEqual(['lock/add-column-volatile-default']);
    expect(rulesOf(await reviewOne('ALTER TABLE events ADD COLUMN at timestamptz DEFAULT clock_timestamp();'))).toEqual(['lock/add-column-volatile-default']);
  });
  it('a type change to text is only info offline (free from varchar), to bigint an error', async () => {
    const text = findings(await reviewOne('ALTER TABLE events ALTER COLUMN note TYPE text;'));
    expect(text.map((f) => [f.rule, f.level])).toEqual([['lock/alter-column-type', 'info']]);
    const bigint = findings(await reviewOne('ALTER TABLE events ALTER COLUMN id TYPE bigint USING id::bigint;'));
    expect(bigint.map((f) => [f.rule, f.level])).toEqual([['lock/alter-column-type', 'error']]);
    expect(bigint[0]!.message).toContain('USING');
  });
  it('UPDATE with a WHERE is a batch, not a backfill of everything', async () => {
    expect(findings(await reviewOne("UPDATE events SET kind = 'x' WHERE id < 1000;"))).toEqual([]);
  });
  it('SAVEPOINT is fine in a transaction; COMMIT and BEGIN are not', async () => {
    expect(findings(await reviewOne('SAVEPOINT s1;\nRELEASE SAVEPOINT s1;'))).toEqual([]);
    const report = await reviewOne("BEGIN;\nUPDATE events SET kind = 'x' WHERE id = 1;\nCOMMIT;");
    expect(findings(report).map((f) => [f.rule, f.level, f.line])).toEqual([
      ['tx/transaction-control', 'error', 6],
      ['tx/transaction-control', 'error', 8],
    ]);
  });
  it('transaction control in a non-transactional file is not a transactional-atomicity error', async () => {
    expect(rulesOf(await reviewOne('BEGIN;\nSELECT 1;\nCOMMIT;', { header: '-- transactional: false' }))).toEqual([]);
  });
  it('VACUUM FULL in a non-transactional file is a lock finding only; in a transactional one it also fails', async () => {
    expect(rulesOf(await reviewOne('VACUUM FULL events;', { header: '-- transactional: false' }))).toEqual(['lock/vacuum-full']);
    expect(rulesOf(await reviewOne('VACUUM FULL events;')).sort()).toEqual(['lock/vacuum-full', 'tx/cannot-run-in-transaction']);
  });
  it('semicolons inside quotes, E-strings and quoted identifiers do not split statements', async () => {
    const report = await reviewOne("INSERT INTO notes VALUES ('it''s; fine', E'a\\';b', \"x;y\");\nCREATE INDEX n_idx ON notes (a);");
    expect(findings(report).map((f) => [f.rule, f.line])).toEqual([['lock/index-not-concurrent', 7]]);
  });
  it('two statements on one line are two findings', async () => {
    const report = await reviewOne('CREATE INDEX a_idx ON events (a); CREATE INDEX b_idx ON events (b);');
    expect(findings(report).map((f) => f.message.split(' ')[2])).toEqual(['a_idx', 'b_idx']);
  });
  it('an unparsable statement is an error finding at the line of the mistake', async () => {
    const report = await reviewOne("SELECT 1;\nCREATE TABLE t (\n  id int,\n  note txt ext\n);");
    const hit = findings(report).find((f) => f.rule === 'sql/syntax-error')!;
    expect(hit).toMatchObject({ level: 'error', line: 9 });
    expect(hit.message).toMatch(/syntax error at or near "ext"/);
  });
  it('byte offsets after non-ASCII text still give the right line', async () => {
    // The error cursor counts characters, the scanner (comments, waivers) bytes: both must land right.
    const report = await reviewOne(`SELECT 'Grüße';\nSELECT '日本日本日本日本' FROM\n  t WHERE${'\n'.repeat(12)};\nCREATE INDEX a ON t (a); SELECT '日本'; -- mutx-ops: allow lock/index-not-concurrent -- tiny`);
    expect(findings(report).find((f) => f.rule === 'sql/syntax-error')!.line).toBe(20);
    expect(findings(report).find((f) => f.rule === 'lock/index-not-concurrent')!.waived?.reason).toBe('tiny');
  });
  it('DROP INDEX CONCURRENTLY in a non-transactional file is the safe form', async () => {
    expect(findings(await reviewOne('DROP INDEX CONCURRENTLY IF EXISTS ev_idx;', { header: '-- transactional: false' }))).toEqual([]);
  });
  it('a foreign key inside a new table on an existing one is fine', async () => {
    expect(findings(await reviewOne('CREATE TABLE ev_tags (event_id bigint REFERENCES events (id), tag text);'))).toEqual([]);
  });
  it('ADD VALUE in a non-transactional file is fine; REFRESH … CONCURRENTLY in a transaction is not', async () => {
    expect(findings(await reviewOne("ALTER TYPE status ADD VALUE 'paused';", { header: '-- transactional: false' }))).toEqual([]);
    expect(rulesOf(await reviewOne('REFRESH MATERIALIZED VIEW CONCURRENTLY ev_daily;'))).toEqual(['tx/concurrently-in-transaction']);
  });
  it('TRUNCATE of a named table without CASCADE is not flagged', async () => {
    expect(findings(await reviewOne('TRUNCATE ev_staging;'))).toEqual([]);
  });
  it('compat rules watch upgrades only: a rename in a downgrade is the way back', async () => {
    expect(findings(await reviewOne('ALTER TABLE agents RENAME COLUMN display_name TO name;', { direction: 'downgrade' }))).toEqual([]);
  });
  it('dropping a table this plan created is no compat hazard', async () => {
    expect(findings(await reviewOne('CREATE TABLE scratch (id int);\nDROP TABLE scratch;'))).toEqual([]);
  });
  it('a merge revision with no SQL has no findings', async () => {
    const report = await reviewOne('-- nothing to do: merge');
    expect(report.revisions[0]!.statements).toEqual([]);
    expect(findings(report)).toEqual([]);
  });
  it('a downgrade names what it loses: tables, columns and narrowed types', async () => {
    const report = await reviewOne('ALTER TABLE agents ALTER COLUMN name TYPE varchar(50);\nALTER TABLE agents DROP COLUMN status;\nDROP TABLE agent_events;', { direction: 'downgrade' });
    expect(rulesOf(report)).toEqual(['lock/alter-column-type', 'data/downgrade-narrows-type', 'data/downgrade-drops-column', 'data/downgrade-drops-table']);
    expect(findings(report).find((f) => f.rule === 'data/downgrade-drops-table')!.message).toMatch(/agent_events: every row written to it since the upgrade is lost/);
  });
});

describe('waivers', () => {
  it('a trailing waiver with a reason waives the statement on its line', async () => {
    const report = await reviewOne('CREATE INDEX a_idx ON lookups (a); -- mutx-ops: allow lock/index-not-concurrent -- 40 rows');
    expect(findings(report)).toMatchObject([{ rule: 'lock/index-not-concurrent', waived: { reason: '40 rows', line: 6 } }]);
    expect(report.counts.warning).toBe(0);
    expect(report.waived).toBe(1);
  });
  it('a waiver on the line before covers the next statement only', async () => {
    const report = await reviewOne('-- mutx-ops: allow lock/index-not-concurrent -- small\nCREATE INDEX a_idx ON lookups (a);\nCREATE INDEX b_idx ON lookups (b);');
    expect(findings(report).map((f) => Boolean(f.waived))).toEqual([true, false]);
  });
  it('a waiver in the header covers the whole file, and may name several rules', async () => {
    const report = await reviewOne("CREATE INDEX a_idx ON lookups (a);\nUPDATE lookups SET a = 1;\nCREATE INDEX b_idx ON lookups (b);", {
      header: '-- mutx-ops: allow lock/index-not-concurrent, data/update-without-where -- lookups has 12 rows',
    });
    expect(findings(report).every((f) => f.waived?.reason === 'lookups has 12 rows')).toBe(true);
    expect(findings(report)).toHaveLength(3);
  });
  it('a waiver names the rule it waives: another rule on the same statement still counts', async () => {
    const report = await reviewOne('VACUUM FULL events; -- mutx-ops: allow lock/vacuum-full -- maintenance window');
    expect(findings(report).filter((f) => !f.waived).map((f) => f.rule)).toEqual(['tx/cannot-run-in-transaction']);
  });
  it('a waiver inside a string literal is not a waiver', async () => {
    const report = await reviewOne("CREATE INDEX a_idx ON notes (a); SELECT '-- mutx-ops: allow lock/index-not-concurrent -- no';");
    expect(findings(report).filter((f) => f.waived)).toEqual([]);
  });
  it('a waiver of a DO block covers the statements inside it', async () => {
    const report = await reviewOne('-- mutx-ops: allow lock/index-not-concurrent -- built in the quiet hour\nDO $$\nBEGIN\n  CREATE INDEX ev_idx ON events (a);\nEND $$;');
    expect(findings(report)).toMatchObject([{ rule: 'lock/index-not-concurrent', waived: { reason: 'built in the quiet hour' } }]);
  });
  it('a waiver naming an unknown rule is bad input, with file:line', async () => {
    const error = await reviewOne('CREATE INDEX a ON t (a); -- mutx-ops: allow lock/index-not-concurent -- typo').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MutxError);
    expect((error as MutxError).exitCode).toBe(2);
    expect((error as MutxError).message).toMatch(/r001_case\.sql:6: waiver names unknown rule "lock\/index-not-concurent"/);
  });
  it('another mutx-ops directive is bad input too (a typo must not waive nothing in silence)', async () => {
    const error = await reviewOne('-- mutx-ops: alow lock/index-not-concurrent -- typo\nCREATE INDEX a ON t (a);').catch((e: unknown) => e);
    expect((error as MutxError).message).toMatch(/:6: unknown mutx-ops directive "alow"/);
  });
  it('Python waivers: in def upgrade() for the upgrade, at module level for both', () => {
    const source = ['"""doc"""', '# mutx-ops: allow compat/rename -- renamed behind a view', 'def upgrade():', '    # mutx-ops: allow lock/index-not-concurrent -- tiny', '    op.create_index("ix", "t", ["a"])', '', 'def downgrade():', '    # mutx-ops: allow data/downgrade-drops-table -- scratch', '    op.drop_table("t")'];
    expect(pythonWaivers(source, 'upgrade', 'v.py').map((w) => [w.rules, w.line])).toEqual([
      [['compat/rename'], 2],
      [['lock/index-not-concurrent'], 4],
    ]);
    expect(pythonWaivers(source, 'downgrade', 'v.py').map((w) => w.rules[0])).toEqual(['compat/rename', 'data/downgrade-drops-table']);
  });
});

describe('configuration', () => {
  it('a rule switched off reports nothing; a re-levelled one reports at its new level', async () => {
    const settings = 'review:\n  rules:\n    lock/index-not-concurrent: off\n    compat/rename: error\n';
    const report = await reviewOne('CREATE INDEX a ON events (a);\nALTER TABLE agents RENAME TO bots;', { settings });
    expect(findings(report).map((f) => [f.rule, f.level])).toEqual([['compat/rename', 'error']]);
  });
  it('an unknown rule id in mutx-ops.yaml is bad configuration with file:line', () => {
    const root = project([{ upgrade: 'SELECT 1;' }], 'lock_wait_seconds: 10\nreview:\n  rules:\n    lock/index-not-concurrent: error\n    lock/no-such-rule: off\n');
    const error = (() => {
      try {
        loadProjectSettings({ cwd: root });
      } catch (e) {
        return e as MutxError;
      }
    })();
    expect(error?.exitCode).toBe(2);
    expect(error?.message).toMatch(/mutx-ops\.yaml:5: project settings field "review\.rules\.lock\/no-such-rule": unknown rule "lock\/no-such-rule"/);
  });
  it('a level that is not off/info/warning/error is bad configuration', () => {
    const root = project([{ upgrade: 'SELECT 1;' }], 'review:\n  rules:\n    lock/cluster: fatal\n');
    expect(() => loadProjectSettings({ cwd: root })).toThrow(/mutx-ops\.yaml:3: .*review\.rules\.lock\/cluster/);
  });
});

describe('rule documentation', () => {
  it('docs/rules has one current page per rule, and the README has the table (node --import tsx scripts/rule-docs.ts)', () => {
    const repo = path.join(__dirname, '..');
    for (const rule of RULES) expect(fs.readFileSync(path.join(repo, 'docs/rules', ruleDocFile(rule)), 'utf8'), rule.id).toBe(ruleDoc(rule));
    expect(fs.readdirSync(path.join(repo, 'docs/rules')).sort()).toEqual(RULES.map(ruleDocFile).sort());
    expect(fs.readFileSync(path.join(repo, 'README.md'), 'utf8')).toContain(ruleTable(RULES));
  });
});

describe('Alembic offline SQL', () => {
  it('is cut per revision at its "-- Running" markers (merges name both parents)', () => {
    const script = [
      'BEGIN;',
      'CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL);',
      '-- Running upgrade  -> aaa111',
      'CREATE TABLE t (id int);',
      "INSERT INTO alembic_version (version_num) VALUES ('aaa111');",
      '-- Running upgrade aaa111, ccc333 -> bbb222',
      'CREATE INDEX ix ON t (id);',
      'COMMIT;',
    ].join('\n');
    const chunks = splitAlembicScript(script);
    expect(chunks.map((c) => [c.direction, c.from, c.to])).toEqual([
      ['upgrade', [], ['aaa111']],
      ['upgrade', ['aaa111', 'ccc333'], ['bbb222']],
    ]);
    expect(chunks[1]!.sql).toContain('CREATE INDEX ix');
  });
});
