import type pg from 'pg';
import type { ProjectSettings } from '../config';
import type { Target } from '../connection';
import type { Operator } from '../identity';
import type { AppliedStep, MigrationEvent } from './events';
import type { RevisionGraph } from './graph';
import type { Direction, Plan } from './plan';
import type { Revision } from './revision';
import type { VersionTableNames } from './versionTable';

/**
 * The seam between the migration core and the files it runs (in the spirit of Kysely's
 * MigrationProvider). Above it, once for every engine: the lock, the ledger and drift, the audit
 * trail, timeouts and cancellation, progress events and exit codes. Below it, an engine reads its
 * revision files, resolves a target into a plan the way its own tool would, and runs that plan.
 *
 * - `engines/sql`: mutx-ops' own SQL files, planned and run by mutx-ops.
 * - `engines/alembic`: a project's Alembic revisions, read statically and planned and run by
 *   Alembic itself (through a runner that ships with mutx-ops) with the project's env.py.
 */
export type EngineKind = 'sql' | 'alembic';

/** Everything an engine needs to run a plan against the target. */
export interface ExecutionContext {
  /** mutx-ops' own session: it holds the migration lock for the whole run. */
  client: pg.Client;
  settings: ProjectSettings;
  target: Target;
  operator: Operator;
  names: VersionTableNames;
  lockTimeoutSeconds: number;
  lockRetries: number;
  /** Wall-clock limit (epoch ms) enforced on the server: exit 124 when it expires. */
  deadline?: number;
  singleTransaction?: boolean;
  signal?: AbortSignal;
  runId?: string;
  auditOpId?: string;
  onEvent?: (event: MigrationEvent) => void;
}

/** What an engine that runs a child process needs before the core connects (to overlap its start-up). */
export interface RuntimeContext {
  target: Target;
  operator: Operator;
  lockTimeoutSeconds: number;
}

/** A section of a revision as `show` prints it. */
export interface RevisionText {
  title: string;
  text: string;
}

export interface CreatedRevision {
  revision: string;
  file: string;
  revises: string[];
}

/** A plan the engine resolved and can run; `dispose` releases whatever it holds when it is not run. */
export interface PreparedRun<R extends Revision = Revision> {
  plan: Plan<R>;
  execute(context: ExecutionContext): Promise<AppliedStep[]>;
  dispose(): Promise<void>;
}

export interface PreparedStamp {
  before: string[];
  after: string[];
  execute(context: ExecutionContext): Promise<void>;
  dispose(): Promise<void>;
}

/** One step of a reconcile: a revision's section run without moving the version table. */
export interface SectionRun<R extends Revision = Revision> {
  revision: R;
  direction: Direction;
}

export interface OfflineSqlOptions {
  lockTimeoutSeconds: number;
  singleTransaction?: boolean;
  /** Whether the version and ledger tables exist yet (the SQL engine creates them in its script). */
  tablesExist: boolean;
}

export interface MigrationEngine<R extends Revision = Revision> {
  readonly kind: EngineKind;
  /** The folders revisions are read from, for messages. */
  readonly locations: string[];
  /** Every revision, read statically: no database, and no Python unless a file needs it. */
  loadGraph(): RevisionGraph<R>;
  /** Called before connecting, so slow start-up (a Python interpreter) overlaps with it. */
  warmUp?(runtime: RuntimeContext): void;
  /** Ends whatever warmUp started and nothing used (called when the operation ends, however it ends). */
  release?(): Promise<void>;
  /** Resolves `upgrade|downgrade TARGET` from these version rows into a plan, as the engine's tool would. */
  prepare(graph: RevisionGraph<R>, direction: Direction, target: string, versionRows: string[]): Promise<PreparedRun<R>>;
  prepareStamp(graph: RevisionGraph<R>, target: string, versionRows: string[], options: { purge: boolean }): Promise<PreparedStamp>;
  /** Runs sections statement by statement, outside a transaction, leaving the version table alone. */
  runSections(steps: SectionRun<R>[], context: ExecutionContext): Promise<AppliedStep[]>;
  /** The SQL a plan would run, touching no database. */
  offlineSql(graph: RevisionGraph<R>, plan: Plan<R>, context: Omit<ExecutionContext, 'client'>, options: OfflineSqlOptions): Promise<string>;
  /** The sections of a revision as `show` prints them (SQL sections, or the Python functions). */
  sections(revision: R): RevisionText[];
  createRevision(graph: RevisionGraph<R>, message: string, options: { autogenerate?: boolean; runtime?: RuntimeContext }): Promise<CreatedRevision>;
  createMerge(graph: RevisionGraph<R>, message: string, revisions: string[]): Promise<CreatedRevision>;
  /**
   * Practice drills: copies the revision files into `dir` and adds one non-transactional revision
   * on top of the heads; the returned settings read that copy (the project's files stay as they are).
   */
  injectRevision(graph: RevisionGraph<R>, dir: string, revision: InjectedRevision): { settings: ProjectSettings; file: string };
}

/** A revision a drill adds: its SQL runs statement by statement outside a transaction. */
export interface InjectedRevision {
  revision: string;
  message: string;
  upgrade: string;
  downgrade: string;
  verify?: string;
}
