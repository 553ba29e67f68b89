/**
 * Alembic benchmark: mutx-ops on a generated Alembic project against raw `alembic` on the same
 * project, measured in the same run (a 300-revision chain, the SQL of the migrations bench as
 * op.execute calls, an env.py running every revision in one transaction).
 *
 *   node --import tsx bench/alembic.ts [--revisions N] [--rounds N]
 *
 * Goals: `upgrade head` ≤ 1.10× alembic's; `current`, `heads`, `history` ≤ 0.5× alembic's (they
 * read the files statically; Alembic imports every revision module).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { alternatingRounds, Databases, downgradeSql, formatGoalRows, generateChain, mustSucceed, runTimed, upgradeSql, urlFor, withClient, type GoalRow, type ProcResult } from './migrations';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(REPO_ROOT, 'dist/mutx-ops.js');
const ADMIN_URL = process.env.MUTX_BENCH_ADMIN_URL ?? process.env.MUTX_TEST_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const ALEMBIC = '/usr/bin/alembic';

const ENV_PY = `import os
from alembic import context
from sqlalchemy import create_engine, pool

engine = create_engine(os.environ["DATABASE_URL"], poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()
`;

function writeAlembicProject(dir: string, revisions: number): string {
  const chain = generateChain(revisions);
  fs.writeFileSync(path.join(dir, 'alembic.ini'), '[alembic]\nscript_location = %(here)s/migrations\n');
  fs.mkdirSync(path.join(dir, 'migrations', 'versions'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'migrations', 'env.py'), ENV_PY);
  for (const rev of chain) {
    const calls = (sql: string[]) => sql.map((statement) => `    op.execute(${JSON.stringify(statement)})`).join('\n');
    fs.writeFileSync(
      path.join(dir, 'migrations', 'versions', `${rev.id}_create_${rev.table}.py`),
      `"""create ${rev.table}\n\nRevision ID: ${rev.id}\nRevises: ${rev.parent ?? ''}\n"""\nfrom alembic import op\n\nrevision = '${rev.id}'\ndown_revision = ${rev.parent ? `'${rev.parent}'` : 'None'}\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade():\n${calls(upgradeSql(rev))}\n\n\ndef downgrade():\n${calls(downgradeSql(rev))}\n`,
    );
  }
  return chain[chain.length - 1]!.id;
}

export async function benchAlembic(opts: { revisions?: number; rounds?: number; quick?: boolean } = {}): Promise<GoalRow[]> {
  const revisions = opts.revisions ?? (opts.quick ? 100 : 300);
  const rounds = opts.rounds ?? 3;
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run -s build\` first`);
  if (!fs.existsSync(ALEMBIC)) throw new Error(`${ALEMBIC} is missing: apt-get install alembic python3-psycopg2`);
  const log = (line: string) => process.stderr.write(`[alembic] ${line}\n`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mutx-bench-alembic-'));
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  admin.on('error', () => {});
  const databases = new Databases(admin);
  try {
    await admin.connect();
    const head = writeAlembicProject(work, revisions);
    const env = (url: string): NodeJS.ProcessEnv => ({ ...process.env, DATABASE_URL: url, MUTX_OPERATOR: 'bench', MUTX_OPS_PREFS_DIR: path.join(work, '.prefs') });
    const mutx = (url: string, ...args: string[]) => runTimed(process.execPath, [BIN, ...args], { cwd: work, env: env(url) });
    const alembic = (url: string, ...args: string[]) => runTimed(ALEMBIC, args, { cwd: work, env: env(url) });
    const template = await databases.create('tpl');
    mustSucceed('template: alembic upgrade head', await alembic(urlFor(template), 'upgrade', 'head'));
    const fresh = async (from?: string) => {
      const url = urlFor(await databases.create('run', from));
      await withClient(url, (client) => client.query('SELECT count(*) FROM pg_class'));
      return url;
    };
    const atHead = async (url: string, what: string) => {
      const rows = await withClient(url, (client) => client.query<{ version_num: string }>('SELECT version_num FROM alembic_version'));
      if (rows.rows.map((r) => r.version_num).join() !== head) throw new Error(`${what} did not end at head ${head}`);
    };
    type Side = { run: (url: string) => Promise<ProcResult>; from?: string; check?: (url: string, result: ProcResult) => Promise<void> };
    const measurements: { operation: string; max: number; mutx: Side; alembic: Side }[] = [
      {
        operation: `upgrade head (${revisions} Alembic revisions, one transaction)`,
        max: 1.1,
        mutx: { run: (url) => mutx(url, 'upgrade', 'head'), check: (url) => atHead(url, 'mutx-ops upgrade head') },
        alembic: { run: (url) => alembic(url, 'upgrade', 'head'), check: (url) => atHead(url, 'alembic upgrade head') },
      },
      ...(['current', 'heads', 'history'] as const).map((command) => ({
        operation: command,
        max: 0.5,
        mutx: { run: (url: string) => mutx(url, command), from: template, check: async (_url: string, result: ProcResult) => void (result.stdout.includes(head) || (() => { throw new Error(`mutx-ops ${command} did not print ${head}`); })()) },
        alembic: { run: (url: string) => alembic(url, command), from: template, check: async (_url: string, result: ProcResult) => void (result.stdout.includes(head) || (() => { throw new Error(`alembic ${command} did not print ${head}`); })()) },
      })),
    ];
    const once = async (side: Side, label: string) => {
      const url = await fresh(side.from);
      try {
        const result = await side.run(url);
        mustSucceed(label, result);
        await side.check?.(url, result);
        return result.seconds;
      } finally {
        await databases.drop(new URL(url).pathname.slice(1));
      }
    };
    const rows: GoalRow[] = [];
    for (const m of measurements) {
      const [mutxSamples, alembicSamples] = await alternatingRounds(rounds, () => once(m.mutx, `mutx ${m.operation}`), () => once(m.alembic, `alembic ${m.operation}`));
      const mutxSeconds = Math.min(...mutxSamples);
      const alembicSeconds = Math.min(...alembicSamples);
      log(`${m.operation}: mutx-ops ${mutxSamples.map((s) => s.toFixed(3)).join(' ')} | alembic ${alembicSamples.map((s) => s.toFixed(3)).join(' ')}`);
      rows.push({ operation: m.operation, mutxSeconds, psqlSeconds: alembicSeconds, ratio: mutxSeconds / alembicSeconds, goal: `≤ ${m.max}× alembic`, pass: mutxSeconds / alembicSeconds <= m.max, mutxSamples, psqlSamples: alembicSamples });
    }
    process.stdout.write(`\nalembic: ${revisions} revisions, best of ${rounds} (the baseline column is raw alembic)\n${formatGoalRows(rows)}\n`);
    return rows;
  } finally {
    await databases.dropAll();
    await admin.end().catch(() => {});
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function isMain(): boolean {
  const entry = process.argv[1];
  return entry !== undefined && import.meta.url === pathToFileURL(path.resolve(entry)).href;
}

if (isMain()) {
  const args = process.argv.slice(2);
  const value = (flag: string) => (args.includes(flag) ? Number(args[args.indexOf(flag) + 1]) : undefined);
  benchAlembic({ revisions: value('--revisions'), rounds: value('--rounds') }).then(
    () => undefined,
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
