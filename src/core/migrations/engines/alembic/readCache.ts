import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../../statePaths';
import type { AlembicRevision, Unreadable } from './revisionFile';

declare const MUTX_OPS_VERSION: string | undefined;

/** Bumped whenever the static reader's output changes shape or meaning: an older cache is ignored. */
const READER_FORMAT = 1;
const FORMAT = `alembic-static-reader/${READER_FORMAT}/${typeof MUTX_OPS_VERSION === 'string' ? MUTX_OPS_VERSION : 'dev'}`;
export const READ_CACHE_FILE = 'alembic-read-cache.json';

type Read = AlembicRevision | Unreadable;
interface Entry {
  key: string;
  value: Read;
}

/**
 * What the static reader found in each revision file, kept in the state folder between commands.
 * An entry is used only while the file's identity is unchanged: device, inode, size, mtime and
 * ctime (every write to a file moves its ctime, which no user can set back). Reading 300 files
 * cold is ~60 ms of a 0.2 s `current`; checking them against the cache is ~5 ms.
 * Nothing depends on the cache being there: missing, unreadable, from another mutx-ops version,
 * a planted link, or malformed, it is ignored and written again. It is never created in a state
 * folder that does not exist yet (a read-only command makes no folders for it).
 */
export class RevisionReadCache {
  private readonly entries: Map<string, Entry>;
  private readonly used = new Map<string, Entry>();
  private dirty = false;

  private constructor(
    private readonly file: string | undefined,
    entries: Map<string, Entry>,
  ) {
    this.entries = entries;
  }

  static open(stateDir: string | undefined): RevisionReadCache {
    if (!stateDir) return new RevisionReadCache(undefined, new Map());
    const file = path.join(stateDir, READ_CACHE_FILE);
    return new RevisionReadCache(file, loadEntries(file));
  }

  /** The cached reading of `file` when the file is unchanged, else `read(file)` (kept unless it throws). */
  read(file: string, read: (file: string) => Read): Read {
    const key = identity(file);
    const cached = key ? this.entries.get(file) : undefined;
    if (cached && cached.key === key) {
      this.used.set(file, cached);
      return cached.value;
    }
    const value = read(file);
    if (key) {
      this.used.set(file, { key, value });
      this.dirty = true;
    }
    return value;
  }

  /** Writes what this run read (files no longer listed drop out), when anything changed. */
  save(): void {
    if (!this.file || (!this.dirty && this.used.size === this.entries.size)) return;
    if (!isOwnFolder(path.dirname(this.file))) return;
    try {
      writeFileAtomic(this.file, JSON.stringify({ format: FORMAT, entries: Object.fromEntries(this.used) }));
    } catch {
      // A cache that cannot be written (full disk, read-only folder) costs only time.
    }
  }
}

function identity(file: string): string | undefined {
  try {
    const stat = fs.statSync(file);
    // Not a regular file: the reader says what is wrong with it, every time.
    if (!stat.isFile()) return undefined;
    return `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`;
  } catch {
    return undefined;
  }
}

function isOwnFolder(dir: string): boolean {
  try {
    const stat = fs.lstatSync(dir);
    return stat.isDirectory() && (typeof process.getuid !== 'function' || stat.uid === process.getuid());
  } catch {
    return false;
  }
}

function loadEntries(file: string): Map<string, Entry> {
  let text: string;
  try {
    // O_NOFOLLOW: a link planted in the state folder is not read (and is replaced on save).
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    try {
      if (!fs.fstatSync(fd).isFile()) return new Map();
      text = fs.readFileSync(fd, 'utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return new Map();
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return new Map();
  }
  if (!isRecord(parsed) || parsed.format !== FORMAT || !isRecord(parsed.entries)) return new Map();
  const entries = new Map<string, Entry>();
  for (const [file, entry] of Object.entries(parsed.entries)) {
    if (!isRecord(entry) || typeof entry.key !== 'string' || !isRead(entry.value, file)) return new Map();
    entries.set(file, { key: entry.key, value: entry.value });
  }
  return entries;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isStrings = (value: unknown): value is string[] => Array.isArray(value) && value.every((item) => typeof item === 'string');

/** The shape the graph relies on; anything else means the cache is not one this reader wrote. */
function isRead(value: unknown, file: string): value is Read {
  if (!isRecord(value) || value.file !== file || typeof value.checksum !== 'string' || typeof value.transactional !== 'boolean') return false;
  if ('reason' in value) return typeof value.reason === 'string';
  return (
    typeof value.revision === 'string' &&
    isStrings(value.revises) &&
    isStrings(value.dependsOn) &&
    isStrings(value.branchLabels) &&
    typeof value.message === 'string' &&
    typeof value.longDoc === 'string' &&
    isRecord(value.headers) &&
    isRecord(value.headerLines) &&
    value.readBy === 'static'
  );
}
