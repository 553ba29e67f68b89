/**
 * Operator preferences (who I am, which environment I usually act on) live in the user's
 * config folder through `conf`, not in the project. Loaded lazily: most commands need only
 * the operator name, and MUTX_OPERATOR short-cuts even that.
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
    schema: {
      operator: { type: 'string', minLength: 1, maxLength: 64 },
      defaultEnvironment: { type: 'string', minLength: 1, maxLength: 40 },
    },
  });
}

export async function readPreferences(): Promise<Preferences> {
  try {
    return (await store()).store;
  } catch {
    return {};
  }
}

export async function writePreference(key: PreferenceKey, value: string | undefined): Promise<string> {
  const conf = await store();
  if (value === undefined) conf.delete(key);
  else conf.set(key, value);
  return conf.path;
}
