import { describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { billingEvents, payments, subscriptions } from '@/lib/server/db/schema';
import { applyBillingEvents, applyBillingWebhook } from '@/lib/server/usecases/apply-billing-webhook';
import { expireCredits } from '@/lib/server/usecases/expire-credits';
import { grantMonthlyCredits } from '@/lib/server/usecases/grant-monthly-credits';
import { processDueSchedules } from '@/lib/server/usecases/process-due-schedules';
import { addUtcDays, addUtcMonths } from '@/lib/server/credits/time';
import { setupTestDatabase, onRealServer } from '@tests/helpers/db';
import { at, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceOf, batchesOf } from '@tests/helpers/queries';
import { ended, packPaid, paymentFailed, periodPaid, stateChanged, webhook } from '@tests/helpers/billing-events';

// The jobs walk every user: each scenario owns the whole database.
const t = setupTestDatabase({ emptyBeforeEach: true, maxConnections: 24 });

const keysOf = async (userId: string) => (await batchesOf(t.db, userId)).map((b) => `${b.idempotencyKey} ${b.amount}`);
const subscription = async (id: string) => (await t.db.select().from(subscriptions).where(eq(subscriptions.id, id)))[0]!;

describe('a webhook is applied once, whatever comes twice', () => {
  it('a pack paid: its credits at once, under the payment key; the same event again is a duplicate and changes nothing', async () => {
    const user = await makeUser(t.db);
    const now = at('2026-03-01T10:00:00Z');
    const event = webhook([packPaid({ userId: user.id, paymentId: 'cs_1', paidAt: now })]);
    expect(await applyBillingWebhook(t.db, event, { now })).toMatchObject({ duplicate: false, outcomes: [{ result: 'applied' }] });
    expect(await applyBillingWebhook(t.db, event, { now })).toEqual({ duplicate: true, outcomes: [] });
    expect(await keysOf(user.id)).toEqual(['purchase:stripe:cs_1 500']);
    const [payment] = await t.db.select().from(payments).where(eq(payments.id, 'stripe:cs_1'));
    expect(payment).toMatchObject({ kind: 'pack', creditsGranted: 500, status: 'paid', amount: 500 });
    await expectInvariants(t.db);
  });

  it('the same payment under two event ids (a second event, the success page) grants once', async () => {
    const user = await makeUser(t.db);
    const now = at('2026-03-01T10:00:00Z');
    const paid = packPaid({ userId: user.id, paymentId: 'cs_2', paidAt: now });
    await applyBillingWebhook(t.db, webhook([paid]), { now });
    const again = await applyBillingWebhook(t.db, webhook([paid]), { now });
    expect(again).toMatchObject({ duplicate: false, outcomes: [{ result: 'replayed' }] });
    expect(await applyBillingEvents(t.db, { provider: 'stripe', events: [paid], now })).toEqual([
      { type: 'one_time_payment_succeeded', result: 'replayed' },
    ]);
    expect(await balanceOf(t.db, user.id)).toBe(500);
    await expectInvariants(t.db);
  });

  it('an event that fails half-way writes nothing, its event id included, so the retry applies it', async () => {
    const user = await makeUser(t.db);
    const now = at('2026-03-01T10:00:00Z');
    // The second event names a plan change for a subscription nobody has seen: the handler throws.
    const event = webhook([
      packPaid({ userId: user.id, paymentId: 'cs_3', paidAt: now }),
      {
        type: 'plan_change_paid',
        userId: user.id,
        productId: 'pro-monthly',
        subscriptionId: 'sub_unknown',
        paymentId: 'in_x',
        amount: 100,
        currency: 'usd',
        changedAt: now,
        periodEnd: addUtcMonths(now, 1),
        paidAt: now,
      },
    ]);
    await expect(applyBillingWebhook(t.db, event, { now })).rejects.toThrow(/not known yet/);
    expect(await t.db.select().from(billingEvents)).toEqual([]);
    expect(await t.db.select().from(payments)).toEqual([]);
    expect(await balanceOf(t.db, user.id)).toBe(0);
    await expectInvariants(t.db);
  });

  it('an unknown product or user is recorded as ignored, with nothing granted', async () => {
    const user = await makeUser(t.db);
    const now = at('2026-03-01T10:00:00Z');
    const result = await applyBillingWebhook(
      t.db,
      webhook([packPaid({ userId: user.id, productId: 'pack-unknown', paidAt: now }), packPaid({ userId: 'nobody', paidAt: now })]),
      { now },
    );
    expect(result.outcomes.map((o) => o.result)).toEqual(['ignored', 'ignored']);
    expect(await t.db.select().from(payments)).toEqual([]);
    await expectInvariants(t.db);
  });

  describe.runIf(onRealServer)('on the Postgres server', () => {
    it('the same event delivered 10 times at once: one grant, one applied answer, nine duplicates', async () => {
      const user = await makeUser(t.db);
      const now = at('2026-03-01T10:00:00Z');
      const event = webhook([packPaid({ userId: user.id, paymentId: 'cs_storm', paidAt: now })]);
      const results = await Promise.all(Array.from({ length: 10 }, () => applyBillingWebhook(t.db, event, { now })));
      expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
      expect(await keysOf(user.id)).toEqual(['purchase:stripe:cs_storm 500']);
      await expectInvariants(t.db);
    });

    it('the daily grant job racing invoice.paid for the same period: one grant', async () => {
      for (let round = 0; round < 6; round++) {
        const user = await makeUser(t.db);
        const start = at('2026-03-10T09:00:00Z');
        // The subscription exists and was paid through March 10; April's invoice and the job race on April 10.
        await applyBillingEvents(t.db, {
          provider: 'stripe',
          events: [periodPaid({ userId: user.id, subscriptionId: `sub_race${round}`, periodStart: start })],
          now: start,
        });
        const april = addUtcMonths(start, 1);
        const aprilPaid = periodPaid({ userId: user.id, subscriptionId: `sub_race${round}`, periodStart: april });
        // The job only grants paid periods: make April paid first in one call, and race a redelivery of it with the job.
        const when = addUtcDays(april, 0);
        await Promise.all([
          applyBillingWebhook(t.db, webhook([aprilPaid]), { now: when }),
          grantMonthlyCredits(t.db, { trigger: 'test', now: new Date(when.getTime() + 60_000) }),
          grantMonthlyCredits(t.db, { trigger: 'test', now: new Date(when.getTime() + 60_000) }),
        ]);
        await grantMonthlyCredits(t.db, { trigger: 'test', now: new Date(when.getTime() + 120_000) });
        expect(await keysOf(user.id)).toEqual([
          `subscription:sub_race${round}:2026-03-10 1000`,
          `subscription:sub_race${round}:2026-04-10 1000`,
        ]);
      }
      await expectInvariants(t.db);
    });
  });
});

describe('subscriptions: only paid periods are granted, once, by whichever comes first', () => {
  it('monthly renewals over 13 months on a moved clock, with the daily job running too: 13 periods, each once', async () => {
    const user = await makeUser(t.db);
    const anchor = at('2026-01-31T12:00:00Z');
    for (let n = 0; n < 13; n++) {
      const start = addUtcMonths(anchor, n);
      // The daily job before the invoice is paid grants nothing of this period (not paid yet)...
      if (n > 0) await grantMonthlyCredits(t.db, { trigger: 'test', now: new Date(start.getTime() - 60_000) });
      await applyBillingWebhook(t.db, webhook([periodPaid({ userId: user.id, subscriptionId: 'sub_13', periodStart: start })]), {
        now: new Date(start.getTime() + 30_000),
      });
      // ...and after it, nothing again.
      await grantMonthlyCredits(t.db, { trigger: 'test', now: addUtcDays(start, 1) });
    }
    const keys = (await batchesOf(t.db, user.id)).filter((b) => b.source === 'subscription').map((b) => b.idempotencyKey);
    expect(keys).toEqual(Array.from({ length: 13 }, (_, n) => `subscription:sub_13:${addUtcMonths(anchor, n).toISOString().slice(0, 10)}`));
    expect(keys.slice(0, 3)).toEqual([
      'subscription:sub_13:2026-01-31',
      'subscription:sub_13:2026-02-28',
      'subscription:sub_13:2026-03-31',
    ]);
    // A subscriber never gets the free tier.
    expect((await batchesOf(t.db, user.id)).filter((b) => b.source === 'free')).toEqual([]);
    await expectInvariants(t.db);
  });

  it('a second invoice for a period already paid (a duplicate charge) is recorded but owns no credits', async () => {
    const user = await makeUser(t.db);
    const start = at('2026-05-05T08:00:00Z');
    await applyBillingWebhook(
      t.db,
      webhook([periodPaid({ userId: user.id, subscriptionId: 'sub_twice', paymentId: 'in_first', periodStart: start })]),
      {
        now: start,
      },
    );
    const again = new Date(start.getTime() + 3_600_000);
    const second = await applyBillingWebhook(
      t.db,
      webhook([periodPaid({ userId: user.id, subscriptionId: 'sub_twice', paymentId: 'in_second', periodStart: again, paidAt: again })]),
      { now: again },
    );
    expect(second.outcomes[0]).toMatchObject({ result: 'applied', detail: 'duplicate of stripe:in_first: nothing granted' });
    const [first, duplicate] = await Promise.all(
      ['stripe:in_first', 'stripe:in_second'].map(async (id) => (await t.db.select().from(payments).where(eq(payments.id, id)))[0]!),
    );
    expect(first).toMatchObject({ grantKey: 'subscription:sub_twice:2026-05-05', creditsGranted: 1_000 });
    expect(duplicate).toMatchObject({ grantKey: null, creditsGranted: 0 });
    expect(await keysOf(user.id)).toEqual(['subscription:sub_twice:2026-05-05 1000']);
    await expectInvariants(t.db);
  });

  it('the grant job never grants a provider subscription period that was not paid', async () => {
    const user = await makeUser(t.db);
    const start = at('2026-05-05T08:00:00Z');
    await applyBillingEvents(t.db, {
      provider: 'stripe',
      events: [periodPaid({ userId: user.id, subscriptionId: 'sub_unpaid', periodStart: start })],
      now: start,
    });
    await grantMonthlyCredits(t.db, { trigger: 'test', now: addUtcDays(addUtcMonths(start, 1), 0.5) });
    expect(await keysOf(user.id)).toEqual(['subscription:sub_unpaid:2026-05-05 1000']);
    await expectInvariants(t.db);
  });

  it('invoice.payment_failed, then a later invoice.paid: past due meanwhile, and the period granted once, when paid', async () => {
    const user = await makeUser(t.db);
    const start = at('2026-05-05T08:00:00Z');
    const june = addUtcMonths(start, 1);
    await applyBillingEvents(t.db, {
      provider: 'stripe',
      events: [periodPaid({ userId: user.id, subscriptionId: 'sub_pd', periodStart: start })],
      now: start,
    });
    await applyBillingWebhook(t.db, webhook([paymentFailed('sub_pd', june)]), { now: june });
    expect((await subscription('sub_pd')).status).toBe('past_due');
    await grantMonthlyCredits(t.db, { trigger: 'test', now: addUtcDays(june, 1) });
    expect(await keysOf(user.id)).toEqual(['subscription:sub_pd:2026-05-05 1000']);
    const paidLate = addUtcDays(june, 3);
    await applyBillingWebhook(
      t.db,
      webhook([periodPaid({ userId: user.id, subscriptionId: 'sub_pd', periodStart: june, paidAt: paidLate })]),
      { now: paidLate },
    );
    await grantMonthlyCredits(t.db, { trigger: 'test', now: addUtcDays(june, 4) });
    expect(await keysOf(user.id)).toEqual(['subscription:sub_pd:2026-05-05 1000', 'subscription:sub_pd:2026-06-05 1000']);
    expect((await subscription('sub_pd')).status).toBe('active');
    await expectInvariants(t.db);
  });

  it('invoice.paid before anything else creates the subscription: its user is a subscriber, not on the free tier', async () => {
    const user = await makeUser(t.db);
    const start = at('2026-07-10T08:00:00Z');
    // A state event about a subscription nobody has seen changes nothing...
    const early = await applyBillingWebhook(t.db, webhook([stateChanged({ subscriptionId: 'sub_new', userId: user.id, asOf: start })]), {
      now: start,
    });
    expect(early.outcomes[0]!.result).toBe('ignored');
    // ...the paid invoice creates it.
    await applyBillingWebhook(t.db, webhook([periodPaid({ userId: user.id, subscriptionId: 'sub_new', periodStart: start })]), {
      now: start,
    });
    await grantMonthlyCredits(t.db, { trigger: 'test', now: addUtcDays(start, 1) });
    expect(await keysOf(user.id)).toEqual(['subscription:sub_new:2026-07-10 1000']);
    expect(await subscription('sub_new')).toMatchObject({ provider: 'stripe', status: 'active', planId: 'pro-monthly' });
    await expectInvariants(t.db);
  });

  it('a stale customer.subscription.updated after customer.subscription.deleted changes nothing', async () => {
    const user = await makeUser(t.db);
    const start = at('2026-07-10T08:00:00Z');
    await applyBillingEvents(t.db, {
      provider: 'stripe',
      events: [periodPaid({ userId: user.id, subscriptionId: 'sub_st', periodStart: start })],
      now: start,
    });
    const endedAt = addUtcDays(start, 10);
    await applyBillingWebhook(t.db, webhook([ended('sub_st', endedAt)]), { now: endedAt });
    const stale = await applyBillingWebhook(
      t.db,
      webhook([stateChanged({ subscriptionId: 'sub_st', status: 'active', cancelAtPeriodEnd: false, asOf: addUtcDays(start, 5) })]),
      { now: addUtcDays(endedAt, 1) },
    );
    expect(stale.outcomes[0]!.result).toBe('ignored');
    // Even a newer "active" cannot bring an ended subscription back.
    const newer = await applyBillingWebhook(t.db, webhook([stateChanged({ subscriptionId: 'sub_st', asOf: addUtcDays(endedAt, 2) })]), {
      now: addUtcDays(endedAt, 2),
    });
    expect(newer.outcomes[0]!.result).toBe('ignored');
    expect(await subscription('sub_st')).toMatchObject({ status: 'canceled', canceledAt: endedAt });
    // Its credits stay; nothing after the end is granted, and the next month is on the free tier.
    await grantMonthlyCredits(t.db, { trigger: 'test', now: at('2026-09-01T01:00:00Z') });
    expect(await keysOf(user.id)).toEqual(['subscription:sub_st:2026-07-10 1000', `free:${user.id}:2026-09 50`]);
    await expectInvariants(t.db);
  });

  it('a yearly plan deleted mid-term keeps paying out the installments of the term it paid for, until the term ends', async () => {
    const user = await makeUser(t.db);
    const start = at('2026-01-15T00:00:00Z');
    await applyBillingWebhook(
      t.db,
      webhook([periodPaid({ userId: user.id, subscriptionId: 'sub_yd', productId: 'pro-yearly', periodStart: start })]),
      {
        now: start,
      },
    );
    await applyBillingWebhook(t.db, webhook([ended('sub_yd', at('2026-03-20T00:00:00Z'))]), { now: at('2026-03-20T00:00:00Z') });
    await processDueSchedules(t.db, { trigger: 'test', now: at('2027-03-01T00:00:00Z'), catchUp: 24 });
    const installments = (await batchesOf(t.db, user.id)).filter((b) => b.source === 'schedule');
    expect(installments.map((b) => b.installment)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(installments.reduce((sum, b) => sum + b.amount, 0)).toBe(10_000);
    await expectInvariants(t.db);
  });

  it('a yearly plan renewed: the second term gets its own schedule, and the plan stays in force through it', async () => {
    const user = await makeUser(t.db);
    const start = at('2026-01-15T00:00:00Z');
    const renewal = addUtcMonths(start, 12);
    await applyBillingEvents(t.db, {
      provider: 'stripe',
      events: [periodPaid({ userId: user.id, subscriptionId: 'sub_yr', productId: 'pro-yearly', periodStart: start })],
      now: start,
    });
    await processDueSchedules(t.db, { trigger: 'test', now: addUtcDays(renewal, -1), catchUp: 24 });
    await applyBillingWebhook(
      t.db,
      webhook([periodPaid({ userId: user.id, subscriptionId: 'sub_yr', productId: 'pro-yearly', periodStart: renewal })]),
      {
        now: renewal,
      },
    );
    await processDueSchedules(t.db, { trigger: 'test', now: addUtcMonths(renewal, 2), catchUp: 24 });
    const installments = (await batchesOf(t.db, user.id)).filter((b) => b.source === 'schedule');
    expect(installments).toHaveLength(12 + 3);
    expect((await subscription('sub_yr')).endsAt).toEqual(addUtcMonths(renewal, 12));
    await grantMonthlyCredits(t.db, { trigger: 'test', now: addUtcMonths(renewal, 2) });
    expect((await batchesOf(t.db, user.id)).filter((b) => b.source === 'free')).toEqual([]);
    await expectInvariants(t.db);
  });
});

describe('plan changes', () => {
  const anchor = at('2026-04-01T00:00:00Z');

  async function starter(userId: string, subscriptionId: string) {
    await applyBillingEvents(t.db, {
      provider: 'stripe',
      events: [periodPaid({ userId, subscriptionId, productId: 'starter-monthly', amount: 700, periodStart: anchor })],
      now: anchor,
    });
  }

  it('an upgrade in the middle of a period grants the prorated difference once; the next period is the new plan', async () => {
    const user = await makeUser(t.db);
    await starter(user.id, 'sub_up');
    // Half-way through April (15 of 30 days): Starter (300) → Pro (1 000): 700 × 15/30 = 350.
    const changedAt = at('2026-04-16T00:00:00Z');
    const upgrade = webhook([
      {
        type: 'plan_change_paid',
        userId: user.id,
        productId: 'pro-monthly',
        subscriptionId: 'sub_up',
        paymentId: 'in_upgrade',
        amount: 600,
        currency: 'usd',
        changedAt,
        periodEnd: at('2026-05-01T00:00:00Z'),
        paidAt: changedAt,
      },
    ]);
    await applyBillingWebhook(t.db, upgrade, { now: changedAt });
    await applyBillingWebhook(t.db, { ...upgrade, eventId: 'evt_other' }, { now: changedAt });
    await applyBillingEvents(t.db, {
      provider: 'stripe',
      events: [periodPaid({ userId: user.id, subscriptionId: 'sub_up', periodStart: at('2026-05-01T00:00:00Z') })],
      now: at('2026-05-01T00:00:00Z'),
    });
    expect(await keysOf(user.id)).toEqual([
      'subscription:sub_up:2026-04-01 300',
      'purchase:stripe:in_upgrade 350',
      'subscription:sub_up:2026-05-01 1000',
    ]);
    await expectInvariants(t.db);
  });

  it('a downgrade takes effect at the next period: nothing granted or taken back now', async () => {
    const user = await makeUser(t.db);
    await applyBillingEvents(t.db, {
      provider: 'stripe',
      events: [periodPaid({ userId: user.id, subscriptionId: 'sub_down', periodStart: anchor })],
      now: anchor,
    });
    const changedAt = at('2026-04-10T00:00:00Z');
    await applyBillingWebhook(
      t.db,
      webhook([stateChanged({ subscriptionId: 'sub_down', productId: 'starter-monthly', asOf: changedAt })]),
      { now: changedAt },
    );
    // The proration invoice of a downgrade (a credit, or nothing to pay) grants nothing.
    await applyBillingWebhook(
      t.db,
      webhook([
        {
          type: 'plan_change_paid',
          userId: user.id,
          productId: 'starter-monthly',
          subscriptionId: 'sub_down',
          paymentId: 'in_down',
          amount: 0,
          currency: 'usd',
          changedAt,
          periodEnd: at('2026-05-01T00:00:00Z'),
          paidAt: changedAt,
        },
      ]),
      { now: changedAt },
    );
    expect(await balanceOf(t.db, user.id)).toBe(1_000);
    // May: the safety net grants the new plan's credits (the webhook for it was missed).
    const may = at('2026-05-01T00:00:00Z');
    await applyBillingEvents(t.db, {
      provider: 'stripe',
      events: [periodPaid({ userId: user.id, subscriptionId: 'sub_down', productId: 'starter-monthly', periodStart: may })],
      now: may,
    });
    expect(await keysOf(user.id)).toEqual(['subscription:sub_down:2026-04-01 1000', 'subscription:sub_down:2026-05-01 300']);
    await expectInvariants(t.db);
  });
});

describe('refunds of what the handlers recorded', () => {
  it('a yearly plan paid, three installments in, refunded in full: the unspent credits taken back, no installment after', async () => {
    const user = await makeUser(t.db);
    const start = at('2026-01-15T00:00:00Z');
    await applyBillingWebhook(
      t.db,
      webhook([
        periodPaid({
          userId: user.id,
          subscriptionId: 'sub_yref',
          productId: 'pro-yearly',
          paymentId: 'in_year',
          chargeId: 'pi_year',
          periodStart: start,
        }),
      ]),
      { now: start },
    );
    await processDueSchedules(t.db, { trigger: 'test', now: at('2026-03-16T00:00:00Z') });
    expect((await batchesOf(t.db, user.id)).filter((b) => b.source === 'schedule')).toHaveLength(3);
    const refundedAt = at('2026-03-20T00:00:00Z');
    const refunded = await applyBillingWebhook(
      t.db,
      webhook([
        {
          type: 'payment_reversed',
          kind: 'refund',
          reversalId: 're_year',
          paymentRefs: ['pi_year'],
          amount: 19_000,
          currency: 'usd',
          at: refundedAt,
        },
      ]),
      { now: refundedAt },
    );
    expect(refunded.outcomes[0]!.result).toBe('applied');
    // Installments 2 and 3 were unspent and come back; 1 (Jan 15, valid 45 days) is past its expiry,
    // left for the expiry job to record, and counted as not recovered.
    expect(await balanceOf(t.db, user.id)).toBe(833);
    await expireCredits(t.db, { trigger: 'test', now: refundedAt });
    expect(await balanceOf(t.db, user.id)).toBe(0);
    await processDueSchedules(t.db, { trigger: 'test', now: at('2026-09-01T00:00:00Z'), catchUp: 24 });
    expect((await batchesOf(t.db, user.id)).filter((b) => b.source === 'schedule')).toHaveLength(3);
    const [payment] = await t.db.select().from(payments).where(eq(payments.id, 'stripe:in_year'));
    expect(payment).toMatchObject({ status: 'refunded', amountRefunded: 19_000 });
    await expectInvariants(t.db);
  });
});

describe('the lifetime plan', () => {
  it('paid once: this month at once, later months by the grant job, under the payment id', async () => {
    const user = await makeUser(t.db);
    const now = at('2026-06-20T10:00:00Z');
    await applyBillingWebhook(
      t.db,
      webhook([packPaid({ userId: user.id, productId: 'lifetime', paymentId: 'cs_life', amount: 29_900, paidAt: now })]),
      { now },
    );
    await grantMonthlyCredits(t.db, { trigger: 'test', now: at('2026-07-01T01:00:00Z') });
    expect(await keysOf(user.id)).toEqual(['lifetime:stripe:cs_life:2026-06 500', 'lifetime:stripe:cs_life:2026-07 500']);
    expect(await subscription('stripe:cs_life')).toMatchObject({ billing: 'lifetime', provider: 'stripe' });
    await expectInvariants(t.db);
  });
});
