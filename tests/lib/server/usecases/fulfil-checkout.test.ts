import { describe, expect, it } from 'vitest';
import { ordersOf, recordingProvider } from '@tests/helpers/checkout';
import { onRealServer, setupTestDatabase } from '@tests/helpers/db';
import { at, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceOf, batchesOf } from '@tests/helpers/queries';
import type { BillingEvent } from '@/lib/server/payments/events';
import { testProvider } from '@/lib/server/payments/test-checkout';
import { applyBillingWebhook } from '@/lib/server/usecases/apply-billing-webhook';
import { completeTestCheckout } from '@/lib/server/usecases/complete-test-checkout';
import { fulfilCheckout } from '@/lib/server/usecases/fulfil-checkout';
import { startCheckout } from '@/lib/server/usecases/start-checkout';

const t = setupTestDatabase();

const now = at('2026-06-15T12:00:00Z');

/** A checkout started with a stand-in Stripe; `paid(events)` makes its fetchCheckout answer as a paid session. */
async function stripeCheckout(userId: string, productId = 'pack-500') {
  const stripe = recordingProvider('stripe');
  const started = await startCheckout(t.db, {
    userId,
    email: `${userId}@example.test`,
    productId,
    origin: 'https://app.example.test',
    provider: stripe.provider,
  });
  if (!started.ok) throw new Error(started.message);
  const fulfil = (forUser = userId) =>
    fulfilCheckout(t.db, { userId: forUser, orderId: started.orderId, checkoutId: started.checkoutId, now, provider: stripe.provider });
  return { ...stripe, orderId: started.orderId, checkoutId: started.checkoutId, fulfil };
}

const packPaid = (userId: string, paymentId: string): BillingEvent => ({
  type: 'one_time_payment_succeeded',
  userId,
  productId: 'pack-500',
  customerId: 'cus_1',
  paymentId,
  chargeId: `pi_${paymentId}`,
  amount: 500,
  currency: 'usd',
  paidAt: now,
});

