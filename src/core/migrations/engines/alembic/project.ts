import fs from 'node:fs';
import path from 'node:path';
import type { ProjectSettings } from '../../../config';
import { MutxError } from '../../../errors';
import { hasSection, iniGet, IniError, parseIni, type IniFile } from './ini';

/**
 * Where an Alembic project keeps its revisions, read from alembic.ini the way Alembic's Config and
 * ScriptDirectory.from_config read it. Relative paths are relative to the working directory, as
 * in Alembic; mutx-ops runs Alembic from the project root, so that is what they are resolved against.
 */
export interface AlembicProject {
  iniPath: string;
  section: string;
  /** The folder mutx-ops runs Alembic in (the project root). */
  cwd: string;
  /** The script_location folder (env.py, script.py.mako, versions/); undefined for a package resource. */
  scriptLocation?: string;
  /** Folders revisions are read from: version_locations when set, else <script_location>/versions. */
  versionLocations: string[];
  envPy?: string;
  /** False when only Alembic itself can list the revisions (package resources, sourceless files). */
  staticallyReadable: boolean;
}

function readIni(iniPath: string): IniFile {
  let text: string;
  try {
    text = fs.readFileSync(iniPath, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new MutxError('config', `${iniPath}: cannot read the Alembic configuration (${code})`, { hint: code === 'ENOENT' ? 'run mutx-ops in the project that has alembic.ini, or set alembic.config in mutx-ops.yaml' : 'check the file permissions' });
  }
  // Alembic's Config passes `here` (the file's folder) as a default for interpolation.
  return parseIni(text, iniPath, { here: path.dirname(path.resolve(iniPath)) });
}

const LEGACY_SPLIT = /, *|(?: +)/;

export function alembicProject(settings: Pick<ProjectSettings, 'alembicConfigPath' | 'alembic' | 'root' | 'revisionsOverride'>): AlembicProject {
  const iniPath = settings.alembicConfigPath;
  const ini = readIni(iniPath);
  const section = settings.alembic.section;
  if (!hasSection(ini, section)) {
    throw new MutxError('config', `${iniPath}: no [${section}] section`, { hint: `add it, or set alembic.section in mutx-ops.yaml to the section Alembic uses (its --name)` });
  }
  const line = (key: string) => ini.sections.get(section)!.get(key)?.line ?? 1;
  const scriptLocationValue = iniGet(ini, section, 'script_location');
  if (!scriptLocationValue) throw new IniError(iniPath, 1, `[${section}] has no script_location`, 'set script_location to the folder holding env.py (e.g. %(here)s/migrations)');
  const cwd = settings.root;
  const resolve = (p: string) => path.resolve(cwd, p);
  // `package:folder` is a package resource only Python can locate.
  const isResource = /^[A-Za-z_][\w.]*:(?![\\/])/.test(scriptLocationValue) && !fs.existsSync(resolve(scriptLocationValue));
  const scriptLocation = isResource ? undefined : resolve(scriptLocationValue);
  if (scriptLocation && !fs.existsSync(scriptLocation)) {
    throw new IniError(iniPath, line('script_location'), `script_location ${scriptLocationValue} does not exist (resolved from ${cwd})`, 'fix script_location; relative paths are relative to the folder you run alembic in — use %(here)s to anchor it');
  }
  const versionLocationsValue = iniGet(ini, section, 'version_locations');
  let versionLocations: string[];
  if (versionLocationsValue) {
    const separator = iniGet(ini, section, 'version_path_separator');
    const split = { space: ' ', os: path.delimiter, ':': ':', ';': ';' } as Record<string, string>;
    if (separator !== undefined && !(separator in split)) {
      throw new IniError(iniPath, line('version_path_separator'), `'${separator}' is not a valid value for version_path_separator`, "expected 'space', 'os', ':' or ';'");
    }
    const parts = separator === undefined ? versionLocationsValue.split(LEGACY_SPLIT) : versionLocationsValue.split(split[separator]!);
    // Alembic skips locations that do not exist.
    versionLocations = parts.filter((part) => part.trim() !== '').map((part) => resolve(part.trim())).filter((dir) => fs.existsSync(dir));
  } else {
    versionLocations = scriptLocation ? [path.join(scriptLocation, 'versions')] : [];
  }
  if (settings.revisionsOverride) versionLocations = [settings.revisionsOverride];
  const sourceless = iniGet(ini, section, 'sourceless') === 'true';
  const envPy = scriptLocation ? path.join(scriptLocation, 'env.py') : undefined;
  return { iniPath, section, cwd, scriptLocation, versionLocations, envPy, staticallyReadable: Boolean(scriptLocation) && !sourceless };
}

/**
 * The version table env.py configures, where it is a literal (`version_table="…"`,
 * `version_table_schema="…"`); empty when it is not known statically. Never throws: a broken
 * configuration is reported by the command that needs it.
 */
export function envPyVersionTable(iniPath: string, section: string, root: string): { table?: string; schema?: string } {
  try {
    const project = alembicProject({ alembicConfigPath: iniPath, alembic: { config: iniPath, section }, root });
    if (!project.envPy) return {};
    const text = fs.readFileSync(project.envPy, 'utf8');
    const literal = (name: string) => new RegExp(`\\b${name}\\s*=\\s*(['"])([a-z_][a-z0-9_]{0,62})\\1`).exec(text)?.[2];
    return { table: literal('version_table'), schema: literal('version_table_schema') };
  } catch {
    return {};
  }
}
