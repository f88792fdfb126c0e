import 'server-only';
import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { subscriptions } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { paymentProvider } from '@/lib/server/payments';
import type { PaymentProvider } from '@/lib/server/payments/provider';
import { applyBillingEvents, type BillingOutcome } from './apply-billing-webhook';

const paramsSchema = z.object({
  userId: z.string().min(1),
  subscriptionId: z.string().min(1).max(255),
  /** true: stop at the end of the period already paid for; false: take that back and keep renewing. */
  cancel: z.boolean(),
});

export type SetCancelAtPeriodEndResult =
  { ok: true; outcomes: BillingOutcome[] } | { ok: false; reason: 'subscription_not_found' | 'not_cancelable'; message: string };

/**
 * The billing page's Cancel at period end / Resume: the provider is asked (it bills, so it decides),
 * and its answer is applied through the same handlers as its webhook, which may follow and replay it.
 */
export async function setCancelAtPeriodEnd(
  db: Database,
  params: z.input<typeof paramsSchema> & { provider?: PaymentProvider; now?: Date },
): Promise<SetCancelAtPeriodEndResult> {
  const { userId, subscriptionId, cancel } = paramsSchema.parse(params);
  const [subscription] = await db
    .select()
    .from(subscriptions)
    .where(and(eq(subscriptions.id, subscriptionId), eq(subscriptions.userId, userId)));
  // Another user's subscription answers like a missing one.
  if (!subscription) return { ok: false, reason: 'subscription_not_found', message: 'There is no such subscription.' };
  if (!subscription.provider || subscription.billing === 'lifetime' || subscription.status === 'canceled') {
    return { ok: false, reason: 'not_cancelable', message: 'This plan has no renewal to cancel or resume.' };
  }
  const provider = params.provider ?? paymentProvider(subscription.provider);
  const events = await provider.setCancelAtPeriodEnd(subscriptionId, cancel);
  const outcomes = await applyBillingEvents(db, { provider: subscription.provider, events, now: params.now });
  return { ok: true, outcomes };
}
