/**
 * Benchmark of the log core.
 *
 *   node --import tsx bench/logs.ts [--size-mb 1024] [--follow-seconds 30] [--rate 50000] [--rotate-every 10]
 *
 * 1. count: `countMatches(file, 'error')` vs `grep -ic error file` on a generated app log
 *    (~1% error lines), best of 2 runs each, in the same run; the Node side runs in a child
 *    process so its peak RSS is its own.
 * 2. follow: a writer child appends numbered lines at `rate` lines/s (renaming the file
 *    away every `rotateEvery` s, like logrotate), while a follower child runs `followLog`;
 *    every line number must be seen exactly once, and matched iff it is an error line.
 *
 * The same file runs the children: `--child-count`, `--child-writer`, `--child-follow`.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { countMatches, followLog } from '../src/core/logs';

const GENERATOR_VERSION = 1;
const THIS_FILE = fileURLToPath(import.meta.url);
const MB = 1024 * 1024;

export interface BenchLogsOptions {
  /** Size of the generated log for the count benchmark. Default 1024. */
  sizeMB?: number;
  /** Length of the follow benchmark; 0 skips it. Default 30. */
  followSeconds?: number;
  /** Lines per second written during the follow benchmark. Default 50 000. */
  rate?: number;
  /** Rename the followed file away every N seconds (0: never). Default 10. */
  rotateEverySec?: number;
  /** Where the generated log is kept (and reused). Default `$TMPDIR/mutx-ops-bench-logs`. */
  dir?: string;
  /** Runs of each counter (at least 2); the best is kept. Default 3. */
  runs?: number;
  /** Print the table. Default true when run directly, false otherwise. */
  print?: boolean;
}

export interface CountSide {
  bestMs: number;
  mbPerSec: number;
  matched: number;
  runsMs: number[];
}

export interface BenchLogsResult {
  file: string;
  sizeBytes: number;
  expected: { lines: number; matched: number };
  count: {
    node: CountSide & { lines: number; peakRssMB: number; baselineRssMB: number };
    grep: CountSide | null;
    /** node throughput / grep throughput (goal ≥ 0.5). */
    ratio: number | null;
    correct: boolean;
  };
  follow: FollowResult | null;
}

export interface FollowResult {
  seconds: number;
  rate: number;
  written: number;
  expectedMatched: number;
  seen: number;
  matched: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  wrongMatchFlag: number;
  rotationsWritten: number;
  rotationsSeen: number;
  /** From the writer's last line to the follower having read everything. */
  catchUpMs: number;
  latencyMs: { p50: number; p99: number; max: number };
  /** CPU time of the follower process while following, as % of one core. */
  cpuPercent: number;
  peakRssMB: number;
  baselineRssMB: number;
  ok: boolean;
}

export async function benchLogs(opts: BenchLogsOptions = {}): Promise<BenchLogsResult> {
  const sizeMB = opts.sizeMB ?? 1024;
  const followSeconds = opts.followSeconds ?? 30;
  const rate = opts.rate ?? 50_000;
  const rotateEverySec = opts.rotateEverySec ?? 10;
  const runs = Math.max(2, opts.runs ?? 3);
  const dir = opts.dir ?? path.join(os.tmpdir(), 'mutx-ops-bench-logs');
  const print = opts.print ?? false;
  const log = (line: string) => {
    if (print) console.log(line);
  };
  fs.mkdirSync(dir, { recursive: true });

  const { file, meta, generatedMs } = generateIfNeeded(dir, sizeMB);
  log(
    generatedMs === null
      ? `reusing ${file} (${(meta.bytes / MB).toFixed(0)} MB)`
      : `generated ${file} (${(meta.bytes / MB).toFixed(0)} MB) in ${(generatedMs / 1000).toFixed(1)} s`,
  );

  // grep first: it also warms the page cache for both.
  const grep = runGrep(file, runs, meta.bytes);
  const child = await runNode(['--child-count', file, String(runs)]);
  const counted = JSON.parse(child) as { runsMs: number[]; lines: number; matched: number; peakRssKB: number; baselineRssKB: number };
  const nodeBest = Math.min(...counted.runsMs);
  const node = {
    bestMs: nodeBest,
    mbPerSec: meta.bytes / MB / (nodeBest / 1000),
    matched: counted.matched,
    lines: counted.lines,
    runsMs: counted.runsMs,
    peakRssMB: counted.peakRssKB / 1024,
    baselineRssMB: counted.baselineRssKB / 1024,
  };
  const correct =
    node.lines === meta.lines && node.matched === meta.matched && (grep === null || grep.matched === meta.matched);
  const ratio = grep === null ? null : node.mbPerSec / grep.mbPerSec;

  let follow: FollowResult | null = null;
  if (followSeconds > 0) follow = await runFollow(dir, followSeconds, rate, rotateEverySec);

  const result: BenchLogsResult = {
    file,
    sizeBytes: meta.bytes,
    expected: { lines: meta.lines, matched: meta.matched },
    count: { node, grep, ratio, correct },
    follow,
  };
  if (print) printTable(result);
  return result;
}

