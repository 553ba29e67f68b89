/**
 * Redaction benchmark (issue 15, item 14): every string of a `--json` document goes through
 * redactSecrets, and the old regular expression was quadratic in the length of a word, so
 * `history --json` on 5,000 revisions with long messages took 49 s against 0.8 s without --json.
 *
 * 1. in process: JSON.stringify of the history document with the redacting replacer, against a
 *    plain JSON.stringify of the same data (the same-run baseline) and the old expression;
 * 2. the CLI: `history --json` against `history` on the same project, same run.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { redactSecrets } from '../src/core/connection';
import { formatTable } from './migrations';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(REPO_ROOT, 'dist/mutx-ops.js');
/** Redacting costs at most this many times a plain JSON.stringify of the same document. */
const IN_PROCESS_GOAL = 8;
/** `history --json` at most this many times `history`. */
const CLI_GOAL = 2;

interface Row {
  operation: string;
  seconds: number;
  baselineSeconds: number;
  ratio: number;
  goal: string;
  pass: boolean;
}

const oldRedact = (text: string) => text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)\S*@/gi, '$1***@');

function longMessage(n: number): string {
  // Long words are what made the old expression quadratic; a URL with a password must still be caught.
  const words = Array.from({ length: 12 }, (_, i) => `${'abcdefghij'.repeat(30)}${n}${i}`);
  return `${words.join(' ')} see postgresql://ops:hunter2@db/prod`;
}

function time(fn: () => unknown, rounds: number): number {
  let best = Infinity;
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    fn();
    best = Math.min(best, (performance.now() - started) / 1000);
  }
  return best;
}

function timedCli(args: string[], cwd: string): Promise<{ seconds: number; code: number | null; bytes: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, MUTX_OPERATOR: 'bench', MUTX_OPS_PREFS_DIR: path.join(cwd, '.prefs') }, stdio: ['ignore', 'pipe', 'ignore'] });
    let bytes = 0;
    child.stdout.on('data', (chunk: Buffer) => (bytes += chunk.length));
    child.once('error', reject);
    child.once('close', (code) => resolve({ seconds: (performance.now() - started) / 1000, code, bytes }));
  });
}

export async function benchRedact(opts: { quick?: boolean; rounds?: number } = {}): Promise<Row[]> {
  const revisions = opts.quick ? 1_000 : 5_000;
  const rounds = opts.rounds ?? 3;
  const log = (line: string) => process.stderr.write(`[redact] ${line}\n`);
  const document = { revisions: Array.from({ length: revisions }, (_, n) => ({ id: `r${String(n).padStart(11, '0')}`, message: longMessage(n), down_revision: n ? `r${String(n - 1).padStart(11, '0')}` : null })) };
  const replacer = (fn: (s: string) => string) => (_key: string, value: unknown) => (typeof value === 'string' ? fn(value) : value);
  const redacted = JSON.stringify(document, replacer(redactSecrets));
  if (redacted.includes('hunter2') || !redacted.includes('ops:***@db')) throw new Error('redactSecrets missed the password');
  const plain = time(() => JSON.stringify(document), rounds);
  const linear = time(() => JSON.stringify(document, replacer(redactSecrets)), rounds);
  const old = time(() => JSON.stringify(document, replacer(oldRedact)), 1);
  log(`${revisions} messages of ${longMessage(0).length} characters: plain ${plain.toFixed(3)} s, redacting ${linear.toFixed(3)} s, old expression ${old.toFixed(3)} s`);

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mutx-bench-redact-'));
  const rows: Row[] = [];
  try {
    const migrations = path.join(work, 'migrations');
    fs.mkdirSync(migrations);
    fs.writeFileSync(path.join(work, 'mutx-ops.yaml'), 'lock_wait_seconds: 10\n');
    for (const [n, rev] of document.revisions.entries()) {
      fs.writeFileSync(path.join(migrations, `${rev.id}_m.sql`), `-- revision: ${rev.id}\n-- revises: ${rev.down_revision ?? ''}\n-- message: ${rev.message}\n\n-- +upgrade\nSELECT ${n};\n\n-- +downgrade\nSELECT ${n};\n`);
    }
    const human: number[] = [];
    const json: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const h = await timedCli(['history'], work);
      const j = await timedCli(['--json', 'history'], work);
      if (h.code !== 0 || j.code !== 0 || j.bytes < revisions * 100) throw new Error(`history exited ${h.code} / --json ${j.code} (${j.bytes} bytes)`);
      human.push(h.seconds);
      json.push(j.seconds);
    }
    const inProcess = linear / plain;
    const cli = Math.min(...json) / Math.min(...human);
    rows.push(
      { operation: `JSON.stringify + redactSecrets, ${revisions} long messages`, seconds: linear, baselineSeconds: plain, ratio: inProcess, goal: `≤ ${IN_PROCESS_GOAL}× JSON.stringify`, pass: inProcess <= IN_PROCESS_GOAL },
      { operation: `same with the old expression (reference)`, seconds: old, baselineSeconds: plain, ratio: old / plain, goal: 'reported', pass: true },
      { operation: `history --json vs history, ${revisions} revisions`, seconds: Math.min(...json), baselineSeconds: Math.min(...human), ratio: cli, goal: `≤ ${CLI_GOAL}× history`, pass: cli <= CLI_GOAL },
    );
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  process.stdout.write(
    `${formatTable(
      ['operation', 'seconds', 'baseline s', 'ratio', 'goal', 'result'],
      rows.map((r) => [r.operation, r.seconds.toFixed(3), r.baselineSeconds.toFixed(3), `${r.ratio.toFixed(2)}×`, r.goal, r.pass ? 'PASS' : 'FAIL']),
    )}\n`,
  );
  return rows;
}
