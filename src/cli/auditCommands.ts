import { AuditTrail } from '../core/audit';
import { verifyAnchored, type AnchoredVerification } from '../core/auditAnchor';
import { parseTarget, type Target } from '../core/connection';
import { ExitCode } from '../core/errors';
import { noDatabaseConfigured, operatorFrom, settingsFrom, targetFrom, type GlobalOptions } from './context';
import type { Output } from './output';

/**
 * `audit verify`: the hash chain in the file, then its anchors — the head row each database
 * mutx-ops mirrors into keeps for this trail (core/auditAnchor.ts). `--file-only` skips the
 * databases.
 */
export async function auditVerifyCommand(globals: GlobalOptions, out: Output, options: { fileOnly?: boolean }): Promise<number> {
  const settings = settingsFrom(globals);
  const operator = await operatorFrom();
  const trail = new AuditTrail(settings.auditPath, operator);
  const configured: Target[] = [];
  if (!options.fileOnly) {
    try {
      if (!(await noDatabaseConfigured(globals, settings))) configured.push(await targetFrom(globals, settings));
    } catch {
      // A target that cannot be resolved (its variable unset): the file is still checked.
    }
    for (const [name, environment] of Object.entries(settings.environments)) {
      const url = process.env[environment.url_env];
      if (!url) continue;
      try {
        configured.push(parseTarget({ url, sslMode: process.env.DATABASE_SSL_MODE || environment.ssl_mode, environment: name, protected: environment.protected }));
      } catch {
        // A bad URL is reported by the commands that use it; here that environment is just not checked.
      }
    }
  }
  const result: AnchoredVerification = options.fileOnly
    ? { ...trail.verify(), anchors: [], unchecked: [] }
    : await verifyAnchored(trail, configured, { operator, connectTimeoutSeconds: settings.connect_timeout_seconds });
  const tampered = result.anchors.filter((a) => a.status === 'tampered');
  const ok = result.ok && tampered.length === 0;
  out.result({ file: trail.file, ...result, ok }, () => {
    const lines = [
      result.ok
        ? `audit trail OK: ${result.records} record(s) in ${trail.file}`
        : `audit trail BROKEN at ${trail.file}:${result.firstBad!.line}${result.firstBad!.seq ? ` (record ${result.firstBad!.seq})` : ''}: ${result.firstBad!.reason}`,
    ];
    for (const anchor of result.anchors) {
      const label = anchor.status === 'ok' ? 'anchored' : anchor.status === 'tampered' ? 'BROKEN' : anchor.status === 'repaired' ? 'REPAIRED' : anchor.status === 'no-anchor' ? 'no anchor' : 'not checked';
      lines.push(`  ${label}: database "${anchor.database}" on ${anchor.server}: ${anchor.message}`);
    }
    if (result.unchecked.length) lines.push(`  not checked (no configured connection to that server): ${result.unchecked.join(', ')}`);
    if (result.ok && tampered.length) lines[0] = `audit trail BROKEN: the file's chain is intact, but ${tampered.length} database(s) saw records it no longer holds (${trail.file})`;
    return lines;
  });
  return ok ? ExitCode.ok : ExitCode.failed;
}
