import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
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
    sql`truncate users, subscriptions, credit_balances, credit_batches, credit_ledger, credit_operations, credit_schedules, job_runs cascade`,
  );
}
