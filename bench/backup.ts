/**
 * Backup/restore overhead of mutx-ops against the raw PostgreSQL tools.
 *
 *   npm run -s build && node --import tsx bench/backup.ts            # scale 70 (about 1 GB)
 *   MUTX_BENCH_SCALE=10 node --import tsx bench/backup.ts            # quicker
 *   MUTX_BENCH_OVER_EXISTING=1 …                                     # also restore over an existing database
 *
 * Creates a pgbench database (`pgbench -i -s SCALE -q`, or generated rows when pgbench is
 * missing), then times — in the same run, alternating which goes first, best of 2 —
 *   `mutx-ops backup` (the built CLI)      vs  `pg_dump -Fc -f FILE`          (same disk)
 *   `mutx-ops restore FILE --into NEW`     vs  CREATE DATABASE + `pg_restore --clean --if-exists --single-transaction -d NEW FILE`
 * and the peak RSS of the mutx-ops process. Goals: ≤ 1.03× raw for both; RSS under 150 MB.
 * Every bench database is dropped at the end.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execa } from 'execa';
import pg from 'pg';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(ROOT, 'dist/mutx-ops.js');
const ADMIN_URL = process.env.MUTX_TEST_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export interface BenchBackupResult {
  scale: number;
  databaseBytes: number;
  archiveBytes: number;
  backup: { mutxSeconds: number; rawSeconds: number; ratio: number; runs: { mutx: number[]; raw: number[] } };
  restore: { mutxSeconds: number; rawSeconds: number; ratio: number; runs: { mutx: number[]; raw: number[] } };
  /** With `overExisting`: restore over the (unchanged) source itself, no safety backup — mutx-ops empties and reloads in one transaction (pg_restore -f - | psql), raw is pg_restore --clean --if-exists --single-transaction. */
  restoreOverExisting?: { mutxSeconds: number; rawSeconds: number; ratio: number; runs: { mutx: number[]; raw: number[] } };
  peakRssMB: number;
  rssMethod: '/usr/bin/time' | '/proc VmHWM';
  goals: { backupRatio: boolean; restoreRatio: boolean; rss: boolean };
}

function urlFor(database: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

async function admin(sql: string, database = 'postgres'): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: urlFor(database) });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

/** libpq environment for the raw tools (the same way mutx-ops passes it: never a URL in argv). */
function libpqEnv(database: string): Record<string, string> {
  const url = new URL(ADMIN_URL);
  return {
    PGHOST: url.hostname || '127.0.0.1',
    PGPORT: url.port || '5432',
    PGUSER: decodeURIComponent(url.username) || 'postgres',
    ...(url.password ? { PGPASSWORD: decodeURIComponent(url.password) } : {}),
    PGDATABASE: database,
  };
}

function findBinary(name: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(path.delimiter), '/usr/lib/postgresql/15/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/17/bin']) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return undefined;
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await fn();
  return (performance.now() - started) / 1000;
}

/** Runs the built CLI; returns its peak RSS in kB (from /usr/bin/time, else by polling VmHWM). */
async function runMutx(args: string[], cwd: string): Promise<number> {
  const gnuTime = fs.existsSync('/usr/bin/time');
  const env = { MUTX_OPERATOR: 'bench', MUTX_OPS_PREFS_DIR: path.join(cwd, '.prefs') };
  if (gnuTime) {
    const result = await execa('/usr/bin/time', ['-f', 'MAXRSS=%M', process.execPath, BIN, ...args], { cwd, env, reject: false });
    if (result.exitCode !== 0) throw new Error(`mutx-ops ${args.join(' ')} failed (${result.exitCode}): ${String(result.stderr).slice(-2000)}`);
    const match = /MAXRSS=(\d+)/.exec(String(result.stderr));
    return match ? Number(match[1]) : 0;
  }
  const child = execa(process.execPath, [BIN, ...args], { cwd, env, reject: false });
  let peak = 0;
  const poll = setInterval(() => {
    try {
      const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const match = /VmHWM:\s+(\d+) kB/.exec(status);
      if (match) peak = Math.max(peak, Number(match[1]));
    } catch {
      // exited
    }
  }, 50);
  const result = await child;
  clearInterval(poll);
  if (result.exitCode !== 0) throw new Error(`mutx-ops ${args.join(' ')} failed (${result.exitCode}): ${String(result.stderr).slice(-2000)}`);
  return peak;
}

