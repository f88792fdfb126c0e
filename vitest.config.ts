import { tmpdir } from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    alias: {
      '@': path.resolve(import.meta.dirname, 'src'),
      '@tests': path.resolve(import.meta.dirname, 'tests'),
      // `server-only` throws outside Next's server build; tests are server code.
      'server-only': path.resolve(import.meta.dirname, 'tests/helpers/server-only.ts'),
      // next-intl's server functions need Next's request; tests get English (tests/helpers/next-intl-server.ts).
      'next-intl/server': path.resolve(import.meta.dirname, 'tests/helpers/next-intl-server.ts'),
    },
  },
  test: {
    include: ['tests/**/*.test.ts'],
    // End-to-end and reliability suites have their own configs (npm run test:e2e, test:reliability).
    exclude: ['tests/e2e/**', 'tests/reliability/**', 'node_modules/**'],
    environment: 'node',
    // Mail sent by tests without an SMTP server (the dev outbox) stays out of the working tree.
    env: { DEV_MAIL_DIR: path.join(tmpdir(), 'credits-starter-test-mail') },
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // PGlite and the per-file databases are cheap; two workers match the two cores.
    maxWorkers: 2,
  },
});
