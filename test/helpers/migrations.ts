import fs from 'node:fs';
import path from 'node:path';

/** Writes a migration file in the contract's format into a test project's folder. */
export function writeMigration(
  dir: string,
  revision: string,
  options: { revises?: string; message?: string; upgrade: string; downgrade?: string; verify?: string; transactional?: boolean },
): string {
  const lines = [`-- revision: ${revision}`, `-- revises: ${options.revises ?? ''}`, `-- message: ${options.message ?? revision}`];
  if (options.transactional === false) lines.push('-- transactional: false');
  lines.push('', '-- +upgrade', options.upgrade, '', '-- +downgrade', options.downgrade ?? 'SELECT 1;');
  if (options.verify) lines.push('', '-- +verify', options.verify);
  const file = path.join(dir, `${revision}_${(options.message ?? revision).replace(/\W+/g, '_')}.sql`);
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}
