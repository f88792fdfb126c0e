import { eq, asc } from 'drizzle-orm';
import type { Database } from '@/lib/server/db/types';
import { creditBalances, creditBatches, creditLedger } from '@/lib/server/db/schema';

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
