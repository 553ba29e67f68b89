/**
 * Secrets and file modes (shared by the reliability scenarios `secrets` and `permissions` and by
 * their fast subset in test/backupPrivacy.test.ts).
 *
 * Secrets: a role with a known password owns its own test database and every command gets the
 * password through DATABASE_URL. While the commands run (pg_dump, pg_restore and psql among
 * them) the argv of every process on the machine (/proc/PID/cmdline) is scanned over and over;
 * afterwards every stdout/stderr (failing commands, --json and --debug included), every file of
 * the project (audit trail, backups and their sidecars, run state, preferences), the audit mirror
 * in the database and every frame the interactive app rendered. The password must appear nowhere,
 * in any form (as typed, URL-encoded, fully percent-encoded).
 *
 * File modes: under any umask, backups, sidecars, the audit trail and run state are 0600 and
 * their folders 0700 — after backups in every format, restores, verification, pruning and runs.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execa, type Result } from 'execa';
import pg from 'pg';
import { cleanup as cleanupInk } from 'ink-testing-library';
import { listBackups } from '../../src/core/backup';
import { loadProjectSettings } from '../../src/core/config';
import { KEY, press, realServices, renderApp, type, waitForFrame, type Rendered } from '../../src/ui/testing/harness';
import { adminQuery, BIN, createTestDatabase, createTestProject, type TestDatabase, type TestProject } from '../helpers/db';
import { REPO_RUNBOOKS } from '../helpers/runbooks';
import { privateModeProblems } from './backupFaults';
import { cli, sleep, type Rng } from './support';

// ---------------------------------------------------------------------------------------
// The secret and where it must not appear

/** Characters that URL encoding changes (/, @, %, !), so the encoded forms differ from the typed one. */
export const SECRET_PASSWORD = 'Sup3r-S3cret-pw!/@%';

/** Every form the password could leak in; the last is a fragment any of them contains. */
export function secretForms(password = SECRET_PASSWORD): string[] {
  const full = (upper: boolean) =>
    [...password].map((ch) => (/[A-Za-z0-9]/.test(ch) ? ch : `%${ch.charCodeAt(0).toString(16).padStart(2, '0')[upper ? 'toUpperCase' : 'toLowerCase']()}`)).join('');
  return [...new Set([password, encodeURIComponent(password), full(true), full(false), JSON.stringify(password).slice(1, -1), 'Sup3r-S3cret'])];
}

/** The forms found in `text` (none is the pass). */
export function findSecret(text: string, forms = secretForms()): string[] {
  return forms.filter((form) => text.includes(form));
}

/** A description of a leak that does not itself carry the secret into the report. */
function redact(text: string, forms = secretForms()): string {
  let out = text;
  for (const form of forms) out = out.split(form).join('<PASSWORD>');
  return out;
}

export interface SecretTarget {
  role: string;
  password: string;
  db: TestDatabase;
  /** postgresql://ROLE:PASSWORD@127.0.0.1:5432/DB (password URL-encoded). */
  url: string;
  project: TestProject;
  close(): Promise<void>;
}

/**
 * A role with the password owning a fresh test database (pg_hba is trust here: the password is
 * not checked, but it is passed everywhere), a project with the MUTX migrations, and a filler
 * table of `rows` rows so that pg_dump and pg_restore run long enough to be seen.
 */
