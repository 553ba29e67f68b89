import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeConnectionError, parseTarget, redactSecrets } from '../src/core/connection';
import { MutxError } from '../src/core/errors';
import { createTestDatabase, createTestProject, runCli, type TestDatabase, type TestProject } from './helpers/db';
import { recordingServer } from './helpers/runbooks';

/**
 * Issue 15, item 10 (and 14's correctness half): secrets in webhook URLs, URLs that do not parse,
 * and SSL modes that an environment variable would quietly weaken.
 */
const TOKEN = 'XyzzyT0kenAbcdef1234';

describe('redactSecrets', () => {
  // The previous implementation: right, but quadratic on long words.
  const reference = (text: string) => text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)\S*@/gi, '$1***@');

  it('redacts exactly what the regular expression did (random text over the URL alphabet)', () => {
    const alphabet = fc.constantFrom('a', 'b', 'Z', '1', ':', '/', '@', ' ', '\n', '?', '#', '.', '+', '-', 'x');
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 60 }), (chars) => {
        const text = chars.join('');
        expect(redactSecrets(text)).toBe(reference(text));
      }),
      { numRuns: 3000 },
    );
    for (const text of ['postgresql://u:p@h/db', 'x mysql://root:pw@h:3306/d y', 'a://b:c@d@e f://g:h@i', 'postgresql://u@h/db', '1://u:p@h']) expect(redactSecrets(text)).toBe(reference(text));
  });
});

describe('URLs that do not parse are never echoed', () => {
  const message = (url: string) => {
    try {
      parseTarget({ url });
    } catch (error) {
      return (error as MutxError).message;
    }
    throw new Error('accepted');
  };

  it('a password with a space, ?password=, and an unparsable port', () => {
    expect(message(`postgresql://u:pa ss${TOKEN}@h:99999/db`)).not.toContain(TOKEN);
    expect(message(`postgresql://u@h:99999/db?password=${TOKEN}`)).not.toContain(TOKEN);
    expect(message(`postgresql://u:${TOKEN}@h:99999/db`)).toMatch(/invalid database URL "postgresql:\/\/u:\*\*\*@h:99999\/db"/);
    expect(message(`post gres://u:${TOKEN}@@h/db`)).not.toContain(TOKEN);
  });

  it('the CLI line says it is invalid, without the secret', async () => {
    const dir = createTestProject();
    try {
      const result = await runCli(['--database-url', `postgresql://u:pa ss${TOKEN}@h:99999/db`, 'current'], { cwd: dir.dir });
      expect(result.exitCode).toBe(2);
      expect(String(result.all)).toMatch(/invalid database URL/);
      expect(String(result.all)).not.toContain(TOKEN);
    } finally {
      dir.cleanup();
    }
  });
});

describe('SSL modes', () => {
  it('the verify-full error never advises disable', () => {
    const target = parseTarget({ url: 'postgresql://u@db.example/x', sslMode: 'verify-full', protected: true });
    const error = describeConnectionError(new Error('The server does not support SSL connections'), target, 5);
    expect(error.hint).not.toMatch(/disable/i);
  });

  it('DATABASE_SSL_MODE cannot weaken a protected environment (exit 2); a stricter one is fine', async () => {
    const p = createTestProject({ settings: 'environments:\n  production:\n    url_env: PROD_URL\n    ssl_mode: verify-full\n    protected: true\n' });
    try {
      const weak = await runCli(['--env', 'production', 'current'], { cwd: p.dir, env: { PROD_URL: 'postgresql://u@127.0.0.1:1/x', DATABASE_SSL_MODE: 'disable' } });
      expect(weak.exitCode).toBe(2);
      expect(String(weak.stderr)).toMatch(/DATABASE_SSL_MODE=disable would weaken protected environment "production" \(ssl_mode: verify-full\)/);
      const same = await runCli(['--env', 'production', 'current'], { cwd: p.dir, env: { PROD_URL: 'postgresql://u@127.0.0.1:1/x', DATABASE_SSL_MODE: 'verify-full' } });
      expect(String(same.stderr)).not.toMatch(/would weaken/);
    } finally {
      p.cleanup();
    }
  });
});

describe('webhook and health-check URLs', () => {
  let db: TestDatabase;
  let project: TestProject;
  let hook: Awaited<ReturnType<typeof recordingServer>>;
  beforeAll(async () => {
    db = await createTestDatabase('mutx_secrets_hook');
    hook = await recordingServer(500);
    project = createTestProject({ settings: `lock_wait_seconds: 10\nrunbooks_dir: books\n` });
    fs.mkdirSync(path.join(project.dir, 'books'));
    fs.writeFileSync(
      path.join(project.dir, 'books', 'leaky.yaml'),
      `name: leaky
title: Leaky hooks
category: maintenance
description: A command that prints the webhook, a health check and a notify that fails.
steps:
  - id: echo
    title: Print the hook
    type: command
    text: prints the variable
    command: [node, -e, "console.log('hook is ' + process.env.MUTX_OPS_WEBHOOK_URL)"]
    pass_env: [MUTX_OPS_WEBHOOK_URL]
  - id: health
    title: Health
    type: http-check
    text: the health URL answers 500
    url_env: HEALTH_URL
    expect_status: 500
  - id: announce
    title: Tell the channel
    type: notify
    text: the webhook answers 500
    message: hello
    required: true
`,
    );
  });
  afterAll(async () => {
    await hook?.close();
    await db?.drop();
    project?.cleanup();
  });

  it('the path token never reaches output, the audit trail or run state', async () => {
    const env = { MUTX_OPS_WEBHOOK_URL: `${hook.url}/services/T000/B000/${TOKEN}`, HEALTH_URL: `${hook.url}/health/${TOKEN}x?key=${TOKEN}y` };
    const result = await runCli(['--database-url', db.url, 'run', 'leaky', '--yes', '--on-failure', 'abort'], { cwd: project.dir, env });
    expect(hook.requests.map((r) => r.url)).toContain(`/services/T000/B000/${TOKEN}`);
    expect(String(result.all), String(result.all)).toMatch(/answered 500/);
    expect(String(result.all)).toMatch(/hook is \S*\*\*\*/);
    expect(String(result.all)).not.toContain(TOKEN);
    const state = path.join(project.dir, '.mutx-ops');
    expect(fs.readFileSync(path.join(state, 'audit.jsonl'), 'utf8')).not.toContain(TOKEN);
    const runs = fs.readdirSync(path.join(state, 'runs'));
    expect(runs.length).toBeGreaterThan(0);
    for (const name of runs) expect(fs.readFileSync(path.join(state, 'runs', name), 'utf8')).not.toContain(TOKEN);
  });

  it('a webhook URL that does not parse is refused without being shown', async () => {
    const result = await runCli(['--database-url', db.url, 'run', 'leaky', '--yes', '--on-failure', 'abort'], { cwd: project.dir, env: { MUTX_OPS_WEBHOOK_URL: `ht tp://x/${TOKEN}`, HEALTH_URL: `${hook.url}/h` } });
    expect(result.exitCode).not.toBe(0);
    expect(String(result.all)).toMatch(/\$MUTX_OPS_WEBHOOK_URL is not a valid URL/);
    expect(String(result.all)).not.toContain(TOKEN);
  });
});
