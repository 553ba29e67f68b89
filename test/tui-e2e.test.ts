/**
 * The interactive app in a real terminal: the built binary under tmux (100×30), driven with
 * send-keys, read with capture-pane, against a test database. Covers closing the terminal
 * mid-run and resuming, the `deploy` runbook (checklist, backup, upgrade, verify, logs) and
 * the `emergency-rollback` runbook, then checks what the database holds.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProjectSettings } from '../src/core/config';
import { AuditTrail } from '../src/core/audit';
import { parseTarget } from '../src/core/connection';
import { loadGraph, migrate } from '../src/core/migrations/operations';
import { BIN, createTestDatabase, createTestProject, REPO_ROOT, runCli, type TestDatabase, type TestProject } from './helpers/db';

const SESSION = `mutx-e2e-${process.pid}`;
const HEAD = '9d3e71c2a5b8';

let db: TestDatabase;
let project: TestProject;
let logFile: string;

function tmux(...args: string[]): string {
  return execFileSync('tmux', args, { encoding: 'utf8' });
}

function screen(): string {
  return tmux('capture-pane', '-p', '-t', SESSION);
}

async function waitForScreen(expected: string | RegExp, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let text = '';
    try {
      text = screen();
    } catch {
      text = '(no tmux session)';
    }
    if (typeof expected === 'string' ? text.includes(expected) : expected.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`the terminal never showed ${String(expected)}; it shows:\n${text}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Keys sent so far (issue 12 measures keystrokes from home to a finished emergency rollback). */
let keystrokes = 0;

