import { z } from 'zod';
import { isRuleId, LEVELS, RULE_IDS } from './ruleIds';

/**
 * `review:` in mutx-ops.yaml. Rules are switched off or re-levelled by id; an id the review does
 * not know is bad configuration (reported with file:line like every other settings error).
 *
 *   review:
 *     rules:
 *       lock/index-not-concurrent: error     # off | info | warning | error
 *       compat/rename: off
 *     large_table_rows: 1000000              # at or above: a lock finding is an error
 *     large_table_bytes: 1073741824
 *     small_table_rows: 10000                # below both small limits: a lock finding is info
 *     small_table_bytes: 10485760
 */
export const ruleSettingSchema = z.enum(['off', ...LEVELS]);
export type RuleSetting = z.infer<typeof ruleSettingSchema>;

export const reviewSettingsSchema = z
  .object({
    rules: z
      .record(z.string(), ruleSettingSchema)
      .superRefine((rules, ctx) => {
        for (const id of Object.keys(rules)) {
          if (!isRuleId(id)) ctx.addIssue({ code: 'custom', path: [id], message: `unknown rule "${id.slice(0, 60)}" (known: ${RULE_IDS.join(', ')})` });
        }
      })
      .default({}),
    large_table_rows: z.number().int().positive().default(1_000_000),
    large_table_bytes: z.number().int().positive().default(1024 ** 3),
    small_table_rows: z.number().int().nonnegative().default(10_000),
    small_table_bytes: z.number().int().nonnegative().default(10 * 1024 ** 2),
  })
  .strict();

export type ReviewSettings = z.infer<typeof reviewSettingsSchema>;

export const DEFAULT_REVIEW_SETTINGS: ReviewSettings = reviewSettingsSchema.parse({});
