import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { processAlive } from '../core/audit';
import { ensurePrivateDir, type ProjectSettings } from '../core/config';
import { MutxError } from '../core/errors';
import { runsDir } from './state';

/**
 * A run is owned by one live process: `runs/<id>.lock` holds the owner's pid, the kernel's start
 * time of that process (so a reused pid is not mistaken for the owner) and who it is. The file is
 * written privately, then hard-linked into place — link() fails when the lock exists, so exactly
 * one process wins, and nobody ever reads a half-written lock. A lock whose process is gone (kill
 * -9, crash) is stale and taken over.
 */
export interface RunOwner {
  pid: number;
  /** /proc/<pid>/stat starttime (clock ticks since boot); absent where there is no /proc. */
  start?: string;
  operator: string;
  host: string;
  since: string;
}

export interface RunClaim {
  release(): void;
}

/** An unreadable lock younger than this may be one being replaced: not yet stale. */
const STALE_UNREADABLE_MS = 2_000;

export function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function ownerAlive(owner: RunOwner): boolean {
  if (!processAlive(owner.pid)) return false;
  const start = processStartTime(owner.pid);
  return !(owner.start && start && owner.start !== start);
}

function readOwner(file: string): RunOwner | undefined {
  try {
    const owner = JSON.parse(fs.readFileSync(file, 'utf8')) as RunOwner;
    return Number.isInteger(owner?.pid) ? owner : undefined;
  } catch {
    return undefined;
  }
}

export function runLockPath(settings: ProjectSettings, runId: string): string {
  return path.join(runsDir(settings), `${runId}.lock`);
}

/** Who owns a run right now (a live process holding its lock), if anyone. */
export function runOwner(settings: ProjectSettings, runId: string): RunOwner | undefined {
  const owner = readOwner(runLockPath(settings, runId));
  return owner && ownerAlive(owner) ? owner : undefined;
}

export function claimRun(settings: ProjectSettings, runId: string, operator: string): RunClaim {
  const dir = runsDir(settings);
  ensurePrivateDir(dir);
  const file = runLockPath(settings, runId);
  const me: RunOwner = { pid: process.pid, start: processStartTime(process.pid), operator, host: os.hostname(), since: new Date().toISOString() };
  const tmp = path.join(dir, `.${runId}.lock.${crypto.randomBytes(8).toString('hex')}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(me), { mode: 0o600, flag: 'wx' });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        fs.linkSync(tmp, file);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const owner = readOwner(file);
      const stale = owner ? !ownerAlive(owner) : olderThan(file, STALE_UNREADABLE_MS);
      if (!stale || attempt >= 3) {
        const who = owner ? `process ${owner.pid} (${owner.operator}@${owner.host}, since ${owner.since})` : 'another process (its lock file is being written)';
        throw new MutxError('lock', `run ${runId} is being run by ${who}: a run is owned by one process at a time`, {
          hint: owner ? `wait for it to finish or pause, then resume; if that process is stuck, end it (kill ${owner.pid}) and resume again` : 'try again in a moment',
          details: { owner },
        });
      }
      breakStale(file);
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  let released = false;
  return {
    release: () => {
      if (released) return;
      released = true;
      // Only our own lock: never one a later owner took over after a (wrongly judged) stale break.
      if (readOwner(file)?.pid === process.pid) fs.rmSync(file, { force: true });
    },
  };
}

/** Moves a stale lock aside under a private name (so a lock re-created meanwhile is never deleted), then removes it. */
function breakStale(file: string): void {
  const aside = `${file}.${crypto.randomBytes(8).toString('hex')}.stale`;
  let before: fs.Stats;
  try {
    before = fs.statSync(file);
    fs.renameSync(file, aside);
  } catch {
    return;
  }
  const moved = fs.statSync(aside);
  if (moved.ino !== before.ino) {
    try {
      fs.linkSync(aside, file);
    } catch {
      // A third process holds it now.
    }
  }
  fs.rmSync(aside, { force: true });
}

function olderThan(file: string, ms: number): boolean {
  try {
    return Date.now() - fs.statSync(file).mtimeMs > ms;
  } catch {
    return true;
  }
}
