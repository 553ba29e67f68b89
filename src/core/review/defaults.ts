import type { ReviewSettings } from './settings';

/**
 * The review settings an absent `review:` means, as a plain value: config.ts builds the default
 * project settings from it without loading zod. test/settingsDefaults.test.ts keeps it equal to
 * the schema's defaults (settings.ts).
 */
export const DEFAULT_REVIEW_SETTINGS_VALUES: ReviewSettings = {
  rules: {},
  large_table_rows: 1_000_000,
  large_table_bytes: 1024 ** 3,
  small_table_rows: 10_000,
  small_table_bytes: 10 * 1024 ** 2,
};
