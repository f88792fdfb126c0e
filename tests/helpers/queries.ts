import { eq, asc } from 'drizzle-orm';
import type { Database } from '@/lib/server/db/types';
import { creditBalances, creditBatches, creditLedger } from '@/lib/server/db/schema';
import { pgErrorCode } from '@/lib/server/db/sql';

export async function balanceOf(db: Database, userId: string): Promise<number> {
  const [row] = await db.select().from(creditBalances).where(eq(creditBalances.userId, userId));
  return row?.balance ?? 0;
}

export function batchesOf(db: Database, userId: string) {
  return db.select().from(creditBatches).where(eq(creditBatches.userId, userId)).orderBy(asc(creditBatches.id));
}

export function ledgerOf(db: Database, userId: string) {
  return db.select().from(creditLedger).where(eq(creditLedger.userId, userId)).orderBy(asc(creditLedger.id));
}

/** The Postgres error code a statement failed with (a refused write), or undefined when it succeeded. */
export async function errorCodeOf(work: Promise<unknown>): Promise<string | undefined> {
  try {
    await work;
  } catch (error) {
    return pgErrorCode(error);
  }
  return undefined;
}
