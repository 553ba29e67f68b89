import type pg from 'pg';
import { connect, type Target } from '../connection';
import { ExitCode, MutxError } from '../errors';
import type { Operator } from '../identity';
import { findTool, runTool, describeFailure, toolEnvironment, toolVersion, type ToolVersion } from './tools';
import type { BackupFormat } from './types';

export interface ArchiveListing {
  ok: boolean;
  tocEntries: number;
  tableDataEntries: number;
  /** "Dumped by pg_dump version: …" from the archive header. */
  dumpedBy?: string;
  error?: string;
}

/** `pg_restore --list`: reads the archive's header and table of contents (no database needed). */
export async function listArchive(file: string, format: BackupFormat, signal?: AbortSignal): Promise<ArchiveListing> {
  if (format === 'plain') throw new Error('listArchive: plain dumps have no table of contents');
  const bin = findTool('pg_restore');
  let tocEntries = 0;
  let tableDataEntries = 0;
  let dumpedBy: string | undefined;
  const run = runTool(bin, ['--list', `--format=${format === 'directory' ? 'directory' : 'custom'}`, file], {
    env: toolEnvironment(),
    signal,
    stdout: 'lines',
    onStdoutLine: (line) => {
      if (!line.trim()) return;
      if (line.startsWith(';')) {
        const match = /^;\s+Dumped by pg_dump version:\s+(\S+)/.exec(line);
        if (match) dumpedBy = match[1];
        return;
      }
      tocEntries++;
      if (/^\d+; \d+ \d+ TABLE DATA /.test(line)) tableDataEntries++;
    },
  });
  const outcome = await run.done;
  if (outcome.canceled || signal?.aborted) throw cancelled('verify', file);
  if (!outcome.ok) return { ok: false, tocEntries, tableDataEntries, dumpedBy, error: describeFailure('pg_restore', outcome) };
  return { ok: true, tocEntries, tableDataEntries, dumpedBy };
}

export function cancelled(operation: string, file?: string): MutxError {
  return new MutxError(operation === 'restore' ? 'restore' : 'backup', `${operation}${file ? ` of ${file}` : ''} cancelled by the operator`, { exitCode: ExitCode.interrupted });
}

export function majorOf(version: string | undefined): number | undefined {
  if (!version) return undefined;
  const match = /^(\d+)(?:\.(\d+))?/.exec(version);
  if (!match) return undefined;
  const first = Number(match[1]);
  return first >= 10 ? first : first + Number(match[2] ?? 0) / 10;
}

/** Finds pg_restore and asks its version (started early, awaited by checkRestoreVersion). */
export function locatePgRestore(): Promise<{ bin: string; version: ToolVersion }> {
  const located = (async () => {
    const bin = findTool('pg_restore');
    return { bin, version: await toolVersion(bin, 'pg_restore') };
  })();
  located.catch(() => {});
  return located;
}

/** pg_restore must be at least as new as the pg_dump that wrote the archive. */
export async function checkRestoreVersion(dumpedBy: string | undefined, located?: Promise<{ bin: string; version: ToolVersion }>): Promise<string> {
  const { bin, version } = await (located ?? Promise.reject(new Error('locate'))).catch(async () => {
    const found = findTool('pg_restore', majorOf(dumpedBy));
    return { bin: found, version: await toolVersion(found, 'pg_restore') };
  });
  const needed = majorOf(dumpedBy);
  if (needed !== undefined && version.major < needed) {
    throw new MutxError('config', `pg_restore ${version.version} (${bin}) is older than the pg_dump ${dumpedBy} that wrote this archive`, {
      hint: `install postgresql-client-${needed} and put it first on PATH (or set MUTX_PG_BIN_DIR)`,
    });
  }
  return bin;
}

/**
 * Connects to the target's database, or — when that database does not exist (dropped in the
 * incident being handled) — to the server's maintenance database, so it can be recreated.
 */
export async function connectServer(target: Target, operator: Operator, connectTimeoutSeconds: number): Promise<{ client: pg.Client; database: string }> {
  try {
    return { client: await connect(target, { operator, connectTimeoutSeconds }), database: target.database };
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code;
    if (code !== '3D000') throw error;
    let last: unknown = error;
    for (const database of ['postgres', 'template1']) {
      if (database === target.database) continue;
      try {
        return { client: await connect({ ...target, database }, { operator, connectTimeoutSeconds }), database };
      } catch (inner) {
        last = inner;
      }
    }
    throw last;
  }
}

export { describeFailure };
