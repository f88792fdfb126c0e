import 'server-only';
import path from 'node:path';
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
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

export type ConnectOptions = { url: string; maxConnections?: number } | { dataDir: string | null /* null: in memory */ };

/** Opens Postgres at `url`, or PGlite kept in `dataDir` (or in memory). All dates are UTC on both. */
export async function connect(options: ConnectOptions): Promise<DatabaseHandle> {
  if ('url' in options) {
    const client = postgres(options.url, {
      max: options.maxConnections ?? 10,
      // Month arithmetic on timestamptz follows the session time zone: pin it so periods are UTC everywhere.
      connection: { TimeZone: 'UTC' },
      types: { int8: int8AsNumber },
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
  let releaseLock = () => {};
  if (options.dataDir) {
    const dir = path.resolve(options.dataDir);
    mkdirSync(dir, { recursive: true });
    releaseLock = lockDataDir(dir);
    try {
      client = await PGlite.create(dir);
    } catch (error) {
      releaseLock();
      throw error;
    }
  } else {
    client = await PGlite.create();
  }
  await client.exec(`SET TIME ZONE 'UTC'`);
  const db = drizzlePglite(client, { schema }) as unknown as Database;
  return {
    db,
    driver: 'pglite',
    description: options.dataDir ? `PGlite at ${path.resolve(options.dataDir)}` : 'PGlite in memory',
    close: async () => {
      await client.close();
      releaseLock();
    },
  };
}

/**
 * 64-bit integers (credit amounts, counts, sums) as JS numbers, as PGlite returns them: exact up to
 * 2^53 - 1, which bounds every amount (MAX_CREDITS); a larger value stays a BigInt rather than lose digits.
 * postgres.js would otherwise return them as strings, and `balance + amount` would concatenate.
 */
const int8AsNumber = {
  to: 20,
  from: [20],
  serialize: (value: number | bigint) => String(value),
  parse: (value: string): number | bigint => {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : BigInt(value);
  },
};

export class DatabaseInUseError extends Error {
  readonly code = 'DATABASE_IN_USE' as const;
}

/**
 * PGlite keeps no lock of its own: two processes opening the same directory corrupt it. A PID file
 * beside the directory makes the second one stop with a clear message instead. A lock left by a
 * process that died is taken over; the same process may reopen (a hot reload in development).
 */
function lockDataDir(dir: string): () => void {
  const lockFile = `${dir}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readFileSync(lockFile, 'utf8').trim());
      if (owner === process.pid) return () => {};
      if (owner > 0 && isAlive(owner)) {
        throw new DatabaseInUseError(
          `The embedded database in ${dir} is in use by process ${owner} (is \`npm run dev\` running?). ` +
            'PGlite serves one process at a time: stop that process, call the app over HTTP instead, or set DATABASE_URL to a Postgres server.',
        );
      }
      unlinkSync(lockFile); // left by a process that is gone
    }
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    try {
      if (readFileSync(lockFile, 'utf8').trim() === String(process.pid)) unlinkSync(lockFile);
    } catch {
      // already gone
    }
  };
  process.once('exit', release);
  return release;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
