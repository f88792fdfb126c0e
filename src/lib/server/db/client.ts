import 'server-only';
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import postgres from 'postgres';
import { PGlite } from '@electric-sql/pglite';
import * as schema from './schema';
import type { Database } from './types';

export type DatabaseHandle = {
  db: Database;
  driver: 'postgres' | 'pglite';
  /** Where the data lives, without credentials: for log lines. */
  description: string;
  close(): Promise<void>;
};

export type ConnectOptions =
  | { url: string; maxConnections?: number }
  | { dataDir: string | null /* null: in memory */ };

/** Opens Postgres at `url`, or PGlite kept in `dataDir` (or in memory). All dates are UTC on both. */
export async function connect(options: ConnectOptions): Promise<DatabaseHandle> {
  if ('url' in options) {
    const client = postgres(options.url, {
      max: options.maxConnections ?? 10,
      // Month arithmetic on timestamptz follows the session time zone: pin it so periods are UTC everywhere.
      connection: { TimeZone: 'UTC' },
      onnotice: () => {},
    });
    const db = drizzlePostgres(client, { schema }) as unknown as Database;
    const url = new URL(options.url);
    return {
      db,
      driver: 'postgres',
      description: `postgres://${url.host}${url.pathname}`,
      close: () => client.end({ timeout: 5 }),
    };
  }
  let client: PGlite;
  if (options.dataDir) {
    const dir = path.resolve(options.dataDir);
    mkdirSync(dir, { recursive: true });
    client = await PGlite.create(dir);
  } else {
    client = await PGlite.create();
  }
  await client.exec(`SET TIME ZONE 'UTC'`);
  const db = drizzlePglite(client, { schema }) as unknown as Database;
  return {
    db,
    driver: 'pglite',
    description: options.dataDir ? `PGlite at ${path.resolve(options.dataDir)}` : 'PGlite in memory',
    close: () => client.close(),
  };
}
