import 'server-only';
import { and, eq, gte, isNull, ne, or } from 'drizzle-orm';
import { creditSchedules, subscriptions, type Subscription } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { transaction } from '@/lib/server/db/sql';

export type CancelSubscriptionResult =
  { ok: true; replayed: boolean; subscription: Subscription } | { ok: false; reason: 'not_found'; message: string };

/**
 * Stops a subscription at `now`: nothing that falls due from then on is granted. What fell due before
 * (a period that had begun, an installment whose date had come) is still granted by the jobs, once,
 * whenever they run next. Credits already granted stay until they expire. Canceling twice changes nothing.
 */
export async function cancelSubscription(db: Database, params: { subscriptionId: string; now?: Date }): Promise<CancelSubscriptionResult> {
  const now = params.now ?? new Date();
  return transaction(db, async (tx) => {
    // The subscription first, then its schedules (the order every billing change takes), then the
    // canceled row is written: an installment job paying a schedule now (it holds the schedule) finishes
    // before the cancel is written, and a job starting later reads the cancel.
    // FOR NO KEY UPDATE, not FOR UPDATE: a job granting a batch of this subscription takes a key-share
    // lock on it (the batch's foreign key) while it holds the schedule; FOR UPDATE would wait for that
    // job while the job waits for this row, a deadlock.
    await tx.select({ id: subscriptions.id }).from(subscriptions).where(eq(subscriptions.id, params.subscriptionId)).for('no key update');
    await tx
      .select({ id: creditSchedules.id })
      .from(creditSchedules)
      .where(eq(creditSchedules.subscriptionId, params.subscriptionId))
      .for('update');
    const [canceled] = await tx
      .update(subscriptions)
      .set({ status: 'canceled', canceledAt: now, updatedAt: now })
      .where(and(eq(subscriptions.id, params.subscriptionId), ne(subscriptions.status, 'canceled')))
      .returning();
    if (!canceled) {
      const [existing] = await tx.select().from(subscriptions).where(eq(subscriptions.id, params.subscriptionId));
      if (!existing) return { ok: false, reason: 'not_found', message: `No subscription "${params.subscriptionId}"` };
      return { ok: true, replayed: true, subscription: existing };
    }
    // A schedule with no installment due before the cancel is closed now; one with installments due
    // before it stays active until the installment job has granted them (it then closes it).
    await tx
      .update(creditSchedules)
      .set({ status: 'canceled', nextDueAt: null, updatedAt: now })
      .where(
        and(
          eq(creditSchedules.subscriptionId, params.subscriptionId),
          eq(creditSchedules.status, 'active'),
          or(isNull(creditSchedules.nextDueAt), gte(creditSchedules.nextDueAt, now)),
        ),
      );
    return { ok: true, replayed: false, subscription: canceled };
  });
}
