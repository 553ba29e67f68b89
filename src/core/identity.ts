import os from 'node:os';

/** Who is acting, for the lock's application_name, the ledger and the audit trail. */
export interface Operator {
  name: string;
  host: string;
}

export function currentOperator(): Operator {
  let name = process.env.MUTX_OPERATOR?.trim();
  if (!name) {
    try {
      name = os.userInfo().username;
    } catch {
      name = process.env.USER ?? 'unknown';
    }
  }
  return { name, host: os.hostname() };
}

/** PostgreSQL truncates application_name to 63 bytes; keep it readable when it does. */
export function applicationName(operator: Operator): string {
  return `mutx-ops:${operator.name}@${operator.host}`.slice(0, 63);
}
