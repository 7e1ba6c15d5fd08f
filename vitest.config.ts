import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Real PostgreSQL, Redis and Secret Service for the whole run (see test/harness/).
    globalSetup: ['test/harness/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Child processes (not worker threads): native drivers and process.env changes stay per worker.
    pool: 'forks',
  },
});
