// Preloaded with `node --import` into the built CLI by the kill tests: when the process
// reaches the point named by MUTX_KILL_AT for the MUTX_KILL_NTH-th time, it sends itself
// SIGKILL. This lands a real kill -9 inside windows far too short to hit with a timer
// (between writing an audit record and updating the head marker, for instance).
import fs from 'node:fs';
import path from 'node:path';

const point = process.env.MUTX_KILL_AT;
const nth = Number(process.env.MUTX_KILL_NTH || '1');
let seen = 0;
const fdPaths = new Map();

function reached(name) {
  if (name !== point) return;
  seen++;
  if (seen === nth) process.kill(process.pid, 'SIGKILL');
}

const isAuditFile = (file) => typeof file === 'string' && file.endsWith('.jsonl');
const isOpMarker = (file) => typeof file === 'string' && file.includes(`.jsonl.open${path.sep}`);
// Backups and runs: a dump renamed from NAME.partial, its sidecar (written to a temp file, then
// renamed to NAME.meta.json), and a run's state file (runs/ID.json, also written then renamed).
const isSidecarTemp = (file) => typeof file === 'string' && /\.meta\.json\.[0-9a-f]+\.tmp$/.test(file);
const isRunState = (file) => typeof file === 'string' && /[\\/]runs[\\/][^\\/]+\.json$/.test(file);

const { openSync, writeSync, fsyncSync, renameSync, writeFileSync, rmSync, linkSync } = fs;
fs.openSync = function (file, ...rest) {
  const fd = openSync.call(this, file, ...rest);
  fdPaths.set(fd, String(file));
  return fd;
};
fs.writeSync = function (fd, ...rest) {
  const file = fdPaths.get(fd) ?? '';
  if (file.endsWith('.jsonl.lock')) reached('audit-lock-created');
  if (isAuditFile(file)) reached('audit-record-before-write');
  return writeSync.call(this, fd, ...rest);
};
// The lock is created by hard-linking a temp file that already holds the pid: the kill lands
// right after the lock is in place (before the temp file is removed and the record written).
fs.linkSync = function (from, to) {
  const result = linkSync.call(this, from, to);
  if (typeof to === 'string' && to.endsWith('.jsonl.lock')) reached('audit-lock-created');
  return result;
};
fs.fsyncSync = function (fd) {
  if (isAuditFile(fdPaths.get(fd))) reached('audit-record-written');
  return fsyncSync.call(this, fd);
};
fs.renameSync = function (from, to) {
  if (typeof to === 'string' && to.endsWith('.jsonl.head')) reached('audit-head-rename');
  if (typeof from === 'string' && from.endsWith('.partial')) reached('backup-rename');
  if (typeof to === 'string' && to.endsWith('.meta.json')) reached('sidecar-rename');
  if (isRunState(to)) reached('run-state-rename');
  return renameSync.call(this, from, to);
};
fs.writeFileSync = function (file, ...rest) {
  if (isOpMarker(file)) reached('op-marker-write');
  if (isSidecarTemp(file)) reached('sidecar-write');
  // Saves of a run's state that name the backup the run took (before each is renamed into place):
  // #1 right after the dump is catalogued (not yet verified), #2 the backup step saved done.
  if (typeof file === 'string' && /[\\/]runs[\\/][^\\/]+\.json\.[0-9a-f]+\.tmp$/.test(file) && String(rest[0]).includes('"runBackup"')) reached('run-state-with-backup');
  return writeFileSync.call(this, file, ...rest);
};
fs.rmSync = function (file, ...rest) {
  if (isOpMarker(file)) reached('op-marker-remove');
  return rmSync.call(this, file, ...rest);
};
