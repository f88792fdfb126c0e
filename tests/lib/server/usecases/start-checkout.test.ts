import { describe, expect, it, vi } from 'vitest';
import { inProduction, orderCount, ordersOf, recordingProvider, resetEnvAfterEach } from '@tests/helpers/checkout';
import { setupTestDatabase } from '@tests/helpers/db';
import { makeUser } from '@tests/helpers/factories';
import { creditsConfig, findProduct } from '@/config/credits';
import { resetEnvCache } from '@/env';
import { billingCustomers, checkoutOrders } from '@/lib/server/db/schema';
import { checkoutProvider } from '@/lib/server/payments';
import { testProvider } from '@/lib/server/payments/test-checkout';
import { startCheckout } from '@/lib/server/usecases/start-checkout';

const t = setupTestDatabase();
resetEnvAfterEach();

const origin = 'https://app.example.test';
const buy = (user: { id: string; email: string }, productId: string, provider: Parameters<typeof startCheckout>[1]['provider']) =>
  startCheckout(t.db, { userId: user.id, email: user.email, productId, origin, provider });

describe('starting a checkout', () => {
  it('writes the pending order before calling the provider, names it in the success URL and stores the provider’s checkout id', async () => {
    const user = await makeUser(t.db);
    const stripe = recordingProvider('stripe');
    let orderAtCall: unknown;
    const createCheckout = stripe.provider.createCheckout;
    stripe.provider.createCheckout = async (request) => {
      orderAtCall = (await ordersOf(t.db, user.id))[0];
      return createCheckout(request);
    };

    const result = await buy(user, 'pack-500', stripe.provider);

    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(orderAtCall).toMatchObject({
      id: result.orderId,
      status: 'pending',
      checkoutId: null,
      provider: 'stripe',
      productId: 'pack-500',
    });
    expect(stripe.checkouts).toEqual([
      {
        orderId: result.orderId,
        userId: user.id,
        email: user.email,
        product: findProduct(creditsConfig, 'pack-500'),
        customerId: null,
        successUrl: `${origin}/checkout/success?order=${result.orderId}&checkout={CHECKOUT_ID}`,
        cancelUrl: `${origin}/pricing`,
      },
    ]);
    expect(result.url).toBe(`https://pay.example.test/${result.orderId}`);
    const [order] = await ordersOf(t.db, user.id);
    expect(order).toMatchObject({ status: 'pending', checkoutId: `cs_${result.orderId}`, completedAt: null });
  });

  it('passes the customer the provider already knows for this user', async () => {
    const user = await makeUser(t.db);
    await t.db.insert(billingCustomers).values([
      { provider: 'stripe', customerId: 'cus_known', userId: user.id },
      { provider: 'creem', customerId: 'cust_other_provider', userId: user.id },
    ]);
    const stripe = recordingProvider('stripe');
    await buy(user, 'pro-monthly', stripe.provider);
    expect(stripe.checkouts.map((c) => c.customerId)).toEqual(['cus_known']);
  });

  it('refuses a product that is not for sale and writes nothing', async () => {
    const user = await makeUser(t.db);
    const stripe = recordingProvider('stripe');
    const before = await orderCount(t.db);
    expect(await buy(user, 'pack-9999', stripe.provider)).toMatchObject({ ok: false, reason: 'unknown_product' });
    expect(await orderCount(t.db)).toBe(before);
    expect(stripe.checkouts).toEqual([]);
  });

  it('refuses with a clear message when no provider can take payments (production without keys), and writes nothing', async () => {
    const user = await makeUser(t.db);
    const before = await orderCount(t.db);
    expect(await inProduction(() => buy(user, 'pack-500', null))).toEqual({
      ok: false,
      reason: 'payments_not_configured',
      message: 'Payments are not set up on this site yet, so nothing can be bought right now.',
      detail: null,
    });
    // Outside production the message tells the developer what to set.
    const unconfigured = recordingProvider('stripe', { missing: ['STRIPE_SECRET_KEY'] });
    expect(await buy(user, 'pack-500', unconfigured.provider)).toEqual({
      ok: false,
      reason: 'payments_not_configured',
      message: 'Payments are not set up on this site yet, so nothing can be bought right now. (stripe: STRIPE_SECRET_KEY)',
      detail: 'stripe: STRIPE_SECRET_KEY',
    });
    expect(unconfigured.checkouts).toEqual([]);
    expect(await orderCount(t.db)).toBe(before);
  });

  it('goes to the labelled test checkout when no provider has keys outside production; production has none', async () => {
    const user = await makeUser(t.db);
    // Whatever the developer's shell holds: no provider keys, no choice of provider.
    for (const name of ['PAYMENTS_PROVIDER', 'STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET', 'CREEM_API_KEY', 'CREEM_WEBHOOK_SECRET'])
      vi.stubEnv(name, '');
    resetEnvCache();
    expect(checkoutProvider()?.id).toBe('test');
    const result = await buy(user, 'pack-500', undefined);
    expect(result).toMatchObject({ ok: true, provider: 'test' });
    if (!result.ok) return;
    expect(result.url).toBe(`/checkout/test/${result.orderId}`);
    expect(result.checkoutId).toBe(result.orderId);

    await inProduction(async () => {
      expect(checkoutProvider()).toBeNull();
      expect(testProvider.missingConfiguration()).toEqual(['NODE_ENV is production']);
      const before = await orderCount(t.db);
      expect(await buy(user, 'pack-500', testProvider)).toMatchObject({ ok: false, reason: 'payments_not_configured' });
      expect(await orderCount(t.db)).toBe(before);
    });
  });

  it('each click is its own order (the order id is the provider’s idempotency key, not the product)', async () => {
    const user = await makeUser(t.db);
    const stripe = recordingProvider('stripe');
    await buy(user, 'pack-500', stripe.provider);
    await buy(user, 'pack-500', stripe.provider);
    const orders = await t.db.select({ id: checkoutOrders.id }).from(checkoutOrders);
    expect(new Set(stripe.checkouts.map((c) => c.orderId)).size).toBe(2);
    expect(stripe.checkouts.every((c) => orders.some((o) => o.id === c.orderId))).toBe(true);
  });
});
