import 'server-only';
import path from 'node:path';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import type { PgliteDatabase } from 'drizzle-orm/pglite';
import type { ConnectOptions, DatabaseHandle } from './client';

export const migrationsFolder = path.join(process.cwd(), 'drizzle');

// Any constant works; it only has to be the same for every process migrating this database.
const MIGRATION_LOCK_ID = 727_274_001;

/**
 * Applies the committed migrations in `drizzle/`. On a server, several app instances may start at
 * once (a deploy, serverless cold starts): an advisory lock makes them take turns.
 */
export async function migrateDatabase(handle: DatabaseHandle, options: ConnectOptions): Promise<void> {
  if ('url' in options) {
    const client = postgres(options.url, { max: 1, onnotice: () => {}, connection: { TimeZone: 'UTC' } });
    try {
      await client`select pg_advisory_lock(${MIGRATION_LOCK_ID})`;
      await migratePostgres(drizzle(client), { migrationsFolder });
      await client`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`;
    } finally {
      await client.end({ timeout: 5 });
    }
    return;
  }
  await migratePglite(handle.db as unknown as PgliteDatabase, { migrationsFolder });
}
