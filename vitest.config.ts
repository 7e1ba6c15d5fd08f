import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';

/**
 * The PostgreSQL collector suites (identities, checklist, read-only witness, faults, version
 * signals) run once more per major of the version matrix, each against its own real server
 * (test/harness/global-setup-pg.ts). The 'node' project runs them on Debian's 15 with the rest.
 */
const PG_MATRIX_SUITES = [
  'test/integration/postgres-collector.test.ts',
  'test/integration/postgres-faults.test.ts',
  'test/integration/postgres-versions.test.ts',
  'test/integration/postgres-sessions.test.ts',
];
const PG_MATRIX_MAJORS = [14, 16, 17, 18];

export default defineConfig({
  // Compiles the renderer's components for the component tests (the 'dom' project).
  plugins: [svelte({ configFile: false })],
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Child processes (not worker threads): native drivers and process.env changes stay per worker.
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.dom.test.ts'],
          // Real PostgreSQL, Redis and Secret Service for the whole run (see test/harness/).
          globalSetup: ['test/harness/global-setup.ts'],
        },
      },
      ...PG_MATRIX_MAJORS.map((major) => ({
        extends: true as const,
        test: { name: `postgres-${major}`, include: PG_MATRIX_SUITES, globalSetup: ['test/harness/global-setup-pg.ts'] },
      })),
      {
        // Svelte components mounted in happy-dom: Svelte's client runtime (the 'browser'
        // export), bundled by Vite rather than loaded by Node, which would pick the server one.
        extends: true,
        resolve: { conditions: ['browser', 'development'] },
        test: { name: 'dom', include: ['test/**/*.dom.test.ts'], environment: 'happy-dom', server: { deps: { inline: ['svelte'] } } },
      },
    ],
  },
});
