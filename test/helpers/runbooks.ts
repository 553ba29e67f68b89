import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { REPO_ROOT, type TestDatabase } from './db';

export const REPO_RUNBOOKS = path.join(REPO_ROOT, 'runbooks');

/** Project settings with a staging (plain) and production (protected) environment on the same test database. */
export function environmentsYaml(options: { runbooksDir?: string; extra?: string } = {}): string {
  const marker = (name: string) => `[node, -e, "require('fs').writeFileSync('${name}.done', 'ok')"]`;
  return `lock_wait_seconds: 10
runbooks_dir: ${options.runbooksDir ?? REPO_RUNBOOKS}
environments:
  staging:
    url_env: MUTX_TEST_DB_URL
    log_source: app.log
    commands:
      deploy: ${marker('deploy')}
      stop: ${marker('stop')}
      start: ${marker('start')}
      deploy_previous: ${marker('deploy_previous')}
  dev:
    url_env: MUTX_TEST_DB_URL
    log_source: app.log
  production:
    url_env: MUTX_TEST_DB_URL
    protected: true
    backup_max_age_minutes: 30
    log_source: app.log
${options.extra ?? ''}`;
}

/** A loopback HTTP server that records requests (webhooks, JWKS). */
export async function recordingServer(status = 200): Promise<{ url: string; requests: { method: string; url: string; body: string }[]; close(): Promise<void> }> {
  const requests: { method: string; url: string; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', body });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end('{"keys":[]}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as import('node:net').AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Appends lines to a log file on a timer, like an application would. */
export function logWriter(file: string, line: () => string, everyMs = 20): { stop(): void } {
  fs.appendFileSync(file, '');
  const timer = setInterval(() => fs.appendFileSync(file, `${line()}\n`), everyMs);
  return { stop: () => clearInterval(timer) };
}

/** Before each runbook test: an empty database, no backups, an empty app log. */
export async function resetRunbookTarget(db: TestDatabase, projectDir: string): Promise<void> {
  await db.query('DROP SCHEMA public CASCADE; DROP SCHEMA IF EXISTS mutx_ops CASCADE; CREATE SCHEMA public;');
  fs.rmSync(path.join(projectDir, '.mutx-ops', 'backups'), { recursive: true, force: true });
  fs.writeFileSync(path.join(projectDir, 'app.log'), '');
}
