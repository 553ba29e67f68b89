import type { RunEndState, RunOutcome } from './events';

/** What a run's end needs to say where things are (the app's run view and headless `run` both print it). */
export interface EndFacts {
  runId?: string;
  outcome: RunOutcome;
  where?: RunEndState;
  drill: boolean;
  environment?: string;
  /** The database's name, what `--confirm` takes. */
  database: string;
  protected: boolean;
}

const revs = (rows: string[] | undefined) => (rows === undefined ? 'unknown (the database did not answer)' : rows.join('+') || 'base');

/**
 * The end of a run in a few labelled lines: where the database is now, where its backup is, and
 * what to run next — from the engine's run-finished event (`where`), not guessed.
 */
export function endSummary(facts: EndFacts): { label: string; text: string }[] {
  const { where, outcome } = facts;
  if (!where || facts.drill || outcome === 'switched') return [];
  const env = facts.environment && !/sandbox/.test(facts.environment) ? ` --env ${facts.environment}` : '';
  const moved = where.startRevisions && where.revisions && where.startRevisions.join('+') !== where.revisions.join('+');
  const lines: { label: string; text: string }[] = [
    { label: 'database', text: `${facts.database} is at ${revs(where.revisions)}${moved ? ` (was ${revs(where.startRevisions)})` : where.revisions ? ' (unchanged by this run)' : ''}` },
  ];
  const b = where.backup;
  lines.push({ label: 'backup', text: b ? `${b.file} (at ${b.revisions.join('+') || 'base'}, ${b.takenInRun ? 'taken in this run' : 'the newest verified one'}${b.verified ? ', verified' : ', NOT verified'})` : 'none of this database in the catalog' });
  const confirm = facts.protected ? ` --confirm ${facts.database}` : ' --yes';
  const next: string[] = [];
  if (outcome === 'paused') next.push(`mutx-ops run --resume ${facts.runId}`);
  else if (outcome === 'completed') next.push(`mutx-ops check${env}`, `mutx-ops runs show ${facts.runId} --format md`);
  else {
    next.push(`mutx-ops runs show ${facts.runId}`);
    // Back to the backup's state only when the database moved away from it.
    if (b && moved) next.push(`mutx-ops restore ${b.file}${env}${confirm}`);
    else next.push(`mutx-ops current -v${env}`);
  }
  next.forEach((command, i) => lines.push({ label: i === 0 ? 'next' : '', text: command }));
  return lines;
}

/** The database name in a (redacted) connection URL: its last path part. */
export function databaseOfUrl(url: string): string {
  const match = /^[a-z]+:\/\/[^/]*\/([^/?#]+)/i.exec(url);
  try {
    return decodeURIComponent(match?.[1] ?? url);
  } catch {
    return match?.[1] ?? url;
  }
}
