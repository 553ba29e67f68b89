import { adminQuery } from './db';

/**
 * Rehearsal scratch databases whose owning process (the pid in the database's comment) is gone:
 * what a finished or killed rehearsal must not leave behind. Other test files rehearse at the same
 * time, so live owners' databases are not counted.
 */
export async function orphanedScratchDatabases(): Promise<string[]> {
  const rows = (await adminQuery<{ datname: string; comment: string | null }>("SELECT datname, shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE starts_with(datname, 'mutx_rehearse_')")).rows;
  return rows
    .filter((r) => {
      const pid = Number(/"pid":(\d+)/.exec(r.comment ?? '')?.[1]);
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    })
    .map((r) => r.datname);
}
