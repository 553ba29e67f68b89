/**
 * Home stays true while it is open: the REAL services over a test database that is changed
 * behind the app's back (a downgrade from "another shell", a migration lock taken elsewhere, a
 * backup taken elsewhere, the database refusing connections) — the frame follows each.
 */
import { cleanup } from 'ink-testing-library';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adminQuery, createTestDatabase, createTestProject, type TestDatabase, type TestProject } from '../../test/helpers/db';
import { backupDatabase } from '../core/backup';
import { parseTarget } from '../core/connection';
import { acquireMigrationLock } from '../core/migrations/lock';
import { migrate, versionNames } from '../core/migrations/operations';
import { realServices, renderApp, waitForFrame } from './testing/harness';

const HEAD = '9d3e71c2a5b8';

let project: TestProject;
let db: TestDatabase;

beforeAll(async () => {
  project = createTestProject({ settings: 'lock_wait_seconds: 5\nenvironments:\n  staging:\n    url_env: SHELL_HOME_URL\n' });
  db = await createTestDatabase('shell_home');
});

afterEach(() => cleanup());

afterAll(async () => {
  await adminQuery(`ALTER DATABASE "${db.name}" ALLOW_CONNECTIONS true`).catch(() => undefined);
  await db?.drop();
  project?.cleanup();
});

describe('home refreshes itself', () => {
  it('follows a downgrade, a lock holder and a backup made elsewhere, and says so when the database stops answering', async () => {
    const { services, settings, audit } = realServices({ projectDir: project.dir, url: db.url, environment: 'staging' });
    const ctx = { settings, operator: { name: 'other-shell', host: 'elsewhere' }, audit, target: parseTarget({ url: db.url, environment: 'staging' }) };
    await migrate(ctx, 'upgrade', 'head');
    const ui = renderApp(services, { columns: 80, rows: 24 }, 20, 150);
    let text = await waitForFrame(ui, `revision ${HEAD} (head)`);
    expect(text).toContain('no verified backup');
    expect(text).toContain('migration lock free');

    // Another shell rolls back one revision: home shows it without a keypress.
    await migrate(ctx, 'downgrade', '-1');
    text = await waitForFrame(ui, /vs head 9d3e71c2a5b8 · 1 pending migration/);
    expect(text).not.toContain(`revision ${HEAD} (head)`);

    // Another session holds the migration lock: named on home; released: free again.
    const holder = new pg.Client({ connectionString: db.url, application_name: 'mutx-ops:someone@elsewhere' });
    await holder.connect();
    try {
      const lock = await acquireMigrationLock(holder, versionNames(settings), { waitSeconds: 1 });
      text = await waitForFrame(ui, 'lock held by another mutx-ops');
      expect(text).toMatch(/lock held by another mutx-ops: pid \d+/);
      await lock.release();
      await waitForFrame(ui, 'migration lock free');
    } finally {
      await holder.end();
    }

    // A verified backup taken elsewhere: its age appears.
    await backupDatabase(ctx, { verify: true });
    await waitForFrame(ui, /verified backup (just now|\d+ s ago)/);

    // The database stops answering: home says so (no crash), then recovers when it is back.
    await adminQuery(`ALTER DATABASE "${db.name}" ALLOW_CONNECTIONS false`);
    await adminQuery('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [db.name]);
    // (A read in flight as the sessions end may first say its connection broke; the next one cannot connect.)
    text = await waitForFrame(ui, /✖ cannot read the database: cannot connect to 127\.0\.0\.1:5432/);
    expect(text).toMatch(/verified backup just now · was at \w{12} (just now|\d+ s ago), retrying/);
    expect(text).toContain('? help · q quit');
    await adminQuery(`ALTER DATABASE "${db.name}" ALLOW_CONNECTIONS true`);
    text = await waitForFrame(ui, /vs head 9d3e71c2a5b8 · 1 pending migration/);
    expect(text).not.toContain('cannot read the database');
  });
});
