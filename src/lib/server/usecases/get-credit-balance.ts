import 'server-only';
import { eq } from 'drizzle-orm';
import { creditBalances } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';

/** A user's balance from their one balance row: what the header badge shows on every page, in O(1). */
export async function getCreditBalance(db: Database, params: { userId: string }): Promise<number> {
  const [row] = await db.select({ balance: creditBalances.balance }).from(creditBalances).where(eq(creditBalances.userId, params.userId));
  return row?.balance ?? 0;
}