// ---- the generated log ---------------------------------------------------------------

interface LogMeta {
  version: number;
  bytes: number;
  lines: number;
  matched: number;
}

function generateIfNeeded(dir: string, sizeMB: number): { file: string; meta: LogMeta; generatedMs: number | null } {
  const file = path.join(dir, `app-${sizeMB}MB.log`);
  const metaFile = `${file}.json`;
  try {
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as LogMeta;
    if (meta.version === GENERATOR_VERSION && fs.statSync(file).size === meta.bytes) return { file, meta, generatedMs: null };
  } catch {
    // generate it
  }
  const started = performance.now();
  const meta = generateLog(file, sizeMB * MB);
  fs.writeFileSync(metaFile, JSON.stringify(meta));
  return { file, meta, generatedMs: performance.now() - started };
}

/** Deterministic app log of about `targetBytes`: ~1% of lines contain "ERROR" or "error". */
function generateLog(file: string, targetBytes: number): LogMeta {
  let seed = 0x9e3779b9;
  const rnd = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const hex = () => (rnd(0x7fffffff) + 0x10000000).toString(16);
  const paths = ['/api/v1/orders', '/api/v1/customers', '/api/v2/search', '/healthz', '/api/v1/invoices', '/static/app.js'];
  const methods = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'];
  const statuses = [200, 200, 200, 200, 201, 204, 304, 404];
  const fd = fs.openSync(file, 'w');
  let bytes = 0;
  let lines = 0;
  let matched = 0;
  let t = Date.UTC(2025, 2, 1, 8, 0, 0);
  try {
    while (bytes < targetBytes) {
      const parts: string[] = [];
      for (let second = 0; second < 50; second++) {
        t += 1000;
        const ts = new Date(t).toISOString().slice(0, 19);
        for (let i = 0; i < 400; i++) {
          const stamp = `${ts}.${String(i * 2 + rnd(2)).padStart(3, '0')}Z`;
          const roll = rnd(1000);
          const w = rnd(16);
          let line: string;
          if (roll < 7) {
            line = `${stamp} ERROR [worker-${w}] payment capture failed: upstream timeout after 30000ms order=${rnd(1e7)} trace=${hex()}`;
            matched++;
          } else if (roll < 10) {
            line = `${stamp} INFO  [retry-${w}] request succeeded after retry (last error: ECONNRESET) attempt=${1 + rnd(3)}`;
            matched++;
          } else if (roll < 60) {
            line = `${stamp} WARN  [db-${w}] slow query took ${200 + rnd(3000)}ms: SELECT id, status FROM orders WHERE customer_id = $1`;
          } else if (roll < 200) {
            line = `${stamp} DEBUG [db-pool] acquired connection ${rnd(20)}/20 wait=${rnd(50)}ms`;
          } else {
            const m = methods[rnd(methods.length)] ?? 'GET';
            const p = paths[rnd(paths.length)] ?? '/';
            line = `${stamp} INFO  [http-${w}] ${m} ${p}/${rnd(100000)} ${statuses[rnd(statuses.length)] ?? 200} ${rnd(800)}ms bytes=${rnd(50000)} ua="Mozilla/5.0 (X11; Linux x86_64)" trace=${hex()}`;
          }
          parts.push(line);
          lines++;
        }
      }
      const block = `${parts.join('\n')}\n`;
      bytes += fs.writeSync(fd, block);
    }
    fs.fsyncSync(fd); // so that write-back does not run during the timings
  } finally {
    fs.closeSync(fd);
  }
  return { version: GENERATOR_VERSION, bytes, lines, matched };
}

