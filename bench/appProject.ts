import os from 'node:os';
import path from 'node:path';
import { AuditTrail } from '../src/core/audit';
import { loadProjectSettings } from '../src/core/config';
import '../src/core/settingsSchema';
import { parseTarget } from '../src/core/connection';
import { migrate } from '../src/core/migrations/operations';

/**
 * The app benches' starting point: the project's database migrated to head, and the environment
 * the app is started with (the bench environment's URL, a private prefs folder, no CI variables:
 * the app draws only at a terminal outside CI).
 */
export async function migratedAppEnv(projectDir: string, dbUrl: string): Promise<NodeJS.ProcessEnv> {
  const settings = loadProjectSettings({ cwd: projectDir });
  const operator = { name: 'bench', host: os.hostname() };
  await migrate({ settings, operator, audit: new AuditTrail(settings.auditPath, operator), target: parseTarget({ url: dbUrl }) }, 'upgrade', 'head');
  const env: NodeJS.ProcessEnv = { ...process.env, BENCH_DATABASE_URL: dbUrl, MUTX_OPERATOR: 'bench', MUTX_OPS_PREFS_DIR: path.join(projectDir, '.prefs'), TERM: 'xterm-256color' };
  delete env.CI;
  delete env.CONTINUOUS_INTEGRATION;
  return env;
}
