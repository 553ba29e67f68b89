import { z } from 'zod';
import { RUNBOOK_NAME } from '../schema';

/**
 * A practice drill (runbooks/drills/NAME.yaml): where the practice database starts, the fault
 * injected into it, the runbook to practise and what must hold at the end — checked against
 * the database by the debrief, never assumed from the run's outcome.
 */
const revisionName = z.string().regex(/^[A-Za-z0-9_]{1,32}$/, 'must be 1–32 characters from A–Z, a–z, 0–9 and _');

export const faultSchema = z.discriminatedUnion('type', [
  z
    .object({
      /** A simulated application writes to the drill's log; error lines while the schema is past the starting revision. */
      type: z.literal('app-errors'),
      errors_per_second: z.number().positive().max(200).default(8),
      error_line: z.string().min(1).max(300).default('ERROR api: column "capabilities" does not exist (HTTP 500 on GET /v1/agents)'),
    })
    .strict(),
  z
    .object({
      /** Another session holds a lock the next migration needs, in an open transaction. */
      type: z.literal('blocking-transaction'),
      application_name: z.string().min(1).max(60).default('mutx-api (nightly user sync)'),
      /** Runs inside BEGIN and is left open: the lock it takes stays held. */
      statement: z.string().min(1).max(2000),
      /** Release the lock by itself after this long (a job that finishes); omitted = held until the drill ends. */
      release_after_seconds: z.number().positive().optional(),
    })
    .strict(),
  z
    .object({
      /** A new non-transactional migration on top of the head that fails half-way. */
      type: z.literal('failing-migration'),
      revision: revisionName,
      message: z.string().min(1).max(200),
      upgrade: z.string().min(1),
      downgrade: z.string().min(1),
      verify: z.string().min(1).optional(),
    })
    .strict(),
  z
    .object({
      /** The backup fails for real: its stream goes to /dev/full (ENOSPC), or the finished file is corrupted on disk. */
      type: z.literal('backup-failure'),
      mode: z.enum(['disk-full', 'corrupt']),
      /** How many backups fail before the "disk" is fixed; omitted = every backup during the drill. */
      failures: z.number().int().positive().optional(),
    })
    .strict(),
]);
export type Fault = z.infer<typeof faultSchema>;

/** Faults that change the schema or data: only on the sandbox, never with `drill --env`. */
export function isDestructiveFault(fault: Fault): boolean {
  return fault.type === 'failing-migration';
}

const finalRevision = z.union([z.enum(['setup', 'head', 'previous']), revisionName]);

export const scenarioSchema = z
  .object({
    name: z.string().regex(RUNBOOK_NAME, 'must be lowercase letters, digits, ., - or _'),
    title: z.string().min(1).max(120),
    /** Read to the operator before the drill starts: the situation, not the answer. */
    briefing: z.string().min(1).max(2000),
    /** What good looks like, shown in the debrief. */
    expected_response: z.string().min(1).max(2000),
    runbook: z.string().regex(RUNBOOK_NAME),
    /** Practise as if on a protected environment: typed confirmations, backups required. */
    protected: z.boolean().default(false),
    setup: z
      .object({
        /** Sandbox starting point: default (one before head), head, or a revision id. */
        revision: z.string().min(1).max(64).default('default'),
        /** Extra statements after the seed rows (sandbox only), e.g. the data a fault needs. */
        sql: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .default({ revision: 'default', sql: [] }),
    fault: faultSchema,
    /** Overrides for the drill's runs (short timeouts keep a drill quick). */
    settings: z
      .object({
        lock_timeout_seconds: z.number().positive().optional(),
        lock_retries: z.number().int().min(0).optional(),
        lock_wait_seconds: z.number().nonnegative().optional(),
      })
      .strict()
      .default({}),
    /** Every logs step watches this long during the drill. */
    log_duration_seconds: z.number().positive().max(600).default(15),
    success: z
      .object({
        /** Where the database may end: the starting revision, the head, the one before the start, or an id. */
        revision: z.array(finalRevision).min(1),
        /** Every table of the starting point still has exactly its rows. */
        data_kept: z.boolean().default(true),
        /** The simulated application writes no error line for this long against the final schema. */
        errors_stop_seconds: z.number().positive().max(60).optional(),
        /** The blocking session's pid was named to the operator (in the run's audit records). */
        blocker_named: z.boolean().default(false),
        /** No migration ran before a verified backup of the drill database existed. */
        backup_before_migration: z.boolean().default(false),
      })
      .strict(),
  })
  .strict()
  .superRefine((scenario, ctx) => {
    if (scenario.success.errors_stop_seconds !== undefined && scenario.fault.type !== 'app-errors') {
      ctx.addIssue({ code: 'custom', message: 'errors_stop_seconds needs an app-errors fault (the simulated application)', path: ['success', 'errors_stop_seconds'] });
    }
    if (scenario.success.blocker_named && scenario.fault.type !== 'blocking-transaction') {
      ctx.addIssue({ code: 'custom', message: 'blocker_named needs a blocking-transaction fault', path: ['success', 'blocker_named'] });
    }
  });
export type Scenario = z.infer<typeof scenarioSchema>;
