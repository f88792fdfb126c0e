import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Database } from './types';

/** Runs raw SQL and returns its rows, whichever driver is underneath (postgres.js gives an array, PGlite `{ rows }`). */
export async function queryRows<T>(db: Database, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown;
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}

const dialect = new PgDialect();

type PreparingClient = { unsafe(query: string, params: unknown[], options: { prepare: boolean }): Promise<unknown> };

/**
 * `queryRows` for a statement sent on every request (a spend, a hold's steps): on postgres.js it goes
 * as a prepared statement. drizzle sends raw SQL unnamed, and postgres.js then takes two round trips
 * for a statement with parameters (Parse and Describe to learn their types, then Bind and Execute),
 * which the server parses every time; prepared, it is described once per connection and then costs one
 * round trip. A transaction (its statements belong to its own connection), PGlite, and a `DATABASE_URL`
 * ending in `?prepare=false` (a pooler in transaction mode that cannot keep prepared statements) take
 * the usual path.
 */
export async function queryRowsPrepared<T>(db: Database, query: SQL): Promise<T[]> {
  const client = (db as { $client?: Partial<PreparingClient> }).$client;
  if (typeof client?.unsafe !== 'function') return queryRows(db, query);
  const { sql: text, params } = dialect.sqlToQuery(query);
  return (await client.unsafe(text, params, { prepare: true })) as T[];
}

const RETRYABLE_CODES = new Set(['40001', '40P01']); // serialization_failure, deadlock_detected

export function isRetryableDbError(error: unknown): boolean {
  const code = pgErrorCode(error);
  return code !== undefined && RETRYABLE_CODES.has(code);
}

export function pgErrorCode(error: unknown): string | undefined {
  for (let e: unknown = error; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/** True when the error means the database cannot be reached at all (the route answers 503). */
export function isConnectionError(error: unknown): boolean {
  const code = pgErrorCode(error);
  // 08: connection exceptions; 57P0x: the server is shutting down or terminated us; 53300: no free
  // connection slot; 3D000/28xxx: the database or its credentials are gone at connect time.
  if (code && (code.startsWith('08') || code.startsWith('57P0') || code.startsWith('28') || ['53300', '3D000'].includes(code))) return true;
  // "database … is not currently accepting connections" (ALTER DATABASE … ALLOW_CONNECTIONS false, or being dropped)
  if (
    code === '55000' &&
    /not currently accepting connections/.test(
      String((error as Error)?.message ?? '') + String((error as { cause?: Error })?.cause?.message ?? ''),
    )
  )
    return true;
  for (let e: unknown = error; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const c = (e as { code?: unknown }).code;
    if (
      typeof c === 'string' &&
      [
        'ECONNREFUSED',
        'ECONNRESET',
        'ETIMEDOUT',
        'ENOTFOUND',
        'EPIPE',
        'CONNECTION_CLOSED',
        'CONNECTION_ENDED',
        'CONNECTION_DESTROYED',
        'CONNECT_TIMEOUT',
      ].includes(c)
    ) {
      return true;
    }
  }
  return false;
}

/**
 * Runs `work` in a transaction, retrying on serialization failures and deadlocks: the locking order
 * makes these rare, and a caller should never see one.
 */
export async function transaction<T>(db: Database, work: (tx: Database) => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction((tx) => work(tx as unknown as Database));
    } catch (error) {
      if (attempt >= attempts || !isRetryableDbError(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 * attempt + Math.random() * 20));
    }
  }
}
