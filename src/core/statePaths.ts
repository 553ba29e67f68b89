import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { MutxError } from './errors';

/**
 * The folders mutx-ops keeps its state in (state_dir, audit_path's folder, backups_dir) are named
 * by settings, so they can point anywhere: at /tmp, at /, at a file, at a symbolic link planted by
 * another user. mutx-ops creates the folders that do not exist (0700), and tightens an existing
 * folder only when it is inside a tree mutx-ops created (a marker file in the folder it created
 * first) and owns; it never follows a link inside that tree, and refuses a folder shared with
 * other users (world-writable, another owner) or a path that is a file.
 */
export const CREATED_MARKER = '.created-by-mutx-ops';

const myUid = () => (typeof process.getuid === 'function' ? process.getuid() : -1);

function refuse(message: string, hint: string): never {
  throw new MutxError('config', message, { hint });
}

function lstatOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ENOTDIR') refuse(`${nearestFile(p)} is a file, not a folder`, 'point state_dir / audit_path / backups_dir at a folder of your own');
    throw error;
  }
}

/** The first component of `p` that exists and is not a folder (for ENOTDIR messages). */
function nearestFile(p: string): string {
  let cur = p;
  for (;;) {
    const parent = path.dirname(cur);
    if (parent === cur) return p;
    try {
      if (!fs.statSync(parent).isDirectory()) cur = parent;
      else return cur;
    } catch {
      cur = parent;
    }
  }
}

function isMarked(dir: string): boolean {
  const stat = lstatOrUndefined(path.join(dir, CREATED_MARKER));
  return !!stat?.isFile();
}

/** The folders from `base` up to the nearest one mutx-ops created (marked), or undefined when none. */
function markedChain(base: string): string[] | undefined {
  const chain: string[] = [];
  let cur = base;
  for (;;) {
    const stat = lstatOrUndefined(cur);
    if (!stat || stat.isSymbolicLink() || !stat.isDirectory() || stat.uid !== myUid()) return undefined;
    chain.push(cur);
    if (isMarked(cur)) return chain;
    const parent = path.dirname(cur);
    if (parent === cur) return undefined;
    cur = parent;
  }
}

function checkNotShared(dir: string, stat: fs.Stats, allowRoot: boolean): void {
  if (!stat.isDirectory()) refuse(`${dir} is a file, not a folder`, 'point state_dir / audit_path / backups_dir at a folder of your own');
  if (stat.uid !== myUid() && !(allowRoot && stat.uid === 0)) {
    refuse(`${dir} belongs to another user (uid ${stat.uid}); mutx-ops keeps its state only in folders of its own user`, 'point state_dir / audit_path / backups_dir at a folder you own');
  }
  if (stat.mode & 0o002) {
    refuse(`${dir} is writable by every user (mode ${(stat.mode & 0o7777).toString(8)}): a shared folder cannot hold mutx-ops state`, 'point state_dir / audit_path / backups_dir at a private folder (e.g. the project\'s .mutx-ops)');
  }
}

/**
 * Makes `dir` a private folder for mutx-ops state: creates what is missing (0700, whatever the
 * umask), tightens it only when mutx-ops created the tree it is in, refuses links, files and shared
 * folders. `mark: false` for folders whose every entry is read as data (runs, drills, backups, the
 * audit's open markers): a state folder created on their way still gets the marker.
 */
