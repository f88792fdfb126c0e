import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { setDatabase } from '@/lib/server/db';
import { connect, type ConnectOptions, type DatabaseHandle } from '@/lib/server/db/client';
import { migrateDatabase } from '@/lib/server/db/migrate';

export type TestDatabase = DatabaseHandle & { url: string | null; drop(): Promise<void> };

/** The Postgres server the tests use when `TEST_DATABASE_URL` is set; otherwise PGlite in memory. */
export const testServerUrl = process.env.TEST_DATABASE_URL || null;
export const onRealServer = testServerUrl !== null;

/**
 * A clean, migrated database for one test file: a fresh in-memory PGlite, or a fresh database
 * created on the `TEST_DATABASE_URL` server (and dropped by `drop()`).
 */
export async function createTestDatabase(options: { maxConnections?: number } = {}): Promise<TestDatabase> {
  if (!testServerUrl) {
    const handle = await connect({ dataDir: null });
    await migrateDatabase(handle, { dataDir: null });
    return { ...handle, url: null, drop: () => handle.close() };
  }
  const name = `credits_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(testServerUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  await admin.end();
  const url = new URL(testServerUrl);
  url.pathname = `/${name}`;
  const options2: ConnectOptions = { url: url.toString(), maxConnections: options.maxConnections ?? 20 };
  const handle = await connect(options2);
  await migrateDatabase(handle, options2);
  return {
    ...handle,
    url: url.toString(),
    drop: async () => {
      await handle.close();
      const cleanup = postgres(testServerUrl, { max: 1, onnotice: () => {} });
      await cleanup.unsafe(`drop database if exists "${name}" with (force)`);
      await cleanup.end();
    },
  };
}

/** Empties every table the credits engine writes, for files whose scenarios each need the whole database (the jobs walk every user). */
export async function emptyCreditsTables(db: TestDatabase['db']) {
  await db.execute(
    sql`truncate users, subscriptions, credit_balances, credit_batches, credit_ledger, credit_operations, credit_schedules, job_runs, billing_events, billing_subscription_ends cascade`,
  );
}

export type TestDatabaseOptions = {
  /** Connections in the pool on a Postgres server (20 by default): tests that race many transactions need more. */
  maxConnections?: number;
  /** Empty the engine's tables before each test: for files whose scenarios each need the whole database (the jobs walk every user). */
  emptyBeforeEach?: boolean;
  /** Point `getDb()` at this database for the file, so the route handlers under test use it. */
  routes?: boolean;
};

/**
 * The test database of the current file (or `describe` block): created and migrated before its
 * first test, dropped after its last. The returned handle is usable inside tests and hooks; reading
 * it at collection time, before the database exists, throws.
 *
 *   const t = setupTestDatabase({ emptyBeforeEach: true });
 *   it('…', async () => { const user = await makeUser(t.db); … });
 *
 * Hooks run in the order they are registered: a `beforeAll` written above this call runs before the
 * database exists, one written below it can seed the database.
 */
export function setupTestDatabase(options: TestDatabaseOptions = {}): TestDatabase {
  let current: TestDatabase | undefined;
  const open = () => {
    if (!current) throw new Error('setupTestDatabase: the database exists only inside tests and hooks');
    return current;
  };
  beforeAll(async () => {
    current = await createTestDatabase({ maxConnections: options.maxConnections });
    if (options.routes) setDatabase(current);
  });
  afterAll(async () => {
    if (options.routes) setDatabase(null);
    await current?.drop();
    current = undefined;
  });
  if (options.emptyBeforeEach) {
    beforeEach(async () => {
      await emptyCreditsTables(open().db);
    });
  }
  return {
    get db() {
      return open().db;
    },
    get driver() {
      return open().driver;
    },
    get description() {
      return open().description;
    },
    get url() {
      return open().url;
    },
    close: () => open().close(),
    drop: () => open().drop(),
  };
}
