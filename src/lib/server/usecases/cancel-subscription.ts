import 'server-only';
import { and, eq } from 'drizzle-orm';
import { creditSchedules, subscriptions, type Subscription } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { transaction } from '@/lib/server/db/sql';

export type CancelSubscriptionResult =
  | { ok: true; replayed: boolean; subscription: Subscription }
  | { ok: false; reason: 'not_found'; message: string };

/**
 * Stops every future grant and installment of a subscription at once. Credits already granted stay
 * until they expire. Canceling twice changes nothing.
 */
export async function cancelSubscription(
  db: Database,
  params: { subscriptionId: string; now?: Date },
): Promise<CancelSubscriptionResult> {
  const now = params.now ?? new Date();
  return transaction(db, async (tx) => {
    const [canceled] = await tx
      .update(subscriptions)
      .set({ status: 'canceled', canceledAt: now, updatedAt: now })
      .where(and(eq(subscriptions.id, params.subscriptionId), eq(subscriptions.status, 'active')))
      .returning();
    if (!canceled) {
      const [existing] = await tx.select().from(subscriptions).where(eq(subscriptions.id, params.subscriptionId));
      if (!existing) return { ok: false, reason: 'not_found', message: `No subscription "${params.subscriptionId}"` };
      return { ok: true, replayed: true, subscription: existing };
    }
    // Waits for a schedule job holding this schedule, so an installment is either granted before the cancel or never.
    await tx
      .update(creditSchedules)
      .set({ status: 'canceled', nextDueAt: null, updatedAt: now })
      .where(and(eq(creditSchedules.subscriptionId, params.subscriptionId), eq(creditSchedules.status, 'active')));
    return { ok: true, replayed: false, subscription: canceled };
  });
}
