import { addMonths } from 'date-fns';
import { count, eq, like } from 'drizzle-orm';
import { describe, expect, it, test } from 'vitest';
import { GET, POST } from '@/app/api/webhooks/stripe/route';
import { billingEvents, creditBatches, creditLedger, paymentReversals, payments, subscriptions } from '@/lib/server/db/schema';
import { onRealServer, setupTestDatabase } from '@tests/helpers/db';
import { makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceOf } from '@tests/helpers/queries';
import {
  chargeObject,
  checkoutSessionObject,
  invoiceObject,
  refundObject,
  setupStripeStandIn,
  stripeEvent,
  stripeSignature,
  stripeWebhookRequest,
  stubStripeEnv,
  subscriptionObject,
  unstubStripeEnv,
} from '@tests/helpers/stripe';

// POST /api/webhooks/stripe, the route itself, with deliveries signed as Stripe signs them.

const t = setupTestDatabase({ routes: true });
const standIn = setupStripeStandIn();

async function rowCounts() {
  const [[events], [paid], [ledger]] = await Promise.all([
    t.db.select({ n: count() }).from(billingEvents),
    t.db.select({ n: count() }).from(payments),
    t.db.select({ n: count() }).from(creditLedger),
  ]);
  return { billingEvents: events!.n, payments: paid!.n, ledger: ledger!.n };
}

async function packPurchase(productId = 'pack-500') {
  const user = await makeUser(t.db);
  const session = checkoutSessionObject({ userId: user.id, productId, amount: 500 });
  return { user, session, event: stripeEvent('checkout.session.completed', session) };
}

function batchesUnder(key: string) {
  return t.db.select().from(creditBatches).where(eq(creditBatches.idempotencyKey, key));
}

describe('the HTTP contract', () => {
  it('a valid delivery answers 200 {received:true} and records the event id', async () => {
    const user = await makeUser(t.db);
    // A subscription checkout maps to no billing event (its invoice grants): the route alone is tested.
    const event = stripeEvent(
      'checkout.session.completed',
      checkoutSessionObject({ userId: user.id, productId: 'pro-monthly', mode: 'subscription' }),
    );
    const response = await POST(stripeWebhookRequest(event));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ received: true });
    const [recorded] = await t.db.select().from(billingEvents).where(eq(billingEvents.eventId, event.id));
    expect(recorded).toMatchObject({ provider: 'stripe', type: 'checkout.session.completed' });
  });

  type BadDelivery = { secret?: string; timestamp?: Date; withoutHeader?: true; tamper?: (body: string) => string };
  test.each<[string, BadDelivery]>([
    ['signed with another secret', { secret: 'whsec_not_this_endpoint_0123456789' }],
    ['changed after signing', { tamper: (body) => body.replace('"amount_total":500', '"amount_total":5') }],
    ['signed longer ago than the 300 s tolerance', { timestamp: new Date(Date.now() - 10 * 60_000) }],
    ['without a signature header', { withoutHeader: true }],
  ])('a delivery %s answers 400 and writes nothing', async (_, delivery) => {
    const { event } = await packPurchase();
    const body = JSON.stringify(event);
    const signature = delivery.withoutHeader ? null : stripeSignature(body, delivery);
    const sent = delivery.tamper ? delivery.tamper(body) : body;
    expect(sent === body).toBe(!delivery.tamper);
    const before = await rowCounts();
    const response = await POST(stripeWebhookRequest(sent, { signature }));
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'Invalid signature' });
    expect(await rowCounts()).toEqual(before);
  });

  it('a body over 1 MB answers 413 unread', async () => {
    const body = JSON.stringify({ ...stripeEvent('customer.updated', { id: 'cus_big' }), padding: 'x'.repeat(1024 * 1024) });
    const before = await rowCounts();
    const response = await POST(stripeWebhookRequest(body));
    expect(response.status).toBe(413);
    expect(await rowCounts()).toEqual(before);
  });

  it('GET answers 405', async () => {
    const response = GET();
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });

  it('an event type the app does not handle answers 200 and is recorded', async () => {
    const event = stripeEvent('customer.updated', { id: 'cus_1', object: 'customer' });
    const response = await POST(stripeWebhookRequest(event));
    expect(await response.json()).toEqual({ received: true });
    const [recorded] = await t.db.select().from(billingEvents).where(eq(billingEvents.eventId, event.id));
    expect(recorded).toMatchObject({ type: 'customer.updated', outcome: [] });
  });

  it('the same event id delivered again answers duplicate', async () => {
    const event = stripeEvent('customer.updated', { id: 'cus_2', object: 'customer' });
    expect(await (await POST(stripeWebhookRequest(event))).json()).toEqual({ received: true });
    expect(await (await POST(stripeWebhookRequest(event))).json()).toEqual({ received: true, duplicate: true });
    expect((await t.db.select().from(billingEvents).where(eq(billingEvents.eventId, event.id))).length).toBe(1);
  });

  it('without Stripe keys the route answers 503 and writes nothing', async () => {
    const { event } = await packPurchase();
    unstubStripeEnv();
    try {
      const before = await rowCounts();
      const response = await POST(stripeWebhookRequest(event));
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ error: 'Payments not configured' });
      expect(await rowCounts()).toEqual(before);
    } finally {
      stubStripeEnv({ apiUrl: standIn.url });
    }
  });
});