export async function createSecretTarget(rows: number): Promise<SecretTarget> {
  const role = `mutx_secret_${crypto.randomBytes(4).toString('hex')}`;
  const password = SECRET_PASSWORD;
  // CREATEDB: `backup verify --restore-test` restores into a scratch database of its own.
  await adminQuery(`CREATE ROLE ${role} LOGIN CREATEDB PASSWORD '${password.replace(/'/g, "''")}'`);
  const db = await createTestDatabase('mutx_rel_secret');
  await adminQuery(`ALTER DATABASE "${db.name}" OWNER TO ${role}`);
  const url = `postgresql://${role}:${encodeURIComponent(password)}@127.0.0.1:5432/${db.name}`;
  const project = createTestProject({ settings: `lock_wait_seconds: 10\nrunbooks_dir: ${REPO_RUNBOOKS}\n` });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE TABLE filler (id int PRIMARY KEY, payload text NOT NULL); INSERT INTO filler SELECT g, md5(g::text) || md5((g + 1)::text) FROM generate_series(1, ${rows}) g`);
  } finally {
    await client.end();
  }
  return {
    role,
    password,
    db,
    url,
    project,
    close: async () => {
      await db.drop();
      // Scratch databases of --restore-test (dropped by mutx-ops; here too in case it failed).
      const owned = await adminQuery<{ datname: string }>('SELECT datname FROM pg_database WHERE datdba = (SELECT oid FROM pg_roles WHERE rolname = $1)', [role]);
      for (const { datname } of owned.rows) await adminQuery(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
      await adminQuery(`DROP ROLE IF EXISTS ${role}`);
      project.cleanup();
    },
  };
}

// ---------------------------------------------------------------------------------------
// Every process's argv, scanned again and again while the commands run

const TOOLS = ['pg_dump', 'pg_restore', 'psql'] as const;
type Tool = (typeof TOOLS)[number];

export class ArgvScanner {
  scans = 0;
  hits: string[] = [];
  /** Scans during which one of the tools was running against the test database. */
  readonly toolScans: Record<Tool, number> = { pg_dump: 0, pg_restore: 0, psql: 0 };
  /** Processes whose argv the operator filled (a --database-url URL): not mutx-ops' doing. Their children are scanned. */
  private readonly exempt = new Set<number>();
  private readonly hitPids = new Set<number>();
  private stopped = false;
  private loop?: Promise<void>;

  constructor(
    private readonly database: string,
    private readonly forms = secretForms(),
  ) {}

  start(): void {
    this.loop = (async () => {
      while (!this.stopped) {
        this.scan();
        await sleep(4);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    this.scan();
  }

  exemptPid(pid: number | undefined): void {
    if (pid !== undefined) this.exempt.add(pid);
  }

  /** Leaks found by pid (used by the planted control). */
  sawPid(pid: number): boolean {
    return this.hitPids.has(pid);
  }

  scan(): void {
    this.scans++;
    const running = new Set<Tool>();
    for (const name of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      let argv: string;
      try {
        argv = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8');
      } catch {
        continue; // exited meanwhile
      }
      const pid = Number(name);
      if (!this.exempt.has(pid) && findSecret(argv, this.forms).length > 0 && !this.forkOfExempt(pid, argv)) {
        if (!this.hitPids.has(pid)) this.hits.push(`pid ${pid}: ${redact(argv.replace(/\0/g, ' '), this.forms).slice(0, 300)}`);
        this.hitPids.add(pid);
      }
      const tool = TOOLS.find((t) => path.basename(argv.split('\0')[0] ?? '') === t);
      if (tool && !running.has(tool)) {
        try {
          if (fs.readFileSync(`/proc/${name}/environ`, 'utf8').split('\0').includes(`PGDATABASE=${this.database}`)) running.add(tool);
        } catch {
          // exited meanwhile
        }
      }
    }
    for (const tool of running) this.toolScans[tool]++;
  }

  /**
   * Between fork and exec, a child (the pg_dump about to start) still shows its parent's argv:
   * an exempted parent's URL seen there for a moment is the parent's argv, not the child's.
   */
  private forkOfExempt(pid: number, argv: string): boolean {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!this.exempt.has(ppid) || fs.readFileSync(`/proc/${ppid}/cmdline`, 'utf8') !== argv) return false;
    } catch {
      return false;
    }
    return true;
  }

  /**
   * Forgets a planted control's hits: its own, and a forked child's that still shows its argv
   * between fork and exec (another pid, the same marker).
   */
  forget(pid: number, marker: string): void {
    this.hits = this.hits.filter((hit) => !hit.startsWith(`pid ${pid}:`) && !hit.includes(marker));
  }
}

/** Proves the scanner sees a password in a process's argv (else every scan below proves nothing). */
export async function plantedControl(scanner: ArgvScanner, password: string): Promise<string[]> {
  const planted = execa('sh', ['-c', 'sleep 0.4', 'planted-control', `--password=${password}`], { reject: false });
  await planted;
  if (!planted.pid || !scanner.sawPid(planted.pid)) return ['the argv scanner did not see a password planted in a test process: the scan cannot be trusted'];
  scanner.forget(planted.pid, 'planted-control');
  return [];
}

// ---------------------------------------------------------------------------------------
// The commands, their output, the files and the app's frames

export interface Captured {
  label: string;
  text: string;
}

export interface SecretsRun {
  problems: string[];
  commands: number;
  scans: number;
  toolScans: Record<Tool, number>;
  frames: number;
  files: number;
}

function capture(label: string, result: Result): Captured {
  return { label: `${label} (exit ${result.exitCode})`, text: `${String(result.stdout ?? '')}\n${String(result.stderr ?? '')}` };
}

/** Every file under `dir`, scanned as bytes (latin1 keeps every byte). */
export function scanFiles(dir: string, forms = secretForms()): { files: number; problems: string[] } {
  const problems: string[] = [];
  let files = 0;
  const walk = (current: string) => {
    for (const name of fs.readdirSync(current)) {
      const full = path.join(current, name);
      const stat = fs.lstatSync(full);
      if (stat.isDirectory()) walk(full);
      else if (stat.isFile()) {
        files++;
        const content = fs.readFileSync(full).toString('latin1');
        const utf8 = fs.readFileSync(full, 'utf8');
        const found = [...new Set([...findSecret(content, forms), ...findSecret(utf8, forms)])];
        if (found.length) problems.push(`${path.relative(dir, full)} contains the password (${found.length} form(s))`);
      }
    }
  };
  walk(dir);
  return { files, problems };
}

/** The interactive app over the secret URL: home, backups, audit, history and a run; every frame kept. */
async function appFrames(target: SecretTarget, full: boolean): Promise<{ frames: string[]; problems: string[] }> {
  const problems: string[] = [];
  const frames: string[] = [];
  const keep = (ui: Rendered) => frames.push(...ui.frames);
  const { services } = realServices({ projectDir: target.project.dir, url: target.url });
  const ui = renderApp(services);
  try {
    await waitForFrame(ui, /PostgreSQL \d+/);
    await waitForFrame(ui, 'Runbooks');
    if (!ui.frames.some((f) => f.includes(`postgresql://${target.role}:***@127.0.0.1`))) problems.push('the app never showed the target (redacted): the frames prove nothing');
    for (const [key, title] of [['b', 'Backups'], ...(full ? [['a', 'Audit trail'], ['h', 'History']] : [])] as const) {
      await press(ui, key);
      await waitForFrame(ui, title);
      await sleep(150);
      await press(ui, KEY.escape);
      await waitForFrame(ui, 'Runbooks');
    }
    if (full) {
      await press(ui, '/');
      await type(ui, 'status');
      await press(ui, KEY.enter, KEY.enter);
      await waitForFrame(ui, '✔ run completed', 30_000);
    }
  } catch (error) {
    problems.push(`the app: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  } finally {
    keep(ui);
    ui.unmount();
  }
  // A target whose database does not exist: the app opens and says so.
  const wrong = realServices({ projectDir: target.project.dir, url: target.url.replace(/\/[^/]+$/, '/no_such_database_x') });
  const broken = renderApp(wrong.services);
  try {
    await waitForFrame(broken, /does not exist|cannot|failed/i, 15_000);
  } catch (error) {
    problems.push(`the app on a missing database: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  } finally {
    keep(broken);
    broken.unmount();
    cleanupInk();
  }
  return { frames, problems };
}

