import { z } from 'zod';

/**
 * The runbook file format: YAML validated here, so a bad file is reported with file:line and
 * the field and never half-run. Each step type's options live beside its `type`.
 */
const id = z.string().regex(/^[a-z0-9][a-z0-9-_]{0,62}$/, 'must be lowercase letters, digits, - or _');

export const failureOfferSchema = z.union([
  /** wait: until the session that blocked the step is gone (or its transaction ended), then retry — offered after a lock timeout with nothing applied. */
  z.enum(['retry', 'skip', 'abort', 'wait']),
  z.object({ switch: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/) }).strict(),
]);
export type FailureOffer = z.infer<typeof failureOfferSchema>;

const base = {
  id,
  title: z.string().min(1).max(120),
  /** Operator-facing text: why this step exists and what it does. */
  text: z.string().min(1).max(4000),
  on_failure: z.array(failureOfferSchema).min(1).optional(),
  /** Step counts as destructive: typed confirmation on a protected environment. */
  destructive: z.boolean().optional(),
};

/** What a review shows: the plan of `action target` (targets as for migrate, incl. selected and start). */
export const reviewSpecSchema = z.object({ action: z.enum(['upgrade', 'downgrade']), target: z.string().min(1).max(64) }).strict();
export type ReviewSpec = z.infer<typeof reviewSpecSchema>;

const checklistItem = z
  .object({
    id,
    label: z.string().min(1).max(200),
    /** Ticked without asking when a verified backup younger than this exists. */
    auto_backup_max_age_minutes: z.number().positive().optional(),
    /** Opens the migration review of this plan; ticked only once it was shown (steps/review.ts). */
    review: reviewSpecSchema.optional(),
  })
  .strict();

const revisionExpectation = z.string().min(1).max(64);
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/);
const stdinValueSource = z.union([envName, z.object({ env: envName, optional: z.boolean().default(false) }).strict(), z.object({ target: z.literal('url') }).strict()]);
export type StdinValueSource = z.infer<typeof stdinValueSource>;