describe('payments become credits once', () => {
  it("a paid pack checkout grants the pack's credits under purchase:stripe:{sessionId}, once however often it is delivered", async () => {
    const { user, session, event } = await packPurchase();
    expect(await (await POST(stripeWebhookRequest(event))).json()).toEqual({ received: true });
    expect(await (await POST(stripeWebhookRequest(event))).json()).toEqual({ received: true, duplicate: true });
    // The same session under another event id (checkout.session.async_payment_succeeded) grants nothing more.
    const again = stripeEvent('checkout.session.async_payment_succeeded', session);
    expect(await (await POST(stripeWebhookRequest(again))).json()).toEqual({ received: true });
    const batches = await batchesUnder(`purchase:stripe:${session.id}`);
    expect(batches.map((batch) => [batch.userId, batch.amount])).toEqual([[user.id, 500]]);
    await expectInvariants(t.db, user.id);
  });

  it('the same paid invoice under two event ids grants its period once', async () => {
    const user = await makeUser(t.db);
    const start = new Date(Date.now() - 60_000);
    const invoice = invoiceObject({
      billingReason: 'subscription_create',
      subscriptionId: `sub_${user.id}`,
      metadata: { userId: user.id, productId: 'pro-monthly' },
      lines: [{ priceProductId: 'pro-monthly', amount: 1_900, start, end: addMonths(start, 1) }],
      paidAt: start,
    });
    // The key is the invoice, not the event: a second delivery of it under a new event id grants nothing more.
    for (const event of [stripeEvent('invoice.paid', invoice), stripeEvent('invoice.paid', invoice)]) {
      expect(await (await POST(stripeWebhookRequest(event))).json()).toEqual({ received: true });
    }
    const periodBatches = await t.db
      .select()
      .from(creditBatches)
      .where(like(creditBatches.idempotencyKey, `subscription:sub_${user.id}:%`));
    expect(periodBatches.map((batch) => [batch.userId, batch.amount])).toEqual([[user.id, 1_000]]);
    expect(
      await t.db
        .select({ id: payments.id })
        .from(payments)
        .where(eq(payments.id, `stripe:${invoice.id}`)),
    ).toHaveLength(1);
    await expectInvariants(t.db, user.id);
  });
});