/**
 * Runs the commands (the full list, or the fast subset's) with the password in DATABASE_URL
 * while the scanner watches every process, then scans outputs, files, the audit mirror and frames.
 */
export async function secretsRun(target: SecretTarget, options: { full: boolean }): Promise<SecretsRun> {
  const problems: string[] = [];
  const forms = secretForms(target.password);
  const outputs: Captured[] = [];
  const scanner = new ArgvScanner(target.db.name, forms);
  scanner.start();
  const env = { DATABASE_URL: target.url };
  const wrongDb = target.url.replace(/\/[^/]+$/, '/no_such_database_x');
  const wrongPort = target.url.replace(':5432/', ':1/');
  const run = async (label: string, args: string[], extraEnv: Record<string, string | undefined> = env, exemptArgv = false) => {
    const child = cli(args, { cwd: target.project.dir, env: extraEnv, timeout: 120_000 });
    if (exemptArgv) scanner.exemptPid(child.pid);
    const result = await child;
    outputs.push(capture(label, result));
    return result;
  };
  const must = async (label: string, args: string[], extraEnv?: Record<string, string | undefined>) => {
    const result = await run(label, args, extraEnv);
    if (result.exitCode !== 0) problems.push(`${label} exited ${result.exitCode}: ${redact(String(result.all ?? ''), forms).trim().split('\n').at(-1)}`);
    return result;
  };
  let frames: string[] = [];
  try {
    problems.push(...(await plantedControl(scanner, target.password)));

    await must('upgrade head', ['upgrade', 'head']);
    await must('current -v', ['current', '-v']);
    const plain = await must('--json backup --format plain', ['--json', 'backup', '--format', 'plain', '--label', 'secret test']);
    const custom = await must('backup', ['backup']);
    await must('restore latest --yes (the custom backup: pg_restore | psql)', ['restore', 'latest', '--yes', ...(options.full ? [] : ['--no-safety-backup'])]);
    await must('--json backups', ['--json', 'backups']);
    await must('--json run status --yes', ['--json', 'run', 'status', '--yes']);
    await must('--json audit show', ['--json', 'audit', 'show', '--last', '200']);
    // Failing commands: the error lines name the target, never its password.
    await run('current on a missing database', ['current'], { DATABASE_URL: wrongDb });
    await run('--json backup on a missing database', ['--json', 'backup'], { DATABASE_URL: wrongDb });
    await run('--debug current on a missing database', ['--debug', 'current'], { DATABASE_URL: wrongDb });
    if (options.full) {
      await must('--json current -v', ['--json', 'current', '-v']);
      await must('backup --format directory --jobs 2', ['backup', '--format', 'directory', '--jobs', '2']);
      await must('backups', ['backups']);
      await must('backup verify latest --restore-test', ['backup', 'verify', 'latest', '--restore-test']);
      await must('--json backup verify latest', ['--json', 'backup', 'verify', 'latest']);
      const plainFile = (JSON.parse(String(plain.stdout)) as { file: string }).file;
      await must('--json restore PLAIN --yes --no-safety-backup (psql)', ['--json', 'restore', plainFile, '--yes', '--no-safety-backup']);
      const customFile = /^backup (\S+)$/m.exec(String(custom.stdout))?.[1];
      if (customFile) await must('restore NAME --yes (looked up in the backups folder)', ['restore', path.basename(customFile), '--yes']);
      await must('run emergency-rollback --yes', ['run', 'emergency-rollback', '--yes']);
      await run('check (not at head: exit 3)', ['check']);
      await must('runs', ['runs']);
      const runs = await must('--json runs', ['--json', 'runs']);
      const runId = (JSON.parse(String(runs.stdout)) as { runs: { id: string }[] }).runs[0]?.id;
      if (runId) {
        await must('runs show', ['runs', 'show', runId]);
        await must('runs show --format md', ['runs', 'show', runId, '--format', 'md']);
      }
      await must('audit show', ['audit', 'show', '--last', '200']);
      await must('audit verify', ['audit', 'verify']);
      await must('backups prune --keep 2', ['backups', 'prune', '--keep', '2']);
      await must('upgrade head', ['upgrade', 'head']);
      await run('restore latest --yes on a missing database', ['restore', 'latest', '--yes'], { DATABASE_URL: wrongDb });
      await run('run status --yes on a missing database', ['run', 'status', '--yes'], { DATABASE_URL: wrongDb });
      await run('--json --debug backup, connection refused', ['--json', '--debug', 'backup'], { DATABASE_URL: wrongPort });
      await run('current as an unknown role', ['current'], { DATABASE_URL: target.url.replace(`//${target.role}:`, '//no_such_role_x:') });
      await run('current with a bad port in the URL', ['current'], { DATABASE_URL: target.url.replace(':5432/', ':99999/') });
      await run('upgrade an unknown revision', ['upgrade', 'nope_not_a_revision']);
      await run('restore a missing file', ['restore', '/nonexistent/backup.dump', '--yes']);
      // The password only in PGPASSWORD (the URL without it).
      await must('current -v, password in PGPASSWORD', ['current', '-v'], { DATABASE_URL: target.url.replace(/:[^:@/]+@/, '@'), PGPASSWORD: target.password });
      await must('--json backup, password in PGPASSWORD', ['--json', 'backup'], { DATABASE_URL: target.url.replace(/:[^:@/]+@/, '@'), PGPASSWORD: target.password });
      // --database-url puts the password in mutx-ops' own argv (the operator's choice, exempted);
      // its children (pg_dump) are still scanned, and its output must still not show it.
      await run('--database-url URL backup', ['--database-url', target.url, 'backup'], {}, true);
      await run('--database-url WRONG --json current', ['--database-url', wrongDb, '--json', 'current'], {}, true);
    }
    const app = await appFrames(target, options.full);
    frames = app.frames;
    problems.push(...app.problems);
  } finally {
    await scanner.stop();
  }

  // Argv of every process, all along.
  for (const hit of scanner.hits) problems.push(`argv of a running process contains the password: ${hit}`);
  if (scanner.toolScans.pg_dump === 0) problems.push('the scanner never saw pg_dump running: make the database bigger');
  if (scanner.toolScans.pg_restore === 0) problems.push('the scanner never saw pg_restore running: make the database bigger');
  // Outputs: stdout and stderr of every command.
  for (const out of outputs) if (findSecret(out.text, forms).length) problems.push(`output of ${out.label} contains the password: ${JSON.stringify(redact(out.text, forms).slice(0, 200))}`);
  if (!outputs.some((out) => out.text.includes(`${target.role}:***@`))) problems.push('no output showed the redacted target: the output checks prove nothing');
  // Files: audit trail, backups and sidecars, run state, preferences — every file of the project.
  const files = scanFiles(target.project.dir, forms);
  problems.push(...files.problems);
  if (!fs.existsSync(path.join(target.project.dir, '.mutx-ops', 'audit.jsonl'))) problems.push('no audit trail was written');
  if (listBackups(loadProjectSettings({ cwd: target.project.dir })).length === 0) problems.push('no backup is catalogued: the sidecars were not scanned');
  // The audit mirror and the ledger in the database.
  for (const table of ['mutx_ops.audit', 'mutx_ops.ledger']) {
    const rows = await target.db.query<{ t: string }>(`SELECT coalesce(string_agg(t::text, E'\\n'), '') AS t FROM ${table} t`).catch(() => ({ rows: [{ t: '' }] }));
    if (findSecret(rows.rows[0]!.t, forms).length) problems.push(`table ${table} contains the password`);
  }
  // Frames of the interactive app.
  const framesWithSecret = frames.filter((f) => findSecret(f, forms).length > 0);
  if (framesWithSecret.length) problems.push(`${framesWithSecret.length} frame(s) of the app show the password: ${JSON.stringify(redact(framesWithSecret[0]!, forms).slice(0, 300))}`);
  return { problems, commands: outputs.length, scans: scanner.scans, toolScans: { ...scanner.toolScans }, frames: frames.length, files: files.files };
}

