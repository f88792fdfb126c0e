import 'server-only';
import { and, eq, inArray } from 'drizzle-orm';
import { z } from 'zod';
import { creditsConfig as defaultConfig, findPack, findPlan, type CreditsConfig } from '@/config/credits';
import { checkoutOrders, payments } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { paymentProvider } from '@/lib/server/payments';
import type { BillingEvent } from '@/lib/server/payments/events';
import type { PaymentProvider } from '@/lib/server/payments/provider';
import { applyBillingEvents } from './apply-billing-webhook';
import { testCheckoutIds } from './complete-test-checkout';
import { paymentCredits } from './get-billing-summary';

const paramsSchema = z.object({
  userId: z.string().min(1),
  orderId: z.uuid(),
  /** From the success URL; the id stored on the order wins when there is one. */
  checkoutId: z.string().min(1).max(255).nullish(),
  now: z.date(),
});

export type FulfilCheckoutResult =
  | {
      ok: true;
      productId: string;
      productName: string;
      /** `credited`: the payment is recorded and its credits have landed; `pending`: not yet (the webhook will do it). */
      status: 'credited' | 'pending';
      /** Credits the order's payment granted so far. */
      credits: number;
      /** The provider could not be asked this time (it is down, or slow): the webhook still fulfils the order. */
      providerUnavailable: boolean;
    }
  | { ok: false; reason: 'order_not_found'; message: string };

/**
 * The success page's fulfilment. The buyer may come back before the provider's webhook arrives, so
 * the page asks the provider what the checkout paid for and applies those events itself, under the
 * same keys as the webhook: whichever comes second replays. Only the buyer's own events are applied.
 * Nothing sleeps or polls: the answer is what has landed now.
 */
export async function fulfilCheckout(
  db: Database,
  params: z.input<typeof paramsSchema> & { provider?: PaymentProvider; config?: CreditsConfig },
): Promise<FulfilCheckoutResult> {
  const { userId, orderId, checkoutId, now } = paramsSchema.parse(params);
  const config = params.config ?? defaultConfig;
  const [order] = await db
    .select()
    .from(checkoutOrders)
    .where(and(eq(checkoutOrders.id, orderId), eq(checkoutOrders.userId, userId)));
  if (!order) return { ok: false, reason: 'order_not_found', message: 'There is no such order.' };

  const provider = params.provider ?? paymentProvider(order.provider);
  let events: BillingEvent[] = [];
  let providerUnavailable = false;
  const providerCheckoutId = order.checkoutId ?? checkoutId;
  // The test checkout applied its events when Pay was pressed; a real provider is asked now.
  if (order.provider !== 'test' && providerCheckoutId) {
    try {
      events = (await provider.fetchCheckout(providerCheckoutId)).filter((event) => 'userId' in event && event.userId === userId);
    } catch (error) {
      console.error(`[checkout] could not fetch ${order.provider} checkout ${providerCheckoutId} of order ${order.id}:`, error);
      providerUnavailable = true;
    }
    if (events.length > 0) await applyBillingEvents(db, { provider: order.provider, events, now, config });
  }

  const paymentRowIds = paymentIdsOf(order, events).map((id) => `${order.provider}:${id}`);
  const paid =
    paymentRowIds.length === 0 ? [] : await db.select({ id: payments.id }).from(payments).where(inArray(payments.id, paymentRowIds));
  const creditsByPayment = await paymentCredits(
    db,
    paid.map((p) => p.id),
  );
  const credits = [...creditsByPayment.values()].reduce((sum, n) => sum + n, 0);
  if (paid.length > 0 && !order.completedAt) {
    await db
      .update(checkoutOrders)
      .set({ status: 'completed', completedAt: now })
      .where(and(eq(checkoutOrders.id, order.id), eq(checkoutOrders.status, 'pending')));
  }
  return {
    ok: true,
    productId: order.productId,
    productName: findPlan(config, order.productId)?.name ?? findPack(config, order.productId)?.name ?? order.productId,
    status: paid.length > 0 && credits > 0 ? 'credited' : 'pending',
    credits,
    providerUnavailable,
  };
}

/** The provider ids of what the order paid: from the provider's answer, or, for the test checkout, from the order id. */
function paymentIdsOf(order: { id: string; provider: string }, events: BillingEvent[]): string[] {
  if (order.provider === 'test') {
    const ids = testCheckoutIds(order.id);
    return [ids.paymentId, ids.invoiceId];
  }
  return events.flatMap((event) =>
    event.type === 'one_time_payment_succeeded' || event.type === 'subscription_period_paid' ? [event.paymentId] : [],
  );
}
