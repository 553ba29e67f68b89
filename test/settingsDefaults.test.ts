import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, loadProjectSettings } from '../src/core/config';
import { DEFAULT_REVIEW_SETTINGS_VALUES } from '../src/core/review/defaults';
import { DEFAULT_REVIEW_SETTINGS } from '../src/core/review/settings';
import { DEFAULT_SETTINGS_FROM_SCHEMA } from '../src/core/settingsSchema';

/**
 * A project without mutx-ops.yaml is read without zod (config.ts keeps plain default values):
 * those values must stay what the schema says an empty file means.
 */
describe('settings defaults', () => {
  it('the plain defaults equal the schema defaults', () => {
    expect(DEFAULT_SETTINGS).toEqual(DEFAULT_SETTINGS_FROM_SCHEMA);
    expect(DEFAULT_REVIEW_SETTINGS_VALUES).toEqual(DEFAULT_REVIEW_SETTINGS);
  });

  it('an empty mutx-ops.yaml and no file at all give the same settings', () => {
    const withFile = fs.mkdtempSync(path.join(os.tmpdir(), 'mutx-settings-'));
    const without = fs.mkdtempSync(path.join(os.tmpdir(), 'mutx-settings-'));
    try {
      fs.writeFileSync(path.join(withFile, 'mutx-ops.yaml'), '{}\n');
      const a = loadProjectSettings({ cwd: withFile });
      const b = loadProjectSettings({ cwd: without });
      const strip = (s: ReturnType<typeof loadProjectSettings>) => ({ ...s, root: undefined, file: undefined, migrationsPath: path.relative(s.root, s.migrationsPath), statePath: path.relative(s.root, s.statePath), auditPath: path.relative(s.root, s.auditPath), backupsPath: path.relative(s.root, s.backupsPath), alembicConfigPath: path.relative(s.root, s.alembicConfigPath) });
      expect(strip(a)).toEqual(strip(b));
      // A settings default handed out must not be shared: changing one project's must not change the next.
      b.environments.x = { url_env: 'X', protected: false, backup_max_age_minutes: 60, commands: {} };
      expect(loadProjectSettings({ cwd: without }).environments).toEqual({});
    } finally {
      fs.rmSync(withFile, { recursive: true, force: true });
      fs.rmSync(without, { recursive: true, force: true });
    }
  });
});