// ---------------------------------------------------------------------------------------
// File modes under any umask

export interface PermissionFixture {
  db: TestDatabase;
  project: TestProject;
  stateDir: string;
  close(): Promise<void>;
}

export async function createPermissionFixture(): Promise<PermissionFixture> {
  const db = await createTestDatabase('mutx_rel_perms');
  const project = createTestProject({ settings: `lock_wait_seconds: 10\nrunbooks_dir: ${REPO_RUNBOOKS}\n` });
  await db.query('CREATE TABLE filler (id int PRIMARY KEY, payload text NOT NULL); INSERT INTO filler SELECT g, md5(g::text) FROM generate_series(1, 5000) g');
  return {
    db,
    project,
    stateDir: path.join(project.dir, '.mutx-ops'),
    close: async () => {
      await db.drop();
      project.cleanup();
    },
  };
}

/** The built CLI under a given umask (sh sets it, then execs node). */
export function cliWithUmask(fx: PermissionFixture, umask: string, args: string[]) {
  return execa('sh', ['-c', `umask ${umask} && exec "$0" "$@"`, process.execPath, BIN, '--database-url', fx.db.url, ...args], {
    cwd: fx.project.dir,
    env: { MUTX_OPERATOR: 'tester', MUTX_OPS_PREFS_DIR: path.join(fx.project.dir, '.prefs') },
    extendEnv: true,
    reject: false,
    all: true,
    stdin: 'ignore',
    timeout: 120_000,
  });
}

