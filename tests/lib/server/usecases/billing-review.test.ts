import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { paymentReversals, payments, subscriptions } from '@/lib/server/db/schema';
import type { BillingEvent, BillingEventOf } from '@/lib/server/payments/events';
import { paymentOfInvoice } from '@/lib/server/payments/stripe-events';
import { applyBillingEvents, applyBillingWebhook } from '@/lib/server/usecases/apply-billing-webhook';
import { consumeCredits } from '@/lib/server/usecases/consume-credits';
import { grantMonthlyCredits } from '@/lib/server/usecases/grant-monthly-credits';
import { addUtcMonths } from '@/lib/server/credits/time';
import { setupTestDatabase } from '@tests/helpers/db';
import { at, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceOf, batchesOf } from '@tests/helpers/queries';
import { ended, packPaid, periodPaid, webhook } from '@tests/helpers/billing-events';
import { invoiceObject, stubStripeEnv, unstubStripeEnv } from '@tests/helpers/stripe';

// An adversarial review of the money paths (issue 13): each test states a rule of docs/payments.md
// (or of plain bookkeeping) and a scenario of events that breaks it in the code as committed. They
// are meant to fail until the handlers are fixed; see the review report for the reasoning.

// The grant job walks every user: each scenario owns the whole database.
const t = setupTestDatabase({ emptyBeforeEach: true });

const apply = (events: BillingEvent[], now: Date) => applyBillingEvents(t.db, { provider: 'stripe', events, now });
const deliver = (events: BillingEvent[], now: Date) => applyBillingWebhook(t.db, webhook(events), { now });
const subscription = async (id: string) => (await t.db.select().from(subscriptions).where(eq(subscriptions.id, id)))[0]!;
const payment = async (id: string) => (await t.db.select().from(payments).where(eq(payments.id, id)))[0]!;
const periodBatches = async (userId: string) => (await batchesOf(t.db, userId)).filter((b) => b.source === 'subscription');

function refund(params: { reversalId: string; refs: string[]; amount: number; at: Date }): BillingEventOf<'payment_reversed'> {
  return {
    type: 'payment_reversed',
    kind: 'refund',
    reversalId: params.reversalId,
    paymentRefs: params.refs,
    amount: params.amount,
    currency: 'usd',
    at: params.at,
  };
}

describe('double grants', () => {
  it('a plan upgrade paid before the invoice of the period it upgrades grants only the prorated difference (not the new plan in full)', async () => {
    // Starter (300/period) since March 1. April's renewal is collected late (a dunning retry on April 4);
    // the user upgrades to Pro (1 000) on April 2 and the proration invoice (Pro − Starter for the rest
    // of April) is paid at once. Money received for April: Starter in full, plus the difference for
    // 29 of 30 days. Credits it pays for: 300 + floor(700 × 29/30) = 976.
    const user = await makeUser(t.db);
    const march = at('2026-03-01T00:00:00Z');
    const april = at('2026-04-01T00:00:00Z');
    const may = at('2026-05-01T00:00:00Z');
    await apply(
      [periodPaid({ userId: user.id, subscriptionId: 'sub_up', productId: 'starter-monthly', amount: 700, periodStart: march })],
      march,
    );

    const changedAt = at('2026-04-02T00:00:00Z');
    await deliver(
      [
        {
          type: 'plan_change_paid',
          userId: user.id,
          productId: 'pro-monthly',
          subscriptionId: 'sub_up',
          paymentId: 'in_upgrade',
          chargeId: null,
          amount: 1_160,
          currency: 'usd',
          changedAt,
          periodEnd: may,
          paidAt: changedAt,
        },
      ],
      changedAt,
    );
    const paidLate = at('2026-04-04T09:00:00Z');
    await deliver(
      [
        periodPaid({
          userId: user.id,
          subscriptionId: 'sub_up',
          productId: 'starter-monthly',
          amount: 700,
          paymentId: 'in_april',
          periodStart: april,
          paidAt: paidLate,
        }),
      ],
      paidLate,
    );

    const aprilCredits = (await batchesOf(t.db, user.id))
      .filter((b) => b.idempotencyKey === 'subscription:sub_up:2026-04-01' || b.idempotencyKey === 'purchase:stripe:in_upgrade')
      .reduce((sum, b) => sum + b.amount, 0);
    expect(aprilCredits).toBe(300 + Math.floor((700 * 29) / 30));
    await expectInvariants(t.db);
  });

  it('the grant job never grants a period that no payment paid for, even after a late invoice moved the anchor back', async () => {
    // March paid. April's renewal (April 1) is delivered late; meanwhile the billing cycle was reset on
    // April 3 12:00 (a new period April 3 – May 3, paid). The late April 1 invoice then re-anchors the
    // subscription on April 1 while paid_through stays May 3 12:00: on May 2 the job sees a "May 1"
    // period inside paid_through and grants it, though nobody paid for a period starting May 1.
    const user = await makeUser(t.db);
    const march = at('2026-03-01T00:00:00Z');
    await apply([periodPaid({ userId: user.id, subscriptionId: 'sub_ra', periodStart: march })], march);
    const reset = at('2026-04-03T12:00:00Z');
    await deliver([periodPaid({ userId: user.id, subscriptionId: 'sub_ra', paymentId: 'in_reset', periodStart: reset })], reset);
    const lateAt = at('2026-04-03T13:00:00Z');
    await deliver(
      [
        periodPaid({
          userId: user.id,
          subscriptionId: 'sub_ra',
          paymentId: 'in_april',
          periodStart: at('2026-04-01T00:00:00Z'),
          paidAt: lateAt,
        }),
      ],
      lateAt,
    );

    await grantMonthlyCredits(t.db, { trigger: 'test', now: at('2026-05-02T01:00:00Z') });

    const paidKeys = (await t.db.select().from(payments).where(eq(payments.subscriptionId, 'sub_ra'))).map((p) => p.grantKey);
    const grantedKeys = (await periodBatches(user.id)).map((b) => b.idempotencyKey);
    expect(grantedKeys.filter((key) => !paidKeys.includes(key))).toEqual([]);
    await expectInvariants(t.db);
  });
});

