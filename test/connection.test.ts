import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTarget, redactSecrets } from '../src/core/connection';
import { initLocalCluster, type LocalCluster } from '../src/core/localCluster';
import { createTestDatabase, createTestProject, runCli, type TestDatabase, type TestProject } from './helpers/db';

const SECRET = 'Pa55-w0rd-that-must-not-leak';
let project: TestProject;
let db: TestDatabase;
let cluster: LocalCluster;
let silentServer: net.Server;
let silentPort: number;

beforeAll(async () => {
  project = createTestProject({ settings: 'connect_timeout_seconds: 1\n' });
  db = await createTestDatabase();
  cluster = await initLocalCluster({ password: SECRET });
  // Accepts TCP connections and never answers: what a black-holed host looks like.
  silentServer = net.createServer(() => {});
  await new Promise<void>((resolve) => silentServer.listen(0, '127.0.0.1', resolve));
  silentPort = (silentServer.address() as net.AddressInfo).port;
}, 60_000);
afterAll(async () => {
  silentServer.close();
  await cluster?.destroy();
  await db.drop();
  project.cleanup();
});

const cli = (url: string, env: Record<string, string> = {}) => runCli(['--database-url', url, 'current'], { cwd: project.dir, env });

function expectOneLine(result: { exitCode?: number; stderr: unknown; all?: unknown }, pattern: RegExp) {
  expect(result.exitCode).toBe(2);
  const lines = String(result.stderr).trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(String(result.all)).not.toContain(SECRET);
}

describe('connection errors: one line, exit 2, no secret', () => {
  it('wrong password', async () => {
    const result = await cli(cluster.url().replace(encodeURIComponent(SECRET), 'wrong-password-123'));
    expectOneLine(result, /password authentication failed for user "postgres" on 127\.0\.0\.1:\d+/);
    expect(String(result.all)).not.toContain('wrong-password-123');
  });

  it('right password works against a scram cluster', async () => {
    const result = await cli(cluster.url());
    expect(result.exitCode, String(result.all)).toBe(0);
    expect(String(result.all)).not.toContain(SECRET);
  });

  it('connection refused', async () => {
    const port = cluster.port;
    await cluster.stop();
    try {
      expectOneLine(await cli(`postgresql://postgres:${SECRET}@127.0.0.1:${port}/postgres`), /cannot connect to 127\.0\.0\.1:\d+: connection refused/);
    } finally {
      await cluster.start();
    }
  });

  it('unreachable host times out fast', async () => {
    const started = Date.now();
    const result = await cli(`postgresql://postgres:${SECRET}@127.0.0.1:${silentPort}/postgres`);
    expectOneLine(result, /no answer from 127\.0\.0\.1:\d+ within 1s/);
    expect(Date.now() - started).toBeLessThan(8000);
  });

  it('bad URLs and SSL modes', async () => {
    expectOneLine(await cli(`mysql://root:${SECRET}@localhost/db`), /scheme "mysql:" is not postgresql:/);
    expectOneLine(await cli(`postgresql://u:${SECRET}@host:99999/db`), /invalid database URL "postgresql:\/\/u:\*\*\*@host:99999\/db"/);
    expectOneLine(await cli(db.url, { DATABASE_SSL_MODE: 'sometimes' }), /invalid SSL mode "sometimes"/);
    // The local server runs without SSL: require must say so rather than fall back silently.
    expectOneLine(await cli(db.url, { DATABASE_SSL_MODE: 'require' }), /does not accept SSL but SSL mode is require/);
  });

  it('a missing database', async () => {
    expectOneLine(await cli(db.url.replace(db.name, 'no_such_db_here')), /database "no_such_db_here" does not exist/);
  });

  it('no database configured at all', async () => {
    const result = await runCli(['current'], { cwd: project.dir, env: { DATABASE_URL: '' } });
    expect(result.exitCode).toBe(2);
    expect(String(result.stderr)).toMatch(/no database given — set DATABASE_URL/);
  });
});

describe('redaction', () => {
  it('never shows the password of a URL', () => {
    const target = parseTarget({ url: `postgresql://app:${encodeURIComponent(SECRET)}@db.example:6432/mutx?sslmode=require` });
    expect(target).toMatchObject({ host: 'db.example', port: 6432, database: 'mutx', user: 'app', password: SECRET, sslMode: 'require' });
    expect(target.redacted).toBe('postgresql://app:***@db.example:6432/mutx');
    expect(redactSecrets(`failed for postgres://app:${SECRET}@h/db`)).toBe('failed for postgres://app:***@h/db');
  });
});
