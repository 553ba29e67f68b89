import type { AuditRecord, AuditVerification } from '../core/audit';
import type { LogEvent } from '../core/logs/types';
import type { InputProvider, RunEvent, RunOutcome, StepStatus } from '../runbook/events';

/**
 * Everything the interactive app asks of the outside world. Components hold no SQL and spawn
 * no processes: they call this object. The real implementation (src/cli/tui.ts) is a thin
 * layer over the core and the runbook engine; tests pass the real one too (against a test
 * database), or a plain object for pure rendering.
 */
export interface Services {
  /** Who and where, known without touching the network (first frame). */
  target(): TargetIdentity;
  /** Server version, revisions, pending count, lock holder: one round trip to the database. */
  targetStatus(): Promise<TargetStatus>;
  /** Age of the newest verified backup of this target (local catalog only). */
  lastVerifiedBackup(): Promise<BackupEntry | undefined>;
  runbooks(): RunbookList;
  /**
   * Marks an unfinished run discarded (its state file kept, audited): home no longer offers to
   * resume it and `run --resume` refuses it. Throws when it cannot (the run is live elsewhere).
   */
  discardRun?(id: string): void;
  /** Unfinished runs of this project whose process is gone (or that wait for input). */
  resumableRuns(): ResumableRun[];
  /**
   * Starts (or resumes) a runbook through the engine. Events stream to `onEvent`; every
   * question arrives through `input`; aborting `signal` cancels the running step (server-side
   * cancel, rollback, lock released) and the promise still settles.
   */
  startRun(name: string, options: StartRunOptions): Promise<RunResult>;
  history(): Promise<HistoryView>;
  /** The migration review of one revision, both directions (History's detail); optional for plain test services. */
  revisionFindings?(id: string): Promise<RevisionFindings>;
  /** The SQL each revision's downgrade runs, rolling the database back to `target` (Alembic's offline SQL / the SQL file); nothing runs. */
  downgradeSql?(target: string): Promise<DowngradeSqlView>;
  /** Which kinds of new revision the project's engine can write (History's `n`); absent: none. */
  authoring?(): { autogenerate: boolean };
  /** Writes a new revision file (Alembic's `revision [--autogenerate]`); nothing is applied. */
  createRevision?(options: { message: string; autogenerate: boolean }): Promise<NewRevisionView>;
  backups(): Promise<BackupEntry[]>;
  verifyBackup(file: string, signal: AbortSignal): Promise<{ ok: boolean; message: string }>;
  /** The environment's log source as the operator wrote it; undefined when none is set. */
  logSource(): string | undefined;
  /** Follows the log source from its end; returns at once. `emitAll` also delivers lines that do not match. Throws when there is no source. */
  followLogs(options: { filter: string; emitAll: boolean; onEvent: (event: LogEvent) => void; signal: AbortSignal }): LogHandle;
  audit(count: number): AuditView;
}

/** A revision file just written, with its whole text for the operator to review. */
export interface NewRevisionView {
  revision: string;
  file: string;
  revises: string[];
  content: string;
}

export interface TargetIdentity {
  environment?: string;
  protected: boolean;
  /** The URL with the password replaced by ***. */
  redacted: string;
  host: string;
  port: number;
  database: string;
  /** Set when no target could be resolved (no DATABASE_URL, unknown env…): the app still opens. */
  problem?: string;
}

export interface TargetStatus {
  serverVersion: string;
  current: string[];
  heads: string[];
  pending: string[];
  drift: number;
  /** "pid 123 (mutx-ops:alice@host) since …" when another session holds the migration lock. */
  lockHolder?: string;
}

export type RunbookCategory = 'deploy' | 'emergency' | 'recovery' | 'maintenance' | 'development' | 'upgrade';

export interface RunbookInfo {
  name: string;
  title: string;
  description: string;
  category: RunbookCategory;
  file: string;
  steps: number;
  stepTypes: string[];
  /** Where its select-target step picks from, when it has one. */
  selects?: 'history' | 'backups' | 'both';
  /** False when the runbook's `environments` excludes the current environment. */
  allowed: boolean;
}

/** A practice drill (runbooks/drills): always on its own database in the local sandbox. */
export interface DrillInfo {
  name: string;
  title: string;
  runbook: string;
  fault: string;
  briefing: string;
  /** Its own database in the local sandbox (what its dialog and run name, not the app's target). */
  database?: string;
}

export interface RunbookList {
  runbooks: RunbookInfo[];
  drills?: DrillInfo[];
  /** One line per runbook file that failed to load (file:line: problem). */
  errors: string[];
}

export interface ResumableRun {
  id: string;
  runbook: string;
  environment?: string;
  target: string;
  status: string;
  /** 0-based index of the step to resume at. */
  currentStep: number;
  stepCount: number;
  stepTitle?: string;
  updatedAt: string;
  interrupted: boolean;
  drill: boolean;
  /** Where each step stood, so the resumed run shows the earlier steps as done/skipped. */
  steps: { id: string; status: StepStatus; skipReason?: string }[];
}

export interface StartRunOptions {
  input: InputProvider;
  onEvent: (event: RunEvent) => void;
  signal: AbortSignal;
  /** Resume this unfinished run (its runbook is `name`). */
  resumeRunId?: string;
  /** Rollback target picked on the History screen: the select-target step opens on it. */
  selectedRevision?: string;
  /** Backup picked on the Backups screen. */
  selectedBackup?: string;
  drill?: boolean;
  /** Run inside this drill scenario (set up on first use; a switched-to runbook continues it). */
  drillScenario?: string;
}

export interface RunResult {
  runId: string;
  outcome: RunOutcome;
  switchTo?: string;
  /** The drill's debrief, when this run ended a drill. */
  debrief?: DrillDebriefView;
}

export interface DrillDebriefView {
  drillId: string;
  passed: boolean;
  criteria: { description: string; ok: boolean | null; observed: string }[];
  timeToRecovery?: string;
  skipped: string[];
}

export interface RevisionNode {
  id: string;
  message: string;
  parents: string[];
  children: string[];
  file: string;
  transactional: boolean;
  applied: boolean;
  current: boolean;
  head: boolean;
  /** What the record of rehearsals says: "upgrade rehearsed ok 2 h ago; downgrade FAILS: … at file:line". */
  rehearsal?: string;
}

/** A revision's review findings, as History shows them (computed by the core, rendered here). */
export interface RevisionFindings {
  upgrade: FindingLine[];
  downgrade: FindingLine[];
  /** True when table sizes came from the database; false when it could not be read. */
  connected: boolean;
}

export interface FindingLine {
  level: 'error' | 'warning' | 'info' | 'waived';
  rule: string;
  line: number;
  message: string;
}

export interface DowngradeSqlView {
  from: string[];
  to: string[];
  /** Newest first, as the downgrade runs them. */
  revisions: { revision: string; message: string; file: string; statements: string[] }[];
}

export interface HistoryView {
  /** Parents before children. */
  nodes: RevisionNode[];
  current: string[];
  heads: string[];
  /** Set when the database could not be read: applied/current are then unknown (all false). */
  problem?: string;
}

export interface BackupEntry {
  file: string;
  name: string;
  createdAt: string;
  sizeBytes: number;
  /** Revisions the database was at when the dump was taken. */
  revisions: string[];
  verified: boolean;
  verifiedAt?: string;
  label?: string;
  environment?: string;
  database?: string;
}

export interface LogHandle {
  /** What is being followed, for the header. */
  description: string;
  stop(): Promise<void>;
}

export interface AuditView {
  file: string;
  records: AuditRecord[];
  verification: AuditVerification;
}