export interface PermissionOp {
  name: string;
  args: string[];
  /** Folders (relative to the state folder) the command creates or tightens, loosened before it runs (0755). */
  loosen?: string[];
  /** Needs a backup that is not a safety backup (`latest`): one is taken first when prune left none. */
  needsBackup?: boolean;
  /** Checks beyond the modes (e.g. prune removed something). */
  expect?: (fx: PermissionFixture, before: number, after: number) => string | undefined;
}

const backupCount = (fx: PermissionFixture) => listBackups(loadProjectSettings({ cwd: fx.project.dir })).length;

/** A seeded sequence of operations that write into the state folder. */
export function permissionOps(rng: Rng, count: number): PermissionOp[] {
  const ops: PermissionOp[] = [];
  const pool: (() => PermissionOp)[] = [
    () => {
      const format = rng.pick(['custom', 'plain', 'directory'] as const);
      return { name: `backup --format ${format}`, args: ['backup', '--format', format, ...(format === 'directory' ? ['--jobs', '2'] : [])], loosen: rng.chance(0.5) ? ['backups'] : undefined };
    },
    () => ({ name: 'restore latest --yes (safety backup)', args: ['restore', 'latest', '--yes'], needsBackup: true }),
    () => ({ name: 'backup verify latest --restore-test (sidecar rewritten)', args: ['backup', 'verify', 'latest', '--restore-test'], needsBackup: true }),
    () => {
      const keep = rng.int(1, 2);
      return {
        name: `backups prune --keep ${keep}`,
        args: ['backups', 'prune', '--keep', String(keep)],
        expect: (fx, before, after) => (before > keep && after !== keep ? `prune --keep ${keep} left ${after} of ${before} backups` : undefined),
      };
    },
    () => ({ name: 'run status --yes (run state)', args: ['run', 'status', '--yes'], loosen: rng.chance(0.5) ? ['runs'] : undefined }),
    () => {
      // Not `downgrade -1`: after a restore or a downgrade of the merge the database may be at two
      // heads, where -1 is ambiguous (refused, exit 2) — not what this step is about.
      const args = rng.chance(0.5) ? ['downgrade', 'base'] : ['upgrade', 'head'];
      return { name: `${args.join(' ')} (audit trail)`, args, loosen: rng.chance(0.5) ? ['.'] : undefined };
    },
  ];
  for (let i = 0; i < count; i++) ops.push(rng.pick(pool)());
  return ops;
}

