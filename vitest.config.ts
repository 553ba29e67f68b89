import { defineConfig } from 'vitest/config';

// Every test file creates and drops its own database, so files run in parallel.
// Two cores: two workers keep PostgreSQL and pg_dump from starving each other.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.{ts,tsx}'],
    exclude: ['test/reliability/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    setupFiles: ['test/setup/settingsSchema.ts'],
    pool: 'forks',
    maxWorkers: 2,
  },
});
