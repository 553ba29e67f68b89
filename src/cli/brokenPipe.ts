/**
 * `mutx-ops history --json | head -c 100`: once the reader is gone, a write fails with EPIPE,
 * emitted as an 'error' event that would crash with a stack trace. The reader has what it wanted:
 * stop quietly (like a shell tool killed by SIGPIPE, without the noise).
 */
export function exitQuietlyOnBrokenPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw error;
    });
  }
}
