import { randomUUID } from 'node:crypto';
import { count, eq } from 'drizzle-orm';
import { describe, expect, it, test } from 'vitest';
import { GET, POST } from '@/app/api/webhooks/creem/route';
import {
  billingEvents,
  creditBalances,
  creditBatches,
  creditLedger,
  paymentReversals,
  payments,
  subscriptions,
} from '@/lib/server/db/schema';
import { setupClockAt } from '@tests/helpers/clock';
import { onRealServer, setupTestDatabase } from '@tests/helpers/db';
import { at, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import {
  CREEM_TEST_KEY,
  CREEM_TEST_SECRET,
  creemCheckoutObject,
  creemDelivery,
  creemRefundObject,
  creemSubscriptionObject,
  creemWebhookRequest,
  setupEnv,
  signCreem,
} from '@tests/helpers/creem';

// POST /api/webhooks/creem, the route itself, with deliveries signed as Creem signs them.

const PACK_PRODUCT = 'prod_pack500';
const MONTHLY_PRODUCT = 'prod_pro_monthly';

setupEnv({
  CREEM_API_KEY: CREEM_TEST_KEY,
  CREEM_WEBHOOK_SECRET: CREEM_TEST_SECRET,
  CREEM_PRODUCT_PACK_500: PACK_PRODUCT,
  CREEM_PRODUCT_PRO_MONTHLY: MONTHLY_PRODUCT,
});
const t = setupTestDatabase({ routes: true, maxConnections: 30 });

async function rowCounts() {
  const [[events], [paid], [ledger]] = await Promise.all([
    t.db.select({ n: count() }).from(billingEvents),
    t.db.select({ n: count() }).from(payments),
    t.db.select({ n: count() }).from(creditLedger),
  ]);
  return { billingEvents: events!.n, payments: paid!.n, ledger: ledger!.n };
}

/** A paid checkout of the 500-credit pack, as `checkout.completed` delivers it. */
async function packPurchase() {
  const user = await makeUser(t.db);
  const orderId = `ord_${randomUUID().replaceAll('-', '')}`;
  const object = creemCheckoutObject({
    orderId,
    creemProductId: PACK_PRODUCT,
    metadata: { userId: user.id, productId: 'pack-500', orderId: 'o-1' },
  });
  const delivery = (eventId = `evt_${randomUUID()}`) => creemDelivery({ id: eventId, eventType: 'checkout.completed', object });
  return { user, orderId, delivery };
}

/** An event the app does not act on: the route and the event record alone are tested. */
const unhandled = (eventId = `evt_${randomUUID()}`) =>
  creemDelivery({ id: eventId, eventType: 'subscription.trialing', object: { id: 'sub_1' } });

describe('the HTTP contract', () => {
  it('a valid delivery of an event the app does not act on answers 200 {received:true} and records the event id', async () => {
    const body = unhandled('evt_unhandled_1');
    const response = await POST(creemWebhookRequest(body));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ received: true });
    const [recorded] = await t.db.select().from(billingEvents).where(eq(billingEvents.eventId, 'evt_unhandled_1'));
    expect(recorded).toMatchObject({ provider: 'creem', type: 'subscription.trialing', outcome: [] });
  });

  it('the same event id again answers 200 {received:true, duplicate:true} and records nothing more', async () => {
    const body = unhandled('evt_twice');
    expect((await POST(creemWebhookRequest(body))).status).toBe(200);
    const before = await rowCounts();
    const again = await POST(creemWebhookRequest(body));
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ received: true, duplicate: true });
    expect(await rowCounts()).toEqual(before);
  });

  type BadDelivery = { secret?: string | null; signature?: string; tamper?: (body: string) => string };
  test.each<[string, BadDelivery]>([
    ['signed with another secret', { secret: 'whsec_not_this_endpoint_0123456789' }],
    ['changed after signing', { tamper: (body) => body.replace('"amount_paid":500', '"amount_paid":5') }],
    ['without a creem-signature header', { secret: null }],
    ['with a signature that is not hex', { signature: 'not-a-signature' }],
  ])('a delivery %s answers 400 {"error":"Invalid signature"} and writes nothing', async (_, bad) => {
    const { delivery } = await packPurchase();
    const body = delivery();
    const signature = bad.signature ?? (bad.secret === null ? undefined : signCreem(body, bad.secret ?? CREEM_TEST_SECRET));
    const sent = bad.tamper ? bad.tamper(body) : body;
    expect(sent === body).toBe(!bad.tamper);
    const before = await rowCounts();
    const response = await POST(creemWebhookRequest(sent, { secret: null, signature }));
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'Invalid signature' });
    expect(await rowCounts()).toEqual(before);
  });

  it('a body over 1 MB answers 413 and writes nothing', async () => {
    const body = JSON.stringify({ ...JSON.parse(unhandled()), padding: 'x'.repeat(1024 * 1024) });
    const before = await rowCounts();
    const response = await POST(creemWebhookRequest(body));
    expect(response.status).toBe(413);
    expect(await rowCounts()).toEqual(before);
  });

  it('GET answers 405 with Allow: POST', async () => {
    const response = await GET();
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });

  describe('without Creem keys', () => {
    setupEnv({ CREEM_API_KEY: undefined, CREEM_WEBHOOK_SECRET: undefined });

    it('answers 503 {"error":"Payments not configured"} and writes nothing, even for a well-signed delivery', async () => {
      const before = await rowCounts();
      const response = await POST(creemWebhookRequest(unhandled()));
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ error: 'Payments not configured' });
      expect(await rowCounts()).toEqual(before);
    });
  });
});