describe('out of order, through the route', () => {
  it('invoice.paid before checkout.session.completed, and a stale customer.subscription.updated after deleted: one period, ended', async () => {
    const user = await makeUser(t.db);
    const subscriptionId = `sub_ooo_${user.id}`;
    const start = new Date(Date.now() - 3_600_000);
    const end = addMonths(start, 1);
    const metadata = { userId: user.id, productId: 'pro-monthly' };
    const invoice = invoiceObject({
      billingReason: 'subscription_create',
      subscriptionId,
      metadata,
      lines: [{ priceProductId: 'pro-monthly', amount: 1_900, start, end }],
      paidAt: start,
    });
    const session = checkoutSessionObject({
      userId: user.id,
      productId: 'pro-monthly',
      mode: 'subscription',
      subscription: subscriptionId,
    });
    const active = subscriptionObject({ id: subscriptionId, status: 'active', productId: 'pro-monthly', metadata, start, end });
    const deletedAt = new Date(Date.now() - 60_000);
    const deleted = subscriptionObject({
      id: subscriptionId,
      status: 'canceled',
      productId: 'pro-monthly',
      metadata,
      start,
      end,
      endedAt: deletedAt,
    });
    const deliveries = [
      stripeEvent('invoice.paid', invoice),
      stripeEvent('checkout.session.completed', session),
      stripeEvent('customer.subscription.deleted', deleted, { created: deletedAt }),
      // Created before the deletion, delivered after it.
      stripeEvent('customer.subscription.updated', active, { created: new Date(deletedAt.getTime() - 30_000) }),
    ];
    for (const event of deliveries) {
      expect((await POST(stripeWebhookRequest(event))).status).toBe(200);
    }
    const periods = await t.db
      .select()
      .from(creditBatches)
      .where(like(creditBatches.idempotencyKey, `subscription:${subscriptionId}:%`));
    expect(periods.map((batch) => batch.amount)).toEqual([1_000]);
    const [subscription] = await t.db.select().from(subscriptions).where(eq(subscriptions.id, subscriptionId));
    expect(subscription).toMatchObject({ status: 'canceled', cancelAtPeriodEnd: false });
    await expectInvariants(t.db, user.id);
  });
});

describe('refunds take back once', () => {
  it('a pack refunded through refund.created and then charge.refunded is taken back once, found by its payment intent', async () => {
    const { user, session, event } = await packPurchase();
    await POST(stripeWebhookRequest(event));
    expect(await balanceOf(t.db, user.id)).toBe(500);
    const refund = refundObject({ paymentIntent: session.payment_intent, charge: `ch_${user.id}`, amount: 500 });
    for (const delivery of [
      stripeEvent('refund.created', refund),
      stripeEvent('charge.refunded', chargeObject({ id: `ch_${user.id}`, paymentIntent: session.payment_intent!, refunds: [refund] })),
    ]) {
      expect(await (await POST(stripeWebhookRequest(delivery))).json()).toEqual({ received: true });
    }
    const reversals = await t.db.select().from(paymentReversals).where(eq(paymentReversals.userId, user.id));
    expect(reversals.map((reversal) => [reversal.id, reversal.paymentId, reversal.creditsTakenBack])).toEqual([
      [expect.stringContaining(refund.id), `stripe:${session.id}`, 500],
    ]);
    expect(await balanceOf(t.db, user.id)).toBe(0);
    await expectInvariants(t.db, user.id);
  });
});

describe.runIf(onRealServer)('simultaneous deliveries (Postgres server)', () => {
  it('the same pack purchase delivered 10 times at once grants once and answers one 200 without duplicate', async () => {
    const { user, session, event } = await packPurchase();
    const responses = await Promise.all(Array.from({ length: 10 }, () => POST(stripeWebhookRequest(event))));
    expect(responses.map((response) => response.status)).toEqual(Array(10).fill(200));
    const answers = await Promise.all(responses.map((response) => response.json()));
    expect(answers.filter((answer) => !answer.duplicate)).toEqual([{ received: true }]);
    expect(answers.filter((answer) => answer.duplicate)).toHaveLength(9);
    const batches = await batchesUnder(`purchase:stripe:${session.id}`);
    expect(batches.map((batch) => batch.amount)).toEqual([500]);
    await expectInvariants(t.db, user.id);
  });
});
