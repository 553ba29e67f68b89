import { describe, expect, it } from 'vitest';
import { appInvocation } from './appArgs';

describe('which command lines open the app', () => {
  it('no command, only the options that choose a target: the app, on that target', () => {
    expect(appInvocation([])).toEqual({ options: {} });
    expect(appInvocation(['--env', 'staging'])).toEqual({ options: { env: 'staging' } });
    expect(appInvocation(['--env=staging'])).toEqual({ options: { env: 'staging' } });
    expect(appInvocation(['--database-url', 'postgresql://app@db:5432/mutx'])).toEqual({ options: { databaseUrl: 'postgresql://app@db:5432/mutx' } });
    expect(appInvocation(['--database-url=postgresql://app@db:5432/mutx?sslmode=require'])).toEqual({ options: { databaseUrl: 'postgresql://app@db:5432/mutx?sslmode=require' } });
    expect(appInvocation(['--migrations', 'db/migrations', '--env', 'prod', '--debug'])).toEqual({ options: { migrations: 'db/migrations', env: 'prod', debug: true } });
  });

  it('a command, help, version, --json, an unknown option or a missing value: not the app (commander answers)', () => {
    for (const argv of [['current'], ['--env', 'staging', 'current'], ['--help'], ['-h'], ['--version'], ['--json'], ['--env', 'staging', '--json'], ['--verbose'], ['--env'], ['--env='], ['--env', '--debug'], ['staging'], ['--', 'current']]) {
      expect(appInvocation(argv), argv.join(' ')).toBeUndefined();
    }
  });
});
