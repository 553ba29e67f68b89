import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { MutxError } from '../core/errors';
import { parseYamlText } from '../core/yamlFile';
import { RUNBOOK_NAME, runbookSchema, type Runbook } from './schema';

export interface LoadedRunbook {
  runbook: Runbook;
  file: string;
  /** Of the file's bytes: a run resumes only with the runbook it started with. */
  checksum: string;
}

const MAX_RUNBOOK_BYTES = 512 * 1024;

export function loadRunbookFile(file: string): LoadedRunbook {
  let buffer: Buffer;
  try {
    buffer = fs.readFileSync(file);
  } catch (error) {
    throw new MutxError('runbook', `${file}: cannot read the runbook (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { hint: 'check the path; `mutx-ops runbooks` lists the ones found' });
  }
  if (buffer.length > MAX_RUNBOOK_BYTES) throw new MutxError('runbook', `${file}:1: runbook is ${buffer.length} bytes, over the ${MAX_RUNBOOK_BYTES}-byte limit`, { hint: 'split it' });
  if (buffer.includes(0)) throw new MutxError('runbook', `${file}:1: binary content: not a YAML runbook`, { hint: 'replace it with a valid runbook' });
  const runbook = parseYamlText(buffer.toString('utf8'), file, runbookSchema, 'runbook', 'runbook');
  const expected = path.basename(file).replace(/\.ya?ml$/, '');
  if (runbook.name !== expected) {
    throw new MutxError('runbook', `${file}:1: runbook name "${runbook.name}" differs from its file name "${expected}"`, { hint: `rename the file to ${runbook.name}.yaml or fix name:` });
  }
  return { runbook, file, checksum: crypto.createHash('sha256').update(buffer).digest('hex') };
}

/**
 * Loads every *.yaml directly in `dir` with `load`; a file that fails with a MutxError is
 * returned as an error, not thrown. Undefined when the folder cannot be read.
 */
export function loadYamlFolder<T>(dir: string, load: (file: string) => T): { loaded: T[]; errors: MutxError[] } | undefined {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((name) => /\.ya?ml$/.test(name)).sort();
  } catch {
    return undefined;
  }
  const loaded: T[] = [];
  const errors: MutxError[] = [];
  for (const name of names) {
    try {
      loaded.push(load(path.join(dir, name)));
    } catch (error) {
      if (error instanceof MutxError) errors.push(error);
      else throw error;
    }
  }
  return { loaded, errors };
}

/** Every *.yaml in the folder (not subfolders: drills live in runbooks/drills). Bad files are returned as errors, not thrown. */
export function loadRunbooks(dir: string): { runbooks: LoadedRunbook[]; errors: MutxError[] } {
  const result = loadYamlFolder(dir, loadRunbookFile);
  if (!result) return { runbooks: [], errors: [new MutxError('config', `runbooks folder ${dir} cannot be read`, { hint: 'set runbooks_dir in mutx-ops.yaml' })] };
  return { runbooks: result.loaded, errors: result.errors };
}

/** A runbook by name (or by path when it contains a slash or ends in .yaml). */
export function findRunbook(dir: string, nameOrPath: string): LoadedRunbook {
  if (nameOrPath.includes('/') || /\.ya?ml$/.test(nameOrPath)) return loadRunbookFile(path.resolve(nameOrPath));
  if (!RUNBOOK_NAME.test(nameOrPath)) {
    throw new MutxError('usage', `"${nameOrPath.slice(0, 40)}" is not a runbook name`, { hint: 'names are lowercase letters, digits, - and _; `mutx-ops runbooks` lists them' });
  }
  for (const ext of ['.yaml', '.yml']) {
    const file = path.join(dir, `${nameOrPath}${ext}`);
    if (fs.existsSync(file)) return loadRunbookFile(file);
  }
  const known = loadRunbooks(dir).runbooks.map((r) => r.runbook.name);
  throw new MutxError('usage', `no runbook named "${nameOrPath}" in ${dir}`, { hint: known.length ? `known: ${known.join(', ')}` : 'add runbooks/NAME.yaml' });
}
