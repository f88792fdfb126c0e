import 'server-only';
import { asc, desc, eq } from 'drizzle-orm';
import { creditBatches, subscriptions, users } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { getCreditSummary } from './get-credit-summary';
import { getBillingSummary } from './get-billing-summary';

const BATCHES_SHOWN = 50;

/**
 * Everything the admin console shows about one user but the ledger (paged by `getCreditHistory`): who
 * they are (role, ban), the credit summary they see themselves, their newest batches with what is left
 * and when it expires, their subscriptions and their payments. Null for an unknown id.
 */
export async function getUserForAdmin(db: Database, params: { userId: string; now?: Date }) {
  const now = params.now ?? new Date();
  const [user] = await db
    .select({
      id: users.id,
      email: users.email,
      name: users.name,
      role: users.role,
      banned: users.banned,
      banReason: users.banReason,
      banExpires: users.banExpires,
      createdAt: users.createdAt,
    })
    .from(users)
    .where(eq(users.id, params.userId));
  if (!user) return null;
  const [summary, batches, subs, billing] = await Promise.all([
    getCreditSummary(db, { userId: user.id, now }),
    db.select().from(creditBatches).where(eq(creditBatches.userId, user.id)).orderBy(desc(creditBatches.id)).limit(BATCHES_SHOWN),
    db.select().from(subscriptions).where(eq(subscriptions.userId, user.id)).orderBy(asc(subscriptions.createdAt)),
    getBillingSummary(db, user.id),
  ]);
  return { user, summary, batches, subscriptions: subs, payments: billing.payments };
}

export type UserForAdmin = NonNullable<Awaited<ReturnType<typeof getUserForAdmin>>>;
