import 'server-only';
import type { SQL } from 'drizzle-orm';
import type { Database } from '@/lib/server/db/types';
import { isRetryableDbError, queryRowsPrepared } from '@/lib/server/db/sql';

const RETRIES = 5;

/**
 * Calls one of the engine's database functions (`credits_debit`, `credits_reserve`, …), each a whole
 * change in one round trip and one transaction of its own (a prepared statement: `queryRowsPrepared`),
 * and returns its jsonb answer. `call` selects it `as outcome`.
 */
export async function callCreditsFunction(db: Database, call: SQL): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    try {
      const [row] = await queryRowsPrepared<{ outcome: unknown }>(db, call);
      return parseJson(row?.outcome);
    } catch (error) {
      // A deadlock or serialization failure rolled the whole call back: nothing was written, try again.
      if (attempt >= RETRIES || !isRetryableDbError(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 * attempt + Math.random() * 20));
    }
  }
}

/** postgres.js parses jsonb; PGlite does too, but a driver that hands back text is read the same way. */
function parseJson(value: unknown): unknown {
  return typeof value === 'string' ? JSON.parse(value) : value;
}
