import { describe, expect, it } from 'vitest';
import { setupTestDatabase } from '@tests/helpers/db';
import { at, makeSubscription, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceOf } from '@tests/helpers/queries';
import { consumeCredits } from '@/lib/server/usecases/consume-credits';
import { testProvider } from '@/lib/server/payments/test-checkout';
import { applyBillingEvents } from '@/lib/server/usecases/apply-billing-webhook';
import { completeTestCheckout } from '@/lib/server/usecases/complete-test-checkout';
import { billingPortalUrl, getBillingSummary } from '@/lib/server/usecases/get-billing-summary';
import { setCancelAtPeriodEnd } from '@/lib/server/usecases/set-cancel-at-period-end';
import { startCheckout } from '@/lib/server/usecases/start-checkout';

// routes: the test provider reads the stored subscription through getDb(), as it does in the app.
const t = setupTestDatabase({ routes: true });

const now = at('2026-06-15T12:00:00Z');

async function buyWithTestCheckout(userId: string, productId: string, when: Date) {
  const started = await startCheckout(t.db, {
    userId,
    email: `${userId}@example.test`,
    productId,
    origin: 'http://localhost:3000',
    provider: testProvider,
  });
  if (!started.ok) throw new Error(started.message);
  const completed = await completeTestCheckout(t.db, { orderId: started.orderId, userId, now: when });
  if (!completed.ok) throw new Error(completed.message);
  return started.orderId;
}

describe('the billing summary', () => {
  it('a user who never paid is on the free tier with no payments', async () => {
    const user = await makeUser(t.db);
    expect(await getBillingSummary(t.db, user.id)).toEqual({ plan: null, payments: [] });
  });

  it('shows the plan in force with its renewal, and every payment newest first with the credits it bought', async () => {
    const user = await makeUser(t.db);
    const packOrder = await buyWithTestCheckout(user.id, 'pack-500', at('2026-06-10T09:00:00Z'));
    const planOrder = await buyWithTestCheckout(user.id, 'pro-monthly', now);
    const yearOrder = await buyWithTestCheckout(user.id, 'pro-yearly', at('2026-06-20T00:00:00Z'));
    const lifetimeOrder = await buyWithTestCheckout(user.id, 'lifetime', at('2026-06-01T00:00:00Z'));

    const summary = await getBillingSummary(t.db, user.id);

    // The newest plan still running is the current one.
    expect(summary.plan).toEqual({
      subscriptionId: `test_sub_${yearOrder}`,
      planId: 'pro-yearly',
      name: 'Pro (yearly)',
      billing: 'yearly',
      state: 'active',
      provider: 'test',
      currentPeriodEnd: at('2027-06-20T00:00:00Z'),
      renewsAt: at('2027-06-20T00:00:00Z'),
      cancelable: true,
      hasPortal: false,
    });
    expect(summary.payments.map((p) => [p.id, p.productName, p.kind, p.amount, p.state, p.credits])).toEqual([
      [`test:test_inv_${yearOrder}`, 'Pro (yearly)', 'term', 19_000, 'paid', 833],
      [`test:test_inv_${planOrder}`, 'Pro (monthly)', 'period', 1_900, 'paid', 1_000],
      [`test:test_pay_${packOrder}`, '500 credits', 'pack', 500, 'paid', 500],
      [`test:test_pay_${lifetimeOrder}`, 'Lifetime', 'lifetime', 29_900, 'paid', 500],
    ]);
    await expectInvariants(t.db, user.id);
  });

  it('shows a refund on its payment: the state, the amount, and what was taken back or already spent', async () => {
    const user = await makeUser(t.db);
    const orderId = await buyWithTestCheckout(user.id, 'pack-500', now);
    const spent = await consumeCredits(t.db, { userId: user.id, amount: 300, reason: 'test', idempotencyKey: 'spend-before-refund', now });
    expect(spent.ok).toBe(true);

    await applyBillingEvents(t.db, {
      provider: 'test',
      events: [
        {
          type: 'payment_reversed',
          kind: 'refund',
          reversalId: 'test_re_1',
          paymentRefs: [`test_pay_${orderId}`],
          amount: 500,
          currency: 'usd',
          at: at('2026-06-16T00:00:00Z'),
        },
      ],
      now: at('2026-06-16T00:00:00Z'),
    });

    const [payment] = (await getBillingSummary(t.db, user.id)).payments;
    expect(payment).toMatchObject({ state: 'refunded', amountRefunded: 500, credits: 500 });
    expect(payment!.reversals).toMatchObject([
      { id: 'test:test_re_1', kind: 'refund', amount: 500, creditsTakenBack: 200, creditsNotRecovered: 300 },
    ]);
    expect(await balanceOf(t.db, user.id)).toBe(0);
    await expectInvariants(t.db, user.id);
  });

  it('an operator’s plan (no provider) is shown but offers no cancel and no portal', async () => {
    const user = await makeUser(t.db);
    await makeSubscription(t.db, { userId: user.id, planId: 'pro-monthly', now });
    expect((await getBillingSummary(t.db, user.id)).plan).toMatchObject({
      planId: 'pro-monthly',
      provider: null,
      cancelable: false,
      hasPortal: false,
    });
    expect(await billingPortalUrl(t.db, { userId: user.id, returnUrl: 'http://localhost:3000/billing' })).toBeNull();
  });
});

describe('cancel at period end, and resume', () => {
  it('cancel: the plan says it cancels at the end of the paid period and no longer renews; resume: it renews again', async () => {
    const user = await makeUser(t.db);
    const orderId = await buyWithTestCheckout(user.id, 'pro-monthly', now);
    const subscriptionId = `test_sub_${orderId}`;

    expect(await setCancelAtPeriodEnd(t.db, { userId: user.id, subscriptionId, cancel: true, now })).toMatchObject({
      ok: true,
      outcomes: [{ type: 'subscription_state_changed', result: 'applied' }],
    });
    expect((await getBillingSummary(t.db, user.id)).plan).toMatchObject({
      state: 'cancels_at_period_end',
      currentPeriodEnd: at('2026-07-15T12:00:00Z'),
      renewsAt: null,
      cancelable: true,
    });

    await setCancelAtPeriodEnd(t.db, { userId: user.id, subscriptionId, cancel: false, now });
    expect((await getBillingSummary(t.db, user.id)).plan).toMatchObject({ state: 'active', renewsAt: at('2026-07-15T12:00:00Z') });
    // Neither touched the credits of the period already paid for.
    expect(await balanceOf(t.db, user.id)).toBe(1_000);
    await expectInvariants(t.db, user.id);
  });

  it('refuses another user’s subscription like a missing one, and a lifetime plan (nothing renews)', async () => {
    const owner = await makeUser(t.db);
    const stranger = await makeUser(t.db);
    const monthly = await buyWithTestCheckout(owner.id, 'pro-monthly', now);
    const lifetime = await buyWithTestCheckout(owner.id, 'lifetime', now);

    expect(await setCancelAtPeriodEnd(t.db, { userId: stranger.id, subscriptionId: `test_sub_${monthly}`, cancel: true })).toMatchObject({
      ok: false,
      reason: 'subscription_not_found',
    });
    expect(await setCancelAtPeriodEnd(t.db, { userId: owner.id, subscriptionId: `test:test_pay_${lifetime}`, cancel: true })).toMatchObject(
      { ok: false, reason: 'not_cancelable' },
    );
    const plans = await getBillingSummary(t.db, owner.id);
    expect(plans.plan).toMatchObject({ state: 'active' });
  });
});
