import { MutxError } from '../../../errors';

/**
 * The part of Python's configparser that Alembic's Config relies on, so mutx-ops reads
 * alembic.ini as Alembic does without starting Python: `[section]` headers, `key = value` or
 * `key: value` (keys case-insensitive), indented continuation lines, full-line `#`/`;` comments
 * (no inline comments: configparser keeps them in the value), DEFAULT values seen from every
 * section, and BasicInterpolation (`%(name)s`, `%%`) with Alembic's `here` default.
 */
export interface IniFile {
  file: string;
  /** section → key → raw value, and the line each key was defined on. */
  sections: Map<string, Map<string, { value: string; line: number }>>;
  defaults: Map<string, string>;
}

export class IniError extends MutxError {
  constructor(file: string, line: number, message: string, hint: string) {
    super('config', `${file}:${line}: ${message}`, { hint, details: { file, line } });
  }
}

export function parseIni(text: string, file: string, defaults: Record<string, string> = {}): IniFile {
  const sections = new Map<string, Map<string, { value: string; line: number }>>();
  const defaultValues = new Map(Object.entries(defaults));
  let current: Map<string, { value: string; line: number }> | undefined;
  let currentName = '';
  let last: { value: string; line: number } | undefined;
  let lastIndent = 0;
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const lineNumber = index + 1;
    const trimmed = raw.trim();
    const indent = raw.length - raw.trimStart().length;
    if (trimmed === '' ) {
      // An empty line inside a multi-line value belongs to it (empty_lines_in_values).
      if (last) last.value += '\n';
      continue;
    }
    if (/^[#;]/.test(trimmed)) continue;
    if (last && indent > lastIndent) {
      last.value = `${last.value.replace(/\n+$/, '')}\n${trimmed}`;
      continue;
    }
    last = undefined;
    const header = /^\[([^\]]+)\]\s*$/.exec(trimmed);
    if (header) {
      currentName = header[1]!;
      if (currentName !== 'DEFAULT' && sections.has(currentName)) throw new IniError(file, lineNumber, `section [${currentName}] appears twice`, 'keep one');
      current = currentName === 'DEFAULT' ? undefined : new Map();
      if (current) sections.set(currentName, current);
      continue;
    }
    const option = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(trimmed);
    if (!option) throw new IniError(file, lineNumber, `not a "key = value" line: ${trimmed.slice(0, 60)}`, 'fix the line or comment it out with #');
    if (!currentName) throw new IniError(file, lineNumber, 'a key before the first [section] header', 'put it under [alembic]');
    const key = option[1]!.toLowerCase();
    const entry = { value: option[2]!, line: lineNumber };
    if (currentName === 'DEFAULT') defaultValues.set(key, entry.value);
    else current!.set(key, entry);
    last = entry;
    lastIndent = indent;
  }
  for (const section of sections.values()) for (const entry of section.values()) entry.value = entry.value.replace(/\n+$/, '');
  return { file, sections, defaults: defaultValues };
}

/** A value after interpolation, as configparser's get() returns it; undefined when absent. */
export function iniGet(ini: IniFile, section: string, key: string): string | undefined {
  const values = ini.sections.get(section);
  if (!values) return undefined;
  const entry = values.get(key.toLowerCase());
  const raw = entry?.value ?? ini.defaults.get(key.toLowerCase());
  if (raw === undefined) return undefined;
  return interpolate(ini, section, raw, entry?.line ?? 1, 0);
}

export function hasSection(ini: IniFile, section: string): boolean {
  return ini.sections.has(section);
}

function interpolate(ini: IniFile, section: string, value: string, line: number, depth: number): string {
  if (depth > 10) throw new IniError(ini.file, line, 'interpolation is nested more than 10 deep', 'remove the %(…)s loop');
  return value.replace(/%(%|\(([^)]+)\)s)/g, (whole, kind: string, name: string | undefined) => {
    if (kind === '%') return '%';
    const key = name!.toLowerCase();
    const entry = ini.sections.get(section)?.get(key);
    const raw = entry?.value ?? ini.defaults.get(key);
    if (raw === undefined) throw new IniError(ini.file, line, `"${whole}" refers to "${name}", which [${section}] does not define`, 'define it, or write %% for a literal %');
    return interpolate(ini, section, raw, entry?.line ?? line, depth + 1);
  });
}
