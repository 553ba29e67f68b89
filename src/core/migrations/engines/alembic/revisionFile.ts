import fs from 'node:fs';
import path from 'node:path';
import { MutxError } from '../../../errors';
import { checksumText, RESERVED_IDS, type Revision } from '../../revision';
import { moduleDocstring, parseLiteral, scanPython, type PyLiteral } from './pythonSource';

/** A revision of an Alembic project: one Python file whose upgrade()/downgrade() Alembic runs. */
export interface AlembicRevision extends Revision {
  /** static: read by mutx-ops without Python; alembic: the file needed Alembic itself to be read. */
  readBy: 'static' | 'alembic';
  /** The full docstring (Alembic's longdoc), for `show`. */
  longDoc: string;
}

/** Why the static reader gave up on a file: Alembic is asked instead. */
export interface Unreadable {
  file: string;
  reason: string;
  /** Text-level facts that hold however the values are computed. */
  checksum: string;
  transactional: boolean;
}

export class AlembicFileError extends MutxError {
  constructor(file: string, line: number, message: string, hint: string) {
    super('migration-file', `${file}:${line}: ${message}`, { hint, details: { file, line } });
  }
}

const MAX_FILE_BYTES = 5 * 1024 * 1024;
const NAMES = ['revision', 'down_revision', 'branch_labels', 'depends_on'] as const;
type Name = (typeof NAMES)[number];
const NAME_IN_CODE = /\b(?:revision|down_revision|branch_labels|depends_on)\b/;
const ASSIGNMENT = /^(revision|down_revision|branch_labels|depends_on)\s*(?::[^=]*)?=(?!=)\s*([\s\S]*)$/;