// ---- count -----------------------------------------------------------------------------

function runGrep(file: string, runs: number, bytes: number): CountSide | null {
  const runsMs: number[] = [];
  let matched = -1;
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const r = spawnSync('grep', ['-ic', 'error', file], { encoding: 'utf8' });
    const ms = performance.now() - started;
    if (r.error !== undefined || (r.status !== 0 && r.status !== 1)) return null;
    matched = Number(r.stdout.trim());
    runsMs.push(ms);
  }
  const bestMs = Math.min(...runsMs);
  return { bestMs, mbPerSec: bytes / MB / (bestMs / 1000), matched, runsMs };
}

async function childCount(file: string, runs: number): Promise<void> {
  const baselineRssKB = Math.round(process.memoryUsage().rss / 1024);
  const runsMs: number[] = [];
  let last = { lines: 0, matched: 0 };
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    last = await countMatches({ kind: 'file', path: file }, 'error');
    runsMs.push(performance.now() - started);
  }
  const peakRssKB = process.resourceUsage().maxRSS;
  process.stdout.write(`${JSON.stringify({ runsMs, lines: last.lines, matched: last.matched, peakRssKB, baselineRssKB })}\n`);
}

/** Runs this file in a child `node --import tsx` and returns its stdout. */
function runNode(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', THIS_FILE, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`child ${args[0]} exited ${code}`))));
  });
}

// ---- follow ----------------------------------------------------------------------------

const isErrorLine = (seq: number) => seq % 100 === 37;