export const stepSchema = z.discriminatedUnion('type', [
  z.object({ ...base, type: z.literal('checklist'), items: z.array(checklistItem).min(1) }).strict(),
  z.object({ ...base, type: z.literal('manual'), command_ref: z.string().optional() }).strict(),
  z
    .object({
      ...base,
      type: z.literal('command'),
      command: z.array(z.string().min(1)).min(1).optional(),
      command_ref: z.string().optional(),
      timeout_seconds: z.number().positive().default(600),
      /**
       * Values passed on stdin as YAML (e.g. `helm install -f -`): secrets never reach argv. Each
       * is an environment variable (required), `{env: NAME, optional: true}` (left out when unset:
       * OIDC is all-or-none), or `{target: url}` (the run's own database URL, whichever
       * environment it came from).
       */
      stdin_values_from_env: z.record(z.string(), stdinValueSource).optional(),
      /** Environment variables passed through to the command (besides PATH/HOME). */
      pass_env: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/)).default([]),
    })
    .strict()
    .refine((step) => Boolean(step.command) !== Boolean(step.command_ref), { message: 'give exactly one of command or command_ref', path: ['command'] }),
  z
    .object({
      ...base,
      type: z.literal('backup'),
      format: z.enum(['custom', 'plain', 'directory']).default('custom'),
      verify: z.boolean().default(true),
      label: z.string().max(60).optional(),
    })
    .strict(),
  z
    .object({
      ...base,
      type: z.literal('restore'),
      /**
       * before-run = newest verified backup taken before this run began (the pre-deploy state);
       * latest = newest verified backup; run = the backup this run took; selected = chosen by a select-target step.
       */
      source: z.enum(['before-run', 'latest', 'run', 'selected']).default('before-run'),
      /** Ask whether a restore is needed at all (the seed: "restore database if needed"). */
      optional: z.boolean().default(false),
    })
    .strict(),
  z
    .object({
      ...base,
      type: z.literal('migrate'),
      action: z.enum(['upgrade', 'downgrade', 'stamp']),
      /** head, heads, base, +N, -N, an id, or `selected` (from a select-target step). */
      target: z.string().min(1).max(64),
      timeout_seconds: z.number().positive().optional(),
      lock_timeout_seconds: z.number().positive().optional(),
      /** stamp only: replace every version row, also revisions no file knows. */
      purge: z.boolean().default(false),
      /** Rehearse the plan (with its round trip) on a copy first and stop when it fails (steps/rehearse.ts). */
      rehearse_first: z.enum(['never', 'protected', 'always']).default('never'),
      /**
       * Downgrades: when the record of rehearsals knows nothing about a revision's downgrade, rehearse
       * it now on a schema-only copy (steps/brokenDowngrade.ts); a downgrade known to fail is replaced
       * by the offer to restore the backup taken at the target revision either way.
       */
      quick_rehearsal: z.boolean().default(true),
    })
    .strict(),
  z
    .object({
      ...base,
      type: z.literal('reconcile'),
      /** Settles a non-transactional migration left half-applied (skipped when there is none). */
      timeout_seconds: z.number().positive().optional(),
    })
    .strict(),
  z
    .object({
      ...base,
      type: z.literal('verify'),
      /** head | start (revision when the run began) | previous (one below start) | selected | an id */
      expect: revisionExpectation,
      checks: z.array(z.object({ description: z.string().min(1), sql: z.string().min(1) }).strict()).default([]),
    })
    .strict(),
  z
    .object({
      ...base,
      type: z.literal('logs'),
      /** Overrides the environment's log_source (file path, or `cmd:` + command). */
      source: z.string().optional(),
      filter: z.string().default('error'),
      duration_seconds: z.number().positive().default(60),
      /** Fails the step when more matching lines per minute than this are seen. */
      max_matches_per_minute: z.number().nonnegative().optional(),
      /** In the TUI the operator may end the watch early once satisfied. */
      until_operator: z.boolean().default(true),
    })
    .strict(),
  z
    .object({
      ...base,
      type: z.literal('env-check'),
      required: z.array(z.string()).default([]),
      all_or_none: z.array(z.array(z.string()).min(2)).default([]),
      optional: z.array(z.string()).default([]),
    })
    .strict(),
  z
    .object({
      ...base,
      type: z.literal('http-check'),
      url: z.string().url().optional(),
      url_env: z.string().optional(),
      expect_status: z.number().int().min(100).max(599).default(200),
      timeout_seconds: z.number().positive().default(10),
      /** Skip (not fail) when url_env is unset. */
      skip_if_unset: z.boolean().default(false),
    })
    .strict(),
  z
    .object({
      ...base,
      type: z.literal('notify'),
      webhook_env: z.string().default('MUTX_OPS_WEBHOOK_URL'),
      message: z.string().min(1).max(500),
      /** Without a configured webhook the step is skipped with that reason, not failed. */
      required: z.boolean().default(false),
    })
    .strict(),
  z.object({ ...base, type: z.literal('inspect'), show: z.enum(['current', 'history', 'backups', 'lock']) }).strict(),
  z
    .object({
      ...base,
      type: z.literal('select-target'),
      from: z.enum(['history', 'backups', 'both']).default('both'),
      /** Offer every revision, not only applied ones (for stamp). */
      include_unapplied: z.boolean().default(false),
    })
    .strict(),
  z.object({ ...base, type: z.literal('catalog'), action: z.enum(['snapshot', 'compare']), name: id }).strict(),
  /** The migration review of a plan (what it locks, what a downgrade loses), shown and acknowledged. */
  z.object({ ...base, type: z.literal('review'), ...reviewSpecSchema.shape }).strict(),
  /**
   * `mutx-ops test`'s checks of the whole chain (one head, base → head, models, head → base, each
   * revision up/down/up with the catalog compared) on a scratch database built from the files on
   * the target's server (steps/chainTest.ts); the target itself is not touched.
   */
  z.object({ ...base, type: z.literal('chain-test') }).strict(),
  /** The plan on a throwaway copy of the target's schema first (steps/rehearse.ts). */
  z.object({ ...base, type: z.literal('rehearse'), action: z.enum(['upgrade', 'downgrade']), target: z.string().min(1).max(64), round_trip: z.boolean().default(true), protected_only: z.boolean().default(true), timeout_seconds: z.number().positive().default(600) }).strict(),
]);

export type Step = z.infer<typeof stepSchema>;
export type StepType = Step['type'];

/** Runbook names may carry a version with dots (upgrade-v1.3-to-v1.4). */
export const RUNBOOK_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export const runbookSchema = z
  .object({
    name: z.string().regex(RUNBOOK_NAME, 'must be lowercase letters, digits, ., - or _'),
    title: z.string().min(1).max(120),
    description: z.string().min(1).max(2000),
    /** Environment names this runbook may run on; omitted = any. */
    environments: z.array(z.string()).optional(),
    /** Shown on the home screen: emergencies first. */
    category: z.enum(['deploy', 'emergency', 'recovery', 'maintenance', 'development', 'upgrade']).default('maintenance'),
    steps: z.array(stepSchema).min(1),
  })
  .strict()
  .superRefine((runbook, ctx) => {
    const seen = new Map<string, number>();
    runbook.steps.forEach((step, index) => {
      if (seen.has(step.id)) ctx.addIssue({ code: 'custom', message: `duplicate step id "${step.id}" (also step ${seen.get(step.id)! + 1})`, path: ['steps', index, 'id'] });
      seen.set(step.id, index);
    });
  });

export type Runbook = z.infer<typeof runbookSchema>;