/** Alembic's rule (script/base.py): *.py files of the folder except __init__ and editor locks. */
export function isRevisionFileName(name: string): boolean {
  return /^(?!\.#|__init__).*\.py$/.test(name);
}

/** One decoder for every file (building one per file showed in the profile of a 300-file read). */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

export function readRevisionFile(file: string): AlembicRevision | Unreadable {
  let buffer: Buffer;
  try {
    // One open, then fstat and read on that descriptor: the file checked is the file read.
    // O_NONBLOCK: opening a FIFO planted in the folder must not wait for a writer.
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    try {
      const stat = fs.fstatSync(fd);
      if (!stat.isFile()) throw new AlembicFileError(file, 1, 'not a regular file', 'remove it from the versions folder');
      if (stat.size > MAX_FILE_BYTES) throw new AlembicFileError(file, 1, `file is ${stat.size} bytes, over the ${MAX_FILE_BYTES}-byte limit for a revision`, 'load bulk data outside migrations');
      buffer = fs.readFileSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (error) {
    if (error instanceof MutxError) throw error;
    throw new AlembicFileError(file, 1, `cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, 'check the file permissions');
  }
  let source: string;
  try {
    source = UTF8.decode(buffer).replace(/^\uFEFF/, '');
  } catch {
    // A coding cookie may make it valid Python: Alembic decides.
    return { file, reason: 'not UTF-8', checksum: checksumText(buffer.toString('latin1')), transactional: !buffer.includes('autocommit_block') };
  }
  return readRevisionSource(source, file);
}

export function readRevisionSource(source: string, file: string): AlembicRevision | Unreadable {
  const scan = scanPython(source);
  const checksum = checksumText(source);
  // autocommit_block() commits and runs outside a transaction: treat the revision as non-transactional.
  const transactional = !/\bautocommit_block\b/.test(scan.code);
  if (scan.syntaxError) {
    throw new AlembicFileError(file, scan.syntaxError.line, `SyntaxError: ${scan.syntaxError.message}`, 'fix the Python file (python3 -m py_compile shows the same)');
  }
  const unreadable = (reason: string): Unreadable => ({ file, reason, checksum, transactional });
  const values: Partial<Record<Name, { literal: PyLiteral; line: number }>> = {};
  for (const logical of scan.lines) {
    // Most lines (upgrade()/downgrade() bodies) never name these variables outside a string.
    if (!NAME_IN_CODE.test(logical.code)) continue;
    const match = ASSIGNMENT.exec(logical.text);
    if (!match) {
      // An assignment we cannot see the value of (augmented, tuple-unpacked, chained): ask Alembic.
      const target = /^([^=(\[]*?)(?:[+\-*/|&^%@]|\/\/|<<|>>|\*\*)?=(?!=)/.exec(logical.code);
      const name = target ? new RegExp(`\\b(${NAMES.join('|')})\\b`).exec(target[1]!) : undefined;
      if (name && !/[<>!]$/.test(target![1]!)) return unreadable(`${name[1]} is assigned at line ${logical.line} in a way only Python can evaluate`);
      continue;
    }
    if (logical.indent > 0) return unreadable(`${match[1]} is assigned inside a block at line ${logical.line}`);
    const name = match[1] as Name;
    if (values[name]) return unreadable(`${name} is assigned twice (lines ${values[name]!.line} and ${logical.line})`);
    const literal = parseLiteral(match[2]!);
    if (!literal) return unreadable(`${name} at line ${logical.line} is not a literal`);
    values[name] = { literal, line: logical.line };
  }
  const revision = values.revision;
  if (!revision) {
    // Alembic's legacy rule takes the id from a hex file name; anything else is its CommandError.
    if (/^[a-f0-9]+\.py$/.test(path.basename(file))) return unreadable('no revision variable (a legacy hex file name)');
    throw new AlembicFileError(file, 1, "could not determine the revision id: no `revision = '…'` in the file", "declare revision = '<id>' at the top of the file");
  }
  if (revision.literal.kind !== 'str' || revision.literal.value === '') throw new AlembicFileError(file, revision.line, 'revision must be a non-empty string', "write revision = '<id>'");
  const id = revision.literal.value;
  if (RESERVED_IDS.has(id.toLowerCase())) throw new AlembicFileError(file, revision.line, `revision id "${id}" is reserved (head, heads and base name targets)`, 'use another id');
  if (!/^[^\s@+-][^\s@]*$/.test(id) || /[+-]\d+$/.test(id)) throw new AlembicFileError(file, revision.line, `revision id "${id.slice(0, 40)}" cannot be named in a target (spaces, @, or a trailing +N/-N)`, 'use letters, digits and _');
  if (id.length > 32) throw new AlembicFileError(file, revision.line, `revision id "${id.slice(0, 40)}…" is longer than 32 characters, the width of the version table's column`, 'use a shorter id');
  const down = values.down_revision;
  if (!down) throw new AlembicFileError(file, 1, 'no down_revision (Alembic fails on the missing attribute)', 'write down_revision = None for a first revision, or the parent id');
  const list = (entry: { literal: PyLiteral; line: number } | undefined, what: string): string[] => {
    if (!entry || entry.literal.kind === 'none') return [];
    const items = entry.literal.kind === 'str' ? [entry.literal.value] : entry.literal.values;
    for (const item of items) if (item === '') throw new AlembicFileError(file, entry.line, `${what} lists an empty string`, 'remove it');
    return items;
  };
  const revises = list(down, 'down_revision');
  if (revises.includes(id)) throw new AlembicFileError(file, down.line, `revision ${id} revises itself`, 'name its real parent');
  if (new Set(revises).size !== revises.length) throw new AlembicFileError(file, down.line, 'down_revision lists the same parent twice', 'list each parent once');
  const dependsOn = list(values.depends_on, 'depends_on');
  if (dependsOn.includes(id)) throw new AlembicFileError(file, values.depends_on!.line, `revision ${id} depends on itself`, 'remove it from depends_on');
  const longDoc = (moduleDocstring(scan.lines) ?? '').trim();
  const headers: Record<string, string> = {};
  const created = /^Create Date:\s*(.+)$/m.exec(longDoc)?.[1]?.trim();
  if (created) headers.created = created;
  return {
    revision: id,
    revises,
    dependsOn,
    branchLabels: list(values.branch_labels, 'branch_labels'),
    message: longDoc.split('\n\n')[0]!.replace(/\s*\n\s*/g, ' '),
    longDoc,
    file,
    headers,
    headerLines: { revision: revision.line, revises: down.line, ...(values.depends_on ? { depends_on: values.depends_on.line } : {}), ...(values.branch_labels ? { branch_labels: values.branch_labels.line } : {}) },
    transactional,
    checksum,
    readBy: 'static',
  };
}

/** Every revision file of the folders, in name order; a missing folder is a configuration error. */
export function listRevisionFiles(folders: string[]): string[] {
  const files: string[] = [];
  const seen = new Set<string>();
  for (const folder of folders) {
    let names: string[];
    try {
      names = fs.readdirSync(folder);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new MutxError('config', `versions folder ${folder} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`}`, { hint: 'check script_location / version_locations in alembic.ini' });
    }
    for (const name of names.filter(isRevisionFileName).sort()) {
      const file = path.join(folder, name);
      // Alembic ignores a file it reaches twice (version_locations that overlap).
      const real = fs.realpathSync.native(file);
      if (seen.has(real)) continue;
      seen.add(real);
      files.push(file);
    }
  }
  return files;
}
