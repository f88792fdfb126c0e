import { expect } from 'vitest';
import { onRealServer } from '@tests/helpers/db';

/** The reliability suite needs a Postgres server: it fails loudly rather than passing on nothing. */
export function requireRealServer() {
  expect(onRealServer, 'the reliability suite runs against a Postgres server: set TEST_DATABASE_URL').toBe(true);
}
