import type { GlobalOptions } from './context';

/**
 * Whether the command line opens the interactive app, and on what: no command, only the options
 * that choose a target (`--env NAME`, `--database-url URL`, `--migrations DIR`, also as
 * `--opt=value`) and `--debug`. Anything else — a command, `--help`, `--version`, `--json`, an
 * unknown option, an option without its value — is commander's to answer (help or one error line).
 */
export function appInvocation(argv: readonly string[]): { options: GlobalOptions } | undefined {
  const valued: Record<string, keyof GlobalOptions> = { '--env': 'env', '--database-url': 'databaseUrl', '--migrations': 'migrations' };
  const options: GlobalOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--debug') {
      options.debug = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const key = Object.hasOwn(valued, name) ? valued[name] : undefined;
    if (!key) return undefined;
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    // A missing or empty value, or the next option taken for one: commander says what is wrong.
    if (value === undefined || value === '' || (eq < 0 && value.startsWith('-'))) return undefined;
    (options as Record<string, string>)[key] = value;
  }
  return { options };
}
