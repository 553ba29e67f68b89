import fs from 'node:fs';
import path from 'node:path';
import { MutxError } from '../../../errors';
import { checksumText, RESERVED_IDS, type Revision } from '../../revision';
import { hasCode } from './sqlSplit';

/** Any id found in a file is accepted; generated ids are 12 lowercase hex characters. */
export const REVISION_ID = /^[A-Za-z0-9_]{1,32}$/;
const HEADER_KEY = /^[A-Za-z][A-Za-z0-9_-]*$/;
const MAX_FILE_BYTES = 5 * 1024 * 1024;
const SECTIONS = ['upgrade', 'downgrade', 'verify'] as const;
type SectionName = (typeof SECTIONS)[number];

export interface Section {
  sql: string;
  /** 1-based line in the file of the section's first body line. */
  line: number;
  /** False when the body holds only comments/whitespace (a no-op, e.g. for a merge). */
  hasCode: boolean;
}

/** A revision of the SQL-file engine: one file with its upgrade, downgrade and verify sections. */
export interface MigrationFile extends Revision {
  upgrade: Section;
  downgrade: Section;
  verify?: Section;
}

export class MigrationFileError extends MutxError {
  constructor(file: string, line: number, message: string, hint: string) {
    super('migration-file', `${file}:${line}: ${message}`, { hint, details: { file, line } });
  }
}

/** The checksum of a SQL file is its upgrade section's: comments elsewhere may change freely. */
export const checksumSql = checksumText;