describe('refunds', () => {
  it('refunding a duplicate charge for a period already granted takes back nothing: the credits belong to the payment that granted them', async () => {
    // Two invoices land on one anchored period (a duplicate charge, or a cycle reset within the 24 h
    // tolerance): the second grants nothing (the period key is taken) but is recorded as having granted
    // the same 1 000. The merchant refunds the duplicate: the user must keep the period they paid for once.
    const user = await makeUser(t.db);
    const april = at('2026-04-01T00:00:00Z');
    await apply(
      [periodPaid({ userId: user.id, subscriptionId: 'sub_dup', paymentId: 'in_a', chargeId: 'pi_a', periodStart: april })],
      april,
    );
    const second = at('2026-04-01T06:00:00Z');
    await deliver(
      [
        periodPaid({
          userId: user.id,
          subscriptionId: 'sub_dup',
          paymentId: 'in_b',
          chargeId: 'pi_b',
          periodStart: second,
          paidAt: second,
        }),
      ],
      second,
    );
    expect(await balanceOf(t.db, user.id)).toBe(1_000);

    const refundedAt = at('2026-04-02T00:00:00Z');
    await deliver([refund({ reversalId: 're_dup', refs: ['pi_b'], amount: 1_900, at: refundedAt })], refundedAt);

    expect(await balanceOf(t.db, user.id)).toBe(1_000);
    expect((await payment('stripe:in_b')).creditsGranted).toBe(0);
    await expectInvariants(t.db);
  });

  it('a partial refund takes back its whole share of the credits while that many are still unspent (only spent credits are "not recovered")', async () => {
    // pack-500 for 500 cents; 250 credits spent; half the money (250 cents) refunded. The refund's share
    // is 250 credits and 250 are unspent: all of it comes back, nothing is "not recovered". (Taking half
    // of the unspent instead leaves the user 375 credits for 250 cents, and records 125 as spent
    // although they are still in the balance.)
    const user = await makeUser(t.db);
    const bought = at('2026-03-10T12:00:00Z');
    await apply([packPaid({ userId: user.id, paymentId: 'cs_half', chargeId: 'pi_half', amount: 500, paidAt: bought })], bought);
    const spent = await consumeCredits(t.db, {
      userId: user.id,
      amount: 250,
      reason: 'test',
      idempotencyKey: 'spend-half',
      now: at('2026-03-12T12:00:00Z'),
    });
    expect(spent.ok).toBe(true);

    const refundedAt = at('2026-03-20T12:00:00Z');
    await deliver([refund({ reversalId: 're_half', refs: ['pi_half'], amount: 250, at: refundedAt })], refundedAt);

    const [reversal] = await t.db.select().from(paymentReversals).where(eq(paymentReversals.id, 'stripe:re_half'));
    expect(reversal).toMatchObject({ creditsTakenBack: 250, creditsNotRecovered: 0 });
    expect(await balanceOf(t.db, user.id)).toBe(0);
    await expectInvariants(t.db);
  });
});

describe('out-of-order events', () => {
  it('a subscription deleted before its first invoice.paid is applied is still ended: no plan in force forever, free credits again', async () => {
    // customer.subscription.deleted is delivered first (the invoice.paid delivery failed and is retried
    // later). It is answered 200 and recorded, so Stripe never sends it again; the invoice then creates
    // the subscription as active, with no end, for good.
    const user = await makeUser(t.db);
    const start = at('2026-04-01T00:00:00Z');
    const deletedAt = at('2026-04-01T02:00:00Z');
    await deliver([ended('sub_gone', deletedAt)], deletedAt);
    const paidLate = at('2026-04-01T05:00:00Z');
    await deliver([periodPaid({ userId: user.id, subscriptionId: 'sub_gone', periodStart: start, paidAt: start })], paidLate);

    // The paid period is granted (money was received for it)...
    expect((await periodBatches(user.id)).map((b) => b.idempotencyKey)).toEqual(['subscription:sub_gone:2026-04-01']);
    // ...but the subscription is over, and two months later its user is on the free tier.
    expect(await subscription('sub_gone')).toMatchObject({ status: 'canceled' });
    await grantMonthlyCredits(t.db, { trigger: 'test', now: at('2026-06-01T01:00:00Z') });
    expect((await batchesOf(t.db, user.id)).filter((b) => b.source === 'free').map((b) => b.idempotencyKey)).toEqual([
      `free:${user.id}:2026-06`,
    ]);
    await expectInvariants(t.db);
  });
});

