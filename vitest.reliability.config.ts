import { defineConfig } from 'vitest/config';

// `npm run reliability`: kill -9, races, connection loss, hostile input, properties and audit
// tampering against the built CLI and a real PostgreSQL. Every file creates and drops its own
// database and project folder, so two workers run files side by side. The seed comes from
// MUTX_SEED (a random one is printed when it is unset); the global setup collects each
// scenario's row and prints the report table at the end (also written to REPORT.md).
export default defineConfig({
  test: {
    include: ['test/reliability/**/*.test.ts'],
    globalSetup: ['test/reliability/globalSetup.ts'],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    setupFiles: ['test/setup/settingsSchema.ts'],
    pool: 'forks',
    maxWorkers: 2,
    // A scenario's failures are counted and reported; a retry would hide them.
    retry: 0,
  },
});
