import 'server-only';
import { env } from '@/env';
import { connect, type ConnectOptions, type DatabaseHandle } from './client';
import { migrateDatabase } from './migrate';
import type { Database } from './types';

export type { Database } from './types';

export function connectOptionsFromEnv(): ConnectOptions {
  const { DATABASE_URL, PGLITE_DATA_DIR } = env();
  return DATABASE_URL ? { url: DATABASE_URL } : { dataDir: PGLITE_DATA_DIR };
}

/** Opens the database named by the environment and applies pending migrations. */
export async function openMigratedDatabase(options = connectOptionsFromEnv()): Promise<DatabaseHandle> {
  const handle = await connect(options);
  try {
    await migrateDatabase(handle, options);
  } catch (error) {
    await handle.close().catch(() => {});
    throw error;
  }
  return handle;
}

// The handle outlives hot reloads in development, so each edit does not open another pool or PGlite.
const globalForDb = globalThis as unknown as { creditsDb?: Promise<DatabaseHandle> };

/** The app's database, opened and migrated on first use. */
export async function getDb(): Promise<Database> {
  globalForDb.creditsDb ??= openMigratedDatabase().catch((error) => {
    globalForDb.creditsDb = undefined; // let the next request try again once the database is back
    throw error;
  });
  return (await globalForDb.creditsDb).db;
}

/** Points `getDb()` at an already-open database: route tests and in-process servers use their own. */
export function setDatabase(handle: DatabaseHandle | null) {
  globalForDb.creditsDb = handle ? Promise.resolve(handle) : undefined;
}
