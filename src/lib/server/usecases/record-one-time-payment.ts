import 'server-only';
import { eq } from 'drizzle-orm';
import { findProduct } from '@/config/credits';
import { subscriptions } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import type { BillingEventOf } from '@/lib/server/payments/events';
import { addCreditsToPayment, paymentValues, recordPayment, rememberCustomer, whyNotCredited } from '@/lib/server/payments/records';
import { creditKeys } from '@/lib/server/credits/keys';
import type { BillingContext, BillingOutcome } from './apply-billing-webhook';
import { purchaseCreditPack } from './purchase-credit-pack';
import { startSubscription } from './start-subscription';

/**
 * A one-time payment received: a pack is granted at once; the lifetime plan starts (a subscription row
 * whose id is the payment's) and this month's credits are granted, later months by the grant job.
 * Keyed by the payment: any number of events for it grant once.
 */
export async function recordOneTimePayment(
  tx: Database,
  event: BillingEventOf<'one_time_payment_succeeded'>,
  ctx: BillingContext,
): Promise<Omit<BillingOutcome, 'type'>> {
  const product = findProduct(ctx.config, event.productId);
  const ignored = await whyNotCredited(tx, {
    ...event,
    productFits: product !== undefined && (product.kind === 'pack' || product.plan.billing === 'lifetime'),
    expected: 'a pack or the lifetime plan',
  });
  if (ignored || !product) return { result: 'ignored', detail: ignored ?? undefined };
  await rememberCustomer(tx, ctx.provider, event.customerId, event.userId);
  const common = paymentValues(ctx, event, event.productId);
  const id = common.id;

  if (product.kind === 'pack') {
    const recorded = await recordPayment(tx, { ...common, kind: 'pack', grantKey: creditKeys.purchase(id) }, ctx);
    if (!recorded.created) return { result: 'replayed' };
    const grant = await purchaseCreditPack(tx, {
      userId: event.userId,
      packId: product.pack.id,
      purchaseId: id,
      now: ctx.now,
      config: ctx.config,
    });
    if (!grant.ok) throw new Error(`pack ${product.pack.id} for payment ${id} could not be granted: ${grant.message}`);
    await addCreditsToPayment(tx, id, grant.batch.amount);
    return { result: 'applied', detail: `${grant.batch.amount} credits` };
  }

  // Lifetime: the subscription row first (the payment row refers to it), under the payment's id.
  const started = await startSubscription(tx, {
    userId: event.userId,
    planId: product.plan.id,
    subscriptionId: id,
    now: ctx.now,
    config: ctx.config,
  });
  if (!started.ok) throw new Error(`lifetime plan for payment ${id} could not start: ${started.message}`);
  await tx
    .update(subscriptions)
    .set({ provider: ctx.provider, customerId: event.customerId ?? null })
    .where(eq(subscriptions.id, id));
  const recorded = await recordPayment(tx, { ...common, kind: 'lifetime', subscriptionId: id }, ctx);
  if (!recorded.created) return { result: 'replayed' };
  const credits = started.firstGrant?.ok ? started.firstGrant.batch.amount : 0;
  await addCreditsToPayment(tx, id, credits);
  return { result: 'applied', detail: `lifetime plan started, ${credits} credits this month` };
}