describe('the success page’s fulfilment', () => {
  it('grants what the provider says was paid when the buyer returns before the webhook, and the webhook then replays it', async () => {
    const user = await makeUser(t.db);
    const checkout = await stripeCheckout(user.id);
    checkout.pay(checkout.checkoutId, [packPaid(user.id, checkout.checkoutId)]);

    expect(await checkout.fulfil()).toEqual({
      ok: true,
      productId: 'pack-500',
      productName: '500 credits',
      status: 'credited',
      credits: 500,
      providerUnavailable: false,
    });
    const webhook = await applyBillingWebhook(
      t.db,
      { provider: 'stripe', eventId: 'evt_1', eventType: 'checkout.session.completed', events: [packPaid(user.id, checkout.checkoutId)] },
      { now },
    );
    expect(webhook.outcomes).toMatchObject([{ result: 'replayed' }]);
    // A reload of the success page replays too.
    expect(await checkout.fulfil()).toMatchObject({ status: 'credited', credits: 500 });
    expect(await balanceOf(t.db, user.id)).toBe(500);
    expect(await batchesOf(t.db, user.id)).toHaveLength(1);
    expect(await ordersOf(t.db, user.id)).toMatchObject([{ status: 'completed', completedAt: now }]);
    await expectInvariants(t.db, user.id);
  });

  it('shows the credits the webhook already granted, without granting them again', async () => {
    const user = await makeUser(t.db);
    const checkout = await stripeCheckout(user.id);
    await applyBillingWebhook(
      t.db,
      { provider: 'stripe', eventId: 'evt_2', eventType: 'checkout.session.completed', events: [packPaid(user.id, checkout.checkoutId)] },
      { now },
    );
    checkout.pay(checkout.checkoutId, [packPaid(user.id, checkout.checkoutId)]);
    expect(await checkout.fulfil()).toMatchObject({ status: 'credited', credits: 500 });
    expect(await balanceOf(t.db, user.id)).toBe(500);
    await expectInvariants(t.db, user.id);
  });

  it('an unpaid checkout is pending: nothing granted, the order stays pending', async () => {
    const user = await makeUser(t.db);
    const checkout = await stripeCheckout(user.id);
    expect(await checkout.fulfil()).toMatchObject({ ok: true, status: 'pending', credits: 0, providerUnavailable: false });
    expect(await balanceOf(t.db, user.id)).toBe(0);
    expect(await ordersOf(t.db, user.id)).toMatchObject([{ status: 'pending', completedAt: null }]);
  });

  it('applies only the buyer’s own events: a checkout answer naming another user grants nobody anything here', async () => {
    const buyer = await makeUser(t.db);
    const other = await makeUser(t.db);
    const checkout = await stripeCheckout(buyer.id);
    checkout.pay(checkout.checkoutId, [packPaid(other.id, checkout.checkoutId)]);
    expect(await checkout.fulfil()).toMatchObject({ status: 'pending', credits: 0 });
    expect(await balanceOf(t.db, buyer.id)).toBe(0);
    expect(await balanceOf(t.db, other.id)).toBe(0);
  });

  it('a provider that cannot be reached leaves the order pending for the webhook, and says so', async () => {
    const user = await makeUser(t.db);
    const checkout = await stripeCheckout(user.id);
    checkout.failFetches();
    expect(await checkout.fulfil()).toMatchObject({ ok: true, status: 'pending', providerUnavailable: true });
  });

  it('another user’s order answers like a missing one', async () => {
    const buyer = await makeUser(t.db);
    const stranger = await makeUser(t.db);
    const checkout = await stripeCheckout(buyer.id);
    checkout.pay(checkout.checkoutId, [packPaid(buyer.id, checkout.checkoutId)]);
    expect(await checkout.fulfil(stranger.id)).toMatchObject({ ok: false, reason: 'order_not_found' });
    expect(await balanceOf(t.db, buyer.id)).toBe(0);
  });

  it('a test checkout paid with its Pay button shows the credits it bought', async () => {
    const user = await makeUser(t.db);
    const started = await startCheckout(t.db, {
      userId: user.id,
      email: 'x@example.test',
      productId: 'pro-monthly',
      origin: 'http://localhost:3000',
      provider: testProvider,
    });
    if (!started.ok) throw new Error(started.message);
    const before = await fulfilCheckout(t.db, { userId: user.id, orderId: started.orderId, checkoutId: started.orderId, now });
    expect(before).toMatchObject({ status: 'pending', credits: 0 });
    await completeTestCheckout(t.db, { orderId: started.orderId, userId: user.id, now });
    expect(await fulfilCheckout(t.db, { userId: user.id, orderId: started.orderId, checkoutId: started.orderId, now })).toMatchObject({
      ok: true,
      productName: 'Pro (monthly)',
      status: 'credited',
      credits: 1_000,
    });
    await expectInvariants(t.db, user.id);
  });
});

describe.runIf(onRealServer)('on the Postgres server', () => {
  it('the success page racing the webhook (and a second webhook delivery) grants once, in every order', async () => {
    for (let round = 0; round < 8; round++) {
      const user = await makeUser(t.db);
      const checkout = await stripeCheckout(user.id);
      const events = [packPaid(user.id, checkout.checkoutId)];
      checkout.pay(checkout.checkoutId, events);
      const deliveries = [
        checkout.fulfil(),
        applyBillingWebhook(
          t.db,
          { provider: 'stripe', eventId: `evt_race_${round}`, eventType: 'checkout.session.completed', events },
          { now },
        ),
        applyBillingWebhook(
          t.db,
          { provider: 'stripe', eventId: `evt_race_${round}_again`, eventType: 'checkout.session.completed', events },
          { now },
        ),
      ];
      // A different starting order each round.
      const results = await Promise.all(round % 2 ? deliveries.reverse() : deliveries);
      expect(results).toHaveLength(3);
      expect((await batchesOf(t.db, user.id)).map((b) => b.idempotencyKey)).toEqual([`purchase:stripe:${checkout.checkoutId}`]);
      expect(await balanceOf(t.db, user.id)).toBe(500);
    }
    await expectInvariants(t.db);
  });
});
