import { AuditTrail } from '../core/audit';
import { loadProjectSettings, type ProjectSettings } from '../core/config';
import { parseTarget, type Target } from '../core/connection';
import { MutxError } from '../core/errors';
import { currentOperator, type Operator } from '../core/identity';
import type { CoreContext } from '../core/migrations/operations';
import { readPreferences } from './prefs';

export interface GlobalOptions {
  databaseUrl?: string;
  env?: string;
  migrations?: string;
  json?: boolean;
  debug?: boolean;
}

export function settingsFrom(options: GlobalOptions): ProjectSettings {
  return loadProjectSettings({ migrationsDir: options.migrations });
}

export async function operatorFrom(): Promise<Operator> {
  const operator = currentOperator();
  if (!process.env.MUTX_OPERATOR) {
    const prefs = await readPreferences();
    if (prefs.operator) operator.name = prefs.operator;
  }
  return operator;
}

/**
 * Which database: --database-url, else --env NAME (its url_env variable), else DATABASE_URL,
 * else the default environment (project settings, then operator preference).
 */
export async function targetFrom(options: GlobalOptions, settings: ProjectSettings): Promise<Target> {
  const sslFromEnv = process.env.DATABASE_SSL_MODE || undefined;
  if (options.databaseUrl) return parseTarget({ url: options.databaseUrl, sslMode: sslFromEnv });
  let envName = options.env;
  if (!envName && !process.env.DATABASE_URL) {
    envName = settings.default_environment ?? (await readPreferences()).defaultEnvironment;
  }
  if (envName) {
    // Own keys only: `__proto__` or `constructor` must not resolve to Object's members.
    const environment = Object.hasOwn(settings.environments, envName) ? settings.environments[envName] : undefined;
    if (!environment) {
      const known = Object.keys(settings.environments);
      throw new MutxError('config', `unknown environment "${envName.slice(0, 40)}"${settings.file ? ` in ${settings.file}` : ' (no mutx-ops.yaml found)'}`, {
        hint: known.length ? `known environments: ${known.join(', ')}` : 'define it under environments: in mutx-ops.yaml',
      });
    }
    const url = process.env[environment.url_env];
    if (!url) {
      throw new MutxError('config', `environment "${envName}" reads its URL from $${environment.url_env}, which is not set`, { hint: `export ${environment.url_env}=postgresql://…` });
    }
    if (environment.protected && environment.ssl_mode && sslFromEnv && weakerSslMode(sslFromEnv, environment.ssl_mode)) {
      throw new MutxError('config', `DATABASE_SSL_MODE=${sslFromEnv.slice(0, 20)} would weaken protected environment "${envName}" (ssl_mode: ${environment.ssl_mode})`, {
        hint: `unset DATABASE_SSL_MODE (or set it to ${environment.ssl_mode} or stricter); change ssl_mode in mutx-ops.yaml if the server really has no certificate`,
      });
    }
    return parseTarget({ url, sslMode: sslFromEnv ?? environment.ssl_mode, environment: envName, protected: environment.protected });
  }
  if (process.env.DATABASE_URL) return parseTarget({ url: process.env.DATABASE_URL, sslMode: sslFromEnv });
  // Nothing configured: the sandbox, if it is running (starting it is explicit, or the app's job).
  const { sandboxUrl } = await import('../core/sandbox');
  const sandbox = await sandboxUrl(settings);
  if (sandbox) return parseTarget({ url: sandbox, sslMode: 'disable', sandbox: true });
  throw new MutxError('config', 'no database given', { hint: 'set DATABASE_URL, pass --database-url URL, or --env NAME from mutx-ops.yaml; or run `mutx-ops sandbox start` for a local practice database' });
}

const SSL_STRENGTH = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

/** True when `requested` checks less than `configured` (an unknown mode is left to parseTarget to refuse). */
function weakerSslMode(requested: string, configured: string): boolean {
  const r = SSL_STRENGTH.indexOf(requested.toLowerCase());
  return r >= 0 && r < SSL_STRENGTH.indexOf(configured);
}

/**
 * True when targetFrom has nothing to go on but the sandbox: no --database-url, no --env, no
 * DATABASE_URL, no default environment (project settings or operator preference).
 */
export async function noDatabaseConfigured(options: GlobalOptions, settings: ProjectSettings): Promise<boolean> {
  if (options.databaseUrl || options.env || process.env.DATABASE_URL || settings.default_environment) return false;
  return !(await readPreferences()).defaultEnvironment;
}

export async function coreContextFrom(options: GlobalOptions, extra: Partial<CoreContext> = {}): Promise<CoreContext> {
  const settings = settingsFrom(options);
  const operator = await operatorFrom();
  const target = await targetFrom(options, settings);
  return { settings, target, operator, audit: new AuditTrail(settings.auditPath, operator), ...extra };
}
