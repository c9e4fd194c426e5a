import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    environment: 'node',
    include: ['test/**/*.test.ts'],
    // One s3rver and, without TEST_DATABASE_URL, an embedded Postgres for the whole run.
    globalSetup: ['test/global-setup.ts'],
    // Files run in parallel in child processes, one per core of the 2-core CI machines.
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    // The machines are shared and PGlite needs seconds to start: be generous.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
  },
});