describe('plan switches', () => {
  it('a yearly plan renewed as the monthly plan is in force while its periods are paid: no free-tier credits on top', async () => {
    // The yearly term of 2026 ends on 2027-01-15; that day the renewal invoice is for Pro monthly (the
    // user switched in the portal). The subscription keeps the yearly term's ends_at, so from February
    // 2027 the grant job takes the paying monthly subscriber for a user with no plan in force.
    const user = await makeUser(t.db);
    const start = at('2026-01-15T00:00:00Z');
    await apply([periodPaid({ userId: user.id, subscriptionId: 'sub_ym', productId: 'pro-yearly', periodStart: start })], start);
    for (let n = 12; n < 15; n++) {
      const periodStart = addUtcMonths(start, n);
      await deliver([periodPaid({ userId: user.id, subscriptionId: 'sub_ym', periodStart })], periodStart);
    }
    expect((await periodBatches(user.id)).map((b) => b.idempotencyKey)).toEqual([
      'subscription:sub_ym:2027-01-15',
      'subscription:sub_ym:2027-02-15',
      'subscription:sub_ym:2027-03-15',
    ]);
    await grantMonthlyCredits(t.db, { trigger: 'test', now: at('2027-03-16T01:00:00Z') });
    expect((await batchesOf(t.db, user.id)).filter((b) => b.source === 'free')).toEqual([]);
    await expectInvariants(t.db);
  });
});

describe('Stripe adapter: a paid invoice is never ignored', () => {
  beforeAll(() => stubStripeEnv());
  afterAll(() => unstubStripeEnv());

  it('switching Pro monthly to Pro yearly (Stripe resets the cycle and charges the full year on a subscription_update invoice) pays for a yearly term', () => {
    // Changing the interval resets the billing cycle anchor: the invoice credits the unused month (a
    // negative proration line) and charges the yearly price for a new period (a regular line, not a
    // proration). The adapter only reads a positive proration line there, so 19 000 cents buy nothing.
    const changedAt = at('2026-06-10T08:00:00Z');
    const invoice = invoiceObject({
      billingReason: 'subscription_update',
      subscriptionId: 'sub_to_yearly',
      metadata: { userId: 'user-1', productId: 'pro-monthly' },
      lines: [
        { priceProductId: 'pro-monthly', amount: -1_267, start: changedAt, end: at('2026-07-01T08:00:00Z'), proration: true },
        { priceProductId: 'pro-yearly', amount: 19_000, start: changedAt, end: addUtcMonths(changedAt, 12) },
      ],
      paidAt: changedAt,
    });
    const events = paymentOfInvoice(invoice as never, { paidAtFallback: changedAt });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ productId: 'pro-yearly', subscriptionId: 'sub_to_yearly', paymentId: invoice.id });
  });
});

describe('events that can only confuse', () => {
  it('invoice.payment_failed delivered after the payment that settled it leaves the subscription active', async () => {
    const user = await makeUser(t.db);
    const march = at('2026-03-01T00:00:00Z');
    await apply([periodPaid({ userId: user.id, subscriptionId: 'sub_retry', periodStart: march })], march);
    const april = at('2026-04-01T00:00:00Z');
    const failedAt = at('2026-04-01T01:00:00Z');
    const paidAt = at('2026-04-02T01:00:00Z');
    // The retry's invoice.paid is applied first; the earlier failure arrives after it.
    await deliver([periodPaid({ userId: user.id, subscriptionId: 'sub_retry', periodStart: april, paidAt })], paidAt);
    const late = await deliver([{ type: 'payment_failed', subscriptionId: 'sub_retry', paymentId: 'in_failed', asOf: failedAt }], paidAt);
    expect(late.outcomes[0]!.result).toBe('ignored');
    expect((await subscription('sub_retry')).status).toBe('active');
  });

  it('a refund naming no payment of this app is retried (500) for a day, then recorded as ignored instead of failing forever', async () => {
    const refundedAt = at('2026-03-20T12:00:00Z');
    const stray = refund({ reversalId: 're_stray', refs: ['pi_elsewhere'], amount: 500, at: refundedAt });
    await expect(deliver([stray], at('2026-03-20T13:00:00Z'))).rejects.toThrow(/no stripe payment/);
    const dayLater = await deliver([stray], at('2026-03-21T13:00:00Z'));
    expect(dayLater.outcomes).toEqual([{ type: 'payment_reversed', result: 'ignored', detail: 'no payment of this app' }]);
    await expectInvariants(t.db);
  });
});