export function ensurePrivateDir(dir: string, options: { mark?: boolean } = {}): void {
  const target = path.resolve(dir);
  const missing: string[] = [];
  let base = target;
  let stat = lstatOrUndefined(base);
  while (!stat) {
    missing.unshift(base);
    const parent = path.dirname(base);
    if (parent === base) break;
    base = parent;
    stat = lstatOrUndefined(base);
  }
  if (!stat) return; // nothing exists at all (no root folder): let the write report it
  const chain = markedChain(base);
  if (chain) {
    // A tree mutx-ops created: every folder of it is ours, none a link, none shared.
    for (const folder of chain) checkNotShared(folder, fs.lstatSync(folder), false);
    if (base === target && (stat.mode & 0o077) !== 0) fs.chmodSync(base, 0o700);
  } else if (base === target) {
    // A folder the operator made (or another program): used as it is, never chmodded.
    if (stat.isSymbolicLink()) refuse(`${base} is a symbolic link; mutx-ops does not follow links for its state folders`, 'replace the link with a folder, or point the setting at the real path');
    checkNotShared(base, stat, false);
  } else {
    // The folder that will hold the new ones: any owner's link is resolved, but it must not be shared.
    let real: fs.Stats;
    try {
      real = fs.statSync(base);
    } catch {
      refuse(`${base} is a dangling symbolic link`, 'point the setting at an existing folder');
    }
    checkNotShared(base, real, true);
  }
  missing.forEach((folder, index) => {
    try {
      fs.mkdirSync(folder, { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // Created meanwhile (another mutx-ops process): it must be a plain folder of ours.
      const now = fs.lstatSync(folder);
      if (now.isSymbolicLink()) refuse(`${folder} is a symbolic link; mutx-ops does not follow links for its state folders`, 'replace the link with a folder');
      checkNotShared(folder, now, false);
      return;
    }
    fs.chmodSync(folder, 0o700); // the umask may have taken more than mutx-ops asked for
    // The marker goes in the first folder created; `mark: false` keeps it out of the leaf itself.
    if (index === 0 && (options.mark !== false || missing.length > 1)) fs.writeFileSync(path.join(folder, CREATED_MARKER), '', { mode: 0o600, flag: 'wx' });
  });
}

/**
 * Checked when the settings are read, before any command: a state path that names a file where a
 * folder belongs (or a folder where the audit file belongs) is one clear line, not an internal error.
 */
export function checkStatePathKinds(paths: { statePath: string; auditPath: string; backupsPath: string }, file?: string): void {
  const where = file ? ` (${file})` : '';
  for (const [name, folder] of [
    ['state_dir', paths.statePath],
    ['backups_dir', paths.backupsPath],
    ['audit_path\'s folder', path.dirname(paths.auditPath)],
  ] as const) {
    const stat = lstatOrUndefined(folder);
    if (stat && !stat.isDirectory() && !stat.isSymbolicLink()) refuse(`${name} ${folder}${where} is a file, not a folder`, 'point it at a folder of your own (default: .mutx-ops in the project)');
  }
  const audit = lstatOrUndefined(paths.auditPath);
  if (audit?.isDirectory()) refuse(`audit_path ${paths.auditPath}${where} is a folder, not a file`, 'name a file, e.g. audit_path: .mutx-ops/audit.jsonl');
}

/** Opens the audit trail (or another state file) for appending, never through a link, and checks it is ours. */
export function openStateFileForAppend(file: string): number {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') refuse(`${file} is a symbolic link; mutx-ops does not write through links`, 'remove the link (keep the real file elsewhere)');
    throw error;
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) refuse(`${file} is not a regular file`, 'remove it, or point audit_path elsewhere');
    if (stat.uid !== myUid()) refuse(`${file} belongs to another user (uid ${stat.uid})`, 'point audit_path at a file of your own');
    if ((stat.mode & 0o777) !== 0o600) fs.fchmodSync(fd, 0o600);
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
  return fd;
}

/** Opens a state file for reading without following a link (a link planted in .mutx-ops/ is refused). */
export function openStateFileForRead(file: string): number {
  try {
    return fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') refuse(`${file} is a symbolic link; mutx-ops does not read its state through links`, 'remove the link');
    throw error;
  }
}

/** Reads a state file (run state, a sidecar) without following a link planted in its place. */
export function readStateFile(file: string): string {
  const fd = openStateFileForRead(file);
  try {
    return fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/** A temp file beside `file` with an unpredictable name, created exclusively (a planted link or file makes it fail, never followed). */
export function writeFileAtomic(file: string, content: string, mode = 0o600): void {
  const tmp = `${file}.${crypto.randomBytes(8).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, content, { mode, flag: 'wx' });
  try {
    if ((fs.statSync(tmp).mode & 0o777) !== mode) fs.chmodSync(tmp, mode);
    fs.renameSync(tmp, file);
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    throw error;
  }
}
