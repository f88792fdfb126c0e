import { eq } from 'drizzle-orm';
import { expect } from 'vitest';
import { reserveCredits } from '@/lib/server/usecases/reserve-credits';
import { at, makeBatch, makeUser } from './factories';
import type { Database } from '@/lib/server/db/types';
import { creditBalances, creditHolds } from '@/lib/server/db/schema';

export async function holdOf(db: Database, key: string) {
  const [row] = await db.select().from(creditHolds).where(eq(creditHolds.key, key));
  return row;
}

/** The user's balance row: balance, held and the lifetime totals. */
export async function balanceRowOf(db: Database, userId: string) {
  const [row] = await db.select().from(creditBalances).where(eq(creditBalances.userId, userId));
  return row;
}

/** What the user's balance row says is spendable and held (both 0 without a row). */
export async function balanceAndHeld(db: Database, userId: string) {
  const [row] = await db.select().from(creditBalances).where(eq(creditBalances.userId, userId));
  return { balance: row?.balance ?? 0, held: row?.held ?? 0 };
}

/**
 * A user with a batch of 30 that expires first (`first`, on 2026-06-20) and a never-expiring one of 30
 * (`last`), granted on 2026-06-01, and a hold of 50 on them (30 from `first`, 20 from `last`) under `key`.
 */
export async function userWithHold(db: Database, p: { ttlSeconds: number; now: Date }) {
  const past = at('2026-06-01T00:00:00Z');
  const user = await makeUser(db);
  const first = await makeBatch(db, { userId: user.id, amount: 30, expiresAt: at('2026-06-20T00:00:00Z'), now: past });
  const last = await makeBatch(db, { userId: user.id, amount: 30, expiresAt: null, now: past });
  const key = `hold-${user.id}`;
  const reserved = await reserveCredits(db, {
    userId: user.id,
    amount: 50,
    key,
    ttlSeconds: p.ttlSeconds,
    reason: 'generation',
    now: p.now,
  });
  expect(reserved).toMatchObject({ ok: true, balanceAfter: 10 });
  return { user, key, first, last };
}
