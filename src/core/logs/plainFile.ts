import fs from 'node:fs/promises';
import { MutxError } from '../errors';

/**
 * A log source given as a path must be a regular file: opening a named pipe with no writer blocks
 * (in libuv's thread pool, where no signal can end it), and a folder reads as EISDIR. Checked with
 * stat() before open(); ENOENT is left to the caller (a followed file may appear later).
 */
export async function assertRegularLogFile(file: string, shown = file): Promise<void> {
  let stat: Awaited<ReturnType<typeof fs.stat>>;
  try {
    stat = await fs.stat(file);
  } catch {
    return;
  }
  if (stat.isFile()) return;
  const what = stat.isDirectory() ? 'a folder' : stat.isFIFO() ? 'a named pipe (FIFO)' : stat.isSocket() ? 'a socket' : 'a device';
  throw new MutxError('usage', `${shown.slice(0, 200)} is ${what}, not a log file`, {
    hint: stat.isDirectory() ? 'name the log file inside it' : `read it through a command instead: cmd:cat ${shown.slice(0, 200)}`,
  });
}