async function keys(...sequence: string[]): Promise<void> {
  keystrokes += sequence.length;
  for (const key of sequence) {
    tmux('send-keys', '-t', SESSION, key);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

/** Opens mutx-ops in a fresh tmux session, as an operator would in a terminal. */
function launch(size = { columns: 100, rows: 30 }, args: string[] = [], extraEnv: string[] = []): void {
  const env = [`E2E_DATABASE_URL=${db.url}`, 'MUTX_OPERATOR=e2e', `MUTX_OPS_PREFS_DIR=${path.join(project.dir, '.prefs')}`, 'TERM=xterm-256color', ...extraEnv];
  // CI=true makes Ink print only the final frame; an operator's terminal has no CI variable.
  const command = `env -u CI -u CONTINUOUS_INTEGRATION ${env.join(' ')} node ${BIN} ${args.join(' ')}; echo "mutx-ops exited with $?"; sleep 300`;
  tmux('new-session', '-d', '-s', SESSION, '-x', String(size.columns), '-y', String(size.rows), '-c', project.dir, command);
}

function closeTerminal(): void {
  try {
    tmux('kill-session', '-t', SESSION);
  } catch {
    // already gone
  }
}

/** Waits until every run's process is gone (the closed terminal took mutx-ops with it). */
async function processesGone(timeoutMs = 10_000): Promise<void> {
  const dir = path.join(project.dir, '.mutx-ops', 'runs');
  const deadline = Date.now() + timeoutMs;
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (;;) {
    // Run states only (a run's .lock and its temporary files sit beside them).
    const pids = fs.readdirSync(dir).filter((name) => name.endsWith('.json')).map((name) => (JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as { pid: number }).pid);
    if (!pids.some(alive)) return;
    if (Date.now() > deadline) throw new Error(`mutx-ops (pid ${pids.join(', ')}) still running after the terminal closed`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A review prompt: enter pages on until its last line was on screen, then answers "reviewed" (the prompt goes). */
async function readReviewToTheEnd(title: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (screen().includes(`${title} ·`)) {
    if (Date.now() > deadline) throw new Error(`the review "${title}" never closed; screen:\n${screen()}`);
    await keys('Enter');
    await new Promise((resolve) => setTimeout(resolve, 350));
  }
}

async function revisions(): Promise<string[]> {
  return (await db.query<{ version_num: string }>('SELECT version_num FROM alembic_version')).rows.map((row) => row.version_num);
}

beforeAll(async () => {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run npm run build first (npm test does)`);
  db = await createTestDatabase('mutx_e2e');
  project = createTestProject({
    settings: ['lock_wait_seconds: 10', 'default_environment: staging', 'environments:', '  staging:', '    url_env: E2E_DATABASE_URL', '    log_source: logs/app.log', ''].join('\n'),
  });
  fs.mkdirSync(path.join(project.dir, 'runbooks'));
  for (const name of ['deploy', 'emergency-rollback']) fs.copyFileSync(path.join(REPO_ROOT, 'runbooks', `${name}.yaml`), path.join(project.dir, 'runbooks', `${name}.yaml`));
  fs.mkdirSync(path.join(project.dir, 'logs'));
  logFile = path.join(project.dir, 'logs', 'app.log');
  fs.writeFileSync(logFile, 'app started\n');
  // A database in service: the first revisions are applied, the release brings the rest.
  const settings = loadProjectSettings({ cwd: project.dir });
  const operator = { name: 'e2e', host: 'setup' };
  await migrate({ settings, operator, audit: new AuditTrail(settings.auditPath, operator), target: parseTarget({ url: db.url }) }, 'upgrade', '+4');
});

afterAll(async () => {
  closeTerminal();
  await db?.drop();
  project?.cleanup();
});

describe('mutx-ops without a terminal', () => {
  it('says the app needs a terminal and exits 2 (headless commands are the way)', async () => {
    const result = await runCli([], { cwd: project.dir, env: { E2E_DATABASE_URL: db.url } });
    expect(result.exitCode).toBe(2);
    expect(String(result.stderr).trim().split('\n')).toEqual(['mutx-ops: the interactive app needs a terminal (stdin/stdout is not a TTY); use the headless commands, e.g. `mutx-ops run deploy --yes` — see --help']);
  });
});

describe('mutx-ops in a real terminal (tmux)', () => {
  it('closing the terminal mid-run, then starting again, offers to resume the run at its step', async () => {
    launch();
    let text = await waitForScreen('pending migrations');
    expect(text).toContain('environment: staging');
    expect(text).toMatch(/revision \w{12} vs head 9d3e71c2a5b8 · 8 pending migrations/);
    // Emergencies first: emergency-rollback, then deploy.
    expect(text).toMatch(/› ⚠ emergency-rollback/);
    await keys('j', 'Enter');
    text = await waitForScreen('[ ] Database backed up');
    expect(text).toContain('● 2. Pre-migration checklist — waiting for you');
    expect(text).toContain('⏭ 1. Tell the channel a migration is starting — skipped');
    closeTerminal(); // the operator's terminal goes away (SIGHUP)
    await processesGone();

    launch();
    text = await waitForScreen(/↻ resume deploy at step 2\/8 "Pre-migration checklist"/);
    await waitForScreen('pending migrations');
    expect(text).toMatch(/› ↻ resume deploy/);
  });

  it('deploy: checklist ticked one by one, backup, code deploy, upgrade, verify, log watch', async () => {
    await keys('Enter');
    let text = await waitForScreen('[ ] Database backed up');
    expect(text).toContain('· resumed');
    await waitForScreen('[ ] Database backed up');
    await keys('Space');
    // "Review migration changes" opens the review of the pending revisions; enter pages to its end, then ticks it.
    text = await waitForScreen('Review migration changes ·', 30_000);
    expect(text).toMatch(/upgrade \w{12}: /);
    await readReviewToTheEnd('Review migration changes');
    for (const label of ['Tested in the staging environment', 'Maintenance window scheduled', 'Stakeholders notified']) {
      await waitForScreen(`[ ] ${label}`);
      await keys('Space');
    }
    // Before the first step that changes anything (the backup): the plan, confirmed with y only.
    text = await waitForScreen('Run this plan? Next: "Back up the database"', 30_000);
    expect(text).toMatch(/pg_dump --format=custom/);
    await keys('Enter');
    text = await waitForScreen('enter is not enough here');
    expect(fs.existsSync(path.join(project.dir, '.mutx-ops', 'backups'))).toBe(false);
    await keys('y');
    // The backup runs, then the manual code-deploy step asks to be confirmed.
    text = await waitForScreen('confirm when done', 60_000);
    expect(text).toMatch(/✔ 3\. Back up the database — done/);
    await keys('Enter');
    text = await waitForScreen('Press enter when satisfied', 60_000);
    expect(text).toMatch(/✔ 5\. Run the migrations \(timeout 300 s\) — done .*upgrade \w{12} → 9d3e71c2a5b8/);
    expect(text).toContain('✔ 6. Verify the migration — done');
    // The follower starts tailing (at the end of the file) as the prompt shows: under load the first
    // append can land before it opened the file, so append again (at most 3 error lines: below the threshold).
    for (let attempt = 0; ; attempt++) {
      fs.appendFileSync(logFile, 'GET / 200\nERROR payment webhook failed\n');
      try {
        text = await waitForScreen('✖ ERROR payment webhook failed', 5_000);
        break;
      } catch (error) {
        if (attempt >= 2) throw error;
      }
    }
    await keys('Enter');
    text = await waitForScreen('✔ run completed', 30_000);
    expect(text).toMatch(/✔ 7\. Monitor the application log for errors — done/);
    expect(await revisions()).toEqual([HEAD]);
    const backups = fs.readdirSync(path.join(project.dir, '.mutx-ops', 'backups')).filter((name) => name.endsWith('.meta.json'));
    expect(backups.length).toBe(1);
  });

  it('emergency-rollback: backup, downgrade -1, verify — the database is one revision down', async () => {
    await keys('Enter');
    let text = await waitForScreen('revision 9d3e71c2a5b8 (head)');
    await waitForScreen(/verified backup/);
    expect(text).toMatch(/verified backup (just now|\d+ min ago)/);
    // The cursor starts on the first entry: emergency-rollback (choosing it only shows its plan).
    text = await waitForScreen(/› ⚠ emergency-rollback/);
    const keystrokesAtHome = keystrokes;
    await keys('Enter');
    // The downgrade's review first: what it loses (user_identities and its rows), next to the restore alternative.
    text = await waitForScreen('Review what the rollback loses ·', 30_000);
    await readReviewToTheEnd('Review what the rollback loses');
    // The plan: the backup's destination, then downgrade head → previous. Enter (twice) changes nothing.
    text = await waitForScreen('Run this plan? Next: "Take a database backup immediately"', 30_000);
    const previousRevision = loadGraph(loadProjectSettings({ cwd: project.dir })).get(HEAD).revises[0]!;
    expect(text).toContain(`9d3e71c2a5b8 → ${previousRevision}: 1 revision`);
    expect(text).toMatch(/into \S*\.mutx-ops\/backups/);
    await keys('Enter', 'Enter');
    await waitForScreen('enter is not enough here');
    expect(await revisions()).toEqual([HEAD]);
    await keys('y');
    text = await waitForScreen('confirm when done', 60_000);
    expect(text).toMatch(/✔ 2\. Review what the rollback loses — done/);
    expect(text).toMatch(/✔ 3\. Take a database backup immediately — done/);
    expect(text).toMatch(/✔ 4\. Roll back the problematic migration (\[destructive\] )?— done .*downgrade 9d3e71c2a5b8 →/);
    expect(text).toContain('✔ 5. Verify the rollback — done');
    await keys('Enter');
    text = await waitForScreen('✔ run completed', 30_000);
    // The end says where the database is now, where its backup is, and what to run next.
    expect(text).toMatch(new RegExp(`database +\\S+ is at ${previousRevision} \\(was 9d3e71c2a5b8\\)`));
    expect(text).toMatch(/backup +\S*\.mutx-ops\/backups\//);
    expect(text).toMatch(/next +mutx-ops check/);
    // Minus the two Enters sent on purpose to show that Enter does not confirm the plan.
    const used = keystrokes - keystrokesAtHome - 2;
    console.log(`issue 12 measure: ${used} keystrokes from home to a finished emergency-rollback (100×30, review read to its end)`);
    expect(used).toBeLessThanOrEqual(6);
    const previous = loadGraph(loadProjectSettings({ cwd: project.dir })).get(HEAD).revises;
    expect(await revisions()).toEqual(previous);
    await keys('q');
    text = await waitForScreen('mutx-ops exited with 0');
    // The app ran on the alternate screen: what is left on the normal screen is the session's summary.
    expect(text).not.toContain('Runbooks');
    expect(text).toContain('mutx-ops session summary — staging · mutx_e2e_');
    const runIds = fs.readdirSync(path.join(project.dir, '.mutx-ops', 'runs')).filter((name) => /^\d{8}T\d{6}Z-.*\.json$/.test(name)).map((name) => name.replace(/\.json$/, ''));
    const rollbackId = runIds.find((id) => id.includes('-emergency-rollback-'));
    const deployId = runIds.find((id) => id.includes('-deploy-'));
    expect(text).toContain(`run ${deployId} (deploy, resumed): completed`);
    expect(text).toContain(`run ${rollbackId} (emergency-rollback): completed`);
    // Home's first reading (4 revisions applied) → after the deploy and the rollback.
    expect(text).toMatch(new RegExp(`database: \\w{12} → ${previous.join('\\+')}\\n`));
    // Joined (-J): a backup's path is longer than the terminal is wide.
    const taken = [...tmux('capture-pane', '-p', '-J', '-t', SESSION).matchAll(/backup taken: (\S+)/g)].map((m) => m[1]!);
    expect(taken.length).toBe(2);
    for (const file of taken) expect(fs.existsSync(file), file).toBe(true);
  });

  it('at 80×24: pasted filter text with its Enter in one chunk, the whole run id, q leaves the run paused and resumable', async () => {
    closeTerminal();
    launch({ columns: 80, rows: 24 });
    await waitForScreen('Runbooks');
    await keys('/');
    // One send-keys carrying the text and Enter: the way a paste (or a fast typist over SSH) arrives.
    tmux('send-keys', '-t', SESSION, 'emergency', 'Enter');
    let text = await waitForScreen('filter: emergency (esc clears)');
    expect(text).toMatch(/› ⚠ emergency-rollback/);
    const before = await revisions();
    await keys('Enter');
    text = await waitForScreen('Review what the rollback loses ·', 30_000);
    const runId = /run (\d{8}T\d{6}Z-emergency-rollback-[0-9a-f]{6})\b/.exec(text)?.[1];
    expect(runId, text).toBeDefined();
    await keys('q');
    text = await waitForScreen('Quit and leave the run paused?');
    expect(text).toContain(`mutx-ops run --resume ${runId}`);
    await keys('y');
    await waitForScreen('mutx-ops exited with 0', 20_000);
    // The summary on the normal screen says how to resume it (joined: the line may wrap at 80 columns).
    expect(tmux('capture-pane', '-p', '-J', '-t', SESSION)).toContain(`resume: mutx-ops run --resume ${runId}`);
    const runs = await runCli(['--json', 'runs'], { cwd: project.dir, env: { E2E_DATABASE_URL: db.url } });
    const run = (JSON.parse(String(runs.stdout)) as { runs: { id: string; status: string }[] }).runs.find((r) => r.id === runId);
    expect(run?.status).toBe('waiting');
    expect(await revisions()).toEqual(before);
  });

  it('SIGTERM: the app leaves the alternate screen and prints its summary (exit 143)', async () => {
    closeTerminal();
    launch();
    await waitForScreen('Runbooks');
    await waitForScreen(/revision \w{12}/);
    const panePid = Number(tmux('display-message', '-p', '-t', SESSION, '#{pane_pid}').trim());
    const app = fs.readFileSync(`/proc/${panePid}/task/${panePid}/children`, 'utf8').trim().split(/\s+/).map(Number)[0]!;
    process.kill(app, 'SIGTERM');
    const text = await waitForScreen('mutx-ops exited with 143');
    expect(text).not.toContain('Runbooks');
    expect(text).toMatch(/mutx-ops session summary — staging · mutx_e2e_\w+@127\.0\.0\.1:5432\n {2}database: at \w{12}/);
    expect(text).toContain('runs: none started');
  });

  it('`--database-url URL` and `--env NAME` with no command open the app on that target', async () => {
    const other = await createTestDatabase('shell_e2e_other');
    try {
      closeTerminal();
      launch({ columns: 100, rows: 30 }, ['--database-url', other.url]);
      let text = await waitForScreen('revision base (empty)');
      expect(text).toContain(`environment: (no environment: DATABASE_URL) · ${other.name}@127.0.0.1:5432`);
      expect(text).not.toContain('Usage: mutx-ops');
      await keys('q');
      await waitForScreen('mutx-ops exited with 0');
      // --env wins over DATABASE_URL, as for every command.
      closeTerminal();
      launch({ columns: 100, rows: 30 }, ['--env', 'staging'], [`DATABASE_URL=${other.url}`]);
      text = await waitForScreen(/revision \w{12}/);
      expect(text).toContain(`environment: staging · ${db.name}@127.0.0.1:5432`);
      await keys('q');
      await waitForScreen('mutx-ops exited with 0');
      // An environment that does not exist: one line, exit 2, no app.
      closeTerminal();
      launch({ columns: 100, rows: 30 }, ['--env', 'nope']);
      text = await waitForScreen('mutx-ops exited with 2');
      expect(text).toContain('mutx-ops: unknown environment "nope"');
    } finally {
      closeTerminal();
      await other.drop();
    }
  });

  it('resizing from large to small leaves no stale line; Ctrl+L draws the whole screen again', async () => {
    /** Home drawn once, whole: one header, one list, the footer last, nothing below it. */
    const expectCleanHome = (text: string) => {
      const lines = text.split('\n').map((line) => line.trimEnd());
      expect(lines.filter((line) => line.startsWith('environment: staging')), text).toHaveLength(1);
      expect(lines.filter((line) => line.startsWith('Runbooks')), text).toHaveLength(1);
      expect(lines.filter((line) => /⚠ emergency-rollback +Emergency/.test(line)), text).toHaveLength(1);
      const footer = lines.findIndex((line) => /\? help · q quit$/.test(line));
      expect(footer, text).toBeGreaterThan(0);
      expect(lines.slice(footer + 1).filter(Boolean), text).toEqual([]);
      expect(lines[0], text).toMatch(/^environment: staging/);
    };
    closeTerminal();
    launch({ columns: 130, rows: 45 });
    await waitForScreen(/revision \w{12}/);
    await waitForScreen('Runbooks');
    tmux('resize-window', '-t', SESSION, '-x', '80', '-y', '24');
    // The footer at 80 columns elides the home keys before its tail; then the screen settles clean.
    let text = await waitForScreen('… · ? help · q quit');
    const settled = Date.now() + 10_000;
    for (;;) {
      text = screen();
      try {
        expectCleanHome(text);
        break;
      } catch (error) {
        if (Date.now() > settled) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }

    // Something else writes over the app (a wall message, a background job): Ctrl+L cleans it up.
    const tty = tmux('display-message', '-p', '-t', SESSION, '#{pane_tty}').trim();
    fs.writeFileSync(tty, '\u001B[5;10HSTALE TEXT FROM ELSEWHERE\u001B[24;1H');
    await waitForScreen('STALE TEXT FROM ELSEWHERE');
    await keys('C-l');
    const deadline = Date.now() + 10_000;
    while ((text = screen()).includes('STALE TEXT')) {
      if (Date.now() > deadline) throw new Error(`Ctrl+L did not redraw; screen:\n${text}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expectCleanHome(text);
    await keys('q');
    await waitForScreen('mutx-ops exited with 0');
  });
});