describe('a paid pack checkout', () => {
  it('grants the pack once, as the batch purchase:creem:{orderId}, however often it is delivered', async () => {
    const { user, orderId, delivery } = await packPurchase();
    const first = await POST(creemWebhookRequest(delivery('evt_pack_1')));
    expect(first.status).toBe(200);
    // Creem's retry of the same event, and a second event naming the same order.
    expect(await (await POST(creemWebhookRequest(delivery('evt_pack_1')))).json()).toEqual({ received: true, duplicate: true });
    expect((await POST(creemWebhookRequest(delivery('evt_pack_2')))).status).toBe(200);

    const batches = await t.db.select().from(creditBatches).where(eq(creditBatches.userId, user.id));
    expect(batches.map((b) => [b.idempotencyKey, b.amount])).toEqual([[`purchase:creem:${orderId}`, 500]]);
    const [payment] = await t.db
      .select()
      .from(payments)
      .where(eq(payments.id, `creem:${orderId}`));
    expect(payment).toMatchObject({
      provider: 'creem',
      providerChargeId: `tran_${orderId}`,
      userId: user.id,
      amount: 500,
      currency: 'usd',
    });
    await expectInvariants(t.db, user.id);
  });
});

describe('a monthly subscription, through the events Creem sends for it', () => {
  setupClockAt(at('2026-03-10T12:00:00Z'));

  async function deliver(eventType: string, object: unknown, createdAt: string) {
    const response = await POST(
      creemWebhookRequest(creemDelivery({ id: `evt_${randomUUID()}`, eventType, object, createdAt: at(createdAt) })),
    );
    expect(response.status).toBe(200);
  }

  async function subscribed() {
    const user = await makeUser(t.db, { now: at('2026-03-01T00:00:00Z') });
    const subscriptionId = `sub_${randomUUID().replaceAll('-', '')}`;
    const transactionId = `tran_${randomUUID().replaceAll('-', '')}`;
    const subscription = (status = 'active') =>
      creemSubscriptionObject({
        subscriptionId,
        creemProductId: MONTHLY_PRODUCT,
        status,
        lastTransactionId: transactionId,
        metadata: { userId: user.id, productId: 'pro-monthly', orderId: 'o-2' },
      });
    await deliver('subscription.paid', subscription(), '2026-03-10T11:58:50Z');
    return { user, subscriptionId, transactionId, subscription };
  }

  it('subscription.paid grants its period under the period key, paid by its transaction', async () => {
    const { user, subscriptionId, transactionId } = await subscribed();
    const batches = await t.db.select().from(creditBatches).where(eq(creditBatches.userId, user.id));
    expect(batches.map((b) => [b.idempotencyKey, b.amount])).toEqual([[`subscription:${subscriptionId}:2026-03-10`, 1000]]);
    const [payment] = await t.db.select().from(payments).where(eq(payments.userId, user.id));
    expect(payment).toMatchObject({ id: `creem:${transactionId}`, providerChargeId: transactionId, kind: 'period', subscriptionId });
    await expectInvariants(t.db, user.id);
  });

  it('refund.created naming the transaction and an order finds that one payment and takes its unspent credits back', async () => {
    const { user, transactionId } = await subscribed();
    const refund = creemRefundObject({
      refundId: `ref_${randomUUID()}`,
      transactionId,
      orderId: 'ord_not_a_payment',
      refundAmount: 1900,
      amount: 1900,
      amountPaid: 1900,
    });
    await deliver('refund.created', refund, '2026-03-10T12:00:00Z');
    const [reversal] = await t.db.select().from(paymentReversals).where(eq(paymentReversals.userId, user.id));
    expect(reversal).toMatchObject({ paymentId: `creem:${transactionId}`, kind: 'refund', creditsTakenBack: 1000 });
    const [balance] = await t.db.select().from(creditBalances).where(eq(creditBalances.userId, user.id));
    expect(balance?.balance).toBe(0);
    await expectInvariants(t.db, user.id);
  });

  it('subscription.expired leaves it past due (Creem still retries); subscription.canceled then ends it', async () => {
    const { subscriptionId, subscription } = await subscribed();
    const state = async () => (await t.db.select().from(subscriptions).where(eq(subscriptions.id, subscriptionId)))[0]!;
    await deliver('subscription.scheduled_cancel', subscription('scheduled_cancel'), '2026-03-11T09:00:00Z');
    expect(await state()).toMatchObject({ status: 'active', cancelAtPeriodEnd: true });
    await deliver('subscription.expired', subscription('active'), '2026-04-10T12:00:00Z');
    expect(await state()).toMatchObject({ status: 'past_due', canceledAt: null });
    await deliver(
      'subscription.canceled',
      { ...subscription('canceled'), canceled_at: '2026-04-12T12:00:00.000Z' },
      '2026-04-12T12:00:01Z',
    );
    expect(await state()).toMatchObject({ status: 'canceled', canceledAt: at('2026-04-12T12:00:00Z') });
  });
});

describe.runIf(onRealServer)('simultaneous deliveries (Postgres server)', () => {
  it('ten concurrent deliveries of one pack checkout, under one event id and under several, grant it once', async () => {
    const { user, orderId, delivery } = await packPurchase();
    const bodies = Array.from({ length: 10 }, (_, i) => delivery(i < 5 ? 'evt_concurrent_same' : `evt_concurrent_${i}`));
    const responses = await Promise.all(bodies.map((body) => POST(creemWebhookRequest(body))));
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    const answers = await Promise.all(responses.map((r) => r.json()));
    // Of the five sharing an event id, one applied it and four saw it recorded.
    expect(answers.filter((a) => a.duplicate === true)).toHaveLength(4);

    const batches = await t.db.select().from(creditBatches).where(eq(creditBatches.userId, user.id));
    expect(batches.map((b) => b.idempotencyKey)).toEqual([`purchase:creem:${orderId}`]);
    const [balance] = await t.db.select().from(creditBalances).where(eq(creditBalances.userId, user.id));
    expect(balance?.balance).toBe(500);
    await expectInvariants(t.db, user.id);
  });
});
