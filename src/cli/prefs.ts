import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensurePrivateDir } from '../core/statePaths';

/**
 * Operator preferences (who I am, which environment I usually act on) live in the user's
 * config folder, written through `conf` (which validates them with a JSON schema). Reading
 * them is on every command's path, and building conf's validator costs ~45 ms, so reads parse
 * conf's file directly and check the same constraints by hand.
 */
export interface Preferences {
  operator?: string;
  defaultEnvironment?: string;
}

export const PREFERENCE_KEYS = ['operator', 'defaultEnvironment'] as const;
export type PreferenceKey = (typeof PREFERENCE_KEYS)[number];

async function store() {
  const { default: Conf } = await import('conf');
  return new Conf<Preferences>({
    projectName: 'mutx-ops',
    projectSuffix: '',
    cwd: process.env.MUTX_OPS_PREFS_DIR || undefined,
    // conf's default is 0666 less the umask: world-readable (or writable) under umask 000.
    configFileMode: 0o600,
    schema: {
      operator: { type: 'string', minLength: 1, maxLength: 64 },
      defaultEnvironment: { type: 'string', minLength: 1, maxLength: 40 },
    },
  });
}

/** Where conf keeps the file (env-paths' config folder on Linux, or MUTX_OPS_PREFS_DIR). */
function preferencesFile(): string {
  const dir = process.env.MUTX_OPS_PREFS_DIR || path.join(process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config'), 'mutx-ops');
  return path.join(dir, 'config.json');
}

export async function readPreferences(): Promise<Preferences> {
  if (process.platform !== 'linux' && !process.env.MUTX_OPS_PREFS_DIR) {
    try {
      return (await store()).store;
    } catch {
      return {};
    }
  }
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(preferencesFile(), 'utf8'));
  } catch {
    return {};
  }
  const prefs: Preferences = {};
  const text = (value: unknown, max: number) => (typeof value === 'string' && value.length >= 1 && value.length <= max ? value : undefined);
  if (raw && typeof raw === 'object') {
    prefs.operator = text((raw as Record<string, unknown>).operator, 64);
    prefs.defaultEnvironment = text((raw as Record<string, unknown>).defaultEnvironment, 40);
  }
  return prefs;
}

export async function writePreference(key: PreferenceKey, value: string | undefined): Promise<string> {
  if (process.platform === 'linux' || process.env.MUTX_OPS_PREFS_DIR) ensurePrivateDir(path.dirname(preferencesFile()), { mark: false });
  const conf = await store();
  if (value === undefined) conf.delete(key);
  else conf.set(key, value);
  return conf.path;
}
