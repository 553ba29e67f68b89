import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProjectSettings, type ProjectSettings } from '../src/core/config';
import { isRoot } from '../src/core/localCluster';
import { destroySandbox, sandboxStatus, startSandbox, stopSandbox } from '../src/core/sandbox';
import { createTestProject, type TestProject } from './helpers/db';

/**
 * Issue 15, item 7: the practice sandbox is a trust-auth superuser, so it must be reachable by its
 * own OS user only: no TCP at all, a Unix socket in a 0700 folder. Another OS user (`nobody`) tries
 * both the loopback port and the socket, with psql, and is refused; we (the owner) get in.
 */
let project: TestProject;
let settings: ProjectSettings;
let port: number;
let socketDir: string;

const psqlAs = (user: string | undefined, host: string) => {
  const args = ['-X', '-w', '-h', host, '-p', String(port), '-U', 'postgres', '-d', 'mutx', '-tAc', 'SELECT 42'];
  return user ? execa('runuser', ['-u', user, '--', 'psql', ...args], { reject: false, cwd: '/', env: { PGCONNECT_TIMEOUT: '3' } }) : execa('psql', args, { reject: false, env: { PGCONNECT_TIMEOUT: '3' } });
};

describe.skipIf(!isRoot())('another OS user cannot reach the sandbox', () => {
  beforeAll(async () => {
    project = createTestProject();
    settings = loadProjectSettings({ cwd: project.dir });
    await startSandbox(settings);
    const status = await sandboxStatus(settings);
    port = status.port!;
    socketDir = decodeURIComponent(/@([^:]+):/.exec(status.url!)![1]!);
  }, 120_000);
  afterAll(async () => {
    if (settings) await destroySandbox(settings);
    project?.cleanup();
  });

  it('the owner connects through the socket; the socket folder is 0700', async () => {
    const mine = await psqlAs(undefined, socketDir);
    expect(mine.stdout.trim(), mine.stderr).toBe('42');
    expect(fs.statSync(socketDir).mode & 0o777).toBe(0o700);
  });

  it('nobody: no TCP listener on 127.0.0.1, and the socket folder is closed to them', async () => {
    const tcp = await psqlAs('nobody', '127.0.0.1');
    expect(tcp.exitCode).not.toBe(0);
    expect(tcp.stdout).not.toContain('42');
    expect(tcp.stderr).toMatch(/Connection refused|could not connect/i);
    const socket = await psqlAs('nobody', socketDir);
    expect(socket.exitCode).not.toBe(0);
    expect(socket.stdout).not.toContain('42');
    expect(socket.stderr).toMatch(/Permission denied/i);
  });

  it('a socket folder left by a server that died is removed at the next start; a stop removes its own', async () => {
    const left = fs.mkdtempSync(path.join(os.tmpdir(), 'mutx-sandbox-'));
    fs.writeFileSync(path.join(left, '.s.PGSQL.5999.lock'), '999999999\n/gone\n');
    fs.writeFileSync(path.join(left, '.s.PGSQL.5999'), '');
    await stopSandbox(settings);
    expect(fs.existsSync(socketDir), 'stop left its socket folder').toBe(false);
    await startSandbox(settings);
    expect(fs.existsSync(left), 'the dead server\'s socket folder is still there').toBe(false);
  }, 60_000);
});
