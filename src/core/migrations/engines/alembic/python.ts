import fs from 'node:fs';
import path from 'node:path';
import type { ProjectSettings } from '../../../config';

/**
 * The interpreters that may run the project's Alembic, in the order a user's `alembic` would be
 * found: the configured one; a project virtualenv (.venv, venv); the interpreter named in the
 * shebang of the `alembic` on PATH; python3. The first that can `import alembic` is used (the
 * runner itself says when it cannot, so there is no separate probe).
 */
export interface PythonCandidate {
  path: string;
  /** Why it is a candidate, for the message when none works. */
  source: string;
}

export function pythonCandidates(settings: Pick<ProjectSettings, 'alembic' | 'root'>, env: NodeJS.ProcessEnv = process.env): PythonCandidate[] {
  if (settings.alembic.python) {
    return [{ path: path.resolve(settings.root, settings.alembic.python), source: 'alembic.python in mutx-ops.yaml' }];
  }
  if (env.MUTX_PYTHON) return [{ path: env.MUTX_PYTHON, source: 'MUTX_PYTHON' }];
  const candidates: PythonCandidate[] = [];
  for (const venv of ['.venv', 'venv']) {
    for (const name of ['python', 'python3']) {
      const file = path.join(settings.root, venv, 'bin', name);
      if (isExecutable(file)) {
        candidates.push({ path: file, source: `the project's ${venv}` });
        break;
      }
    }
  }
  const alembic = onPath('alembic', env);
  if (alembic) {
    const shebang = shebangInterpreter(alembic, env);
    if (shebang) candidates.push({ path: shebang, source: `the shebang of ${alembic}` });
  }
  const python3 = onPath('python3', env);
  if (python3) candidates.push({ path: python3, source: 'python3 on PATH' });
  const seen = new Set<string>();
  return candidates.filter((candidate) => !seen.has(candidate.path) && seen.add(candidate.path));
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    if (isExecutable(file)) return file;
  }
  return undefined;
}

/** `#!/usr/bin/python3` or `#!/usr/bin/env python3` → the interpreter's path. */
function shebangInterpreter(script: string, env: NodeJS.ProcessEnv): string | undefined {
  let head: string;
  try {
    const fd = fs.openSync(script, 'r');
    try {
      const buffer = Buffer.alloc(256);
      const read = fs.readSync(fd, buffer, 0, 256, 0);
      head = buffer.subarray(0, read).toString('utf8').split('\n')[0] ?? '';
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
  const match = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(head);
  if (!match) return undefined;
  if (path.basename(match[1]!) === 'env' && match[2]) return onPath(match[2], env);
  return /python/.test(path.basename(match[1]!)) && isExecutable(match[1]!) ? match[1] : undefined;
}
