import 'server-only';
import { and, desc, eq } from 'drizzle-orm';
import { env } from '@/env';
import { getDb } from '@/lib/server/db';
import { payments, subscriptions } from '@/lib/server/db/schema';
import type { BillingEvent } from './events';
import type { PaymentProvider } from './provider';
import { WebhookSignatureError } from './provider';

// The labelled test checkout of development: no keys, no network. Its "checkout" is a page of this
// app (/checkout/test/{orderId}) whose Pay button builds the same normalized events a real provider
// would (complete-test-checkout.ts), so the same handlers, keys and ledger rows are exercised.

/** Where the test checkout's Pay button sends the buyer: the order's own page. */
export const testCheckoutPath = (orderId: string) => `/checkout/test/${orderId}`;

export const testProvider: PaymentProvider = {
  id: 'test',
  // Money never moves here, so production refuses it (env.ts also refuses PAYMENTS_PROVIDER=test there).
  missingConfiguration: () => (env().NODE_ENV === 'production' ? ['NODE_ENV is production'] : []),
  verifyWebhook: async () => {
    throw new WebhookSignatureError('the test checkout has no webhook');
  },
  // The order id is the checkout id: the success page finds the order either way.
  createCheckout: async (request) => ({ checkoutId: request.orderId, url: testCheckoutPath(request.orderId) }),
  // The Pay button applies the events itself; there is nothing to fetch afterwards.
  fetchCheckout: async () => [],
  // No hosted portal: the billing page is where a test subscription is managed.
  customerPortalUrl: async () => '/billing',
  setCancelAtPeriodEnd: async (subscriptionId, cancel) => [await stateWithCancel(subscriptionId, cancel)],
};

/** What a provider would answer after the change: the stored subscription, with `cancelAtPeriodEnd` flipped. */
async function stateWithCancel(subscriptionId: string, cancel: boolean): Promise<BillingEvent> {
  const db = await getDb();
  const [subscription] = await db.select().from(subscriptions).where(eq(subscriptions.id, subscriptionId));
  if (!subscription || subscription.provider !== 'test') throw new Error(`no test subscription ${subscriptionId}`);
  const [lastPayment] = await db
    .select({ periodStart: payments.periodStart, periodEnd: payments.periodEnd })
    .from(payments)
    .where(and(eq(payments.subscriptionId, subscriptionId), eq(payments.provider, 'test')))
    .orderBy(desc(payments.paidAt))
    .limit(1);
  // A real provider's clock only moves forward; the stored state may carry a test's future instant.
  const asOf = new Date(Math.max(Date.now(), (subscription.providerUpdatedAt?.getTime() ?? 0) + 1));
  return {
    type: 'subscription_state_changed',
    subscriptionId,
    userId: subscription.userId,
    productId: subscription.planId,
    customerId: subscription.customerId,
    status: subscription.status,
    cancelAtPeriodEnd: cancel,
    currentPeriodStart: lastPayment?.periodStart ?? null,
    currentPeriodEnd: subscription.currentPeriodEnd ?? lastPayment?.periodEnd ?? null,
    asOf,
  };
}
