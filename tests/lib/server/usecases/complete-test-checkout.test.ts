import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { inProduction, ordersOf, resetEnvAfterEach } from '@tests/helpers/checkout';
import { setupTestDatabase } from '@tests/helpers/db';
import { at, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceOf, batchesOf } from '@tests/helpers/queries';
import { creditsConfig, findPlan, type YearlyPlan } from '@/config/credits';
import { payments, subscriptions } from '@/lib/server/db/schema';
import { WebhookSignatureError } from '@/lib/server/payments/provider';
import { testProvider } from '@/lib/server/payments/test-checkout';
import { completeTestCheckout, testCheckoutEvents } from '@/lib/server/usecases/complete-test-checkout';
import { installmentAmount } from '@/lib/server/usecases/start-subscription';
import { startCheckout } from '@/lib/server/usecases/start-checkout';

const t = setupTestDatabase({ routes: true });
resetEnvAfterEach();

// May 31: a month later is June 30 (clamped), where a naive "same day next month" would overflow.
const now = at('2026-05-31T10:00:00Z');

async function testOrder(userId: string, productId: string) {
  const started = await startCheckout(t.db, {
    userId,
    email: `${userId}@example.test`,
    productId,
    origin: 'http://localhost:3000',
    provider: testProvider,
  });
  if (!started.ok) throw new Error(started.message);
  return started.orderId;
}

describe('the test checkout’s Pay button', () => {
  it('pays a pack as a one-time payment: its credits land once however often it is completed, and the order is completed', async () => {
    const user = await makeUser(t.db);
    const orderId = await testOrder(user.id, 'pack-500');

    const first = await completeTestCheckout(t.db, { orderId, userId: user.id, now });
    const second = await completeTestCheckout(t.db, { orderId, userId: user.id, now: at('2026-05-31T10:05:00Z') });

    expect(first).toMatchObject({ ok: true, replayed: false, outcomes: [{ type: 'one_time_payment_succeeded', result: 'applied' }] });
    expect(second).toMatchObject({ ok: true, replayed: true, outcomes: [{ type: 'one_time_payment_succeeded', result: 'replayed' }] });
    expect(await balanceOf(t.db, user.id)).toBe(500);
    const batches = await batchesOf(t.db, user.id);
    expect(batches.map((b) => [b.source, b.amount, b.idempotencyKey])).toEqual([['purchase', 500, `purchase:test:test_pay_${orderId}`]]);
    const [payment] = await t.db.select().from(payments).where(eq(payments.userId, user.id));
    expect(payment).toMatchObject({
      id: `test:test_pay_${orderId}`,
      provider: 'test',
      kind: 'pack',
      amount: 500,
      currency: 'usd',
      paidAt: now,
    });
    expect(await ordersOf(t.db, user.id)).toMatchObject([{ id: orderId, status: 'completed', completedAt: now }]);
    await expectInvariants(t.db, user.id);
  });

  it('pays a monthly plan as a subscription and its first period: a month of credits, the period ending a calendar month later', async () => {
    const user = await makeUser(t.db);
    const orderId = await testOrder(user.id, 'pro-monthly');

    const result = await completeTestCheckout(t.db, { orderId, userId: user.id, now });

    expect(result).toMatchObject({
      ok: true,
      outcomes: [
        { type: 'subscription_period_paid', result: 'applied' },
        { type: 'subscription_state_changed', result: 'applied' },
      ],
    });
    const [subscription] = await t.db.select().from(subscriptions).where(eq(subscriptions.userId, user.id));
    expect(subscription).toMatchObject({
      id: `test_sub_${orderId}`,
      provider: 'test',
      planId: 'pro-monthly',
      billing: 'monthly',
      status: 'active',
      cancelAtPeriodEnd: false,
      currentPeriodEnd: at('2026-06-30T10:00:00Z'),
    });
    expect(await balanceOf(t.db, user.id)).toBe(1_000);
    const [payment] = await t.db.select().from(payments).where(eq(payments.userId, user.id));
    expect(payment).toMatchObject({ id: `test:test_inv_${orderId}`, kind: 'period', subscriptionId: `test_sub_${orderId}`, amount: 1_900 });
    // Completed again: the same invoice, nothing more.
    await completeTestCheckout(t.db, { orderId, userId: user.id, now: at('2026-06-01T00:00:00Z') });
    expect(await balanceOf(t.db, user.id)).toBe(1_000);
    await expectInvariants(t.db, user.id);
  });

  it('pays a yearly plan for twelve months: the term’s first installment at once', async () => {
    const user = await makeUser(t.db);
    const yearly = findPlan(creditsConfig, 'pro-yearly') as YearlyPlan;
    const orderId = await testOrder(user.id, yearly.id);

    await completeTestCheckout(t.db, { orderId, userId: user.id, now });

    const [subscription] = await t.db.select().from(subscriptions).where(eq(subscriptions.userId, user.id));
    expect(subscription).toMatchObject({ billing: 'yearly', currentPeriodEnd: at('2027-05-31T10:00:00Z') });
    expect(await balanceOf(t.db, user.id)).toBe(installmentAmount(yearly, 1));
    await expectInvariants(t.db, user.id);
  });

  it('pays the lifetime plan as a one-time payment (the same event a provider sends for it)', () => {
    const order = { id: '00000000-0000-4000-8000-000000000001', userId: 'u1', productId: 'lifetime' };
    const lifetime = findPlan(creditsConfig, 'lifetime')!;
    expect(testCheckoutEvents(order, { kind: 'plan', plan: lifetime }, now)).toEqual([
      {
        type: 'one_time_payment_succeeded',
        userId: 'u1',
        productId: 'lifetime',
        customerId: null,
        paymentId: `test_pay_${order.id}`,
        chargeId: null,
        amount: lifetime.price.amount,
        currency: 'usd',
        paidAt: now,
      },
    ]);
  });

  it('refuses another user’s order like a missing one, and grants nothing', async () => {
    const owner = await makeUser(t.db);
    const stranger = await makeUser(t.db);
    const orderId = await testOrder(owner.id, 'pack-500');
    expect(await completeTestCheckout(t.db, { orderId, userId: stranger.id, now })).toMatchObject({ ok: false, reason: 'order_not_found' });
    expect(await balanceOf(t.db, owner.id)).toBe(0);
    expect(await balanceOf(t.db, stranger.id)).toBe(0);
    expect(await ordersOf(t.db, owner.id)).toMatchObject([{ status: 'pending' }]);
  });

  it('the test provider has no webhook: any delivery to it is refused as unsigned', async () => {
    await expect(testProvider.verifyWebhook('{}', new Headers())).rejects.toBeInstanceOf(WebhookSignatureError);
  });

  it('is refused in production, and grants nothing', async () => {
    const user = await makeUser(t.db);
    const orderId = await testOrder(user.id, 'pack-500');
    const result = await inProduction(() => completeTestCheckout(t.db, { orderId, userId: user.id, now }));
    expect(result).toMatchObject({ ok: false, reason: 'refused_in_production' });
    expect(await balanceOf(t.db, user.id)).toBe(0);
    expect(await ordersOf(t.db, user.id)).toMatchObject([{ status: 'pending' }]);
  });
});
