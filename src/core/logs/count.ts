import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { MutxError } from '../errors';
import { compileFilter, DEFAULT_FILTER } from './filter';
import { assertRegularLogFile } from './plainFile';
import { LineScanner } from './scanner';
import type { CountMatchesOptions, CountResult, LogSource } from './types';
import { parseLogSource } from './source';

const DEFAULT_COUNT_CHUNK = 1024 * 1024;

/**
 * Counts lines and matching lines of a whole file (like `wc -l` and `grep -ic FILTER`;
 * a last line without a newline counts), reading it in chunks in bounded memory. A
 * command source is run to its end and its stdout+stderr counted.
 */
export async function countMatches(
  source: LogSource | string,
  filter: string = DEFAULT_FILTER,
  options: CountMatchesOptions = {},
): Promise<CountResult> {
  const src = typeof source === 'string' ? parseLogSource(source) : source;
  const matcher = compileFilter(filter);
  const scanner = new LineScanner({ matcher, maxLineBytes: options.maxLineBytes });
  const started = performance.now();
  let bytes: number;
  if (src.kind === 'file') {
    bytes = await countFile(src.path, scanner, options);
  } else {
    // stdout and stderr are split into lines separately, counted together.
    const stderrScanner = new LineScanner({ matcher, maxLineBytes: options.maxLineBytes, counters: scanner.counters });
    bytes = await countCommand(src, scanner, stderrScanner, options);
    stderrScanner.flush();
  }
  scanner.flush();
  const c = scanner.counters;
  return { lines: c.lines, matched: c.matched, bytes, truncatedLines: c.truncated, elapsedMs: performance.now() - started };
}

async function countFile(file: string, scanner: LineScanner, options: CountMatchesOptions): Promise<number> {
  const resolved = path.resolve(options.cwd ?? process.cwd(), file);
  let handle: fs.FileHandle;
  await assertRegularLogFile(resolved, file);
  try {
    handle = await fs.open(resolved, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new MutxError('usage', `${file}: cannot read log file: ${code}`, {
      hint: code === 'ENOENT' ? 'check the path (relative paths start at the current directory)' : undefined,
      cause: error,
    });
  }
  // Two buffers: the next read runs (in libuv's thread pool) while this chunk is scanned.
  const size = Math.max(4096, options.chunkBytes ?? DEFAULT_COUNT_CHUNK);
  const buffers = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)] as const;
  let which: 0 | 1 = 0;
  let position = 0;
  let pending: Promise<{ bytesRead: number }> = handle.read(buffers[0], 0, size, 0);
  try {
    for (;;) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) break;
      const buf = buffers[which];
      position += bytesRead;
      which = which === 0 ? 1 : 0;
      pending = handle.read(buffers[which], 0, size, position);
      options.signal?.throwIfAborted();
      scanner.push(bytesRead === size ? buf : buf.subarray(0, bytesRead));
    }
    return position;
  } finally {
    await pending.catch(() => undefined);
    await handle.close();
  }
}

async function countCommand(
  src: Extract<LogSource, { kind: 'command' }>,
  stdoutScanner: LineScanner,
  stderrScanner: LineScanner,
  options: CountMatchesOptions,
): Promise<number> {
  let bytes = 0;
  const sub = execa(src.command, src.args, {
    cwd: options.cwd,
    env: src.env,
    stdin: 'ignore',
    buffer: false,
    reject: false,
    cancelSignal: options.signal,
    forceKillAfterDelay: 2000,
  });
  sub.stdout?.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    stdoutScanner.push(chunk);
  });
  sub.stderr?.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    stderrScanner.push(chunk);
  });
  const result = await sub;
  options.signal?.throwIfAborted();
  if (result.failed && result.exitCode === undefined) {
    throw new MutxError('usage', `cannot run ${src.command}: ${(result.shortMessage ?? 'failed to start').split('\n')[0]}`, { cause: result });
  }
  return bytes;
}