export function readMigrationFile(file: string): MigrationFile {
  let buffer: Buffer;
  try {
    const stat = fs.statSync(file);
    // A FIFO, socket or device would block the read (or never end): only regular files are
    // migrations. A directory falls through to the read, which reports EISDIR.
    if (!stat.isFile() && !stat.isDirectory()) {
      throw new MigrationFileError(file, 1, 'not a regular file', 'remove it from the migrations folder; a migration is a plain .sql file');
    }
    if (stat.size > MAX_FILE_BYTES) {
      throw new MigrationFileError(file, 1, `file is ${stat.size} bytes, over the ${MAX_FILE_BYTES}-byte limit for a migration`, 'split it into smaller migrations; load bulk data outside migrations');
    }
    buffer = fs.readFileSync(file);
  } catch (error) {
    if (error instanceof MutxError) throw error;
    throw new MigrationFileError(file, 1, `cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, 'check the file permissions');
  }
  return parseMigrationText(buffer, file);
}

export function parseMigrationText(content: Buffer | string, file: string): MigrationFile {
  const buffer = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const nul = buffer.indexOf(0);
  if (nul !== -1) {
    const line = buffer.subarray(0, nul).toString('latin1').split('\n').length;
    throw new MigrationFileError(file, line, 'binary content (NUL byte): not a SQL text file', 'remove the file or replace it with a valid migration');
  }
  let text: string;
  try {
    // Fatal: a real decoding error throws; a valid U+FFFD (EF BF BD) in the file is just text.
    text = new TextDecoder('utf-8', { fatal: true }).decode(buffer);
  } catch {
    throw new MigrationFileError(file, invalidUtf8Line(buffer), 'invalid UTF-8', 'save the file as UTF-8');
  }
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const headers: Record<string, string> = {};
  const headerLines: Record<string, number> = {};
  const sections: Partial<Record<SectionName, { start: number; body: string[] }>> = {};
  let current: SectionName | undefined;

  for (let index = 0; index < lines.length; index++) {
    const lineNumber = index + 1;
    const line = lines[index]!;
    const marker = /^--\s*\+\s*([A-Za-z_-]+)\s*$/.exec(line.trim());
    if (marker) {
      const name = marker[1]!.toLowerCase() as SectionName;
      if (!SECTIONS.includes(name)) {
        throw new MigrationFileError(file, lineNumber, `unknown section "-- +${marker[1]}"`, 'sections are -- +upgrade, -- +downgrade and -- +verify');
      }
      if (sections[name]) {
        throw new MigrationFileError(file, lineNumber, `section "-- +${name}" appears twice (first at line ${sections[name]!.start - 1})`, 'keep one section of each kind');
      }
      sections[name] = { start: lineNumber + 1, body: [] };
      current = name;
      continue;
    }
    if (current) {
      sections[current]!.body.push(line);
      continue;
    }
    // Header area: `-- key: value` lines, other comments, blank lines. Nothing else.
    const trimmed = line.trim();
    if (trimmed === '') continue;
    // `-- mutx-ops: allow RULE -- reason` is a waiver for the review (core/review), not a header.
    if (/^--\s*mutx-ops\s*:/i.test(trimmed)) continue;
    const header = headerLine(trimmed);
    if (header) {
      if (!HEADER_KEY.test(header.key)) {
        throw new MigrationFileError(file, lineNumber, `malformed header line: "${visible(header.key.slice(0, 40))}" is not a header key`, 'header keys are letters, digits, _ and - (e.g. -- revises: <id>); reword other comments so they do not read "-- words: text"');
      }
      const key = header.key.toLowerCase();
      if (Object.hasOwn(headers, key)) {
        throw new MigrationFileError(file, lineNumber, `header "${key}" appears twice (first at line ${headerLines[key]})`, 'keep one');
      }
      headers[key] = header.value;
      headerLines[key] = lineNumber;
      continue;
    }
    if (trimmed.startsWith('--')) continue;
    throw new MigrationFileError(file, lineNumber, 'SQL before the "-- +upgrade" section', 'put statements under -- +upgrade or -- +downgrade');
  }

  const revision = headers.revision;
  if (revision === undefined) {
    throw new MigrationFileError(file, 1, 'missing "-- revision: <id>" header', 'add the header, e.g. -- revision: 3f2a9c1b7d4e');
  }
  if (!REVISION_ID.test(revision)) {
    throw new MigrationFileError(file, headerLines.revision!, `revision id "${revision.slice(0, 40)}" is invalid`, 'use 1–32 characters from A–Z, a–z, 0–9 and _');
  }
  if (RESERVED_IDS.has(revision.toLowerCase())) {
    throw new MigrationFileError(file, headerLines.revision!, `revision id "${revision}" is reserved (head, heads and base name targets)`, 'use another id, e.g. a generated 12-character hex id');
  }
  const base = path.basename(file);
  if (!base.startsWith(`${revision}_`) && base !== `${revision}.sql`) {
    throw new MigrationFileError(file, headerLines.revision!, `file name does not start with its revision "${revision}_"`, `rename it to ${revision}_<slug>.sql`);
  }
  const revisesText = headers.revises ?? '';
  const revises = revisesText
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '' && part.toLowerCase() !== 'none');
  for (const parent of revises) {
    if (!REVISION_ID.test(parent)) {
      throw new MigrationFileError(file, headerLines.revises!, `revises "${parent.slice(0, 40)}" is not a revision id`, 'list parent revision ids separated by commas');
    }
  }
  if (new Set(revises).size !== revises.length) {
    throw new MigrationFileError(file, headerLines.revises!, 'revises lists the same parent twice', 'list each parent once');
  }
  if (revises.includes(revision)) {
    throw new MigrationFileError(file, headerLines.revises!, `revision ${revision} revises itself`, 'name its real parent');
  }
  let transactional = true;
  if (headers.transactional !== undefined) {
    const value = headers.transactional.toLowerCase();
    if (value !== 'true' && value !== 'false') {
      throw new MigrationFileError(file, headerLines.transactional!, `transactional must be true or false, not "${headers.transactional.slice(0, 40)}"`, 'write -- transactional: false for CREATE INDEX CONCURRENTLY and friends');
    }
    transactional = value === 'true';
  }
  const toSection = (name: SectionName): Section | undefined => {
    const raw = sections[name];
    if (!raw) return undefined;
    const sql = raw.body.join('\n');
    return { sql, line: raw.start, hasCode: hasCode(sql) };
  };
  const upgrade = toSection('upgrade');
  const downgrade = toSection('downgrade');
  if (!upgrade) {
    throw new MigrationFileError(file, lines.length, 'missing "-- +upgrade" section', 'add -- +upgrade followed by the SQL that applies this revision');
  }
  if (!downgrade) {
    throw new MigrationFileError(file, lines.length, 'missing "-- +downgrade" section', 'add -- +downgrade followed by the SQL that reverts this revision');
  }
  const verify = toSection('verify');
  if (verify && !verify.hasCode) {
    throw new MigrationFileError(file, verify.line - 1, 'empty "-- +verify" section', 'write a SELECT that returns true, or remove the section');
  }
  return {
    revision,
    revises,
    dependsOn: [],
    branchLabels: [],
    message: headers.message ?? base.replace(/\.sql$/, '').slice(revision.length + 1).replace(/_/g, ' '),
    transactional,
    headers,
    headerLines,
    file,
    upgrade,
    downgrade,
    verify,
    checksum: checksumSql(upgrade.sql),
  };
}

/**
 * The header rule, kept simple: in the header area, a comment whose text before its first colon
 * is non-empty is a header line when
 *   - that text is a valid key (letters, digits, _ and -, starting with a letter): a header, or
 *   - the colon ends the line or is followed by a space or tab ("-- words: value"): a header
 *     with a broken key, which is an error (file:line) rather than a silently ignored comment.
 * Anything else (`-- see https://…`, `-- a note`, `--`) is a comment. A line holding a lone CR
 * is never a header (a file with CR-only line endings reads as one comment line).
 */
function headerLine(trimmed: string): { key: string; value: string } | undefined {
  if (!trimmed.startsWith('--') || trimmed.includes('\r')) return undefined;
  const colon = trimmed.indexOf(':');
  if (colon === -1) return undefined;
  const key = trimmed.slice(2, colon).trim();
  if (key === '') return undefined;
  const after = trimmed[colon + 1];
  if (!HEADER_KEY.test(key) && after !== undefined && after !== ' ' && after !== '\t') return undefined;
  return { key, value: trimmed.slice(colon + 1).trim() };
}

/** Invisible and control characters shown as \u{…}, so an error names what is really there. */
function visible(text: string): string {
  return text.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, (ch) => `\\u{${ch.codePointAt(0)!.toString(16)}}`);
}

/** 1-based line of the first invalid UTF-8 sequence (a newline byte never occurs inside one). */
function invalidUtf8Line(buffer: Buffer): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let start = 0;
  let line = 1;
  while (start <= buffer.length) {
    const eol = buffer.indexOf(10, start);
    const end = eol === -1 ? buffer.length : eol;
    try {
      decoder.decode(buffer.subarray(start, end));
    } catch {
      return line;
    }
    if (eol === -1) break;
    start = eol + 1;
    line++;
  }
  return line;
}

/** Reads every *.sql file of the folder (sorted by name); anything else is ignored. */
export function readMigrationDir(dir: string): MigrationFile[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new MutxError('config', `migrations folder ${dir} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`}`, {
      hint: 'pass --migrations DIR or set migrations_dir in mutx-ops.yaml',
    });
  }
  const sql = names.filter((name) => name.endsWith('.sql')).sort();
  // Alembic revisions read as SQL files would be silently ignored: say what the folder holds.
  if (sql.length === 0 && names.some((name) => name.endsWith('.py') && !name.startsWith('__init__'))) {
    throw new MutxError('config', `${dir} holds Alembic revision files (.py), not mutx-ops SQL files`, {
      hint: 'run mutx-ops inside the project that has alembic.ini (found walking up) instead of passing --migrations, or set engine: alembic in mutx-ops.yaml',
    });
  }
  return sql.map((name) => readMigrationFile(path.join(dir, name)));
}
