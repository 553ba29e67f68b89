/**
 * What the interactive app writes to the terminal, and how soon it shows something.
 *
 *   node --import tsx bench/tuiRedraw.ts [--rounds 5] [--seconds 4] [--bin dist/mutx-ops.js]
 *
 * 1. start: spawn → first frame (the target header) and spawn → full home (revision, backup age,
 *    runbooks listed), median of N, against `node -e 0` spawned in the same pty in the same run.
 * 2. redraw: bytes the app writes per second to its pty (100×30) while a step runs — a command
 *    printing 10 lines a second, then a command printing nothing (spinner and clock only) — and
 *    while home sits idle (its status poll included), each over `--seconds`.
 *
 * Needs the build (npm run build) and PostgreSQL at MUTX_TEST_ADMIN_URL.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { migratedAppEnv } from './appProject';
import { Pty, sleep, stripAnsi } from './pty';
import { BIN as DEFAULT_BIN, createTestDatabase, createTestProject } from '../test/helpers/db';

export interface RedrawRow {
  operation: string;
  value: number;
  unit: string;
  baseline?: number;
  goal: string;
  pass: boolean;
}

/** Bounded redraws (issue 12): what a running step may write per second, and home at rest. */
const GOALS = { chatty: 8_000, silent: 2_000, idle: 100 };

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const RUNBOOK = `name: bench-redraw
title: Redraw bench
category: maintenance
description: Two long commands, one chatty, one silent.
steps:
  - id: chatty
    title: A command printing ten lines a second
    type: command
    command: [sh, -c, 'i=0; while [ $i -lt 400 ]; do echo "output line $i of the chatty command"; i=$((i+1)); sleep 0.1; done']
    text: Prints.
  - id: silent
    title: A command printing nothing
    type: command
    command: [sleep, "600"]
    text: Sleeps.
`;

export async function benchTuiRedraw(opts: { rounds?: number; seconds?: number; print?: boolean; quick?: boolean; /** Another build to measure (e.g. an older one, for before/after). */ bin?: string } = {}): Promise<{ rows: RedrawRow[] }> {
  const BIN = opts.bin ?? DEFAULT_BIN;
  const rounds = opts.rounds ?? (opts.quick ? 3 : 5);
  const seconds = opts.seconds ?? 4;
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run npm run build first`);
  const db = await createTestDatabase('shell_bench_redraw');
  const project = createTestProject({ settings: ['lock_wait_seconds: 10', 'default_environment: bench', 'environments:', '  bench:', '    url_env: BENCH_DATABASE_URL', ''].join('\n') });
  const rows: RedrawRow[] = [];
  try {
    fs.mkdirSync(path.join(project.dir, 'runbooks'));
    fs.writeFileSync(path.join(project.dir, 'runbooks', 'bench-redraw.yaml'), RUNBOOK);
    fs.writeFileSync(path.join(project.dir, 'runbooks', 'bench-silent.yaml'), RUNBOOK.replace('name: bench-redraw', 'name: bench-silent').replace(/ {2}- id: chatty[\s\S]*?text: Prints.\n/, ''));
    const env = await migratedAppEnv(project.dir, db.url);

    const floors: number[] = [];
    const firsts: number[] = [];
    const homes: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const t0 = performance.now();
      const floor = new Pty('node -e 0', project.dir, env);
      await floor.exited;
      floors.push((performance.now() - t0) / 1000);
      const t1 = performance.now();
      const app = new Pty(`node ${BIN}`, project.dir, env);
      firsts.push(((await app.waitFor('environment: bench')) - t1) / 1000);
      await app.waitFor('(head)');
      await app.waitFor(/verified backup|no verified backup/);
      homes.push(((await app.waitFor('bench-redraw')) - t1) / 1000);
      await app.kill();
    }
    const floor = median(floors);
    rows.push({ operation: 'spawn → first frame (target header)', value: median(firsts), unit: 's', baseline: floor, goal: 'info (node -e 0 is the floor)', pass: true });
    rows.push({ operation: 'spawn → full home (revision, backup age, runbooks)', value: median(homes), unit: 's', baseline: floor, goal: 'info (node -e 0 is the floor)', pass: true });

    const app = new Pty(`node ${BIN}`, project.dir, env);
    const window = async (): Promise<number> => {
      const before = app.bytes;
      await sleep(seconds * 1000);
      return (app.bytes - before) / seconds;
    };
    await app.waitFor('bench-redraw');
    await app.waitFor('(head)');
    await sleep(1000);
    const idle = await window();
    rows.push({ operation: `bytes/s written on home, idle (${seconds} s, status poll included)`, value: idle, unit: 'B/s', goal: `≤ ${GOALS.idle} B/s`, pass: idle <= GOALS.idle });
    app.write('/');
    await sleep(200);
    app.write('bench-redraw');
    await sleep(200);
    app.write('\r');
    await sleep(300);
    app.write('\r');
    const shown = await Promise.race([app.waitFor('Run this plan?', 20_000).then(() => 'plan'), app.waitFor('output line 5', 20_000).then(() => 'running')]);
    if (shown === 'plan') app.write('y');
    await app.waitFor('output line 5', 20_000);
    await sleep(500);
    const chatty = await window();
    rows.push({ operation: `bytes/s written while a step prints 10 lines/s (${seconds} s)`, value: chatty, unit: 'B/s', goal: `≤ ${GOALS.chatty} B/s`, pass: chatty <= GOALS.chatty });
    // Cancel the chatty step; the silent one is measured in a second run.
    await app.kill();

    const silent = new Pty(`node ${BIN}`, project.dir, env);
    await silent.waitFor('bench-silent');
    silent.write('/');
    await sleep(200);
    silent.write('bench-silent');
    await sleep(200);
    silent.write('\r');
    await sleep(300);
    silent.write('\r');
    const shown2 = await Promise.race([silent.waitFor('Run this plan?', 20_000).then(() => 'plan'), silent.waitFor('step running', 20_000).then(() => 'running')]);
    if (shown2 === 'plan') silent.write('y');
    await silent.waitFor('step running', 20_000);
    await sleep(1000);
    const before = silent.bytes;
    await sleep(seconds * 1000);
    const quiet = (silent.bytes - before) / seconds;
    rows.push({ operation: `bytes/s written while a step runs silently (${seconds} s)`, value: quiet, unit: 'B/s', goal: `≤ ${GOALS.silent} B/s`, pass: quiet <= GOALS.silent });
    if (!stripAnsi(silent.output).includes('A command printing nothing')) throw new Error('the silent step never showed');
    await silent.kill();
  } finally {
    await db.drop();
    project.cleanup();
  }
  if (opts.print ?? false) {
    for (const row of rows) {
      process.stdout.write(`${row.pass ? 'PASS' : 'FAIL'}  ${row.operation}: ${row.unit === 's' ? row.value.toFixed(3) : Math.round(row.value)} ${row.unit}${row.baseline !== undefined ? ` (node -e 0: ${row.baseline.toFixed(3)} s)` : ''} — goal ${row.goal}\n`);
    }
  }
  return { rows };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const value = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : undefined;
  };
  benchTuiRedraw({ rounds: value('--rounds'), seconds: value('--seconds'), bin: args.includes('--bin') ? path.resolve(args[args.indexOf('--bin') + 1]!) : undefined, print: true }).then(
    () => {
      process.exitCode = 0;
    },
    (error: unknown) => {
      process.stderr.write(`bench tui redraw: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
