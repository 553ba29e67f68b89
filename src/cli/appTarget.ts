/**
 * Where the interactive app opens, decided without loading Ink: the bin starts this (which may
 * mean initdb + a seeded sandbox, mostly waiting on child processes) while the app's chunk
 * loads, so the two overlap.
 */
import type { ProjectSettings } from '../core/config';
import { isMutxError, oneLine } from '../core/errors';
import { releaseSandbox, releaseSandboxSync, sandboxPaths, startSandbox } from '../core/sandbox';
import { noDatabaseConfigured, operatorFrom, settingsFrom, type GlobalOptions } from './context';

/** sandboxOf: the project whose sandbox the app started as its own (nothing was configured). */
export interface AppTarget {
  sandboxOf?: ProjectSettings;
}

/** Nothing configured: start the practice sandbox; otherwise the configured target is used as is. */
export async function prepareAppTarget(options: GlobalOptions = {}): Promise<AppTarget | number> {
  const settings = settingsFrom(options);
  if (!(await noDatabaseConfigured(options, settings))) return {};
  const started = await startOwnSandbox(settings);
  return typeof started === 'number' ? started : { sandboxOf: settings };
}

/**
 * Starts the sandbox for the app (ownedByApp: released on exit), saying so on stderr before the
 * first frame. Returns the exit code when it cannot (e.g. no server binaries: the one-line
 * MutxError says what to install or to set DATABASE_URL).
 */
async function startOwnSandbox(settings: ProjectSettings): Promise<true | number> {
  process.stderr.write(`mutx-ops: no database configured — starting the practice sandbox (${sandboxPaths(settings).dir})…\n`);
  // Ctrl+C while it starts: stop starting, and stop what was started.
  const abort = new AbortController();
  const interrupt = () => abort.abort();
  process.on('SIGINT', interrupt);
  try {
    await startSandbox(settings, {
      ownedByApp: true,
      operator: await operatorFrom(),
      signal: abort.signal,
    });
    if (!abort.signal.aborted) return true;
    await releaseOwnSandbox(settings);
    return 130;
  } catch (error) {
    await releaseOwnSandbox(settings);
    if (abort.signal.aborted) return 130;
    process.stderr.write(`mutx-ops: ${oneLine(error)}\n`);
    return isMutxError(error) ? error.exitCode : 1;
  } finally {
    process.off('SIGINT', interrupt);
  }
}

/** Stops the sandbox if this process started it (a `sandbox start` meanwhile keeps it running). */
export async function releaseOwnSandbox(settings: ProjectSettings | undefined): Promise<void> {
  if (!settings) return;
  try {
    await releaseSandbox(settings);
  } catch {
    try {
      releaseSandboxSync(settings);
    } catch {
      // nothing more to do on the way out
    }
  }
}
