import path from 'node:path';
import { defineConfig } from 'vitest/config';

// End-to-end: the production build served by `next start`, on a real Postgres server, over HTTP.
export default defineConfig({
  resolve: {
    alias: {
      '@': path.resolve(import.meta.dirname, 'src'),
      '@tests': path.resolve(import.meta.dirname, 'tests'),
      // Tests seed through the usecases, which are server code.
      'server-only': path.resolve(import.meta.dirname, 'tests/helpers/server-only.ts'),
    },
  },
  test: {
    include: ['tests/e2e/**/*.e2e.test.ts'],
    environment: 'node',
    pool: 'forks',
    globalSetup: ['tests/e2e/global-setup.ts'],
    testTimeout: 120_000,
    // Starting `next start` and migrating a fresh database takes a few seconds.
    hookTimeout: 180_000,
    maxWorkers: 2,
  },
});