/** Runs one operation under `umask` and checks every mode under the state folder. */
export async function permissionStep(fx: PermissionFixture, umask: string, op: PermissionOp): Promise<string[]> {
  const problems: string[] = [];
  for (const dir of op.loosen ?? []) {
    const full = path.join(fx.stateDir, dir);
    if (fs.existsSync(full)) fs.chmodSync(full, 0o755);
  }
  // The operator's own edit of the audit trail's mode: the next record tightens it again.
  const audit = path.join(fx.stateDir, 'audit.jsonl');
  if (op.loosen?.includes('.') && fs.existsSync(audit)) fs.chmodSync(audit, 0o644);
  if (op.needsBackup && !listBackups(loadProjectSettings({ cwd: fx.project.dir })).some((b) => b.reason !== 'safety')) {
    const taken = await cliWithUmask(fx, umask, ['backup']);
    if (taken.exitCode !== 0) problems.push(`backup (before ${op.name}) exited ${taken.exitCode}: ${String(taken.all ?? '').trim().split('\n').at(-1)}`);
  }
  const before = backupCount(fx);
  const result = await cliWithUmask(fx, umask, op.args);
  if (result.exitCode !== 0) problems.push(`exited ${result.exitCode}: ${String(result.all ?? '').trim().split('\n').at(-1)}`);
  const expectation = op.expect?.(fx, before, backupCount(fx));
  if (expectation) problems.push(expectation);
  problems.push(...privateModeProblems(fx.stateDir));
  return problems;
}

/** The audit trail does not rotate (no rotation in src/core/audit.ts): one file, however long. */
export function auditFiles(stateDir: string): string[] {
  return fs.existsSync(stateDir) ? fs.readdirSync(stateDir).filter((name) => name.startsWith('audit')) : [];
}