async function createData(database: string, scale: number, log: (line: string) => void): Promise<void> {
  const pgbench = findBinary('pgbench');
  if (pgbench) {
    log(`pgbench -i -s ${scale} -q ${database} …`);
    await execa(pgbench, ['-i', '-s', String(scale), '-q'], { env: { ...process.env, ...libpqEnv(database) }, stdout: 'ignore', stderr: 'ignore' });
    return;
  }
  log(`pgbench not found: generating ${scale * 100_000} rows …`);
  await admin(
    `CREATE TABLE accounts (aid int PRIMARY KEY, bid int NOT NULL, abalance int NOT NULL, filler char(84));
     INSERT INTO accounts SELECT g, g / 100000, 0, md5(g::text) FROM generate_series(1, ${scale * 100_000}) g;
     VACUUM ANALYZE accounts;`,
    database,
  );
}

export async function benchBackup(opts: { scale?: number; overExisting?: boolean; log?: (line: string) => void } = {}): Promise<BenchBackupResult> {
  const scale = opts.scale ?? (Number(process.env.MUTX_BENCH_SCALE) || 70);
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run npm run -s build first`);
  const pgDump = findBinary('pg_dump')!;
  const pgRestore = findBinary('pg_restore')!;
  const tag = crypto.randomBytes(3).toString('hex');
  const source = `mutx_bench_${tag}`;
  const created: string[] = [];
  // Both sides write to the same disk: the project's backups folder and the raw dumps share one parent.
  const work = fs.mkdtempSync(path.join(process.env.MUTX_BENCH_DIR ?? os.tmpdir(), 'mutx-bench-'));
  const project = path.join(work, 'project');
  const rawDir = path.join(work, 'raw');
  fs.mkdirSync(project);
  fs.mkdirSync(rawDir, { mode: 0o700 });
  fs.writeFileSync(path.join(project, 'mutx-ops.yaml'), 'lock_wait_seconds: 10\n');
  const backupsDir = path.join(project, '.mutx-ops', 'backups');
  const sourceUrl = urlFor(source);
  let peakKb = 0;
  try {
    await admin(`CREATE DATABASE ${source}`);
    created.push(source);
    await createData(source, scale, log);
    await admin('CHECKPOINT');
    const databaseBytes = Number((await admin(`SELECT pg_database_size('${source}')::float8 AS n`)).rows[0].n);
    log(`source database: ${(databaseBytes / 1e9).toFixed(2)} GB`);

    // --- backup ---
    const backupRuns = { mutx: [] as number[], raw: [] as number[] };
    let archive = '';
    for (let round = 0; round < 2; round++) {
      const order = round % 2 === 0 ? (['mutx', 'raw'] as const) : (['raw', 'mutx'] as const);
      for (const who of order) {
        await admin('CHECKPOINT');
        if (who === 'mutx') {
          for (const name of fs.existsSync(backupsDir) ? fs.readdirSync(backupsDir) : []) fs.rmSync(path.join(backupsDir, name), { recursive: true, force: true });
          let rss = 0;
          const seconds = await timed(async () => {
            rss = await runMutx(['--database-url', sourceUrl, 'backup'], project);
          });
          peakKb = Math.max(peakKb, rss);
          backupRuns.mutx.push(seconds);
          archive = path.join(backupsDir, fs.readdirSync(backupsDir).find((name) => name.endsWith('.dump'))!);
          log(`backup  mutx-ops   ${seconds.toFixed(2)} s  (peak RSS ${(rss / 1024).toFixed(0)} MB)`);
        } else {
          const out = path.join(rawDir, 'raw.dump');
          fs.rmSync(out, { force: true });
          const seconds = await timed(async () => {
            await execa(pgDump, ['-Fc', '-f', out], { env: { ...process.env, ...libpqEnv(source) } });
          });
          backupRuns.raw.push(seconds);
          log(`backup  pg_dump    ${seconds.toFixed(2)} s`);
        }
      }
    }
    fs.rmSync(path.join(rawDir, 'raw.dump'), { force: true });
    const archiveBytes = fs.statSync(archive).size;

    // --- restore (into fresh databases, the same archive for both) ---
    const restoreRuns = { mutx: [] as number[], raw: [] as number[] };
    let n = 0;
    for (let round = 0; round < 2; round++) {
      const order = round % 2 === 0 ? (['mutx', 'raw'] as const) : (['raw', 'mutx'] as const);
      for (const who of order) {
        const target = `mutx_bench_${tag}_r${n++}`;
        created.push(target);
        await admin('CHECKPOINT');
        if (who === 'mutx') {
          let rss = 0;
          const seconds = await timed(async () => {
            rss = await runMutx(['--database-url', sourceUrl, 'restore', archive, '--into', target, '--yes'], project);
          });
          peakKb = Math.max(peakKb, rss);
          restoreRuns.mutx.push(seconds);
          log(`restore mutx-ops   ${seconds.toFixed(2)} s  (peak RSS ${(rss / 1024).toFixed(0)} MB)`);
        } else {
          const seconds = await timed(async () => {
            await admin(`CREATE DATABASE ${target} TEMPLATE template0`);
            await execa(pgRestore, ['--clean', '--if-exists', '--single-transaction', '--no-password', `--dbname=${target}`, archive], { env: { ...process.env, ...libpqEnv(target) } });
          });
          restoreRuns.raw.push(seconds);
          log(`restore pg_restore ${seconds.toFixed(2)} s`);
        }
        await admin(`DROP DATABASE IF EXISTS ${target} WITH (FORCE)`);
      }
    }

    const best = (values: number[]) => Math.min(...values);
    let restoreOverExisting: BenchBackupResult['restoreOverExisting'];
    if (opts.overExisting ?? process.env.MUTX_BENCH_OVER_EXISTING === '1') {
      const runs = { mutx: [] as number[], raw: [] as number[] };
      for (let round = 0; round < 2; round++) {
        const order = round % 2 === 0 ? (['mutx', 'raw'] as const) : (['raw', 'mutx'] as const);
        for (const who of order) {
          await admin('CHECKPOINT');
          if (who === 'mutx') {
            let rss = 0;
            const seconds = await timed(async () => {
              rss = await runMutx(['--database-url', sourceUrl, 'restore', archive, '--yes', '--no-safety-backup'], project);
            });
            peakKb = Math.max(peakKb, rss);
            runs.mutx.push(seconds);
            log(`restore over existing mutx-ops   ${seconds.toFixed(2)} s  (peak RSS ${(rss / 1024).toFixed(0)} MB)`);
          } else {
            const seconds = await timed(async () => {
              await execa(pgRestore, ['--clean', '--if-exists', '--single-transaction', '--no-password', `--dbname=${source}`, archive], { env: { ...process.env, ...libpqEnv(source) } });
            });
            runs.raw.push(seconds);
            log(`restore over existing pg_restore ${seconds.toFixed(2)} s`);
          }
        }
      }
      restoreOverExisting = { mutxSeconds: best(runs.mutx), rawSeconds: best(runs.raw), ratio: best(runs.mutx) / best(runs.raw), runs };
    }
    const backup = { mutxSeconds: best(backupRuns.mutx), rawSeconds: best(backupRuns.raw), ratio: best(backupRuns.mutx) / best(backupRuns.raw), runs: backupRuns };
    const restore = { mutxSeconds: best(restoreRuns.mutx), rawSeconds: best(restoreRuns.raw), ratio: best(restoreRuns.mutx) / best(restoreRuns.raw), runs: restoreRuns };
    const peakRssMB = peakKb / 1024;
    const result: BenchBackupResult = {
      scale,
      databaseBytes,
      archiveBytes,
      backup,
      restore,
      ...(restoreOverExisting ? { restoreOverExisting } : {}),
      peakRssMB,
      rssMethod: fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : '/proc VmHWM',
      goals: { backupRatio: backup.ratio <= 1.03, restoreRatio: restore.ratio <= 1.03, rss: peakRssMB < 150 },
    };
    log('');
    log(`scale ${scale}: database ${(databaseBytes / 1e9).toFixed(2)} GB, archive ${(archiveBytes / 1e6).toFixed(1)} MB (best of 2, alternating order)`);
    log(`backup : mutx-ops ${backup.mutxSeconds.toFixed(2)} s vs pg_dump -Fc ${backup.rawSeconds.toFixed(2)} s → ${backup.ratio.toFixed(3)}× (goal ≤ 1.03×) ${result.goals.backupRatio ? 'OK' : 'MISSED'}`);
    log(`restore: mutx-ops ${restore.mutxSeconds.toFixed(2)} s vs pg_restore ${restore.rawSeconds.toFixed(2)} s → ${restore.ratio.toFixed(3)}× (goal ≤ 1.03×) ${result.goals.restoreRatio ? 'OK' : 'MISSED'}`);
    if (restoreOverExisting) log(`restore over the existing database (informational): mutx-ops ${restoreOverExisting.mutxSeconds.toFixed(2)} s vs pg_restore --clean ${restoreOverExisting.rawSeconds.toFixed(2)} s → ${restoreOverExisting.ratio.toFixed(3)}×`);
    log(`peak RSS of mutx-ops: ${peakRssMB.toFixed(0)} MB (${result.rssMethod}; goal < 150 MB) ${result.goals.rss ? 'OK' : 'MISSED'}`);
    return result;
  } finally {
    for (const database of created.reverse()) await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => {});
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  benchBackup().then(
    (result) => process.stdout.write(`${JSON.stringify(result, null, 2)}\n`),
    (error: unknown) => {
      process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
