import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSecretTarget, secretsRun, type SecretTarget } from './privacy';
import { record } from './backupFaults';
import { runScenario, Scenario } from './support';

/**
 * The password of the target (a role with a known password owning its own database, passed in
 * DATABASE_URL) never shows: not in the argv of any process while pg_dump, pg_restore and psql
 * run (every /proc/PID/cmdline, scanned again and again; a planted control proves the scan sees
 * one), not in any stdout/stderr (failing, --json and --debug commands included), not in any
 * file of the project (audit trail, backups, sidecars, run state), not in the audit mirror, and
 * not in any frame of the interactive app — as typed, URL-encoded or fully percent-encoded.
 */
let target: SecretTarget;

beforeAll(async () => {
  // ~30 MB: pg_dump and pg_restore each run for well over half a second.
  target = await createSecretTarget(250_000);
});
afterAll(async () => {
  await target?.close();
});

it('the password appears in no argv, output, file, mirror row or frame', async () => {
  const scenario = new Scenario(
    'secrets: a password in DATABASE_URL through backup, restore, verify --restore-test, runs, failures and the app',
    'zero occurrences (typed, URL-encoded, %-encoded) in /proc/*/cmdline of every process, scanned every ~5 ms while the commands ran (pg_dump / pg_restore / psql seen running; a planted control is caught); in the stdout/stderr of every command (missing database, refused connection, unknown role, bad port, --json, --debug); in every project file (audit trail, backups, sidecars, run state, prefs); in mutx_ops.audit / mutx_ops.ledger; in every frame of the app (home, backups, audit, history, a run, a missing database)',
    'secrets',
  );
  await runScenario(scenario, async (s) => {
    const result = await secretsRun(target, { full: true });
    record(
      s,
      `${result.commands} commands, ${result.scans} argv scans (pg_dump seen in ${result.toolScans.pg_dump}, pg_restore in ${result.toolScans.pg_restore}, psql in ${result.toolScans.psql}), ${result.files} files, ${result.frames} frames`,
      result.problems,
    );
  });
  expect(scenario.failures).toEqual([]);
});
