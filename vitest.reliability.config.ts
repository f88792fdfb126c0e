import { defineConfig } from 'vitest/config';
import base from './vitest.config';

// The reliability suite: crashes, overlaps, outages, hostile input and a storm, against a real
// Postgres server. Files run one after another: each of them loads the server on purpose.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['tests/reliability/**/*.test.ts'],
    exclude: ['node_modules/**'],
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 240_000,
  },
});
