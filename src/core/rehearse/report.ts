import type { RehearsalReport, RevisionOutcome } from './rehearse';

const PHASES: Record<RevisionOutcome['phase'], string> = { plan: 'plan', inverse: 'round trip: inverse', again: 'round trip: plan again' };

/** The rehearsal as the operator reads it: per revision outcome, duration, strongest lock, the failure. */
export function reportLines(report: RehearsalReport, _relative: (file: string) => string, duration: (ms: number) => string): string[] {
  const lines: string[] = [];
  const copy = report.withData ? 'schema and rows' : 'schema only';
  lines.push(`rehearsal of ${report.direction} ${report.target} on a copy of ${report.source} (${copy}, PostgreSQL ${report.serverVersion})${report.scratch ? ` in ${report.scratch.database} on ${report.scratch.server}` : ''}`);
  if (report.plan.length === 0) {
    lines.push(`nothing to rehearse: ${report.direction} ${report.target} runs no revision from ${report.versionRows.join(', ') || 'base'}`);
    lines.push('PASSED');
    return lines;
  }
  lines.push(`copy: ${duration(report.copyMs)}`);
  let phase: string | undefined;
  for (const step of report.steps) {
    if (step.phase !== phase) {
      phase = step.phase;
      lines.push(`${PHASES[step.phase]}:`);
    }
    const mark = step.outcome === 'ok' ? 'ok     ' : step.outcome === 'not-run' ? 'not run' : step.outcome === 'timeout' ? 'TIMEOUT' : 'FAILED ';
    const strongest = step.locks[0];
    const lock = strongest ? `  ${strongest.mode} on ${strongest.relation}${step.locks.length > 1 ? ` (+${step.locks.length - 1} more)` : ''}` : '';
    lines.push(`  ${step.direction.padEnd(9)} ${step.revision.padEnd(14)} ${mark} ${step.durationMs !== undefined ? duration(step.durationMs).padStart(8) : ''.padStart(8)}${lock}`);
    if (step.outcome === 'failed' || step.outcome === 'timeout') {
      lines.push(`      ${step.where ? `${step.where}: ` : ''}${step.error ?? ''}`);
      if (step.statement) lines.push(`      statement: ${step.statement.replace(/\s+/g, ' ').slice(0, 200)}`);
    }
  }
  if (report.roundTrip) {
    const rt = report.roundTrip;
    if (rt.skipped) lines.push(`round trip skipped: ${rt.skipped}`);
    else {
      if (rt.leftBehind.length) lines.push(`round trip: the schema after ${rt.inverseDirection} ${rt.inverseTarget} differs from the one before:`, ...rt.leftBehind.slice(0, 20).map((l) => `    ${l}`));
      if (rt.againDiff.length) lines.push('round trip: the plan run again leaves a different schema:', ...rt.againDiff.slice(0, 20).map((l) => `    ${l}`));
      if (rt.ok) lines.push(`round trip: ${rt.inverseDirection} ${rt.inverseTarget} restores the schema from before; the plan run again gives the same schema`);
    }
  }
  for (const orphan of report.orphansDropped) lines.push(`dropped ${orphan.name}, left behind by interrupted rehearsal (pid ${orphan.pid}, ${orphan.started})`);
  lines.push(`${report.ok ? 'PASSED' : `FAILED: ${report.error ?? 'see above'}`} in ${duration(report.totalMs)}${report.scratch ? `; scratch database ${report.scratch.dropped ? 'dropped' : 'NOT dropped (the next rehearsal drops it)'}` : ''}; the target was only read`);
  return lines;
}