async function runFollow(dir: string, seconds: number, rate: number, rotateEverySec: number): Promise<FollowResult> {
  const file = path.join(dir, 'follow.log');
  for (const f of [file, `${file}.1`]) fs.rmSync(f, { force: true });

  const follower = spawn(process.execPath, ['--import', 'tsx', THIS_FILE, '--child-follow', file], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const followerLines = readline.createInterface({ input: follower.stdout });
  const nextLine = (() => {
    const queue: string[] = [];
    const waiters: ((line: string) => void)[] = [];
    followerLines.on('line', (line) => {
      const waiter = waiters.shift();
      if (waiter) waiter(line);
      else queue.push(line);
    });
    return () =>
      new Promise<string>((resolve) => {
        const line = queue.shift();
        if (line !== undefined) resolve(line);
        else waiters.push(resolve);
      });
  })();
  const ready = await nextLine();
  if (ready !== 'ready') throw new Error(`follower said ${ready}`);

  const writerOut = await runNode(['--child-writer', file, String(rate), String(seconds), String(rotateEverySec)]);
  const writer = JSON.parse(writerOut) as { written: number; matched: number; rotations: number };
  follower.stdin.write(`done ${writer.written}\n`);
  const report = JSON.parse(await nextLine()) as Omit<FollowResult, 'seconds' | 'rate' | 'written' | 'expectedMatched' | 'rotationsWritten' | 'ok'>;
  follower.stdin.end();
  await new Promise((resolve) => follower.on('close', resolve));
  for (const f of [file, `${file}.1`]) fs.rmSync(f, { force: true });

  const ok =
    report.seen === writer.written &&
    report.lost === 0 &&
    report.duplicated === 0 &&
    report.wrongMatchFlag === 0 &&
    report.matched === writer.matched;
  return {
    seconds,
    rate,
    written: writer.written,
    expectedMatched: writer.matched,
    rotationsWritten: writer.rotations,
    ...report,
    ok,
  };
}

async function childWriter(file: string, rate: number, seconds: number, rotateEverySec: number): Promise<void> {
  let fd = fs.openSync(file, 'a');
  let written = 0;
  let matched = 0;
  let rotations = 0;
  const started = Date.now();
  let nextRotation = rotateEverySec > 0 ? started + rotateEverySec * 1000 : Number.POSITIVE_INFINITY;
  const total = rate * seconds;
  while (written < total) {
    const now = Date.now();
    if (now >= nextRotation) {
      // logrotate "create": rename away, create a new file, switch to it.
      fs.renameSync(file, `${file}.1`);
      const old = fd;
      fd = fs.openSync(file, 'a');
      fs.closeSync(old);
      rotations++;
      nextRotation += rotateEverySec * 1000;
    }
    const due = Math.min(total, Math.floor(((now - started) / 1000) * rate));
    if (due > written) {
      const parts: string[] = [];
      const stamp = new Date(now).toISOString();
      for (; written < due; written++) {
        const error = isErrorLine(written);
        if (error) matched++;
        parts.push(
          `${stamp} ${error ? 'ERROR' : 'INFO '} [bench] seq=${written} t=${now} ${error ? 'job failed: deadlock detected' : 'request served in 12ms status=200 path=/api/v1/items'}\n`,
        );
      }
      fs.writeSync(fd, parts.join(''));
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  fs.closeSync(fd);
  process.stdout.write(`${JSON.stringify({ written, matched, rotations })}\n`);
}

async function childFollow(file: string): Promise<void> {
  let seen = new Uint8Array(1 << 20);
  let seenCount = 0;
  let matched = 0;
  let duplicated = 0;
  let outOfOrder = 0;
  let wrongMatchFlag = 0;
  let lastSeq = -1;
  let rotationsSeen = 0;
  const latencies = new Uint32Array(1 << 16); // histogram in ms, capped
  let readyResolve: () => void = () => {};
  const isReady = new Promise<void>((resolve) => (readyResolve = resolve));
  const baselineRssKB = Math.round(process.memoryUsage().rss / 1024);

  const follower = followLog({
    source: { kind: 'file', path: file },
    filter: 'error',
    emitAll: true,
    statsIntervalMs: 0,
    rotationGraceMs: 3000,
    onEvent: (e) => {
      if (e.type === 'waiting') readyResolve();
      else if (e.type === 'rotated') rotationsSeen++;
      else if (e.type === 'line') {
        const at = e.text.indexOf(' seq=');
        const seq = Number(e.text.slice(at + 5, e.text.indexOf(' ', at + 5)));
        const t = Number(e.text.slice(e.text.indexOf(' t=') + 3, e.text.indexOf(' ', e.text.indexOf(' t=') + 3)));
        if (seq >= seen.length) {
          const bigger = new Uint8Array(Math.max(seen.length * 2, seq + 1));
          bigger.set(seen);
          seen = bigger;
        }
        if (seen[seq] === 1) duplicated++;
        else {
          seen[seq] = 1;
          seenCount++;
        }
        if (seq < lastSeq) outOfOrder++;
        lastSeq = seq;
        if (e.matched) matched++;
        if (e.matched !== isErrorLine(seq)) wrongMatchFlag++;
        const latency = Math.min(latencies.length - 1, Math.max(0, Date.now() - t));
        latencies[latency] = (latencies[latency] ?? 0) + 1;
      }
    },
  });
  await isReady;
  process.stdout.write('ready\n');
  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();

  const input = readline.createInterface({ input: process.stdin });
  const expected = await new Promise<number>((resolve) => {
    input.on('line', (line) => {
      const m = /^done (\d+)$/.exec(line);
      if (m) resolve(Number(m[1]));
    });
  });
  const started = performance.now();
  const deadline = Date.now() + 30_000;
  while (follower.stats().totalLines < expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const catchUpMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuStart);
  const cpuPercent = ((cpu.user + cpu.system) / 1000 / (performance.now() - wallStart)) * 100;
  const summary = await follower.stop();
  input.close();

  let lost = 0;
  for (let i = 0; i < expected; i++) if (seen[i] !== 1) lost++;
  const percentile = (p: number) => {
    const total = latencies.reduce((a, b) => a + b, 0);
    let acc = 0;
    for (let ms = 0; ms < latencies.length; ms++) {
      acc += latencies[ms] ?? 0;
      if (acc >= total * p) return ms;
    }
    return latencies.length - 1;
  };
  let max = 0;
  latencies.forEach((n, ms) => {
    if (n > 0) max = ms;
  });
  process.stdout.write(
    `${JSON.stringify({
      seen: seenCount,
      totalLines: summary.stats.totalLines,
      matched,
      lost,
      duplicated,
      outOfOrder,
      wrongMatchFlag,
      rotationsSeen,
      catchUpMs: Math.round(catchUpMs),
      latencyMs: { p50: percentile(0.5), p99: percentile(0.99), max },
      cpuPercent: Math.round(cpuPercent * 10) / 10,
      peakRssMB: process.resourceUsage().maxRSS / 1024,
      baselineRssMB: baselineRssKB / 1024,
    })}\n`,
  );
}

// ---- output ----------------------------------------------------------------------------

function printTable(r: BenchLogsResult): void {
  const f1 = (n: number) => n.toFixed(1);
  const rows: string[][] = [
    ['count', 'best s', 'MB/s', 'matched', 'peak RSS MB'],
    [
      'countMatches',
      (r.count.node.bestMs / 1000).toFixed(3),
      f1(r.count.node.mbPerSec),
      String(r.count.node.matched),
      `${f1(r.count.node.peakRssMB)} (idle ${f1(r.count.node.baselineRssMB)})`,
    ],
  ];
  if (r.count.grep) {
    rows.push(['grep -ic error', (r.count.grep.bestMs / 1000).toFixed(3), f1(r.count.grep.mbPerSec), String(r.count.grep.matched), '']);
  }
  console.log('');
  console.log(`log: ${(r.sizeBytes / MB).toFixed(0)} MB, ${r.expected.lines} lines, ${r.expected.matched} error lines`);
  for (const row of rows) console.log(row.map((c, i) => (i === 0 ? c.padEnd(16) : c.padStart(12))).join(' '));
  console.log(
    `ratio node/grep: ${r.count.ratio === null ? 'n/a (no grep)' : r.count.ratio.toFixed(2)} (goal ≥ 0.5); counts ${r.count.correct ? 'correct' : 'WRONG'}`,
  );
  const f = r.follow;
  if (f) {
    console.log('');
    console.log(
      `follow: ${f.written} lines at ${f.rate}/s for ${f.seconds} s, ${f.rotationsWritten} rename rotations (seen ${f.rotationsSeen})`,
    );
    console.log(
      `  seen ${f.seen}, lost ${f.lost}, duplicated ${f.duplicated}, out of order ${f.outOfOrder}, matched ${f.matched}/${f.expectedMatched}, wrong match flag ${f.wrongMatchFlag}`,
    );
    console.log(
      `  latency p50 ${f.latencyMs.p50} ms, p99 ${f.latencyMs.p99} ms, max ${f.latencyMs.max} ms; caught up ${f.catchUpMs} ms after the writer stopped`,
    );
    console.log(
      `  follower CPU ${f1(f.cpuPercent)}% of a core, peak RSS ${f1(f.peakRssMB)} MB (idle ${f1(f.baselineRssMB)} MB) → ${f.ok ? 'OK' : 'FAILED'}`,
    );
  }
}

// ---- entry -----------------------------------------------------------------------------

function flag(args: string[], name: string): number | undefined {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : undefined;
}

async function main(args: string[]): Promise<void> {
  const [mode, a1, a2, a3, a4] = args;
  if (mode === '--child-count') return childCount(a1 ?? '', Number(a2 ?? 2));
  if (mode === '--child-writer') return childWriter(a1 ?? '', Number(a2), Number(a3), Number(a4));
  if (mode === '--child-follow') return childFollow(a1 ?? '');
  const result = await benchLogs({
    sizeMB: flag(args, '--size-mb'),
    followSeconds: flag(args, '--follow-seconds'),
    rate: flag(args, '--rate'),
    rotateEverySec: flag(args, '--rotate-every'),
    print: true,
  });
  const failed = !result.count.correct || (result.follow !== null && !result.follow.ok);
  if (failed) process.exitCode = 1;
}

if (process.argv[1] !== undefined && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
