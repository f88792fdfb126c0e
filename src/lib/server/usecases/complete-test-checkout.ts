import 'server-only';
import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { creditsConfig as defaultConfig, findProduct, YEARLY_TERM_MONTHS, type CreditsConfig, type Product } from '@/config/credits';
import { env } from '@/env';
import { addUtcMonths } from '@/lib/server/credits/time';
import { checkoutOrders, type CheckoutOrder } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import type { BillingEvent } from '@/lib/server/payments/events';
import { applyBillingEvents, type BillingOutcome } from './apply-billing-webhook';

// The Pay button of the labelled test checkout (development only): it plays the part of the
// provider, building the normalized events Stripe or Creem would send for this order, and applies
// them through the same dispatcher as a webhook. The provider ids derive from the order id, so a
// second click (or a reload of the form) replays the same payment and grants nothing more.

/** The provider ids the test checkout gives an order's payment, subscription and invoice. */
export const testCheckoutIds = (orderId: string) => ({
  paymentId: `test_pay_${orderId}`,
  subscriptionId: `test_sub_${orderId}`,
  invoiceId: `test_inv_${orderId}`,
});

const paramsSchema = z.object({ orderId: z.uuid(), userId: z.string().min(1), now: z.date() });

type Refusal = { ok: false; reason: 'refused_in_production' | 'order_not_found' | 'not_a_test_order' | 'unknown_product'; message: string };

export type CompleteTestCheckoutResult = { ok: true; orderId: string; replayed: boolean; outcomes: BillingOutcome[] } | Refusal;

export async function completeTestCheckout(
  db: Database,
  params: z.input<typeof paramsSchema> & { config?: CreditsConfig },
): Promise<CompleteTestCheckoutResult> {
  const config = params.config ?? defaultConfig;
  const found = await findTestOrder(db, paramsSchema.parse(params), config);
  if (!found.ok) return found;
  const { order, product } = found;
  // A second completion replays the first one's events exactly (same instants), so every key matches.
  const paidAt = order.completedAt ?? params.now;
  const outcomes = await applyBillingEvents(db, {
    provider: 'test',
    events: testCheckoutEvents(order, product, paidAt),
    now: params.now,
    config,
  });
  if (!order.completedAt) {
    await db
      .update(checkoutOrders)
      .set({ status: 'completed', completedAt: paidAt })
      .where(and(eq(checkoutOrders.id, order.id), eq(checkoutOrders.status, 'pending')));
  }
  return { ok: true, orderId: order.id, replayed: order.completedAt !== null, outcomes };
}

/** The order behind a test checkout page, if this user may see it; the same refusals as completing it. */
export async function getTestCheckoutOrder(
  db: Database,
  params: { orderId: string; userId: string; config?: CreditsConfig },
): Promise<{ ok: true; order: CheckoutOrder; product: Product } | Refusal> {
  const parsed = z.object({ orderId: z.uuid(), userId: z.string().min(1) }).safeParse(params);
  if (!parsed.success) return notFound();
  return findTestOrder(db, parsed.data, params.config ?? defaultConfig);
}

async function findTestOrder(
  db: Database,
  { orderId, userId }: { orderId: string; userId: string },
  config: CreditsConfig,
): Promise<{ ok: true; order: CheckoutOrder; product: Product } | Refusal> {
  if (env().NODE_ENV === 'production') {
    return { ok: false, reason: 'refused_in_production', message: 'The test checkout is turned off in production.' };
  }
  const [order] = await db
    .select()
    .from(checkoutOrders)
    .where(and(eq(checkoutOrders.id, orderId), eq(checkoutOrders.userId, userId)));
  // Someone else's order answers like a missing one: an order id reveals nothing about other users.
  if (!order) return notFound();
  if (order.provider !== 'test') return { ok: false, reason: 'not_a_test_order', message: 'This order is paid through a real provider.' };
  const product = findProduct(config, order.productId);
  if (!product) return { ok: false, reason: 'unknown_product', message: `The product "${order.productId}" is no longer for sale.` };
  return { ok: true, order, product };
}

const notFound = (): Refusal => ({ ok: false, reason: 'order_not_found', message: 'There is no such order.' });

/** What a real provider reports for this order once paid: a one-time payment, or a subscription and its first paid period. */
export function testCheckoutEvents(
  order: Pick<CheckoutOrder, 'id' | 'userId' | 'productId'>,
  product: Product,
  paidAt: Date,
): BillingEvent[] {
  const ids = testCheckoutIds(order.id);
  const buyer = { userId: order.userId, productId: order.productId, customerId: null };
  const item = product.kind === 'plan' ? product.plan : product.pack;
  const money = { amount: item.price.amount, currency: item.price.currency, chargeId: null, paidAt };
  if (product.kind === 'pack' || product.plan.billing === 'lifetime') {
    return [{ type: 'one_time_payment_succeeded', ...buyer, ...money, paymentId: ids.paymentId }];
  }
  const periodEnd = addUtcMonths(paidAt, product.plan.billing === 'monthly' ? 1 : YEARLY_TERM_MONTHS);
  // The paid invoice first: it creates the subscription, which a state event about an unseen one never does.
  return [
    {
      type: 'subscription_period_paid',
      ...buyer,
      ...money,
      subscriptionId: ids.subscriptionId,
      paymentId: ids.invoiceId,
      periodStart: paidAt,
      periodEnd,
    },
    {
      type: 'subscription_state_changed',
      ...buyer,
      subscriptionId: ids.subscriptionId,
      status: 'active',
      cancelAtPeriodEnd: false,
      currentPeriodStart: paidAt,
      currentPeriodEnd: periodEnd,
      asOf: paidAt,
    },
  ];
}
